//! Groups and membership PATCH in the RFC, Entra and Okta shapes (RFC 7644 sections 3.3
//! and 3.5.2, RFC 7643 section 4.2).

use super::member_ids;
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, str_of, Cx, Endpoint, GROUP_SCHEMA};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.3/create-group-201",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "POST /Groups answers 201 with the group, its server-minted `id` and the `displayName` sent (RFC 7644 section 3.3, RFC 7643 section 4.2; Okta group push, OKTA-REF).",
            run: case_fn!(create_group_201),
        },
        Case {
            id: "rfc7643-4.2/create-group-with-members",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "A group created with `members: [{\"value\": id}]` (no `$ref`, which clients may omit) holds those members on read (RFC 7643 sections 4.2 and 8.7.1; RFC 7644 section 3.3).",
            run: case_fn!(create_group_with_members),
        },
        Case {
            id: "rfc7644-3.3/entra-create-group-extra-schema",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "A group create whose `schemas` also lists Microsoft's private ADSCIM Group URN answers 201, ignoring the unknown URN (Entra's group create, MS-TUT).",
            run: case_fn!(entra_create_group_extra_schema),
        },
        Case {
            id: "rfc7644-3.5.2.1/group-add-member",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "`{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":id}]}` adds the member and keeps the existing ones (RFC 7644 section 3.5.2.1; Okta group push, OKTA-REF).",
            run: case_fn!(group_add_member),
        },
        Case {
            id: "rfc7644-3.5.2.1/entra-add-member-null-ref",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's member add `{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":id}]}` adds the member, `$ref: null` counting as absent (MS-TUT; RFC 7643 section 4.2).",
            run: case_fn!(entra_add_member_null_ref),
        },
        Case {
            id: "rfc7644-3.5.2.2/remove-member-value-filter",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "`{\"op\":\"remove\",\"path\":\"members[value eq \\\"id\\\"]\"}` removes that member and keeps the others (RFC 7644 section 3.5.2.2; Entra with aadOptscim062020, MS-COMPAT row 4; Okta, OKTA-REF).",
            run: case_fn!(remove_member_value_filter),
        },
        Case {
            id: "rfc7644-3.5.2.2/entra-remove-member-value-array",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's default member removal `{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":id}]}` removes only the listed member and keeps the others (MS-COMPAT row 4; RFC 7644 section 3.5.2.2 alone would clear all members).",
            run: case_fn!(entra_remove_member_value_array),
        },
        Case {
            id: "rfc7644-3.4.2.5/entra-lookup-group-excludes-members",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's group match `GET /Groups?excludedAttributes=members&filter=displayName eq \"...\"` returns the one group without `members` (MS-TUT; RFC 7644 section 3.4.2.5).",
            run: case_fn!(entra_lookup_group_excludes_members),
        },
        Case {
            id: "rfc7644-3.4.2.5/entra-get-group-excludes-members",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "`GET /Groups/{id}?excludedAttributes=members` returns the group without `members` (MS-TUT; RFC 7644 section 3.4.2.5).",
            run: case_fn!(entra_get_group_excludes_members),
        },
        Case {
            id: "rfc7644-3.5.2.3/okta-group-rename-with-id",
            level: Level::Must,
            profiles: &[Profile::Okta],
            requirement: "Okta's rename, a path-less replace whose value repeats the group's own read-only `id`, renames the group and is not refused (OKTA-REF; RFC 7644 section 3.5.2.3).",
            run: case_fn!(okta_group_rename_with_id),
        },
        Case {
            id: "rfc7644-3.5.2/okta-group-membership-delta",
            level: Level::Must,
            profiles: &[Profile::Okta],
            requirement: "One PATCH with a filtered remove followed by an add applies both, in order (OKTA-REF group push; RFC 7644 section 3.5.2: operations are applied sequentially).",
            run: case_fn!(okta_group_membership_delta),
        },
        Case {
            id: "rfc7644-3.5.2.1/group-patch-1000-members",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "One PATCH adding 1,000 members answers 200 or 204 within 5 s and a read of the group then lists all 1,000 (RFC 7644 section 3.5.2.1, RFC 7643 section 4.2; Entra requires multi-member group PATCH, MS-TUT; the 5 s budget is ours, far inside the 60 s the IdPs wait, OKTA-FAQ).",
            run: case_fn!(group_patch_1000_members),
        },
        Case {
            id: "rfc7644-3.5.2.1/re-add-member-not-409",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "Adding a member the group already holds answers 200 or 204, not 409, and leaves one membership (RFC 7644 section 3.5.2.1: an add of an existing value changes nothing; Entra retries forever on errors, MS-LOGS).",
            run: case_fn!(re_add_member_not_409),
        },
        Case {
            id: "rfc7644-3.6/delete-group-then-404",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "DELETE /Groups/{id} answers 204 and the group then answers 404 (RFC 7644 section 3.6; MS-TUT, OKTA-REF).",
            run: case_fn!(delete_group_then_404),
        },
    ]
}

