//! PatchOp documents, their dialects, and applying them to a resource.
//!
//! This module owns the RFC 7644 section 3.5.2 PATCH model: [`PatchDocument::parse`] turns a
//! request body into typed [`PatchOperation`]s, and [`apply`] applies them to a resource
//! against its [`ResourceSchema`], all or nothing.
//!
//! # Modes
//!
//! [`Mode::Strict`] is RFC 7644 section 3.5.2 as written. [`Mode::Interop`] also accepts
//! what identity providers really send, and reports every tolerance it used as a
//! [`Diagnostic`] naming the dialect, so a server can log what it accepted:
//!
//! | tolerance | dialect | source |
//! |---|---|---|
//! | `op` in any case (`Replace`, `Add`, `Remove`) | `entra` | bug-24; Entra SCIM tutorial |
//! | `"True"`/`"False"` strings (any case) for boolean attributes | `entra` | bug-25 |
//! | path-less value keys that are paths (`name.givenName`, `urn:...:User:manager`) | `entra` | `entra-flag-replace-nopath-dotted` |
//! | `remove` of `members` (any multi-valued attribute) with a value array removes only those values | `entra` | bug-28 |
//! | `manager` (a single-valued complex attribute) given as a bare id string, or as a one-element array | `entra` | bug-36, `entra-manager-add-legacy-object` |
//! | `replace` through a value filter that matches nothing creates the element | `entra` | bug-32, `entra-default-patch-multivalued` |
//! | read-only `id` (or other read-only attribute) repeated unchanged in a path-less value | `okta` | `okta-group-rename` |
//! | `operations` (or any case) for `Operations`; `OP`/`Path`/`Value` member names | `generic` | bug-37 |
//! | legacy `urn:scim:schemas:core:2.0`, `urn:scim:schemas:extension:enterprise:2.0` and `urn:scim:api:messages:2.0:PatchOp` URNs | `onelogin` | bug-67 |
//! | `remove` through a value filter that matches nothing is a no-op | `generic` | bug-29 |
//! | a `value` on `remove` of a single-valued attribute is ignored (strict rejects any `value` on `remove` except `null`) | `generic` | bug-28 |
//! | a single object for a multi-valued attribute in a path-less value (`"emails": {...}`) | `onelogin` | `onelogin-emails-object` |
//!
//! # Semantics in both modes
//!
//! - `add` to a multi-valued attribute appends each value not already present. Two complex
//!   values are the same when their `value` sub-attributes are equal (and their `type`s,
//!   when both have one), otherwise when the JSON is equal (RFC 7644 section 3.5.2.1).
//! - `add` or `replace` of a single-valued complex attribute merges the sub-attributes given
//!   (sections 3.5.2.1, 3.5.2.3); `replace` of a multi-valued attribute replaces all values.
//! - `add` through a value filter that matches nothing creates one element seeded from the
//!   filter's `eq` comparisons (`addresses[type eq "work"].locality` creates
//!   `{"type": "work", "locality": ...}`); RFC 7644 leaves this open. A filter that is not a
//!   conjunction of `eq` comparisons cannot seed an element and gives `noTarget`.
//! - `replace` and `remove` through a value filter that matches nothing give `noTarget`
//!   (section 3.12, Table 9) in strict mode.
//! - Each operation re-reads the resource as the previous one left it, and filters select
//!   values by content, never by position, so several removes never shift onto wrong values.
//! - A `null` value, or an empty array for a multi-valued attribute, unassigns the
//!   attribute (RFC 7643 section 2.5); emptied attributes and extension objects are
//!   dropped, and an extension's URN is added to or removed from `schemas` as its object
//!   appears or disappears (RFC 7643 section 3).
//! - Setting `primary` to true on one value sets it to false on the others (RFC 7644
//!   section 3.5.2).
//! - Removing a required attribute, or changing a `readOnly` attribute or an `immutable`
//!   one that has a value, is `mutability`; an unknown attribute is `invalidPath`; a value of
//!   the wrong type is `invalidValue`. Attribute names in values are rewritten to the
//!   schema's spelling.
//!
//! ```
//! use scim_parser::patch::{apply, Mode, PatchDocument};
//! use scim_parser::ResourceSchema;
//! use serde_json::json;
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
//! });
//! assert!(PatchDocument::parse(&body, Mode::Strict).is_err());
//! let doc = PatchDocument::parse(&body, Mode::Interop).unwrap();
//! let user = json!({"userName": "bjensen", "active": true});
//! let applied = apply(&doc, &user, &ResourceSchema::user()).unwrap();
//! assert_eq!(applied.resource["active"], json!(false));
//! assert!(applied.changed);
//! assert_eq!(applied.diagnostics.len(), 2); // `Replace`, and "False" for a boolean
//! ```

use crate::eval::{element_matches, parse_rfc3339, validate_element_filter};
use crate::filter::{AttrPath, CompareOp, Filter, FilterKind, LiteralValue, ParseOptions};
use crate::path::{parse_patch_path_with, PatchPath};
use crate::schema::{
    get_ci, json_kind, Attribute, AttributeType, Mutability, Resolved, ResourceSchema, Schema,
};
use serde_json::{Map, Value};
use std::fmt;

/// The PatchOp message URN (RFC 7644 section 3.5.2).
///
/// ```
/// use scim_parser::patch::{Mode, PatchDocument, PATCH_OP_URN};
/// let body = serde_json::json!({"schemas": [PATCH_OP_URN],
///                               "Operations": [{"op": "remove", "path": "title"}]});
/// assert!(PatchDocument::parse(&body, Mode::Strict).is_ok());
/// ```
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LEGACY_PATCH_OP_URN: &str = "urn:scim:api:messages:2.0:PatchOp";
const LEGACY_CORE_URN: &str = "urn:scim:schemas:core:2.0";
const LEGACY_ENTERPRISE_URN: &str = "urn:scim:schemas:extension:enterprise:2.0";

/// How much of what real clients send is accepted.
///
/// ```
/// use scim_parser::patch::{Mode, PatchDocument};
/// let body = serde_json::json!({"schemas": ["urn:scim:api:messages:2.0:PatchOp"],
///                               "Operations": [{"op": "remove", "path": "title"}]});
/// assert!(PatchDocument::parse(&body, Mode::Strict).is_err());
/// let doc = PatchDocument::parse(&body, Mode::Interop).unwrap();
/// assert_eq!(doc.diagnostics[0].dialect, "onelogin");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Exactly RFC 7644 section 3.5.2.
    Strict,
    /// Also the shapes Entra, Okta and OneLogin send; each tolerance used is reported as a
    /// [`Diagnostic`].
    Interop,
}

/// A PATCH operation name.
///
/// ```
/// use scim_parser::patch::{Mode, Op, PatchDocument};
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///                               "Operations": [{"op": "Add", "path": "title", "value": "x"}]});
/// let doc = PatchDocument::parse(&body, Mode::Interop).unwrap();
/// assert_eq!(doc.operations[0].op, Op::Add);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `add` (RFC 7644 section 3.5.2.1)
    Add,
    /// `remove` (section 3.5.2.2)
    Remove,
    /// `replace` (section 3.5.2.3)
    Replace,
}

impl Op {
    /// The RFC spelling.
    ///
    /// ```
    /// assert_eq!(scim_parser::patch::Op::Replace.as_str(), "replace");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Remove => "remove",
            Op::Replace => "replace",
        }
    }
}

