//! Discovery endpoints: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`
//! (RFC 7644 section 4, RFC 7643 sections 5 to 7).

use super::listing;
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, Cx, Endpoint, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{json, Value};

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
        Case {
            id: "rfc7644-4/resource-types-lists-group",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "GET /ResourceTypes lists a Group resource type with endpoint /Groups and the core Group schema (RFC 7644 section 4, RFC 7643 section 6).",
            run: case_fn!(resource_types_group),
        },
        Case {
            id: "rfc7644-4/resource-type-by-id",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "GET /ResourceTypes/User returns the User resource type itself (RFC 7644 section 4: a resource type is retrieved by its id).",
            run: case_fn!(resource_type_by_id),
        },
        Case {
            id: "rfc7644-4/schema-by-id",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "GET /Schemas/urn:ietf:params:scim:schemas:core:2.0:User returns that schema (RFC 7644 section 4: a schema is retrieved by its URN).",
            run: case_fn!(schema_by_id),
        },
        Case {
            id: "rfc7644-4/resource-type-schemas-published",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "Every schema and schema extension a resource type names is published at /Schemas (RFC 7643 sections 6 and 7, RFC 7644 section 4).",
            run: case_fn!(resource_type_schemas_published),
        },
        Case {
            id: "rfc7643-5/authentication-schemes-described",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "ServiceProviderConfig lists at least one authentication scheme, each with `type`, `name` and `description` (RFC 7643 section 5).",
            run: case_fn!(authentication_schemes_described),
        },
        Case {
            id: "rfc7643-5/advertised-patch-works",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "What ServiceProviderConfig says of PATCH holds: advertised, a PATCH is applied; denied, a PATCH answers 501 or 405 instead of changing anything (RFC 7643 section 5, RFC 7644 sections 3.5.2 and 3.12).",
            run: case_fn!(advertised_patch_works),
        },
        Case {
            id: "rfc7643-5/advertised-filter-works",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "What ServiceProviderConfig says of filtering holds: advertised, a filter narrows the list; denied, a filter is refused rather than ignored (RFC 7643 section 5, RFC 7644 section 3.4.2.2).",
            run: case_fn!(advertised_filter_works),
        },
        Case {
            id: "rfc7643-5/filter-max-results-honoured",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A list asking for more than `filter.maxResults` returns at most maxResults resources and no error (RFC 7643 section 5, RFC 7644 section 3.4.2.4).",
            run: case_fn!(filter_max_results_honoured),
        },
        Case {
            id: "rfc7643-7/user-matches-published-schema",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "Every attribute of a returned User is declared in the User schema the server publishes at /Schemas, with the declared type and multiValued (RFC 7643 sections 2.3, 2.4 and 7).",
            run: case_fn!(user_matches_published_schema),
        },
        Case {
            id: "rfc7643-7/group-matches-published-schema",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "Every attribute of a returned Group is declared in the Group schema the server publishes at /Schemas, with the declared type and multiValued (RFC 7643 sections 2.3, 2.4 and 7).",
            run: case_fn!(group_matches_published_schema),
        },
        Case {
            id: "rfc7643-8.7.1/published-user-schema-agrees-with-rfc",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "The published core User schema gives each RFC attribute the RFC's type and multiValued (RFC 7643 section 8.7.1), checked against the corpus JSON Schema of the User.",
            run: case_fn!(published_user_schema_agrees_with_rfc),
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

async fn resource_types_group(cx: Cx) -> Verdict {
    let items = discovery_items(&cx, "/ResourceTypes").await?;
    let group = items
        .iter()
        .find(|t| t["name"] == "Group" || t["id"] == "Group");
    let Some(group) = group else {
        let names: Vec<&Value> = items.iter().map(|t| &t["name"]).collect();
        return Err(Problem::broken(
            "a resource type named Group",
            format!("resource types {names:?}"),
        ));
    };
    ensure(
        group["endpoint"] == "/Groups" && group["schema"] == GROUP_SCHEMA,
        "endpoint `/Groups` and schema the core Group URN",
        || {
            format!(
                "endpoint {} and schema {}",
                group["endpoint"], group["schema"]
            )
        },
    )
}

async fn resource_type_by_id(cx: Cx) -> Verdict {
    let reply = cx.get("/ResourceTypes/User", &[]).await?;
    reply.expect_status(&[200])?;
    let body = reply.json()?;
    ensure(body["name"] == "User", "the User resource type", || {
        format!("name {}", body["name"])
    })
}

async fn schema_by_id(cx: Cx) -> Verdict {
    let reply = cx.get(&format!("/Schemas/{USER_SCHEMA}"), &[]).await?;
    reply.expect_status(&[200])?;
    let body = reply.json()?;
    ensure(body["id"] == USER_SCHEMA, "the User schema", || {
        format!("id {}", body["id"])
    })
}

async fn resource_type_schemas_published(cx: Cx) -> Verdict {
    let types = discovery_items(&cx, "/ResourceTypes").await?;
    let schemas = discovery_items(&cx, "/Schemas").await?;
    let published: Vec<&str> = schemas.iter().filter_map(|s| s["id"].as_str()).collect();
    for resource_type in &types {
        let mut named: Vec<&str> = resource_type["schema"].as_str().into_iter().collect();
        named.extend(
            resource_type["schemaExtensions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["schema"].as_str()),
        );
        for urn in named {
            ensure(
                published.contains(&urn),
                &format!(
                    "schema {urn} (named by resource type {}) at /Schemas",
                    resource_type["name"]
                ),
                || format!("/Schemas holds {published:?}"),
            )?;
        }
    }
    Ok(())
}

async fn authentication_schemes_described(cx: Cx) -> Verdict {
    let body = cx.get("/ServiceProviderConfig", &[]).await?.json()?;
    let schemes = body["authenticationSchemes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure(
        !schemes.is_empty(),
        "at least one authentication scheme",
        || "none".to_owned(),
    )?;
    for scheme in &schemes {
        ensure(
            ["type", "name", "description"]
                .iter()
                .all(|k| scheme[*k].is_string()),
            "`type`, `name` and `description` on each scheme",
            || format!("scheme {scheme}"),
        )?;
    }
    Ok(())
}

async fn advertised_patch_works(cx: Cx) -> Verdict {
    let user = cx.create_user("spc-patch").await?;
    let reply = cx
        .patch(
            Endpoint::Users,
            id_of(&user),
            json!([{"op": "replace", "path": "nickName", "value": "Spc"}]),
        )
        .await?;
    if cx.caps().patch {
        reply.expect_status(&[200, 204])?;
        let read = cx.read_ok(Endpoint::Users, id_of(&user)).await?;
        ensure(
            read["nickName"] == "Spc",
            "nickName Spc after the PATCH",
            || format!("nickName {}", read["nickName"]),
        )
    } else {
        reply.expect_status(&[501, 405])
    }
}

async fn advertised_filter_works(cx: Cx) -> Verdict {
    let user = cx.create_user("spc-filter").await?;
    let filter = format!(
        "userName eq {}",
        super::quote(crate::context::str_of(&user, "userName"))
    );
    let reply = cx.filter(Endpoint::Users, &filter).await?;
    if cx.caps().filter {
        let list = listing(&reply)?;
        ensure(list.ids() == [id_of(&user)], "exactly the user", || {
            format!("ids {:?}", list.ids())
        })
    } else {
        ensure(
            reply.status >= 400 && reply.status < 500,
            "a 4xx for a filter the server says it does not support",
            || reply.describe(),
        )
    }
}

async fn filter_max_results_honoured(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let Some(max) = cx.caps().max_results.filter(|m| *m > 0 && *m <= 1000) else {
        return Err(Problem::skip(
            "the target's ServiceProviderConfig gives no filter.maxResults between 1 and 1000",
        ));
    };
    let user = cx.create_user("max-results").await?;
    let filter = format!(
        "userName eq {}",
        super::quote(crate::context::str_of(&user, "userName"))
    );
    let over = (max + 1).to_string();
    let reply = cx
        .get(
            "/Users",
            &[("filter", filter.as_str()), ("count", over.as_str())],
        )
        .await?;
    let list = listing(&reply)?;
    ensure(
        list.resources.len() as u64 <= max && list.ids() == [id_of(&user)],
        &format!("the one match, in a page of at most {max}"),
        || format!("{} resources", list.resources.len()),
    )
}

/// The published definition of the schema `urn`.
async fn published(cx: &Cx, urn: &str) -> Result<Value, Problem> {
    let items = discovery_items(cx, "/Schemas").await?;
    items
        .into_iter()
        .find(|s| s["id"] == urn)
        .ok_or_else(|| Problem::broken(format!("schema {urn} at /Schemas"), "not published"))
}

/// Does a JSON value fit a declared SCIM type (RFC 7643 section 2.3)?
fn fits(value: &Value, kind: &str) -> bool {
    match kind {
        "string" | "reference" | "dateTime" | "binary" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "decimal" => value.is_number(),
        "complex" => value.is_object(),
        _ => false,
    }
}

/// Checks every attribute of `resource` (outside `schemas`, `id`, `meta` and extension
/// URNs, which RFC 7643 section 3.1 defines for all resources) against `schema`.
fn check_against(resource: &Value, schema: &Value, urn: &str) -> Verdict {
    let attributes = schema["attributes"].as_array().cloned().unwrap_or_default();
    for (name, value) in resource.as_object().into_iter().flatten() {
        if ["schemas", "id", "meta", "externalId"].contains(&name.as_str())
            || name.starts_with("urn:")
        {
            continue;
        }
        let Some(declared) = attributes.iter().find(|a| {
            a["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }) else {
            return Err(Problem::broken(
                format!("`{name}` declared in the published {urn}"),
                "the server returns it but does not declare it",
            ));
        };
        let kind = declared["type"].as_str().unwrap_or_default();
        let multi = declared["multiValued"].as_bool().unwrap_or(false);
        let ok = if multi {
            value
                .as_array()
                .is_some_and(|items| items.iter().all(|v| fits(v, kind)))
        } else {
            fits(value, kind)
        };
        ensure(
            ok,
            &format!(
                "`{name}` as the published {kind}{}",
                if multi { " array" } else { "" }
            ),
            || format!("`{name}` is {}", crate::client::snippet(&value.to_string())),
        )?;
    }
    Ok(())
}

async fn user_matches_published_schema(cx: Cx) -> Verdict {
    let schema = published(&cx, USER_SCHEMA).await?;
    let mut body = cx.user_body("published");
    body["nickName"] = json!("Pub");
    body["title"] = json!("Tester");
    let user = cx.create_user_with(&body).await?;
    let read = cx.read_ok(Endpoint::Users, id_of(&user)).await?;
    check_against(&read, &schema, USER_SCHEMA)
}

async fn group_matches_published_schema(cx: Cx) -> Verdict {
    let schema = published(&cx, GROUP_SCHEMA).await?;
    let member = cx.create_user("published-member").await?;
    let group = cx.create_group("published", &[id_of(&member)]).await?;
    let read = cx.read_ok(Endpoint::Groups, id_of(&group)).await?;
    check_against(&read, &schema, GROUP_SCHEMA)
}

async fn published_user_schema_agrees_with_rfc(cx: Cx) -> Verdict {
    let schema = published(&cx, USER_SCHEMA).await?;
    let corpus: Value = serde_json::from_str(include_str!("../../../corpus/schemas/user.json"))
        .map_err(|e| Problem::error(format!("corpus/schemas/user.json: {e}")))?;
    for attribute in schema["attributes"].as_array().into_iter().flatten() {
        let name = attribute["name"].as_str().unwrap_or_default();
        // `password: false` (never returned) and the like say nothing about a type.
        let Some(rule) = corpus["properties"].get(name).filter(|r| r.is_object()) else {
            continue;
        };
        let rfc_multi = rule["type"] == "array" || rule["$ref"] == "#/$defs/multi";
        let published_multi = attribute["multiValued"].as_bool().unwrap_or(false);
        ensure(
            rfc_multi == published_multi,
            &format!("`{name}` multiValued {rfc_multi} as in RFC 7643 section 8.7.1"),
            || format!("published multiValued {published_multi}"),
        )?;
        let rfc_type = if rfc_multi {
            "array"
        } else {
            rule["type"].as_str().unwrap_or("object")
        };
        let kind = attribute["type"].as_str().unwrap_or_default();
        let agrees = match rfc_type {
            "string" => matches!(kind, "string" | "reference" | "dateTime" | "binary"),
            "boolean" => kind == "boolean",
            "object" => kind == "complex",
            "array" => true,
            _ => true,
        };
        ensure(
            agrees,
            &format!("`{name}` of a type fitting JSON {rfc_type}"),
            || format!("published type {kind}"),
        )?;
    }
    Ok(())
}
