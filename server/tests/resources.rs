//! Create, read, replace and delete of Users and Groups (RFC 7644 sections 3.3 to 3.6).

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use scim_reference_server::Config;
use serde_json::{json, Value};

#[tokio::test]
async fn create_user_sets_meta_location_and_ignores_read_only() {
    let s = server().await;
    let body = json!({
        "schemas": [USER_URN],
        "id": "client-chosen",
        "meta": {"created": "1999-01-01T00:00:00Z", "version": "W/\"x\""},
        "groups": [{"value": "g"}],
        "userName": "user1@example.com",
        "password": "secret",
        "name": {"givenName": "Test", "familyName": "User"},
        "active": true,
    });
    let a = s.post("/Users", &body).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    let id = a.body["id"].as_str().unwrap();
    assert_ne!(id, "client-chosen");
    let meta = &a.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], json!(s.url(&format!("/Users/{id}"))));
    assert_eq!(a.header("location"), meta["location"].as_str());
    assert_ne!(meta["created"], "1999-01-01T00:00:00Z");
    assert_eq!(meta["created"], meta["lastModified"]);
    let version = meta["version"].as_str().unwrap();
    assert!(version.starts_with("W/\""), "{version}");
    assert_eq!(a.header("etag"), Some(version));
    assert!(a.body.get("password").is_none());
    assert!(a.body.get("groups").is_none());
    assert_eq!(a.body["schemas"], json!([USER_URN]));

    let got = s.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, a.body);
}

#[tokio::test]
async fn request_media_types_with_and_without_charset_are_accepted() {
    let s = server().await;
    for (i, media) in [
        "application/scim+json; charset=utf-8",
        "application/json",
        "application/json;charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let body = json!({"schemas": [USER_URN], "userName": format!("m{i}")});
        let resp = s
            .client
            .post(s.url("/Users"))
            .bearer_auth(&s.token)
            .header("content-type", *media)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{media}");
    }
    let resp = s
        .client
        .post(s.url("/Users"))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body(json!({"schemas": [USER_URN], "userName": "t"}).to_string())
        .send()
        .await
        .unwrap();
    answer(resp).await.assert_error(415, None);
}