/// One operation of a PatchOp document.
///
/// ```
/// use scim_parser::patch::{Mode, Op, PatchDocument};
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "remove", "path": "members[value eq \"u1\"]"}]});
/// let op = &PatchDocument::parse(&body, Mode::Strict).unwrap().operations[0];
/// assert_eq!(op.op, Op::Remove);
/// assert_eq!(op.path.as_ref().unwrap().attr.name, "members");
/// assert_eq!(op.path_text.as_deref(), Some("members[value eq \"u1\"]"));
/// assert!(op.value.is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: Op,
    /// The parsed path, if the operation has one.
    pub path: Option<PatchPath>,
    /// The path as written, for messages.
    pub path_text: Option<String>,
    /// The value, if the operation has one.
    pub value: Option<Value>,
}

/// A parsed PatchOp document.
///
/// ```
/// use scim_parser::patch::{Mode, PatchDocument};
/// let doc = PatchDocument::from_json_str(
///     r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///         "operations": [{"op": "replace", "path": "active", "value": false}]}"#,
///     Mode::Interop,
/// ).unwrap();
/// assert_eq!((doc.operations.len(), doc.mode), (1, Mode::Interop));
/// assert_eq!(doc.diagnostics[0].to_string(), "[generic] member `operations` read as `Operations`");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PatchDocument {
    /// The operations, in order.
    pub operations: Vec<PatchOperation>,
    /// The mode it was parsed in; [`apply`] uses the same mode.
    pub mode: Mode,
    /// The tolerances used while parsing (interop mode only).
    pub diagnostics: Vec<Diagnostic>,
}

/// A tolerance used in interop mode.
///
/// ```
/// use scim_parser::patch::{Mode, PatchDocument};
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///                               "Operations": [{"op": "Remove", "path": "title"}]});
/// let d = &PatchDocument::parse(&body, Mode::Interop).unwrap().diagnostics[0];
/// assert_eq!((d.dialect, d.op_index), ("entra", Some(0)));
/// assert_eq!(d.to_string(), r#"[entra] Operations[0]: op "Remove" read as "remove""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Whose dialect it is: `entra`, `okta`, `onelogin` or `generic`.
    pub dialect: &'static str,
    /// The operation it concerns, if any.
    pub op_index: Option<usize>,
    /// What was accepted.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op_index {
            Some(i) => write!(f, "[{}] Operations[{i}]: {}", self.dialect, self.message),
            None => write!(f, "[{}] {}", self.dialect, self.message),
        }
    }
}

/// The result of [`apply`].
///
/// ```
/// use scim_parser::patch::{apply, Mode, PatchDocument};
/// use scim_parser::ResourceSchema;
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "add", "path": "emails", "value": [{"value": "a@x.com"}]}]});
/// let user = serde_json::json!({"userName": "b", "emails": [{"value": "A@x.com"}]});
/// let doc = PatchDocument::parse(&body, Mode::Strict).unwrap();
/// let applied = apply(&doc, &user, &ResourceSchema::user()).unwrap();
/// // The address is already there (emails.value is caseExact false): nothing changes.
/// assert!(!applied.changed);
/// assert_eq!(applied.resource, user);
/// assert!(applied.diagnostics.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The resource after every operation.
    pub resource: Value,
    /// Whether it differs from the input.
    pub changed: bool,
    /// Every tolerance used, from parsing and applying (interop mode only).
    pub diagnostics: Vec<Diagnostic>,
}

/// The RFC 7644 section 3.12 error class of a [`PatchError`].
///
/// ```
/// use scim_parser::patch::{apply, Mode, PatchDocument, PatchErrorKind};
/// use scim_parser::ResourceSchema;
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}]});
/// let user = serde_json::json!({"userName": "b"});
/// let doc = PatchDocument::parse(&body, Mode::Strict).unwrap();
/// let err = apply(&doc, &user, &ResourceSchema::user()).unwrap_err();
/// assert_eq!(err.kind, PatchErrorKind::NoTarget);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PatchErrorKind {
    /// The body is not a well-formed PatchOp document: `{"Operations": []}`.
    InvalidSyntax,
    /// A path is malformed or names no attribute: `"path": "nickname2"`.
    InvalidPath,
    /// A path or filter selected nothing to operate on: `remove emails[type eq "none"]`.
    NoTarget,
    /// A value has the wrong type or shape: `"path": "active", "value": "no"`.
    InvalidValue,
    /// The attribute cannot be changed that way: `remove userName`, `replace id`.
    Mutability,
}

/// A PATCH document that cannot be parsed or applied.
///
/// ```
/// use scim_parser::patch::{Mode, PatchDocument};
/// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "add", "path": "title"}]});
/// let err = PatchDocument::parse(&body, Mode::Strict).unwrap_err();
/// assert_eq!(err.location, "Operations[0].value");
/// assert_eq!(err.message, "add needs a value");
/// assert_eq!(err.to_string(), "Operations[0].value: add needs a value");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchError {
    /// The error class.
    pub kind: PatchErrorKind,
    /// Where: `Operations[2].op`, `Operations[0].value`, `schemas`, or empty for the body.
    pub location: String,
    /// What was expected or found.
    pub message: String,
}

impl PatchError {
    pub(crate) fn new(
        kind: PatchErrorKind,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        PatchError {
            kind,
            location: location.into(),
            message: message.into(),
        }
    }

