//! PATCH on users, in the RFC's shapes and in the shapes Entra and Okta send
//! (RFC 7644 section 3.5.2).

use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, Cx, Endpoint};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.5.2.3/replace-active-false",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "`{\"op\":\"replace\",\"path\":\"active\",\"value\":false}` deactivates the user, who stays readable with active false (RFC 7644 section 3.5.2.3; Entra with aadOptscim062020, MS-COMPAT).",
            run: case_fn!(replace_active_false),
        },
        Case {
            id: "rfc7644-3.5.2/entra-deactivate-string-false",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's default deactivation `{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}` (capitalised op, string boolean) sets active to false (MS-COMPAT row 1, MS-ATTR; coercion beyond RFC 7644 section 3.5.2).",
            run: case_fn!(entra_deactivate_string_false),
        },
        Case {
            id: "rfc7644-3.5.2/entra-op-capitalised",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's default job sends `Replace`, `Add` and `Remove` capitalised, and the server applies them like the lowercase names (MS-COMPAT; RFC 7644 section 3.5.2 spells them lowercase).",
            run: case_fn!(entra_op_capitalised),
        },
        Case {
            id: "rfc7644-3.5.2.3/replace-sub-attribute",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A replace with path `name.givenName` changes that sub-attribute and leaves `name.familyName` alone (RFC 7644 section 3.5.2.3; Entra sends one op per attribute, MS-COMPAT).",
            run: case_fn!(replace_sub_attribute),
        },
        Case {
            id: "rfc7644-3.5.2.3/okta-pathless-replace-active",
            level: Level::Must,
            profiles: &[Profile::Okta, Profile::Rfc],
            requirement: "A path-less replace whose value is `{\"active\":false}` deactivates the user (RFC 7644 section 3.5.2.3; Okta's deactivation, OKTA-REF).",
            run: case_fn!(okta_pathless_replace_active),
        },
        Case {
            id: "rfc7644-3.5.2.3/entra-pathless-dotted-keys",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "In a path-less replace, value keys `name.givenName` and `name.familyName` are attribute paths that update the sub-attributes, not new attributes with dots in their names (MS-COMPAT aadOptscim062020 row 3; RFC 7644 section 3.5.2.3).",
            run: case_fn!(entra_pathless_dotted_keys),
        },
        Case {
            id: "rfc7644-3.5.2.1/add-single-valued",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "An add on a single-valued attribute sets it, replacing any value (RFC 7644 section 3.5.2.1; Entra adds nickName this way, MS-COMPAT row 2).",
            run: case_fn!(add_single_valued),
        },
        Case {
            id: "rfc7644-3.5.2.3/entra-replace-work-email",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's default `{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\"}` changes the value of the work email only (MS-TUT; RFC 7644 section 3.5.2.3).",
            run: case_fn!(entra_replace_work_email),
        },
        Case {
            id: "rfc7644-3.5.2.3/replace-extension-path",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A replace whose path is qualified with the enterprise extension URN (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`) sets that extension attribute (RFC 7644 sections 3.5.2 and 3.10; Entra's default one-op-per-attribute update, MS-COMPAT row 3).",
            run: case_fn!(replace_extension_path),
        },
        Case {
            id: "rfc7644-3.5.2.1/entra-manager-bare-string",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "Entra's `{\"op\":\"Add\",\"path\":\"urn:...:enterprise:2.0:User:manager\",\"value\":\"<id>\"}` with a bare id string sets `manager.value` to that id (reported to Microsoft, MS-TUT era Q&A 188003; RFC 7643 section 4.3 makes manager complex).",
            run: case_fn!(entra_manager_bare_string),
        },
        Case {
            id: "rfc7643-2.1/patch-operations-key-any-case",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "A PatchOp body keyed `operations` instead of `Operations` is applied, or at worst refused with 400, never a 5xx (RFC 7643 section 2.1: attribute names are case-insensitive; RFC 7644 section 3.12).",
            run: case_fn!(patch_operations_key_any_case),
        },
        Case {
            id: "rfc7644-3.5.2/invalid-path-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A PATCH whose `path` does not parse answers 400 with scimType `invalidPath` and changes nothing (RFC 7644 sections 3.5.2 and 3.12, Table 9).",
            run: case_fn!(invalid_path_400),
        },
    ]
}

async fn patch_ok(cx: &Cx, id: &str, operations: Value) -> Result<Value, Problem> {
    cx.require_patch()?;
    let reply = cx.patch(Endpoint::Users, id, operations).await?;
    reply.expect_status(&[200, 204])?;
    cx.read_ok(Endpoint::Users, id).await
}

/// Sends an IdP variant from the corpus to user `id` and reads the user back.
async fn variant_ok(cx: &Cx, variant: &str, id: &str, value: &str) -> Result<Value, Problem> {
    cx.require_patch()?;
    let reply = cx
        .send_variant(variant, &[("id", id), ("value", value)])
        .await?;
    reply.expect_status(&[200, 204])?;
    cx.read_ok(Endpoint::Users, id).await
}

fn expect_inactive(read: &Value) -> Verdict {
    ensure(
        read["active"] == false,
        "`active` false (a JSON boolean) on read",
        || format!("`active` is {}", read["active"]),
    )
}

async fn replace_active_false(cx: Cx) -> Verdict {
    let user = cx.create_user("deactivate").await?;
    let read = variant_ok(&cx, "entra/flag-deactivate", id_of(&user), "").await?;
    expect_inactive(&read)
}

async fn entra_deactivate_string_false(cx: Cx) -> Verdict {
    let user = cx.create_user("entra-deactivate").await?;
    let read = variant_ok(&cx, "entra/default-deactivate", id_of(&user), "").await?;
    expect_inactive(&read)
}