async fn create_group_201(cx: Cx) -> Verdict {
    let name = cx.name("group");
    let reply = cx
        .post_group(&json!({"schemas": [GROUP_SCHEMA], "displayName": name}))
        .await?;
    reply.expect_status(&[201])?;
    let group = reply.json()?;
    ensure(
        group["id"].as_str().is_some_and(|id| !id.is_empty()),
        "a non-empty `id` string",
        || format!("`id` is {}", group["id"]),
    )?;
    ensure(
        group["displayName"] == name.as_str(),
        &format!("displayName {name}"),
        || format!("displayName {}", group["displayName"]),
    )
}

async fn entra_create_group_extra_schema(cx: Cx) -> Verdict {
    let name = cx.name("entra-group");
    let external_id = cx.name("entra-group-ext");
    let reply = cx
        .send_variant(
            "entra/create-group",
            &[("name", &name), ("external_id", &external_id)],
        )
        .await?;
    cx.track_reply(Endpoint::Groups, &reply, &name);
    reply.expect_status(&[201])
}

/// A group holding two fresh users, checked by reading it back.
async fn group_of_two(cx: &Cx, slug: &str) -> Result<(Value, String, String), Problem> {
    let first = cx.create_user(&format!("{slug}-m1")).await?;
    let second = cx.create_user(&format!("{slug}-m2")).await?;
    let (a, b) = (id_of(&first).to_owned(), id_of(&second).to_owned());
    let group = cx.create_group(slug, &[&a, &b]).await?;
    let read = cx
        .read_ok(Endpoint::Groups, id_of(&group))
        .await
        .map_err(|p| p.in_setup("read group"))?;
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    if member_ids(&read) != want {
        return Err(Problem::error(format!(
            "setup: the group was created with members {want:?} but reads back {:?}",
            member_ids(&read)
        )));
    }
    Ok((group, a, b))
}

/// Sends a membership variant from the corpus and reads the members back.
async fn membership_after(
    cx: &Cx,
    variant: &str,
    group_id: &str,
    member: &str,
) -> Result<Vec<String>, Problem> {
    cx.require_patch()?;
    let display = format!("{}member", cx.prefix());
    let values = [
        ("id", group_id),
        ("member", member),
        ("name", display.as_str()),
    ];
    let reply = cx.send_variant(variant, &values).await?;
    reply.expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Groups, group_id).await?;
    Ok(member_ids(&read))
}

async fn add_member(cx: &Cx, variant: &str) -> Verdict {
    let existing = cx.create_user("member-existing").await?;
    let group = cx.create_group("add-member", &[id_of(&existing)]).await?;
    let newcomer = cx.create_user("member-new").await?;
    let members = membership_after(cx, variant, id_of(&group), id_of(&newcomer)).await?;
    let mut want = vec![id_of(&existing).to_owned(), id_of(&newcomer).to_owned()];
    want.sort();
    ensure(members == want, &format!("members {want:?}"), || {
        format!("members {members:?}")
    })
}

