//! `scim-conformance merge`: one report from the JSON reports of the shards of one run
//! (`simulate --shard K/N --json FILE`). Counts, errors and retries are summed; latency
//! percentiles come from the summed histograms (never an average of percentiles), so they
//! are bucket upper bounds, at most 2% above the exact figure; throughput is the summed
//! count over the union of the shards' wall-clock spans; phase times are the slowest
//! shard's; read-back differences are concatenated, each naming its shard.

use super::engine::{histogram_percentile, merge_histograms, KindSummary};
use super::report::{Report, VERSION};
use super::shard::Shard;
use super::{CycleCheck, Phase};
use std::collections::BTreeMap;
use std::path::Path;

/// Failures listed in the merged report (all are counted).
const FAILURES_LISTED: usize = 200;

/// Reads one shard report, naming the file in every error.
pub fn load(path: &Path) -> Result<Report, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{name} is not JSON ({e}); expected a `simulate --json` report"))?;
    match value["version"].as_u64() {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "{name}: report version {v}, this merge reads version {VERSION}; run the \
                 shards with this build"
            ))
        }
        None => {
            return Err(format!(
                "{name}: no report version; not a `simulate --json` report"
            ))
        }
    }
    if let Some((at, n)) = implausible_number(&value, &mut String::new()) {
        return Err(format!(
            "{name}: {at} is {n}, beyond any real run (at most {MAX_PLAUSIBLE:e} in magnitude); \
             the report was edited or damaged"
        ));
    }
    did_operations(&value).map_err(|e| format!("{name}: {e}"))?;
    let report: Report =
        serde_json::from_value(value).map_err(|e| format!("{name}: not a simulate report: {e}"))?;
    let differences: usize = report
        .reconciliations
        .iter()
        .map(|c| c.result.differences.len())
        .sum();
    if report.passed && (report.failure_count > 0 || differences > 0) {
        return Err(format!(
            "{name}: says it passed but counts {} failed operation(s) and {differences} \
             difference(s); the report was edited or damaged",
            report.failure_count
        ));
    }
    Ok(report)
}

/// A shard of a run with users sends at least one request (it owns at least one user), so
/// a report that counts no operation, or whose run never started (`/error`), cannot be one
/// of its shards. The error names the JSON pointer.
fn did_operations(value: &serde_json::Value) -> Result<(), String> {
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        return Err(format!(
            "/error says the shard did not run ({error}); rerun that shard before merging"
        ));
    }
    let rows = match value.get("operations") {
        None => return Err("/operations is missing; not a `simulate --json` report".into()),
        Some(serde_json::Value::Array(rows)) => rows,
        Some(_) => return Err("/operations is not an array of operation rows".into()),
    };
    if rows.is_empty() {
        return Err(
            "/operations is empty: a shard of a run with users sends requests, so this \
             report did no work; the report was edited or damaged, or the shard never ran"
                .into(),
        );
    }
    let mut total = 0u64;
    for (i, row) in rows.iter().enumerate() {
        match row.get("count").and_then(|c| c.as_u64()) {
            Some(n) => total = total.saturating_add(n),
            None => {
                return Err(format!(
                    "/operations/{i}/count is missing or not a whole number; the report was \
                     edited or damaged"
                ))
            }
        }
    }
    if total == 0 {
        return Err(
            "/operations counts no request at all: a shard of a run with users sends \
             requests; the report was edited or damaged"
                .into(),
        );
    }
    Ok(())
}

/// The largest magnitude a number in a real report reaches (counts, milliseconds since
/// 1970); anything larger would overflow the sums of a merge.
const MAX_PLAUSIBLE: f64 = 1e15;

