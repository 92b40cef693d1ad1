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
        Case {
            id: "rfc7644-3.12/invalid-json-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A create whose body is not JSON answers 400 with a SCIM Error (scimType `invalidSyntax`), not 5xx (RFC 7644 section 3.12, Table 9).",
            run: case_fn!(invalid_json_400),
        },
        Case {
            id: "rfc7644-3.12/wrong-json-type-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A create whose body is a JSON array instead of an object answers 400, not 5xx (RFC 7644 sections 3.3 and 3.12).",
            run: case_fn!(wrong_json_type_400),
        },
        Case {
            id: "rfc7644-3.12/unknown-attribute-not-5xx",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A create with an attribute no schema defines answers 201 (ignoring it) or 400 `invalidSyntax`/`invalidValue`, never 5xx (RFC 7644 sections 3.3 and 3.12; Entra sends attributes the SP may not know, MS-ATTR).",
            run: case_fn!(unknown_attribute_not_5xx),
        },
        Case {
            id: "rfc7644-3.4.2.2/long-filter-not-5xx",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A 10 KB filter of many `or` terms answers 200 with the right matches or a 4xx SCIM error (such as `tooMany` or `invalidFilter`), never 5xx or a hang (RFC 7644 sections 3.4.2.2 and 3.12).",
            run: case_fn!(long_filter_not_5xx),
        },
        Case {
            id: "rfc7644-3.4.2.2/deeply-nested-filter-not-5xx",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A filter nested 200 parentheses deep answers 200 or 400 `invalidFilter`, never 5xx or a crash (RFC 7644 sections 3.4.2.2 and 3.12).",
            run: case_fn!(deeply_nested_filter_not_5xx),
        },
        Case {
            id: "rfc7644-3.12/put-unknown-404",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PUT to a user id that does not exist answers 404, not a create (RFC 7644 sections 3.5.1 and 3.12).",
            run: case_fn!(put_unknown_404),
        },
        Case {
            id: "rfc7644-3.12/patch-unknown-404",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A PATCH to a user id that does not exist answers 404 (RFC 7644 section 3.12; Entra reads it as a vanished object, MS-LOGS).",
            run: case_fn!(patch_unknown_404),
        },
        Case {
            id: "rfc7644-3.12/get-unknown-group-404",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "GET /Groups/{id} for an id that does not exist answers 404 with a SCIM Error (RFC 7644 sections 3.4.1 and 3.12).",
            run: case_fn!(get_unknown_group_404),
        },
        Case {
            id: "rfc7644-3.5.2/unknown-op-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PATCH operation with an `op` other than add, remove or replace answers 400 (`invalidSyntax` or `invalidValue`) and changes nothing (RFC 7644 sections 3.5.2 and 3.12).",
            run: case_fn!(unknown_op_400),
        },
        Case {
            id: "rfc7644-3.5.2.2/remove-without-path-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A remove without `path` answers 400 with scimType `noTarget` (RFC 7644 section 3.5.2.2).",
            run: case_fn!(remove_without_path_400),
        },
        Case {
            id: "rfc7644-3.5.2.3/replace-filter-no-match",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A replace through a value filter that matches no value answers 400 `noTarget` (RFC 7644 section 3.5.2.3) or, as Entra needs for `emails[type eq \"work\"].value`, adds a value of that type (MS-TUT); never a 2xx that changes nothing, nor a 5xx.",
            run: case_fn!(replace_filter_no_match_400),
        },
        Case {
            id: "rfc7644-3.5.2/patch-not-patchop-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PATCH body without the PatchOp schema and Operations (a plain resource) answers 400, not 5xx and not a silent success (RFC 7644 sections 3.5.2 and 3.12).",
            run: case_fn!(patch_not_patchop_400),
        },
        Case {
            id: "rfc7644-3.12/error-media-type",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "Error responses carry `Content-Type: application/scim+json` like any other SCIM response (RFC 7644 sections 3.1, 3.12 and 8.1).",
            run: case_fn!(error_media_type),
        },
    ]
}

