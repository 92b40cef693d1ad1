//! Runs the selected cases against a target, emitting [`Event`]s to reporters, then
//! deletes everything the run created.
//!
//! Scheduling: cases run concurrently, up to [`Policy::jobs`] at a time, except those
//! [`crate::schedule`] marks exclusive, which run alone. Whatever the schedule, reporters
//! see the cases in catalog order, so reports are stable. Each case is bounded by
//! [`Policy::case_timeout`]; each request by [`RunOptions::timeout`].

use crate::baseline::{Baseline, GateReport};
use crate::case::{Case, Level, Outcome, Problem};
use crate::client::{Client, Exchange, Reply, Request, DEFAULT_MAX_BODY, DEFAULT_RETRY_WAIT};
use crate::context::{Capabilities, Created, Cx, Endpoint, RATE_LIMITED};
use crate::report::{Event, Reporter};
use crate::select::Selection;
use crate::token::Token;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the runner schedules and judges, beyond [`RunOptions`]: concurrency, the per-case
/// timeout, the body cap, `--strict` and the baseline. [`run`] uses one case at a time
/// and no baseline; the CLI uses [`run_with`].
#[derive(Clone, Debug)]
pub struct Policy {
    /// How many cases may run at once (at least 1).
    pub jobs: usize,
    /// The longest a case may take; past it, it is stopped and its outcome is `error`.
    pub case_timeout: Duration,
    /// The largest response body read, in bytes.
    pub max_body: usize,
    /// Turn every `warn` into `fail` (`--strict`).
    pub strict: bool,
    /// Known failures (`--baseline`): the gate then fails only on new ones.
    pub baseline: Option<Baseline>,
    /// Fail the gate on baseline entries that no longer fail (`--fail-on-stale`).
    pub fail_on_stale: bool,
    /// The longest one request waits in total for a target answering 429 (`--retry-wait`).
    pub retry_wait: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            jobs: 1,
            case_timeout: Duration::from_secs(120),
            max_body: DEFAULT_MAX_BODY,
            strict: false,
            baseline: None,
            fail_on_stale: false,
            retry_wait: DEFAULT_RETRY_WAIT,
        }
    }
}

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
    /// How many cases may run at once.
    pub jobs: usize,
    /// Whether warnings count as failures (`--strict`).
    pub strict: bool,
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
    /// The target kept answering 429, so the case was not judged (outcome `error`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rate_limited: bool,
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
    /// Of the errored cases, those the target kept answering 429 (not judged); always
    /// present in the JSON report, 0 included.
    pub rate_limited: usize,
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
    /// The run prefix every created name carried.
    pub prefix: String,
    /// The baseline's verdict, when a baseline was given.
    pub gate: Option<GateReport>,
}

impl RunResult {
    /// True when some MUST case failed or errored.
    pub fn must_broken(&self) -> bool {
        self.cases
            .iter()
            .any(|c| c.level == Level::Must && matches!(c.outcome, Outcome::Fail | Outcome::Error))
    }

    /// Does the run fail its gate? With a baseline: a new failure, or (with
    /// `--fail-on-stale`) a stale entry. Without: any case that [`gates`] the run.
    pub fn gate_failed(&self) -> bool {
        match &self.gate {
            Some(gate) => gate.failed(),
            None => self.cases.iter().any(gates),
        }
    }
}

