//! Optional features a ServiceProviderConfig advertises, each exercised when advertised
//! and skipped with that reason when not: ETags (RFC 7644 section 3.14), Bulk (section
//! 3.7), password changes (RFC 7643 section 5), and `/Me` (RFC 7644 section 3.11).

use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::client::Request;
use crate::context::{id_of, resource_path, str_of, Cx, Endpoint, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.14/etag-matches-meta-version",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are advertised, a GET carries an ETag header equal to `meta.version` (RFC 7644 section 3.14, RFC 7643 section 3.1).",
            run: case_fn!(etag_matches_meta_version),
        },
        Case {
            id: "rfc7644-3.14/etag-changes-on-write",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are advertised, a change to the resource changes its version (RFC 7644 section 3.14: the ETag identifies a version).",
            run: case_fn!(etag_changes_on_write),
        },
        Case {
            id: "rfc7644-3.14/if-none-match-304",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are advertised, a GET with If-None-Match holding the current ETag answers 304 Not Modified (RFC 7644 section 3.14, RFC 9110 section 13.1.2).",
            run: case_fn!(if_none_match_304),
        },
        Case {
            id: "rfc7644-3.14/put-stale-if-match-412",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are advertised, a PUT whose If-Match names an old version answers 412 and changes nothing (RFC 7644 section 3.14, RFC 9110 section 13.1.1).",
            run: case_fn!(put_stale_if_match_412),
        },
        Case {
            id: "rfc7644-3.14/delete-stale-if-match-412",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are advertised, a DELETE whose If-Match names an old version answers 412 and keeps the resource (RFC 7644 section 3.14).",
            run: case_fn!(delete_stale_if_match_412),
        },
        Case {
            id: "rfc7644-3.7/bulk-create-user",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When Bulk is advertised, a BulkRequest with one POST /Users answers 200 with a BulkResponse whose operation has status \"201\" and a location (RFC 7644 sections 3.7 and 3.7.3).",
            run: case_fn!(bulk_create_user),
        },
        Case {
            id: "rfc7644-3.7.2/bulk-id-reference",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When Bulk is advertised, a group created in the same BulkRequest can name a new user through `bulkId:<id>`, and the group then holds that user (RFC 7644 section 3.7.2).",
            run: case_fn!(bulk_id_reference),
        },
        Case {
            id: "rfc7644-3.7.3/bulk-fail-on-errors",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When Bulk is advertised, `failOnErrors: 1` stops after the first failing operation, so the operation after it is not performed (RFC 7644 section 3.7.3).",
            run: case_fn!(bulk_fail_on_errors),
        },
        Case {
            id: "rfc7643-5/change-password",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "When changePassword is advertised, a PATCH replacing `password` answers 200 or 204 and the password is never returned (RFC 7643 sections 4.1.1 and 5; Okta syncs passwords by PATCH, OKTA-REF).",
            run: case_fn!(change_password),
        },
        Case {
            id: "rfc7644-3.11/me-endpoint",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "`GET /Me` answers with the User the token authenticates, or 501 when the server does not map tokens to users (RFC 7644 section 3.11).",
            run: case_fn!(me_endpoint),
        },
    ]
}

/// A fresh user and its current ETag.
async fn user_with_etag(cx: &Cx, slug: &str) -> Result<(Value, String), Problem> {
    cx.require_etag()?;
    let user = cx.create_user(slug).await?;
    let reply = cx.read(Endpoint::Users, id_of(&user)).await?;
    reply.expect_status(&[200])?;
    let etag = reply.header("etag").map(str::to_owned).ok_or_else(|| {
        Problem::broken(
            "an ETag header on GET (etag.supported is true)",
            "no ETag header",
        )
    })?;
    Ok((reply.json()?, etag))
}

async fn etag_matches_meta_version(cx: Cx) -> Verdict {
    let (read, etag) = user_with_etag(&cx, "etag-version").await?;
    ensure(
        read["meta"]["version"] == etag.as_str(),
        &format!("`meta.version` {etag}"),
        || format!("`meta.version` {}", read["meta"]["version"]),
    )
}

