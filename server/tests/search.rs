//! Sorting (RFC 7644 section 3.4.2.3), search at the root (section 3.4.3) and
//! projection honouring `returned` (RFC 7643 section 7).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn field(body: &Value, name: &str) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[name].as_str().unwrap_or("-").to_string())
        .collect()
}

async fn people(s: &Server) {
    for (user, family) in [("b", Some("Zed")), ("a", None), ("c", Some("alpha"))] {
        let mut body = json!({"schemas": [USER_URN], "userName": user});
        if let Some(family) = family {
            body["name"] = json!({"familyName": family});
        }
        assert_eq!(s.post("/Users", &body).await.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn sort_by_ignores_case_and_puts_missing_values_last_when_ascending() {
    let s = server().await;
    people(&s).await;
    let a = s.get("/Users?sortBy=userName").await;
    assert_eq!(field(&a.body, "userName"), ["a", "b", "c"]);
    let a = s
        .get("/Users?sortBy=name.familyName&sortOrder=ascending")
        .await;
    assert_eq!(field(&a.body, "userName"), ["c", "b", "a"]);
    let a = s
        .get("/Users?sortBy=name.familyName&sortOrder=descending")
        .await;
    assert_eq!(field(&a.body, "userName"), ["a", "b", "c"]);
    // Sorting happens before paging.
    let a = s
        .get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1")
        .await;
    assert_eq!(field(&a.body, "userName"), ["b"]);
    assert_eq!(a.body["totalResults"], 3);
}

#[tokio::test]
async fn sort_in_a_search_body_and_bad_sort_parameters() {
    let s = server().await;
    people(&s).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName ne \"b\"",
        "sortBy": "userName",
        "sortOrder": "descending",
    });
    let a = s.post("/Users/.search", &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(field(&a.body, "userName"), ["c", "a"]);
    s.get("/Users?sortBy=noSuchAttribute")
        .await
        .assert_error(400, Some("invalidValue"));
    s.get("/Users?sortBy=userName&sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn sort_is_advertised() {
    let s = server().await;
    let a = s.get("/ServiceProviderConfig").await;
    assert_eq!(a.body["sort"]["supported"], true);
}

#[tokio::test]
async fn root_search_spans_users_and_groups() {
    let s = server().await;
    let u = s.user("alice").await;
    let g = s.group("Admins", &[&u]).await;
    let search = |filter: Option<&str>| {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
        if let Some(f) = filter {
            body["filter"] = json!(f);
        }
        body
    };
    let all = s.post("/.search", &search(None)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["totalResults"], 2);
    assert_eq!(field(&all.body, "id"), [u.clone(), g.clone()]);
    // A filter only the User schema can evaluate selects users only.
    let users = s
        .post("/.search", &search(Some("userName eq \"ALICE\"")))
        .await;
    assert_eq!(field(&users.body, "id"), std::slice::from_ref(&u));
    // A filter on a common attribute selects from both.
    let by_id = s
        .post("/.search", &search(Some(&format!("id eq \"{g}\""))))
        .await;
    assert_eq!(field(&by_id.body, "id"), std::slice::from_ref(&g));
    // A filter neither schema can evaluate is 400.
    s.post("/.search", &search(Some("noSuch eq 1")))
        .await
        .assert_error(400, Some("invalidFilter"));
    // Sorting by an attribute only Users have keeps the groups, after the users.
    let mut sorted = search(None);
    sorted["sortBy"] = json!("userName");
    sorted["sortOrder"] = json!("descending");
    let a = s.post("/.search", &sorted).await;
    assert_eq!(field(&a.body, "id"), [g.clone(), u.clone()], "{}", a.body);
    sorted["sortBy"] = json!("noSuchAttribute");
    s.post("/.search", &sorted)
        .await
        .assert_error(400, Some("invalidValue"));
    // GET at the root is not an endpoint.
    assert_eq!(s.get("/.search").await.status.as_u16(), 405);
}

#[tokio::test]
async fn attributes_never_return_password_and_bad_lists_are_400() {
    let s = server().await;
    let body = json!({"schemas": [USER_URN], "userName": "p", "password": "hunter2"});
    let created = s.post("/Users", &body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(created.body.get("password").is_none());
    let id = created.body["id"].as_str().unwrap();
    let a = s.get(&format!("/Users/{id}?attributes=password")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("password").is_none());
    assert_eq!(a.body["id"], json!(id), "id is returned always");
    s.get(&format!("/Users/{id}?attributes=name..x"))
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn a_password_set_by_patch_is_neither_kept_nor_returned() {
    let s = server().await;
    let id = s.user("pw").await;
    let patch = patch_op(json!([{"op": "add", "path": "password", "value": "hunter2"}]));
    let a = s.patch(&format!("/Users/{id}"), &patch).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.get("password").is_none(), "{}", a.body);
    for path in [
        format!("/Users/{id}"),
        format!("/Users/{id}?attributes=password"),
    ] {
        let a = s.get(&path).await;
        assert!(a.body.get("password").is_none(), "{path}: {}", a.body);
    }
    let filter = s
        .get(&format!("/Users?filter={}", enc("password pr")))
        .await;
    assert_eq!(filter.body["totalResults"], 0, "{}", filter.body);
}