/// Does this case's outcome fail a run? A `fail` (a MUST broken, or any level under
/// `--strict`), or an `error` of a MUST case (it could not be shown to hold).
pub fn gates(case: &CaseReport) -> bool {
    case.outcome == Outcome::Fail || (case.outcome == Outcome::Error && case.level == Level::Must)
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

/// Runs `cases` as selected by `options`, one at a time, sending events to `reporters`.
pub async fn run(
    cases: &[Case],
    options: &RunOptions,
    reporters: &mut [&mut dyn Reporter],
) -> Result<RunResult, RunError> {
    run_with(cases, options, &Policy::default(), reporters).await
}

/// Runs `cases` as selected by `options`, scheduled and judged by `policy`.
pub async fn run_with(
    cases: &[Case],
    options: &RunOptions,
    policy: &Policy,
    reporters: &mut [&mut dyn Reporter],
) -> Result<RunResult, RunError> {
    let client = Client::new(&options.base_url, options.token.clone(), options.timeout)
        .map_err(RunError::Config)?
        .with_max_body(policy.max_body)
        .with_retry_wait(policy.retry_wait);
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
        jobs: policy.jobs.max(1),
        strict: policy.strict,
    };
    tracing::info!(target = %info.target, prefix = %prefix, cases = selected.len(), jobs = policy.jobs, "run starting");
    emit(reporters, &Event::RunStarted(&info));
    let cx = Cx::new(client, prefix.clone(), caps).with_second_token(options.second_token.clone());
    let mut result = RunResult {
        summary: Summary::default(),
        cases: Vec::new(),
        cleanup: CleanupReport::default(),
        prefix,
        gate: None,
    };
    let stopped_early = schedule(&cx, &selected, options, policy, reporters, &mut result).await;
    result.cleanup = cleanup(&cx, stopped_early.then_some(policy.case_timeout)).await;
    emit(reporters, &Event::CleanupFinished(&result.cleanup));
    if let Some(baseline) = &policy.baseline {
        let ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
        let gate = baseline.evaluate(&ids, &result.cases, policy.fail_on_stale);
        emit(reporters, &Event::GateEvaluated(&gate));
        result.gate = Some(gate);
    }
    emit(reporters, &Event::RunFinished(&result.summary));
    Ok(result)
}

/// Runs the selected cases concurrently (exclusive ones alone) and reports them in order.
/// Returns true when some case was stopped by the case timeout, so it may have created
/// something it could not record.
async fn schedule(
    cx: &Cx,
    selected: &[Case],
    options: &RunOptions,
    policy: &Policy,
    reporters: &mut [&mut dyn Reporter],
    result: &mut RunResult,
) -> bool {
    let permits = Arc::new(tokio::sync::Semaphore::new(policy.jobs.max(1)));
    // Ordinary cases share this lock; an exclusive case takes it alone. Tokio's lock is
    // fair, so an exclusive case waiting holds back the cases queued after it.
    let alone = Arc::new(tokio::sync::RwLock::new(()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, CaseReport, bool)>();
    // Cases start in catalog order: a scheduler task takes the permit and the lock for each
    // case before spawning it, so with one job the run is strictly serial (tasks racing for
    // the permit could start in any order, and case names would then differ between runs).
    let cases: Vec<Case> = selected.to_vec();
    let (cx, interrupt) = (cx.clone(), options.interrupt.clone());
    let (case_timeout, strict) = (policy.case_timeout, policy.strict);
    tokio::spawn(async move {
        for (index, case) in cases.into_iter().enumerate() {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let exclusive = crate::schedule::is_exclusive(case.id);
            let (shared, sole) = if exclusive {
                (None, Some(Arc::clone(&alone).write_owned().await))
            } else {
                (Some(Arc::clone(&alone).read_owned().await), None)
            };
            let (cx, tx, interrupt) = (cx.clone(), tx.clone(), interrupt.clone());
            tokio::spawn(async move {
                let _held = (permit, shared, sole);
                let interrupted = interrupt.is_some_and(|flag| flag.load(Ordering::Relaxed));
                let (report, aborted) = if interrupted {
                    (
                        skipped(&case, "the run was interrupted before this case"),
                        false,
                    )
                } else {
                    run_case(&cx, &case, case_timeout, strict).await
                };
                let _ = tx.send((index, report, aborted));
            });
        }
    });
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut aborted_any = false;
    while let Some((index, report, aborted)) = rx.recv().await {
        aborted_any |= aborted;
        pending.insert(index, report);
        while let Some(report) = pending.remove(&next) {
            finish(&selected[next], report, reporters, result);
            next += 1;
        }
    }
    // A task that died outside its case (it should not) still gets a line.
    for (index, case) in selected.iter().enumerate().skip(next) {
        let report = pending.remove(&index).unwrap_or_else(|| CaseReport {
            outcome: Outcome::Error,
            message: "the case's task ended without a report (a bug in scim-conformance)".into(),
            ..skipped(case, "")
        });
        finish(case, report, reporters, result);
    }
    aborted_any
}

fn finish(
    case: &Case,
    report: CaseReport,
    reporters: &mut [&mut dyn Reporter],
    result: &mut RunResult,
) {
    emit(reporters, &Event::CaseStarted(case));
    result.summary.add(report.outcome);
    result.summary.rate_limited += usize::from(report.rate_limited);
    emit(reporters, &Event::CaseFinished(&report));
    result.cases.push(report);
}

/// Reads `/ServiceProviderConfig` to learn what the target supports; a transport failure
/// here means the target is unreachable.
async fn preflight(client: &Client) -> Result<Capabilities, RunError> {
    let request = Request::new(reqwest::Method::GET, "/ServiceProviderConfig");
    let result = match client.send_patiently(&request, &mut |_| {}).await {
        Ok(result) => result,
        Err(limited) => {
            tracing::warn!(%limited, "ServiceProviderConfig rate-limited; assuming filter and patch are supported");
            return Ok(Capabilities::default());
        }
    };
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
        rate_limited: false,
    }
}

