//! Running the server: tenants, the request log, the rate limit and a database file
//! kept across restarts.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use scim_reference_server::requests::{self, RequestQuery};
use scim_reference_server::Config;
use serde_json::json;
use std::path::PathBuf;

/// A fresh directory for one test's database file.
fn temp_db(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scim-ref-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("store.sqlite")
}

fn two_tenants(db: Option<PathBuf>) -> Config {
    Config {
        tenants: vec![
            ("acme".into(), "token-acme".into()),
            ("globex".into(), "token-globex".into()),
        ],
        db,
        ..Config::default()
    }
}

#[tokio::test]
async fn tenants_cannot_read_change_or_reference_each_others_resources() {
    let s = server_with(two_tenants(None)).await;
    let acme_user = s.user("shared.name").await;
    let as_globex = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = s
            .client
            .request(method, s.url(path))
            .bearer_auth("token-globex");
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    let path = format!("/Users/{acme_user}");
    as_globex(Method::GET, &path, None)
        .await
        .assert_error(404, None);
    let patch = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    as_globex(Method::PATCH, &path, Some(patch))
        .await
        .assert_error(404, None);
    as_globex(Method::DELETE, &path, None)
        .await
        .assert_error(404, None);
    let group = json!({"schemas": [GROUP_URN], "displayName": "G",
                       "members": [{"value": acme_user}]});
    as_globex(Method::POST, "/Groups", Some(group))
        .await
        .assert_error(400, Some("invalidValue"));
    let filter = format!("/Users?filter={}", enc("userName eq \"shared.name\""));
    let a = as_globex(Method::GET, &filter, None).await;
    assert_eq!(a.body["totalResults"], 0);
    // acme still has its user, untouched.
    let a = s.get(&path).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn every_request_is_logged_without_the_token() {
    let db = temp_db("log");
    let s = server_with(two_tenants(Some(db.clone()))).await;
    let id = s.user("logged").await;
    let g = s.group("Logged", &[]).await;
    let entra = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": id}]}]});
    assert_eq!(
        s.patch(&format!("/Groups/{g}"), &entra).await.status,
        StatusCode::OK
    );
    s.get("/Users?filter=userName%20eq%20%22nobody%22").await;
    let unauth = s
        .client
        .get(s.url("/Users"))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);
    // Entra sends booleans as strings in create bodies.
    let entra_create = json!({"schemas": [USER_URN], "userName": "e", "active": "True"});
    assert_eq!(
        s.post("/Users", &entra_create).await.status,
        StatusCode::CREATED
    );
    s.running.shutdown().await;

    let rows = requests::read(&db, &RequestQuery::default()).unwrap();
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let create = &rows[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/scim/v2/Users")
    );
    assert_eq!(create.status, 201);
    assert_eq!(create.tenant.as_deref(), Some("acme"));
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body["userName"], "logged");
    assert_eq!(create.headers["content-type"][0], "application/scim+json");
    assert!(create.headers.get("authorization").is_none());
    assert!(create.duration_ms >= 0.0);
    assert!(
        create.time.ends_with('Z') && create.time.len() == 24,
        "{}",
        create.time
    );
    assert_eq!(rows[2].dialects, ["entra"], "the parser saw Entra's `Add`");
    assert_eq!(
        rows[3].query.as_deref(),
        Some("filter=userName%20eq%20%22nobody%22")
    );
    assert_eq!((rows[4].status, rows[4].tenant.as_deref()), (401, None));
    assert_eq!(rows[5].dialects, ["entra"], "{:?}", rows[5]);
    assert!(rows[0].dialects.is_empty());
    let text = std::fs::read(&db).unwrap();
    let needle = b"token-acme";
    assert!(
        !text.windows(needle.len()).any(|w| w == needle),
        "a token reached the file"
    );

    let only = |q: RequestQuery| requests::read(&db, &q).unwrap().len();
    assert_eq!(
        only(RequestQuery {
            status: Some("4xx".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        only(RequestQuery {
            tenant: Some("globex".into()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        only(RequestQuery {
            since: Some("2999-01-01".into()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        only(RequestQuery {
            limit: Some(2),
            ..Default::default()
        }),
        2
    );
    assert!(requests::read(
        &db,
        &RequestQuery {
            status: Some("4y".into()),
            ..Default::default()
        }
    )
    .is_err());
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[tokio::test]
async fn past_the_rate_limit_is_429_with_retry_after_per_tenant() {
    let s = server_with(Config {
        rate_limit: Some(2.0),
        ..two_tenants(None)
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(s.get("/Users").await);
    }
    assert_eq!(statuses[0].status, StatusCode::OK);
    assert_eq!(statuses[1].status, StatusCode::OK);
    let limited = &statuses[2];
    limited.assert_error(429, None);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=1).contains(&retry), "retry-after {retry}");
    // The other tenant has its own bucket.
    let other = s
        .client
        .get(s.url("/Users"))
        .bearer_auth("token-globex")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // Refilled after the advertised wait.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(s.get("/Users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_database_file_keeps_groups_tombstones_and_versions_across_restarts() {
    let db = temp_db("restart");
    let s = server_with(two_tenants(Some(db.clone()))).await;
    let kept = s.user("kept").await;
    let gone = s.user("gone").await;
    let g = s.group("Persisted", &[&kept]).await;
    assert_eq!(
        s.delete(&format!("/Users/{gone}")).await.status,
        StatusCode::NO_CONTENT
    );
    s.running.shutdown().await;

    let s = server_with(two_tenants(Some(db.clone()))).await;
    assert_eq!(s.member_ids(&g).await, std::slice::from_ref(&kept));
    s.get(&format!("/Users/{gone}"))
        .await
        .assert_error(404, None);
    // The tombstone does not hold the userName.
    s.user("gone").await;
    let user = s.get(&format!("/Users/{kept}")).await;
    assert_eq!(user.body["groups"][0]["value"], json!(g));
    s.running.shutdown().await;
    // The tombstone row is still in the file, for audit.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let deleted: i64 = conn
        .query_row("SELECT deleted FROM users WHERE id = ?1", [&gone], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(deleted, 1);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}
