//! Filter evaluation on JSON resources (RFC 7644 section 3.4.2.2 semantics).
//!
//! This module owns [`matches()`] (does a filter select a resource), [`validate`] (is a filter
//! meaningful for a resource type, independent of any data) and the two comparison helpers
//! it needs: an RFC 3339 instant parser ([`parse_rfc3339`]) and an exact comparison of JSON
//! number texts ([`compare_numbers`]).
//!
//! # Semantics
//!
//! - Attribute names, sub-attribute names and schema URNs compare case-insensitively, both
//!   in the filter and as keys of the resource JSON (RFC 7643 section 2.1, RFC 7644
//!   section 3.10). An attribute qualified with an extension URN is read from the object
//!   keyed by that URN (RFC 7643 section 3.3).
//! - Strings compare case-insensitively unless the attribute is `caseExact` (RFC 7644
//!   section 3.4.2.2): `userName` in any case, `id` and `externalId` exactly. Case folding
//!   is Unicode lowercase. `gt`/`ge`/`lt`/`le` on strings use code point order.
//! - `dateTime` attributes compare as instants: `2011-05-13T05:00:00+02:00` equals
//!   `2011-05-13T03:00:00Z`. Fractions of a second count to the nanosecond. `co`, `sw` and
//!   `ew` on a `dateTime` compare the text (RFC 7644 only defines them for strings).
//! - `integer` and `decimal` compare numerically on the literal text, so big integers and
//!   long fractions are exact (`1.0 eq 1`, `12345678901234567890 gt 12345678901234567889`).
//! - `boolean` allows only `eq` and `ne`; `gt`/`ge`/`lt`/`le` on a `boolean` or `binary`
//!   attribute is an error (RFC 7644 section 3.4.2.2: such filters "SHALL" fail with
//!   `invalidFilter`). `co`/`sw`/`ew` on numbers and booleans are errors too.
//! - A multi-valued attribute matches when any of its values matches. For a complex
//!   attribute compared without a sub-attribute (`emails co "x"`), each element's `value`
//!   sub-attribute is compared; a complex attribute without a `value` sub-attribute cannot
//!   be compared (`name eq "x"` is an error).
//! - `attr[filter]` matches when one element satisfies the whole inner filter (the same
//!   element for every condition). On a single-valued complex attribute (`manager[value eq
//!   "x"]`) the one value is the only element. On a multi-valued simple attribute, the
//!   inner name `value` stands for the element itself.
//! - `pr` is false for an absent attribute, `null`, `""`, `[]`, and an object none of whose
//!   members is present by the same rule. A bare extension URN with `pr` tests the
//!   extension object.
//!
//! # Cases the RFC leaves open, and the choices made
//!
//! - **`ne` on an absent attribute is true**: nothing is not equal to the value, so
//!   `title ne "x"` selects users without a title. This keeps `ne` and `not (... eq ...)`
//!   equal for single-valued attributes.
//! - **`ne` on a multi-valued attribute follows the "any value" rule literally**:
//!   `emails.type ne "work"` is true when some email's type is not `work`. Write
//!   `not (emails.type eq "work")` for "no email is of type work".
//! - **`null` literals**: `attr eq null` is true when the attribute is absent, `null` or
//!   `[]`; `attr ne null` is its negation. Other operators with `null` are errors.
//! - **Type mismatches are errors, not silent non-matches**: `active eq "true"`, `title eq
//!   1`, `meta.lastModified gt "yesterday"` fail [`validate`], so a server answers 400
//!   `invalidFilter` instead of an empty list that an IdP would read as "no such user".
//! - **Unknown attributes are errors**, carrying the path's span, for the same reason
//!   (bug-18: an unmapped attribute must give 400, never everything).
//! - **Values of the wrong JSON type in the resource** (a number stored in a string
//!   attribute, an unparseable `dateTime`) never match, except that `ne` is true for them.
//! - **Fractions of a second beyond nanoseconds** are truncated. Leap second `:60` is
//!   accepted and counts as the next second.
//! - **Unqualified extension attributes** resolve as [`ResourceSchema::resolve`] documents.
//!
//! ```
//! use scim_parser::{eval::matches, parse_filter, ResourceSchema};
//! let user = serde_json::json!({
//!     "userName": "bjensen",
//!     "emails": [{"type": "work", "value": "a@x.com"}, {"type": "home", "value": "b@y.com"}]
//! });
//! let schema = ResourceSchema::user();
//! let filter = parse_filter(r#"USERNAME eq "BJENSEN""#).unwrap();
//! assert!(matches(&filter, &user, &schema).unwrap());
//! let filter = parse_filter(r#"emails[type eq "work" and value ew "y.com"]"#).unwrap();
//! assert!(!matches(&filter, &user, &schema).unwrap());
//! ```