async fn run_case(
    cx: &Cx,
    case: &Case,
    case_timeout: Duration,
    strict: bool,
) -> (CaseReport, bool) {
    let case_cx = cx.for_case();
    let started = Instant::now();
    // A task of its own, so a bug that panics inside a case becomes that case's error and
    // the run (and its cleanup) goes on; a case past its timeout is aborted.
    let task = tokio::spawn((case.run)(case_cx.clone()));
    let abort = task.abort_handle();
    let mut aborted = false;
    let verdict = match tokio::time::timeout(case_timeout, task).await {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(e)) => Err(Problem::error(format!(
            "the case itself failed (a bug in scim-conformance): {e}"
        ))),
        Err(_) => {
            abort.abort();
            aborted = true;
            Err(Problem::error(format!(
                "the case did not finish within {:.1} s (--case-timeout) and was stopped",
                case_timeout.as_secs_f64()
            )))
        }
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let throttled = case_cx.rate_limited();
    // A problem that a throttled request caused elsewhere (a setup shared by many cases,
    // such as the differential seed, is made once and its error handed to each) carries
    // the rate-limited message without this case's own request being throttled.
    let throttled_elsewhere =
        matches!(&verdict, Err(Problem::Error(m)) if m.contains(RATE_LIMITED));
    let (outcome, message, expected, actual) = match (verdict, &throttled) {
        // A case that met a throttled request and did not pass is not judged, even when it
        // turned the error into a verdict of its own: the 429 says nothing about SCIM.
        (Err(Problem::Skip(reason)), _) => (Outcome::Skip, reason, None, None),
        (Err(_), Some(limited)) => (
            Outcome::Error,
            format!("{RATE_LIMITED}: {limited}"),
            None,
            None,
        ),
        (verdict, _) => judge(case, verdict, strict),
    };
    tracing::info!(
        id = case.id,
        outcome = outcome.label(),
        duration_ms,
        "case finished"
    );
    let report = CaseReport {
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
        rate_limited: outcome == Outcome::Error && (throttled.is_some() || throttled_elsewhere),
    };
    (report, aborted)
}