async fn etag_changes_on_write(cx: Cx) -> Verdict {
    let (read, etag) = user_with_etag(&cx, "etag-change").await?;
    cx.require_patch()?;
    cx.patch(
        Endpoint::Users,
        id_of(&read),
        json!([{"op": "replace", "path": "nickName", "value": "Changed"}]),
    )
    .await?
    .expect_status(&[200, 204])?;
    let after = cx.read(Endpoint::Users, id_of(&read)).await?;
    let new = after.header("etag").unwrap_or_default();
    ensure(
        !new.is_empty() && new != etag,
        "a new ETag after the change",
        || format!("ETag `{new}` (before: `{etag}`)"),
    )
}

async fn if_none_match_304(cx: Cx) -> Verdict {
    let (read, etag) = user_with_etag(&cx, "etag-304").await?;
    let mut request = Request::new(
        reqwest::Method::GET,
        resource_path(Endpoint::Users, id_of(&read)),
    );
    request.headers.push(("If-None-Match".into(), etag));
    cx.send(request).await?.expect_status(&[304])
}

/// The ETag of a user before one change, plus the user's id.
async fn stale_etag(cx: &Cx, slug: &str) -> Result<(String, String), Problem> {
    let (read, etag) = user_with_etag(cx, slug).await?;
    let id = id_of(&read).to_owned();
    let body = json!({"schemas": [USER_SCHEMA], "userName": read["userName"], "nickName": "v2"});
    cx.send_json(
        reqwest::Method::PUT,
        &resource_path(Endpoint::Users, &id),
        &body,
    )
    .await?
    .expect_status(&[200])
    .map_err(|p| p.in_setup("change the user"))?;
    Ok((id, etag))
}

async fn put_stale_if_match_412(cx: Cx) -> Verdict {
    let (id, stale) = stale_etag(&cx, "etag-put").await?;
    let read = cx.read_ok(Endpoint::Users, &id).await?;
    let body = json!({"schemas": [USER_SCHEMA], "userName": read["userName"], "nickName": "v3"});
    let mut request = Request::new(reqwest::Method::PUT, resource_path(Endpoint::Users, &id));
    request.headers.push(("If-Match".into(), stale));
    request.body = Some(body.to_string());
    cx.send(request).await?.expect_status(&[412])?;
    let after = cx.read_ok(Endpoint::Users, &id).await?;
    ensure(after["nickName"] == "v2", "nickName still v2", || {
        format!("nickName {}", after["nickName"])
    })
}

