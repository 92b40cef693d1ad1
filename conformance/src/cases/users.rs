//! User lifecycle: create, read, replace, delete, uniqueness (RFC 7644 sections 3.3 to
//! 3.6, RFC 7643 sections 3.1 and 4.1).

use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, resource_path, str_of, Cx, Endpoint};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.3/create-user-201",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "POST /Users answers 201 Created with the new resource, including a server-minted `id` and the `userName` sent (RFC 7644 section 3.3; Entra caches the id, MS-TUT; Okta rejects an empty body, OKTA-REF).",
            run: case_fn!(create_user_201),
        },
        Case {
            id: "rfc7644-3.3/entra-create-user",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's create body (enterprise URN listed without enterprise attributes, client-sent `meta`, empty `roles`) answers 201 with an `id` (MS-TUT; RFC 7644 section 3.3).",
            run: case_fn!(entra_create_user),
        },
        Case {
            id: "rfc7643-4.1.1/okta-create-password-never-returned",
            level: Level::Must,
            profiles: &[Profile::Okta, Profile::Rfc],
            requirement: "Okta's create body (cleartext `password`, read-only `groups: []`) answers 201, and `password` is in neither the reply nor a later read (OKTA-REF; RFC 7643 section 4.1.1: password is returned never; RFC 7644 section 3.3).",
            run: case_fn!(okta_create_password_never_returned),
        },
        Case {
            id: "rfc7644-3.3/create-user-location-header",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "The 201 to a create carries a `Location` header equal to the resource's `meta.location` (RFC 7644 section 3.3).",
            run: case_fn!(create_user_location),
        },
        Case {
            id: "rfc7643-3.1/create-user-meta",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A created User carries server-assigned `meta` with `resourceType` \"User\", `created`, `lastModified` and `location` (RFC 7643 section 3.1).",
            run: case_fn!(create_user_meta),
        },
        Case {
            id: "rfc7644-3.3/create-ignores-client-id",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "An `id` sent by the client in a create is read-only and ignored: the server mints its own (RFC 7644 section 3.3, RFC 7643 section 3.1).",
            run: case_fn!(create_ignores_client_id),
        },
        Case {
            id: "rfc7644-3.4.1/get-user-by-id",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "GET /Users/{id} returns 200 with the resource of that id (RFC 7644 section 3.4.1; Entra and Okta read users by cached id, MS-TUT, OKTA-REF).",
            run: case_fn!(get_user_by_id),
        },
        Case {
            id: "rfc7644-3.4.1/get-unknown-user-404",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "GET /Users/{id} for an id that does not exist answers 404 (RFC 7644 sections 3.4.1 and 3.12; OKTA-SPEC).",
            run: case_fn!(get_unknown_user_404),
        },
        Case {
            id: "rfc7644-3.3/duplicate-username-409",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "Creating a User whose userName already exists answers 409 Conflict with scimType `uniqueness` (RFC 7644 section 3.3; Entra logs EntryConflict, MS-LOGS; Okta asserts 409, OKTA-SPEC).",
            run: case_fn!(duplicate_username_409),
        },
        Case {
            id: "rfc7643-4.1.1/duplicate-username-other-case-409",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "userName is unique without regard to case (caseExact false), so a create differing only in case also answers 409 (RFC 7643 section 4.1.1, RFC 7644 section 3.3).",
            run: case_fn!(duplicate_username_other_case_409),
        },
        Case {
            id: "rfc7644-3.5.1/put-replaces-user",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "PUT /Users/{id} replaces the resource's attributes, keeps its `id` and answers 200 with the new state (RFC 7644 section 3.5.1; Okta updates profiles by PUT, OKTA-REF).",
            run: case_fn!(put_replaces_user),
        },
        Case {
            id: "rfc7644-3.5.1/okta-put-deactivate",
            level: Level::Must,
            profiles: &[Profile::Okta],
            requirement: "A PUT echoing the read resource (including `id` and `meta`) with `active` false keeps the user and deactivates it (RFC 7644 section 3.5.1: read-only values are ignored; Okta AIW apps deactivate this way, OKTA-REF).",
            run: case_fn!(okta_put_deactivate),
        },
        Case {
            id: "rfc7644-3.14/patch-if-match",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When ETags are supported, a PATCH with the current ETag in If-Match succeeds and the same request with the now stale ETag answers 412 and changes nothing (RFC 7644 section 3.14, RFC 9110 section 13.1.1).",
            run: case_fn!(patch_if_match),
        },
        Case {
            id: "rfc7644-3.6/delete-user-then-404",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "DELETE /Users/{id} answers 204 No Content, and the resource then answers 404 (RFC 7644 section 3.6; Entra, MS-HOW).",
            run: case_fn!(delete_user_then_404),
        },
        Case {
            id: "rfc7644-3.6/delete-unknown-user-404",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "DELETE of an id that never existed answers 404 (RFC 7644 sections 3.6 and 3.12).",
            run: case_fn!(delete_unknown_user_404),
        },
    ]
}