    /// The scimType for the error response: `invalidSyntax`, `invalidPath`, `noTarget`,
    /// `invalidValue` or `mutability`.
    ///
    /// ```
    /// use scim_parser::patch::{apply, Mode, PatchDocument};
    /// use scim_parser::ResourceSchema;
    /// let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [{"op": "replace", "path": "active", "value": "yes"}]});
    /// let doc = PatchDocument::parse(&body, Mode::Interop).unwrap();
    /// let err = apply(&doc, &serde_json::json!({}), &ResourceSchema::user()).unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidValue");
    /// ```
    pub fn scim_type(&self) -> &'static str {
        match self.kind {
            PatchErrorKind::InvalidSyntax => "invalidSyntax",
            PatchErrorKind::InvalidPath => "invalidPath",
            PatchErrorKind::NoTarget => "noTarget",
            PatchErrorKind::InvalidValue => "invalidValue",
            PatchErrorKind::Mutability => "mutability",
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

impl std::error::Error for PatchError {}

use PatchErrorKind::{
    InvalidPath, InvalidSyntax, InvalidValue, Mutability as MutabilityError, NoTarget,
};

// ---------------------------------------------------------------------------------------
// Parsing

impl PatchDocument {
    /// Parses a PatchOp request body (RFC 7644 section 3.5.2):
    ///
    /// ```text
    /// { "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///   "Operations": [ { "op": "add" / "remove" / "replace",
    ///                     "path": PATH,          ; required for remove
    ///                     "value": any } ... ] } ; required for add and replace
    /// ```
    ///
    /// ```
    /// use scim_parser::patch::{Mode, PatchDocument};
    /// let body = serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [{"op": "add", "path": "nickName", "value": "Babs"},
    ///                    {"op": "upsert", "path": "title", "value": "x"}]
    /// });
    /// let err = PatchDocument::parse(&body, Mode::Interop).unwrap_err();
    /// assert_eq!(err.to_string(),
    ///     r#"Operations[1].op: expected one of add, remove, replace, found "upsert""#);
    /// assert_eq!(err.scim_type(), "invalidSyntax");
    /// ```
    pub fn parse(body: &Value, mode: Mode) -> Result<PatchDocument, PatchError> {
        let mut diagnostics = Vec::new();
        let obj = body.as_object().ok_or_else(|| {
            PatchError::new(
                InvalidSyntax,
                "",
                format!("expected a JSON object, found {}", json_kind(body)),
            )
        })?;
        parse_schemas(obj, mode, &mut diagnostics)?;
        let ops = member(obj, "Operations", mode, None, &mut diagnostics).ok_or_else(|| {
            PatchError::new(InvalidSyntax, "Operations", "required member is missing")
        })?;
        let ops = ops.as_array().ok_or_else(|| {
            PatchError::new(
                InvalidSyntax,
                "Operations",
                format!("expected an array, found {}", json_kind(ops)),
            )
        })?;
        if ops.is_empty() {
            return Err(PatchError::new(
                InvalidSyntax,
                "Operations",
                "expected at least one operation",
            ));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| parse_operation(op, i, mode, &mut diagnostics))
            .collect::<Result<_, _>>()?;
        Ok(PatchDocument {
            operations,
            mode,
            diagnostics,
        })
    }

    /// Parses a PatchOp request body from JSON text.
    ///
    /// ```
    /// use scim_parser::patch::{Mode, PatchDocument};
    /// let err = PatchDocument::from_json_str("{\"schemas\": [", Mode::Strict).unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidSyntax");
    /// assert!(err.message.starts_with("invalid JSON"));
    /// ```
    pub fn from_json_str(text: &str, mode: Mode) -> Result<PatchDocument, PatchError> {
        let body: Value = serde_json::from_str(text)
            .map_err(|e| PatchError::new(InvalidSyntax, "", format!("invalid JSON: {e}")))?;
        PatchDocument::parse(&body, mode)
    }
}

/// Looks up a member: exact name, or in interop mode any case (with a diagnostic).
fn member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    mode: Mode,
    op_index: Option<usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'a Value> {
    if let Some(v) = obj.get(name) {
        return Some(v);
    }
    if mode == Mode::Strict {
        return None;
    }
    let (key, v) = get_ci(obj, name)?;
    diags.push(Diagnostic {
        dialect: "generic",
        op_index,
        message: format!("member `{key}` read as `{name}`"),
    });
    Some(v)
}

fn parse_schemas(
    obj: &Map<String, Value>,
    mode: Mode,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), PatchError> {
    let schemas = obj
        .get("schemas")
        .ok_or_else(|| PatchError::new(InvalidSyntax, "schemas", "required member is missing"))?;
    let items = schemas.as_array().ok_or_else(|| {
        PatchError::new(
            InvalidSyntax,
            "schemas",
            format!("expected an array, found {}", json_kind(schemas)),
        )
    })?;
    let has = |urn: &str| {
        items
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    };
    if has(PATCH_OP_URN) {
        return Ok(());
    }
    if mode == Mode::Interop && has(LEGACY_PATCH_OP_URN) {
        diags.push(Diagnostic {
            dialect: "onelogin",
            op_index: None,
            message: format!("legacy `{LEGACY_PATCH_OP_URN}` read as `{PATCH_OP_URN}`"),
        });
        return Ok(());
    }
    Err(PatchError::new(
        InvalidSyntax,
        "schemas",
        format!("expected an array containing {PATCH_OP_URN:?}"),
    ))
}

fn parse_operation(
    value: &Value,
    i: usize,
    mode: Mode,
    diags: &mut Vec<Diagnostic>,
) -> Result<PatchOperation, PatchError> {
    let at = |field: &str| format!("Operations[{i}]{field}");
    let obj = value.as_object().ok_or_else(|| {
        PatchError::new(
            InvalidSyntax,
            at(""),
            format!("expected an object, found {}", json_kind(value)),
        )
    })?;
    if mode == Mode::Strict {
        // A member such as `Path` is neither ignored nor read as `path` in strict mode:
        // ignoring it would apply a different operation than interop mode reads (found by
        // the `parse_patch` fuzz target).
        for name in ["op", "path", "value"] {
            if obj.contains_key(name) {
                continue;
            }
            if let Some((key, _)) = get_ci(obj, name) {
                return Err(PatchError::new(
                    InvalidSyntax,
                    at(&format!(".{key}")),
                    format!(
                        "member `{key}` is not `{name}`: strict mode reads operation members \
                         exactly as RFC 7644 section 3.5.2 names them"
                    ),
                ));
            }
        }
    }
    let op_value = member(obj, "op", mode, Some(i), diags)
        .ok_or_else(|| PatchError::new(InvalidSyntax, at(".op"), "required member is missing"))?;
    let op_text = op_value.as_str().ok_or_else(|| {
        PatchError::new(
            InvalidSyntax,
            at(".op"),
            format!("expected a string, found {}", json_kind(op_value)),
        )
    })?;
    let op = parse_op_name(op_text, mode).ok_or_else(|| {
        PatchError::new(
            InvalidSyntax,
            at(".op"),
            format!("expected one of add, remove, replace, found {op_text:?}"),
        )
    })?;
    if op.as_str() != op_text {
        diags.push(Diagnostic {
            dialect: "entra",
            op_index: Some(i),
            message: format!("op {op_text:?} read as {:?}", op.as_str()),
        });
    }
    let path_text = match member(obj, "path", mode, Some(i), diags) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(PatchError::new(
                InvalidPath,
                at(".path"),
                format!("expected a string, found {}", json_kind(other)),
            ))
        }
    };
    let options = match mode {
        Mode::Strict => ParseOptions::default(),
        Mode::Interop => ParseOptions::interop(),
    };
    let path =
        match &path_text {
            None => None,
            Some(text) => Some(parse_patch_path_with(text, &options).map_err(|e| {
                PatchError::new(InvalidPath, at(".path"), format!("{e} in {text:?}"))
            })?),
        };
    let value = member(obj, "value", mode, Some(i), diags)
        .filter(|v| !(op == Op::Remove && v.is_null()))
        .cloned();
    match op {
        Op::Remove if path.is_none() => {
            return Err(PatchError::new(
                NoTarget,
                at(".path"),
                "remove needs a path",
            ));
        }
        Op::Remove if value.is_some() && mode == Mode::Strict => {
            return Err(PatchError::new(
                InvalidSyntax,
                at(".value"),
                "remove takes no value; select values with a filter such as `members[value eq \"...\"]`",
            ));
        }
        Op::Add | Op::Replace if value.is_none() => {
            return Err(PatchError::new(
                InvalidSyntax,
                at(".value"),
                format!("{} needs a value", op.as_str()),
            ));
        }
        _ => {}
    }
    Ok(PatchOperation {
        op,
        path,
        path_text,
        value,
    })
}

fn parse_op_name(text: &str, mode: Mode) -> Option<Op> {
    let op = if text.eq_ignore_ascii_case("add") {
        Op::Add
    } else if text.eq_ignore_ascii_case("remove") {
        Op::Remove
    } else if text.eq_ignore_ascii_case("replace") {
        Op::Replace
    } else {
        return None;
    };
    (mode == Mode::Interop || op.as_str() == text).then_some(op)
}

// ---------------------------------------------------------------------------------------
// Applying

