//! Attribute projection for responses: the `attributes` and `excludedAttributes` query
//! parameters (RFC 7644 sections 3.4.2.5 and 3.9) combined with each attribute's `returned`
//! characteristic (RFC 7643 section 7).
//!
//! # Rules
//!
//! - `returned: never` (`password`) is never in the output; `returned: always` (`id`) always
//!   is, whatever the parameters say. `schemas` is always kept.
//! - Without parameters, `default` and `always` attributes are returned; `request`
//!   attributes only when named in `attributes`.
//! - `attributes` lists what to return (plus the `always` ones). Naming a complex attribute
//!   returns all its sub-attributes except `never` ones; naming `name.givenName` returns
//!   `name` with only `givenName` (and `always` sub-attributes). A bare extension URN names
//!   every attribute of that extension.
//! - `excludedAttributes` removes attributes or sub-attributes from the default set; it has
//!   no effect on `always` attributes (RFC 7644 section 3.9). A bare extension URN removes
//!   the extension object.
//! - When both are given (RFC 7644 does not say what that means), `attributes` selects first
//!   and `excludedAttributes` then removes from the selection.
//! - Members of the resource that no schema defines are kept when `attributes` is absent and
//!   dropped when it is given. Extension objects left empty are dropped.
//!
//! ```
//! use scim_parser::project::{parse_attribute_list, project};
//! use scim_parser::ResourceSchema;
//! use serde_json::json;
//! let user = json!({"id": "U1", "userName": "bjensen", "password": "secret",
//!                   "name": {"givenName": "Barbara", "familyName": "Jensen"}});
//! let schema = ResourceSchema::user();
//! let wanted = parse_attribute_list("userName,name.givenName").unwrap();
//! assert_eq!(project(&user, &schema, Some(&wanted), None),
//!            json!({"id": "U1", "userName": "bjensen", "name": {"givenName": "Barbara"}}));
//! assert_eq!(project(&user, &schema, None, None)["password"], json!(null));
//! ```

use crate::error::Span;
use crate::filter::{AttrPath, ParseOptions};
use crate::path::parse_patch_path_with;
use crate::schema::{Attribute, Resolved, ResourceSchema, Returned, Schema};
use serde_json::{Map, Value};
use std::fmt;

/// One entry of an `attributes` or `excludedAttributes` list, resolved against a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Named {
    /// A whole extension, by URN (lowercase).
    Extension(String),
    /// Schema URN, attribute name and sub-attribute name, all lowercase.
    Attr(String, String, Option<String>),
}

fn resolve_list(list: &[AttrPath], schema: &ResourceSchema) -> Vec<Named> {
    list.iter()
        .filter_map(|p| match schema.resolve(p)? {
            Resolved::Extension { schema } => Some(Named::Extension(schema.id.to_lowercase())),
            Resolved::Attribute {
                schema,
                attribute,
                sub_attribute,
                ..
            } => Some(Named::Attr(
                schema.id.to_lowercase(),
                attribute.name.to_lowercase(),
                sub_attribute.map(|s| s.name.to_lowercase()),
            )),
        })
        .collect()
}

/// What to keep of one attribute.
enum Pick {
    Drop,
    /// Keep, with these sub-attributes left out (lowercase names).
    Except(Vec<String>),
    /// Keep only these sub-attributes (lowercase names), plus `always` ones.
    Only(Vec<String>),
}

/// Returns `resource` with only the attributes a response should carry.
///
/// Unknown paths in either list are ignored; check them first with
/// [`ResourceSchema::resolve`] if the server prefers to reject them.
///
/// ```
/// use scim_parser::project::{parse_attribute_list, project};
/// use scim_parser::ResourceSchema;
/// use serde_json::json;
/// let user = json!({"id": "U1", "userName": "bjensen", "title": "Guide", "password": "x"});
/// let excluded = parse_attribute_list("title,id").unwrap();
/// let out = project(&user, &ResourceSchema::user(), None, Some(&excluded));
/// // `id` is returned always, `password` never.
/// assert_eq!(out, json!({"id": "U1", "userName": "bjensen"}));
/// ```
pub fn project(
    resource: &Value,
    schema: &ResourceSchema,
    attributes: Option<&[AttrPath]>,
    excluded: Option<&[AttrPath]>,
) -> Value {
    let Value::Object(obj) = resource else {
        return resource.clone();
    };
    let wanted = attributes.map(|a| resolve_list(a, schema));
    let excluded = excluded
        .map(|e| resolve_list(e, schema))
        .unwrap_or_default();
    let sel = Selection {
        wanted: wanted.as_deref(),
        excluded: &excluded,
    };
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            if let Value::Object(inner) = value {
                let projected = sel.container(inner, ext, true);
                if !projected.is_empty() {
                    out.insert(key.clone(), Value::Object(projected));
                }
            }
            continue;
        }
        let def = schema
            .common
            .attribute(key)
            .or_else(|| schema.core.attribute(key));
        match def {
            Some(def) => {
                if let Some(v) = sel.attribute(def, &schema.core, false, value) {
                    out.insert(key.clone(), v);
                }
            }
            None if sel.wanted.is_none() => {
                out.insert(key.clone(), value.clone());
            }
            None => {}
        }
    }
    Value::Object(out)
}

