//! Checking a PATCH path against a resource type's schemas before applying anything, with
//! every problem and its span (RFC 7644 section 3.5.2: a path that names no attribute, or
//! a filter that does not fit, is `invalidPath`, section 3.12 Table 9).
//!
//! Filters are checked by [`eval::validate`](crate::eval::validate) and
//! [`eval::validate_all`](crate::eval::validate_all) (scimType `invalidFilter`); this module
//! does the same for the `path` of a PATCH operation, whose problems are `invalidPath`.
//! [`apply`](crate::patch::apply) runs the same checks, stopping at the first problem; use
//! [`validate_patch_path`] to show them all, with carets, for instance to debug an IdP's
//! request. Paths are checked as written: OneLogin's legacy URNs, which interop mode maps
//! while applying, are unknown here.
//!
//! ```
//! use scim_parser::validate::validate_patch_path;
//! use scim_parser::{parse_patch_path, ResourceSchema};
//! let input = r#"emails[kind eq "work" and primary eq "yes"].nope"#;
//! let path = parse_patch_path(input).unwrap();
//! let problems = validate_patch_path(&path, &ResourceSchema::user());
//! let found: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
//! assert_eq!(found, [
//!     "unknown attribute `kind` at byte 7",
//!     "`primary` is a boolean attribute, but the value is a string at byte 37",
//!     "unknown attribute `emails.nope` at byte 44",
//! ]);
//! assert_eq!(problems[0].scim_type(), "invalidPath");
//! ```

use crate::eval::{check_all, EvalError, EvalErrorKind};
use crate::schema::{AttributeType, Resolved, ResourceSchema};
use crate::{PatchPath, Span};
use std::fmt;

/// A PATCH path that does not fit the resource type: what is wrong (the same kinds as for
/// filters) and where in the path text. The scimType is `invalidPath`.
///
/// ```
/// use scim_parser::validate::validate_patch_path;
/// use scim_parser::{parse_patch_path, ResourceSchema, Span};
/// let path = parse_patch_path("userName[value eq \"x\"]").unwrap();
/// let problem = &validate_patch_path(&path, &ResourceSchema::user())[0];
/// assert_eq!(problem.span, Span::new(0, 8));
/// assert_eq!(problem.kind.to_string(), "a value filter `[...]` does not apply to `userName`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathProblem {
    /// What is wrong.
    pub kind: EvalErrorKind,
    /// Where in the path text.
    pub span: Span,
}

impl PathProblem {
    /// The RFC 7644 section 3.12 scimType: always `invalidPath`.
    ///
    /// ```
    /// use scim_parser::{parse_patch_path, validate::validate_patch_path, ResourceSchema};
    /// let p = parse_patch_path("nickname2").unwrap();
    /// assert_eq!(validate_patch_path(&p, &ResourceSchema::user())[0].scim_type(), "invalidPath");
    /// ```
    pub fn scim_type(&self) -> &'static str {
        "invalidPath"
    }

    /// The message, the path text and a caret line under the span at fault.
    ///
    /// ```
    /// use scim_parser::{parse_patch_path, validate::validate_patch_path, ResourceSchema};
    /// let input = "name.middle";
    /// let p = parse_patch_path(input).unwrap();
    /// let out = validate_patch_path(&p, &ResourceSchema::user())[0].render(input);
    /// assert_eq!(out, "error: unknown attribute `name.middle` (byte 0)\n  name.middle\n  ^^^^^^^^^^^\n");
    /// ```
    pub fn render(&self, input: &str) -> String {
        crate::error::render::render(&self.kind, self.span, input)
    }
}

impl From<EvalError> for PathProblem {
    fn from(e: EvalError) -> Self {
        PathProblem {
            kind: e.kind,
            span: e.span,
        }
    }
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.span.start)
    }
}

impl std::error::Error for PathProblem {}

/// Every problem of `path` against `schema`, in the order they stand in the path (empty
/// when the path fits): an unknown attribute or sub-attribute, a value filter on an
/// attribute that is not complex (or after a sub-attribute, or on a whole extension), and
/// every problem of the value filter, read against the filtered attribute's
/// sub-attributes.
///
/// ```
/// use scim_parser::{parse_patch_path, validate::validate_patch_path, ResourceSchema};
/// let user = ResourceSchema::user();
/// for ok in ["userName", "name.givenName", r#"members[value eq "1"].display"#,
///            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
///            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"] {
///     let schema = if ok.starts_with("members") { ResourceSchema::group() } else { user.clone() };
///     assert!(validate_patch_path(&parse_patch_path(ok).unwrap(), &schema).is_empty(), "{ok}");
/// }
/// ```
pub fn validate_patch_path(path: &PatchPath, schema: &ResourceSchema) -> Vec<PathProblem> {
    let mut out = Vec::new();
    let not_applicable = |span: Span| PathProblem {
        kind: EvalErrorKind::ValuePathNotApplicable {
            path: path.attr.to_string(),
        },
        span,
    };
    match schema.resolve(&path.attr) {
        None => out.push(PathProblem {
            kind: EvalErrorKind::UnknownAttribute {
                path: path.attr.to_string(),
            },
            span: path.attr.span,
        }),
        Some(Resolved::Extension { .. }) => {
            if path.filter.is_some() || path.sub_attr.is_some() {
                out.push(not_applicable(path.attr.span));
            }
        }
        Some(Resolved::Attribute {
            attribute,
            sub_attribute,
            ..
        }) => {
            if let Some(filter) = &path.filter {
                if sub_attribute.is_some() || attribute.kind != AttributeType::Complex {
                    out.push(not_applicable(path.attr.span));
                } else {
                    let mut errors = Vec::new();
                    check_all(filter, Some(attribute), schema, &mut errors);
                    out.extend(errors.into_iter().map(PathProblem::from));
                }
                if let Some(name) = &path.sub_attr {
                    if attribute.kind == AttributeType::Complex
                        && attribute.sub_attribute(name).is_none()
                    {
                        let start = path.span.end.saturating_sub(name.len());
                        out.push(PathProblem {
                            kind: EvalErrorKind::UnknownAttribute {
                                path: format!("{}.{name}", path.attr),
                            },
                            span: Span::new(start, path.span.end),
                        });
                    }
                }
            }
        }
    }
    out
}
