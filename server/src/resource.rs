//! Shaping resources: cleaning what a client sends (RFC 7644 section 3.3: read-only
//! attributes are ignored), rendering what the store holds (`id`, `meta`, `members`,
//! `groups`), and `attributes` / `excludedAttributes` projection (section 3.4.2.5).

use crate::error::{echo, ScimError, ScimType};
use crate::fault::{Fault, Faults};
use crate::store::{Kind, Member, Membership, Row};
use scim_parser::patch::{apply, Mode, PatchDocument, PatchError};
use scim_parser::project::{parse_attribute_list, project};
use scim_parser::schema::Returned;
use scim_parser::AttrPath;
use serde_json::{json, Map, Value};

/// Core User schema (RFC 7643 section 4.1).
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema (RFC 7643 section 4.2).
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension (RFC 7643 section 4.3).
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ListResponse message (RFC 7644 section 3.4.2).
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PatchOp message (RFC 7644 section 3.5.2).
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// OneLogin's legacy spellings, read as the SCIM 2.0 URNs (bug-67).
const LEGACY_URNS: [(&str, &str); 2] = [
    ("urn:scim:schemas:core:2.0", USER_URN),
    ("urn:scim:schemas:extension:enterprise:2.0", ENTERPRISE_URN),
];

impl Kind {
    /// The core schema URN of this resource type.
    pub(crate) fn core_urn(self) -> &'static str {
        match self {
            Kind::User => USER_URN,
            Kind::Group => GROUP_URN,
        }
    }
}

/// The weak ETag for a version number (RFC 7644 section 3.14).
pub(crate) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A member reference from a client's `members` value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MemberRef {
    pub(crate) value: String,
}

fn key_of<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name))
}

fn remove_key(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_of(obj, name)?.clone();
    obj.remove(&key)
}

/// Cleans a client's User or Group body into the document the store keeps, and the
/// members it names (for a Group).
///
/// Checks that `schemas` names the core schema, that the required attribute is there
/// (`userName` for a User, RFC 7643 section 4.1.1; `displayName` for a Group, section
/// 4.2), and drops read-only attributes (`id`, `meta`, `groups`) and `password`, which is
/// write-only and which this server does not keep. The rest is checked by [`conform`],
/// whose tolerated IdP dialects come back third, for the request log.
pub(crate) fn prepare(
    kind: Kind,
    body: Value,
    faults: &Faults,
) -> Result<(Value, Vec<MemberRef>, Vec<&'static str>), ScimError> {
    let Value::Object(mut obj) = body else {
        return Err(ScimError::invalid_syntax(format!(
            "the request body must be a JSON object holding a {}",
            kind.resource_type()
        )));
    };
    let schemas = remove_key(&mut obj, "schemas");
    obj.insert(
        "schemas".into(),
        Value::Array(canonical_schemas(kind, schemas, &obj)?),
    );
    for read_only in ["id", "meta", "groups", "password"] {
        remove_key(&mut obj, read_only);
    }
    let members = match kind {
        Kind::Group => prepare_members(&mut obj, faults)?,
        Kind::User => Vec::new(),
    };
    let (obj, dialects) = conform(kind, obj)?;
    validate(kind, &obj)?;
    Ok((Value::Object(obj), members, dialects))
}

/// Checks a client's attributes against the resource type's schema with the parser:
/// attributes the schema does not define are dropped (RFC 7644 section 3.3 lets a
/// server ignore them), the rest go through `scim-parser`'s PATCH `add` onto an empty
/// resource in interop mode, which checks every value's type, rewrites names to the
/// schema's spelling, and accepts what Entra sends in create bodies (`"True"` strings,
/// `manager` as a bare id).
fn conform(
    kind: Kind,
    mut obj: Map<String, Value>,
) -> Result<(Map<String, Value>, Vec<&'static str>), ScimError> {
    let schema = crate::lookup::schema_for(kind, &Faults::default());
    let schemas = obj.remove("schemas").unwrap_or_else(|| json!([]));
    let mut known = Map::new();
    for (key, value) in obj {
        let path = AttrPath {
            uri: None,
            name: key.clone(),
            sub_attr: None,
            span: Default::default(),
        };
        if schema.extension(&key).is_some() || schema.resolve(&path).is_some() {
            known.insert(key, value);
        } else {
            tracing::debug!(attribute = %key, "ignored an attribute the schema does not define");
        }
    }
    let empty = json!({ "schemas": schemas });
    if known.is_empty() {
        return Ok((empty.as_object().cloned().unwrap_or_default(), Vec::new()));
    }
    let body = json!({
        "schemas": [PATCH_URN],
        "Operations": [{"op": "add", "value": Value::Object(known)}],
    });
    let conform_error = |err: PatchError| {
        let scim_type = ScimType::from_keyword(err.scim_type()).unwrap_or(ScimType::InvalidValue);
        ScimError::bad_request(scim_type, err.message)
    };
    let doc = PatchDocument::parse(&body, Mode::Interop).map_err(conform_error)?;
    let applied = apply(&doc, &empty, schema).map_err(conform_error)?;
    let mut dialects = Vec::new();
    for diagnostic in &applied.diagnostics {
        tracing::info!(
            dialect = diagnostic.dialect,
            "request body tolerance: {}",
            diagnostic.message
        );
        if !dialects.contains(&diagnostic.dialect) {
            dialects.push(diagnostic.dialect);
        }
    }
    match applied.resource {
        Value::Object(obj) => Ok((obj, dialects)),
        _ => Err(ScimError::internal(
            "schema check produced a resource that is not an object",
        )),
    }
}