async fn group_add_member(cx: Cx) -> Verdict {
    add_member(&cx, "okta/group-add-member").await
}

async fn entra_add_member_null_ref(cx: Cx) -> Verdict {
    add_member(&cx, "entra/group-add-members").await
}

async fn remove_member(cx: &Cx, slug: &str, variant: &str) -> Verdict {
    let (group, a, b) = group_of_two(cx, slug).await?;
    let members = membership_after(cx, variant, id_of(&group), &a).await?;
    ensure(
        members == [b.clone()],
        &format!(
            "only member {b} left (removed {a}) in group {}",
            str_of(&group, "displayName")
        ),
        || format!("members {members:?}"),
    )
}

async fn remove_member_value_filter(cx: Cx) -> Verdict {
    remove_member(&cx, "remove-filter", "entra/flag-group-remove-member").await
}

async fn entra_remove_member_value_array(cx: Cx) -> Verdict {
    remove_member(&cx, "remove-entra", "entra/default-group-remove-member").await
}

async fn entra_lookup_group_excludes_members(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let member = cx.create_user("lookup-group-member").await?;
    let group = cx.create_group("lookup-group", &[id_of(&member)]).await?;
    let reply = cx
        .send_variant(
            "entra/lookup-group",
            &[("name", str_of(&group, "displayName"))],
        )
        .await?;
    let list = super::listing(&reply)?;
    ensure(
        list.total == 1 && list.ids() == [id_of(&group)],
        &format!("exactly the group {}", id_of(&group)),
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )?;
    let found = &list.resources[0];
    ensure(
        found.get("members").is_none(),
        "no `members` in the listed group",
        || format!("`members` is {}", found["members"]),
    )
}

async fn entra_get_group_excludes_members(cx: Cx) -> Verdict {
    let member = cx.create_user("get-group-member").await?;
    let group = cx.create_group("get-group", &[id_of(&member)]).await?;
    let reply = cx
        .send_variant("entra/get-group", &[("id", id_of(&group))])
        .await?;
    reply.expect_status(&[200])?;
    let read = reply.json()?;
    ensure(read["id"] == group["id"], "the group read back", || {
        format!("`id` {}", read["id"])
    })?;
    ensure(
        read.get("members").is_none(),
        "no `members` in the group",
        || format!("`members` is {}", read["members"]),
    )
}

async fn okta_group_rename_with_id(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let group = cx.create_group("okta-rename", &[]).await?;
    let new_name = cx.name("okta-renamed");
    let reply = cx
        .send_variant(
            "okta/group-rename",
            &[("id", id_of(&group)), ("name", &new_name)],
        )
        .await?;
    reply.expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Groups, id_of(&group)).await?;
    ensure(
        read["displayName"] == new_name.as_str() && read["id"] == group["id"],
        &format!("displayName {new_name} and the same id"),
        || format!("displayName {} and id {}", read["displayName"], read["id"]),
    )
}

async fn okta_group_membership_delta(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let (group, a, b) = group_of_two(&cx, "okta-delta").await?;
    let newcomer = cx.create_user("okta-delta-new").await?;
    let display = format!("{}member", cx.prefix());
    let values = [
        ("id", id_of(&group)),
        ("removed", a.as_str()),
        ("added", id_of(&newcomer)),
        ("name", &display),
    ];
    let reply = cx
        .send_variant("okta/group-membership-delta", &values)
        .await?;
    reply.expect_status(&[200, 204])?;
    let members = member_ids(&cx.read_ok(Endpoint::Groups, id_of(&group)).await?);
    let mut want = vec![b, id_of(&newcomer).to_owned()];
    want.sort();
    ensure(
        members == want,
        &format!("members {want:?} ({a} removed)"),
        || format!("members {members:?}"),
    )
}

