//! Replacing a resource with PUT (RFC 7644 section 3.5.1), with the mutability rules of that
//! section and the same value checks and dialects as PATCH.
//!
//! [`replace_resource`] takes the stored resource and the PUT body and returns the resource
//! to store, all or nothing. Section 3.5.1 decides per attribute:
//!
//! | mutability | in the body | omitted from the body |
//! |---|---|---|
//! | `readWrite`, `writeOnly` | replaces the stored value (a complex value whole, not merged) | removed, except what the client can never read (below); a `required` one is `invalidValue` |
//! | `immutable` | must equal the stored value when there is one (else `mutability`); set when there is none | kept |
//! | `readOnly` | ignored ("any values provided SHALL be ignored") | kept |
//!
//! # Choices where section 3.5.1 leaves room
//!
//! - Omitted attributes are "not asserted" and the RFC lets the server clear them or not.
//!   This crate clears them (PUT replaces), **except `returned: never` attributes such as
//!   `password`**: a client never sees them, so it cannot echo them back, and omitting them
//!   must not erase them (section 3.5.1 lets the server take into account what a client can
//!   know).
//! - `readOnly` values are ignored in both modes, changed or not, as the RFC says. Okta
//!   echoes `id`, `meta` and `groups` in every PUT (idp-shapes `okta-put-update`); nothing
//!   is reported for that, since it is not a tolerance.
//! - Members no schema defines are `invalidValue` in strict mode; interop mode drops them
//!   with a `generic` diagnostic (RFC 7644 section 3.3 lets a server ignore them).
//! - Values are checked and normalised as PATCH does, so interop mode accepts the same
//!   shapes ([`crate::patch`]: `"False"` for a boolean, a bare id for `manager`, legacy
//!   URNs) and reports each as a diagnostic.
//!
//! ```
//! use scim_parser::replace::replace_resource;
//! use scim_parser::{Mode, ResourceSchema};
//! use serde_json::json;
//! let stored = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen", "title": "Guide", "password": "secret",
//!     "name": {"givenName": "Barbara", "familyName": "Jensen"},
//!     "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}
//! });
//! // Okta's PUT: the GET result with its change merged in, read-only data echoed back.
//! let put = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen", "active": false,
//!     "name": {"givenName": "Babs"},
//!     "meta": {"resourceType": "User", "created": "1999-01-01T00:00:00Z"}
//! });
//! let out = replace_resource(&stored, &put, &ResourceSchema::user(), Mode::Strict).unwrap();
//! assert_eq!(out.resource["active"], json!(false));
//! assert_eq!(out.resource["name"], json!({"givenName": "Babs"})); // replaced, not merged
//! assert!(out.resource.get("title").is_none()); // omitted: cleared
//! assert_eq!(out.resource["password"], json!("secret")); // returned never: kept
//! assert_eq!(out.resource["meta"], stored["meta"]); // readOnly: the body is ignored
//! ```

use crate::patch::{apply, Applied, Diagnostic, Mode, Op, PatchDocument, PatchError};
use crate::patch::{PatchErrorKind, PatchOperation};
use crate::schema::{get_ci, Attribute, Mutability, ResourceSchema, Returned, Schema};
use crate::{AttrPath, PatchPath, Span};
use serde_json::{Map, Value};

/// Legacy URNs OneLogin sends (read in interop mode only, as in PATCH).
const LEGACY_CORE_URN: &str = "urn:scim:schemas:core:2.0";
const LEGACY_ENTERPRISE_URN: &str = "urn:scim:schemas:extension:enterprise:2.0";