async fn create_user_201(cx: Cx) -> Verdict {
    let body = cx.user_body("create");
    let reply = cx.post_user(&body).await?;
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    ensure(
        created["id"].as_str().is_some_and(|id| !id.is_empty()),
        "a non-empty `id` string",
        || format!("`id` is {}", created["id"]),
    )?;
    let sent = str_of(&body, "userName");
    let got = str_of(&created, "userName");
    ensure(
        got.eq_ignore_ascii_case(sent),
        &format!("`userName` {sent}"),
        || format!("`userName` {}", created["userName"]),
    )
}

async fn create_user_location(cx: Cx) -> Verdict {
    let reply = cx.post_user(&cx.user_body("location")).await?;
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    let location = reply
        .header("location")
        .ok_or_else(|| Problem::broken("a Location header", "no Location header"))?;
    ensure(
        created["meta"]["location"] == location,
        "`meta.location` equal to the Location header",
        || {
            format!(
                "Location `{location}` but `meta.location` {}",
                created["meta"]["location"]
            )
        },
    )?;
    let suffix = format!("/Users/{}", id_of(&created));
    ensure(
        location.ends_with(&suffix),
        &format!("a Location ending in {suffix}"),
        || format!("Location `{location}`"),
    )
}

async fn create_user_meta(cx: Cx) -> Verdict {
    let user = cx.create_user("meta").await?;
    let meta = &user["meta"];
    ensure(
        meta["resourceType"] == "User",
        "`meta.resourceType` \"User\"",
        || format!("`meta` is {meta}"),
    )?;
    for field in ["created", "lastModified", "location"] {
        ensure(
            meta[field].as_str().is_some_and(|s| !s.is_empty()),
            &format!("`meta.{field}` as a string"),
            || format!("`meta` is {meta}"),
        )?;
    }
    Ok(())
}

async fn create_ignores_client_id(cx: Cx) -> Verdict {
    let mut body = cx.user_body("client-id");
    let client_id = cx.name("client-chosen-id");
    body["id"] = json!(client_id);
    let reply = cx.post_user(&body).await?;
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    ensure(
        created["id"].is_string() && created["id"] != client_id.as_str(),
        "an `id` minted by the server",
        || format!("`id` is {} (the client sent {client_id})", created["id"]),
    )
}

async fn get_user_by_id(cx: Cx) -> Verdict {
    let user = cx.create_user("get").await?;
    let read = cx.read_ok(Endpoint::Users, id_of(&user)).await?;
    ensure(
        read["id"] == user["id"],
        &format!("`id` {}", user["id"]),
        || format!("`id` {}", read["id"]),
    )?;
    let want = str_of(&user, "userName");
    ensure(
        str_of(&read, "userName").eq_ignore_ascii_case(want),
        &format!("`userName` {want}"),
        || format!("`userName` {}", read["userName"]),
    )
}

async fn get_unknown_user_404(cx: Cx) -> Verdict {
    let missing = cx.name("no-such-id");
    let reply = cx.read(Endpoint::Users, &missing).await?;
    reply.expect_status(&[404])
}

async fn duplicate_username_409(cx: Cx) -> Verdict {
    let body = cx.user_body("duplicate");
    let first = cx.post_user(&body).await?;
    first
        .expect_status(&[201])
        .map_err(|p| p.in_setup("first create"))?;
    let mut again = body.clone();
    again["externalId"] = json!(cx.name("duplicate-ext"));
    let second = cx.post_user(&again).await?;
    second.expect_status(&[409])?;
    let error = second.json()?;
    ensure(
        error["scimType"] == "uniqueness",
        "scimType `uniqueness`",
        || format!("scimType {}", error["scimType"]),
    )
}

async fn duplicate_username_other_case_409(cx: Cx) -> Verdict {
    let body = cx.user_body("dup-case");
    let first = cx.post_user(&body).await?;
    first
        .expect_status(&[201])
        .map_err(|p| p.in_setup("first create"))?;
    let mut again = body.clone();
    again["userName"] = json!(str_of(&body, "userName").to_uppercase());
    again["externalId"] = json!(cx.name("dup-case-ext"));
    let second = cx.post_user(&again).await?;
    second.expect_status(&[409])
}

async fn put_replaces_user(cx: Cx) -> Verdict {
    let user = cx.create_user("put").await?;
    let id = id_of(&user);
    let new_display = cx.name("put-renamed");
    let body = json!({
        "schemas": [crate::context::USER_SCHEMA],
        "userName": user["userName"],
        "externalId": user["externalId"],
        "displayName": new_display,
        "name": {"givenName": "Put", "familyName": "Replaced"},
        "active": true
    });
    let reply = cx
        .send_json(
            reqwest::Method::PUT,
            &resource_path(Endpoint::Users, id),
            &body,
        )
        .await?;
    reply.expect_status(&[200])?;
    let answered = reply.json()?;
    ensure(
        answered["id"] == user["id"],
        "the same `id` after PUT",
        || format!("`id` {}", answered["id"]),
    )?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["displayName"] == new_display.as_str() && read["name"]["familyName"] == "Replaced",
        "the replaced displayName and name on read",
        || {
            format!(
                "displayName {} and name {}",
                read["displayName"], read["name"]
            )
        },
    )
}

