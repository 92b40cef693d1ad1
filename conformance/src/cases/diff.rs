//! Differential filter checks (RFC 7644 section 3.4.2.2): a known set of users is seeded
//! once per run, then every case sends one filter, scoped to the seeded names, and
//! compares the ids the server returns with the ids `scim-parser`'s evaluator selects
//! from the same users as the server itself returned them.

use super::{listing, quote};
use crate::case::{ensure, Case, CaseFuture, Level, Problem, Profile, Verdict};
use crate::context::{id_of, Cx, Endpoint, USER_SCHEMA};
use scim_parser::schema::ResourceSchema;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One differential filter: slug, the operator or combination it exercises, and the
/// filter (ANDed with the scope to the seeded users).
const FILTERS: &[(&str, &str, &str)] = &[
    ("eq-string", "eq", r#"title eq "Engineer""#),
    (
        "eq-case-insensitive",
        "eq on a caseExact-false attribute",
        r#"displayName eq "ALICE SMITH""#,
    ),
    ("ne", "ne", r#"title ne "Engineer""#),
    ("co", "co", r#"displayName co "li""#),
    ("sw", "sw", r#"nickName sw "Al""#),
    ("ew", "ew", r#"emails.value ew "@home.example""#),
    ("pr", "pr", "nickName pr"),
    ("gt-string", "gt", r#"title gt "Engineer""#),
    ("ge-string", "ge", r#"title ge "Engineer""#),
    ("lt-string", "lt", r#"title lt "Manager""#),
    ("le-string", "le", r#"title le "Engineer""#),
    (
        "gt-datetime",
        "gt on meta.created",
        r#"meta.created gt "2000-01-01T00:00:00Z""#,
    ),
    ("eq-boolean", "eq on a boolean", "active eq false"),
    ("and", "and", r#"title eq "Engineer" and active eq true"#),
    ("or", "or", r#"title eq "Manager" or nickName pr"#),
    ("not", "not", r#"not (title eq "Engineer")"#),
    ("not-pr", "not with pr", "not (nickName pr)"),
    (
        "precedence",
        "and binds tighter than or",
        r#"title eq "Manager" or title eq "Engineer" and active eq false"#,
    ),
    (
        "grouping",
        "parentheses",
        r#"(title eq "Manager" or title eq "Engineer") and active eq false"#,
    ),
    ("value-path", "a value path", r#"emails[type eq "home"]"#),
    (
        "value-path-and",
        "a value path with and",
        r#"emails[type eq "home" and value co "bob"]"#,
    ),
    (
        "sub-attribute",
        "a sub-attribute",
        r#"name.givenName eq "Bob""#,
    ),
    (
        "multi-valued-sub",
        "a multi-valued sub-attribute",
        r#"emails.type eq "home""#,
    ),
    (
        "uppercase-operators",
        "operators in upper case",
        r#"title EQ "Engineer" AND NOT (active EQ false)"#,
    ),
];

/// A seeded user: (slug, title, nickName, active, givenName, has a home email).
type SeedUser = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    bool,
    &'static str,
    bool,
);

/// The seeded users.
const SEED: &[SeedUser] = &[
    ("alice", Some("Engineer"), Some("Ali"), true, "Alice", false),
    ("bob", Some("Manager"), None, true, "Bob", true),
    ("carol", Some("Engineer"), None, false, "Carol", true),
    ("dave", None, Some("Dee"), false, "Dave", false),
    ("erin", Some("Analyst"), Some("Alpha"), true, "Erin", false),
];

pub(super) fn cases() -> Vec<Case> {
    (0..FILTERS.len())
        .map(|i| Case {
            id: ID[i],
            level: Level::Must,
            profiles: &[Profile::Rfc],
            requirement: REQUIREMENT[i],
            run: RUNNERS[i],
        })
        .collect()
}

macro_rules! differential {
    ($($i:literal => $slug:literal, $what:literal;)*) => {
        const ID: &[&str] = &[$(concat!("rfc7644-3.4.2.2/diff-", $slug),)*];
        const REQUIREMENT: &[&str] = &[$(concat!(
            "A filter using ", $what, " returns exactly the seeded users that the filter ",
            "selects by the RFC's rules, as scim-parser's evaluator computes them (RFC 7644 ",
            "section 3.4.2.2)."
        ),)*];
        const RUNNERS: &[crate::case::CaseFn] = &[$(run_differential::<$i>,)*];
    };
}

differential! {
    0 => "eq-string", "eq";
    1 => "eq-case-insensitive", "eq on a caseExact-false attribute";
    2 => "ne", "ne";
    3 => "co", "co";
    4 => "sw", "sw";
    5 => "ew", "ew";
    6 => "pr", "pr";
    7 => "gt-string", "gt";
    8 => "ge-string", "ge";
    9 => "lt-string", "lt";
    10 => "le-string", "le";
    11 => "gt-datetime", "gt on meta.created";
    12 => "eq-boolean", "eq on a boolean";
    13 => "and", "and";
    14 => "or", "or";
    15 => "not", "not";
    16 => "not-pr", "not with pr";
    17 => "precedence", "and binding tighter than or";
    18 => "grouping", "parentheses";
    19 => "value-path", "a value path";
    20 => "value-path-and", "a value path with and";
    21 => "sub-attribute", "a sub-attribute";
    22 => "multi-valued-sub", "a multi-valued sub-attribute";
    23 => "uppercase-operators", "operators in upper case";
}

fn run_differential<const N: usize>(cx: Cx) -> CaseFuture {
    Box::pin(async move {
        let verdict = differential(&cx, FILTERS[N].2).await;
        crate::case::with_shape_checks(&cx, verdict)
    })
}

/// Creates the seeded users and reads each back, so the evaluator sees what the server
/// holds (its defaults, its `meta`), not what was sent.
async fn seed(cx: Cx) -> Result<Vec<Value>, Problem> {
    let mut users = Vec::new();
    for (slug, title, nick, active, given, home) in SEED {
        let name = cx.name(&format!("diff-{slug}"));
        let mut emails =
            vec![json!({"value": format!("{name}@corp.example"), "type": "work", "primary": true})];
        if *home {
            emails.push(json!({"value": format!("{name}@home.example"), "type": "home"}));
        }
        let mut body = json!({
            "schemas": [USER_SCHEMA],
            "userName": format!("{name}@example.com"),
            "externalId": format!("{name}-ext"),
            "displayName": format!("{given} Smith"),
            "name": {"givenName": given, "familyName": "Smith"},
            "emails": emails,
            "active": active,
        });
        if let Some(title) = title {
            body["title"] = json!(title);
        }
        if let Some(nick) = nick {
            body["nickName"] = json!(nick);
        }
        let created = cx.create_user_with(&body).await?;
        let read = cx
            .read_ok(Endpoint::Users, id_of(&created))
            .await
            .map_err(|p| p.in_setup("read a seeded user"))?;
        users.push(read);
    }
    Ok(users)
}

/// The filter that keeps a lookup inside the seeded users.
fn scope(cx: &Cx) -> String {
    format!("userName sw {}", quote(&format!("{}diff-", cx.prefix())))
}

async fn differential(cx: &Cx, filter: &str) -> Verdict {
    cx.require_filter()?;
    let users = cx.seeded(seed).await?;
    let parsed = scim_parser::parse_filter(filter).map_err(|e| {
        Problem::error(format!(
            "the case's own filter `{filter}` does not parse: {e}"
        ))
    })?;
    let schema = ResourceSchema::user();
    let mut want = BTreeSet::new();
    for user in &users {
        let selected = scim_parser::eval::matches(&parsed, user, &schema)
            .map_err(|e| Problem::error(format!("the evaluator rejects `{filter}`: {e}")))?;
        if selected {
            want.insert(id_of(user).to_owned());
        }
    }
    let scoped = format!("{} and ({filter})", scope(cx));
    let reply = cx
        .get("/Users", &[("filter", scoped.as_str()), ("count", "50")])
        .await?;
    let list = listing(&reply)?;
    let got: BTreeSet<String> = list.ids().into_iter().map(str::to_owned).collect();
    let name_of = |id: &String| {
        users
            .iter()
            .find(|u| id_of(u) == id)
            .and_then(|u| u["name"]["givenName"].as_str())
            .unwrap_or("an unseeded resource")
            .to_owned()
    };
    let names = |ids: &BTreeSet<String>| ids.iter().map(name_of).collect::<Vec<_>>();
    ensure(
        got == want && list.total == want.len() as u64,
        &format!("the seeded users {:?} for `{filter}`", names(&want)),
        || format!("{:?} (totalResults {})", names(&got), list.total),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_parses_and_validates() {
        let schema = ResourceSchema::user();
        for (slug, _, filter) in FILTERS {
            let parsed =
                scim_parser::parse_filter(filter).unwrap_or_else(|e| panic!("{slug}: {e}"));
            scim_parser::eval::validate(&parsed, &schema).unwrap_or_else(|e| panic!("{slug}: {e}"));
        }
        assert_eq!(ID.len(), FILTERS.len());
        assert_eq!(RUNNERS.len(), FILTERS.len());
        for (i, (slug, _, _)) in FILTERS.iter().enumerate() {
            assert!(ID[i].ends_with(slug), "{} vs {slug}", ID[i]);
        }
    }

    #[test]
    fn filters_split_the_seed() {
        // A differential filter that selects all or none of the seed checks little.
        let schema = ResourceSchema::user();
        let users: Vec<Value> = SEED
            .iter()
            .map(|(slug, title, nick, active, given, home)| {
                let mut emails =
                    vec![json!({"value": format!("{slug}@corp.example"), "type": "work"})];
                if *home {
                    emails.push(json!({"value": format!("{slug}@home.example"), "type": "home"}));
                }
                json!({"userName": slug, "title": title, "nickName": nick, "active": active,
                       "displayName": format!("{given} Smith"), "name": {"givenName": given},
                       "emails": emails, "meta": {"created": "2020-01-01T00:00:00Z"}})
            })
            .map(|mut u| {
                if let Some(o) = u.as_object_mut() {
                    o.retain(|_, v| !v.is_null());
                }
                u
            })
            .collect();
        for (slug, _, filter) in FILTERS {
            let parsed = scim_parser::parse_filter(filter).expect("parses");
            let n = users
                .iter()
                .filter(|u| scim_parser::eval::matches(&parsed, u, &schema).expect("valid"))
                .count();
            let all_is_the_point = *slug == "gt-datetime";
            assert!(
                all_is_the_point || (n > 0 && n < users.len()),
                "{slug} selects {n} of {}",
                users.len()
            );
        }
    }
}