async fn delete_stale_if_match_412(cx: Cx) -> Verdict {
    let (id, stale) = stale_etag(&cx, "etag-delete").await?;
    let mut request = Request::new(reqwest::Method::DELETE, resource_path(Endpoint::Users, &id));
    request.headers.push(("If-Match".into(), stale));
    cx.send(request).await?.expect_status(&[412])?;
    cx.read(Endpoint::Users, &id)
        .await?
        .expect_status(&[200])
        .map_err(|p| match p {
            Problem::Broken { actual, .. } => Problem::broken("the user still readable", actual),
            other => other,
        })
}

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Sends a BulkRequest; tracks what its POST operations created.
async fn bulk(
    cx: &Cx,
    operations: Vec<Value>,
    fail_on_errors: Option<u64>,
) -> Result<Value, Problem> {
    cx.require_bulk()?;
    let mut body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    let reply = cx.post("/Bulk", &body).await?;
    let answer = if reply.status == 200 {
        reply.json().ok()
    } else {
        None
    };
    // Track what the POST operations created. A readable BulkResponse says which ran and
    // which succeeded (RFC 7644 section 3.7.3: operations after `failOnErrors` is reached
    // are not run, so they have no result); without one, every POST is tracked by the name
    // sent and the cleanup looks it up.
    let results = answer
        .as_ref()
        .and_then(|a| a["Operations"].as_array().cloned());
    for op in body["Operations"].as_array().into_iter().flatten() {
        let endpoint = match op["path"].as_str() {
            Some("/Users") => Endpoint::Users,
            Some("/Groups") => Endpoint::Groups,
            _ => continue,
        };
        let name = str_of(&op["data"], endpoint.name_attr()).to_owned();
        let id = match &results {
            None => String::new(),
            Some(results) => match results.iter().find(|r| r["bulkId"] == op["bulkId"]) {
                None => continue,
                Some(result) if !bulk_status_ok(&result["status"]) => continue,
                Some(result) => result["location"]
                    .as_str()
                    .and_then(|l| l.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned(),
            },
        };
        cx.track_named(endpoint, &id, &name);
    }
    reply.expect_status(&[200])?;
    reply.json()
}

/// Whether a BulkResponse operation's `status` (a string per RFC 7644 section 3.7.3; some
/// servers send a number) is 2xx. An unreadable status counts as success, so the resource
/// is still tracked and cleaned up.
fn bulk_status_ok(status: &Value) -> bool {
    let code = match status {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    code.is_none_or(|c| (200..300).contains(&c))
}

fn bulk_user(cx: &Cx, bulk_id: &str) -> (Value, String) {
    let body = cx.user_body(&format!("bulk-{bulk_id}"));
    let name = str_of(&body, "userName").to_owned();
    (
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": body}),
        name,
    )
}

async fn bulk_create_user(cx: Cx) -> Verdict {
    let (op, _) = bulk_user(&cx, "u1");
    let answer = bulk(&cx, vec![op], None).await?;
    let first = &answer["Operations"][0];
    ensure(
        first["status"] == "201" && first["location"].is_string(),
        "status \"201\" and a location",
        || format!("operation {first}"),
    )
}

async fn bulk_id_reference(cx: Cx) -> Verdict {
    let (user_op, _) = bulk_user(&cx, "member");
    let group_name = cx.name("bulk-group");
    let group_op = json!({
        "method": "POST", "path": "/Groups", "bulkId": "group",
        "data": {"schemas": [GROUP_SCHEMA], "displayName": group_name,
                 "members": [{"type": "User", "value": "bulkId:member"}]}
    });
    let answer = bulk(&cx, vec![user_op, group_op], None).await?;
    let location = |bulk_id: &str| {
        answer["Operations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["bulkId"] == bulk_id)
            .and_then(|r| r["location"].as_str())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned)
    };
    let (Some(uid), Some(gid)) = (location("member"), location("group")) else {
        return Err(Problem::broken(
            "a location for both operations",
            crate::client::snippet(&answer.to_string()),
        ));
    };
    let group = cx.read_ok(Endpoint::Groups, &gid).await?;
    let members = super::member_ids(&group);
    ensure(
        members == [uid.clone()],
        &format!("members [{uid}]"),
        || format!("members {members:?}"),
    )
}

async fn bulk_fail_on_errors(cx: Cx) -> Verdict {
    let (first, name) = bulk_user(&cx, "first");
    let duplicate = json!({"method": "POST", "path": "/Users", "bulkId": "dup",
        "data": {"schemas": [USER_SCHEMA], "userName": name}});
    let (after, after_name) = bulk_user(&cx, "after");
    let answer = bulk(&cx, vec![first, duplicate, after], Some(1)).await?;
    let filter = format!("userName eq {}", super::quote(&after_name));
    let list = super::listing(&cx.filter(Endpoint::Users, &filter).await?)?;
    ensure(
        list.total == 0,
        "no user from the operation after the failure",
        || {
            format!(
                "it was created; the BulkResponse is {}",
                crate::client::snippet(&answer.to_string())
            )
        },
    )
}

async fn change_password(cx: Cx) -> Verdict {
    cx.require_change_password()?;
    cx.require_patch()?;
    let user = cx.create_user("password").await?;
    let reply = cx
        .patch(
            Endpoint::Users,
            id_of(&user),
            json!([{"op": "replace", "path": "password", "value": format!("{}-N3w!", cx.name("pw"))}]),
        )
        .await?;
    reply.expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Users, id_of(&user)).await?;
    ensure(
        read.get("password").is_none(),
        "no `password` on read",
        || "a password was returned".to_owned(),
    )
}

async fn me_endpoint(cx: Cx) -> Verdict {
    let reply = cx.get("/Me", &[]).await?;
    match reply.status {
        501 => Ok(()),
        404 => Err(Problem::skip(
            "GET /Me answered 404: the target has no /Me endpoint (RFC 7644 section 3.11 asks for 501)",
        )),
        _ => {
            reply.expect_status(&[200])?;
            let me = reply.json()?;
            ensure(
                me["id"].is_string() && me["userName"].is_string(),
                "a User with `id` and `userName`",
                || format!("the body is {}", crate::client::snippet(&me.to_string())),
            )
        }
    }
}
