//! Reconciliation: read back every user and group of the run (paginated with `startIndex`
//! and `count`, RFC 7644 section 3.4.2.4, as an IdP's account discovery does, filtered to
//! the run prefix with `sw`, section 3.4.2.2) and compare them with the directory:
//! missing, extra, duplicated, wrong attributes, wrong memberships.
//!
//! A shard (`--shard K/N`) reads everything under the prefix but judges only what it owns
//! (see [`super::shard`]): its users, its groups' existence, and its users' memberships in
//! every group. Members that are no simulated user are judged by the group's owner; users
//! and groups under the prefix that are no part of the population, by shard 1.

use super::dialect::ENTERPRISE;
use super::engine::{Engine, Failure, OpKind};
use super::population::Directory;
use super::shard::{self, Shard};
use crate::client::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Page size of the read-back (the reference server's maximum; servers may return less).
pub const PAGE: usize = 500;

/// One difference between the target and the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// `missing`, `extra`, `duplicated`, `wrong-attribute`, `wrong-membership` or
    /// `pagination`.
    pub kind: String,
    /// The userName or group displayName concerned.
    pub subject: String,
    /// What differs: expected vs actual.
    pub detail: String,
}

/// What a read-back found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Users read (a shard counts its own).
    pub users_read: usize,
    /// Groups read (a shard counts its own).
    pub groups_read: usize,
    /// Every difference.
    pub differences: Vec<Difference>,
    /// Ids of every prefixed resource seen (for cleanup), users then groups.
    #[serde(skip)]
    pub seen_user_ids: Vec<String>,
    /// Ids of every prefixed group seen.
    #[serde(skip)]
    pub seen_group_ids: Vec<String>,
}

/// Reads every resource under `endpoint` whose `attr` starts with `prefix`.
async fn read_all(
    engine: &Engine,
    endpoint: &str,
    attr: &str,
    prefix: &str,
    expected: usize,
    out: &mut Vec<Difference>,
) -> Result<Vec<Value>, Failure> {
    let mut all = Vec::new();
    let mut start = 1usize;
    // Bounded: the expected count plus slack for extras, and never past totalResults.
    let max_pages = expected / PAGE + 20;
    for _ in 0..max_pages {
        let mut request = Request::new(reqwest::Method::GET, endpoint);
        request.query = vec![
            ("filter".into(), format!("{attr} sw \"{prefix}\"")),
            ("startIndex".into(), start.to_string()),
            ("count".into(), PAGE.to_string()),
        ];
        let reply = engine.call_ok(OpKind::Reconcile, &request).await?;
        let body: Value = serde_json::from_str(&reply.body)
            .map_err(|e| Failure::Status(reply.status, format!("list body is not JSON: {e}")))?;
        let total = body["totalResults"].as_u64().unwrap_or(0) as usize;
        let page = body["Resources"].as_array().cloned().unwrap_or_default();
        let got = page.len();
        all.extend(page);
        if got == 0 {
            if start <= total {
                out.push(Difference {
                    kind: "pagination".into(),
                    subject: endpoint.to_owned(),
                    detail: format!(
                        "an empty page at startIndex {start} although totalResults is {total}"
                    ),
                });
            }
            return Ok(all);
        }
        start += got;
        if start > total {
            return Ok(all);
        }
    }
    out.push(Difference {
        kind: "pagination".into(),
        subject: endpoint.to_owned(),
        detail: format!("still paging after {max_pages} pages of {PAGE}; stopped"),
    });
    Ok(all)
}

/// The users whose userName is `name` (an `eq` filter, RFC 7644 section 3.4.2.2).
async fn lookup_user(engine: &Engine, name: &str) -> Result<Vec<Value>, Failure> {
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    request.query = vec![("filter".into(), format!("userName eq \"{name}\""))];
    let reply = engine.call_ok(OpKind::Reconcile, &request).await?;
    let body: Value = serde_json::from_str(&reply.body)
        .map_err(|e| Failure::Status(reply.status, format!("list body is not JSON: {e}")))?;
    Ok(body["Resources"].as_array().cloned().unwrap_or_default())
}