async fn entra_op_capitalised(cx: Cx) -> Verdict {
    let user = cx.create_user("entra-op-case").await?;
    let display = cx.name("entra-renamed");
    let read = variant_ok(
        &cx,
        "entra/default-replace-display-name",
        id_of(&user),
        &display,
    )
    .await?;
    ensure(
        read["displayName"] == display.as_str(),
        &format!("displayName {display}"),
        || format!("displayName {}", read["displayName"]),
    )
}

async fn replace_sub_attribute(cx: Cx) -> Verdict {
    let user = cx.create_user("sub-attr").await?;
    let ops = json!([{"op": "replace", "path": "name.givenName", "value": "Patched"}]);
    let read = patch_ok(&cx, id_of(&user), ops).await?;
    ensure(
        read["name"]["givenName"] == "Patched" && read["name"]["familyName"] == "Family",
        "name.givenName Patched and name.familyName still Family",
        || format!("name is {}", read["name"]),
    )
}

async fn okta_pathless_replace_active(cx: Cx) -> Verdict {
    let user = cx.create_user("okta-deactivate").await?;
    let read = variant_ok(&cx, "okta/patch-deactivate", id_of(&user), "").await?;
    expect_inactive(&read)
}

async fn entra_pathless_dotted_keys(cx: Cx) -> Verdict {
    let user = cx.create_user("dotted").await?;
    let read = variant_ok(&cx, "entra/flag-replace-nopath-dotted", id_of(&user), "").await?;
    ensure(
        read.get("name.givenName").is_none(),
        "no attribute literally named `name.givenName`",
        || {
            format!(
                "the resource has `name.givenName`: {}",
                read["name.givenName"]
            )
        },
    )?;
    ensure(
        read["name"]["givenName"] == "Dotted" && read["name"]["familyName"] == "Keys",
        "name.givenName Dotted and name.familyName Keys",
        || format!("name is {}", read["name"]),
    )
}

async fn add_single_valued(cx: Cx) -> Verdict {
    let user = cx.create_user("add-nick").await?;
    let id = id_of(&user);
    patch_ok(
        &cx,
        id,
        json!([{"op": "add", "path": "nickName", "value": "First"}]),
    )
    .await?;
    let read = patch_ok(
        &cx,
        id,
        json!([{"op": "add", "path": "nickName", "value": "Babs"}]),
    )
    .await?;
    ensure(
        read["nickName"] == "Babs",
        "nickName Babs after the second add",
        || format!("nickName {}", read["nickName"]),
    )
}

async fn entra_replace_work_email(cx: Cx) -> Verdict {
    let user = cx.create_user("work-email").await?;
    let new_email = format!("{}@example.com", cx.name("work-email-new"));
    let read = variant_ok(
        &cx,
        "entra/default-replace-work-email",
        id_of(&user),
        &new_email,
    )
    .await?;
    let emails = read["emails"].as_array().cloned().unwrap_or_default();
    let work: Vec<&Value> = emails.iter().filter(|e| e["type"] == "work").collect();
    ensure(
        work.len() == 1 && work[0]["value"] == new_email.as_str(),
        &format!("one work email {new_email}"),
        || format!("emails {}", read["emails"]),
    )
}

async fn invalid_path_400(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("bad-path").await?;
    let id = id_of(&user);
    let ops = json!([{"op": "replace", "path": "name[givenName eq", "value": "Broken"}]);
    let reply = cx.patch(Endpoint::Users, id, ops).await?;
    reply.expect_status(&[400])?;
    let error = reply.json()?;
    ensure(
        error["scimType"] == "invalidPath",
        "scimType `invalidPath`",
        || format!("scimType {}", error["scimType"]),
    )?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(read["name"] == user["name"], "the user unchanged", || {
        format!("name is {}", read["name"])
    })
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn replace_extension_path(cx: Cx) -> Verdict {
    let user = cx.create_user("ext-path").await?;
    let ops =
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "4711"}]);
    let read = patch_ok(&cx, id_of(&user), ops).await?;
    ensure(
        read[ENTERPRISE]["employeeNumber"] == "4711",
        "the enterprise extension's employeeNumber 4711 on read",
        || format!("the extension is {}", read[ENTERPRISE]),
    )
}

async fn entra_manager_bare_string(cx: Cx) -> Verdict {
    let manager = cx.create_user("manager").await?;
    let report = cx.create_user("report").await?;
    let ops =
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": id_of(&manager)}]);
    let read = patch_ok(&cx, id_of(&report), ops).await?;
    ensure(
        read[ENTERPRISE]["manager"]["value"] == manager["id"],
        &format!("manager.value {}", manager["id"]),
        || format!("the extension is {}", read[ENTERPRISE]),
    )
}

async fn patch_operations_key_any_case(cx: Cx) -> Verdict {
    cx.require_patch()?;
    let user = cx.create_user("ops-key").await?;
    let id = id_of(&user);
    let body = json!({
        "schemas": [crate::context::PATCH_OP],
        "operations": [{"op": "replace", "path": "nickName", "value": "Lower"}]
    });
    let reply = cx
        .send_json(
            reqwest::Method::PATCH,
            &crate::context::resource_path(Endpoint::Users, id),
            &body,
        )
        .await?;
    if reply.status == 400 {
        return Ok(());
    }
    reply.expect_status(&[200, 204, 400])?;
    let read = cx.read_ok(Endpoint::Users, id).await?;
    ensure(
        read["nickName"] == "Lower",
        "nickName Lower after a 2xx",
        || format!("nickName {}", read["nickName"]),
    )
}
