//! PATCH through the parser in interop mode (RFC 7644 section 3.5.2).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn entra_replace_with_string_boolean_deactivates() {
    let s = server().await;
    let id = s.user("u1").await;
    let before = s.get(&format!("/Users/{id}")).await;
    let body = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let a = s.patch(&format!("/Users/{id}"), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["active"], false);
    assert_ne!(a.body["meta"]["version"], before.body["meta"]["version"]);
    assert_eq!(a.header("etag"), a.body["meta"]["version"].as_str());
    assert_eq!(s.get(&format!("/Users/{id}")).await.body["active"], false);
}

#[tokio::test]
async fn okta_pathless_replace_and_entra_dotted_keys() {
    let s = server().await;
    let id = s.user("u1").await;
    let a = s
        .patch(
            &format!("/Users/{id}"),
            &patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(a.body["active"], false, "{}", a.body);
    let body =
        patch_op(json!([{"op": "replace", "value": {"name.givenName": "Test", "active": true}}]));
    let a = s.patch(&format!("/Users/{id}"), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["name"]["givenName"], "Test");
    assert_eq!(a.body["active"], true);
}

#[tokio::test]
async fn entra_member_removal_by_value_array_removes_only_those() {
    let s = server().await;
    let u1 = s.user("u1").await;
    let u2 = s.user("u2").await;
    let g = s.group("G1", &[&u1, &u2]).await;
    let body = patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": u2}]}]));
    let a = s.patch(&format!("/Groups/{g}"), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(s.member_ids(&g).await, vec![u1.clone()]);
    assert!(s
        .get(&format!("/Users/{u2}"))
        .await
        .body
        .get("groups")
        .is_none());
}

#[tokio::test]
async fn member_add_is_incremental_and_idempotent() {
    let s = server().await;
    let u1 = s.user("u1").await;
    let u2 = s.user("u2").await;
    let g = s.group("G1", &[&u1]).await;
    let add =
        patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u2}]}]));
    let first = s.patch(&format!("/Groups/{g}"), &add).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(s.member_ids(&g).await, vec![u1.clone(), u2.clone()]);
    let again = s.patch(&format!("/Groups/{g}"), &add).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(s.member_ids(&g).await, vec![u1.clone(), u2.clone()]);
    assert_eq!(
        again.body["meta"]["lastModified"],
        first.body["meta"]["lastModified"]
    );
    assert_eq!(again.body["meta"]["version"], first.body["meta"]["version"]);
    // The RFC filter form.
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]));
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &remove).await.status,
        StatusCode::OK
    );
    assert_eq!(s.member_ids(&g).await, vec![u2]);
}

#[tokio::test]
async fn member_add_of_an_unknown_id_is_invalid_value_and_changes_nothing() {
    let s = server().await;
    let u1 = s.user("u1").await;
    let g = s.group("G1", &[&u1]).await;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]));
    s.patch(&format!("/Groups/{g}"), &add)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(s.member_ids(&g).await, vec![u1]);
}

#[tokio::test]
async fn large_member_add_in_one_request() {
    let s = server().await;
    let g = s.group("Big", &[]).await;
    let mut values = Vec::new();
    for i in 0..150 {
        values.push(json!({"value": s.user(&format!("user{i:03}")).await}));
    }
    let add = patch_op(json!([{"op": "add", "path": "members", "value": values}]));
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &add).await.status,
        StatusCode::OK
    );
    let extra = s.user("extra").await;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": extra}]}]));
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &add).await.status,
        StatusCode::OK
    );
    assert_eq!(s.member_ids(&g).await.len(), 151);
}

#[tokio::test]
async fn patch_errors_carry_the_parsers_scim_type() {
    let s = server().await;
    let id = s.user("u1").await;
    let path = format!("/Users/{id}");
    s.patch(
        &path,
        &patch_op(json!([{"op": "Update", "path": "title", "value": "x"}])),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    s.patch(&path, &patch_op(json!([])))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.patch(
        &path,
        &patch_op(json!([{"op": "replace", "path": "nosuch", "value": "x"}])),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    s.patch(
        &path,
        &patch_op(json!([{"op": "replace", "path": "active", "value": "no"}])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.patch(
        &path,
        &patch_op(json!([{"op": "remove", "path": "userName"}])),
    )
    .await
    .assert_error(400, Some("mutability"));
    s.patch(
        "/Users/nope",
        &patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])),
    )
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn patch_to_a_taken_user_name_conflicts() {
    let s = server().await;
    s.user("taken").await;
    let id = s.user("free").await;
    let body = patch_op(json!([{"op": "replace", "path": "userName", "value": "TAKEN"}]));
    s.patch(&format!("/Users/{id}"), &body)
        .await
        .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn patch_honours_if_match_before_the_change() {
    let s = server().await;
    let created = s
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "e"}))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let etag = created.header("etag").unwrap().to_string();
    let send = || {
        s.client
            .patch(s.url(&format!("/Users/{id}")))
            .bearer_auth(&s.token)
            .header("content-type", "application/scim+json")
            .header("if-match", &etag)
            .body(
                patch_op(
                    json!([{"op": "replace", "path": "displayName", "value": "Test User 1b"}]),
                )
                .to_string(),
            )
            .send()
    };
    let first = answer(send().await.unwrap()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    answer(send().await.unwrap()).await.assert_error(412, None);
}

#[tokio::test]
async fn lowercase_operations_key_and_extension_paths_work() {
    let s = server().await;
    let id = s.user("u").await;
    let body = json!({"schemas": [PATCH_URN], "operations": [{"op": "replace", "path": "active", "value": false}]});
    let a = s.patch(&format!("/Users/{id}"), &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let ops = json!([
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "value": "CC-100"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "MGR"},
    ]);
    let a = s.patch(&format!("/Users/{id}"), &patch_op(ops)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let ext = &a.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["costCenter"], "CC-100");
    assert_eq!(ext["manager"]["value"], "MGR");
    assert!(a.body["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u.as_str().unwrap().contains("enterprise")));
}

#[tokio::test]
async fn replace_through_a_value_filter_keeps_the_other_elements() {
    let s = server().await;
    let body = json!({"schemas": [USER_URN], "userName": "u", "emails": [
        {"type": "work", "value": "old@example.com", "primary": true},
        {"type": "home", "value": "home@example.com"}]});
    let id = s.post("/Users", &body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let op = json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]);
    let a = s.patch(&format!("/Users/{id}"), &patch_op(op)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["emails"],
        json!([{"type": "work", "value": "new@example.com", "primary": true},
               {"type": "home", "value": "home@example.com"}])
    );
}

/// A PATCH with more operations than the cap is 413 with a SCIM error and changes nothing;
/// at the cap it applies. See: fresh-user trial, 20,000 operations held the server minutes.
#[tokio::test]
async fn a_patch_past_the_operation_cap_is_413_and_changes_nothing() {
    let s = server_with(scim_reference_server::Config {
        max_patch_operations: Some(50),
        ..Default::default()
    })
    .await;
    let id = s.user("capped").await;
    let adds = |n: usize| {
        let ops: Vec<_> = (0..n)
            .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("u{i}@example.com")}]}))
            .collect();
        patch_op(json!(ops))
    };
    let path = format!("/Users/{id}");
    let refused = s.patch(&path, &adds(51)).await;
    refused.assert_error(413, None);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("51 operations") && detail.contains("at most 50"),
        "{detail}"
    );
    assert!(s.get(&path).await.body.get("emails").is_none());
    let applied = s.patch(&path, &adds(50)).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(applied.body["emails"].as_array().map(Vec::len), Some(50));
}
