//! The stable JSON shape of the AST, printed by `scim-conformance parse filter|path`.
//!
//! This shape is a public interface; change it only with a version bump.
//!
//! | node | JSON |
//! |---|---|
//! | comparison | `{"op":"eq","path":"userName","value":"bjensen"}` |
//! | presence | `{"op":"pr","path":"title"}` |
//! | and / or | `{"op":"and","left":{..},"right":{..}}`; chains associate to the left |
//! | not | `{"op":"not","filter":{..}}` |
//! | value path | `{"op":"valuePath","path":"emails","filter":{..}}` |
//! | PATCH path | `{"path":"members","filter":{..} or null,"subAttr":"value" or null}` |
//!
//! Operators are lowercase; `path` is the attribute path as written (URI prefix and
//! sub-attribute included, case kept); `value` is the JSON value, numbers as JSON numbers.
//! Grouping leaves no node.
//!
//! ```
//! let f = scim_parser::parse_filter(r#"emails[type eq "work"]"#).unwrap();
//! assert_eq!(
//!     scim_parser::json::filter_to_json(&f),
//!     serde_json::json!({"op": "valuePath", "path": "emails",
//!                        "filter": {"op": "eq", "path": "type", "value": "work"}})
//! );
//! ```

use crate::filter::{Filter, FilterKind, LiteralValue};
use crate::path::PatchPath;
use serde_json::{json, Value};

/// The JSON shape of a filter.
///
/// ```
/// let f = scim_parser::parse_filter(r#"a pr and b eq 1 and c pr"#).unwrap();
/// let j = scim_parser::json::filter_to_json(&f);
/// assert_eq!(j["op"], "and");
/// assert_eq!(j["left"]["op"], "and");
/// assert_eq!(j["left"]["right"]["value"], 1);
/// ```
pub fn filter_to_json(filter: &Filter) -> Value {
    match &filter.kind {
        FilterKind::Compare { path, op, value } => {
            json!({"op": op.as_str(), "path": path.to_string(), "value": literal_to_json(&value.value)})
        }
        FilterKind::Present { path } => json!({"op": "pr", "path": path.to_string()}),
        FilterKind::And(items) => chain_to_json("and", items),
        FilterKind::Or(items) => chain_to_json("or", items),
        FilterKind::Not(inner) => json!({"op": "not", "filter": filter_to_json(inner)}),
        FilterKind::ValuePath { path, filter } => {
            json!({"op": "valuePath", "path": path.to_string(), "filter": filter_to_json(filter)})
        }
    }
}

/// The JSON shape of a PATCH path.
///
/// ```
/// let p = scim_parser::parse_patch_path("members").unwrap();
/// assert_eq!(
///     scim_parser::json::patch_path_to_json(&p),
///     serde_json::json!({"path": "members", "filter": null, "subAttr": null}),
/// );
/// ```
pub fn patch_path_to_json(path: &PatchPath) -> Value {
    json!({
        "path": path.attr.to_string(),
        "filter": path.filter.as_ref().map(filter_to_json),
        "subAttr": path.sub_attr,
    })
}

/// `a op b op c` as `op(op(a, b), c)`.
fn chain_to_json(op: &str, items: &[Filter]) -> Value {
    let mut iter = items.iter();
    let Some(first) = iter.next() else {
        return Value::Null;
    };
    iter.fold(
        filter_to_json(first),
        |left, right| json!({"op": op, "left": left, "right": filter_to_json(right)}),
    )
}

/// A literal as a JSON value; a number goes through serde_json so it prints as a number.
fn literal_to_json(value: &LiteralValue) -> Value {
    match value {
        LiteralValue::Null => Value::Null,
        LiteralValue::Bool(b) => Value::Bool(*b),
        LiteralValue::Number(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        LiteralValue::String(s) => Value::String(s.clone()),
    }
}
