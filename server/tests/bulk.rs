//! `/Bulk` (RFC 7644 section 3.7): bulkId references, failOnErrors and the advertised
//! limits.

mod common;

use common::*;
use reqwest::StatusCode;
use scim_reference_server::MAX_OPERATIONS;
use serde_json::{json, Value};

const BULK_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK_URN], "Operations": ops})
}

fn statuses(body: &Value) -> Vec<String> {
    body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn bulk_ids_resolve_forward_and_backward_references() {
    let s = server().await;
    // The group comes first and references a user created later in the same request.
    let ops = json!([
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP_URN], "displayName": "Bulk Team",
                  "members": [{"type": "User", "value": "bulkId:u"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u",
         "data": {"schemas": [USER_URN], "userName": "bulk.user"}},
        {"method": "PATCH", "path": "/Users/bulkId:u",
         "data": patch_op(json!([{"op": "replace", "path": "displayName", "value": "B"}]))},
    ]);
    let a = s.post("/Bulk", &bulk(ops)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    assert_eq!(statuses(&a.body), ["201", "201", "200"], "{}", a.body);
    let user_location = a.body["Operations"][1]["location"].as_str().unwrap();
    let user_id = user_location.rsplit('/').next().unwrap();
    assert_eq!(a.body["Operations"][1]["bulkId"], "u");
    assert_eq!(a.body["Operations"][1]["version"], "W/\"1\"");
    let group_id = a.body["Operations"][0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(s.member_ids(group_id).await, [user_id.to_string()]);
    let user = s.get(&format!("/Users/{user_id}")).await;
    assert_eq!(user.body["displayName"], "B");
}

#[tokio::test]
async fn failures_are_reported_per_operation_and_fail_on_errors_stops() {
    let s = server().await;
    s.user("taken").await;
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a",
         "data": {"schemas": [USER_URN], "userName": "taken"}},
        {"method": "PATCH", "path": "/Users/bulkId:a",
         "data": patch_op(json!([{"op": "replace", "path": "displayName", "value": "x"}]))},
        {"method": "DELETE", "path": "/Users/no-such-id"},
        {"method": "POST", "path": "/Users", "bulkId": "c",
         "data": {"schemas": [USER_URN], "userName": "fresh"}},
    ]);
    // Without failOnErrors every operation runs.
    let a = s.post("/Bulk", &bulk(ops.clone())).await;
    assert_eq!(
        statuses(&a.body),
        ["409", "409", "404", "201"],
        "{}",
        a.body
    );
    assert_eq!(
        a.body["Operations"][0]["response"]["scimType"],
        "uniqueness"
    );
    assert!(a.body["Operations"][1]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("bulkId `a`"));
    // With failOnErrors 1 the job stops after the first failure.
    let mut body = bulk(ops);
    body["failOnErrors"] = json!(1);
    body["Operations"][3]["data"]["userName"] = json!("fresh2");
    let a = s.post("/Bulk", &body).await;
    assert_eq!(statuses(&a.body), ["409"], "{}", a.body);
    let list = s.get("/Users?filter=userName%20eq%20%22fresh2%22").await;
    assert_eq!(
        list.body["totalResults"], 0,
        "the job stopped before fresh2"
    );
}

#[tokio::test]
async fn circular_references_are_409_and_versions_guard_writes() {
    let s = server().await;
    let ops = json!([
        {"method": "POST", "path": "/Groups", "bulkId": "x",
         "data": {"schemas": [GROUP_URN], "displayName": "X", "members": [{"value": "bulkId:y"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "y",
         "data": {"schemas": [GROUP_URN], "displayName": "Y", "members": [{"value": "bulkId:x"}]}},
    ]);
    let a = s.post("/Bulk", &bulk(ops)).await;
    assert_eq!(statuses(&a.body), ["409", "409"], "{}", a.body);
    let id = s.user("versioned").await;
    let ops = json!([{"method": "DELETE", "path": format!("/Users/{id}"), "version": "W/\"7\""}]);
    let a = s.post("/Bulk", &bulk(ops)).await;
    assert_eq!(statuses(&a.body), ["412"], "{}", a.body);
}

#[tokio::test]
async fn more_operations_than_advertised_is_413_and_bad_envelopes_400() {
    let s = server().await;
    let op = json!({"method": "DELETE", "path": "/Users/x"});
    let ops = Value::Array(vec![op; MAX_OPERATIONS + 1]);
    s.post("/Bulk", &bulk(ops)).await.assert_error(413, None);
    s.post("/Bulk", &json!({"Operations": []}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let no_bulk_id = json!([{"method": "POST", "path": "/Users",
                             "data": {"schemas": [USER_URN], "userName": "n"}}]);
    let a = s.post("/Bulk", &bulk(no_bulk_id)).await;
    assert_eq!(statuses(&a.body), ["400"], "{}", a.body);
}
