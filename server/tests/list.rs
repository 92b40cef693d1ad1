//! List requests: filters, pagination and projection (RFC 7644 section 3.4.2).

mod common;

use common::*;
use reqwest::StatusCode;
use scim_reference_server::{LIST_URN, MAX_PAGE_SIZE};
use serde_json::{json, Value};

fn user_names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn three_users() -> Server {
    let s = server().await;
    for name in ["a", "b", "c"] {
        s.user(name).await;
    }
    s
}

#[tokio::test]
async fn list_response_shape_and_stable_order() {
    let s = three_users().await;
    let a = s.get("/Users").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["schemas"], json!([LIST_URN]));
    assert_eq!(a.body["totalResults"], 3);
    assert_eq!(a.body["itemsPerPage"], 3);
    assert_eq!(a.body["startIndex"], 1);
    assert_eq!(user_names(&a.body), ["a", "b", "c"]);
}

#[tokio::test]
async fn start_index_is_one_based_and_below_one_reads_as_one() {
    let s = three_users().await;
    for (start, want, answered) in [
        ("0", vec!["a"], 1),
        ("1", vec!["a"], 1),
        ("2", vec!["b"], 2),
        ("-3", vec!["a"], 1),
    ] {
        let a = s.get(&format!("/Users?startIndex={start}&count=1")).await;
        assert_eq!(user_names(&a.body), want, "startIndex={start}");
        assert_eq!(a.body["startIndex"], answered);
        assert_eq!(a.body["totalResults"], 3);
    }
    let past = s.get("/Users?startIndex=4&count=1").await;
    assert_eq!(past.body["totalResults"], 3);
    assert_eq!(past.body["Resources"], json!([]));
    assert_eq!(past.body["itemsPerPage"], 0);
}

#[tokio::test]
async fn count_zero_and_negative_return_only_the_total() {
    let s = three_users().await;
    for count in ["0", "-5"] {
        let a = s.get(&format!("/Users?count={count}")).await;
        assert_eq!(a.body["totalResults"], 3, "count={count}");
        assert_eq!(a.body["Resources"], json!([]));
    }
    let a = s.get("/Users?startIndex=2&count=1").await;
    assert_eq!(a.body["itemsPerPage"], 1);
    assert_eq!(a.body["totalResults"], 3);
    s.get("/Users?count=ten")
        .await
        .assert_error(400, Some("invalidValue"));
    let huge = s.get(&format!("/Users?count={}", MAX_PAGE_SIZE * 10)).await;
    assert_eq!(huge.body["itemsPerPage"], 3);
}

#[tokio::test]
async fn filter_user_name_eq_ignores_case_including_compound_filters() {
    let s = server().await;
    s.user("User.One@Example.com").await;
    s.user("other").await;
    for filter in [
        r#"userName eq "user.one@example.COM""#,
        r#"userName eq "USER.ONE@EXAMPLE.COM" and active pr or userName eq "USER.ONE@EXAMPLE.COM""#,
        r#"USERNAME EQ "user.one@example.com""#,
    ] {
        let a = s.get(&format!("/Users?filter={}", enc(filter))).await;
        assert_eq!(a.status, StatusCode::OK, "{filter}: {}", a.body);
        assert_eq!(user_names(&a.body), ["User.One@Example.com"], "{filter}");
    }
}

#[tokio::test]
async fn filter_without_match_is_200_with_zero_total() {
    let s = three_users().await;
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "nobody@example.com""#)
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["totalResults"], 0);
    assert_eq!(a.body["Resources"], json!([]));
}

