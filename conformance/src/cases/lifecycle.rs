//! The life of a user: uniqueness under concurrency, renames that collide, delete and
//! what follows it, deactivation and reactivation, and idempotent replays
//! (RFC 7644 sections 3.3, 3.5 and 3.6).

use super::{listing, quote};
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, resource_path, str_of, Cx, Endpoint, USER_SCHEMA};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.3/concurrent-duplicate-creates",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "Two concurrent creates of the same userName give exactly one 201 and one 409 `uniqueness`, never two users (RFC 7644 section 3.3; Entra retries a create that timed out, Microsoft Q&A 1151866).",
            run: case_fn!(concurrent_duplicate_creates),
        },
        Case {
            id: "rfc7644-3.5.1/put-username-taken-409",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "A PUT that changes userName to one another user holds answers 409 `uniqueness` and changes nothing (RFC 7644 sections 3.5.1 and 3.12).",
            run: case_fn!(put_username_taken_409),
        },
        Case {
            id: "rfc7644-3.5.2/patch-username-taken-409",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A PATCH that sets userName to one another user holds answers 409 `uniqueness` (RFC 7644 sections 3.5.2 and 3.12; Entra renames by PATCH, MS-TUT).",
            run: case_fn!(patch_username_taken_409),
        },
        Case {
            id: "rfc7644-3.6/delete-twice-404",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A second DELETE of the same user answers 404 (RFC 7644 section 3.6: the deleted resource is no longer available).",
            run: case_fn!(delete_twice_404),
        },
        Case {
            id: "rfc7644-3.6/deleted-user-not-listed",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "After DELETE, a filter on the user's userName returns no resource (RFC 7644 section 3.6: the resource MUST be omitted from future query results).",
            run: case_fn!(deleted_user_not_listed),
        },
        Case {
            id: "rfc7644-3.6/deleted-user-patch-404",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PATCH or PUT of a deleted user answers 404 (RFC 7644 sections 3.6 and 3.12).",
            run: case_fn!(deleted_user_patch_404),
        },
        Case {
            id: "rfc7644-3.6/deleted-member-leaves-group",
            level: Level::Should,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A deleted user no longer appears among the members of a group that held it (RFC 7644 section 3.6: the resource is no longer available; RFC 7643 section 4.2).",
            run: case_fn!(deleted_member_leaves_group),
        },
        Case {
            id: "rfc7644-3.5.2.3/deactivated-user-still-found",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta, Profile::Entra],
            requirement: "A deactivated user (active false) is still found by `userName eq`, so the IdP matches it on its next cycle instead of creating a duplicate (OKTA-REF: Okta never deletes users; MS-TUT; RFC 7644 section 3.4.2.2).",
            run: case_fn!(deactivated_user_still_found),
        },
        Case {
            id: "rfc7644-3.5.2.3/deactivate-reactivate-keeps-id",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta, Profile::Entra],
            requirement: "Deactivating and then reactivating a user keeps its id and its other attributes (OKTA-REF reuses the id; MS-HOW re-activates instead of re-creating; RFC 7644 section 3.5.2.3).",
            run: case_fn!(deactivate_reactivate_keeps_id),
        },
        Case {
            id: "rfc7644-3.5.2/entra-cycle-replay-idempotent",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Replaying the same Entra cycle (rename, work email, deactivate, group member add) a second time answers 2xx and leaves users and group as the first pass left them (MS-WHEN: objects are retried in later cycles; RFC 7644 section 3.5.2).",
            run: case_fn!(entra_cycle_replay_idempotent),
        },
        Case {
            id: "rfc7644-3.5.1/put-clears-omitted-attribute",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "A PUT that omits a read-write attribute the user had (nickName) removes it: PUT replaces the whole resource (RFC 7644 section 3.5.1).",
            run: case_fn!(put_clears_omitted_attribute),
        },
        Case {
            id: "rfc7644-3.5.1/put-without-username-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PUT without the required userName answers 400 and keeps the user (RFC 7644 section 3.5.1, RFC 7643 section 4.1.1).",
            run: case_fn!(put_without_username_400),
        },
        Case {
            id: "rfc7644-3.5.2.2/remove-single-valued",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "`{\"op\":\"remove\",\"path\":\"nickName\"}` removes the attribute (RFC 7644 section 3.5.2.2).",
            run: case_fn!(remove_single_valued),
        },
        Case {
            id: "rfc7644-3.5.2.1/add-email-appends",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "An add on the multi-valued `emails` appends the new value and keeps the existing one (RFC 7644 section 3.5.2.1).",
            run: case_fn!(add_email_appends),
        },
    ]
}

