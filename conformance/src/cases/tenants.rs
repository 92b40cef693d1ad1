//! Authentication and tenant isolation (RFC 7644 sections 2 and 7.4): with a second
//! tenant's token, one tenant never sees, changes or deletes the other's resources.
//! Without a second token these cases skip and say how to give one.

use super::{listing, quote};
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::client::{Auth, Request};
use crate::context::{id_of, resource_path, str_of, Cx, Endpoint, PATCH_OP};
use serde_json::json;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-7.4/tenant-cannot-read-other",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A second tenant's token reading the first tenant's user by id gets 404 (RFC 7644 section 7.4: a client only accesses the resources it is authorized for; section 6 multi-tenancy).",
            run: case_fn!(tenant_cannot_read_other),
        },
        Case {
            id: "rfc7644-7.4/tenant-filter-isolated",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A second tenant's filter on the first tenant's userName finds nothing (RFC 7644 sections 6 and 7.4).",
            run: case_fn!(tenant_filter_isolated),
        },
        Case {
            id: "rfc7644-7.4/tenant-cannot-change-other",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A second tenant's PATCH and DELETE of the first tenant's user answer 404 and the user is unchanged (RFC 7644 sections 6 and 7.4).",
            run: case_fn!(tenant_cannot_change_other),
        },
        Case {
            id: "rfc7644-7.4/tenant-username-namespaces",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "A second tenant may create a user with a userName the first tenant holds, since uniqueness is per tenant unless global (RFC 7643 section 7 `uniqueness: server`, RFC 7644 section 6).",
            run: case_fn!(tenant_username_namespaces),
        },
        Case {
            id: "rfc7644-2/bearer-scheme-case-insensitive",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "The auth scheme is matched without regard to case, so `bearer <token>` is accepted like `Bearer <token>` (RFC 7644 section 2 with RFC 6750 section 2.1 and RFC 9110 section 11.1).",
            run: case_fn!(bearer_scheme_case_insensitive),
        },
        Case {
            id: "rfc7644-2/basic-scheme-rejected",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "Credentials in a scheme the server does not offer (Basic with made-up credentials) answer 401 (RFC 7644 section 2).",
            run: case_fn!(basic_scheme_rejected),
        },
    ]
}

async fn tenant_cannot_read_other(cx: Cx) -> Verdict {
    let auth = cx.second_tenant_auth()?;
    let user = cx.create_user("tenant-a").await?;
    let request = Request::new(
        reqwest::Method::GET,
        resource_path(Endpoint::Users, id_of(&user)),
    );
    cx.send_with_auth(request, auth)
        .await?
        .expect_status(&[404])
}

async fn tenant_filter_isolated(cx: Cx) -> Verdict {
    let auth = cx.second_tenant_auth()?;
    cx.require_filter()?;
    let user = cx.create_user("tenant-filter").await?;
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    request.query.push((
        "filter".into(),
        format!("userName eq {}", quote(str_of(&user, "userName"))),
    ));
    let list = listing(&cx.send_with_auth(request, auth).await?)?;
    ensure(list.total == 0, "no match for the other tenant", || {
        format!("totalResults {} with ids {:?}", list.total, list.ids())
    })
}

async fn tenant_cannot_change_other(cx: Cx) -> Verdict {
    let auth = cx.second_tenant_auth()?;
    let user = cx.create_user("tenant-change").await?;
    let path = resource_path(Endpoint::Users, id_of(&user));
    let mut patch = Request::new(reqwest::Method::PATCH, path.clone());
    patch.body = Some(
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "nickName", "value": "Intruder"}]})
            .to_string(),
    );
    cx.send_with_auth(patch, auth.clone())
        .await?
        .expect_status(&[404])?;
    let delete = Request::new(reqwest::Method::DELETE, path);
    cx.send_with_auth(delete, auth)
        .await?
        .expect_status(&[404])?;
    let read = cx.read_ok(Endpoint::Users, id_of(&user)).await?;
    ensure(read.get("nickName").is_none(), "the user unchanged", || {
        format!("nickName {}", read["nickName"])
    })
}

async fn tenant_username_namespaces(cx: Cx) -> Verdict {
    let auth = cx.second_tenant_auth()?;
    let user = cx.create_user("tenant-same-name").await?;
    let mut request = Request::new(reqwest::Method::POST, "/Users");
    let body = json!({"schemas": [crate::context::USER_SCHEMA], "userName": user["userName"]});
    request.body = Some(body.to_string());
    let reply = cx.send_with_auth(request, auth.clone()).await?;
    if reply.status == 201 {
        // Not tracked by the run (the cleanup speaks as the first tenant): delete it here.
        let id = reply.json()?["id"].as_str().unwrap_or_default().to_owned();
        let delete = Request::new(reqwest::Method::DELETE, resource_path(Endpoint::Users, &id));
        let gone = cx.send_with_auth(delete, auth).await?;
        if gone.status != 204 {
            return Err(Problem::error(format!(
                "the second tenant's user {id} could not be deleted: {}",
                gone.describe()
            )));
        }
    }
    reply.expect_status(&[201])
}

async fn bearer_scheme_case_insensitive(cx: Cx) -> Verdict {
    let Some(token) = cx.client().token() else {
        return Err(Problem::skip("the run has no token"));
    };
    let auth = Auth::Raw(format!("bearer {}", token.expose()));
    let user = cx.create_user("bearer-case").await?;
    let request = Request::new(
        reqwest::Method::GET,
        resource_path(Endpoint::Users, id_of(&user)),
    );
    cx.send_with_auth(request, auth)
        .await?
        .expect_status(&[200])
}

async fn basic_scheme_rejected(cx: Cx) -> Verdict {
    let request = Request::new(
        reqwest::Method::GET,
        resource_path(Endpoint::Users, &cx.name("basic")),
    );
    // "scimconf:not-a-password" in base64.
    let auth = Auth::Raw("Basic c2NpbWNvbmY6bm90LWEtcGFzc3dvcmQ=".into());
    cx.send_with_auth(request, auth)
        .await?
        .expect_status(&[401])
}
