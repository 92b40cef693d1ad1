//! `sortBy` and `sortOrder` (RFC 7644 section 3.4.2.3).
//!
//! The sort key of a resource is the value at `sortBy`; for a multi-valued attribute the
//! `primary` value, else the first (section 3.4.2.3), and for a complex value without a
//! sub-attribute its `value`. Strings of caseExact: false attributes compare by their
//! Unicode lowercase, as the filter evaluator folds them. Resources without a value
//! come last when ascending and first when descending. Equal keys keep creation order.

use crate::error::{echo, ScimError};
use crate::fault::Faults;
use crate::lookup::schema_for;
use crate::store::Kind;
use scim_parser::schema::{AttributeType, ResourceSchema};
use scim_parser::{parse_patch_path_with, AttrPath, ParseOptions};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A parsed `sortBy` / `sortOrder` pair.
#[derive(Clone, Debug)]
pub(crate) struct Sort {
    path: AttrPath,
    descending: bool,
}

/// A comparable key taken from one resource.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Sort {
    /// Reads the parameters; `sortOrder` without `sortBy` is ignored. An unknown
    /// attribute or order is 400 `invalidValue`, naming it.
    pub(crate) fn new(
        kind: Kind,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<Sort>, ScimError> {
        let Some(text) = sort_by.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let descending = match sort_order.map(str::trim) {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be `ascending` or `descending`, found `{}`",
                    echo(other)
                )))
            }
        };
        let unknown =
            || ScimError::invalid_value(format!("sortBy `{}` names no attribute", echo(text)));
        let parsed =
            parse_patch_path_with(text, &ParseOptions::interop()).map_err(|_| unknown())?;
        if parsed.filter.is_some() {
            return Err(unknown());
        }
        let mut path = parsed.attr;
        if path.sub_attr.is_none() {
            path.sub_attr = parsed.sub_attr;
        }
        let schema = schema_for(kind, &Faults::default());
        if schema.resolve(&path).is_none() {
            return Err(unknown());
        }
        Ok(Some(Sort { path, descending }))
    }

    /// Sorts rendered resources in place (a stable sort).
    pub(crate) fn apply(&self, kind: Kind, resources: &mut [Value]) {
        let schema = schema_for(kind, &Faults::default());
        let mut keyed: Vec<(Option<Key>, Value)> = resources
            .iter_mut()
            .map(|r| (self.key(schema, r), std::mem::take(r)))
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let order = match (a, b) {
                (Some(a), Some(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        for (slot, (_, value)) in resources.iter_mut().zip(keyed) {
            *slot = value;
        }
    }

    fn key(&self, schema: &ResourceSchema, resource: &Value) -> Option<Key> {
        let resolved = schema.resolve(&self.path)?;
        let target = resolved.target()?;
        let obj = resource.as_object()?;
        let holder = match &self.path.uri {
            Some(uri) if schema.extension(uri).is_some() => get_ci(obj, uri)?.as_object()?,
            _ => obj,
        };
        let mut value = get_ci(holder, &self.path.name)?;
        if let Value::Array(items) = value {
            value = items
                .iter()
                .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
        }
        let sub = self
            .path
            .sub_attr
            .as_deref()
            .or_else(|| matches!(value, Value::Object(_)).then_some("value"));
        if let Some(sub) = sub {
            value = get_ci(value.as_object()?, sub)?;
        }
        match value {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Number(n) => n.as_f64().map(Key::Number),
            Value::String(s) if target.case_exact || target.kind == AttributeType::DateTime => {
                Some(Key::Text(s.clone()))
            }
            Value::String(s) => Some(Key::Text(s.to_lowercase())),
            _ => None,
        }
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(values: &[Value]) -> Vec<&str> {
        values
            .iter()
            .map(|v| v["userName"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn sorts_ignoring_case_with_missing_values_last_then_first() {
        let mut users = vec![
            json!({"userName": "b", "name": {"familyName": "Zed"}}),
            json!({"userName": "a"}),
            json!({"userName": "c", "name": {"familyName": "alpha"}}),
        ];
        let sort = Sort::new(Kind::User, Some("name.familyName"), None)
            .unwrap()
            .unwrap();
        sort.apply(Kind::User, &mut users);
        assert_eq!(names(&users), ["c", "b", "a"]);
        let sort = Sort::new(Kind::User, Some("name.familyName"), Some("descending"))
            .unwrap()
            .unwrap();
        sort.apply(Kind::User, &mut users);
        assert_eq!(names(&users), ["a", "b", "c"]);
    }

    #[test]
    fn multi_valued_sorts_by_primary_then_first() {
        let mut users = vec![
            json!({"userName": "x", "emails": [{"value": "z@e"}, {"value": "a@e", "primary": true}]}),
            json!({"userName": "y", "emails": [{"value": "m@e"}]}),
        ];
        let sort = Sort::new(Kind::User, Some("emails"), None)
            .unwrap()
            .unwrap();
        sort.apply(Kind::User, &mut users);
        assert_eq!(names(&users), ["x", "y"]);
    }

    #[test]
    fn unknown_attribute_or_order_is_invalid_value() {
        let err = Sort::new(Kind::User, Some("nosuch"), None).unwrap_err();
        assert!(err.detail.contains("nosuch"), "{err}");
        let err = Sort::new(Kind::User, Some("userName"), Some("up")).unwrap_err();
        assert!(err.detail.contains("up"), "{err}");
        assert!(Sort::new(Kind::User, None, Some("descending"))
            .unwrap()
            .is_none());
    }
}
