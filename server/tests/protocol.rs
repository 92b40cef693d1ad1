//! Authentication, errors, media types and discovery (RFC 7644 sections 2, 3.12, 4, 8.1).

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use scim_reference_server::{
    Config, BASE_PATH, DEFAULT_TOKEN, MAX_OPERATIONS, MAX_PAGE_SIZE, MAX_PAYLOAD_SIZE,
};
use serde_json::json;

#[tokio::test]
async fn spawn_reports_base_url_and_default_token() {
    let s = server().await;
    let base = s.running.base_url();
    assert_eq!(
        base,
        format!("http://127.0.0.1:{}{BASE_PATH}", s.running.addr.port())
    );
    assert_eq!(s.running.token(), DEFAULT_TOKEN);
    assert_eq!(Config::default_token(), DEFAULT_TOKEN);
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_challenge() {
    let s = server().await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic dXNlcjpwYXNz"),
        Some(DEFAULT_TOKEN),
    ] {
        let mut req = s.client.get(s.url("/Users"));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let a = answer(req.send().await.unwrap()).await;
        a.assert_error(401, None);
        assert!(
            a.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{auth:?}"
        );
        assert_eq!(a.header("content-type"), Some("application/scim+json"));
    }
    let ok = s
        .client
        .get(s.url("/Users"))
        .header("authorization", format!("bearer {DEFAULT_TOKEN}"));
    assert_eq!(ok.send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_endpoints_are_404_and_wrong_methods_405_with_scim_bodies() {
    let s = server().await;
    s.get("/Nope").await.assert_error(404, None);
    let outside = s
        .client
        .get(format!("http://{}/other", s.running.addr))
        .send()
        .await
        .unwrap();
    answer(outside).await.assert_error(404, None);
    let a = s.delete("/Users").await;
    a.assert_error(405, None);
    assert!(a.header("allow").is_some_and(|allow| allow.contains("GET")));
    s.send(
        reqwest::Method::POST,
        "/ServiceProviderConfig",
        Some(&json!({})),
    )
    .await
    .assert_error(405, None);
}

#[tokio::test]
async fn service_provider_config_is_truthful() {
    let s = server().await;
    let a = s.get("/ServiceProviderConfig").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    let c = &a.body;
    assert_eq!(
        c["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(
        c["bulk"],
        json!({"supported": true, "maxOperations": MAX_OPERATIONS,
               "maxPayloadSize": MAX_PAYLOAD_SIZE})
    );
    assert_eq!(
        c["filter"],
        json!({"supported": true, "maxResults": MAX_PAGE_SIZE})
    );
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    assert_eq!(c["changePassword"]["supported"], false);
    assert_eq!(c["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        c["meta"]["location"],
        json!(s.url("/ServiceProviderConfig"))
    );
}

#[tokio::test]
async fn schemas_and_resource_types_are_listed_and_fetchable() {
    let s = server().await;
    let a = s.get("/Schemas").await;
    assert_eq!(a.body["totalResults"], 3);
    let ids: Vec<&str> = a.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&USER_URN) && ids.contains(&GROUP_URN));
    let one = s.get(&format!("/Schemas/{USER_URN}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["id"], USER_URN);
    assert_eq!(
        one.body["meta"]["location"],
        json!(s.url(&format!("/Schemas/{USER_URN}")))
    );
    let user_name = one.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["caseExact"], false);
    s.get("/Schemas/urn:example:nope")
        .await
        .assert_error(404, None);

    let rts = s.get("/ResourceTypes").await;
    assert_eq!(rts.body["totalResults"], 2);
    let user = s.get("/ResourceTypes/User").await;
    assert_eq!(user.body["endpoint"], "/Users");
    assert_eq!(user.body["schema"], USER_URN);
    s.get("/ResourceTypes/Device").await.assert_error(404, None);
}

#[tokio::test]
async fn me_is_501_because_tokens_name_tenants_not_users() {
    let s = server().await;
    for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
        s.send(method, "/Me", None).await.assert_error(501, None);
    }
}

#[tokio::test]
async fn discovery_endpoints_refuse_writes_with_405() {
    let s = server().await;
    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let a = s.send(method.clone(), path, Some(&json!({}))).await;
            a.assert_error(405, None);
            assert!(
                a.header("allow").is_some_and(|v| v.contains("GET")),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn a_body_past_max_payload_size_is_413() {
    let s = server().await;
    let big = "x".repeat(MAX_PAYLOAD_SIZE + 1);
    let body = json!({"schemas": [USER_URN], "userName": big});
    s.post("/Users", &body).await.assert_error(413, None);
}

#[test]
fn config_debug_hides_tokens() {
    let config = Config {
        tenants: vec![("acme".into(), "s3cret-token".into())],
        ..Config::default()
    };
    let text = format!("{config:?}");
    assert!(
        text.contains("acme") && !text.contains("s3cret-token"),
        "{text}"
    );
}

#[tokio::test]
async fn a_hostile_host_header_does_not_reach_locations() {
    let s = server().await;
    let resp = s
        .client
        .post(s.url("/Users"))
        .bearer_auth(&s.token)
        .header("host", "evil.example/\"><x")
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER_URN], "userName": "h"}).to_string())
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a
        .header("location")
        .unwrap()
        .starts_with("http://localhost/scim/v2/Users/"));
}

