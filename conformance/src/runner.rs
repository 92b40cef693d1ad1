//! Runs the selected cases against a target, in order, emitting [`Event`]s to reporters,
//! then deletes everything the run created.

use crate::case::{Case, Level, Outcome, Problem};
use crate::client::{Client, Exchange, Request};
use crate::context::{Capabilities, Created, Cx, Endpoint};
use crate::report::{Event, Reporter};
use crate::select::Selection;
use crate::token::Token;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The SCIM base URL, e.g. `http://127.0.0.1:8080/scim/v2`.
    pub base_url: String,
    /// The bearer token (never printed).
    pub token: Option<Token>,
    /// A second tenant's bearer token, for the tenant-isolation cases (never printed);
    /// without it they skip.
    pub second_token: Option<Token>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Which cases run.
    pub selection: Selection,
    /// How reports name the target (e.g. `embedded reference server` or the URL).
    pub target_label: String,
    /// The name prefix for everything the run creates; `None` picks `scimconf-<random8>-`.
    pub prefix: Option<String>,
    /// Set to stop before the next case (Ctrl-C); the remaining cases are skipped and the
    /// cleanup still runs.
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// A case left out of the run, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Deselected {
    /// The case id.
    pub id: &'static str,
    /// Why it does not run.
    pub reason: String,
}

/// Facts about the run, sent with [`Event::RunStarted`].
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// How the target is named.
    pub target: String,
    /// The prefix every created name carries.
    pub prefix: String,
    /// How many cases will run.
    pub selected: usize,
    /// The cases that will not, with reasons.
    pub deselected: Vec<Deselected>,
}

/// One finished case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    /// Stable id.
    pub id: &'static str,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// Profiles it belongs to.
    pub profiles: &'static [crate::case::Profile],
    /// The requirement checked.
    pub requirement: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// Empty on pass; else the reason, or "expected ..., got ...".
    pub message: String,
    /// What the requirement needs (fail and warn only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the server did (fail and warn only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Wall time of the case.
    pub duration_ms: u64,
    /// Every request the case sent, with its response, token redacted.
    pub exchanges: Vec<Exchange>,
}

/// Counts per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed cases.
    pub passed: usize,
    /// Failed MUST cases.
    pub failed: usize,
    /// Broken SHOULD or MAY cases.
    pub warned: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// Cases that could not run.
    pub errored: usize,
}

impl Summary {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail => self.failed += 1,
            Outcome::Warn => self.warned += 1,
            Outcome::Skip => self.skipped += 1,
            Outcome::Error => self.errored += 1,
        }
    }
}

/// A created resource the cleanup could not remove.
#[derive(Clone, Debug, Serialize)]
pub struct Leftover {
    /// What it is.
    #[serde(flatten)]
    pub resource: Created,
    /// Why it is still there.
    pub reason: String,
}

/// What the cleanup did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CleanupReport {
    /// Resources deleted (or found already gone).
    pub removed: usize,
    /// Resources still on the target.
    pub leftovers: Vec<Leftover>,
}

/// What a whole run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Counts per outcome.
    pub summary: Summary,
    /// Every case, in run order.
    pub cases: Vec<CaseReport>,
    /// What the cleanup did.
    pub cleanup: CleanupReport,
}

impl RunResult {
    /// True when some MUST case failed or errored.
    pub fn must_broken(&self) -> bool {
        self.cases
            .iter()
            .any(|c| c.level == Level::Must && matches!(c.outcome, Outcome::Fail | Outcome::Error))
    }
}

/// Why a run could not happen at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// Bad options (URL, selection).
    Config(String),
    /// The target did not answer the first request.
    Unreachable(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(m) => write!(f, "configuration error: {m}"),
            RunError::Unreachable(m) => write!(f, "target unreachable: {m}"),
        }
    }
}

impl std::error::Error for RunError {}

/// A fresh `scimconf-<8 hex digits>-` prefix.
pub fn random_prefix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("scimconf-{:08x}-", hasher.finish() as u32)
}

fn emit(reporters: &mut [&mut dyn Reporter], event: &Event<'_>) {
    for reporter in reporters.iter_mut() {
        if let Err(e) = reporter.event(event) {
            tracing::error!("a reporter failed: {e}");
        }
    }
}

/// Runs `cases` as selected by `options`, sending events to `reporters`.
pub async fn run(
    cases: &[Case],
    options: &RunOptions,
    reporters: &mut [&mut dyn Reporter],
) -> Result<RunResult, RunError> {
    let client = Client::new(&options.base_url, options.token.clone(), options.timeout)
        .map_err(RunError::Config)?;
    let caps = preflight(&client).await?;
    let prefix = options.prefix.clone().unwrap_or_else(random_prefix);
    if prefix.trim().len() < 8 {
        // The prefix is what keeps the run away from everyone else's resources.
        return Err(RunError::Config(format!(
            "the name prefix `{prefix}` is too short; use at least 8 characters"
        )));
    }
    let mut selected = Vec::new();
    let mut deselected = Vec::new();
    for case in cases {
        match options.selection.decide(case) {
            Ok(()) => selected.push(*case),
            Err(reason) => deselected.push(Deselected {
                id: case.id,
                reason,
            }),
        }
    }
    let info = RunInfo {
        target: options.target_label.clone(),
        prefix: prefix.clone(),
        selected: selected.len(),
        deselected,
    };
    tracing::info!(target = %info.target, prefix = %prefix, cases = selected.len(), "run starting");
    emit(reporters, &Event::RunStarted(&info));
    let cx = Cx::new(client, prefix, caps).with_second_token(options.second_token.clone());
    let mut result = RunResult {
        summary: Summary::default(),
        cases: Vec::new(),
        cleanup: CleanupReport::default(),
    };
    for case in &selected {
        emit(reporters, &Event::CaseStarted(case));
        let interrupted = options
            .interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed));
        let report = if interrupted {
            skipped(case, "the run was interrupted before this case")
        } else {
            run_case(&cx, case).await
        };
        result.summary.add(report.outcome);
        emit(reporters, &Event::CaseFinished(&report));
        result.cases.push(report);
    }
    result.cleanup = cleanup(&cx).await;
    emit(reporters, &Event::CleanupFinished(&result.cleanup));
    emit(reporters, &Event::RunFinished(&result.summary));
    Ok(result)
}