use crate::error::Span;
use crate::filter::{AttrPath, CompareOp, Filter, FilterKind, Literal, LiteralValue};
use crate::schema::{get_ci, Attribute, AttributeType, Resolved, ResourceSchema, Schema};
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// Whether `filter` selects `resource`, read against `schema`.
///
/// The filter is first checked with [`validate`], so an error never depends on the data:
/// a filter that fails for one resource fails for all.
///
/// ```
/// use scim_parser::{eval::matches, parse_filter, ResourceSchema};
/// let user = serde_json::json!({"meta": {"lastModified": "2011-05-13T05:00:00+02:00"}});
/// let schema = ResourceSchema::user();
/// // 05:00+02:00 is 03:00Z: compared as instants, not as text.
/// let f = parse_filter(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#).unwrap();
/// assert!(!matches(&f, &user, &schema).unwrap());
/// let f = parse_filter("active gt true").unwrap();
/// assert_eq!(matches(&f, &user, &schema).unwrap_err().scim_type(), "invalidFilter");
/// ```
pub fn matches(
    filter: &Filter,
    resource: &Value,
    schema: &ResourceSchema,
) -> Result<bool, EvalError> {
    validate(filter, schema)?;
    Ok(eval(filter, &Scope::Resource(resource), schema))
}

/// Whether `filter` selects `resource`, without checking the filter first.
///
/// For evaluating one filter over many resources: call [`validate`] once, then this for
/// each resource. On a filter that does not validate, paths that resolve to nothing make
/// their comparison false (even `ne`), and type mismatches never match.
///
/// ```
/// use scim_parser::eval::{matches_unchecked, validate};
/// use scim_parser::{parse_filter, ResourceSchema};
/// use serde_json::json;
/// let schema = ResourceSchema::user();
/// let filter = parse_filter(r#"emails.type eq "work""#).unwrap();
/// validate(&filter, &schema).unwrap();
/// let users = [json!({"emails": [{"type": "Work"}]}), json!({"emails": []})];
/// let hits: Vec<bool> = users.iter().map(|u| matches_unchecked(&filter, u, &schema)).collect();
/// assert_eq!(hits, [true, false]);
/// ```
pub fn matches_unchecked(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, &Scope::Resource(resource), schema)
}

/// Checks that every attribute in `filter` exists in `schema` and that every operator and
/// literal suits the attribute's type. Errors map to scimType `invalidFilter`.
///
/// ```
/// use scim_parser::{eval::validate, parse_filter, ResourceSchema};
/// let f = parse_filter(r#"userName eq "x" or emails.nope eq "y""#).unwrap();
/// let err = validate(&f, &ResourceSchema::user()).unwrap_err();
/// assert_eq!(err.to_string(), "unknown attribute `emails.nope` at byte 19");
/// assert_eq!((err.span.start, err.span.end), (19, 30));
/// ```
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> Result<(), EvalError> {
    check(filter, None, schema)
}

/// Every problem [`validate`] would find, in the order they stand in the filter (empty when
/// the filter is valid), so a diagnostic can show them all at once. Inside a value path
/// whose attribute resolves, each condition is checked on its own.
///
/// ```
/// use scim_parser::{eval::validate_all, parse_filter, ResourceSchema};
/// let f = parse_filter(r#"nickname2 pr or active eq "true" or emails[kind eq "x"]"#).unwrap();
/// let errors = validate_all(&f, &ResourceSchema::user());
/// let at: Vec<usize> = errors.iter().map(|e| e.span.start).collect();
/// assert_eq!(at, [0, 26, 43]);
/// ```
pub fn validate_all(filter: &Filter, schema: &ResourceSchema) -> Vec<EvalError> {
    let mut out = Vec::new();
    check_all(filter, None, schema, &mut out);
    out
}

/// [`check`] that records every error instead of stopping at the first.
pub(crate) fn check_all(
    filter: &Filter,
    parent: Option<&Attribute>,
    schema: &ResourceSchema,
    out: &mut Vec<EvalError>,
) {
    match &filter.kind {
        FilterKind::And(items) | FilterKind::Or(items) => {
            for f in items {
                check_all(f, parent, schema, out);
            }
        }
        FilterKind::Not(inner) => check_all(inner, parent, schema, out),
        FilterKind::ValuePath {
            path,
            filter: inner,
        } => match resolve_in(path, parent, schema) {
            Ok(Target::Attr {
                attr, sub: None, ..
            }) if attr.kind == AttributeType::Complex || attr.multi_valued => {
                check_all(inner, Some(attr), schema, out)
            }
            Ok(_) => out.push(EvalError {
                kind: EvalErrorKind::ValuePathNotApplicable {
                    path: path.to_string(),
                },
                span: path.span,
            }),
            Err(e) => out.push(e),
        },
        _ => {
            if let Err(e) = check(filter, parent, schema) {
                out.push(e);
            }
        }
    }
}

/// Validates a value filter (the part inside `[...]`) against the sub-attributes of
/// `parent`, as a PATCH path needs.
pub(crate) fn validate_element_filter(
    filter: &Filter,
    parent: &Attribute,
    schema: &ResourceSchema,
) -> Result<(), EvalError> {
    check(filter, Some(parent), schema)
}