/// Accepts a 4xx with a SCIM Error; a 5xx or a 2xx is broken.
fn expect_client_error(reply: &crate::client::Reply, accepted: &[u16]) -> Verdict {
    reply.expect_status(accepted)?;
    check_error_body(reply)
}

async fn post_raw(cx: &Cx, body: &str) -> Result<crate::client::Reply, crate::case::Problem> {
    let mut request = Request::new(reqwest::Method::POST, "/Users");
    request.body = Some(body.to_owned());
    let reply = cx.send(request).await?;
    if reply.status == 201 {
        cx.track_reply(Endpoint::Users, &reply, "");
    }
    Ok(reply)
}

async fn invalid_json_400(cx: Cx) -> Verdict {
    let name = cx.name("bad-json");
    // Padded with JSON whitespace to a fixed length, so a server's "EOF at column N"
    // does not change with the run's name counter (snapshots stay stable).
    let pad = " ".repeat(64usize.saturating_sub(name.len()));
    let reply = post_raw(&cx, &format!("{{\"userName\": \"{name}\",{pad}")).await?;
    expect_client_error(&reply, &[400])?;
    let error = reply.json()?;
    ensure(
        error["scimType"] == "invalidSyntax",
        "scimType `invalidSyntax`",
        || format!("scimType {}", error["scimType"]),
    )
}

async fn wrong_json_type_400(cx: Cx) -> Verdict {
    let reply = post_raw(&cx, "[1, 2, 3]").await?;
    expect_client_error(&reply, &[400])
}

async fn unknown_attribute_not_5xx(cx: Cx) -> Verdict {
    let mut body = cx.user_body("unknown-attr");
    body["scimconfNoSuchAttribute"] = serde_json::json!("surprise");
    let reply = cx.post_user(&body).await?;
    if reply.status == 201 {
        return Ok(());
    }
    expect_client_error(&reply, &[201, 400])?;
    let error = reply.json()?;
    ensure(
        matches!(
            error["scimType"].as_str(),
            Some("invalidSyntax" | "invalidValue")
        ),
        "scimType `invalidSyntax` or `invalidValue`",
        || format!("scimType {}", error["scimType"]),
    )
}

async fn long_filter_not_5xx(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("long-filter").await?;
    let mut terms = vec![format!(
        "userName eq {}",
        quote(crate::context::str_of(&user, "userName"))
    )];
    let mut n = 0;
    while terms.iter().map(|t| t.len() + 4).sum::<usize>() < 10 * 1024 {
        terms.push(format!(
            "userName eq {}",
            quote(&format!("{}long-{n}@example.com", cx.prefix()))
        ));
        n += 1;
    }
    let filter = terms.join(" or ");
    let reply = cx.filter(Endpoint::Users, &filter).await?;
    if reply.status == 200 {
        let list = super::listing(&reply)?;
        return ensure(
            list.ids() == [crate::context::id_of(&user)],
            "exactly the one user that exists",
            || format!("ids {:?}", list.ids()),
        );
    }
    ensure(
        (400..500).contains(&reply.status),
        "200 or a 4xx for a 10 KB filter",
        || reply.describe(),
    )?;
    if reply.status == 400 {
        check_error_body(&reply)?;
    }
    Ok(())
}

async fn deeply_nested_filter_not_5xx(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let inner = format!(
        "userName eq {}",
        quote(&format!("{}@example.com", cx.name("nested")))
    );
    let filter = format!("{}{inner}{}", "(".repeat(200), ")".repeat(200));
    let reply = cx.filter(Endpoint::Users, &filter).await?;
    if reply.status == 200 {
        let list = super::listing(&reply)?;
        return ensure(list.total == 0, "no match", || {
            format!("totalResults {}", list.total)
        });
    }
    expect_client_error(&reply, &[400])
}