/// Reads `/ServiceProviderConfig` to learn what the target supports; a transport failure
/// here means the target is unreachable.
async fn preflight(client: &Client) -> Result<Capabilities, RunError> {
    let (_, result) = client
        .send(&Request::new(
            reqwest::Method::GET,
            "/ServiceProviderConfig",
        ))
        .await;
    let reply = result.map_err(|e| RunError::Unreachable(format!("{}: {e}", client.base())))?;
    let caps = match (reply.status, serde_json::from_str(&reply.body)) {
        (200, Ok(config)) => Capabilities::from_config(&config),
        (status, _) => {
            tracing::warn!(
                status,
                "ServiceProviderConfig unreadable; assuming filter and patch are supported"
            );
            Capabilities::default()
        }
    };
    Ok(caps)
}

fn skipped(case: &Case, reason: &str) -> CaseReport {
    CaseReport {
        id: case.id,
        level: case.level,
        profiles: case.profiles,
        requirement: case.requirement,
        outcome: Outcome::Skip,
        message: reason.to_owned(),
        expected: None,
        actual: None,
        duration_ms: 0,
        exchanges: Vec::new(),
    }
}

async fn run_case(cx: &Cx, case: &Case) -> CaseReport {
    let case_cx = cx.for_case();
    let started = Instant::now();
    // A task of its own, so a bug that panics inside a case becomes that case's error and
    // the run (and its cleanup) goes on.
    let verdict = match tokio::spawn((case.run)(case_cx.clone())).await {
        Ok(verdict) => verdict,
        Err(e) => Err(Problem::error(format!(
            "the case itself failed (a bug in scim-conformance): {e}"
        ))),
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let (outcome, message, expected, actual) = match verdict {
        Ok(()) => (Outcome::Pass, String::new(), None, None),
        Err(Problem::Broken { expected, actual }) => {
            let outcome = if case.level == Level::Must {
                Outcome::Fail
            } else {
                Outcome::Warn
            };
            (
                outcome,
                format!("expected {expected}, got {actual}"),
                Some(expected),
                Some(actual),
            )
        }
        Err(Problem::Skip(reason)) => (Outcome::Skip, reason, None, None),
        Err(Problem::Error(message)) => (Outcome::Error, message, None, None),
    };
    tracing::info!(
        id = case.id,
        outcome = outcome.label(),
        duration_ms,
        "case finished"
    );
    CaseReport {
        id: case.id,
        level: case.level,
        profiles: case.profiles,
        requirement: case.requirement,
        outcome,
        message,
        expected,
        actual,
        duration_ms,
        exchanges: case_cx.take_exchanges(),
    }
}

/// Deletes every tracked resource, groups first (so no membership outlives its group).
async fn cleanup(cx: &Cx) -> CleanupReport {
    let cleaner = cx.for_case();
    let mut report = CleanupReport::default();
    let mut created = cx.created();
    created.sort_by_key(|c| c.endpoint != Endpoint::Groups);
    for resource in created {
        match remove(&cleaner, &resource).await {
            Ok(()) => report.removed += 1,
            Err(reason) => {
                tracing::warn!(endpoint = ?resource.endpoint, id = %resource.id, name = %resource.name, %reason, "could not remove");
                report.leftovers.push(Leftover { resource, reason });
            }
        }
    }
    tracing::info!(
        removed = report.removed,
        leftovers = report.leftovers.len(),
        "cleanup finished"
    );
    report
}

async fn remove(cx: &Cx, resource: &Created) -> Result<(), String> {
    let mut ids = vec![resource.id.clone()];
    if resource.id.is_empty() {
        ids = lookup_ids(cx, resource).await?;
    }
    for id in ids {
        let reply = cx
            .delete(resource.endpoint, &id)
            .await
            .map_err(|p| format!("{p:?}"))?;
        if !matches!(reply.status, 200 | 204 | 404) {
            return Err(format!("DELETE answered {}", reply.describe()));
        }
        cx.forget(resource.endpoint, &id);
    }
    Ok(())
}

/// Finds the ids of a resource created without a readable id, by its prefixed name.
async fn lookup_ids(cx: &Cx, resource: &Created) -> Result<Vec<String>, String> {
    if resource.name.is_empty() || !resource.name.starts_with(cx.prefix()) {
        return Err("created without a readable id or a run-prefixed name".into());
    }
    let attr = resource.name_attr.as_str();
    let filter = format!("{attr} eq {}", crate::cases::quote(&resource.name));
    let reply = cx
        .filter(resource.endpoint, &filter)
        .await
        .map_err(|p| format!("{p:?}"))?;
    let list =
        crate::cases::listing(&reply).map_err(|p| format!("lookup by name failed: {p:?}"))?;
    // Only delete what carries this run's name: never trust a server's filter blindly.
    Ok(list
        .resources
        .iter()
        .filter(|r| r[attr].as_str() == Some(resource.name.as_str()))
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect())
}