/// The `schemas` value to store: the core URN, and the enterprise URN when the extension
/// is present.
fn canonical_schemas(
    kind: Kind,
    schemas: Option<Value>,
    obj: &Map<String, Value>,
) -> Result<Vec<Value>, ScimError> {
    let core = kind.core_urn();
    let listed: Vec<String> = match schemas {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(ScimError::invalid_value(format!(
                    "`schemas` must hold strings, found {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`schemas` must be an array of URNs, found {other}"
            )))
        }
        None => {
            return Err(ScimError::invalid_value(format!(
                "`schemas` is required and must include {core}"
            )))
        }
    };
    let mut out: Vec<String> = Vec::new();
    for urn in listed {
        let urn = LEGACY_URNS
            .iter()
            .find(|(legacy, _)| legacy.eq_ignore_ascii_case(&urn))
            .map_or(urn, |(_, modern)| {
                // A legacy core URN on a Group means the Group schema.
                if *modern == USER_URN {
                    core.to_string()
                } else {
                    modern.to_string()
                }
            });
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(&urn)) {
            out.push(urn);
        }
    }
    if !out.iter().any(|urn| urn.eq_ignore_ascii_case(core)) {
        return Err(ScimError::invalid_value(format!(
            "`schemas` must include {core}"
        )));
    }
    // URNs this server does not define are ignored (Entra sends a private Group URN).
    for urn in &out {
        if !urn.eq_ignore_ascii_case(core) && !urn.eq_ignore_ascii_case(ENTERPRISE_URN) {
            tracing::debug!(%urn, "ignored a schema URN this server does not define");
        }
    }
    let mut result = vec![json!(core)];
    if kind == Kind::User && key_of(obj, ENTERPRISE_URN).is_some() {
        result.push(json!(ENTERPRISE_URN));
    }
    Ok(result)
}

/// Takes and checks the `members` of a Group body: each an object with a string `value`;
/// `$ref`, `display` and `type` are the server's to fill, so they are not kept.
pub(crate) fn prepare_members(
    obj: &mut Map<String, Value>,
    faults: &Faults,
) -> Result<Vec<MemberRef>, ScimError> {
    let Some(members) = remove_key(obj, "members") else {
        return Ok(Vec::new());
    };
    let items = match members {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(ScimError::invalid_value(format!(
                "`members` must be an array, found {other}"
            )))
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let value = item
            .as_object()
            .and_then(|m| key_of(m, "value").and_then(|k| m.get(k)));
        let Some(Value::String(value)) = value else {
            return Err(ScimError::invalid_value(format!(
                "`members[{i}]` must be an object with a string `value`, found {item}"
            )));
        };
        // FAULT(members-ref-required): members without `$ref` are rejected.
        let has_ref = item
            .as_object()
            .and_then(|m| key_of(m, "$ref").and_then(|k| m.get(k)))
            .is_some_and(|r| !r.is_null());
        if faults.on(Fault::MembersRefRequired) && !has_ref {
            return Err(ScimError::invalid_value(format!(
                "`members[{i}]` has no `$ref`"
            )));
        }
        if seen.insert(value.clone()) {
            out.push(MemberRef {
                value: value.clone(),
            });
        }
    }
    Ok(out)
}

