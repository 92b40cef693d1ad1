//! JSON Schema checks of response bodies: one schema per SCIM message type, kept as data
//! in `corpus/schemas/*.json` and compiled once with the `jsonschema` crate (no network,
//! no file resolving: the schemas refer to each other by `urn:scimconf:schema:*` ids that
//! a local registry answers).
//!
//! [`check_reply`] picks the message type of a body (its `schemas` URN, else the endpoint
//! and status) and returns every violation with the JSON pointer into the body and the
//! schema rule broken. Every request a case sends goes through it (see
//! [`crate::context::Cx::send`]); a case whose checks all held but whose responses broke
//! their schema does not pass.

use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

/// The SCIM message types the corpus has a schema for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// RFC 7644 section 3.4.2.
    ListResponse,
    /// RFC 7644 section 3.12.
    Error,
    /// RFC 7643 section 4.1.
    User,
    /// RFC 7643 section 4.2.
    Group,
    /// RFC 7643 section 4.3.
    EnterpriseUser,
    /// RFC 7643 section 5.
    ServiceProviderConfig,
    /// RFC 7643 section 6.
    ResourceType,
    /// RFC 7643 section 7.
    Schema,
    /// RFC 7644 section 3.7.
    BulkResponse,
}

/// `(message, file name, file text)` for every schema, plus the shared `meta` definition.
const FILES: &[(Option<Message>, &str, &str)] = &[
    (
        Some(Message::ListResponse),
        "list-response",
        include_str!("../../corpus/schemas/list-response.json"),
    ),
    (
        Some(Message::Error),
        "error",
        include_str!("../../corpus/schemas/error.json"),
    ),
    (
        Some(Message::User),
        "user",
        include_str!("../../corpus/schemas/user.json"),
    ),
    (
        Some(Message::Group),
        "group",
        include_str!("../../corpus/schemas/group.json"),
    ),
    (
        Some(Message::EnterpriseUser),
        "enterprise-user",
        include_str!("../../corpus/schemas/enterprise-user.json"),
    ),
    (
        Some(Message::ServiceProviderConfig),
        "service-provider-config",
        include_str!("../../corpus/schemas/service-provider-config.json"),
    ),
    (
        Some(Message::ResourceType),
        "resource-type",
        include_str!("../../corpus/schemas/resource-type.json"),
    ),
    (
        Some(Message::Schema),
        "schema",
        include_str!("../../corpus/schemas/schema.json"),
    ),
    (
        Some(Message::BulkResponse),
        "bulk-response",
        include_str!("../../corpus/schemas/bulk-response.json"),
    ),
    (None, "meta", include_str!("../../corpus/schemas/meta.json")),
];

impl Message {
    /// Every message type.
    pub const ALL: [Message; 9] = [
        Message::ListResponse,
        Message::Error,
        Message::User,
        Message::Group,
        Message::EnterpriseUser,
        Message::ServiceProviderConfig,
        Message::ResourceType,
        Message::Schema,
        Message::BulkResponse,
    ];

    /// The schema file's name under `corpus/schemas/`, without `.json`.
    pub fn file(self) -> &'static str {
        FILES
            .iter()
            .find(|(m, _, _)| *m == Some(self))
            .map_or("", |(_, name, _)| name)
    }

    /// The message type whose `schemas` URN is `urn`.
    pub fn from_urn(urn: &str) -> Option<Message> {
        Some(match urn {
            "urn:ietf:params:scim:api:messages:2.0:ListResponse" => Message::ListResponse,
            "urn:ietf:params:scim:api:messages:2.0:Error" => Message::Error,
            "urn:ietf:params:scim:schemas:core:2.0:User" => Message::User,
            "urn:ietf:params:scim:schemas:core:2.0:Group" => Message::Group,
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig" => {
                Message::ServiceProviderConfig
            }
            "urn:ietf:params:scim:schemas:core:2.0:ResourceType" => Message::ResourceType,
            "urn:ietf:params:scim:schemas:core:2.0:Schema" => Message::Schema,
            "urn:ietf:params:scim:api:messages:2.0:BulkResponse" => Message::BulkResponse,
            _ => return None,
        })
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One broken rule: where in the body, which rule, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The message type checked.
    pub message: Message,
    /// JSON pointer into the checked body, e.g. `/Resources/0/emails/1/primary`.
    pub pointer: String,
    /// The schema rule, as a pointer into the schema file, e.g. `/properties/status/type`.
    pub rule: String,
    /// What the validator says.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{} at `{at}` breaks rule `{}` of corpus/schemas/{}.json: {}",
            self.message,
            self.rule,
            self.message.file(),
            self.detail
        )
    }
}

struct Compiled {
    validators: Vec<(Message, jsonschema::Validator)>,
}

fn compiled() -> &'static Result<Compiled, String> {
    static COMPILED: OnceLock<Result<Compiled, String>> = OnceLock::new();
    COMPILED.get_or_init(compile)
}

