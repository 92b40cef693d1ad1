//! What a query returns: `attributes` and `excludedAttributes` (RFC 7644 section
//! 3.4.2.5), pagination edge cases (section 3.4.2.4), sorting (section 3.4.2.3) and
//! `POST /.search` (section 3.4.3). Every list is filtered to this run's names.

use super::{listing, quote, Listing};
use crate::case::{ensure, Case, Level, Problem, Profile, Verdict};
use crate::case_fn;
use crate::client::Request;
use crate::context::{id_of, resource_path, str_of, Cx, Endpoint};
use serde_json::{json, Value};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "rfc7644-3.4.2.5/attributes-limits-response",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "`GET /Users/{id}?attributes=userName` returns userName, the always-returned `id` and `schemas`, and none of the default attributes it did not ask for (RFC 7644 section 3.4.2.5, RFC 7643 section 7: `id` is returned always).",
            run: case_fn!(attributes_limits_response),
        },
        Case {
            id: "rfc7644-3.4.2.5/excluded-attributes",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "`excludedAttributes=emails` drops emails and keeps the other default attributes (RFC 7644 section 3.4.2.5).",
            run: case_fn!(excluded_attributes),
        },
        Case {
            id: "rfc7644-3.4.2.5/excluded-never-drops-id",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "`excludedAttributes=id` still returns `id`, whose `returned` is always (RFC 7644 section 3.4.2.5, RFC 7643 section 3.1).",
            run: case_fn!(excluded_never_drops_id),
        },
        Case {
            id: "rfc7644-3.4.2.5/attributes-sub-attribute",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "`attributes=name.givenName` returns that sub-attribute without the other parts of `name` (RFC 7644 section 3.4.2.5: attribute names may be sub-attributes in the `attrPath` form).",
            run: case_fn!(attributes_sub_attribute),
        },
        Case {
            id: "rfc7644-3.4.2.5/attributes-on-list",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Entra],
            requirement: "`attributes=displayName` on a filtered list applies to every resource in `Resources` (RFC 7644 section 3.4.2.5; Entra's MS-2016 reference check asks `attributes=id`).",
            run: case_fn!(attributes_on_list),
        },
        Case {
            id: "rfc7644-3.9/attributes-on-create",
            level: Level::Should,
            profiles: &[Profile::Rfc],
            requirement: "A POST with `?attributes=userName` answers 201 with a representation limited to userName and the always-returned attributes (RFC 7644 section 3.9).",
            run: case_fn!(attributes_on_create),
        },
        Case {
            id: "rfc7644-3.4.2.4/start-index-below-one",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "`startIndex=0` is interpreted as 1 (RFC 7644 section 3.4.2.4: a value less than 1 SHALL be interpreted as 1).",
            run: case_fn!(start_index_below_one),
        },
        Case {
            id: "rfc7644-3.4.2.4/start-index-past-end",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "A startIndex past the last match answers 200 with no resources and the true totalResults (RFC 7644 section 3.4.2.4; Okta imports page until totalResults is exhausted, OKTA-REF).",
            run: case_fn!(start_index_past_end),
        },
        Case {
            id: "rfc7644-3.4.2.4/count-negative-as-zero",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "`count=-1` is interpreted as 0: no resources, the true totalResults (RFC 7644 section 3.4.2.4: a negative value SHALL be interpreted as 0).",
            run: case_fn!(count_negative_as_zero),
        },
        Case {
            id: "rfc7644-3.4.2.4/items-per-page-matches",
            level: Level::Must,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "`itemsPerPage` equals the number of resources in the page (RFC 7644 section 3.4.2.4; Okta reads it as an integer, OKTA-REF).",
            run: case_fn!(items_per_page_matches),
        },
        Case {
            id: "rfc7644-3.4.2.4/pages-are-stable",
            level: Level::Should,
            profiles: &[Profile::Rfc, Profile::Okta],
            requirement: "The same page requested twice returns the same resources in the same order (OKTA-REF: identical ordering across pages; RFC 7644 section 3.4.2.4).",
            run: case_fn!(pages_are_stable),
        },
        Case {
            id: "rfc7644-3.4.2.3/sort-ascending",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When sort is advertised, `sortBy=userName` returns the matches in ascending userName order (RFC 7644 section 3.4.2.3: ascending is the default).",
            run: case_fn!(sort_ascending),
        },
        Case {
            id: "rfc7644-3.4.2.3/sort-descending",
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: "When sort is advertised, `sortBy=userName&sortOrder=descending` returns the matches in descending userName order (RFC 7644 section 3.4.2.3).",
            run: case_fn!(sort_descending),
        },
        Case {
            id: "rfc7644-3.4.3/search-post",
            level: Level::May,
            profiles: &[Profile::Rfc],
            requirement: "`POST /Users/.search` with a SearchRequest holding a filter answers 200 with a ListResponse of the matches (RFC 7644 section 3.4.3; a server without it skips).",
            run: case_fn!(search_post),
        },
        Case {
            id: "rfc7644-3.4.3/search-post-attributes-paging",
            level: Level::May,
            profiles: &[Profile::Rfc],
            requirement: "A SearchRequest's `attributes`, `startIndex` and `count` apply like the query parameters of GET (RFC 7644 section 3.4.3).",
            run: case_fn!(search_post_attributes_paging),
        },
    ]
}