/// Whether one element of `parent` satisfies a value filter already validated with
/// [`validate_element_filter`].
pub(crate) fn element_matches(
    filter: &Filter,
    parent: &Attribute,
    element: &Value,
    schema: &ResourceSchema,
) -> bool {
    eval(filter, &Scope::Element { parent, element }, schema)
}

/// A filter that cannot be evaluated against a resource type. Every variant maps to the
/// scimType `invalidFilter` (RFC 7644 section 3.12).
///
/// ```
/// use scim_parser::eval::{validate, EvalErrorKind};
/// use scim_parser::{parse_filter, ResourceSchema, Span};
/// let err = validate(&parse_filter("name.nope pr").unwrap(), &ResourceSchema::user()).unwrap_err();
/// assert_eq!(err.kind, EvalErrorKind::UnknownAttribute { path: "name.nope".into() });
/// assert_eq!(err.span, Span::new(0, 9));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    /// What is wrong.
    pub kind: EvalErrorKind,
    /// Where in the filter text (the attribute path or the literal).
    pub span: Span,
}

/// What makes a filter unusable for a resource type.
///
/// ```
/// use scim_parser::eval::{validate, EvalErrorKind};
/// use scim_parser::{parse_filter, AttributeType, CompareOp, ResourceSchema};
/// let err = validate(&parse_filter("active gt true").unwrap(), &ResourceSchema::user()).unwrap_err();
/// assert_eq!(err.kind, EvalErrorKind::OperatorNotApplicable {
///     op: CompareOp::Gt,
///     path: "active".into(),
///     kind: AttributeType::Boolean,
/// });
/// assert_eq!(err.kind.to_string(), "operator `gt` does not apply to `active`, a boolean attribute");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalErrorKind {
    /// The path names no attribute of the resource type: `nickname2 eq "x"`.
    UnknownAttribute {
        /// The path as written.
        path: String,
    },
    /// The operator does not apply to the attribute's type: `active gt true`.
    OperatorNotApplicable {
        /// The operator.
        op: CompareOp,
        /// The attribute as written.
        path: String,
        /// The attribute's type.
        kind: AttributeType,
    },
    /// The literal's JSON type does not suit the attribute: `active eq "true"`.
    LiteralTypeMismatch {
        /// The attribute as written.
        path: String,
        /// The attribute's type.
        expected: AttributeType,
        /// What the literal is (`a string`, `a number`, ...).
        found: &'static str,
    },
    /// A literal compared with a `dateTime` is not an RFC 3339 date-time:
    /// `meta.created gt "yesterday"`.
    InvalidDateTime {
        /// The literal text.
        literal: String,
    },
    /// `null` with an operator other than `eq`/`ne`: `title gt null`.
    NullOrdering {
        /// The operator.
        op: CompareOp,
    },
    /// A complex attribute without a `value` sub-attribute compared directly: `name eq "x"`.
    ComplexWithoutValue {
        /// The attribute as written.
        path: String,
    },
    /// A value filter on an attribute that has no elements to filter, or with a
    /// sub-attribute before the bracket: `userName[value eq "x"]`, `name.givenName[...]`.
    ValuePathNotApplicable {
        /// The attribute as written.
        path: String,
    },
    /// A whole extension compared with a value: `urn:...:enterprise:2.0:User eq "x"`.
    ExtensionNotComparable {
        /// The URN as written.
        path: String,
    },
}

impl EvalError {
    /// The RFC 7644 section 3.12 scimType for this error: always `invalidFilter`.
    ///
    /// ```
    /// use scim_parser::{eval::validate, parse_filter, ResourceSchema};
    /// let f = parse_filter("nickname2 pr").unwrap();
    /// let err = validate(&f, &ResourceSchema::user()).unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidFilter");
    /// ```
    pub fn scim_type(&self) -> &'static str {
        "invalidFilter"
    }

    /// The message, the filter text and a caret line under the span at fault, as
    /// [`Error::render`](crate::Error::render) draws them; `input` is the text the filter
    /// was parsed from.
    ///
    /// ```
    /// use scim_parser::{eval::validate, parse_filter, ResourceSchema};
    /// let input = r#"active eq "true""#;
    /// let err = validate(&parse_filter(input).unwrap(), &ResourceSchema::user()).unwrap_err();
    /// assert_eq!(
    ///     err.render(input),
    ///     "error: `active` is a boolean attribute, but the value is a string (byte 10)\n  \
    ///      active eq \"true\"\n            ^^^^^^\n"
    /// );
    /// ```
    pub fn render(&self, input: &str) -> String {
        crate::error::render::render(&self.kind, self.span, input)
    }
}

