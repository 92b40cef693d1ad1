//! The catalog: every case, grouped by the area of the RFC it checks, plus the helpers
//! cases share for reading list responses and resources.

use crate::case::{ensure, Case, Level, Problem, Verdict};
use crate::client::Reply;
use crate::context::{id_of, Cx, Endpoint, LIST_RESPONSE};
use serde_json::Value;

mod diff;
mod discovery;
mod errors;
mod features;
mod filter;
mod groups;
mod lifecycle;
mod media;
mod patch;
mod query;
mod tenants;
mod users;

/// Every case, in the order they run. Ids are unique and stable.
pub fn catalog() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(discovery::cases());
    all.extend(media::cases());
    all.extend(users::cases());
    all.extend(filter::cases());
    all.extend(diff::cases());
    all.extend(patch::cases());
    all.extend(groups::cases());
    all.extend(lifecycle::cases());
    all.extend(query::cases());
    all.extend(features::cases());
    all.extend(tenants::cases());
    all.extend(errors::cases());
    all.extend(crate::variants::cases());
    all
}

/// The spec section of a case id: `rfc7644-3.4.2.2/filter-and` -> `rfc7644-3.4.2.2`.
pub fn section(id: &str) -> &str {
    id.split_once('/').map_or(id, |(section, _)| section)
}

/// One catalog entry as `list --format json` prints it.
pub fn case_json(case: &Case) -> Value {
    serde_json::json!({
        "id": case.id,
        "section": section(case.id),
        "level": case.level,
        "profiles": case.profiles,
        "requirement": case.requirement,
    })
}

/// The catalog as a markdown table, one row per case in run order, with counts per
/// level and per profile first; `conformance/CASES.md` is this text (a test keeps it
/// current: `UPDATE_CASES=1 cargo test -p scim-conformance --test catalog_doc`).
pub fn catalog_markdown() -> String {
    use std::fmt::Write as _;
    let cases = catalog();
    let mut out = String::from(
        "# Conformance cases\n\nGenerated from the catalog by `conformance/tests/catalog_doc.rs`; \
         do not edit by hand (`UPDATE_CASES=1 cargo test -p scim-conformance --test \
         catalog_doc` rewrites it). `scim-conformance list` prints the same catalog.\n\n",
    );
    let count = |level: Level| cases.iter().filter(|c| c.level == level).count();
    let _ = writeln!(
        out,
        "{} cases: {} MUST, {} SHOULD, {} MAY.\n",
        cases.len(),
        count(Level::Must),
        count(Level::Should),
        count(Level::May)
    );
    out.push_str("| profile | cases |\n|---|---|\n");
    for profile in crate::case::Profile::ALL {
        let n = cases.iter().filter(|c| c.in_profile(profile)).count();
        let _ = writeln!(out, "| `{profile}` | {n} |");
    }
    out.push_str("\n| id | level | profiles | requirement |\n|---|---|---|---|\n");
    for case in &cases {
        let profiles: Vec<&str> = case.profiles.iter().map(|p| p.name()).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            case.id,
            case.level,
            profiles.join(", "),
            case.requirement.replace('|', "\\|")
        );
    }
    out
}

/// A parsed `ListResponse` (RFC 7644 section 3.4.2).
#[derive(Clone, Debug)]
pub struct Listing {
    /// `totalResults`.
    pub total: u64,
    /// `Resources` (empty when absent).
    pub resources: Vec<Value>,
    /// `startIndex`, when given.
    pub start_index: Option<u64>,
    /// `itemsPerPage`, when given.
    pub items_per_page: Option<u64>,
}

impl Listing {
    /// The ids of the resources, in order.
    pub fn ids(&self) -> Vec<&str> {
        self.resources.iter().map(id_of).collect()
    }
}

/// Reads a 200 `ListResponse`: `schemas` names the ListResponse URN, `totalResults` is a
/// JSON integer and `Resources`, when present, is an array.
pub fn listing(reply: &Reply) -> Result<Listing, Problem> {
    reply.expect_status(&[200])?;
    let body = reply.json()?;
    let schemas_ok = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(LIST_RESPONSE)));
    ensure(
        schemas_ok,
        "`schemas` containing the ListResponse URN",
        || format!("`schemas` is {}", body["schemas"]),
    )?;
    let total = body["totalResults"].as_u64().ok_or_else(|| {
        Problem::broken(
            "`totalResults` as a JSON integer",
            format!("`totalResults` is {}", body["totalResults"]),
        )
    })?;
    let resources = match &body["Resources"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => {
            return Err(Problem::broken(
                "`Resources` as an array",
                format!("`Resources` is {other}"),
            ))
        }
    };
    Ok(Listing {
        total,
        resources,
        start_index: body["startIndex"].as_u64(),
        items_per_page: body["itemsPerPage"].as_u64(),
    })
}

/// Runs `filter` against `endpoint` and requires exactly the resource `id` back.
pub async fn expect_single_match(cx: &Cx, endpoint: Endpoint, filter: &str, id: &str) -> Verdict {
    let reply = cx.filter(endpoint, filter).await?;
    let list = listing(&reply)?;
    ensure(
        list.total == 1 && list.ids() == [id],
        &format!("exactly the resource {id} for filter `{filter}`"),
        || format!("totalResults {} with ids {:?}", list.total, list.ids()),
    )
}

/// A filter string literal: the value JSON-quoted (RFC 7644 section 3.4.2.2 compValue).
pub fn quote(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

/// The member ids of a group resource, sorted.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let cases = catalog();
        assert!(cases.len() >= 30, "only {} cases", cases.len());
        let mut seen = HashSet::new();
        for case in &cases {
            assert!(seen.insert(case.id), "duplicate id {}", case.id);
            let (section, slug) = case
                .id
                .split_once('/')
                .expect("id has a section and a slug");
            assert!(
                section.starts_with("rfc764"),
                "{} does not start with an RFC section",
                case.id
            );
            assert!(
                !slug.is_empty()
                    && slug
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "bad slug in {}",
                case.id
            );
            assert!(!case.profiles.is_empty(), "{} has no profile", case.id);
            assert!(
                case.requirement.ends_with('.') || case.requirement.ends_with(')'),
                "{}: requirement is one sentence",
                case.id
            );
        }
    }

    #[test]
    fn requirements_cite_their_source() {
        for case in catalog() {
            let cites = case.requirement.contains("RFC 764")
                || case.requirement.contains("MS-")
                || case.requirement.contains("OKTA-");
            assert!(cites, "{} does not cite its source", case.id);
        }
    }

    #[test]
    fn listing_reads_a_list_response() {
        let reply = Reply {
            status: 200,
            headers: vec![],
            body: format!(
                r#"{{"schemas":["{LIST_RESPONSE}"],"totalResults":1,"Resources":[{{"id":"a"}}]}}"#
            ),
        };
        let list = listing(&reply).expect("valid");
        assert_eq!((list.total, list.ids()), (1, vec!["a"]));
        let bad = Reply {
            status: 200,
            headers: vec![],
            body: format!(r#"{{"schemas":["{LIST_RESPONSE}"],"totalResults":"1"}}"#),
        };
        assert!(matches!(listing(&bad), Err(Problem::Broken { .. })));
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote("a\"b"), r#""a\"b""#);
    }
}