/// Applies every operation of `doc` to `resource`, all or nothing (RFC 7644 section 3.5.2:
/// "Each operation ... SHALL be applied in sequence", and the whole request fails when one
/// fails).
///
/// ```
/// use scim_parser::patch::{apply, Mode, PatchDocument};
/// use scim_parser::ResourceSchema;
/// use serde_json::json;
/// let group = json!({"displayName": "Ops", "members": [{"value": "U1"}, {"value": "U2"}]});
/// let body = json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "remove", "path": "members[value eq \"U2\"]"},
///                    {"op": "add", "path": "members", "value": [{"value": "U1"}, {"value": "U3"}]}]
/// });
/// let doc = PatchDocument::parse(&body, Mode::Strict).unwrap();
/// let applied = apply(&doc, &group, &ResourceSchema::group()).unwrap();
/// assert_eq!(applied.resource["members"], json!([{"value": "U1"}, {"value": "U3"}]));
/// ```
pub fn apply(
    doc: &PatchDocument,
    resource: &Value,
    schema: &ResourceSchema,
) -> Result<Applied, PatchError> {
    let mut working = match resource {
        Value::Object(obj) => obj.clone(),
        other => {
            return Err(PatchError::new(
                InvalidValue,
                "",
                format!(
                    "the resource must be a JSON object, found {}",
                    json_kind(other)
                ),
            ))
        }
    };
    let mut cx = Cx {
        schema,
        mode: doc.mode,
        diags: doc.diagnostics.clone(),
        index: 0,
        in_representation: false,
        remove_value_used: false,
        add_index: None,
    };
    for (i, op) in doc.operations.iter().enumerate() {
        cx.index = i;
        cx.apply_operation(&mut working, op)?;
    }
    let resource_out = Value::Object(working);
    Ok(Applied {
        changed: &resource_out != resource,
        resource: resource_out,
        diagnostics: cx.diags,
    })
}

struct Cx<'s> {
    schema: &'s ResourceSchema,
    mode: Mode,
    diags: Vec<Diagnostic>,
    index: usize,
    /// Whether the value being checked is a member of a path-less value, that is, part of a
    /// resource representation (where multi-valued attributes are arrays, RFC 7643
    /// section 2.4).
    in_representation: bool,
    /// Whether the current `remove` used its value (Entra's member removal).
    remove_value_used: bool,
    /// The duplicate index of the multi-valued attribute the last change added to, while
    /// nothing else has changed since: a run of `add` operations on one attribute (20,000
    /// `add emails` in one document) then costs each operation its own values, not the
    /// whole array again. Every other change drops it ([`Cx::touch`]).
    add_index: Option<AddIndex>,
}

/// A [`ValueIndex`] and the array it was built on.
struct AddIndex {
    ext: Option<String>,
    attr: String,
    len: usize,
    index: ValueIndex,
}

/// Where an attribute lives: the resource itself or an extension object.
type Ext<'s> = Option<&'s Schema>;

impl<'s> Cx<'s> {
    fn err(&self, kind: PatchErrorKind, field: &str, message: impl Into<String>) -> PatchError {
        PatchError::new(kind, format!("Operations[{}].{field}", self.index), message)
    }

    fn diag(&mut self, dialect: &'static str, message: String) {
        self.diags.push(Diagnostic {
            dialect,
            op_index: Some(self.index),
            message,
        });
    }

    fn interop(&self) -> bool {
        self.mode == Mode::Interop
    }

    /// Called by every change to the resource: the kept [`AddIndex`] may no longer match
    /// the array it indexes, so it is dropped (and handed to the caller, who may reuse it
    /// after checking it is for the same array).
    fn touch(&mut self) -> Option<AddIndex> {
        self.add_index.take()
    }

    fn apply_operation(
        &mut self,
        res: &mut Map<String, Value>,
        op: &PatchOperation,
    ) -> Result<(), PatchError> {
        match &op.path {
            None => {
                let value = op
                    .value
                    .as_ref()
                    .ok_or_else(|| self.err(InvalidSyntax, "value", "missing"))?;
                self.apply_pathless(res, op.op, value)
            }
            Some(path) => {
                self.remove_value_used = false;
                self.apply_path(res, op.op, path, op.value.as_ref())?;
                if op.op == Op::Remove && op.value.is_some() && !self.remove_value_used {
                    self.diag("generic", "the value of a remove was ignored".to_string());
                }
                Ok(())
            }
        }
    }

    /// Maps OneLogin's legacy URNs (interop mode) to the SCIM 2.0 ones.
    fn normalise_uri(&mut self, uri: &str) -> String {
        let mapped = if uri.eq_ignore_ascii_case(LEGACY_CORE_URN) {
            Some(self.schema.core.id.clone())
        } else if uri.eq_ignore_ascii_case(LEGACY_ENTERPRISE_URN) {
            Some(crate::schema::builtin::ENTERPRISE_USER_URN.to_string())
        } else {
            None
        };
        match mapped {
            Some(m) if self.interop() => {
                self.diag("onelogin", format!("legacy URN `{uri}` read as `{m}`"));
                m
            }
            _ => uri.to_string(),
        }
    }

