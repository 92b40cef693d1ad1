//! Filtered lookups and pagination (RFC 7644 sections 3.4.2.2 and 3.4.2.4). Every filter
//! names only resources this run created.

use super::{expect_single_match, listing, quote};
use crate::case::{ensure, Case, Level, Profile, Verdict};
use crate::case_fn;
use crate::context::{id_of, str_of, Cx, Endpoint};
use std::collections::BTreeSet;

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.4.2.2/filter-username-eq",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "`filter=userName eq \"...\"` returns a ListResponse holding exactly the matching user (RFC 7644 section 3.4.2.2; the lookup Entra and Okta send before every create, MS-TUT, OKTA-REF).",
            run: case_fn!(filter_username_eq),
        },
        Case {
            id: "rfc7644-3.4.2.2/okta-lookup-username-paged",
            level: Level::Must,
            profiles: &[Profile::Okta],
            requirement: "Okta's lookup `filter=userName%20eq%20\"...\"&startIndex=1&count=100` returns exactly the matching user with numeric paging fields (OKTA-REF; RFC 7644 sections 3.4.2.2 and 3.4.2.4).",
            run: case_fn!(okta_lookup_username_paged),
        },
        Case {
            id: "rfc7644-3.4.2/entra-flag-query-parameter-tolerated",
            level: Level::Should,
            profiles: &[Profile::Entra],
            requirement: "A lookup whose URL also carries the bare `aadOptscim062020` parameter (pasted into Entra's tenant URL) is answered as without it (MS-COMPAT and SP guides; whether Entra strips it is undocumented, confidence I).",
            run: case_fn!(entra_flag_query_parameter),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-value-with-plus-sign",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "A filter value holding `+` (a plus-addressed email, sent as `%2B`) matches that user: the query is decoded once (RFC 7644 section 3.4.2.2; Entra and Okta encode filters, MS-TUT, OKTA-REF).",
            run: case_fn!(filter_value_with_plus_sign),
        },
        Case {
            id: "rfc7644-3.4.2/empty-query-component-ignored",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "A lookup URL ending in a stray `&` is answered as without it, since empty query components carry nothing (RFC 7644 section 3.4.2 with RFC 3986 section 3.4; OneLogin sends a trailing `&`).",
            run: case_fn!(empty_query_component_ignored),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-externalid-eq",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "`filter=externalId eq \"...\"` returns exactly the matching user (RFC 7644 section 3.4.2.2; Entra can match on externalId, MS-TUT).",
            run: case_fn!(filter_externalid_eq),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-eq-value-case-insensitive",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "`eq` on userName ignores the case of the value, because userName has caseExact false (RFC 7644 section 3.4.2.2, RFC 7643 section 4.1.1; OKTA-SPEC looks users up in upper case).",
            run: case_fn!(filter_value_case_insensitive),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-eq-case-insensitive-op",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "Attribute names and operators in filters are case-insensitive, so `USERNAME EQ \"...\"` matches like `userName eq` (RFC 7644 section 3.4.2.2).",
            run: case_fn!(filter_operator_case_insensitive),
        },
        Case {
            id: "rfc7644-3.4.2/filter-no-match-200-empty",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "A filter that matches nothing answers 200 with a ListResponse of totalResults 0, not 404 (RFC 7644 section 3.4.2; Entra's test connection probe, MS-TUT, MS-QUAR; OKTA-SPEC).",
            run: case_fn!(filter_no_match),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-and",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "`and` combines two comparisons so only resources matching both are returned (RFC 7644 section 3.4.2.2; Entra uses only `eq` and `and`, MS-TUT).",
            run: case_fn!(filter_and),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-value-path",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A value-path filter `emails[type eq \"work\" and value eq \"...\"]` matches a user with such an email (RFC 7644 section 3.4.2.2).",
            run: case_fn!(filter_value_path),
        },
        Case {
            id: "rfc7644-3.4.2.2/entra-work-email-lookup",
            level: Level::Must,
            profiles: &[Profile::Entra],
            requirement: "The Entra lookup `emails[type eq \"work\"].value eq \"...\"` matches the user whose work email it names (Entra's email matching attribute, MS-TUT; beyond the RFC 7644 section 3.4.2.2 grammar).",
            run: case_fn!(entra_work_email_lookup),
        },
        Case {
            id: "rfc7644-3.4.2.2/invalid-filter-400",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "A syntactically invalid filter answers 400 with scimType `invalidFilter` (RFC 7644 sections 3.4.2.2 and 3.12, Table 9).",
            run: case_fn!(invalid_filter_400),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-finds-user-without-externalid",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra, Profile::Okta],
            requirement: "`filter=userName eq \"...\"` finds a user created without `externalId`, so an IdP can match a user the server already holds instead of failing its create with 409 (RFC 7644 section 3.4.2.2; Entra and Okta match before creating, MS-TUT, OKTA-REF).",
            run: case_fn!(filter_finds_user_without_externalid),
        },
        Case {
            id: "rfc7644-3.4.2.2/filter-unknown-attribute-400",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "A filter on an attribute the schema does not define answers 400 `invalidFilter`, never the unfiltered list (RFC 7644 sections 3.4.2.2 and 3.12, Table 9: the filter is not valid for the resource).",
            run: case_fn!(filter_unknown_attribute_400),
        },
        Case {
            id: "rfc7644-3.4.2.4/pagination-start-index-count",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "`startIndex` is 1-based and `count` caps the page, so paging with count=2 visits every match exactly once and echoes startIndex (RFC 7644 section 3.4.2.4; Okta imports page with startIndex and count, OKTA-REF).",
            run: case_fn!(pagination),
        },
        Case {
            id: "rfc7644-3.4.2.4/count-zero-total-only",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "`count=0` returns no resources but the real totalResults (RFC 7644 section 3.4.2.4).",
            run: case_fn!(count_zero),
        },
    ]
}