impl fmt::Display for EvalErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalErrorKind::UnknownAttribute { path } => write!(f, "unknown attribute `{path}`"),
            EvalErrorKind::OperatorNotApplicable { op, path, kind } => write!(
                f,
                "operator `{}` does not apply to `{path}`, a {} attribute",
                op_name(*op),
                type_name(*kind)
            ),
            EvalErrorKind::LiteralTypeMismatch {
                path,
                expected,
                found,
            } => write!(
                f,
                "`{path}` is a {} attribute, but the value is {found}",
                type_name(*expected)
            ),
            EvalErrorKind::InvalidDateTime { literal } => {
                write!(f, "expected an RFC 3339 date-time, found {literal:?}")
            }
            EvalErrorKind::NullOrdering { op } => {
                write!(
                    f,
                    "`null` can only be compared with `eq` or `ne`, not `{}`",
                    op_name(*op)
                )
            }
            EvalErrorKind::ComplexWithoutValue { path } => write!(
                f,
                "`{path}` is complex and has no `value` sub-attribute; compare a sub-attribute"
            ),
            EvalErrorKind::ValuePathNotApplicable { path } => {
                write!(f, "a value filter `[...]` does not apply to `{path}`")
            }
            EvalErrorKind::ExtensionNotComparable { path } => {
                write!(f, "`{path}` is a whole extension; only `pr` applies to it")
            }
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.span.start)
    }
}

impl std::error::Error for EvalError {}

/// The lowercase RFC name of an operator (`eq`, `gt`, ...).
///
/// ```
/// assert_eq!(scim_parser::eval::op_name(scim_parser::CompareOp::Ge), "ge");
/// ```
pub fn op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Lt => "lt",
        CompareOp::Ge => "ge",
        CompareOp::Le => "le",
    }
}

/// The RFC 7643 name of an attribute type (`string`, `dateTime`, ...).
///
/// ```
/// use scim_parser::{eval::type_name, AttributeType};
/// assert_eq!(type_name(AttributeType::DateTime), "dateTime");
/// ```
pub fn type_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "string",
        AttributeType::Boolean => "boolean",
        AttributeType::Decimal => "decimal",
        AttributeType::Integer => "integer",
        AttributeType::DateTime => "dateTime",
        AttributeType::Binary => "binary",
        AttributeType::Reference => "reference",
        AttributeType::Complex => "complex",
    }
}

// ---------------------------------------------------------------------------------------
// Validation

/// What a path in a filter addresses, during validation and evaluation.
#[derive(Clone, Copy)]
enum Target<'s> {
    /// An attribute in resource scope (with the extension schema that holds it, if any).
    Attr {
        ext: Option<&'s Schema>,
        attr: &'s Attribute,
        sub: Option<&'s Attribute>,
    },
    /// A sub-attribute inside a value filter.
    Inner(&'s Attribute),
    /// The element itself, inside a value filter on a multi-valued simple attribute.
    Element(&'s Attribute),
    /// A whole extension object.
    Extension(&'s Schema),
}

impl<'s> Target<'s> {
    fn def(&self) -> Option<&'s Attribute> {
        match *self {
            Target::Attr { attr, sub, .. } => Some(sub.unwrap_or(attr)),
            Target::Inner(a) | Target::Element(a) => Some(a),
            Target::Extension(_) => None,
        }
    }
}

fn resolve_in<'s>(
    path: &AttrPath,
    parent: Option<&'s Attribute>,
    schema: &'s ResourceSchema,
) -> Result<Target<'s>, EvalError> {
    let unknown = || EvalError {
        kind: EvalErrorKind::UnknownAttribute {
            path: path.to_string(),
        },
        span: path.span,
    };
    match parent {
        None => match schema.resolve(path).ok_or_else(unknown)? {
            Resolved::Extension { schema } => Ok(Target::Extension(schema)),
            Resolved::Attribute {
                schema: s,
                extension,
                attribute,
                sub_attribute,
            } => Ok(Target::Attr {
                ext: extension.then_some(s),
                attr: attribute,
                sub: sub_attribute,
            }),
        },
        Some(parent) => {
            if path.uri.is_some() || path.sub_attr.is_some() {
                return Err(unknown());
            }
            if parent.kind == AttributeType::Complex {
                parent
                    .sub_attribute(&path.name)
                    .map(Target::Inner)
                    .ok_or_else(unknown)
            } else if path.name.eq_ignore_ascii_case("value") {
                Ok(Target::Element(parent))
            } else {
                Err(unknown())
            }
        }
    }
}

fn check(
    filter: &Filter,
    parent: Option<&Attribute>,
    schema: &ResourceSchema,
) -> Result<(), EvalError> {
    match &filter.kind {
        FilterKind::Compare { path, op, value } => {
            let target = resolve_in(path, parent, schema)?;
            check_compare(path, target, *op, value)
        }
        FilterKind::Present { path } => resolve_in(path, parent, schema).map(|_| ()),
        FilterKind::And(items) | FilterKind::Or(items) => {
            items.iter().try_for_each(|f| check(f, parent, schema))
        }
        FilterKind::Not(inner) => check(inner, parent, schema),
        FilterKind::ValuePath {
            path,
            filter: inner,
        } => {
            let not_applicable = || EvalError {
                kind: EvalErrorKind::ValuePathNotApplicable {
                    path: path.to_string(),
                },
                span: path.span,
            };
            match resolve_in(path, parent, schema)? {
                Target::Attr {
                    attr, sub: None, ..
                } if attr.kind == AttributeType::Complex || attr.multi_valued => {
                    check(inner, Some(attr), schema)
                }
                _ => Err(not_applicable()),
            }
        }
    }
}

