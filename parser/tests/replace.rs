//! PUT (RFC 7644 section 3.5.1): what is replaced, kept, ignored or refused, and the IdP
//! shapes that use PUT (idp-shapes `okta-put-update`, `okta-aiw-put-deactivate`, the AIW
//! group PUT).

use scim_parser::replace::replace_resource;
use scim_parser::schema::{Extension, ResourceSchema, Schema};
use scim_parser::Mode;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn stored_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "23a35c27",
        "externalId": "00u1",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "active": true,
        "password": "t1meMa$heen",
        "groups": [{"value": "g1", "display": "Tour Guides"}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-02T00:00:00Z"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m1"}}
    })
}

/// What Okta PUTs: the GET result (no password: it is never returned) with its change.
fn okta_put(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = stored_user();
    body.as_object_mut().unwrap().remove("password");
    change(&mut body);
    body
}

#[test]
fn okta_put_update_echoes_read_only_data_unchanged() {
    // idp-shapes okta-put-update: `id`, `meta`, `groups` come back; they are ignored.
    let body = okta_put(|b| b["name"]["givenName"] = json!("Tess"));
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("strict accepts echoed read-only data (RFC 7644 section 3.5.1)");
    let mut expected = stored_user();
    expected["name"]["givenName"] = json!("Tess");
    assert_eq!(out.resource, expected);
    assert!(out.changed);
    assert!(out.diagnostics.is_empty());
}

#[test]
fn okta_aiw_put_deactivate() {
    // idp-shapes okta-aiw-put-deactivate: the same body with `"active": false`.
    let body = okta_put(|b| b["active"] = json!(false));
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("applies");
    assert_eq!(out.resource["active"], json!(false));
    assert_eq!(out.resource["id"], json!("23a35c27"));
    assert_eq!(out.resource["password"], json!("t1meMa$heen"));
}

#[test]
fn putting_what_was_read_changes_nothing() {
    let body = okta_put(|_| {});
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("applies");
    assert!(!out.changed, "{}", out.resource);
}

#[test]
fn read_only_values_are_ignored_even_when_changed() {
    // RFC 7644 section 3.5.1: readOnly "Any values provided SHALL be ignored."
    let body = okta_put(|b| {
        b["id"] = json!("other");
        b["meta"]["created"] = json!("1999-01-01T00:00:00Z");
        b["groups"] = json!([]);
    });
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("applies");
    assert_eq!(out.resource, stored_user());
}

#[test]
fn omitted_attributes_are_cleared_but_never_returned_ones_kept() {
    let body = json!({"userName": "test.user@okta.local"});
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("applies");
    // readOnly kept, returned-never kept, everything readWrite cleared, extension dropped
    // with its URN.
    assert_eq!(
        out.resource,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "23a35c27",
            "userName": "test.user@okta.local",
            "password": "t1meMa$heen",
            "groups": [{"value": "g1", "display": "Tour Guides"}],
            "meta": stored_user()["meta"]
        })
    );
}

#[test]
fn complex_values_are_replaced_whole() {
    let body = okta_put(|b| b["name"] = json!({"formatted": "T. User"}));
    let out = replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict)
        .expect("applies");
    assert_eq!(out.resource["name"], json!({"formatted": "T. User"}));
}

#[test]
fn required_attributes_must_be_given() {
    // RFC 7644 section 3.5.1: "clients MUST specify the attribute in the PUT request".
    let body = okta_put(|b| {
        b.as_object_mut().unwrap().remove("userName");
    });
    let err = replace_resource(
        &stored_user(),
        &body,
        &ResourceSchema::user(),
        Mode::Interop,
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), "invalidValue");
    assert_eq!(err.location, "userName");
    let body = okta_put(|b| b["userName"] = Value::Null);
    let err = replace_resource(
        &stored_user(),
        &body,
        &ResourceSchema::user(),
        Mode::Interop,
    )
    .unwrap_err();
    assert_eq!(err.location, "userName");
}