async fn okta_put_deactivate(cx: Cx) -> Verdict {
    let user = cx.create_user("okta-put").await?;
    let id = id_of(&user);
    let mut body: Value = cx
        .read_ok(Endpoint::Users, id)
        .await
        .map_err(|p| p.in_setup("read before PUT"))?;
    body["active"] = json!(false);
    let reply = cx
        .send_json(
            reqwest::Method::PUT,
            &resource_path(Endpoint::Users, id),
            &body,
        )
        .await?;
    reply.expect_status(&[200])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(read["active"] == false, "`active` false on read", || {
        format!("`active` is {}", read["active"])
    })
}

async fn delete_user_then_404(cx: Cx) -> Verdict {
    let user = cx.create_user("delete").await?;
    let id = id_of(&user);
    let reply = cx.delete(Endpoint::Users, id).await?;
    reply.expect_status(&[204])?;
    let after = cx.read(Endpoint::Users, id).await?;
    after.expect_status(&[404]).map_err(|p| match p {
        Problem::Broken { actual, .. } => Problem::broken("status 404 on GET after DELETE", actual),
        other => other,
    })
}

async fn delete_unknown_user_404(cx: Cx) -> Verdict {
    let missing = cx.name("never-existed");
    let reply = cx.delete(Endpoint::Users, &missing).await?;
    reply.expect_status(&[404])
}

/// Sends a create variant with fresh prefixed names; returns the reply and the userName.
async fn create_variant(
    cx: &Cx,
    variant: &str,
    slug: &str,
) -> Result<(crate::client::Reply, String), Problem> {
    let base = cx.name(slug);
    let user_name = format!("{base}@example.com");
    let external_id = format!("{base}-ext");
    let password = format!("{base}-Pw1!");
    let values = [
        ("user_name", user_name.as_str()),
        ("external_id", &external_id),
        ("password", &password),
    ];
    let reply = cx.send_variant(variant, &values).await?;
    cx.track_reply(Endpoint::Users, &reply, &user_name);
    Ok((reply, user_name))
}

async fn entra_create_user(cx: Cx) -> Verdict {
    let (reply, user_name) = create_variant(&cx, "entra/create-user", "entra-create").await?;
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    ensure(
        created["id"].as_str().is_some_and(|id| !id.is_empty()),
        "a non-empty `id` string",
        || format!("`id` is {}", created["id"]),
    )?;
    ensure(
        str_of(&created, "userName").eq_ignore_ascii_case(&user_name),
        &format!("`userName` {user_name}"),
        || format!("`userName` {}", created["userName"]),
    )
}

async fn okta_create_password_never_returned(cx: Cx) -> Verdict {
    let (reply, _) = create_variant(&cx, "okta/create-user", "okta-create").await?;
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    ensure(
        created.get("password").is_none(),
        "no `password` in the 201 reply",
        || format!("`password` is {}", created["password"]),
    )?;
    let read = cx.read_ok(Endpoint::Users, id_of(&created)).await?;
    ensure(
        read.get("password").is_none(),
        "no `password` on read",
        || format!("`password` is {}", read["password"]),
    )
}

async fn patch_with_if_match(
    cx: &Cx,
    id: &str,
    etag: &str,
    display: &str,
) -> Result<crate::client::Reply, Problem> {
    let body = json!({
        "schemas": [crate::context::PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": display}]
    });
    let mut request =
        crate::client::Request::new(reqwest::Method::PATCH, resource_path(Endpoint::Users, id));
    request.headers.push(("If-Match".into(), etag.to_owned()));
    request.body = Some(body.to_string());
    cx.send(request).await
}

async fn patch_if_match(cx: Cx) -> Verdict {
    cx.require_patch()?;
    cx.require_etag()?;
    let user = cx.create_user("etag").await?;
    let id = id_of(&user);
    let read = cx.read(Endpoint::Users, id).await?;
    read.expect_status(&[200]).map_err(|p| p.in_setup("read"))?;
    let etag = read.header("etag").map(str::to_owned).ok_or_else(|| {
        Problem::broken(
            "an ETag header on GET (etag.supported is true)",
            "no ETag header",
        )
    })?;
    let first = cx.name("etag-first");
    patch_with_if_match(&cx, id, &etag, &first)
        .await?
        .expect_status(&[200, 204])?;
    let stale = patch_with_if_match(&cx, id, &etag, &cx.name("etag-stale")).await?;
    stale.expect_status(&[412])?;
    let after = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        after["displayName"] == first.as_str(),
        &format!("displayName still {first}"),
        || format!("displayName {}", after["displayName"]),
    )
}