fn check_compare(
    path: &AttrPath,
    target: Target<'_>,
    op: CompareOp,
    lit: &Literal,
) -> Result<(), EvalError> {
    let def = match target.def() {
        Some(def) => def,
        None => {
            return Err(EvalError {
                kind: EvalErrorKind::ExtensionNotComparable {
                    path: path.to_string(),
                },
                span: path.span,
            })
        }
    };
    let def = comparable_def(def).ok_or_else(|| EvalError {
        kind: EvalErrorKind::ComplexWithoutValue {
            path: path.to_string(),
        },
        span: path.span,
    })?;
    let not_applicable = || EvalError {
        kind: EvalErrorKind::OperatorNotApplicable {
            op,
            path: path.to_string(),
            kind: def.kind,
        },
        span: path.span,
    };
    let mismatch = |found| EvalError {
        kind: EvalErrorKind::LiteralTypeMismatch {
            path: path.to_string(),
            expected: def.kind,
            found,
        },
        span: lit.span,
    };
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match def.kind {
        AttributeType::Boolean if ordering || substring => return Err(not_applicable()),
        AttributeType::Binary if ordering => return Err(not_applicable()),
        AttributeType::Integer | AttributeType::Decimal if substring => {
            return Err(not_applicable())
        }
        _ => {}
    }
    match (&lit.value, def.kind) {
        (LiteralValue::Null, _) if matches!(op, CompareOp::Eq | CompareOp::Ne) => Ok(()),
        (LiteralValue::Null, _) => Err(EvalError {
            kind: EvalErrorKind::NullOrdering { op },
            span: lit.span,
        }),
        (LiteralValue::Bool(_), AttributeType::Boolean) => Ok(()),
        (LiteralValue::Number(_), AttributeType::Integer | AttributeType::Decimal) => Ok(()),
        (LiteralValue::String(s), AttributeType::DateTime) if !substring => {
            match parse_rfc3339(s) {
                Some(_) => Ok(()),
                None => Err(EvalError {
                    kind: EvalErrorKind::InvalidDateTime { literal: s.clone() },
                    span: lit.span,
                }),
            }
        }
        (
            LiteralValue::String(_),
            AttributeType::String
            | AttributeType::Reference
            | AttributeType::Binary
            | AttributeType::DateTime,
        ) => Ok(()),
        (other, _) => Err(mismatch(literal_kind(other))),
    }
}

/// The definition actually compared: the attribute, or the `value` sub-attribute of a
/// complex attribute.
fn comparable_def(def: &Attribute) -> Option<&Attribute> {
    if def.kind == AttributeType::Complex {
        def.sub_attribute("value")
    } else {
        Some(def)
    }
}