#[tokio::test]
async fn malformed_json_is_invalid_syntax_and_missing_user_name_invalid_value() {
    let s = server().await;
    let resp = s
        .client
        .post(s.url("/Users"))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body("{\"schemas\": [")
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    a.assert_error(400, Some("invalidSyntax"));
    assert!(a.body["detail"].as_str().unwrap().contains("line 1"));

    s.post("/Users", &json!({"schemas": [USER_URN]}))
        .await
        .assert_error(400, Some("invalidValue"));
    s.post("/Users", &json!({"userName": "x"}))
        .await
        .assert_error(400, Some("invalidValue"));
    s.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "x", "active": "yes"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    s.post("/Users", &json!([1, 2]))
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn duplicate_user_name_is_409_uniqueness_ignoring_case() {
    let s = server().await;
    s.user("user1@example.com").await;
    let dup = json!({"schemas": [USER_URN], "userName": "user1@example.com"});
    s.post("/Users", &dup)
        .await
        .assert_error(409, Some("uniqueness"));
    let dup = json!({"schemas": [USER_URN], "userName": "USER1@example.COM"});
    s.post("/Users", &dup)
        .await
        .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn a_deleted_user_name_can_be_reused() {
    let s = server().await;
    let id = s.user("reuse").await;
    assert_eq!(
        s.delete(&format!("/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let again = s.user("REUSE").await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn put_replaces_keeps_id_and_bumps_version() {
    let s = server().await;
    let created = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "u1", "title": "Old", "nickName": "n"}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let put = s
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_URN], "id": "other", "userName": "u1", "title": "New"}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["id"], json!(id));
    assert_eq!(put.body["title"], "New");
    assert!(
        put.body.get("nickName").is_none(),
        "PUT replaces: {}",
        put.body
    );
    assert_ne!(put.body["meta"]["version"], created.body["meta"]["version"]);
    assert_eq!(put.body["meta"]["created"], created.body["meta"]["created"]);

    // A PUT that takes another user's userName conflicts.
    s.user("u2").await;
    s.put(
        &format!("/Users/{id}"),
        &json!({"schemas": [USER_URN], "userName": "U2"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    s.put(
        "/Users/nope",
        &json!({"schemas": [USER_URN], "userName": "z"}),
    )
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn delete_is_204_then_404_everywhere() {
    let s = server().await;
    let id = s.user("gone").await;
    let path = format!("/Users/{id}");
    let a = s.delete(&path).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.body, Value::Null);
    s.delete(&path).await.assert_error(404, None);
    s.get(&path).await.assert_error(404, None);
    s.put(&path, &json!({"schemas": [USER_URN], "userName": "gone"}))
        .await
        .assert_error(404, None);
    s.delete("/Users/never-existed")
        .await
        .assert_error(404, None);
    let list = s.get("/Users").await;
    assert_eq!(list.body["totalResults"], 0);
}

#[tokio::test]
async fn if_match_guards_put_and_delete() {
    let s = server().await;
    let created = s
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "e"}))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let etag = created.header("etag").unwrap().to_string();
    let put = |tag: &str| {
        s.client
            .put(s.url(&format!("/Users/{id}")))
            .bearer_auth(&s.token)
            .header("content-type", "application/scim+json")
            .header("if-match", tag)
            .body(json!({"schemas": [USER_URN], "userName": "e", "title": "t"}).to_string())
            .send()
    };
    let first = answer(put(&etag).await.unwrap()).await;
    assert_eq!(first.status, StatusCode::OK);
    answer(put(&etag).await.unwrap())
        .await
        .assert_error(412, None);
    let resp = s
        .client
        .delete(s.url(&format!("/Users/{id}")))
        .bearer_auth(&s.token)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    answer(resp).await.assert_error(412, None);
}

#[tokio::test]
async fn groups_fill_members_and_users_show_groups() {
    let s = server().await;
    let u1 = s.user("member1").await;
    let created = s
        .post(
            "/Users",
            &json!({"schemas": [USER_URN], "userName": "member2", "displayName": "Member Two"}),
        )
        .await;
    let u2 = created.body["id"].as_str().unwrap().to_string();
    let body = json!({
        "schemas": [GROUP_URN],
        "displayName": "Group A",
        "members": [{"value": u1}, {"value": u2, "$ref": null, "display": "ignored"}],
    });
    let g = s.post("/Groups", &body).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap();
    assert_eq!(g.body["meta"]["resourceType"], "Group");
    let members = g.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["value"], json!(u1));
    assert_eq!(members[0]["display"], "member1");
    assert_eq!(members[0]["type"], "User");
    assert_eq!(members[0]["$ref"], json!(s.url(&format!("/Users/{u1}"))));
    assert_eq!(members[1]["display"], "Member Two");

    let user = s.get(&format!("/Users/{u1}")).await;
    assert_eq!(
        user.body["groups"],
        json!([{"value": gid, "display": "Group A", "type": "direct",
                "$ref": s.url(&format!("/Groups/{gid}"))}])
    );

    // A nested group is a member of type Group.
    let outer = s.group("Outer", &[gid]).await;
    let outer = s.get(&format!("/Groups/{outer}")).await;
    assert_eq!(outer.body["members"][0]["type"], "Group");
    assert_eq!(outer.body["members"][0]["display"], "Group A");

    // Deleting a user drops it from its groups.
    s.delete(&format!("/Users/{u1}")).await;
    assert_eq!(s.member_ids(gid).await, vec![u2.clone()]);

    // PUT replaces the member list.
    let put = s
        .put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [GROUP_URN], "displayName": "Group A2"}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert!(put.body.get("members").is_none(), "{}", put.body);
    assert_eq!(
        s.get(&format!("/Users/{u2}")).await.body.get("groups"),
        None
    );
}