async fn concurrent_duplicate_creates(cx: Cx) -> Verdict {
    let body = cx.user_body("concurrent");
    let mut twin = body.clone();
    twin["externalId"] = json!(cx.name("concurrent-twin-ext"));
    let (a, b) = tokio::join!(cx.post_user(&body), cx.post_user(&twin));
    let (a, b) = (a?, b?);
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    ensure(statuses == [201, 409], "one 201 and one 409", || {
        format!("statuses {} and {}", a.status, b.status)
    })?;
    let loser = if a.status == 409 { &a } else { &b };
    let error = loser.json()?;
    ensure(
        error["scimType"] == "uniqueness",
        "scimType `uniqueness` on the 409",
        || format!("scimType {}", error["scimType"]),
    )?;
    let filter = format!("userName eq {}", quote(str_of(&body, "userName")));
    let list = listing(&cx.filter(Endpoint::Users, &filter).await?)?;
    ensure(
        list.total == 1,
        "exactly one user with that userName",
        || format!("totalResults {}", list.total),
    )
}

async fn rename_conflict(cx: &Cx, by_put: bool) -> Verdict {
    let first = cx.create_user("taken-a").await?;
    let second = cx.create_user("taken-b").await?;
    let id = id_of(&second);
    let taken = str_of(&first, "userName");
    let reply = if by_put {
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": taken,
            "externalId": second["externalId"],
            "active": true
        });
        cx.send_json(
            reqwest::Method::PUT,
            &resource_path(Endpoint::Users, id),
            &body,
        )
        .await?
    } else {
        cx.require_patch()?;
        cx.patch(
            Endpoint::Users,
            id,
            json!([{"op": "replace", "path": "userName", "value": taken}]),
        )
        .await?
    };
    reply.expect_status(&[409])?;
    let error = reply.json()?;
    ensure(
        error["scimType"] == "uniqueness",
        "scimType `uniqueness`",
        || format!("scimType {}", error["scimType"]),
    )?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["userName"] == second["userName"],
        "the user's own userName kept",
        || format!("userName {}", read["userName"]),
    )
}

async fn put_username_taken_409(cx: Cx) -> Verdict {
    rename_conflict(&cx, true).await
}

async fn patch_username_taken_409(cx: Cx) -> Verdict {
    rename_conflict(&cx, false).await
}

/// Creates a user, deletes it (requiring 204) and returns it.
async fn deleted_user(cx: &Cx, slug: &str) -> Result<Value, Problem> {
    let user = cx.create_user(slug).await?;
    cx.delete(Endpoint::Users, id_of(&user))
        .await?
        .expect_status(&[204])
        .map_err(|p| p.in_setup("delete"))?;
    Ok(user)
}

async fn delete_twice_404(cx: Cx) -> Verdict {
    let user = deleted_user(&cx, "delete-twice").await?;
    cx.delete(Endpoint::Users, id_of(&user))
        .await?
        .expect_status(&[404])
}

async fn deleted_user_not_listed(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = deleted_user(&cx, "deleted-lookup").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let list = listing(&cx.filter(Endpoint::Users, &filter).await?)?;
    ensure(
        list.total == 0 && list.resources.is_empty(),
        "no resource for the deleted userName",
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

async fn deleted_user_patch_404(cx: Cx) -> Verdict {
    let user = deleted_user(&cx, "deleted-patch").await?;
    let id = id_of(&user);
    if cx.caps().patch {
        cx.patch(
            Endpoint::Users,
            id,
            json!([{"op": "replace", "path": "nickName", "value": "Ghost"}]),
        )
        .await?
        .expect_status(&[404])?;
    }
    let body = json!({"schemas": [USER_SCHEMA], "userName": user["userName"]});
    cx.send_json(
        reqwest::Method::PUT,
        &resource_path(Endpoint::Users, id),
        &body,
    )
    .await?
    .expect_status(&[404])
}

async fn deleted_member_leaves_group(cx: Cx) -> Verdict {
    let stays = cx.create_user("member-stays").await?;
    let goes = cx.create_user("member-goes").await?;
    let group = cx
        .create_group("member-deleted", &[id_of(&stays), id_of(&goes)])
        .await?;
    cx.delete(Endpoint::Users, id_of(&goes))
        .await?
        .expect_status(&[204])
        .map_err(|p| p.in_setup("delete member"))?;
    let members = super::member_ids(&cx.read_ok(Endpoint::Groups, id_of(&group)).await?);
    ensure(
        members == [id_of(&stays).to_owned()],
        &format!("only {} left", id_of(&stays)),
        || format!("members {members:?}"),
    )
}

async fn set_active(cx: &Cx, id: &str, active: bool) -> Verdict {
    cx.require_patch()?;
    cx.patch(
        Endpoint::Users,
        id,
        json!([{"op": "replace", "path": "active", "value": active}]),
    )
    .await?
    .expect_status(&[200, 204])
}

async fn deactivated_user_still_found(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("inactive-lookup").await?;
    set_active(&cx, id_of(&user), false)
        .await
        .map_err(|p| p.in_setup("deactivate"))?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let list = listing(&cx.filter(Endpoint::Users, &filter).await?)?;
    ensure(
        list.ids() == [id_of(&user)] && list.resources[0]["active"] == false,
        "the user, with active false",
        || format!("ids {:?}", list.ids()),
    )
}

async fn deactivate_reactivate_keeps_id(cx: Cx) -> Verdict {
    let user = cx.create_user("reactivate").await?;
    let id = id_of(&user);
    set_active(&cx, id, false).await?;
    set_active(&cx, id, true).await?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["active"] == true
            && read["userName"] == user["userName"]
            && read["emails"] == user["emails"],
        "the same user, active again, with its userName and emails",
        || {
            format!(
                "active {}, userName {}, emails {}",
                read["active"], read["userName"], read["emails"]
            )
        },
    )
}

/// A resource without what changes on every write.
fn stable(mut resource: Value) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("lastModified");
        meta.remove("version");
    }
    resource
}

