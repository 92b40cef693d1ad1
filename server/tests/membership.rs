//! Group membership in its own table: nested groups in a user's `groups` (RFC 7643
//! section 4.1.2), member PATCHes that touch only the changed rows, and one
//! transaction per write under concurrency.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn groups(user: &Value) -> Vec<(String, String)> {
    user["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|m| {
                    (
                        m["display"].as_str().unwrap().to_string(),
                        m["type"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn users_see_direct_and_indirect_groups_once() {
    let s = server().await;
    let u = s.user("nested").await;
    let inner = s.group("Inner", &[&u]).await;
    let middle = s.group("Middle", &[&inner]).await;
    let _outer = s.group("Outer", &[&middle, &u]).await;
    let a = s.get(&format!("/Users/{u}")).await;
    assert_eq!(
        groups(&a.body),
        [
            ("Inner".to_string(), "direct".to_string()),
            ("Outer".to_string(), "direct".to_string()),
            ("Middle".to_string(), "indirect".to_string()),
        ]
    );
    // The list path computes the same closure.
    let list = s.get("/Users?filter=userName%20eq%20%22nested%22").await;
    assert_eq!(groups(&list.body["Resources"][0]), groups(&a.body));
    // A cycle of groups ends.
    let patch = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": middle}]}]));
    let a = s.patch(&format!("/Groups/{inner}"), &patch).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = s.get(&format!("/Users/{u}")).await;
    assert_eq!(groups(&a.body).len(), 3, "{}", a.body);
}

#[tokio::test]
async fn member_patches_add_remove_and_keep_the_version_when_nothing_changes() {
    let s = server().await;
    let ids: Vec<String> = futures_ids(&s, 4).await;
    let g = s.group("G", &[&ids[0], &ids[1]]).await;
    let path = format!("/Groups/{g}?excludedAttributes=members");
    let add = patch_op(json!([
        {"op": "add", "path": "members", "value": [{"value": ids[2]}, {"value": ids[3]}]},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])},
    ]));
    let a = s.patch(&path, &add).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.get("members").is_none(), "{}", a.body);
    assert_eq!(a.body["meta"]["version"], "W/\"2\"");
    assert_eq!(s.member_ids(&g).await, ids[1..].to_vec());
    // Entra's removal by value array.
    let entra = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}]});
    let a = s.patch(&format!("/Groups/{g}"), &entra).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["members"].as_array().unwrap().len(), 2);
    // Adding members already there changes nothing, so no new version.
    let again = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": ids[2]}]}]));
    let a = s.patch(&path, &again).await;
    assert_eq!(a.body["meta"]["version"], "W/\"3\"");
    // An unknown id fails the whole PATCH.
    let bad = patch_op(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[2])},
        {"op": "add", "path": "members", "value": [{"value": "no-such-id"}]},
    ]));
    s.patch(&path, &bad)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(s.member_ids(&g).await, ids[2..].to_vec());
}

async fn futures_ids(s: &Server, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(s.user(&format!("m{i}")).await);
    }
    ids
}

#[tokio::test]
async fn concurrent_creates_of_one_user_name_give_one_201_and_the_rest_409() {
    let s = server().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = s.client.clone();
        let url = s.url("/Users");
        let token = s.token.clone();
        // Names differ only in case: userName is caseExact: false (RFC 7643 4.1.1).
        let name = if i % 2 == 0 { "Race" } else { "rACE" };
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER_URN], "userName": name}).to_string())
                .send()
                .await
                .unwrap();
            answer(resp).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let a = task.await.unwrap();
        match a.status.as_u16() {
            201 => created += 1,
            409 => a.assert_error(409, Some("uniqueness")),
            other => panic!("status {other}: {}", a.body),
        }
    }
    assert_eq!(created, 1);
    let list = s.get("/Users?filter=userName%20eq%20%22race%22").await;
    assert_eq!(list.body["totalResults"], 1);
}

#[tokio::test]
async fn unicode_user_names_are_unique_and_found_ignoring_case() {
    let s = server().await;
    s.user("Ärger").await;
    let dup = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "ärger"}),
        )
        .await;
    dup.assert_error(409, Some("uniqueness"));
    let a = s
        .get(&format!("/Users?filter={}", enc("userName eq \"ÄRGER\"")))
        .await;
    assert_eq!(a.body["totalResults"], 1, "{}", a.body);
}

#[tokio::test]
async fn put_of_a_resource_as_read_keeps_read_only_values_and_the_version() {
    // RFC 7644 section 3.5.1: read-only values in a PUT body are ignored, so sending
    // back what GET returned (id, meta, groups included) changes nothing.
    let s = server().await;
    let u = s.user("roundtrip").await;
    let g = s.group("RoundTrip", &[&u]).await;
    let read = s.get(&format!("/Users/{u}")).await;
    assert_eq!(read.body["groups"][0]["value"], json!(g));
    let put = s.put(&format!("/Users/{u}"), &read.body).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["meta"]["version"], read.body["meta"]["version"]);
    assert_eq!(put.body["groups"], read.body["groups"]);
    let group = s.get(&format!("/Groups/{g}")).await;
    let put = s.put(&format!("/Groups/{g}"), &group.body).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["meta"]["version"], group.body["meta"]["version"]);
    assert_eq!(s.member_ids(&g).await, [u]);
}