fn compile() -> Result<Compiled, String> {
    let mut documents = Vec::new();
    for (message, name, text) in FILES {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("corpus/schemas/{name}.json is not JSON: {e}"))?;
        let id = doc["$id"]
            .as_str()
            .ok_or_else(|| format!("corpus/schemas/{name}.json has no `$id`"))?
            .to_owned();
        documents.push((*message, *name, id, doc));
    }
    let registry = jsonschema::Registry::new()
        .extend(
            documents
                .iter()
                .map(|(_, _, id, doc)| (id.clone(), doc.clone())),
        )
        .and_then(|b| b.prepare())
        .map_err(|e| format!("the corpus schemas do not form a registry: {e}"))?;
    let mut validators = Vec::new();
    for (message, name, _, doc) in &documents {
        let Some(message) = message else { continue };
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&registry)
            .build(doc)
            .map_err(|e| format!("corpus/schemas/{name}.json does not compile: {e}"))?;
        validators.push((*message, validator));
    }
    Ok(Compiled { validators })
}

/// Checks `body` against the schema of `message`; `prefix` is prepended to pointers.
pub fn validate(message: Message, body: &Value, prefix: &str) -> Result<Vec<Violation>, String> {
    let compiled = compiled().as_ref().map_err(String::clone)?;
    let validator = compiled
        .validators
        .iter()
        .find(|(m, _)| *m == message)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no schema for {message}"))?;
    Ok(validator
        .iter_errors(body)
        .map(|e| Violation {
            message,
            pointer: format!("{prefix}{}", e.instance_path().as_str()),
            rule: e.schema_path().as_str().to_owned(),
            detail: e.to_string(),
        })
        .collect())
}

/// The message type a resource body claims through `schemas`, else the one its
/// endpoint serves.
fn resource_message(resource: &Value, endpoint: &str) -> Option<Message> {
    let claimed = resource["schemas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(Message::from_urn);
    claimed.or(match endpoint {
        "Users" | "Me" => Some(Message::User),
        "Groups" => Some(Message::Group),
        "ResourceTypes" => Some(Message::ResourceType),
        "Schemas" => Some(Message::Schema),
        "ServiceProviderConfig" => Some(Message::ServiceProviderConfig),
        "Bulk" => Some(Message::BulkResponse),
        _ => None,
    })
}

/// The first segment of a request path below the base URL: `/Users/abc?x` -> `Users`.
fn endpoint_of(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

/// Every schema violation of a response: the body against its message type, and a
/// ListResponse's `Resources` each against theirs. Bodies that are not JSON, and JSON
/// of no known message type, are left to the cases.
pub fn check_reply(path: &str, status: u16, body: &str) -> Result<Vec<Violation>, String> {
    if body.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Ok(Vec::new());
    };
    let endpoint = endpoint_of(path);
    let message = if status >= 400 {
        Some(Message::Error)
    } else if endpoint == ".search" || path.contains("/.search") {
        Some(Message::ListResponse)
    } else {
        let claimed = value["schemas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(Message::from_urn);
        claimed.or_else(|| {
            let is_list = value.get("totalResults").is_some() || value.get("Resources").is_some();
            if is_list {
                Some(Message::ListResponse)
            } else {
                resource_message(&value, endpoint)
            }
        })
    };
    let Some(message) = message else {
        return Ok(Vec::new());
    };
    let mut violations = validate(message, &value, "")?;
    if message == Message::ListResponse {
        for (i, resource) in value["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(inner) = resource_message(resource, endpoint) {
                violations.extend(validate(inner, resource, &format!("/Resources/{i}"))?);
            }
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles() {
        assert!(compiled().is_ok(), "{:?}", compiled().as_ref().err());
        for message in Message::ALL {
            assert!(!message.file().is_empty(), "{message} has no file");
            validate(message, &json!({}), "").expect("validates");
        }
    }

    #[test]
    fn error_status_as_number_names_pointer_and_rule() {
        let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":404}"#;
        let violations = check_reply("/Users/x", 404, body).expect("checked");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].pointer, "/status");
        assert_eq!(violations[0].rule, "/properties/status/type");
        assert!(violations[0]
            .to_string()
            .contains("corpus/schemas/error.json"));
    }

    #[test]
    fn list_resources_are_checked_by_their_type() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "Resources": [{
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "a", "userName": "u", "active": "true",
                "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]
            }]
        });
        let violations = check_reply("/Users", 200, &body.to_string()).expect("checked");
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/Resources/0/active"), "{violations:?}");
        assert!(pointers.contains(&"/Resources/0/emails"), "{violations:?}");
    }

    #[test]
    fn enterprise_extension_and_meta_are_checked_through_refs() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "a", "userName": "u",
            "meta": {"created": "yesterday"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m1"}
        });
        let violations = check_reply("/Users/a", 200, &body.to_string()).expect("checked");
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/meta/created"), "{violations:?}");
        assert!(
            pointers
                .iter()
                .any(|p| p.ends_with("enterprise:2.0:User/manager")),
            "{violations:?}"
        );
    }

    #[test]
    fn a_password_in_a_reply_is_a_violation() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "a", "userName": "u", "password": "secret"
        });
        let violations = check_reply("/Users/a", 200, &body.to_string()).expect("checked");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].pointer, "/password");
    }

    #[test]
    fn bodies_of_no_known_type_are_left_alone() {
        assert_eq!(check_reply("/Other", 200, "{\"a\":1}"), Ok(Vec::new()));
        assert_eq!(check_reply("/Users", 200, "not json"), Ok(Vec::new()));
        assert_eq!(check_reply("/Users", 204, ""), Ok(Vec::new()));
    }
}