    fn resolve(&mut self, attr: &AttrPath) -> Result<Resolved<'s>, PatchError> {
        let schema = self.schema;
        let mut attr = attr.clone();
        if let Some(uri) = &attr.uri {
            let mapped = self.normalise_uri(uri);
            attr.uri = Some(mapped);
        }
        schema
            .resolve(&attr)
            .ok_or_else(|| self.err(InvalidPath, "path", format!("unknown attribute `{attr}`")))
    }

    fn apply_path(
        &mut self,
        res: &mut Map<String, Value>,
        op: Op,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        match self.resolve(&path.attr)? {
            Resolved::Extension { schema: ext } => {
                if path.filter.is_some() || path.sub_attr.is_some() {
                    return Err(self.err(
                        InvalidPath,
                        "path",
                        "a whole extension takes no filter or sub-attribute",
                    ));
                }
                self.op_on_extension(res, ext, op, value)
            }
            Resolved::Attribute {
                schema: s,
                extension,
                attribute,
                sub_attribute,
            } => {
                let ext = extension.then_some(s);
                match (&path.filter, sub_attribute, &path.sub_attr) {
                    (None, None, None) => self.op_on_attr(res, ext, attribute, op, value),
                    (None, Some(sub), None) => self.op_on_sub(res, ext, attribute, sub, op, value),
                    (Some(filter), None, after) => {
                        let sub = match after {
                            None => None,
                            Some(name) => Some(attribute.sub_attribute(name).ok_or_else(|| {
                                self.err(
                                    InvalidPath,
                                    "path",
                                    format!(
                                        "unknown sub-attribute `{name}` of `{}`",
                                        attribute.name
                                    ),
                                )
                            })?),
                        };
                        self.op_on_filtered(res, ext, attribute, filter, sub, op, value)
                    }
                    _ => Err(self.err(
                        InvalidPath,
                        "path",
                        "a sub-attribute cannot stand before a value filter",
                    )),
                }
            }
        }
    }

    fn apply_pathless(
        &mut self,
        res: &mut Map<String, Value>,
        op: Op,
        value: &Value,
    ) -> Result<(), PatchError> {
        let obj = value.as_object().ok_or_else(|| {
            self.err(
                InvalidValue,
                "value",
                format!(
                    "a path-less {} needs an object, found {}",
                    op.as_str(),
                    json_kind(value)
                ),
            )
        })?;
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let uri = self.normalise_uri(key);
            if let Some(ext) = self.schema.extension(&uri) {
                self.op_on_extension(res, ext, op, Some(v))?;
                continue;
            }
            let plain = AttrPath {
                uri: None,
                name: key.clone(),
                sub_attr: None,
                span: Default::default(),
            };
            let looks_like_path = key.contains('.') || key.contains(':') || key.contains('[');
            match self.schema.resolve(&plain) {
                Some(Resolved::Attribute {
                    schema: s,
                    extension,
                    attribute,
                    ..
                }) if !looks_like_path => {
                    self.pathless_attr(res, extension.then_some(s), attribute, op, v)?;
                }
                _ if looks_like_path && self.interop() => {
                    let path =
                        parse_patch_path_with(key, &ParseOptions::interop()).map_err(|e| {
                            self.err(
                                InvalidPath,
                                "value",
                                format!("key {key:?} is not an attribute path: {e}"),
                            )
                        })?;
                    self.diag(
                        "entra",
                        format!("path-less value key `{key}` read as a path"),
                    );
                    self.apply_path(res, op, &path, Some(v))?;
                }
                _ => {
                    return Err(self.err(
                        InvalidPath,
                        "value",
                        format!("unknown attribute `{key}`"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// One attribute of a path-less value; read-only attributes repeated unchanged are
    /// tolerated in interop mode (Okta sends `id` with every group rename).
    fn pathless_attr(
        &mut self,
        res: &mut Map<String, Value>,
        ext: Ext<'s>,
        attr: &'s Attribute,
        op: Op,
        v: &Value,
    ) -> Result<(), PatchError> {
        if attr.mutability == Mutability::ReadOnly && self.interop() {
            let current = container_ref(res, ext)
                .and_then(|c| get_ci(c, &attr.name))
                .map(|(_, v)| v);
            if current == Some(v) {
                self.diag(
                    "okta",
                    format!("read-only `{}` repeated unchanged; ignored", attr.name),
                );
                return Ok(());
            }
        }
        self.in_representation = true;
        let result = self.op_on_attr(res, ext, attr, op, Some(v));
        self.in_representation = false;
        result
    }

    fn op_on_extension(
        &mut self,
        res: &mut Map<String, Value>,
        ext: &'s Schema,
        op: Op,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        self.touch();
        if op == Op::Remove {
            for attr in &ext.attributes {
                let present = container_ref(res, Some(ext))
                    .and_then(|c| get_ci(c, &attr.name))
                    .is_some();
                if present {
                    self.op_on_attr(res, Some(ext), attr, Op::Remove, None)?;
                }
            }
            drop_extension(res, ext);
            return Ok(());
        }
        let value = value.ok_or_else(|| self.err(InvalidSyntax, "value", "missing"))?;
        let obj = value.as_object().ok_or_else(|| {
            self.err(
                InvalidValue,
                "value",
                format!(
                    "extension `{}` needs an object, found {}",
                    ext.id,
                    json_kind(value)
                ),
            )
        })?;
        for (key, v) in obj {
            let attr = ext.attribute(key).ok_or_else(|| {
                self.err(
                    InvalidPath,
                    "value",
                    format!("unknown attribute `{key}` of `{}`", ext.id),
                )
            })?;
            self.pathless_attr(res, Some(ext), attr, op, v)?;
        }
        Ok(())
    }

    /// Sub-attributes given in a complex value: a `readOnly` one must not change, an
    /// `immutable` one must not change once set.
    fn check_subs(
        &self,
        attr: &Attribute,
        old: Option<&Map<String, Value>>,
        new: &Value,
    ) -> Result<(), PatchError> {
        let Value::Object(new) = new else {
            return Ok(());
        };
        for (k, v) in new {
            let Some(sub) = attr.sub_attribute(k) else {
                continue;
            };
            let before = old.and_then(|o| get_ci(o, &sub.name)).map(|(_, v)| v);
            let changes = before != Some(v);
            let set = before.is_some_and(crate::eval::is_present);
            match sub.mutability {
                Mutability::ReadOnly if changes => {
                    return Err(self.err(
                        MutabilityError,
                        "value",
                        format!("`{}.{}` is readOnly", attr.name, sub.name),
                    ))
                }
                Mutability::Immutable if changes && set => {
                    return Err(self.err(
                        MutabilityError,
                        "value",
                        format!(
                            "`{}.{}` is immutable and already has a value",
                            attr.name, sub.name
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_writable(&self, attr: &Attribute, has_value: bool) -> Result<(), PatchError> {
        match attr.mutability {
            Mutability::ReadOnly => Err(self.err(
                MutabilityError,
                "path",
                format!("`{}` is readOnly", attr.name),
            )),
            Mutability::Immutable if has_value => Err(self.err(
                MutabilityError,
                "path",
                format!("`{}` is immutable and already has a value", attr.name),
            )),
            _ => Ok(()),
        }
    }

    /// `add`, `remove` or `replace` of a whole attribute.
    fn op_on_attr(
        &mut self,
        res: &mut Map<String, Value>,
        ext: Ext<'s>,
        attr: &'s Attribute,
        op: Op,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        let kept = self.touch();
        // Borrowed, not cloned: a clone of a large array per operation made a document of
        // many small adds quadratic.
        let current = container_ref(res, ext)
            .and_then(|c| get_ci(c, &attr.name))
            .map(|(_, v)| v);
        let has_value = current.is_some_and(crate::eval::is_present);
        let coerced = match value {
            Some(v) if op != Op::Remove => Some(self.coerce(attr, v, true)?),
            _ => None,
        };
        // Adding no values to a multi-valued attribute changes nothing.
        if op == Op::Add
            && attr.multi_valued
            && coerced
                .as_ref()
                .is_some_and(|c| c.as_array().is_some_and(Vec::is_empty))
        {
            return Ok(());
        }
        let unassign = op == Op::Remove || coerced.as_ref().is_some_and(is_empty);
        if attr.mutability == Mutability::Immutable
            && op == Op::Add
            && !unassign
            && !attr.multi_valued
        {
            if has_value && current != coerced.as_ref() {
                self.check_writable(attr, true)?;
            }
        } else {
            self.check_writable(attr, has_value && (op != Op::Add || unassign))?;
        }
        if unassign {
            if attr.required {
                return Err(self.err(
                    MutabilityError,
                    "path",
                    format!("`{}` is required and cannot be removed", attr.name),
                ));
            }
            if op == Op::Remove && attr.multi_valued {
                let listed = match value {
                    Some(Value::Array(items)) if !items.is_empty() => Some(items.clone()),
                    Some(single @ Value::Object(_)) => Some(vec![single.clone()]),
                    _ => None,
                };
                if let Some(listed) = listed {
                    self.remove_value_used = true;
                    // See: bug-28 (Entra removes members with a value array).
                    self.diag(
                        "entra",
                        format!(
                            "remove of `{}` with a value array removes only the listed values",
                            attr.name
                        ),
                    );
                    let listed = listed
                        .iter()
                        .map(|v| self.coerce(attr, v, false))
                        .collect::<Result<Vec<_>, _>>()?;
                    let c = self.container(res, ext)?;
                    if let Some(Value::Array(items)) = get_ci_mut(c, &attr.name) {
                        let index = ValueIndex::new(attr, &listed);
                        items.retain(|item| !index.contains(attr, &listed, item));
                    }
                    tidy(res, ext, attr);
                    return Ok(());
                }
            }
            if let Some(c) = container_mut(res, ext) {
                remove_ci(c, &attr.name);
            }
            tidy(res, ext, attr);
            return Ok(());
        }
        let coerced = coerced.unwrap_or(Value::Null);
        let c = self.container(res, ext)?;
        match (attr.multi_valued, attr.kind, op) {
            (true, _, Op::Add) => {
                // moved out and put back below: nothing in between can fail
                let mut items = match get_ci_mut(c, &attr.name) {
                    Some(Value::Array(items)) => std::mem::take(items),
                    _ => Vec::new(),
                };
                let mut added_primary = None;
                let ext_id = ext.map(|e| e.id.clone());
                let mut index = match kept {
                    Some(k) if k.ext == ext_id && k.attr == attr.name && k.len == items.len() => {
                        k.index
                    }
                    _ => ValueIndex::new(attr, &items),
                };
                let new_items = match coerced {
                    Value::Array(new_items) => new_items,
                    _ => Vec::new(),
                };
                for new in new_items {
                    if !index.contains(attr, &items, &new) {
                        if is_primary(&new) {
                            added_primary = Some(items.len());
                        }
                        index.insert(attr, items.len(), &new);
                        items.push(new);
                    }
                }
                if let Some(keep) = added_primary {
                    clear_other_primaries(&mut items, keep);
                }
                let len = items.len();
                put(c, &attr.name, Value::Array(items));
                if len > 0 {
                    self.add_index = Some(AddIndex {
                        ext: ext_id,
                        attr: attr.name.clone(),
                        len,
                        index,
                    });
                }
            }
            (true, _, _) => {
                let mut items = coerced.as_array().cloned().unwrap_or_default();
                if let Some(keep) = items.iter().rposition(is_primary) {
                    clear_other_primaries(&mut items, keep);
                }
                put(c, &attr.name, Value::Array(items));
            }
            (false, AttributeType::Complex, _) => {
                let mut merged = match get_ci(c, &attr.name) {
                    Some((_, Value::Object(o))) => o.clone(),
                    _ => Map::new(),
                };
                self.check_subs(attr, Some(&merged), &coerced)?;
                if let Value::Object(new) = coerced {
                    for (k, v) in new {
                        put(&mut merged, &k, v);
                    }
                }
                put(c, &attr.name, Value::Object(merged));
            }
            (false, _, _) => put(c, &attr.name, coerced),
        }
        tidy(res, ext, attr);
        Ok(())
    }

    /// An operation on `attr.sub` without a filter: `name.givenName`, `emails.display`.
    fn op_on_sub(
        &mut self,
        res: &mut Map<String, Value>,
        ext: Ext<'s>,
        attr: &'s Attribute,
        sub: &'s Attribute,
        op: Op,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        self.touch();
        self.check_writable(attr, false)?;
        let coerced = match value {
            Some(v) if op != Op::Remove => self.coerce(sub, v, true)?,
            _ => Value::Null,
        };
        let current = container_ref(res, ext)
            .and_then(|c| get_ci(c, &attr.name))
            .map(|(_, v)| v.clone());
        if !attr.multi_valued {
            let mut obj = match current {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            let has = get_ci(&obj, &sub.name).is_some_and(|(_, v)| crate::eval::is_present(v));
            self.check_writable(
                sub,
                has && !(op == Op::Add
                    && get_ci(&obj, &sub.name).map(|(_, v)| v) == Some(&coerced)),
            )?;
            if is_empty(&coerced) {
                if sub.required && op != Op::Remove {
                    return Err(self.err(
                        MutabilityError,
                        "path",
                        format!("`{}` is required", sub.name),
                    ));
                }
                remove_ci(&mut obj, &sub.name);
            } else {
                put(&mut obj, &sub.name, coerced);
            }
            let c = self.container(res, ext)?;
            put(c, &attr.name, Value::Object(obj));
            tidy(res, ext, attr);
            return Ok(());
        }
        let mut items = match current {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        if items.is_empty() && op != Op::Remove {
            return Err(self.err(
                NoTarget,
                "path",
                format!("`{}` has no values to set `{}` on", attr.name, sub.name),
            ));
        }
        for item in items.iter_mut() {
            if let Value::Object(obj) = item {
                let has = get_ci(obj, &sub.name).is_some_and(|(_, v)| crate::eval::is_present(v));
                self.check_writable(sub, has)?;
                if is_empty(&coerced) {
                    remove_ci(obj, &sub.name);
                } else {
                    put(obj, &sub.name, coerced.clone());
                }
            }
        }
        let c = self.container(res, ext)?;
        put(c, &attr.name, Value::Array(items));
        tidy(res, ext, attr);
        Ok(())
    }

    /// An operation through a value filter: `emails[type eq "work"]`,
    /// `emails[type eq "work"].value`.
    #[allow(clippy::too_many_arguments)]
    fn op_on_filtered(
        &mut self,
        res: &mut Map<String, Value>,
        ext: Ext<'s>,
        attr: &'s Attribute,
        filter: &Filter,
        sub: Option<&'s Attribute>,
        op: Op,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        self.touch();
        if attr.kind != AttributeType::Complex {
            return Err(self.err(
                InvalidPath,
                "path",
                format!(
                    "`{}` is not complex; a value filter does not apply",
                    attr.name
                ),
            ));
        }
        validate_element_filter(filter, attr, self.schema).map_err(|e| {
            self.err(
                InvalidPath,
                "path",
                format!("in the value filter: {}", e.kind),
            )
        })?;
        self.check_writable(attr, false)?;
        let current = container_ref(res, ext)
            .and_then(|c| get_ci(c, &attr.name))
            .map(|(_, v)| v.clone());
        let mut items = match current {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(single) => vec![single],
        };
        let hits: Vec<usize> = (0..items.len())
            .filter(|&i| element_matches(filter, attr, &items[i], self.schema))
            .collect();
        let coerced = match (value, op, sub) {
            (_, Op::Remove, _) => Value::Null,
            (Some(v), _, Some(sub)) => self.coerce(sub, v, true)?,
            (Some(v), _, None) => self.coerce(attr, v, false)?,
            (None, _, _) => return Err(self.err(InvalidSyntax, "value", "missing")),
        };
        if hits.is_empty() {
            let create = op == Op::Add || (op == Op::Replace && self.interop());
            if op == Op::Remove && self.interop() {
                self.diag(
                    "generic",
                    "remove through a filter that matches nothing is a no-op".to_string(),
                );
                return Ok(());
            }
            if !create {
                return Err(self.err(
                    NoTarget,
                    "path",
                    format!("the value filter matches no value of `{}`", attr.name),
                ));
            }
            let mut element = seed_from_filter(filter, attr).ok_or_else(|| {
                self.err(
                    NoTarget,
                    "path",
                    format!(
                        "the value filter matches no value of `{}` and cannot describe a new one",
                        attr.name
                    ),
                )
            })?;
            match (sub, &coerced) {
                (Some(sub), v) => put(&mut element, &sub.name, v.clone()),
                (None, Value::Object(o)) => {
                    for (k, v) in o {
                        put(&mut element, k, v.clone());
                    }
                }
                (None, _) => {
                    return Err(self.err(
                        InvalidValue,
                        "value",
                        format!("a value of `{}` must be an object", attr.name),
                    ))
                }
            }
            if op == Op::Replace {
                self.diag(
                    "entra",
                    format!(
                        "replace through a filter that matches nothing created a `{}` value",
                        attr.name
                    ),
                );
            }
            let element = self.coerce(attr, &Value::Object(element), false)?;
            if is_primary(&element) {
                let keep = items.len();
                items.push(element);
                clear_other_primaries(&mut items, keep);
            } else {
                items.push(element);
            }
        } else {
            match (op, sub) {
                (Op::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !hits.contains(&(i - 1))
                    });
                }
                (_, Some(sub)) => {
                    for &i in &hits {
                        if let Value::Object(obj) = &mut items[i] {
                            let existing = get_ci(obj, &sub.name).map(|(_, v)| v.clone());
                            let has = existing.as_ref().is_some_and(crate::eval::is_present);
                            let same = existing.as_ref() == Some(&coerced);
                            self.check_writable(sub, has && !same)?;
                            if is_empty(&coerced) {
                                remove_ci(obj, &sub.name);
                            } else {
                                put(obj, &sub.name, coerced.clone());
                            }
                        }
                    }
                }
                (Op::Add, None) => {
                    for &i in &hits {
                        self.check_subs(attr, items[i].as_object(), &coerced)?;
                        if let (Value::Object(obj), Value::Object(new)) = (&mut items[i], &coerced)
                        {
                            for (k, v) in new {
                                put(obj, k, v.clone());
                            }
                        }
                    }
                }
                (_, None) if coerced.is_null() => {
                    // Replacing values with `null` unassigns them (RFC 7643 section 2.5); a
                    // `null` element would leave the array invalid. Found by proptest.
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !hits.contains(&(i - 1))
                    });
                }
                (_, None) => {
                    for &i in &hits {
                        self.check_subs(attr, items[i].as_object(), &coerced)?;
                        items[i] = coerced.clone();
                    }
                }
            }
            // A matched value that is now primary takes the flag from the others.
            if let Some(&keep) = hits
                .iter()
                .rev()
                .find(|&&i| items.get(i).is_some_and(is_primary))
            {
                clear_other_primaries(&mut items, keep);
            }
        }
        let c = self.container(res, ext)?;
        if attr.multi_valued {
            put(c, &attr.name, Value::Array(items));
        } else {
            match items.pop() {
                Some(v) => put(c, &attr.name, v),
                None => {
                    remove_ci(c, &attr.name);
                }
            }
        }
        tidy(res, ext, attr);
        Ok(())
    }

    /// The container object for `ext`, created (with its URN added to `schemas`) if needed.
    fn container<'m>(
        &self,
        res: &'m mut Map<String, Value>,
        ext: Ext<'_>,
    ) -> Result<&'m mut Map<String, Value>, PatchError> {
        let Some(ext) = ext else { return Ok(res) };
        let key = get_ci(res, &ext.id).map(|(k, _)| k.to_string());
        match key {
            Some(k) if res.get(&k).is_some_and(Value::is_object) => {
                if k != ext.id {
                    if let Some(v) = res.remove(&k) {
                        res.insert(ext.id.clone(), v);
                    }
                }
            }
            Some(k) if !res.get(&k).is_some_and(Value::is_null) => {
                return Err(self.err(
                    InvalidValue,
                    "path",
                    format!("the resource's `{}` is not an object", ext.id),
                ));
            }
            _ => {
                if let Some(k) = get_ci(res, &ext.id).map(|(k, _)| k.to_string()) {
                    res.remove(&k);
                }
                res.insert(ext.id.clone(), Value::Object(Map::new()));
            }
        }
        add_schema_urn(res, &ext.id);
        match res.get_mut(&ext.id) {
            Some(Value::Object(o)) => Ok(o),
            _ => Err(self.err(
                InvalidValue,
                "path",
                format!("the resource's `{}` is not an object", ext.id),
            )),
        }
    }

    /// Checks and normalises a value for `def`. With `whole`, a multi-valued `def` takes an
    /// array (a single value is wrapped); otherwise one value.
    fn coerce(&mut self, def: &Attribute, v: &Value, whole: bool) -> Result<Value, PatchError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        if whole && def.multi_valued {
            let items = match v {
                Value::Array(items) => items.clone(),
                // With a path, "a new value is added" (RFC 7644 section 3.5.2.1); in a
                // resource representation a multi-valued attribute is an array.
                other if !self.in_representation => vec![other.clone()],
                other if self.interop() => {
                    // See: idp-shapes `onelogin-emails-object`.
                    self.diag(
                        "onelogin",
                        format!(
                            "single value for multi-valued `{}` read as a one-element array",
                            def.name
                        ),
                    );
                    vec![other.clone()]
                }
                other => {
                    return Err(self.err(
                        InvalidValue,
                        "value",
                        format!(
                            "`{}` is multi-valued and needs an array, found {}",
                            def.name,
                            json_kind(other)
                        ),
                    ))
                }
            };
            let mut out = Vec::new();
            for item in &items {
                let c = self.coerce(def, item, false)?;
                if !c.is_null() {
                    out.push(c);
                }
            }
            return Ok(Value::Array(out));
        }
        let wrong = |cx: &Self| {
            cx.err(
                InvalidValue,
                "value",
                format!(
                    "`{}` is a {} attribute, found {}",
                    def.name,
                    crate::eval::type_name(def.kind),
                    json_kind(v)
                ),
            )
        };
        match (def.kind, v) {
            (
                AttributeType::String | AttributeType::Reference | AttributeType::Binary,
                Value::String(_),
            ) => Ok(v.clone()),
            (AttributeType::DateTime, Value::String(s)) => match parse_rfc3339(s) {
                Some(_) => Ok(v.clone()),
                None => Err(self.err(
                    InvalidValue,
                    "value",
                    format!("`{}` needs an RFC 3339 date-time, found {s:?}", def.name),
                )),
            },
            (AttributeType::Boolean, Value::Bool(_)) => Ok(v.clone()),
            (AttributeType::Boolean, Value::String(s))
                if self.interop()
                    && (s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")) =>
            {
                // See: bug-25 (Entra sends `"False"` for `active`).
                self.diag(
                    "entra",
                    format!("string {s:?} read as a boolean for `{}`", def.name),
                );
                Ok(Value::Bool(s.eq_ignore_ascii_case("true")))
            }
            (AttributeType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            (AttributeType::Decimal, Value::Number(_)) => Ok(v.clone()),
            (AttributeType::Complex, Value::Object(obj)) => {
                let mut out = Map::new();
                for (k, sv) in obj {
                    let sub = def.sub_attribute(k).ok_or_else(|| {
                        self.err(
                            InvalidValue,
                            "value",
                            format!("unknown sub-attribute `{k}` of `{}`", def.name),
                        )
                    })?;
                    let c = self.coerce(sub, sv, true)?;
                    if !is_empty(&c) {
                        put(&mut out, &sub.name, c);
                    }
                }
                Ok(Value::Object(out))
            }
            (AttributeType::Complex, Value::String(s))
                if self.interop() && !def.multi_valued && def.sub_attribute("value").is_some() =>
            {
                // See: bug-36 (Entra sends `manager` as a bare id).
                self.diag(
                    "entra",
                    format!(
                        "`{}` given as a bare string; read as {{\"value\": {s:?}}}",
                        def.name
                    ),
                );
                let mut out = Map::new();
                out.insert("value".to_string(), v.clone());
                Ok(Value::Object(out))
            }
            (AttributeType::Complex, Value::Array(items))
                if self.interop() && !def.multi_valued && items.len() == 1 =>
            {
                self.diag(
                    "entra",
                    format!("single-valued `{}` given as a one-element array", def.name),
                );
                self.coerce(def, &items[0], false)
            }
            _ => Err(wrong(self)),
        }
    }
}

/// An element described by a filter made only of `eq` comparisons joined by `and`.
fn seed_from_filter(filter: &Filter, parent: &Attribute) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match &f.kind {
            FilterKind::And(items) => stack.extend(items.iter()),
            FilterKind::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.uri.is_none() && path.sub_attr.is_none() => {
                let sub = parent.sub_attribute(&path.name)?;
                let v = match &value.value {
                    LiteralValue::String(s) => Value::String(s.clone()),
                    LiteralValue::Bool(b) => Value::Bool(*b),
                    LiteralValue::Number(n) => serde_json::from_str(n).ok()?,
                    LiteralValue::Null => return None,
                };
                put(&mut out, &sub.name, v);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The values of a multi-valued attribute indexed by their `value` (or by themselves, for a
/// simple attribute), so that adding many members to a large group stays linear.
struct ValueIndex {
    keyed: std::collections::HashMap<String, Vec<usize>>,
    unkeyed: Vec<usize>,
}

impl ValueIndex {
    fn new(attr: &Attribute, items: &[Value]) -> Self {
        #[cfg(test)]
        tests::INDEX_BUILDS.with(|n| n.set(n.get() + 1));
        let mut index = ValueIndex {
            keyed: Default::default(),
            unkeyed: Vec::new(),
        };
        for (i, item) in items.iter().enumerate() {
            index.insert(attr, i, item);
        }
        index
    }

    /// The text two same values share: the `value` sub-attribute, folded unless caseExact.
    fn key(attr: &Attribute, v: &Value) -> Option<String> {
        let (text, case_exact) = match (v, attr.sub_attribute("value")) {
            (Value::Object(o), Some(def)) => (get_ci(o, "value")?.1.as_str()?, def.case_exact),
            (Value::String(s), None) => (s.as_str(), attr.case_exact),
            _ => return None,
        };
        Some(if case_exact {
            text.to_string()
        } else {
            text.to_lowercase()
        })
    }

    fn insert(&mut self, attr: &Attribute, i: usize, v: &Value) {
        match Self::key(attr, v) {
            Some(k) => self.keyed.entry(k).or_default().push(i),
            None => self.unkeyed.push(i),
        }
    }

    /// Whether `items` (the list this index was built on) holds a value the same as `v`.
    fn contains(&self, attr: &Attribute, items: &[Value], v: &Value) -> bool {
        match Self::key(attr, v) {
            Some(k) => self
                .keyed
                .get(&k)
                .into_iter()
                .flatten()
                .chain(&self.unkeyed)
                .any(|&i| same_value(attr, &items[i], v)),
            None => items.iter().any(|item| same_value(attr, item, v)),
        }
    }
}

/// Whether two values of `attr` are the same value for `add` and Entra-style `remove`.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if let (Value::Object(x), Value::Object(y), Some(value_def)) =
        (a, b, attr.sub_attribute("value"))
    {
        if let (Some((_, xv)), Some((_, yv))) = (get_ci(x, "value"), get_ci(y, "value")) {
            let types_differ = match (get_ci(x, "type"), get_ci(y, "type")) {
                (Some((_, Value::String(s))), Some((_, Value::String(t)))) => {
                    !s.eq_ignore_ascii_case(t)
                }
                _ => false,
            };
            return !types_differ && scalar_eq(value_def.case_exact, xv, yv);
        }
    }
    scalar_eq(attr.case_exact, a, b)
}

fn scalar_eq(case_exact: bool, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(s), Value::String(t)) if !case_exact => {
            if s.is_ascii() && t.is_ascii() {
                s.eq_ignore_ascii_case(t)
            } else {
                s.to_lowercase() == t.to_lowercase()
            }
        }
        _ => a == b,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|(_, p)| p == &Value::Bool(true))
}

fn clear_other_primaries(items: &mut [Value], keep: usize) {
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            if let Value::Object(obj) = item {
                put(obj, "primary", Value::Bool(false));
            }
        }
    }
}

fn container_ref<'m>(res: &'m Map<String, Value>, ext: Ext<'_>) -> Option<&'m Map<String, Value>> {
    match ext {
        None => Some(res),
        Some(ext) => get_ci(res, &ext.id).and_then(|(_, v)| v.as_object()),
    }
}

fn container_mut<'m>(
    res: &'m mut Map<String, Value>,
    ext: Ext<'_>,
) -> Option<&'m mut Map<String, Value>> {
    match ext {
        None => Some(res),
        Some(ext) => {
            let key = get_ci(res, &ext.id)?.0.to_string();
            res.get_mut(&key)?.as_object_mut()
        }
    }
}

fn get_ci_mut<'m>(map: &'m mut Map<String, Value>, name: &str) -> Option<&'m mut Value> {
    let key = get_ci(map, name)?.0.to_string();
    map.get_mut(&key)
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    let mut removed = None;
    for k in keys {
        removed = map.remove(&k);
    }
    removed
}

/// Sets `name` (in the schema's spelling), replacing any key that differs only in case.
fn put(map: &mut Map<String, Value>, name: &str, v: Value) {
    remove_ci(map, name);
    map.insert(name.to_string(), v);
}

/// Drops an attribute left empty, and an extension object left empty.
fn tidy(res: &mut Map<String, Value>, ext: Ext<'_>, attr: &Attribute) {
    if let Some(c) = container_mut(res, ext) {
        let empty = get_ci(c, &attr.name).is_some_and(|(_, v)| match v {
            Value::Array(items) => items.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Null => true,
            _ => false,
        });
        if empty {
            remove_ci(c, &attr.name);
        }
    }
    if let Some(ext) = ext {
        if container_ref(res, Some(ext)).is_some_and(Map::is_empty) {
            drop_extension(res, ext);
        }
    }
}

fn drop_extension(res: &mut Map<String, Value>, ext: &Schema) {
    remove_ci(res, &ext.id);
    if let Some(Value::Array(schemas)) = res.get_mut("schemas") {
        schemas.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&ext.id)));
    }
}

