//! Each fault changes exactly the behaviour it names. The correct behaviour is checked in
//! the other test files; here each test shows the broken one.

mod common;

use common::*;
use reqwest::StatusCode;
use scim_reference_server::Fault;
use serde_json::{json, Value};

/// Every fault has a test below; adding a fault without one fails here.
const TESTED: &[&str] = &[
    "filter-case-sensitive",
    "entra-remove-ignored",
    "error-status-number",
    "no-match-404",
    "duplicate-create-allowed",
    "patch-op-case-sensitive",
    "bool-string-rejected",
    "startindex-zero-based",
    "count-zero-full-page",
    "total-results-page-size",
    "delete-missing-204",
    "error-wrapped",
    "scimtype-nonstandard",
    "content-type-reversed",
    "charset-rejected",
    "uniqueness-400",
    "conflict-bare",
    "etag-checked-after-patch",
    "invalid-filter-returns-all",
    "empty-query-rejected",
    "filter-double-decoded",
    "members-ref-required",
    "group-members-truncated",
    "externalid-filter-rejected",
    "pathless-patch-ignored",
    "filter-hides-unmanaged",
    "resources-empty",
    "filter-remove-rejected",
    "valuepath-replace-unsupported",
    "extension-path-rejected",
    "manager-string-rejected",
    "member-patch-slow",
    "unmapped-filter-returns-all",
    "lowercase-operations-500",
];

#[test]
fn every_fault_is_tested() {
    let mut all: Vec<&str> = Fault::all().iter().map(|f| f.name()).collect();
    let mut tested = TESTED.to_vec();
    all.sort_unstable();
    tested.sort_unstable();
    assert_eq!(all, tested);
}

fn total(a: &Answer) -> u64 {
    a.body["totalResults"]
        .as_u64()
        .unwrap_or_else(|| panic!("no totalResults: {}", a.body))
}

#[tokio::test]
async fn filter_case_sensitive() {
    let s = server_with_faults(&[Fault::FilterCaseSensitive]).await;
    s.user("User.One@Example.com").await;
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "user.one@example.com""#)
        ))
        .await;
    assert_eq!(total(&a), 0);
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "User.One@Example.com""#)
        ))
        .await;
    assert_eq!(total(&a), 1);
}

#[tokio::test]
async fn entra_remove_ignored() {
    let s = server_with_faults(&[Fault::EntraRemoveIgnored]).await;
    let u1 = s.user("u1").await;
    let u2 = s.user("u2").await;
    let g = s.group("G1", &[&u1, &u2]).await;
    let body = patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": u2}]}]));
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &body).await.status,
        StatusCode::OK
    );
    assert!(
        s.member_ids(&g).await.is_empty(),
        "the whole group was emptied"
    );
}