async fn entra_cycle(cx: &Cx, uid: &str, gid: &str, display: &str, email: &str) -> Verdict {
    for (variant, value) in [
        ("entra/default-replace-display-name", display),
        ("entra/default-replace-work-email", email),
        ("entra/default-deactivate", ""),
    ] {
        cx.send_variant(variant, &[("id", uid), ("value", value)])
            .await?
            .expect_status(&[200, 204])?;
    }
    cx.send_variant(
        "entra/group-add-members",
        &[("id", gid), ("member", uid), ("name", display)],
    )
    .await?
    .expect_status(&[200, 204])
}

async fn entra_cycle_replay_idempotent(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("replay").await?;
    let group = cx.create_group("replay", &[]).await?;
    let (uid, gid) = (id_of(&user), id_of(&group));
    let display = cx.name("replay-display");
    let email = format!("{}@example.com", cx.name("replay-email"));
    entra_cycle(&cx, uid, gid, &display, &email)
        .await
        .map_err(|p| p.in_setup("first pass"))?;
    let user_once = stable(cx.read_ok(Endpoint::Users, uid).await?);
    let group_once = stable(cx.read_ok(Endpoint::Groups, gid).await?);
    entra_cycle(&cx, uid, gid, &display, &email).await?;
    let user_twice = stable(cx.read_ok(Endpoint::Users, uid).await?);
    let group_twice = stable(cx.read_ok(Endpoint::Groups, gid).await?);
    ensure(
        user_once == user_twice,
        "the user unchanged by the replay",
        || format!("before {user_once}, after {user_twice}"),
    )?;
    ensure(
        group_once == group_twice,
        "the group unchanged by the replay",
        || format!("before {group_once}, after {group_twice}"),
    )
}

async fn put_clears_omitted_attribute(cx: Cx) -> Verdict {
    let mut body = cx.user_body("put-clear");
    body["nickName"] = json!("Temporary");
    let user = cx.create_user_with(&body).await?;
    let id = id_of(&user);
    let replacement = json!({
        "schemas": [USER_SCHEMA],
        "userName": user["userName"],
        "externalId": user["externalId"],
        "active": true
    });
    cx.send_json(
        reqwest::Method::PUT,
        &resource_path(Endpoint::Users, id),
        &replacement,
    )
    .await?
    .expect_status(&[200])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read.get("nickName").is_none(),
        "no nickName after PUT",
        || format!("nickName {}", read["nickName"]),
    )
}

async fn put_without_username_400(cx: Cx) -> Verdict {
    let user = cx.create_user("put-no-name").await?;
    let id = id_of(&user);
    let body = json!({"schemas": [USER_SCHEMA], "displayName": "No Name"});
    cx.send_json(
        reqwest::Method::PUT,
        &resource_path(Endpoint::Users, id),
        &body,
    )
    .await?
    .expect_status(&[400])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["userName"] == user["userName"],
        "the user unchanged",
        || format!("userName {}", read["userName"]),
    )
}

async fn remove_single_valued(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let mut body = cx.user_body("remove-nick");
    body["nickName"] = json!("Gone");
    let user = cx.create_user_with(&body).await?;
    let id = id_of(&user);
    cx.patch(
        Endpoint::Users,
        id,
        json!([{"op": "remove", "path": "nickName"}]),
    )
    .await?
    .expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(read.get("nickName").is_none(), "no nickName", || {
        format!("nickName {}", read["nickName"])
    })
}

async fn add_email_appends(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("add-email").await?;
    let id = id_of(&user);
    let home = format!("{}@home.example", cx.name("add-email-home"));
    cx.patch(
        Endpoint::Users,
        id,
        json!([{"op": "add", "path": "emails", "value": [{"value": home, "type": "home"}]}]),
    )
    .await?
    .expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    let values: Vec<&str> = read["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["value"].as_str())
        .collect();
    let old = str_of(&user, "userName");
    ensure(
        values.len() == 2 && values.contains(&home.as_str()) && values.contains(&old),
        &format!("emails {old} and {home}"),
        || format!("emails {values:?}"),
    )
}
