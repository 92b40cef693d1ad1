//! Error responses and authentication (RFC 7644 sections 2 and 3.12).

use super::quote;
use crate::case::{ensure, Case, Level, Profile, Verdict};
use crate::case_fn;
use crate::client::{Auth, Request};
use crate::context::{Cx, Endpoint, ERROR_SCHEMA};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.12/error-object-shape",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "An error body is a top-level SCIM Error object: `schemas` holds the Error URN, `status` is the HTTP code as a JSON string, and a scimType, if any, is from Table 9 (RFC 7644 section 3.12; OKTA-SPEC compares status with \"404\").",
            run: case_fn!(error_object_shape),
        },
        Case {
            id: "rfc7644-3.12/missing-username-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A User create without the required userName answers 400 with a SCIM Error whose scimType is `invalidValue` or `invalidSyntax` (RFC 7644 sections 3.3 and 3.12, RFC 7643 section 4.1.1: userName is REQUIRED).",
            run: case_fn!(missing_username_400),
        },
        Case {
            id: "rfc7644-3.12/missing-token-401",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "A request without an Authorization header answers 401 (RFC 7644 sections 2 and 3.12; Entra reads 401 as Unauthorized, MS-LOGS).",
            run: case_fn!(missing_token_401),
        },
        Case {
            id: "rfc7644-3.12/okta-wrong-token-401",
            level: Level::Must,
            profiles: &[Profile::Okta, Profile::Rfc],
            requirement: "A request with a wrong bearer token answers 401 with a SCIM Error body whose status is \"401\" (RFC 7644 section 3.12; OKTA-SPEC bad-auth test).",
            run: case_fn!(wrong_token_401),
        },
    ]
}

/// The scimType keywords of RFC 7644 section 3.12, Table 9.
const SCIM_TYPES: [&str; 10] = [
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
];

/// Checks the Error object: the Error URN, `status` as a string equal to the HTTP code,
/// and a `scimType`, when present, from Table 9.
fn check_error_body(reply: &crate::client::Reply) -> Verdict {
    let error = reply.json()?;
    let has_schema = error["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == ERROR_SCHEMA));
    ensure(has_schema, "`schemas` containing the Error URN", || {
        format!("`schemas` is {}", error["schemas"])
    })?;
    let want = reply.status.to_string();
    ensure(
        error["status"] == want.as_str(),
        &format!("`status` the string \"{want}\""),
        || format!("`status` is {}", error["status"]),
    )?;
    match &error["scimType"] {
        serde_json::Value::Null => Ok(()),
        value => ensure(
            value.as_str().is_some_and(|t| SCIM_TYPES.contains(&t)),
            "a `scimType`, when present, from RFC 7644 Table 9",
            || format!("`scimType` is {value}"),
        ),
    }
}

async fn error_object_shape(cx: Cx) -> Verdict {
    let reply = cx.read(Endpoint::Users, &cx.name("no-such-user")).await?;
    reply.expect_status(&[404])?;
    check_error_body(&reply)
}

fn probe(cx: &Cx) -> Request {
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    let nobody = format!("{}@example.com", cx.name("auth-probe"));
    request
        .query
        .push(("filter".into(), format!("userName eq {}", quote(&nobody))));
    request
}

async fn missing_token_401(cx: Cx) -> Verdict {
    let reply = cx.send_with_auth(probe(&cx), Auth::None).await?;
    reply.expect_status(&[401])
}

async fn wrong_token_401(cx: Cx) -> Verdict {
    let wrong = format!("Bearer {}", cx.name("not-the-token"));
    let reply = cx.send_with_auth(probe(&cx), Auth::Raw(wrong)).await?;
    reply.expect_status(&[401])?;
    check_error_body(&reply)
}

async fn missing_username_400(cx: Cx) -> Verdict {
    let mut body = cx.user_body("no-username");
    if let Some(object) = body.as_object_mut() {
        object.remove("userName");
    }
    let reply = cx.post_user(&body).await?;
    reply.expect_status(&[400])?;
    check_error_body(&reply)?;
    let error = reply.json()?;
    ensure(
        matches!(
            error["scimType"].as_str(),
            Some("invalidValue" | "invalidSyntax")
        ),
        "scimType `invalidValue` or `invalidSyntax`",
        || format!("scimType {}", error["scimType"]),
    )
}