struct Selection<'a> {
    wanted: Option<&'a [Named]>,
    excluded: &'a [Named],
}

impl Selection<'_> {
    fn container(
        &self,
        obj: &Map<String, Value>,
        schema: &Schema,
        extension: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in obj {
            match schema.attribute(key) {
                Some(def) => {
                    if let Some(v) = self.attribute(def, schema, extension, value) {
                        out.insert(key.clone(), v);
                    }
                }
                None if self.wanted.is_none() => {
                    out.insert(key.clone(), value.clone());
                }
                None => {}
            }
        }
        out
    }

    fn pick(&self, def: &Attribute, schema: &Schema, extension: bool) -> Pick {
        let (sid, name) = (schema.id.to_lowercase(), def.name.to_lowercase());
        let whole_ext = |list: &[Named]| extension && list.contains(&Named::Extension(sid.clone()));
        let names = |list: &[Named], whole: bool| -> Vec<Option<String>> {
            list.iter()
                .filter_map(|n| match n {
                    Named::Attr(s, a, sub) if *s == sid && *a == name => Some(sub.clone()),
                    _ => None,
                })
                .chain(whole.then_some(None))
                .collect()
        };
        match def.returned {
            Returned::Never => return Pick::Drop,
            Returned::Always => return Pick::Except(Vec::new()),
            _ => {}
        }
        let mut pick = match self.wanted {
            Some(list) => {
                let named = names(list, whole_ext(list));
                if named.contains(&None) {
                    Pick::Except(Vec::new())
                } else if named.is_empty() {
                    Pick::Drop
                } else {
                    Pick::Only(named.into_iter().flatten().collect())
                }
            }
            None if def.returned == Returned::Request => Pick::Drop,
            None => Pick::Except(Vec::new()),
        };
        let excluded = names(self.excluded, whole_ext(self.excluded));
        if excluded.contains(&None) {
            return Pick::Drop;
        }
        let excluded: Vec<String> = excluded.into_iter().flatten().collect();
        match &mut pick {
            Pick::Except(list) => list.extend(excluded),
            Pick::Only(list) => list.retain(|s| !excluded.contains(s)),
            Pick::Drop => {}
        }
        pick
    }

    fn attribute(
        &self,
        def: &Attribute,
        schema: &Schema,
        extension: bool,
        value: &Value,
    ) -> Option<Value> {
        let pick = self.pick(def, schema, extension);
        if let Pick::Drop = pick {
            return None;
        }
        let project_one = |v: &Value| -> Value {
            let Value::Object(o) = v else {
                return v.clone();
            };
            let mut out = Map::new();
            for (k, sv) in o {
                let sub = def.sub_attribute(k);
                let lower = k.to_lowercase();
                let keep = match (sub.map(|s| s.returned), &pick) {
                    (Some(Returned::Never), _) => false,
                    (Some(Returned::Always), _) => true,
                    (_, Pick::Only(list)) => list.contains(&lower),
                    (Some(Returned::Request), Pick::Except(_)) => false,
                    (_, Pick::Except(list)) => !list.contains(&lower),
                    (_, Pick::Drop) => false,
                };
                if keep {
                    out.insert(k.clone(), sv.clone());
                }
            }
            Value::Object(out)
        };
        // An element or object that projection emptied is left out.
        let emptied = |before: &Value, after: &Value| matches!((before, after), (Value::Object(b), Value::Object(a)) if a.is_empty() && !b.is_empty());
        match value {
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .map(|v| (v, project_one(v)))
                    .filter(|(before, after)| !emptied(before, after))
                    .map(|(_, after)| after)
                    .collect();
                (items.is_empty() || !kept.is_empty()).then_some(Value::Array(kept))
            }
            other => {
                let after = project_one(other);
                (!emptied(other, &after)).then_some(after)
            }
        }
    }
}

/// An `attributes` or `excludedAttributes` value that is not a comma-separated list of
/// attribute paths.
///
/// ```
/// let err = scim_parser::project::parse_attribute_list("userName, name.given.first").unwrap_err();
/// assert_eq!(err.span.start, 20); // the second `.`: one sub-attribute at most
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeListError {
    /// Where in the list text.
    pub span: Span,
    /// What was wrong.
    pub message: String,
}

impl AttributeListError {
    /// The scimType a server should answer with: `invalidValue` (RFC 7644 section 3.12 has
    /// no keyword for query parameters; the value of the parameter is what is invalid).
    ///
    /// ```
    /// let err = scim_parser::project::parse_attribute_list("a,,b").unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidValue");
    /// ```
    pub fn scim_type(&self) -> &'static str {
        "invalidValue"
    }
}

impl fmt::Display for AttributeListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.span.start)
    }
}