async fn read_with(cx: &Cx, id: &str, query: &[(&str, &str)]) -> Result<Value, Problem> {
    let reply = cx.get(&resource_path(Endpoint::Users, id), query).await?;
    reply.expect_status(&[200])?;
    reply.json()
}

async fn attributes_limits_response(cx: Cx) -> Verdict {
    let user = cx.create_user("attrs").await?;
    let read = read_with(&cx, id_of(&user), &[("attributes", "userName")]).await?;
    ensure(
        read["id"] == user["id"] && read["userName"].is_string(),
        "`id` and `userName`",
        || format!("`id` {} and `userName` {}", read["id"], read["userName"]),
    )?;
    for dropped in ["displayName", "emails", "name", "active"] {
        ensure(
            read.get(dropped).is_none(),
            &format!("no `{dropped}`"),
            || format!("`{dropped}` is {}", read[dropped]),
        )?;
    }
    Ok(())
}

async fn excluded_attributes(cx: Cx) -> Verdict {
    let user = cx.create_user("excluded").await?;
    let read = read_with(&cx, id_of(&user), &[("excludedAttributes", "emails")]).await?;
    ensure(read.get("emails").is_none(), "no `emails`", || {
        format!("`emails` is {}", read["emails"])
    })?;
    ensure(
        read["userName"] == user["userName"] && read["displayName"] == user["displayName"],
        "userName and displayName kept",
        || {
            format!(
                "userName {} displayName {}",
                read["userName"], read["displayName"]
            )
        },
    )
}

async fn excluded_never_drops_id(cx: Cx) -> Verdict {
    let user = cx.create_user("excluded-id").await?;
    let read = read_with(&cx, id_of(&user), &[("excludedAttributes", "id")]).await?;
    ensure(read["id"] == user["id"], "`id` still present", || {
        format!("`id` is {}", read["id"])
    })
}

async fn attributes_sub_attribute(cx: Cx) -> Verdict {
    let user = cx.create_user("sub-attrs").await?;
    let read = read_with(&cx, id_of(&user), &[("attributes", "name.givenName")]).await?;
    ensure(
        read["name"]["givenName"] == "Given" && read["name"].get("familyName").is_none(),
        "name.givenName without name.familyName",
        || format!("name is {}", read["name"]),
    )
}

async fn attributes_on_list(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let user = cx.create_user("attrs-list").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let reply = cx
        .get(
            "/Users",
            &[("filter", filter.as_str()), ("attributes", "displayName")],
        )
        .await?;
    let list = listing(&reply)?;
    ensure(list.ids() == [id_of(&user)], "the one user", || {
        format!("ids {:?}", list.ids())
    })?;
    let found = &list.resources[0];
    ensure(
        found["displayName"] == user["displayName"] && found.get("emails").is_none(),
        "displayName and no emails",
        || format!("the resource is {found}"),
    )
}

async fn attributes_on_create(cx: Cx) -> Verdict {
    let body = cx.user_body("attrs-create");
    let mut request = Request::new(reqwest::Method::POST, "/Users");
    request.query.push(("attributes".into(), "userName".into()));
    request.body = Some(body.to_string());
    let reply = cx.send(request).await?;
    cx.track_reply(Endpoint::Users, &reply, str_of(&body, "userName"));
    reply.expect_status(&[201])?;
    let created = reply.json()?;
    ensure(
        created["id"].is_string()
            && created["userName"].is_string()
            && created.get("emails").is_none(),
        "`id` and `userName` without `emails`",
        || {
            format!(
                "the reply is {}",
                crate::client::snippet(&created.to_string())
            )
        },
    )
}

/// Three users whose userNames share a run-unique stem, and the filter that finds them.
async fn three_users(cx: &Cx, slug: &str) -> Result<(Vec<Value>, String), Problem> {
    let stem = cx.name(slug);
    let mut users = Vec::new();
    for letter in ["c", "a", "b"] {
        let mut body = cx.user_body(slug);
        body["userName"] = json!(format!("{stem}-{letter}@example.com"));
        users.push(cx.create_user_with(&body).await?);
    }
    Ok((users, format!("userName sw {}", quote(&format!("{stem}-")))))
}

async fn page(cx: &Cx, filter: &str, extra: &[(&str, &str)]) -> Result<Listing, Problem> {
    let mut query = vec![("filter", filter)];
    query.extend_from_slice(extra);
    listing(&cx.get("/Users", &query).await?)
}