/// A Request-URI past what hyper reads is 414 with a SCIM error body, not an empty one
/// (RFC 7644 section 3.12). Sent over a raw socket: HTTP clients refuse such a URI.
/// See: fresh-user trial, 414 with an empty body.
#[tokio::test]
async fn a_request_uri_too_long_is_414_with_a_scim_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = server().await;
    let mut socket = tokio::net::TcpStream::connect(s.running.addr)
        .await
        .unwrap();
    let request = format!(
        "GET {BASE_PATH}/Users?filter=userName+eq+%22{}%22 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
        "a".repeat(70_000)
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut reply),
    )
    .await
    .expect("the server closes the connection")
    .unwrap();
    let reply = String::from_utf8(reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 414 "), "{head}");
    assert!(
        head.contains("content-type: application/scim+json"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["schemas"], json!([ERROR_URN]));
    assert_eq!(body["status"], "414");
    assert!(
        body["detail"].as_str().unwrap().contains("/.search"),
        "{body}"
    );
}

/// An invalid filter is echoed cut to 200 characters with its full length, not whole.
/// See: fresh-user trial, a 57 KB filter came back whole in `detail`.
#[tokio::test]
async fn an_invalid_filter_is_echoed_cut_short() {
    let s = server().await;
    let filter = format!("userName eq \"{}\" and", "b".repeat(30_000));
    let resp = s
        .client
        .post(s.url("/Users/.search"))
        .bearer_auth(&s.token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter}).to_string())
        .send()
        .await
        .expect("answered");
    let answer = answer(resp).await;
    answer.assert_error(400, Some("invalidFilter"));
    let detail = answer.body["detail"].as_str().unwrap();
    assert!(detail.len() < 1_100, "{} characters", detail.len());
    assert!(
        detail.contains(&format!("... ({} characters in all)", filter.len())),
        "{detail}"
    );
}

/// A request body declared in a charset other than UTF-8 is 415 with a SCIM error, not
/// read as UTF-8 (RFC 7644 section 8.1). See: fresh-user trial, `charset=latin1` accepted.
#[tokio::test]
async fn a_request_charset_other_than_utf8_is_415() {
    let s = server().await;
    let send = |charset: &'static str, name: &'static str| {
        let body = json!({"schemas": [USER_URN], "userName": name}).to_string();
        let req = s
            .client
            .post(s.url("/Users"))
            .bearer_auth(&s.token)
            .header(
                "content-type",
                format!("application/scim+json; charset={charset}"),
            )
            .body(body);
        async move { answer(req.send().await.unwrap()).await }
    };
    let refused = send("latin1", "latin").await;
    refused.assert_error(415, None);
    assert!(refused.body["detail"]
        .as_str()
        .unwrap()
        .contains("`latin1`"));
    send("\"ISO-8859-1\"", "iso").await.assert_error(415, None);
    assert_eq!(send("UTF-8", "utf").await.status, StatusCode::CREATED);
}