fn literal_kind(value: &LiteralValue) -> &'static str {
    match value {
        LiteralValue::Null => "null",
        LiteralValue::Bool(_) => "a boolean",
        LiteralValue::Number(_) => "a number",
        LiteralValue::String(_) => "a string",
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation (on a validated filter; anything unexpected evaluates as absent)

enum Scope<'v, 's> {
    Resource(&'v Value),
    Element {
        parent: &'s Attribute,
        element: &'v Value,
    },
}

fn eval(filter: &Filter, scope: &Scope<'_, '_>, schema: &ResourceSchema) -> bool {
    match &filter.kind {
        FilterKind::Compare { path, op, value } => {
            let Some((target, values)) = lookup(path, scope, schema) else {
                return false;
            };
            let Some(def) = target.def().and_then(comparable_def) else {
                return false;
            };
            if target.def().map(|d| d.kind) == Some(AttributeType::Complex) {
                let values = values
                    .filter_map(|v| {
                        v.as_object()
                            .and_then(|o| get_ci(o, "value"))
                            .map(|(_, v)| v)
                    })
                    .flat_map(flatten);
                compare_values(*op, def, values, &value.value)
            } else {
                compare_values(*op, def, values, &value.value)
            }
        }
        FilterKind::Present { path } => {
            lookup(path, scope, schema).is_some_and(|(_, mut values)| values.any(is_present))
        }
        FilterKind::And(items) => items.iter().all(|f| eval(f, scope, schema)),
        FilterKind::Or(items) => items.iter().any(|f| eval(f, scope, schema)),
        FilterKind::Not(inner) => !eval(inner, scope, schema),
        FilterKind::ValuePath {
            path,
            filter: inner,
        } => {
            let Some((target, elements)) = lookup(path, scope, schema) else {
                return false;
            };
            let Some(parent) = target.def() else {
                return false;
            };
            let mut elements = elements;
            elements.any(|element| eval(inner, &Scope::Element { parent, element }, schema))
        }
    }
}

/// The target of `path` in `scope` and its non-null values, arrays flattened.
fn lookup<'v, 's>(
    path: &AttrPath,
    scope: &Scope<'v, 's>,
    schema: &'s ResourceSchema,
) -> Option<(Target<'s>, Found<'v>)> {
    match scope {
        Scope::Resource(resource) => {
            let target = resolve_in(path, None, schema).ok()?;
            let obj = resource.as_object()?;
            let values = match target {
                Target::Extension(ext) => Found::Flat(
                    get_ci(obj, &ext.id)
                        .map(|(_, v)| flatten(v))
                        .unwrap_or_default(),
                ),
                Target::Attr { ext, attr, sub } => {
                    let container = match ext {
                        None => Some(obj),
                        Some(ext) => get_ci(obj, &ext.id).and_then(|(_, v)| v.as_object()),
                    };
                    let values = container
                        .and_then(|c| get_ci(c, &attr.name))
                        .map(|(_, v)| flatten(v))
                        .unwrap_or_default();
                    match sub {
                        None => Found::Flat(values),
                        Some(sub) => Found::Many(
                            values
                                .filter_map(|v| v.as_object().and_then(|o| get_ci(o, &sub.name)))
                                .flat_map(|(_, v)| flatten(v))
                                .collect::<Vec<_>>()
                                .into_iter(),
                        ),
                    }
                }
                Target::Inner(_) | Target::Element(_) => Found::default(),
            };
            Some((target, values))
        }
        Scope::Element { parent, element } => {
            let target = resolve_in(path, Some(parent), schema).ok()?;
            let values = match target {
                Target::Inner(sub) => Found::Flat(
                    element
                        .as_object()
                        .and_then(|o| get_ci(o, &sub.name))
                        .map(|(_, v)| flatten(v))
                        .unwrap_or_default(),
                ),
                Target::Element(_) => Found::Flat(flatten(element)),
                _ => Found::default(),
            };
            Some((target, values))
        }
    }
}

/// A value with its array opened and nulls dropped, without allocating.
fn flatten(value: &Value) -> Flat<'_> {
    match value {
        Value::Null => Flat::Empty,
        Value::Array(items) => Flat::Items(items.iter()),
        other => Flat::One(other),
    }
}

/// The non-null values of one JSON value: none, itself, or its array's items.
#[derive(Default)]
enum Flat<'v> {
    #[default]
    Empty,
    One(&'v Value),
    Items(std::slice::Iter<'v, Value>),
}

impl<'v> Iterator for Flat<'v> {
    type Item = &'v Value;

    fn next(&mut self) -> Option<&'v Value> {
        match self {
            Flat::Empty => None,
            Flat::One(v) => {
                let v = *v;
                *self = Flat::Empty;
                Some(v)
            }
            Flat::Items(items) => items.find(|v| !v.is_null()),
        }
    }
}

/// The values a path reaches: one JSON value flattened (the common case, no allocation), or
/// the sub-attribute values gathered from several elements.
enum Found<'v> {
    Flat(Flat<'v>),
    Many(std::vec::IntoIter<&'v Value>),
}

impl Default for Found<'_> {
    fn default() -> Self {
        Found::Flat(Flat::Empty)
    }
}

impl<'v> Iterator for Found<'v> {
    type Item = &'v Value;

    fn next(&mut self) -> Option<&'v Value> {
        match self {
            Found::Flat(values) => values.next(),
            Found::Many(values) => values.next(),
        }
    }
}

/// The `pr` rule: not null, not `""`, not `[]`, and for an object at least one member
/// present by the same rule.
///
/// ```
/// use scim_parser::eval::is_present;
/// use serde_json::json;
/// assert!(!is_present(&json!({"givenName": "", "familyName": null})));
/// assert!(is_present(&json!([{"value": false}])));
/// ```
pub fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_values<'v>(
    op: CompareOp,
    def: &Attribute,
    mut values: impl Iterator<Item = &'v Value>,
    lit: &LiteralValue,
) -> bool {
    if let LiteralValue::Null = lit {
        let present = values.any(|v| is_present(v) || v.is_boolean() || v.is_number());
        return match op {
            CompareOp::Eq => !present,
            _ => present,
        };
    }
    let mut empty = true;
    for v in values {
        if compare_one(op, def, v, lit) {
            return true;
        }
        empty = false;
    }
    // no value at all: only `ne` holds
    empty && op == CompareOp::Ne
}

fn compare_one(op: CompareOp, def: &Attribute, value: &Value, lit: &LiteralValue) -> bool {
    let ordering = match (def.kind, value, lit) {
        (AttributeType::Boolean, Value::Bool(b), LiteralValue::Bool(l)) => Some(b.cmp(l)),
        (
            AttributeType::Integer | AttributeType::Decimal,
            Value::Number(n),
            LiteralValue::Number(l),
        ) => compare_numbers(&n.to_string(), l),
        (AttributeType::DateTime, Value::String(s), LiteralValue::String(l))
            if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) =>
        {
            match (parse_rfc3339(s), parse_rfc3339(l)) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            }
        }
        (_, Value::String(s), LiteralValue::String(l)) => {
            return compare_strings(op, def.case_exact, s, l)
        }
        _ => None,
    };
    match ordering {
        None => op == CompareOp::Ne,
        Some(ord) => match op {
            CompareOp::Eq => ord == Ordering::Equal,
            CompareOp::Ne => ord != Ordering::Equal,
            CompareOp::Gt => ord == Ordering::Greater,
            CompareOp::Ge => ord != Ordering::Less,
            CompareOp::Lt => ord == Ordering::Less,
            CompareOp::Le => ord != Ordering::Greater,
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
        },
    }
}