/// Replaces `stored` with the PUT `body` under RFC 7644 section 3.5.1 (see the module
/// docs): returns the resource to store, whether it changed, and in interop mode every
/// tolerance used. An error's `location` is the body member at fault (`userName`,
/// `name`, or an extension URN), and nothing is replaced.
///
/// ```
/// use scim_parser::replace::replace_resource;
/// use scim_parser::{Mode, ResourceSchema};
/// use serde_json::json;
/// let stored = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///                     "id": "u1", "userName": "bjensen", "active": true});
/// // Entra sends booleans as strings; strict mode refuses, interop reads them.
/// let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///                  "userName": "bjensen", "active": "False"});
/// let user = ResourceSchema::user();
/// let err = replace_resource(&stored, &put, &user, Mode::Strict).unwrap_err();
/// assert_eq!((err.scim_type(), err.location.as_str()), ("invalidValue", "active"));
/// let out = replace_resource(&stored, &put, &user, Mode::Interop).unwrap();
/// assert_eq!(out.resource["active"], json!(false));
/// assert_eq!(out.diagnostics[0].to_string(), "[entra] `active`: string \"False\" read as a boolean for `active`");
/// // A required attribute must be in the body.
/// let err = replace_resource(&stored, &json!({"active": true}), &user, Mode::Strict).unwrap_err();
/// assert_eq!((err.scim_type(), err.location.as_str()), ("invalidValue", "userName"));
/// ```
pub fn replace_resource(
    stored: &Value,
    body: &Value,
    schema: &ResourceSchema,
    mode: Mode,
) -> Result<Applied, PatchError> {
    let body = body.as_object().ok_or_else(|| {
        PatchError::new(
            PatchErrorKind::InvalidSyntax,
            "",
            format!(
                "a PUT body must be a JSON object, found {}",
                crate::schema::json_kind(body)
            ),
        )
    })?;
    let current = stored.as_object().cloned().unwrap_or_default();
    let mut plan = Plan {
        mode,
        ops: Vec::new(),
        origin: Vec::new(),
        diagnostics: Vec::new(),
    };
    // The body's members, sorted into core attributes and extension objects.
    let mut asserted_core: Vec<&str> = Vec::new();
    let mut asserted_ext: Vec<(&Schema, &Map<String, Value>)> = Vec::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let urn = plan.urn(key);
        if let Some(ext) = schema.extension(&urn) {
            match value {
                Value::Object(obj) => asserted_ext.push((ext, obj)),
                Value::Null => {}
                other => {
                    return Err(PatchError::new(
                        PatchErrorKind::InvalidValue,
                        key,
                        format!(
                            "extension `{}` needs an object, found {}",
                            ext.id,
                            crate::schema::json_kind(other)
                        ),
                    ))
                }
            }
            continue;
        }
        match core_attribute(schema, key) {
            Some(attr) => {
                asserted_core.push(key);
                plan.attribute(None, attr, key, current.get_ci(key), Some(value))?;
            }
            None => plan.unknown(key)?,
        }
    }
    // Core attributes the body leaves out.
    for attr in schema
        .common
        .attributes
        .iter()
        .chain(&schema.core.attributes)
    {
        let given = asserted_core
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&attr.name));
        if !given {
            plan.attribute(None, attr, &attr.name, current.get_ci(&attr.name), None)?;
        }
    }
    // Extensions: each attribute given or left out, like the core ones.
    for ext in schema.extensions.iter().map(|e| &e.schema) {
        let given = asserted_ext
            .iter()
            .find(|(s, _)| s.id == ext.id)
            .map(|(_, o)| *o);
        let stored_ext = current
            .get_ci(&ext.id)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(obj) = given {
            for key in obj.keys() {
                if ext.attribute(key).is_none() {
                    plan.unknown(&format!("{}:{key}", ext.id))?;
                }
            }
        }
        for attr in &ext.attributes {
            let value = given.and_then(|o| o.get_ci(&attr.name));
            let origin = format!("{}:{}", ext.id, attr.name);
            plan.attribute(
                Some(ext),
                attr,
                &origin,
                stored_ext.get_ci(&attr.name),
                value,
            )?;
        }
    }
    plan.run(stored, schema)
}

/// The synthetic PATCH operations a PUT becomes, and which body member each came from.
struct Plan {
    mode: Mode,
    ops: Vec<PatchOperation>,
    origin: Vec<String>,
    diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// `key` with OneLogin's legacy URNs mapped (interop mode).
    fn urn(&mut self, key: &str) -> String {
        let mapped = if key.eq_ignore_ascii_case(LEGACY_ENTERPRISE_URN) {
            crate::schema::builtin::ENTERPRISE_USER_URN
        } else {
            return key.to_string();
        };
        if self.mode == Mode::Interop {
            self.diag(
                "onelogin",
                None,
                format!("legacy URN `{key}` read as `{mapped}`"),
            );
            mapped.to_string()
        } else {
            key.to_string()
        }
    }

    fn diag(&mut self, dialect: &'static str, at: Option<&str>, message: String) {
        let message = match at {
            Some(at) => format!("`{at}`: {message}"),
            None => message,
        };
        self.diagnostics.push(Diagnostic {
            dialect,
            op_index: None,
            message,
        });
    }