/// Checks required attributes and the types of the few attributes the store indexes.
pub(crate) fn validate(kind: Kind, obj: &Map<String, Value>) -> Result<(), ScimError> {
    let required = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    match key_of(obj, required).and_then(|k| obj.get(k)) {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) => {
            return Err(ScimError::invalid_value(format!(
                "`{required}` must not be empty"
            )))
        }
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`{required}` must be a string, found {other}"
            )))
        }
        None => {
            return Err(ScimError::invalid_value(format!(
                "`{required}` is required"
            )))
        }
    }
    for name in ["externalId", "displayName"] {
        if let Some(v) = key_of(obj, name).and_then(|k| obj.get(k)) {
            if !v.is_string() && !v.is_null() {
                return Err(ScimError::invalid_value(format!(
                    "`{name}` must be a string, found {v}"
                )));
            }
        }
    }
    if let Some(v) = key_of(obj, "active").and_then(|k| obj.get(k)) {
        if !v.is_boolean() && !v.is_null() {
            return Err(ScimError::invalid_value(format!(
                "`active` must be a boolean, found {v}"
            )));
        }
    }
    Ok(())
}

/// Puts the indexed attributes under their canonical names so the store's columns see
/// them whatever case the client wrote (RFC 7643 section 2.1: names are case-insensitive).
pub(crate) fn canonical_keys(doc: &mut Value) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    for name in ["userName", "externalId", "displayName", "active", "schemas"] {
        if let Some(key) = key_of(obj, name).cloned() {
            if key != name {
                if let Some(v) = obj.remove(&key) {
                    obj.insert(name.to_string(), v);
                }
            }
        }
    }
}