/// The user `id`, or `None` when the target answers 404.
async fn read_user(engine: &Engine, id: &str) -> Result<Option<Value>, Failure> {
    let path = format!("/Users/{}", crate::client::encode_segment(id));
    let reply = engine
        .call(OpKind::Reconcile, &Request::new(reqwest::Method::GET, path))
        .await?;
    match reply.status {
        404 => Ok(None),
        200..=299 => serde_json::from_str(&reply.body)
            .map(Some)
            .map_err(|e| Failure::Status(reply.status, format!("user body is not JSON: {e}"))),
        status => Err(Failure::Status(status, crate::client::snippet(&reply.body))),
    }
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Reads everything back and compares with `dir` what `shard` owns (all of it without one).
/// `known` maps ids of other shards' users (looked up earlier) to their index: a manager
/// reference to one of them is judged by that id, since its owner may already have
/// deleted it at its cleanup.
pub async fn reconcile(
    engine: &Engine,
    dir: &Directory,
    shard: Option<Shard>,
    known: &[(String, usize)],
) -> Result<Reconciliation, Failure> {
    let first_shard = shard.is_none_or(|s| s.index == 1);
    // Whether this read-back judges the user named `name` (lowercase).
    let mine_user = |name: &str| match shard::user_index(&dir.prefix, name) {
        Some(i) if i < dir.users.len() => shard::owns_user(shard, i),
        _ => first_shard,
    };
    let group_index: HashMap<&str, usize> = dir
        .groups
        .iter()
        .map(|g| (g.display_name.as_str(), g.index))
        .collect();
    let mine_group = |name: &str| match group_index.get(name) {
        Some(&g) => shard::owns_group(shard, g),
        None => first_shard,
    };
    let mut differences = Vec::new();
    let live = dir.live_users().count();
    let mut users = read_all(
        engine,
        "/Users",
        "userName",
        &dir.prefix,
        live,
        &mut differences,
    )
    .await?;
    if shard.is_some() {
        // Other shards create and delete their users while this one pages, which shifts
        // `startIndex` pages (RFC 7644 section 3.4.2.4 promises no stable pages), so a
        // user of this shard the pages skipped is looked up by name before it counts as
        // missing.
        let listed: BTreeSet<String> = users
            .iter()
            .filter_map(|u| text(&u["userName"]).map(str::to_ascii_lowercase))
            .collect();
        for user in dir.live_users() {
            let key = user.user_name.to_ascii_lowercase();
            if shard::owns_user(shard, user.index) && !listed.contains(&key) {
                users.extend(lookup_user(engine, &user.user_name).await?);
            }
        }
    }
    let groups = read_all(
        engine,
        "/Groups",
        "displayName",
        &dir.prefix,
        dir.groups.len(),
        &mut differences,
    )
    .await?;
    // Members the shifting pages hid are read one by one (shard mode); those their owner
    // deleted meanwhile are left out of the comparison.
    let mut gone: BTreeSet<String> = BTreeSet::new();
    if shard.is_some() {
        let mut listed: BTreeSet<&str> = users.iter().filter_map(|u| text(&u["id"])).collect();
        listed.extend(known.iter().map(|(id, _)| id.as_str()));
        let unknown: BTreeSet<String> = groups
            .iter()
            .flat_map(|g| g["members"].as_array().into_iter().flatten())
            .filter_map(|m| text(&m["value"]))
            .filter(|id| !listed.contains(id))
            .map(str::to_owned)
            .collect();
        for id in unknown {
            match read_user(engine, &id).await? {
                Some(user) => users.push(user),
                None => {
                    gone.insert(id);
                }
            }
        }
    }
    let mut seen_ids = BTreeSet::new();
    let mut by_name: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut name_of_id: HashMap<&str, String> = HashMap::new();
    for u in &users {
        let id = text(&u["id"]).unwrap_or_default();
        if !seen_ids.insert(id.to_owned()) {
            differences.push(Difference {
                kind: "pagination".into(),
                subject: id.to_owned(),
                detail: "the same user id came back on two pages".into(),
            });
            continue;
        }
        let name = text(&u["userName"])
            .unwrap_or_default()
            .to_ascii_lowercase();
        name_of_id.insert(id, name.clone());
        by_name.entry(name).or_default().push(u);
    }
    for (id, i) in known {
        name_of_id
            .entry(id.as_str())
            .or_insert_with(|| dir.users[*i].user_name.to_ascii_lowercase());
    }
    let expected_names: BTreeSet<String> = dir
        .live_users()
        .map(|u| u.user_name.to_ascii_lowercase())
        .collect();
    for user in dir
        .live_users()
        .filter(|u| shard::owns_user(shard, u.index))
    {
        let key = user.user_name.to_ascii_lowercase();
        let found = by_name.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        match found {
            [] => differences.push(Difference {
                kind: "missing".into(),
                subject: user.user_name.clone(),
                detail: "not on the target".into(),
            }),
            [one] => compare_user(dir, user, one, &name_of_id, &mut differences),
            many => differences.push(Difference {
                kind: "duplicated".into(),
                subject: user.user_name.clone(),
                detail: format!(
                    "{} users with this userName (ids {})",
                    many.len(),
                    many.iter()
                        .map(|u| text(&u["id"]).unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    for (name, found) in &by_name {
        if !expected_names.contains(name) && mine_user(name) {
            let deleted = dir
                .users
                .iter()
                .any(|u| u.deleted && u.user_name.eq_ignore_ascii_case(name));
            differences.push(Difference {
                kind: "extra".into(),
                subject: name.clone(),
                detail: if deleted {
                    format!(
                        "hard-deleted at the IdP but still on the target ({} copies)",
                        found.len()
                    )
                } else {
                    format!("not in the directory ({} copies)", found.len())
                },
            });
        }
    }
    let mut group_ids = BTreeSet::new();
    let mut groups_by_name: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for g in &groups {
        let id = text(&g["id"]).unwrap_or_default();
        if !group_ids.insert(id.to_owned()) {
            differences.push(Difference {
                kind: "pagination".into(),
                subject: id.to_owned(),
                detail: "the same group id came back on two pages".into(),
            });
            continue;
        }
        let name = text(&g["displayName"]).unwrap_or_default().to_owned();
        groups_by_name.entry(name).or_default().push(g);
    }
    for group in &dir.groups {
        let owned = shard::owns_group(shard, group.index);
        let found = groups_by_name
            .get(&group.display_name)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match found {
            // Another shard's group missing or duplicated: its owner reports that.
            [] | [_, _, ..] if !owned => {}
            [] => differences.push(Difference {
                kind: "missing".into(),
                subject: group.display_name.clone(),
                detail: "group not on the target".into(),
            }),
            [one] => {
                let actual: BTreeSet<String> = one["members"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter(|v| !gone.contains(text(&v["value"]).unwrap_or_default()))
                            .map(|v| {
                                let id = text(&v["value"]).unwrap_or_default();
                                name_of_id
                                    .get(id)
                                    .cloned()
                                    .unwrap_or_else(|| format!("unknown id {id}"))
                            })
                            // A shard judges its users' memberships; the owner the rest.
                            .filter(|name| match shard::user_index(&dir.prefix, name) {
                                Some(i) if i < dir.users.len() => shard::owns_user(shard, i),
                                _ => owned,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let expected: BTreeSet<String> = group
                    .members
                    .iter()
                    .filter(|&&i| shard::owns_user(shard, i))
                    .map(|&i| dir.users[i].user_name.to_ascii_lowercase())
                    .collect();
                if actual != expected {
                    let lacking: Vec<&String> = expected.difference(&actual).collect();
                    let surplus: Vec<&String> = actual.difference(&expected).collect();
                    differences.push(Difference {
                        kind: "wrong-membership".into(),
                        subject: group.display_name.clone(),
                        detail: format!(
                            "expected {} members, found {}: {} missing (e.g. {}), {} extra (e.g. {})",
                            expected.len(),
                            actual.len(),
                            lacking.len(),
                            first_few(&lacking),
                            surplus.len(),
                            first_few(&surplus)
                        ),
                    });
                }
            }
            many => differences.push(Difference {
                kind: "duplicated".into(),
                subject: group.display_name.clone(),
                detail: format!("{} groups with this displayName", many.len()),
            }),
        }
    }
    let known: BTreeSet<&str> = dir.groups.iter().map(|g| g.display_name.as_str()).collect();
    for name in groups_by_name.keys() {
        if !known.contains(name.as_str()) && first_shard {
            differences.push(Difference {
                kind: "extra".into(),
                subject: name.clone(),
                detail: "group not in the directory".into(),
            });
        }
    }
    // What this read-back owns: counted, and deleted at cleanup.
    let my_users: Vec<String> = users
        .iter()
        .filter(|u| {
            mine_user(
                &text(&u["userName"])
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            )
        })
        .filter_map(|u| text(&u["id"]).map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let my_groups: Vec<String> = groups
        .iter()
        .filter(|g| mine_group(text(&g["displayName"]).unwrap_or_default()))
        .filter_map(|g| text(&g["id"]).map(str::to_owned))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Reconciliation {
        users_read: my_users.len(),
        groups_read: my_groups.len(),
        differences,
        seen_user_ids: my_users,
        seen_group_ids: my_groups,
    })
}

fn first_few(names: &[&String]) -> String {
    let shown: Vec<&str> = names.iter().take(3).map(|s| s.as_str()).collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

fn compare_user(
    dir: &Directory,
    user: &super::population::User,
    actual: &Value,
    name_of_id: &HashMap<&str, String>,
    out: &mut Vec<Difference>,
) {
    let ext = &actual[ENTERPRISE];
    let manager_name = user
        .manager
        .map(|m| dir.users[m].user_name.to_ascii_lowercase());
    let actual_manager = text(&ext["manager"]["value"]).map(|id| {
        name_of_id
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("unknown id {id}"))
    });
    let email_ok = actual["emails"].as_array().is_some_and(|emails| {
        emails
            .iter()
            .any(|e| text(&e["value"]).is_some_and(|v| v.eq_ignore_ascii_case(&user.user_name)))
    });
    let checks: [(&str, String, Option<String>); 9] = [
        (
            "externalId",
            user.external_id.clone(),
            text(&actual["externalId"]).map(str::to_owned),
        ),
        (
            "displayName",
            user.display_name.clone(),
            text(&actual["displayName"]).map(str::to_owned),
        ),
        (
            "title",
            user.title.clone(),
            text(&actual["title"]).map(str::to_owned),
        ),
        (
            "name.givenName",
            user.given.clone(),
            text(&actual["name"]["givenName"]).map(str::to_owned),
        ),
        (
            "name.familyName",
            user.family.clone(),
            text(&actual["name"]["familyName"]).map(str::to_owned),
        ),
        (
            "active",
            user.active.to_string(),
            actual["active"].as_bool().map(|b| b.to_string()),
        ),
        (
            "department",
            dir.department_name(user),
            text(&ext["department"]).map(str::to_owned),
        ),
        (
            "employeeNumber",
            user.employee_number.clone(),
            text(&ext["employeeNumber"]).map(str::to_owned),
        ),
        (
            "manager",
            manager_name.clone().unwrap_or_else(|| "none".into()),
            Some(actual_manager.clone().unwrap_or_else(|| "none".into())),
        ),
    ];
    for (attr, expected, found) in checks {
        if found.as_deref() != Some(expected.as_str()) {
            out.push(Difference {
                kind: "wrong-attribute".into(),
                subject: user.user_name.clone(),
                detail: format!(
                    "{attr}: expected {expected:?}, found {}",
                    found.map_or_else(|| "nothing".to_owned(), |f| format!("{f:?}"))
                ),
            });
        }
    }
    if !email_ok {
        out.push(Difference {
            kind: "wrong-attribute".into(),
            subject: user.user_name.clone(),
            detail: format!(
                "emails: expected a value {:?}, found {}",
                user.user_name, actual["emails"]
            ),
        });
    }
}
