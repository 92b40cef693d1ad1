//! SCIM error responses (RFC 7644 section 3.12) and the server's own error type.
//!
//! Handlers return [`ScimError`]; its response carries the error itself as an extension so
//! that the response middleware in `routes` can re-render the body when an error-format
//! fault is switched on, and can turn framework errors without a SCIM body (405, 413, ...)
//! into SCIM errors.

use crate::fault::{Fault, Faults};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::fmt;

/// The URN of the SCIM error message schema (RFC 7644 section 3.12).
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 section 3.12, Table 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the filter is not supported.
    InvalidFilter,
    /// The filter yields too many results.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The modification is incompatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid.
    InvalidSyntax,
    /// The path attribute was invalid or malformed.
    InvalidPath,
    /// The path did not yield an attribute that could be operated on.
    NoTarget,
    /// A required value was missing or a value was not compatible.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information.
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The keyword for a wire string, compared exactly (as the parser reports them).
    pub fn from_keyword(keyword: &str) -> Option<ScimType> {
        [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Uniqueness,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
            ScimType::Sensitive,
        ]
        .into_iter()
        .find(|t| t.as_str() == keyword)
    }
}

/// An HTTP error answered with a SCIM error body.
#[derive(Clone, Debug)]
pub struct ScimError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `scimType`, only where RFC 7644 section 3.12 defines one.
    pub scim_type: Option<ScimType>,
    /// A human-readable explanation naming what and where.
    pub detail: String,
    /// A `WWW-Authenticate` challenge, for 401 answers.
    pub(crate) www_authenticate: Option<&'static str>,
}

/// The most characters of client input an error detail repeats ([`echo`]).
pub const ECHO_LIMIT: usize = 200;

/// The most characters of a whole error detail; a longer one is cut (a safety net for
/// input repeated inside a parser's message).
pub const DETAIL_LIMIT: usize = 1000;

/// Client input as an error detail repeats it: whole up to [`ECHO_LIMIT`] characters, else
/// its start, an ellipsis and its full length, so a 57 KB filter does not come back whole.
pub fn echo(text: &str) -> String {
    cut(text, ECHO_LIMIT)
}

fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_string(),
        Some((end, _)) => format!(
            "{}... ({} characters in all)",
            &text[..end],
            text.chars().count()
        ),
    }
}

impl ScimError {
    /// An error with a status, an optional `scimType` and a detail (cut past
    /// [`DETAIL_LIMIT`] characters).
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ScimError {
            status,
            scim_type,
            detail: cut(&detail, DETAIL_LIMIT),
            www_authenticate: None,
        }
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 404 without `scimType`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
    }

    /// 500, for failures of the store; the detail names the operation.
    pub fn internal(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail)
    }

    /// The SCIM error body, as changed by the error-format faults that are on.
    pub(crate) fn body(&self, faults: &Faults) -> Value {
        let code = self.status.as_u16();
        // FAULT(error-status-number): `status` as a JSON number.
        let status = if faults.on(Fault::ErrorStatusNumber) {
            json!(code)
        } else {
            json!(code.to_string())
        };
        let mut body = json!({"schemas": [ERROR_URN], "status": status, "detail": self.detail});
        let scim_type = match self.scim_type {
            // FAULT(scimtype-nonstandard): keywords outside RFC 7644 Table 9.
            Some(ScimType::InvalidValue) if faults.on(Fault::ScimTypeNonstandard) => {
                Some("schemaViolated")
            }
            None if faults.on(Fault::ScimTypeNonstandard) => Some("null"),
            other => other.map(ScimType::as_str),
        };
        if let Some(scim_type) = scim_type {
            body["scimType"] = json!(scim_type);
        }
        // FAULT(conflict-bare): a 409 with neither scimType nor status.
        if code == 409 && faults.on(Fault::ConflictBare) {
            if let Some(obj) = body.as_object_mut() {
                obj.remove("scimType");
                obj.remove("status");
            }
        }
        // FAULT(error-wrapped): the error object nested in an envelope.
        if faults.on(Fault::ErrorWrapped) {
            body = json!({ "error": body });
        }
        body
    }

    /// The response for this error with the given faults.
    pub(crate) fn to_response(&self, faults: &Faults) -> Response {
        let body = serde_json::to_vec(&self.body(faults)).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::routes::SCIM_JSON),
        );
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status.as_u16())?;
        if let Some(t) = self.scim_type {
            write!(f, " {}", t.as_str())?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for ScimError {}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        self.to_response(&Faults::default())
    }
}

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The SQLite store could not be opened or set up.
    Store(String),
    /// Binding or serving the socket failed.
    Io(std::io::Error),
    /// The configuration is inconsistent (for example, two tenants share a token).
    Config(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Store(detail) => write!(f, "store: {detail}"),
            ServerError::Io(err) => write!(f, "i/o: {err}"),
            ServerError::Config(detail) => write!(f, "config: {detail}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ServerError {
    fn from(err: std::io::Error) -> Self {
        ServerError::Io(err)
    }
}
