//! Discovery endpoints: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`
//! (RFC 7644 section 4, RFC 7643 sections 5 to 7).

use super::listing;
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{Cx, USER_SCHEMA};
use serde_json::Value;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7643-5/service-provider-config",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "GET /ServiceProviderConfig returns 200 with the ServiceProviderConfig schema and the REQUIRED patch, bulk, filter, changePassword, sort, etag and authenticationSchemes attributes (RFC 7643 section 5, RFC 7644 section 4).",
            run: case_fn!(service_provider_config),
        },
        Case {
            id: "rfc7644-4/resource-types-lists-user",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "GET /ResourceTypes returns 200 and lists a User resource type with endpoint /Users and the core User schema (RFC 7644 section 4, RFC 7643 section 6).",
            run: case_fn!(resource_types),
        },
        Case {
            id: "rfc7644-4/schemas-lists-user",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "GET /Schemas returns 200 and includes the core User schema with its userName attribute (RFC 7644 section 4, RFC 7643 section 7; Entra reads it for gallery apps, MS-TUT).",
            run: case_fn!(schemas),
        },
    ]
}

/// Discovery lists may be a ListResponse (RFC 7644 section 4) or, as in RFC 7643's own
/// examples, a bare array; accept both and return the items.
async fn discovery_items(cx: &Cx, path: &str) -> Result<Vec<Value>, Problem> {
    let reply = cx.get(path, &[]).await?;
    reply.expect_status(&[200])?;
    match reply.json()? {
        Value::Array(items) => Ok(items),
        _ => Ok(listing(&reply)?.resources),
    }
}

async fn service_provider_config(cx: Cx) -> Verdict {
    let reply = cx.get("/ServiceProviderConfig", &[]).await?;
    reply.expect_status(&[200])?;
    let body = reply.json()?;
    let has_schema = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == SPC_SCHEMA));
    ensure(
        has_schema,
        "`schemas` containing the ServiceProviderConfig URN",
        || format!("`schemas` is {}", body["schemas"]),
    )?;
    for feature in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        ensure(
            body[feature]["supported"].is_boolean(),
            &format!("`{feature}.supported` as a boolean"),
            || format!("`{feature}` is {}", body[feature]),
        )?;
    }
    ensure(
        body["authenticationSchemes"].is_array(),
        "`authenticationSchemes` as an array",
        || {
            format!(
                "`authenticationSchemes` is {}",
                body["authenticationSchemes"]
            )
        },
    )
}

async fn resource_types(cx: Cx) -> Verdict {
    let items = discovery_items(&cx, "/ResourceTypes").await?;
    let user = items
        .iter()
        .find(|t| t["name"] == "User" || t["id"] == "User");
    let Some(user) = user else {
        let names: Vec<&Value> = items.iter().map(|t| &t["name"]).collect();
        return Err(Problem::broken(
            "a resource type named User",
            format!("resource types {names:?}"),
        ));
    };
    ensure(
        user["endpoint"] == "/Users" && user["schema"] == USER_SCHEMA,
        "endpoint `/Users` and schema the core User URN",
        || {
            format!(
                "endpoint {} and schema {}",
                user["endpoint"], user["schema"]
            )
        },
    )
}

async fn schemas(cx: Cx) -> Verdict {
    let items = discovery_items(&cx, "/Schemas").await?;
    let Some(user) = items.iter().find(|s| s["id"] == USER_SCHEMA) else {
        let ids: Vec<&Value> = items.iter().map(|s| &s["id"]).collect();
        return Err(Problem::broken(
            "a schema with id the core User URN",
            format!("schema ids {ids:?}"),
        ));
    };
    let has_user_name = user["attributes"].as_array().is_some_and(|a| {
        a.iter().any(|attr| {
            attr["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("userName"))
        })
    });
    ensure(
        has_user_name,
        "a `userName` attribute in the User schema",
        || {
            format!(
                "attributes {}",
                crate::client::snippet(&user["attributes"].to_string())
            )
        },
    )
}