/// The JSON pointer and value of the first number in `value` whose magnitude exceeds
/// [`MAX_PLAUSIBLE`].
fn implausible_number(value: &serde_json::Value, at: &mut String) -> Option<(String, String)> {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            let big = n.as_f64().is_none_or(|f| f.abs() > MAX_PLAUSIBLE);
            big.then(|| {
                (
                    if at.is_empty() {
                        "/".into()
                    } else {
                        at.clone()
                    },
                    n.to_string(),
                )
            })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let len = at.len();
            at.push_str(&format!("/{i}"));
            let found = implausible_number(v, at);
            at.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let len = at.len();
            at.push('/');
            at.push_str(k);
            let found = implausible_number(v, at);
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

/// Checks that `reports` (file name, report) are every shard of one run, once each.
fn check(reports: &[(String, Report)]) -> Result<usize, String> {
    let Some((first_name, first)) = reports.first() else {
        return Err("no reports to merge".into());
    };
    let shard_of = |name: &str, r: &Report| -> Result<Shard, String> {
        let text = r
            .shard
            .as_deref()
            .ok_or_else(|| format!("{name} is not a shard report (it ran without --shard)"))?;
        text.parse::<Shard>()
            .map_err(|e| format!("{name}: shard {e}"))
    };
    let n = shard_of(first_name, first)?.count;
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    for (name, r) in reports {
        let shard = shard_of(name, r)?;
        let same: [(&str, String, String); 8] = [
            ("run prefix", r.prefix.clone(), first.prefix.clone()),
            ("seed", r.seed.to_string(), first.seed.to_string()),
            ("users", r.users.to_string(), first.users.to_string()),
            ("groups", r.groups.to_string(), first.groups.to_string()),
            (
                "large group",
                r.large_group.to_string(),
                first.large_group.to_string(),
            ),
            ("dialect", r.dialect.clone(), first.dialect.clone()),
            ("cycles", r.cycles.to_string(), first.cycles.to_string()),
            ("shard count", shard.count.to_string(), n.to_string()),
        ];
        for (what, here, there) in same {
            if here != there {
                return Err(format!(
                    "{name}: {what} {here} differs from {what} {there} in {first_name}; \
                     these reports are not shards of one run"
                ));
            }
        }
        if let Some(other) = seen.insert(shard.index, name) {
            return Err(format!("{other} and {name} are both shard {shard}"));
        }
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !seen.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shard(s) {} of {n}", missing.join(", ")));
    }
    Ok(n)
}

/// Merges the reports of every shard of one run, in shard order.
pub fn merge(reports: &[(String, Report)]) -> Result<Report, String> {
    let n = check(reports)?;
    let mut sorted: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
    sorted.sort_by_key(|r| {
        r.shard
            .as_deref()
            .and_then(|s| s.parse::<Shard>().ok())
            .map(|s| s.index)
    });
    let first = sorted[0];
    let mut targets: Vec<&str> = sorted.iter().map(|r| r.target.as_str()).collect();
    targets.dedup();
    let mut failures = Vec::new();
    for r in &sorted {
        failures.extend(r.failures.iter().cloned());
    }
    failures.truncate(FAILURES_LISTED);
    let notes: Vec<String> = sorted
        .iter()
        .filter_map(|r| {
            Some(format!(
                "shard {}: {}",
                r.shard.as_deref()?,
                r.cleanup_note.as_deref()?
            ))
        })
        .collect();
    let cleanups: Vec<(usize, usize)> = sorted.iter().filter_map(|r| r.cleanup).collect();
    let rates: Option<Vec<f64>> = sorted.iter().map(|r| r.rate).collect();
    Ok(Report {
        version: VERSION,
        target: targets.join("; "),
        shard: Some(format!("{n} shards merged")),
        scope: None,
        prefix: first.prefix.clone(),
        dialect: first.dialect.clone(),
        seed: first.seed,
        users: first.users,
        groups: first.groups,
        large_group: first.large_group,
        cycles: first.cycles,
        concurrency: sorted.iter().map(|r| r.concurrency).sum(),
        rate: rates.map(|r| r.iter().sum()),
        batch: first.batch.clone(),
        outage: None,
        phases: merge_phases(&sorted),
        operations: merge_operations(&sorted),
        reconciliations: merge_checks(&sorted),
        failures,
        failure_count: sorted.iter().map(|r| r.failure_count).sum(),
        cleanup: (!cleanups.is_empty()).then(|| {
            cleanups
                .iter()
                .fold((0, 0), |(d, f), (d2, f2)| (d + d2, f + f2))
        }),
        cleanup_note: (!notes.is_empty()).then(|| notes.join("; ")),
        seconds: sorted.iter().map(|r| r.seconds).fold(0.0, f64::max),
        passed: sorted.iter().all(|r| r.passed),
        error: None,
    })
}

/// Phases by name in order of first appearance: the slowest shard's time, summed requests.
fn merge_phases(reports: &[&Report]) -> Vec<Phase> {
    let mut merged: Vec<Phase> = Vec::new();
    for r in reports {
        for p in &r.phases {
            match merged.iter_mut().find(|m| m.name == p.name) {
                Some(m) => {
                    m.seconds = m.seconds.max(p.seconds);
                    m.requests += p.requests;
                }
                None => merged.push(p.clone()),
            }
        }
    }
    merged
}

/// One row per operation kind: sums, merged histogram, percentiles from it.
fn merge_operations(reports: &[&Report]) -> Vec<KindSummary> {
    let mut rows: BTreeMap<_, KindSummary> = BTreeMap::new();
    for r in reports {
        for o in &r.operations {
            match rows.get_mut(&o.kind) {
                None => {
                    rows.insert(o.kind, o.clone());
                }
                Some(m) => {
                    m.count += o.count;
                    m.retries += o.retries;
                    for (status, count) in &o.errors {
                        *m.errors.entry(status.clone()).or_default() += count;
                    }
                    merge_histograms(&mut m.histogram, &o.histogram);
                    m.first_unix_ms = m.first_unix_ms.min(o.first_unix_ms);
                    m.last_unix_ms = m.last_unix_ms.max(o.last_unix_ms);
                }
            }
        }
    }
    rows.into_values()
        .map(|mut m| {
            let span_s = (m.last_unix_ms - m.first_unix_ms) / 1000.0;
            m.throughput = if span_s > 0.0 {
                m.count as f64 / span_s
            } else {
                0.0
            };
            m.p50_ms = histogram_percentile(&m.histogram, 0.50);
            m.p95_ms = histogram_percentile(&m.histogram, 0.95);
            m.p99_ms = histogram_percentile(&m.histogram, 0.99);
            m
        })
        .collect()
}

/// Read-backs by position: summed counts, differences concatenated with their shard.
fn merge_checks(reports: &[&Report]) -> Vec<CycleCheck> {
    let mut merged: Vec<CycleCheck> = Vec::new();
    for r in reports {
        let shard = r.shard.as_deref().unwrap_or("?");
        for (i, c) in r.reconciliations.iter().enumerate() {
            if merged.len() <= i {
                let mut empty = c.clone();
                empty.result.users_read = 0;
                empty.result.groups_read = 0;
                empty.result.differences.clear();
                merged.push(empty);
            }
            let m = &mut merged[i];
            m.counts &= c.counts;
            m.result.users_read += c.result.users_read;
            m.result.groups_read += c.result.groups_read;
            m.result
                .differences
                .extend(c.result.differences.iter().map(|d| {
                    let mut d = d.clone();
                    d.detail = format!("[shard {shard}] {}", d.detail);
                    d
                }));
        }
    }
    merged
}