#[tokio::test]
async fn entra_lookups_by_external_id_and_work_email() {
    let s = server().await;
    let body = json!({
        "schemas": [USER_URN],
        "userName": "u1",
        "externalId": "EXT-0001",
        "emails": [{"type": "work", "value": "user1+tag@example.com"}, {"type": "home", "value": "h@example.com"}],
    });
    assert_eq!(s.post("/Users", &body).await.status, StatusCode::CREATED);
    s.user("u2").await;
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"externalId eq "EXT-0001""#)
        ))
        .await;
    assert_eq!(user_names(&a.body), ["u1"]);
    // externalId is caseExact (RFC 7643 section 3.1).
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"externalId eq "ext-0001""#)
        ))
        .await;
    assert_eq!(a.body["totalResults"], 0);
    let filter = r#"emails[type eq "work"].value eq "user1+tag@example.com""#;
    let a = s.get(&format!("/Users?filter={}", enc(filter))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(user_names(&a.body), ["u1"]);
    let filter = r#"emails[type eq "home"].value eq "user1+tag@example.com""#;
    let a = s.get(&format!("/Users?filter={}", enc(filter))).await;
    assert_eq!(a.body["totalResults"], 0);
    // `+` on the wire is a space in form encoding (bug-01), `%2B` a plus (bug-14).
    let a = s
        .get("/Users?filter=emails%5Bvalue+co+%22%2Btag%22%5D")
        .await;
    assert_eq!(user_names(&a.body), ["u1"]);
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter() {
    let s = three_users().await;
    for filter in [
        r#"userName zz "x""#,
        "userName eq",
        r#"emails[type eq "work"] eq "x""#,
        r#"nosuchattribute eq "x""#,
        r#"active eq "true""#,
        "userName eq user1",
    ] {
        let a = s.get(&format!("/Users?filter={}", enc(filter))).await;
        a.assert_error(400, Some("invalidFilter"));
        assert!(
            a.body["detail"].as_str().unwrap().contains(filter),
            "{}",
            a.body
        );
    }
}

#[tokio::test]
async fn group_filters_and_excluded_members() {
    let s = server().await;
    let u = s.user("m").await;
    s.group("Team Alpha Ops", &[&u]).await;
    s.group("Other", &[]).await;
    let a = s
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22team+alpha+ops%22")
        .await;
    assert_eq!(a.body["totalResults"], 1);
    let g = &a.body["Resources"][0];
    assert_eq!(g["displayName"], "Team Alpha Ops");
    assert!(g.get("members").is_none());
    let a = s
        .get(&format!(
            "/Groups?filter={}",
            enc(&format!(r#"members.value eq "{u}""#))
        ))
        .await;
    assert_eq!(a.body["totalResults"], 1);
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"meta.resourceType eq "User""#)
        ))
        .await;
    assert_eq!(a.body["totalResults"], 1);
}

#[tokio::test]
async fn trailing_separators_in_the_query_are_ignored() {
    let s = three_users().await;
    let a = s.get("/Users?filter=userName+eq+%22b%22&").await;
    assert_eq!(user_names(&a.body), ["b"]);
}

#[tokio::test]
async fn non_ascii_names_are_found_through_the_narrowed_query() {
    let s = server().await;
    s.user("ÉLODIE").await;
    s.user("KELVIN\u{212A}").await;
    let a = s
        .get(&format!("/Users?filter={}", enc(r#"userName eq "élodie""#)))
        .await;
    assert_eq!(user_names(&a.body), ["ÉLODIE"]);
    let a = s
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "kelvink""#)
        ))
        .await;
    assert_eq!(
        user_names(&a.body),
        ["KELVIN\u{212A}"],
        "the evaluator folds Unicode"
    );
}

#[tokio::test]
async fn post_search_takes_the_same_parameters() {
    let s = three_users().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"b\" or userName eq \"C\"",
        "startIndex": 1,
        "count": 0,
    });
    let a = s.post("/Users/.search", &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["totalResults"], 2);
    assert_eq!(a.body["Resources"], json!([]));
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"b\" or userName eq \"C\"",
        "attributes": ["userName"],
        "startIndex": 2,
    });
    let a = s.post("/Users/.search", &body).await;
    assert_eq!(user_names(&a.body), ["c"]);
    assert_eq!(
        a.body["Resources"][0].as_object().unwrap().len(),
        3,
        "id, schemas, userName"
    );
    s.post("/Users/.search", &json!({"filter": "userName pr"}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let bad = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "x eq"});
    s.post("/Groups/.search", &bad)
        .await
        .assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn a_trailing_slash_names_the_collection() {
    let s = three_users().await;
    let a = s.get("/Users/?filter=DisplayName+eq+%22Test+User%22").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["totalResults"], 0);
    assert_eq!(s.get("/Users/").await.body["totalResults"], 3);
}