/// The outcome, message, expected and actual of a case's verdict.
fn judge(
    case: &Case,
    verdict: Result<(), Problem>,
    strict: bool,
) -> (Outcome, String, Option<String>, Option<String>) {
    match verdict {
        Ok(()) => (Outcome::Pass, String::new(), None, None),
        Err(Problem::Broken { expected, actual }) => {
            let outcome = if case.level == Level::Must || strict {
                Outcome::Fail
            } else {
                Outcome::Warn
            };
            let mut message = format!("expected {expected}, got {actual}");
            if case.level != Level::Must && strict {
                message.push_str(" (a warning, made a failure by --strict)");
            }
            (outcome, message, Some(expected), Some(actual))
        }
        Err(Problem::Skip(reason)) => (Outcome::Skip, reason, None, None),
        Err(Problem::Error(message)) => (Outcome::Error, message, None, None),
    }
}

/// Deletes every tracked resource, groups first (so no membership outlives its group).
/// After a case was stopped mid-flight (`sweep`), it also looks up resources named with
/// the run prefix that nobody recorded, and deletes those.
async fn cleanup(cx: &Cx, sweep: Option<Duration>) -> CleanupReport {
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
    if let (Some(bound), true) = (sweep, cx.caps().filter) {
        // Bounded like a case: a target that hangs must not hold the run hostage here.
        match tokio::time::timeout(bound, sweep_prefixed(&cleaner)).await {
            Ok(removed) => report.removed += removed,
            Err(_) => tracing::warn!("the prefix sweep did not finish within the case timeout"),
        }
    }
    tracing::info!(
        removed = report.removed,
        leftovers = report.leftovers.len(),
        "cleanup finished"
    );
    report
}

/// Deletes resources whose name starts with the run prefix (found with `sw`); only names
/// the run minted can match, so nothing else is touched. Returns how many went.
async fn sweep_prefixed(cx: &Cx) -> usize {
    let mut removed = 0;
    for endpoint in [Endpoint::Groups, Endpoint::Users] {
        let attr = endpoint.name_attr();
        let filter = format!("{attr} sw {}", crate::cases::quote(cx.prefix()));
        let Ok(reply) = cx.filter(endpoint, &filter).await else {
            continue;
        };
        let Ok(list) = crate::cases::listing(&reply) else {
            tracing::warn!(?endpoint, "the prefix sweep could not read the listing");
            continue;
        };
        for resource in &list.resources {
            let ours = resource[attr]
                .as_str()
                .is_some_and(|name| name.starts_with(cx.prefix()));
            if let (true, Some(id)) = (ours, resource["id"].as_str()) {
                if cx.delete(endpoint, id).await.is_ok_and(|r| r.status < 300) {
                    removed += 1;
                }
            }
        }
    }
    removed
}

async fn remove(cx: &Cx, resource: &Created) -> Result<(), String> {
    let mut ids = vec![resource.id.clone()];
    if resource.id.is_empty() {
        ids = lookup_ids(cx, resource).await?;
    }
    for id in ids {
        let reply = delete_once_more(cx, resource.endpoint, &id)
            .await
            .map_err(|p| format!("{p:?}"))?;
        if !matches!(reply.status, 200 | 204 | 404) {
            return Err(format!("DELETE answered {}", reply.describe()));
        }
        cx.forget(resource.endpoint, &id);
    }
    Ok(())
}

/// The cleanup's `DELETE`, sent a second time after a short pause when the first got no
/// answer at all: for example, one sent on a keep-alive connection the target closed at
/// that moment ("connection closed before message completed"). `DELETE` is idempotent
/// (RFC 9110 section 9.2.2) and a 404 counts as gone, so the repeat is safe. A timeout is
/// not repeated: a target that hangs would hold the cleanup twice as long.
async fn delete_once_more(cx: &Cx, endpoint: Endpoint, id: &str) -> Result<Reply, Problem> {
    match cx.delete(endpoint, id).await {
        Err(Problem::Error(first)) if !first.contains("timed out") => {
            tracing::debug!(?endpoint, %id, reason = %first, "DELETE got no answer; sending it once more");
            tokio::time::sleep(Duration::from_millis(250)).await;
            cx.delete(endpoint, id).await
        }
        other => other,
    }
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