async fn filter_username_eq(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn filter_externalid_eq(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-ext").await?;
    let filter = format!("externalId eq {}", quote(str_of(&user, "externalId")));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn filter_value_case_insensitive(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-case").await?;
    let filter = format!(
        "userName eq {}",
        quote(&str_of(&user, "userName").to_uppercase())
    );
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn filter_operator_case_insensitive(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-op-case").await?;
    let filter = format!("USERNAME EQ {}", quote(str_of(&user, "userName")));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn filter_no_match(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let nobody = format!("{}@example.com", cx.name("nobody"));
    let reply = cx
        .filter(Endpoint::Users, &format!("userName eq {}", quote(&nobody)))
        .await?;
    let list = listing(&reply)?;
    ensure(
        list.total == 0 && list.resources.is_empty(),
        "totalResults 0 and no Resources",
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

async fn filter_and(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-and").await?;
    let other = cx.create_user("lookup-and-other").await?;
    let filter = format!(
        "userName eq {} and externalId eq {}",
        quote(str_of(&user, "userName")),
        quote(str_of(&user, "externalId"))
    );
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await?;
    // The same userName with the other user's externalId matches nobody.
    let crossed = format!(
        "userName eq {} and externalId eq {}",
        quote(str_of(&user, "userName")),
        quote(str_of(&other, "externalId"))
    );
    let list = listing(&cx.filter(Endpoint::Users, &crossed).await?)?;
    ensure(
        list.total == 0,
        &format!("no match for `{crossed}`"),
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

async fn filter_value_path(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-vp").await?;
    let email = str_of(&user, "userName");
    let filter = format!("emails[type eq \"work\" and value eq {}]", quote(email));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn entra_work_email_lookup(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("lookup-email").await?;
    let email = str_of(&user, "userName");
    let filter = format!("emails[type eq \"work\"].value eq {}", quote(email));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn invalid_filter_400(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let filter = format!("userName zz {}", quote(&cx.name("bad-filter")));
    let reply = cx.filter(Endpoint::Users, &filter).await?;
    reply.expect_status(&[400])?;
    let error = reply.json()?;
    ensure(
        error["scimType"] == "invalidFilter",
        "scimType `invalidFilter`",
        || format!("scimType {}", error["scimType"]),
    )
}

async fn pagination(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let mut wanted = BTreeSet::new();
    let mut terms = Vec::new();
    for slug in ["page-a", "page-b", "page-c"] {
        let user = cx.create_user(slug).await?;
        wanted.insert(id_of(&user).to_owned());
        terms.push(format!("userName eq {}", quote(str_of(&user, "userName"))));
    }
    let filter = terms.join(" or ");
    let mut seen = BTreeSet::new();
    let mut start = 1u64;
    // Three matches at two per page: two pages, and a third request must come back empty.
    for _ in 0..3 {
        let start_text = start.to_string();
        let reply = cx
            .get(
                "/Users",
                &[
                    ("filter", filter.as_str()),
                    ("startIndex", start_text.as_str()),
                    ("count", "2"),
                ],
            )
            .await?;
        let page = listing(&reply)?;
        ensure(page.total == 3, "totalResults 3 on every page", || {
            format!("totalResults {} at startIndex {start}", page.total)
        })?;
        ensure(
            page.resources.len() <= 2,
            "at most 2 resources for count=2",
            || format!("{} resources at startIndex {start}", page.resources.len()),
        )?;
        if let Some(echo) = page.start_index {
            ensure(echo == start, &format!("startIndex {start} echoed"), || {
                format!("startIndex {echo}")
            })?;
        }
        if page.resources.is_empty() {
            break;
        }
        for id in page.ids() {
            ensure(
                seen.insert(id.to_owned()),
                "each match on exactly one page",
                || format!("{id} returned twice (again at startIndex {start})"),
            )?;
        }
        start += page.resources.len() as u64;
    }
    ensure(seen == wanted, "all 3 matches across the pages", || {
        format!(
            "saw {} of them: {:?}",
            seen.intersection(&wanted).count(),
            seen
        )
    })
}

async fn count_zero(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("count-zero").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let reply = cx
        .get("/Users", &[("filter", filter.as_str()), ("count", "0")])
        .await?;
    let list = listing(&reply)?;
    ensure(
        list.total == 1 && list.resources.is_empty(),
        "totalResults 1 with no Resources",
        || {
            format!(
                "totalResults {} with {} resources",
                list.total,
                list.resources.len()
            )
        },
    )
}

async fn single_match_of_variant(
    cx: &Cx,
    variant: &str,
    user: &serde_json::Value,
) -> Result<super::Listing, crate::case::Problem> {
    let reply = cx
        .send_variant(variant, &[("user_name", str_of(user, "userName"))])
        .await?;
    let list = listing(&reply)?;
    let id = id_of(user);
    ensure(
        list.total == 1 && list.ids() == [id],
        &format!("exactly the resource {id}"),
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )?;
    Ok(list)
}

async fn okta_lookup_username_paged(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("okta-lookup").await?;
    let list = single_match_of_variant(&cx, "okta/lookup-username-paged", &user).await?;
    ensure(
        list.start_index == Some(1),
        "`startIndex` 1 as a JSON integer",
        || format!("`startIndex` {:?}", list.start_index),
    )?;
    ensure(
        list.items_per_page == Some(1),
        "`itemsPerPage` 1 as a JSON integer",
        || format!("`itemsPerPage` {:?}", list.items_per_page),
    )
}

async fn entra_flag_query_parameter(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("entra-flag").await?;
    single_match_of_variant(&cx, "entra/lookup-username-with-flag", &user)
        .await
        .map(|_| ())
}

async fn filter_value_with_plus_sign(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let mut body = cx.user_body("plus");
    let plus = format!("{}+tag@example.com", cx.name("plus"));
    body["userName"] = serde_json::json!(plus);
    let user = cx.create_user_with(&body).await?;
    let filter = format!("userName eq {}", quote(&plus));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn empty_query_component_ignored(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("trailing-amp").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let path = format!("/Users?filter={}&", crate::client::encode_segment(&filter));
    let reply = cx
        .send(crate::client::Request::new(reqwest::Method::GET, path))
        .await?;
    let list = listing(&reply)?;
    ensure(
        list.total == 1 && list.ids() == [id_of(&user)],
        &format!("exactly the resource {}", id_of(&user)),
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

async fn filter_finds_user_without_externalid(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let mut body = cx.user_body("unmanaged");
    if let Some(object) = body.as_object_mut() {
        object.remove("externalId");
    }
    let user = cx.create_user_with(&body).await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    expect_single_match(&cx, Endpoint::Users, &filter, id_of(&user)).await
}

async fn filter_unknown_attribute_400(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let filter = format!(
        "scimconfNoSuchAttribute eq {}",
        quote(&cx.name("unknown-attr"))
    );
    let reply = cx.filter(Endpoint::Users, &filter).await?;
    reply.expect_status(&[400])?;
    let error = reply.json()?;
    ensure(
        error["scimType"] == "invalidFilter",
        "scimType `invalidFilter`",
        || format!("scimType {}", error["scimType"]),
    )
}