impl std::error::Error for AttributeListError {}

/// Parses the value of `attributes` or `excludedAttributes`: attribute paths separated by
/// commas (RFC 7644 section 3.4.2.5), with spaces around items allowed. Spans are relative
/// to the whole text.
///
/// ```
/// use scim_parser::project::parse_attribute_list;
/// let paths = parse_attribute_list("userName,name.givenName").unwrap();
/// assert_eq!(paths[1].sub_attr.as_deref(), Some("givenName"));
/// let err = parse_attribute_list("userName,,name").unwrap_err();
/// assert_eq!(err.to_string(), "expected an attribute path at byte 9");
/// ```
pub fn parse_attribute_list(text: &str) -> Result<Vec<AttrPath>, AttributeListError> {
    let mut out = Vec::new();
    let mut start = 0;
    for item in text.split(',') {
        let trimmed = item.trim();
        let offset = start + (item.len() - item.trim_start().len());
        start += item.len() + 1;
        if trimmed.is_empty() {
            return Err(AttributeListError {
                span: Span::new(offset, offset),
                message: "expected an attribute path".to_string(),
            });
        }
        let path = parse_patch_path_with(trimmed, &ParseOptions::default()).map_err(|e| {
            AttributeListError {
                span: Span::new(offset + e.span.start, offset + e.span.end),
                message: e.kind.to_string(),
            }
        })?;
        if path.filter.is_some() || path.sub_attr.is_some() {
            return Err(AttributeListError {
                span: Span::new(offset, offset + trimmed.len()),
                message: format!("expected an attribute path without a filter, found `{trimmed}`"),
            });
        }
        let mut attr = path.attr;
        attr.span = Span::new(offset + attr.span.start, offset + attr.span.end);
        out.push(attr);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "U1",
            "externalId": "E1",
            "userName": "bjensen",
            "password": "secret",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"type": "work", "value": "a@x.com"}, {"type": "home", "value": "b@y.com"}],
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"},
            "x-custom": 1,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "manager": {"value": "M"}}
        })
    }

    fn list(text: &str) -> Vec<AttrPath> {
        parse_attribute_list(text).unwrap()
    }

    #[test]
    fn default_drops_never_and_keeps_the_rest() {
        let out = project(&user(), &ResourceSchema::user(), None, None);
        let mut expected = user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(out, expected);
    }

    #[test]
    fn attributes_select_plus_always() {
        let s = ResourceSchema::user();
        let out = project(&user(), &s, Some(&list("userName, emails.value,URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department")), None);
        assert_eq!(
            out,
            json!({
                "schemas": user()["schemas"],
                "id": "U1",
                "userName": "bjensen",
                "emails": [{"value": "a@x.com"}, {"value": "b@y.com"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}
            })
        );
        let out = project(
            &user(),
            &s,
            Some(&list(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,password",
            )),
            None,
        );
        assert_eq!(out.as_object().unwrap().len(), 3, "{out}");
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            user()["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
        );
    }

    #[test]
    fn excluded_attributes_never_remove_always() {
        let s = ResourceSchema::user();
        let out = project(&user(), &s, None, Some(&list("id,emails,name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,meta")));
        assert_eq!(
            out,
            json!({
                "schemas": user()["schemas"],
                "id": "U1",
                "externalId": "E1",
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "x-custom": 1
            })
        );
        // Entra's group lookup: excludedAttributes=members.
        let group = json!({"id": "G1", "displayName": "G", "members": [{"value": "U1"}]});
        let out = project(
            &group,
            &ResourceSchema::group(),
            None,
            Some(&list("members")),
        );
        assert_eq!(out, json!({"id": "G1", "displayName": "G"}));
    }

    #[test]
    fn request_attributes_only_when_asked() {
        let mut s = ResourceSchema::user();
        s.core
            .attributes
            .iter_mut()
            .find(|a| a.name == "nickName")
            .unwrap()
            .returned = Returned::Request;
        let u = json!({"id": "U1", "userName": "b", "nickName": "Babs"});
        assert_eq!(
            project(&u, &s, None, None),
            json!({"id": "U1", "userName": "b"})
        );
        assert_eq!(
            project(&u, &s, Some(&list("nickName")), None),
            json!({"id": "U1", "nickName": "Babs"})
        );
    }

    #[test]
    fn attribute_list_errors() {
        let err = parse_attribute_list("userName,,name").unwrap_err();
        assert_eq!(
            (err.span.start, err.message.as_str()),
            (9, "expected an attribute path")
        );
        let err = parse_attribute_list("userName, emails[type eq \"work\"]").unwrap_err();
        assert_eq!(err.span.start, 10);
        assert!(parse_attribute_list("user name").is_err());
        let paths = parse_attribute_list(" userName , name.givenName").unwrap();
        assert_eq!((paths[1].span.start, paths[1].span.end), (12, 26));
        assert_eq!(paths[1].sub_attr.as_deref(), Some("givenName"));
    }
}