async fn start_index_below_one(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let (_, filter) = three_users(&cx, "start-zero").await?;
    let zero = page(&cx, &filter, &[("startIndex", "0"), ("count", "2")]).await?;
    let one = page(&cx, &filter, &[("startIndex", "1"), ("count", "2")]).await?;
    ensure(
        zero.ids() == one.ids() && zero.resources.len() == 2,
        "the page of startIndex=1",
        || {
            format!(
                "ids {:?} for startIndex=0, {:?} for startIndex=1",
                zero.ids(),
                one.ids()
            )
        },
    )
}

async fn start_index_past_end(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let (_, filter) = three_users(&cx, "past-end").await?;
    let list = page(&cx, &filter, &[("startIndex", "10"), ("count", "5")]).await?;
    ensure(
        list.total == 3 && list.resources.is_empty(),
        "totalResults 3 with no resources",
        || {
            format!(
                "totalResults {} with {} resources",
                list.total,
                list.resources.len()
            )
        },
    )
}

async fn count_negative_as_zero(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let (_, filter) = three_users(&cx, "count-negative").await?;
    let list = page(&cx, &filter, &[("count", "-1")]).await?;
    ensure(
        list.total == 3 && list.resources.is_empty(),
        "totalResults 3 with no resources",
        || {
            format!(
                "totalResults {} with {} resources",
                list.total,
                list.resources.len()
            )
        },
    )
}

async fn items_per_page_matches(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let (_, filter) = three_users(&cx, "items-per-page").await?;
    let list = page(&cx, &filter, &[("startIndex", "2"), ("count", "5")]).await?;
    ensure(
        list.items_per_page == Some(list.resources.len() as u64) && list.resources.len() == 2,
        "itemsPerPage 2 with 2 resources",
        || {
            format!(
                "itemsPerPage {:?} with {} resources",
                list.items_per_page,
                list.resources.len()
            )
        },
    )
}

async fn pages_are_stable(cx: Cx) -> Verdict {
    cx.require_filter()?;
    let (_, filter) = three_users(&cx, "stable").await?;
    let first = page(&cx, &filter, &[("startIndex", "1"), ("count", "3")]).await?;
    let again = page(&cx, &filter, &[("startIndex", "1"), ("count", "3")]).await?;
    ensure(first.ids() == again.ids(), "the same order twice", || {
        format!("{:?} then {:?}", first.ids(), again.ids())
    })
}

async fn sorted(cx: &Cx, order: Option<&str>) -> Verdict {
    cx.require_sort()?;
    cx.require_filter()?;
    let (users, filter) = three_users(cx, "sorted").await?;
    let mut extra = vec![("sortBy", "userName")];
    if let Some(order) = order {
        extra.push(("sortOrder", order));
    }
    let list = page(cx, &filter, &extra).await?;
    let mut want: Vec<(String, String)> = users
        .iter()
        .map(|u| (str_of(u, "userName").to_lowercase(), id_of(u).to_owned()))
        .collect();
    want.sort();
    if order == Some("descending") {
        want.reverse();
    }
    let want: Vec<&str> = want.iter().map(|(_, id)| id.as_str()).collect();
    ensure(
        list.ids() == want,
        &format!("ids in the order {want:?}"),
        || format!("ids {:?}", list.ids()),
    )
}

async fn sort_ascending(cx: Cx) -> Verdict {
    sorted(&cx, None).await
}

async fn sort_descending(cx: Cx) -> Verdict {
    sorted(&cx, Some("descending")).await
}

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `POST /Users/.search`; a server that has no such endpoint makes the case skip.
async fn search(cx: &Cx, body: Value) -> Result<Listing, Problem> {
    cx.require_filter()?;
    let reply = cx.post("/Users/.search", &body).await?;
    if matches!(reply.status, 404 | 405 | 501) {
        return Err(Problem::skip(format!(
            "POST /Users/.search answered {}: the target does not implement it",
            reply.status
        )));
    }
    listing(&reply)
}

async fn search_post(cx: Cx) -> Verdict {
    let user = cx.create_user("search").await?;
    let filter = format!("userName eq {}", quote(str_of(&user, "userName")));
    let list = search(&cx, json!({"schemas": [SEARCH_REQUEST], "filter": filter})).await?;
    ensure(
        list.total == 1 && list.ids() == [id_of(&user)],
        "exactly the user",
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

async fn search_post_attributes_paging(cx: Cx) -> Verdict {
    let (_, filter) = three_users(&cx, "search-page").await?;
    let body = json!({
        "schemas": [SEARCH_REQUEST],
        "filter": filter,
        "attributes": ["userName"],
        "startIndex": 2,
        "count": 1
    });
    let list = search(&cx, body).await?;
    ensure(
        list.total == 3 && list.resources.len() == 1,
        "totalResults 3 with one resource",
        || {
            format!(
                "totalResults {} with {} resources",
                list.total,
                list.resources.len()
            )
        },
    )?;
    let found = &list.resources[0];
    ensure(
        found["userName"].is_string() && found.get("emails").is_none(),
        "userName without emails",
        || format!("the resource is {found}"),
    )
}