fn compare_strings(op: CompareOp, case_exact: bool, value: &str, lit: &str) -> bool {
    if case_exact {
        return compare_text(op, value, lit);
    }
    if value.is_ascii() && lit.is_ascii() {
        // ASCII folding is Unicode lowercase on ASCII text, without allocating
        return compare_ascii_folded(op, value.as_bytes(), lit.as_bytes());
    }
    compare_text(op, &value.to_lowercase(), &lit.to_lowercase())
}

/// [`compare_text`] on ASCII text, ignoring ASCII case.
fn compare_ascii_folded(op: CompareOp, value: &[u8], lit: &[u8]) -> bool {
    let ord = || {
        let (a, b) = (value.iter(), lit.iter());
        a.map(u8::to_ascii_lowercase)
            .cmp(b.map(u8::to_ascii_lowercase))
    };
    let n = lit.len();
    match op {
        CompareOp::Eq => value.eq_ignore_ascii_case(lit),
        CompareOp::Ne => !value.eq_ignore_ascii_case(lit),
        CompareOp::Sw => value.len() >= n && value[..n].eq_ignore_ascii_case(lit),
        CompareOp::Ew => value.len() >= n && value[value.len() - n..].eq_ignore_ascii_case(lit),
        CompareOp::Co if n == 0 => true,
        CompareOp::Co => value.windows(n).any(|w| w.eq_ignore_ascii_case(lit)),
        CompareOp::Gt => ord() == Ordering::Greater,
        CompareOp::Ge => ord() != Ordering::Less,
        CompareOp::Lt => ord() == Ordering::Less,
        CompareOp::Le => ord() != Ordering::Greater,
    }
}

/// A string comparison on text already folded (or compared case-exactly).
fn compare_text(op: CompareOp, value: &str, lit: &str) -> bool {
    match op {
        CompareOp::Eq => value == lit,
        CompareOp::Ne => value != lit,
        CompareOp::Co => value.contains(lit),
        CompareOp::Sw => value.starts_with(lit),
        CompareOp::Ew => value.ends_with(lit),
        CompareOp::Gt => value > lit,
        CompareOp::Ge => value >= lit,
        CompareOp::Lt => value < lit,
        CompareOp::Le => value <= lit,
    }
}

// ---------------------------------------------------------------------------------------
// Numbers

/// A JSON number text as sign, significant digits and the exponent of the first digit:
/// the value is `0.DIGITS × 10^exp`, negated when `negative`.
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exp: i128,
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative || bytes.first() == Some(&b'+') {
        i += 1;
    }
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_part = &bytes[int_start..i];
    let mut frac_part: &[u8] = &[];
    if i < bytes.len() && bytes[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        frac_part = &bytes[start..i];
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut exp: i128 = 0;
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        let exp_negative = bytes.get(i) == Some(&b'-');
        if exp_negative || bytes.get(i) == Some(&b'+') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            // Saturate: exponents this large put the value beyond any comparison partner.
            exp = (exp * 10 + i128::from(bytes[i] - b'0')).min(i128::from(u64::MAX));
            i += 1;
        }
        if start == i {
            return None;
        }
        if exp_negative {
            exp = -exp;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let all: Vec<u8> = int_part.iter().chain(frac_part).map(|d| d - b'0').collect();
    let lead = all.iter().take_while(|d| **d == 0).count();
    let mut digits = all[lead..].to_vec();
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let exp = exp + int_part.len() as i128 - lead as i128;
    Some(Decimal {
        negative: negative && !digits.is_empty(),
        digits,
        exp,
    })
}

/// Compares two JSON number texts exactly (no floating point): `1.0` equals `1`, `1e2`
/// equals `100`, and integers of any length compare correctly. `None` when either text is
/// not a number.
///
/// ```
/// use scim_parser::eval::compare_numbers;
/// use std::cmp::Ordering;
/// assert_eq!(compare_numbers("1.50", "15e-1"), Some(Ordering::Equal));
/// assert_eq!(compare_numbers("-0", "0"), Some(Ordering::Equal));
/// assert_eq!(compare_numbers("12345678901234567890", "12345678901234567889"), Some(Ordering::Greater));
/// ```
pub fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse_decimal(a)?, parse_decimal(b)?);
    let sign = |d: &Decimal| {
        if d.digits.is_empty() {
            0
        } else if d.negative {
            -1
        } else {
            1
        }
    };
    let (sa, sb) = (sign(&a), sign(&b));
    if sa != sb || sa == 0 {
        return Some(sa.cmp(&sb));
    }
    let magnitude = a.exp.cmp(&b.exp).then_with(|| a.digits.cmp(&b.digits));
    Some(if sa < 0 {
        magnitude.reverse()
    } else {
        magnitude
    })
}