async fn put_unknown_404(cx: Cx) -> Verdict {
    let missing = cx.name("put-missing");
    let body = serde_json::json!({"schemas": [crate::context::USER_SCHEMA], "userName": format!("{missing}@example.com")});
    let reply = cx
        .send_json(
            reqwest::Method::PUT,
            &crate::context::resource_path(Endpoint::Users, &missing),
            &body,
        )
        .await?;
    if reply.status == 201 || reply.status == 200 {
        cx.track_reply(
            Endpoint::Users,
            &reply,
            body["userName"].as_str().unwrap_or_default(),
        );
    }
    expect_client_error(&reply, &[404])
}

async fn patch_unknown_404(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let missing = cx.name("patch-missing");
    let ops = serde_json::json!([{"op": "replace", "path": "nickName", "value": "x"}]);
    let reply = cx.patch(Endpoint::Users, &missing, ops).await?;
    expect_client_error(&reply, &[404])
}

async fn get_unknown_group_404(cx: Cx) -> Verdict {
    let reply = cx.read(Endpoint::Groups, &cx.name("no-such-group")).await?;
    expect_client_error(&reply, &[404])
}

async fn patch_expect_400(cx: &Cx, ops: serde_json::Value, types: &[&str]) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("bad-patch").await?;
    let id = crate::context::id_of(&user);
    let reply = cx.patch(Endpoint::Users, id, ops).await?;
    expect_client_error(&reply, &[400])?;
    let error = reply.json()?;
    ensure(
        error["scimType"]
            .as_str()
            .is_some_and(|t| types.contains(&t)),
        &format!("scimType one of {types:?}"),
        || format!("scimType {}", error["scimType"]),
    )?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["emails"] == user["emails"] && read.get("nickName").is_none(),
        "the user unchanged",
        || format!("emails {} nickName {}", read["emails"], read["nickName"]),
    )
}

async fn unknown_op_400(cx: Cx) -> Verdict {
    let ops = serde_json::json!([{"op": "upsert", "path": "nickName", "value": "x"}]);
    patch_expect_400(&cx, ops, &["invalidSyntax", "invalidValue"]).await
}

async fn remove_without_path_400(cx: Cx) -> Verdict {
    patch_expect_400(&cx, serde_json::json!([{"op": "remove"}]), &["noTarget"]).await
}

async fn replace_filter_no_match_400(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("no-target").await?;
    let id = crate::context::id_of(&user);
    let value = format!("{}@other.example", cx.name("no-target"));
    let ops = serde_json::json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": value}]);
    let reply = cx.patch(Endpoint::Users, id, ops).await?;
    if reply.status == 400 {
        let error = reply.json()?;
        return ensure(
            error["scimType"] == "noTarget",
            "scimType `noTarget`",
            || format!("scimType {}", error["scimType"]),
        );
    }
    reply.expect_status(&[200, 204, 400])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    let added = read["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["type"] == "other" && e["value"] == value.as_str());
    ensure(
        added,
        "an `other` email holding the value after a 2xx",
        || format!("emails {}", read["emails"]),
    )
}

async fn patch_not_patchop_400(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("not-patchop").await?;
    let body = serde_json::json!({"schemas": [crate::context::USER_SCHEMA], "nickName": "Plain"});
    let reply = cx
        .send_json(
            reqwest::Method::PATCH,
            &crate::context::resource_path(Endpoint::Users, crate::context::id_of(&user)),
            &body,
        )
        .await?;
    expect_client_error(&reply, &[400])
}

async fn error_media_type(cx: Cx) -> Verdict {
    let reply = cx.read(Endpoint::Users, &cx.name("media-404")).await?;
    reply.expect_status(&[404])?;
    let content_type = reply.header("content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    ensure(
        essence.eq_ignore_ascii_case("application/scim+json"),
        "Content-Type application/scim+json on the 404",
        || format!("Content-Type `{content_type}`"),
    )
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