#[tokio::test]
async fn error_status_number() {
    let s = server_with_faults(&[Fault::ErrorStatusNumber]).await;
    let a = s.get("/Users/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["status"], json!(404));
    let a = s
        .get(&format!("/Users?filter={}", enc("userName eq")))
        .await;
    assert_eq!(a.body["status"], json!(400));
}

#[tokio::test]
async fn no_match_404() {
    let s = server_with_faults(&[Fault::NoMatch404]).await;
    s.user("someone").await;
    let a = s
        .get(&format!("/Users?filter={}", enc(r#"userName eq "nobody""#)))
        .await;
    a.assert_error(404, None);
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "someone""#)
        ))
        .await;
    assert_eq!(total(&a), 1);
}

#[tokio::test]
async fn duplicate_create_allowed() {
    let s = server_with_faults(&[Fault::DuplicateCreateAllowed]).await;
    let first = s.user("user1@example.com").await;
    let second = s.user("USER1@example.com").await;
    assert_ne!(first, second);
    assert_eq!(total(&s.get("/Users").await), 2);
}

#[tokio::test]
async fn patch_op_case_sensitive() {
    let s = server_with_faults(&[Fault::PatchOpCaseSensitive]).await;
    let id = s.user("u1").await;
    let body = patch_op(json!([{"op": "Replace", "path": "active", "value": false}]));
    s.patch(&format!("/Users/{id}"), &body)
        .await
        .assert_error(400, Some("invalidSyntax"));
    let body = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(
        s.patch(&format!("/Users/{id}"), &body).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bool_string_rejected() {
    let s = server_with_faults(&[Fault::BoolStringRejected]).await;
    let id = s.user("u1").await;
    let path = format!("/Users/{id}");
    let body = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    s.patch(&path, &body)
        .await
        .assert_error(400, Some("invalidValue"));
    let body = patch_op(json!([{"op": "replace", "value": {"active": "False"}}]));
    s.patch(&path, &body)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(
        s.get(&path).await.body.get("active"),
        None,
        "nothing changed"
    );
    let body = patch_op(json!([{"op": "Replace", "path": "active", "value": false}]));
    assert_eq!(s.patch(&path, &body).await.status, StatusCode::OK);
}

fn names(a: &Answer) -> Vec<&str> {
    a.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect()
}

async fn abc(faults: &[Fault]) -> Server {
    let s = server_with_faults(faults).await;
    for name in ["a", "b", "c"] {
        s.user(name).await;
    }
    s
}

#[tokio::test]
async fn startindex_zero_based() {
    let s = abc(&[Fault::StartIndexZeroBased]).await;
    assert_eq!(names(&s.get("/Users?startIndex=1&count=1").await), ["b"]);
    assert_eq!(names(&s.get("/Users?startIndex=0&count=1").await), ["a"]);
}

#[tokio::test]
async fn count_zero_full_page() {
    let s = abc(&[Fault::CountZeroFullPage]).await;
    assert_eq!(names(&s.get("/Users?count=0").await), ["a", "b", "c"]);
}

#[tokio::test]
async fn total_results_page_size() {
    let s = abc(&[Fault::TotalResultsPageSize]).await;
    assert_eq!(total(&s.get("/Users?count=2").await), 2);
}

#[tokio::test]
async fn delete_missing_204() {
    let s = server_with_faults(&[Fault::DeleteMissing204]).await;
    let id = s.user("u").await;
    assert_eq!(
        s.delete(&format!("/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.delete(&format!("/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.delete("/Users/never").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.get(&format!("/Users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn error_wrapped() {
    let s = server_with_faults(&[Fault::ErrorWrapped]).await;
    let a = s.get("/Users/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.get("schemas").is_none());
    assert_eq!(a.body["error"]["schemas"], json!([ERROR_URN]));
}

#[tokio::test]
async fn scimtype_nonstandard() {
    let s = server_with_faults(&[Fault::ScimTypeNonstandard]).await;
    let a = s.get("/Users/nope").await;
    assert_eq!(a.body["scimType"], "null");
    let a = s.post("/Users", &json!({"schemas": [USER_URN]})).await;
    assert_eq!(a.body["scimType"], "schemaViolated");
}

#[tokio::test]
async fn content_type_reversed() {
    let s = server_with_faults(&[Fault::ContentTypeReversed]).await;
    assert_eq!(
        s.get("/Users").await.header("content-type"),
        Some("application/json+scim")
    );
    assert_eq!(
        s.get("/Users/x").await.header("content-type"),
        Some("application/json+scim")
    );
}

#[tokio::test]
async fn charset_rejected() {
    let s = server_with_faults(&[Fault::CharsetRejected]).await;
    let send = |media: &'static str| {
        s.client
            .post(s.url("/Users"))
            .bearer_auth(&s.token)
            .header("content-type", media)
            .body(json!({"schemas": [USER_URN], "userName": media}).to_string())
            .send()
    };
    let a = answer(send("application/scim+json; charset=utf-8").await.unwrap()).await;
    a.assert_error(415, None);
    assert_eq!(
        send("application/scim+json").await.unwrap().status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn uniqueness_400() {
    let s = server_with_faults(&[Fault::Uniqueness400]).await;
    s.user("dup").await;
    s.post("/Users", &json!({"schemas": [USER_URN], "userName": "dup"}))
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn conflict_bare() {
    let s = server_with_faults(&[Fault::ConflictBare]).await;
    s.user("dup").await;
    let a = s
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "dup"}))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["schemas"], json!([ERROR_URN]));
    assert!(
        a.body.get("scimType").is_none() && a.body.get("status").is_none(),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn etag_checked_after_patch() {
    let s = server_with_faults(&[Fault::EtagCheckedAfterPatch]).await;
    let created = s
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "e"}))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let resp = s
        .client
        .patch(s.url(&format!("/Users/{id}")))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .header("if-match", created.header("etag").unwrap())
        .body(patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])).to_string())
        .send()
        .await
        .unwrap();
    answer(resp).await.assert_error(412, None);
    assert!(s
        .get(&format!("/Users/{id}"))
        .await
        .body
        .get("title")
        .is_none());
}

#[tokio::test]
async fn invalid_filter_returns_all() {
    let s = abc(&[Fault::InvalidFilterReturnsAll]).await;
    let a = s
        .get(&format!("/Users?filter={}", enc("userName eq a")))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(total(&a), 3);
}

#[tokio::test]
async fn empty_query_rejected() {
    let s = abc(&[Fault::EmptyQueryRejected]).await;
    s.get("/Users?filter=userName+eq+%22b%22&")
        .await
        .assert_error(400, Some("invalidSyntax"));
    assert_eq!(total(&s.get("/Users?filter=userName+eq+%22b%22").await), 1);
}

#[tokio::test]
async fn filter_double_decoded() {
    let s = server_with_faults(&[Fault::FilterDoubleDecoded]).await;
    let body = json!({"schemas": [USER_URN], "userName": "user1+tag@example.com"});
    assert_eq!(s.post("/Users", &body).await.status, StatusCode::CREATED);
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "user1+tag@example.com""#)
        ))
        .await;
    assert_eq!(total(&a), 0, "the + became a space");
}

#[tokio::test]
async fn members_ref_required() {
    let s = server_with_faults(&[Fault::MembersRefRequired]).await;
    let u = s.user("u").await;
    let body = json!({"schemas": [GROUP_URN], "displayName": "G", "members": [{"value": u}]});
    s.post("/Groups", &body)
        .await
        .assert_error(400, Some("invalidValue"));
    let with_ref = json!({"value": u, "$ref": s.url(&format!("/Users/{u}"))});
    let body = json!({"schemas": [GROUP_URN], "displayName": "G", "members": [with_ref]});
    assert_eq!(s.post("/Groups", &body).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn group_members_truncated() {
    let s = server_with_faults(&[Fault::GroupMembersTruncated]).await;
    let mut ids = Vec::new();
    for i in 0..101 {
        ids.push(s.user(&format!("u{i}")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let g = s.group("Big", &refs).await;
    assert_eq!(s.member_ids(&g).await.len(), 100);
    let list = s.get("/Groups").await;
    assert_eq!(
        list.body["Resources"][0]["members"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    // A PATCH rewrites from the truncated read and drops the 101st member for good.
    let extra = s.user("extra").await;
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": extra}]}]));
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &add).await.status,
        StatusCode::OK
    );
    let last = &ids[100];
    let user = s.get(&format!("/Users/{last}")).await;
    assert_eq!(user.body.get("groups"), None::<&Value>);
}

#[tokio::test]
async fn externalid_filter_rejected() {
    let s = server_with_faults(&[Fault::ExternalIdFilterRejected]).await;
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"externalId eq "EXT-1""#)
        ))
        .await;
    a.assert_error(400, Some("invalidFilter"));
    assert_eq!(
        total(
            &s.get(&format!("/Users?filter={}", enc(r#"userName eq "x""#)))
                .await
        ),
        0
    );
}

#[tokio::test]
async fn pathless_patch_ignored() {
    let s = server_with_faults(&[Fault::PathlessPatchIgnored]).await;
    let id = s.user("u").await;
    let body = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let a = s.patch(&format!("/Users/{id}"), &body).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body.get("active"), None, "nothing changed: {}", a.body);
}

#[tokio::test]
async fn filter_hides_unmanaged() {
    let s = server_with_faults(&[Fault::FilterHidesUnmanaged]).await;
    s.user("user1@example.com").await;
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "user1@example.com""#)
        ))
        .await;
    assert_eq!(total(&a), 0, "the lookup says none");
    let dup = json!({"schemas": [USER_URN], "userName": "user1@example.com"});
    s.post("/Users", &dup)
        .await
        .assert_error(409, Some("uniqueness"));
    let managed = json!({"schemas": [USER_URN], "userName": "u2", "externalId": "E2"});
    assert_eq!(s.post("/Users", &managed).await.status, StatusCode::CREATED);
    assert_eq!(
        total(
            &s.get(&format!("/Users?filter={}", enc(r#"userName eq "u2""#)))
                .await
        ),
        1
    );
}

#[tokio::test]
async fn resources_empty() {
    let s = abc(&[Fault::ResourcesEmpty]).await;
    let a = s
        .get(&format!("/Users?filter={}", enc(r#"userName eq "a""#)))
        .await;
    assert_eq!(total(&a), 1);
    assert_eq!(a.body["Resources"], json!([]));
}

#[tokio::test]
async fn filter_remove_rejected() {
    let s = server_with_faults(&[Fault::FilterRemoveRejected]).await;
    let u1 = s.user("u1").await;
    let g = s.group("G", &[&u1]).await;
    let body = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]));
    s.patch(&format!("/Groups/{g}"), &body)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(s.member_ids(&g).await, vec![u1]);
}

#[tokio::test]
async fn valuepath_replace_unsupported() {
    let s = server_with_faults(&[Fault::ValuePathReplaceUnsupported]).await;
    let body = json!({"schemas": [USER_URN], "userName": "u",
                      "emails": [{"type": "work", "value": "old@example.com"}]});
    let id = s.post("/Users", &body).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let op = json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]);
    s.patch(&format!("/Users/{id}"), &patch_op(op))
        .await
        .assert_error(501, None);
}

#[tokio::test]
async fn extension_path_rejected() {
    let s = server_with_faults(&[Fault::ExtensionPathRejected]).await;
    let id = s.user("u").await;
    let op = json!([{"op": "Replace",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "value": "CC-100"}]);
    s.patch(&format!("/Users/{id}"), &patch_op(op))
        .await
        .assert_error(400, Some("invalidPath"));
    let op = json!([{"op": "replace", "path": "title", "value": "t"}]);
    assert_eq!(
        s.patch(&format!("/Users/{id}"), &patch_op(op)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn manager_string_rejected() {
    let s = server_with_faults(&[Fault::ManagerStringRejected]).await;
    let id = s.user("u").await;
    let op = json!([{"op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "MGR"}]);
    s.patch(&format!("/Users/{id}"), &patch_op(op))
        .await
        .assert_error(400, Some("invalidValue"));
    let op = json!([{"op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "MGR"}}]);
    assert_eq!(
        s.patch(&format!("/Users/{id}"), &patch_op(op)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn member_patch_slow() {
    let s = server_with_faults(&[Fault::MemberPatchSlow]).await;
    let g = s.group("G", &[]).await;
    let mut values = Vec::new();
    for i in 0..10 {
        values.push(json!({"value": s.user(&format!("u{i}")).await}));
    }
    let add = patch_op(json!([{"op": "add", "path": "members", "value": values}]));
    let started = std::time::Instant::now();
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &add).await.status,
        StatusCode::OK
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unmapped_filter_returns_all() {
    let s = abc(&[Fault::UnmappedFilterReturnsAll]).await;
    let a = s
        .get(&format!("/Users?filter={}", enc(r#"emails.nosuch eq "x""#)))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(total(&a), 3);
    // A filter that does not parse is still refused.
    s.get(&format!("/Users?filter={}", enc("userName eq")))
        .await
        .assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn lowercase_operations_500() {
    let s = server_with_faults(&[Fault::LowercaseOperations500]).await;
    let id = s.user("u").await;
    let body = json!({"schemas": [PATCH_URN], "operations": [{"op": "replace", "path": "active", "value": false}]});
    s.patch(&format!("/Users/{id}"), &body)
        .await
        .assert_error(500, None);
}