// ---------------------------------------------------------------------------------------
// Date-times

/// An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds within the second.
///
/// ```
/// use scim_parser::eval::{parse_rfc3339, Instant};
/// let t = parse_rfc3339("1970-01-01T00:00:01.5+00:00").unwrap();
/// assert_eq!(t, Instant { unix_seconds: 1, nanos: 500_000_000 });
/// assert!(parse_rfc3339("1969-12-31T23:59:59Z").unwrap() < t);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Seconds since the Unix epoch (negative before 1970).
    pub unix_seconds: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nanos: u32,
}

/// Parses an RFC 3339 `date-time` (section 5.6): `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
/// `T` and `Z` may be lowercase; a space is accepted for `T` (RFC 3339 section 5.6 note).
///
/// ```
/// use scim_parser::eval::parse_rfc3339;
/// let a = parse_rfc3339("2011-05-13T05:00:00+02:00").unwrap();
/// let b = parse_rfc3339("2011-05-13T03:00:00.000Z").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_rfc3339("2011-02-30T00:00:00Z").is_none());
/// ```
pub fn parse_rfc3339(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let count = i - start;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = oh * 60 + om;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let unix_seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some(Instant {
        unix_seconds,
        nanos,
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the "days from civil" method:
/// count in 400-year eras starting on March 1st, so the leap day ends each year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        let t = |s| parse_rfc3339(s);
        assert_eq!(
            t("1970-01-01T00:00:00Z"),
            Some(Instant {
                unix_seconds: 0,
                nanos: 0
            })
        );
        assert_eq!(t("2000-03-01T00:00:00Z").unwrap().unix_seconds, 951_868_800);
        assert_eq!(t("1969-12-31T23:59:59Z").unwrap().unix_seconds, -1);
        assert_eq!(t("2011-05-13T04:42:34.5Z").unwrap().nanos, 500_000_000);
        assert_eq!(
            t("2011-05-13T04:42:34.123456789123Z").unwrap().nanos,
            123_456_789
        );
        assert_eq!(t("2024-02-29T00:00:00z"), t("2024-02-28T19:00:00-05:00"));
        assert!(t("2011-05-13T05:00:00+02:00") < t("2011-05-13T04:42:34Z"));
        assert!(t("2011-05-13T04:42:34.001Z") > t("2011-05-13T04:42:34Z"));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2011-13-01T00:00:00Z",
            "2011-05-13T24:00:00Z",
            "2011-05-13T04:42:34",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34+0200",
            "2011-05-13",
            "yesterday and today",
            "2011-05-13T04:42:34Zjunk",
            "2011-05-13T04:42:34+24:00",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers() {
        use Ordering::*;
        let c = |a, b| compare_numbers(a, b);
        assert_eq!(c("1", "1.0"), Some(Equal));
        assert_eq!(c("100", "1e2"), Some(Equal));
        assert_eq!(c("0.001", "1E-3"), Some(Equal));
        assert_eq!(c("-0.0", "0"), Some(Equal));
        assert_eq!(c("2", "10"), Some(Less));
        assert_eq!(c("-2", "-10"), Some(Greater));
        assert_eq!(c("-1", "0"), Some(Less));
        assert_eq!(c("0.5", "0.49999999999999999999999"), Some(Greater));
        assert_eq!(
            c("99999999999999999999999", "99999999999999999999998"),
            Some(Greater)
        );
        assert_eq!(c("1e999999999999999999999999", "1e5"), Some(Greater));
        assert_eq!(c("1e-99999999999999999999", "0"), Some(Greater));
        assert_eq!(c("abc", "1"), None);
        assert_eq!(c("1e", "1"), None);
        assert_eq!(c("", "1"), None);
    }

    #[test]
    fn presence() {
        use serde_json::json;
        assert!(!is_present(&json!(null)));
        assert!(!is_present(&json!("")));
        assert!(!is_present(&json!([])));
        assert!(!is_present(&json!({"a": null, "b": "", "c": []})));
        assert!(is_present(&json!({"a": false})));
        assert!(is_present(&json!(0)));
    }

    #[test]
    fn ascii_folding_agrees_with_unicode_lowercase() {
        let mut words = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = words
                .iter()
                .flat_map(|w| ["a", "A", "b", "Z", "@"].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        words.sort();
        words.dedup();
        let ops = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        for value in &words {
            for lit in &words {
                for op in ops {
                    let want = compare_text(op, &value.to_lowercase(), &lit.to_lowercase());
                    assert_eq!(
                        compare_strings(op, false, value, lit),
                        want,
                        "{value:?} {op:?} {lit:?}"
                    );
                }
            }
        }
    }
}