async fn delete_group_then_404(cx: Cx) -> Verdict {
    let group = cx.create_group("delete-group", &[]).await?;
    let id = id_of(&group);
    cx.delete(Endpoint::Groups, id)
        .await?
        .expect_status(&[204])?;
    cx.read(Endpoint::Groups, id)
        .await?
        .expect_status(&[404])
        .map_err(|p| match p {
            Problem::Broken { actual, .. } => {
                Problem::broken("status 404 on GET after DELETE", actual)
            }
            other => other,
        })
}

async fn create_group_with_members(cx: Cx) -> Verdict {
    let first = cx.create_user("with-members-1").await?;
    let second = cx.create_user("with-members-2").await?;
    let name = cx.name("with-members");
    let body = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": id_of(&first)}, {"value": id_of(&second)}]
    });
    let reply = cx.post_group(&body).await?;
    reply.expect_status(&[201])?;
    let group = reply.json()?;
    let read = cx.read_ok(Endpoint::Groups, id_of(&group)).await?;
    let mut want = vec![id_of(&first).to_owned(), id_of(&second).to_owned()];
    want.sort();
    let members = member_ids(&read);
    ensure(members == want, &format!("members {want:?}"), || {
        format!("members {members:?}")
    })
}

/// The members of the large-PATCH case, and how long the PATCH may take.
const MANY_MEMBERS: usize = 1000;
const MANY_MEMBERS_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

async fn group_patch_1000_members(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let ids = cx.create_users("many", MANY_MEMBERS).await?;
    let group = cx.create_group("many-members", &[]).await?;
    let gid = id_of(&group);
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let ops = json!([{"op": "add", "path": "members", "value": members}]);
    let sent = cx.patch(Endpoint::Groups, gid, ops);
    let reply = match tokio::time::timeout(MANY_MEMBERS_BUDGET, sent).await {
        Ok(reply) => reply?,
        Err(_) => {
            drain(&cx, gid).await;
            return Err(Problem::broken(
                format!("an answer within {} s", MANY_MEMBERS_BUDGET.as_secs()),
                "no answer yet when the budget ran out",
            ));
        }
    };
    reply.expect_status(&[200, 204])?;
    let read = cx.read_ok(Endpoint::Groups, gid).await?;
    let got = member_ids(&read);
    let mut want = ids.clone();
    want.sort();
    ensure(
        got == want,
        &format!("all {MANY_MEMBERS} members on read"),
        || {
            let missing = want.iter().filter(|id| !got.contains(id)).count();
            format!(
                "{} members on read, {missing} of the added ones missing",
                got.len()
            )
        },
    )
}

/// Waits (at most a minute in all) until the server answers a read of `gid` again, so a
/// PATCH still running server-side does not stall the cases after this one.
async fn drain(cx: &Cx, gid: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let read = tokio::time::timeout_at(deadline, cx.read(Endpoint::Groups, gid)).await;
        if let Ok(Ok(reply)) = read {
            if reply.status == 200 {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    tracing::warn!(group = %gid, "the server still does not answer a minute after the large PATCH");
}

async fn re_add_member_not_409(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let member = cx.create_user("re-add").await?;
    let mid = id_of(&member);
    let group = cx.create_group("re-add", &[mid]).await?;
    let gid = id_of(&group);
    let ops = json!([{"op": "add", "path": "members", "value": [{"value": mid}]}]);
    let reply = cx.patch(Endpoint::Groups, gid, ops).await?;
    reply.expect_status(&[200, 204])?;
    let members = member_ids(&cx.read_ok(Endpoint::Groups, gid).await?);
    ensure(
        members == [mid.to_owned()],
        &format!("exactly one membership of {mid}"),
        || format!("members {members:?}"),
    )
}