#[tokio::test]
async fn unknown_member_ids_are_invalid_value() {
    let s = server().await;
    let body =
        json!({"schemas": [GROUP_URN], "displayName": "G", "members": [{"value": "nobody"}]});
    let a = s.post("/Groups", &body).await;
    a.assert_error(400, Some("invalidValue"));
    assert!(a.body["detail"].as_str().unwrap().contains("nobody"));
    let body = json!({"schemas": [GROUP_URN], "displayName": "G", "members": [{"display": "x"}]});
    s.post("/Groups", &body)
        .await
        .assert_error(400, Some("invalidValue"));
    s.post("/Groups", &json!({"schemas": [GROUP_URN]}))
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn tenants_are_isolated_by_token() {
    let s = server_with(Config {
        tenants: vec![
            ("a".into(), "token-a".into()),
            ("b".into(), "token-b".into()),
        ],
        ..Config::default()
    })
    .await;
    assert_eq!(s.token, "token-a");
    let id = s.user("same").await;
    let as_b =
        |method: Method, path: &str| s.client.request(method, s.url(path)).bearer_auth("token-b");
    let a = answer(
        as_b(Method::GET, &format!("/Users/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    a.assert_error(404, None);
    let resp = as_b(Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER_URN], "userName": "same"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "userName is unique per tenant"
    );
    let list = answer(as_b(Method::GET, "/Users").send().await.unwrap()).await;
    assert_eq!(list.body["totalResults"], 1);
}

#[tokio::test]
async fn a_database_file_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("scim-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.sqlite");
    let _ = std::fs::remove_file(&db);
    let config = Config {
        db: Some(db.clone()),
        ..Config::default()
    };
    let s = server_with(config.clone()).await;
    let id = s.user("persisted").await;
    s.running.shutdown().await;
    let s = server_with(config).await;
    let a = s.get(&format!("/Users/{id}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["userName"], "persisted");
    s.running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_project_single_reads() {
    let s = server().await;
    let u = s.user("proj").await;
    let g = s.group("Team", &[&u]).await;
    let a = s
        .get(&format!("/Groups/{g}?excludedAttributes=members"))
        .await;
    assert!(a.body.get("members").is_none());
    assert_eq!(a.body["displayName"], "Team");
    let a = s.get(&format!("/Users/{u}?attributes=userName")).await;
    let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "schemas", "userName"]);
}

#[tokio::test]
async fn create_bodies_are_checked_and_normalised_with_the_schema() {
    let s = server().await;
    // Entra's group create: a private schema URN and a client `meta` (both ignored).
    let body = json!({
        "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
        "members": [],
    });
    let a = s.post("/Groups", &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["schemas"], json!([GROUP_URN]));

    // Names in any case are stored in the schema's spelling; unknown attributes dropped;
    // Entra's bare manager id becomes the complex form.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let body = json!({
        "schemas": [USER_URN],
        "UserName": "Mixed@Example.com",
        "ACTIVE": "True",
        "favouriteColour": "green",
        enterprise: {"manager": "MGR", "department": "Dept-1"},
    });
    let a = s.post("/Users", &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["userName"], "Mixed@Example.com");
    assert_eq!(a.body["active"], true);
    assert!(a.body.get("favouriteColour").is_none());
    assert_eq!(a.body[enterprise]["manager"]["value"], "MGR");
    assert_eq!(a.body["schemas"], json!([USER_URN, enterprise]));
    let dup = json!({"schemas": [USER_URN], "userName": "mixed@example.com"});
    s.post("/Users", &dup)
        .await
        .assert_error(409, Some("uniqueness"));

    // Values of the wrong type are 400 invalidValue.
    let bad = json!({"schemas": [USER_URN], "userName": "t", "emails": "a@example.com"});
    s.post("/Users", &bad)
        .await
        .assert_error(400, Some("invalidValue"));
    let bad = json!({"schemas": [USER_URN], "userName": 7});
    s.post("/Users", &bad)
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304() {
    let s = server().await;
    let created = s
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "c"}))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let etag = created.header("etag").unwrap().to_string();
    let get = |tag: &str| {
        s.client
            .get(s.url(&format!("/Users/{id}")))
            .bearer_auth(&s.token)
            .header("if-none-match", tag)
            .send()
    };
    let a = answer(get(&etag).await.unwrap()).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(a.header("etag"), Some(etag.as_str()));
    assert_eq!(
        answer(get("W/\"999\"").await.unwrap()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn write_responses_honour_attributes_and_keep_their_headers() {
    let s = server().await;
    let a = s
        .post(
            "/Users?attributes=userName",
            &json!({"schemas": [USER_URN], "userName": "w", "title": "T"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(
        a.body.get("title").is_none() && a.body.get("meta").is_none(),
        "{}",
        a.body
    );
    assert!(a.header("location").is_some() && a.header("etag").is_some());
    let id = a.body["id"].as_str().unwrap();
    let body = patch_op(json!([{"op": "replace", "path": "title", "value": "U"}]));
    let p = s
        .patch(&format!("/Users/{id}?excludedAttributes=title"), &body)
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.get("title").is_none());
    assert_eq!(s.get(&format!("/Users/{id}")).await.body["title"], "U");
}