/// What a rendered resource carries besides its own document.
pub(crate) enum Related<'a> {
    /// A user's direct groups.
    Groups(&'a [Membership]),
    /// A group's members.
    Members(&'a [Member]),
}

/// The full resource as answered: the document plus `id`, `meta` and `members` or
/// `groups`, with `$ref` URIs under `base` (`http://host/scim/v2`).
pub(crate) fn render(kind: Kind, row: &Row, base: &str, related: Related<'_>) -> Value {
    let mut obj = row.doc.as_object().cloned().unwrap_or_default();
    obj.insert("id".into(), json!(row.id));
    obj.insert(
        "meta".into(),
        json!({
            "resourceType": kind.resource_type(),
            "created": row.created,
            "lastModified": row.last_modified,
            "location": format!("{base}/{}/{}", kind.endpoint(), row.id),
            "version": etag(row.version),
        }),
    );
    match related {
        Related::Groups(groups) if !groups.is_empty() => {
            let groups: Vec<Value> = groups
                .iter()
                .map(|g| {
                    let mut v = json!({
                        "value": g.group_id,
                        "$ref": format!("{base}/Groups/{}", g.group_id),
                        "type": if g.direct { "direct" } else { "indirect" },
                    });
                    if let Some(display) = &g.display {
                        v["display"] = json!(display);
                    }
                    v
                })
                .collect();
            obj.insert("groups".into(), Value::Array(groups));
        }
        Related::Members(members) if !members.is_empty() => {
            let members: Vec<Value> = members
                .iter()
                .map(|m| {
                    let mut v = json!({
                        "value": m.id,
                        "$ref": format!("{base}/{}/{}", m.kind.endpoint(), m.id),
                        "type": m.kind.resource_type(),
                    });
                    if let Some(display) = &m.display {
                        v["display"] = json!(display);
                    }
                    v
                })
                .collect();
            obj.insert("members".into(), Value::Array(members));
        }
        _ => {}
    }
    Value::Object(obj)
}

/// Parsed `attributes` and `excludedAttributes` parameters (RFC 7644 sections 3.4.2.5
/// and 3.9), applied by `scim_parser::project`, which also honours each attribute's
/// `returned` characteristic (RFC 7643 section 7: `password` never, `id` always).
#[derive(Clone, Debug)]
pub(crate) struct Projection {
    kind: Kind,
    include: Option<Vec<AttrPath>>,
    exclude: Option<Vec<AttrPath>>,
}

fn parse_list(param: &str, text: Option<&str>) -> Result<Option<Vec<AttrPath>>, ScimError> {
    let Some(text) = text else { return Ok(None) };
    parse_attribute_list(text).map(Some).map_err(|err| {
        let scim_type = ScimType::from_keyword(err.scim_type()).unwrap_or(ScimType::InvalidValue);
        ScimError::bad_request(
            scim_type,
            format!("`{param}` `{}`: {}", echo(text), err.message),
        )
    })
}

impl Projection {
    /// Reads the two parameters; `None` means absent. A list that does not parse is 400.
    pub(crate) fn new(
        kind: Kind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        Ok(Projection {
            kind,
            include: parse_list("attributes", attributes)?,
            exclude: parse_list("excludedAttributes", excluded)?,
        })
    }

    /// Applies the projection to a rendered resource.
    pub(crate) fn apply(&self, resource: Value) -> Value {
        let schema = crate::lookup::schema_for(self.kind, &Faults::default());
        if self.include.is_none() && self.exclude.is_none() {
            // Without parameters the projection only drops `returned: never` attributes;
            // doing just that keeps a group of 100,000 members from being copied.
            let Value::Object(mut obj) = resource else {
                return resource;
            };
            for attr in &schema.core.attributes {
                if attr.returned == Returned::Never {
                    let key = obj
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(&attr.name))
                        .cloned();
                    if let Some(key) = key {
                        obj.remove(&key);
                    }
                }
            }
            // As `project` does, an extension object left empty is not shown.
            obj.retain(|key, value| {
                !(key.len() > 4
                    && key[..4].eq_ignore_ascii_case("urn:")
                    && value.as_object().is_some_and(Map::is_empty))
            });
            return Value::Object(obj);
        }
        project(
            &resource,
            schema,
            self.include.as_deref(),
            self.exclude.as_deref(),
        )
    }

    /// Whether the response leaves out the attribute `name` of the core schema, so the
    /// handler need not load it (a group's `members`).
    pub(crate) fn leaves_out(&self, name: &str) -> bool {
        let names = |list: &Option<Vec<AttrPath>>| {
            list.as_ref().is_some_and(|l| {
                l.iter()
                    .any(|p| p.name.eq_ignore_ascii_case(name) && p.sub_attr.is_none())
            })
        };
        let named_in_include = self
            .include
            .as_ref()
            .is_some_and(|l| l.iter().any(|p| p.name.eq_ignore_ascii_case(name)));
        names(&self.exclude) || (self.include.is_some() && !named_in_include)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "1",
            "userName": "u1",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"value": "a@example.com", "type": "work"}, {"value": "b@example.com"}],
            ENTERPRISE_URN: {"employeeNumber": "7", "costCenter": "CC"},
        })
    }

    #[test]
    fn attributes_keep_always_returned_and_the_listed_ones() {
        let p = Projection::new(
            Kind::User,
            Some("userName,name.givenName,emails.value"),
            None,
        )
        .unwrap();
        let out = p.apply(user());
        assert_eq!(out["id"], "1");
        assert_eq!(out["userName"], "u1");
        assert_eq!(out["name"], json!({"givenName": "Test"}));
        assert_eq!(
            out["emails"],
            json!([{"value": "a@example.com"}, {"value": "b@example.com"}])
        );
        assert!(out.get(ENTERPRISE_URN).is_none());
        assert!(!p.leaves_out("userName"));
        assert!(p.leaves_out("members"));
    }

    #[test]
    fn excluded_attributes_drop_plain_sub_and_extension_attributes() {
        let p = Projection::new(
            Kind::User,
            None,
            Some(&format!(
                "EMAILS,name.familyName,id,{ENTERPRISE_URN}:costCenter"
            )),
        )
        .unwrap();
        let out = p.apply(user());
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Test"}));
        assert_eq!(out["id"], "1", "id is returned always");
        assert_eq!(out[ENTERPRISE_URN], json!({"employeeNumber": "7"}));
    }

    #[test]
    fn password_is_never_returned_and_bad_lists_are_400() {
        let mut u = user();
        u["password"] = json!("secret");
        let p = Projection::new(Kind::User, Some("password,userName"), None).unwrap();
        assert!(p.apply(u).get("password").is_none());
        let err = Projection::new(Kind::User, Some("name..x"), None).unwrap_err();
        assert_eq!(err.status.as_u16(), 400, "{err}");
    }

    #[test]
    fn prepare_drops_read_only_and_maps_legacy_urns() {
        let body = json!({
            "schemas": ["urn:scim:schemas:core:2.0"],
            "id": "client-chosen",
            "meta": {"created": "x"},
            "groups": [{"value": "g"}],
            "userName": "u1",
        });
        let (doc, _, _) = prepare(Kind::User, body, &Faults::default()).unwrap();
        assert_eq!(doc, json!({"schemas": [USER_URN], "userName": "u1"}));
    }

    #[test]
    fn prepare_rejects_missing_user_name_and_core_urn() {
        let err = prepare(
            Kind::User,
            json!({"schemas": [USER_URN]}),
            &Faults::default(),
        )
        .unwrap_err();
        assert_eq!(err.detail, "`userName` is required");
        let err = prepare(
            Kind::User,
            json!({"schemas": [GROUP_URN], "userName": "u"}),
            &Faults::default(),
        )
        .unwrap_err();
        assert!(err.detail.contains("must include"));
    }
}
