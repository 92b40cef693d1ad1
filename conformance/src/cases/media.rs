//! Media types of requests and responses (RFC 7644 sections 3.1 and 3.8, section 8.1).

use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::client::Request;
use crate::context::{id_of, Cx, Endpoint};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.8/response-media-type",
            level: Level::Should,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "JSON responses carry `Content-Type: application/scim+json`, the SCIM media type (RFC 7644 sections 3.8 and 8.1; Entra requires it, MS-TUT).",
            run: case_fn!(response_media_type),
        },
        Case {
            id: "rfc7644-3.8/accept-application-json",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "A request with `Accept: application/json` is answered with JSON, not 406 (RFC 7644 section 3.8: service providers SHOULD support it).",
            run: case_fn!(accept_application_json),
        },
        Case {
            id: "rfc7644-3.8/okta-request-application-json",
            level: Level::Should,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "A POST whose body is labelled `Content-Type: application/json` is accepted with 201 (RFC 7644 section 3.8; Okta's test suite sends it, OKTA-SPEC).",
            run: case_fn!(request_application_json),
        },
        Case {
            id: "rfc7644-3.8/entra-request-charset-parameter",
            level: Level::Must,
            profiles: &[Profile::Entra, Profile::Okta],
            requirement: "A POST labelled `Content-Type: application/scim+json; charset=utf-8` is accepted with 201, since media-type parameters must be tolerated (RFC 7644 section 8.1; Entra and Okta send it, MS-TUT, OKTA-REF).",
            run: case_fn!(request_charset),
        },
    ]
}

async fn response_media_type(cx: Cx) -> Verdict {
    let user = cx.create_user("media").await?;
    let reply = cx.read(Endpoint::Users, id_of(&user)).await?;
    reply.expect_status(&[200])?;
    let content_type = reply.header("content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    ensure(
        essence.eq_ignore_ascii_case("application/scim+json"),
        "Content-Type application/scim+json",
        || format!("Content-Type `{content_type}`"),
    )
}

async fn accept_application_json(cx: Cx) -> Verdict {
    let user = cx.create_user("accept-json").await?;
    let mut request = Request::new(
        reqwest::Method::GET,
        crate::context::resource_path(Endpoint::Users, id_of(&user)),
    );
    request
        .headers
        .push(("Accept".into(), "application/json".into()));
    let reply = cx.send(request).await?;
    reply.expect_status(&[200])?;
    let body = reply.json()?;
    ensure(body["id"] == user["id"], "the user read back", || {
        format!("id {}", body["id"])
    })
}

async fn post_with_content_type(cx: &Cx, slug: &str, content_type: &str) -> Verdict {
    let body = cx.user_body(slug);
    let mut request = Request::new(reqwest::Method::POST, "/Users");
    request
        .headers
        .push(("Content-Type".into(), content_type.into()));
    request.body = Some(body.to_string());
    let reply = cx.send(request).await?;
    cx.track_reply(
        Endpoint::Users,
        &reply,
        body["userName"].as_str().unwrap_or_default(),
    );
    reply.expect_status(&[201]).map_err(|p| match p {
        Problem::Broken { expected, actual } => Problem::broken(
            format!("{expected} for Content-Type `{content_type}`"),
            actual,
        ),
        other => other,
    })
}

async fn request_application_json(cx: Cx) -> Verdict {
    post_with_content_type(&cx, "ct-json", "application/json").await
}

async fn request_charset(cx: Cx) -> Verdict {
    post_with_content_type(&cx, "ct-charset", "application/scim+json; charset=utf-8").await
}