    fn unknown(&mut self, key: &str) -> Result<(), PatchError> {
        if key.eq_ignore_ascii_case(LEGACY_CORE_URN) && self.mode == Mode::Interop {
            self.diag("onelogin", None, format!("legacy `{key}` member ignored"));
            return Ok(());
        }
        if self.mode == Mode::Interop {
            self.diag(
                "generic",
                Some(key),
                "no schema defines it; ignored".to_string(),
            );
            return Ok(());
        }
        Err(PatchError::new(
            PatchErrorKind::InvalidValue,
            key,
            "no schema of the resource type defines this attribute",
        ))
    }

    fn push(
        &mut self,
        op: Op,
        ext: Option<&Schema>,
        attr: &Attribute,
        origin: &str,
        value: Option<&Value>,
    ) {
        let attr_path = AttrPath {
            uri: ext.map(|e| e.id.clone()),
            name: attr.name.clone(),
            sub_attr: None,
            span: Span::default(),
        };
        let path_text = attr_path.to_string();
        self.ops.push(PatchOperation {
            op,
            path: Some(PatchPath {
                attr: attr_path,
                filter: None,
                sub_attr: None,
                span: Span::default(),
            }),
            path_text: Some(path_text),
            value: value.cloned(),
        });
        self.origin.push(origin.to_string());
    }

    /// The operations for one attribute, given (`value`) or omitted.
    fn attribute(
        &mut self,
        ext: Option<&Schema>,
        attr: &Attribute,
        origin: &str,
        stored: Option<&Value>,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        let stored = stored.filter(|v| crate::eval::is_present(v));
        let value = value.filter(|v| !v.is_null());
        match (attr.mutability, value) {
            (Mutability::ReadOnly, _) => Ok(()),
            (Mutability::Immutable, None) => Ok(()),
            (Mutability::Immutable, Some(v)) if stored == Some(v) => Ok(()),
            (_, None) if attr.required => Err(PatchError::new(
                PatchErrorKind::InvalidValue,
                origin,
                format!("`{}` is required; a PUT must include it", attr.name),
            )),
            (_, None) if attr.returned == Returned::Never => Ok(()),
            (_, None) => {
                if stored.is_some() {
                    self.push(Op::Remove, ext, attr, origin, None);
                }
                Ok(())
            }
            (_, Some(v)) => {
                // `replace` merges a complex value (RFC 7644 section 3.5.2.3); PUT replaces
                // it whole, so clear it first.
                if stored.is_some() && !attr.required {
                    self.push(Op::Remove, ext, attr, origin, None);
                }
                self.push(Op::Replace, ext, attr, origin, Some(v));
                Ok(())
            }
        }
    }

    fn run(self, stored: &Value, schema: &ResourceSchema) -> Result<Applied, PatchError> {
        let Plan {
            mode,
            ops,
            origin,
            mut diagnostics,
        } = self;
        if ops.is_empty() {
            return Ok(Applied {
                resource: stored.clone(),
                changed: false,
                diagnostics,
            });
        }
        let doc = PatchDocument {
            operations: ops,
            mode,
            diagnostics: Vec::new(),
        };
        let member = |i: Option<usize>| i.and_then(|i| origin.get(i)).cloned();
        match apply(&doc, stored, schema) {
            Ok(mut applied) => {
                for d in applied.diagnostics.drain(..) {
                    let at = member(d.op_index);
                    diagnostics.push(Diagnostic {
                        dialect: d.dialect,
                        op_index: None,
                        message: match at {
                            Some(at) => format!("`{at}`: {}", d.message),
                            None => d.message,
                        },
                    });
                }
                applied.diagnostics = diagnostics;
                Ok(applied)
            }
            Err(mut e) => {
                let index = e
                    .location
                    .strip_prefix("Operations[")
                    .and_then(|r| r.split(']').next())
                    .and_then(|i| i.parse().ok());
                if let Some(at) = member(index) {
                    e.location = at;
                }
                // PUT has no `noTarget` or path: a bad value is `invalidValue`.
                if e.kind == PatchErrorKind::InvalidPath || e.kind == PatchErrorKind::NoTarget {
                    e.kind = PatchErrorKind::InvalidValue;
                }
                Err(e)
            }
        }
    }
}

/// A common or core attribute named `key` (case-insensitive).
fn core_attribute<'s>(schema: &'s ResourceSchema, key: &str) -> Option<&'s Attribute> {
    schema
        .common
        .attribute(key)
        .or_else(|| schema.core.attribute(key))
}

/// Case-insensitive member lookup on a JSON object.
trait GetCi {
    fn get_ci(&self, key: &str) -> Option<&Value>;
}

impl GetCi for Map<String, Value> {
    fn get_ci(&self, key: &str) -> Option<&Value> {
        get_ci(self, key).map(|(_, v)| v)
    }
}