fn badge_schema() -> ResourceSchema {
    let core = Schema::from_json(&json!({
        "id": "urn:example:Badge",
        "name": "Badge",
        "attributes": [
            {"name": "serial", "type": "string", "mutability": "immutable", "caseExact": true},
            {"name": "label", "type": "string"}
        ]
    }))
    .expect("schema");
    ResourceSchema::new("Badge", "/Badges", core, Vec::<Extension>::new())
}

#[test]
fn immutable_values_must_match_once_set() {
    // RFC 7644 section 3.5.1: immutable "the input value(s) MUST match".
    let schema = badge_schema();
    let stored = json!({"id": "b1", "serial": "S-1", "label": "x"});
    let same = json!({"serial": "S-1", "label": "y"});
    let out = replace_resource(&stored, &same, &schema, Mode::Strict).expect("same serial");
    assert_eq!(
        out.resource,
        json!({"id": "b1", "serial": "S-1", "label": "y"})
    );
    let changed = json!({"serial": "S-2", "label": "y"});
    let err = replace_resource(&stored, &changed, &schema, Mode::Strict).unwrap_err();
    assert_eq!(
        (err.scim_type(), err.location.as_str()),
        ("mutability", "serial")
    );
    // Omitted: kept. Not set yet: set.
    let out = replace_resource(&stored, &json!({"label": "z"}), &schema, Mode::Strict).unwrap();
    assert_eq!(out.resource["serial"], json!("S-1"));
    let out = replace_resource(&json!({"id": "b2"}), &changed, &schema, Mode::Strict).unwrap();
    assert_eq!(out.resource["serial"], json!("S-2"));
}

#[test]
fn unknown_members_strict_refuses_interop_drops() {
    let body = okta_put(|b| b["nickname2"] = json!("x"));
    let err =
        replace_resource(&stored_user(), &body, &ResourceSchema::user(), Mode::Strict).unwrap_err();
    assert_eq!(
        (err.scim_type(), err.location.as_str()),
        ("invalidValue", "nickname2")
    );
    let out = replace_resource(
        &stored_user(),
        &body,
        &ResourceSchema::user(),
        Mode::Interop,
    )
    .expect("interop drops it");
    assert!(out.resource.get("nickname2").is_none());
    assert_eq!(
        out.diagnostics[0].to_string(),
        "[generic] `nickname2`: no schema defines it; ignored"
    );
}

#[test]
fn extension_values_take_the_patch_dialects() {
    // bug-36: Entra's manager as a bare id; bug-67: OneLogin's legacy enterprise URN.
    let body = okta_put(|b| {
        let obj = b.as_object_mut().unwrap();
        obj.remove(ENTERPRISE);
        obj.insert(
            "urn:scim:schemas:extension:enterprise:2.0".into(),
            json!({"employeeNumber": "7", "manager": "m2"}),
        );
    });
    let user = ResourceSchema::user();
    let err = replace_resource(&stored_user(), &body, &user, Mode::Strict).unwrap_err();
    assert_eq!(err.scim_type(), "invalidValue");
    let out = replace_resource(&stored_user(), &body, &user, Mode::Interop).expect("interop");
    assert_eq!(
        out.resource[ENTERPRISE],
        json!({"employeeNumber": "7", "manager": {"value": "m2"}})
    );
    let dialects: Vec<&str> = out.diagnostics.iter().map(|d| d.dialect).collect();
    assert_eq!(dialects, ["onelogin", "entra"]);
}

#[test]
fn group_put_replaces_the_member_list() {
    // idp-shapes okta-group-replace-members: AIW apps PUT the group with its full members.
    let stored = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Tour Guides",
        "members": [{"value": "u1"}, {"value": "u2"}]
    });
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Tour Guides",
        "members": [{"value": "u2", "display": "b"}, {"value": "u3"}]
    });
    let out = replace_resource(&stored, &body, &ResourceSchema::group(), Mode::Strict).unwrap();
    assert_eq!(
        out.resource["members"],
        json!([{"value": "u2", "display": "b"}, {"value": "u3"}])
    );
}

#[test]
fn a_body_that_is_not_an_object_is_invalid_syntax() {
    let err = replace_resource(
        &stored_user(),
        &json!([]),
        &ResourceSchema::user(),
        Mode::Interop,
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), "invalidSyntax");
}