fn add_schema_urn(res: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(schemas)) = res.get_mut("schemas") {
        if !schemas
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
        {
            schemas.push(Value::String(urn.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    thread_local! {
        /// How many [`ValueIndex`]es this thread built.
        pub(super) static INDEX_BUILDS: Cell<usize> = const { Cell::new(0) };
    }

    fn adds(n: usize) -> PatchDocument {
        let ops: Vec<Value> = (0..n)
            .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("u{i}@example.com")}]}))
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        PatchDocument::parse(&body, Mode::Strict).expect("parses")
    }

    /// A run of adds to one attribute indexes the array once, not once per operation (each
    /// rebuild walks the whole array: 20,000 `add emails` took minutes).
    /// See: fresh-user trial, PATCH of 20,000 operations quadratic.
    #[test]
    fn a_run_of_adds_builds_the_duplicate_index_once() {
        let user =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
        INDEX_BUILDS.with(|n| n.set(0));
        let applied = apply(&adds(500), &user, &ResourceSchema::user()).expect("applies");
        assert_eq!(
            applied.resource["emails"].as_array().map(Vec::len),
            Some(500)
        );
        assert_eq!(INDEX_BUILDS.with(Cell::get), 1);
    }

    /// Any other change in between drops the kept index, so it is rebuilt.
    #[test]
    fn another_change_in_between_rebuilds_the_index() {
        let user =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "emails", "value": [{"value": "a@example.com"}]},
            {"op": "replace", "path": "emails[value eq \"a@example.com\"].value", "value": "b@example.com"},
            {"op": "add", "path": "emails", "value": [{"value": "B@example.com"}, {"value": "a@example.com"}]}
        ]});
        let doc = PatchDocument::parse(&body, Mode::Strict).expect("parses");
        INDEX_BUILDS.with(|n| n.set(0));
        let applied = apply(&doc, &user, &ResourceSchema::user()).expect("applies");
        assert_eq!(
            applied.resource["emails"],
            json!([{"value": "b@example.com"}, {"value": "a@example.com"}])
        );
        assert_eq!(INDEX_BUILDS.with(Cell::get), 2);
    }
}
