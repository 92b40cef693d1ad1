//! Sending at scale: the rate limit (`--rate`), the IdP's reaction to 429 and 5xx, and the
//! per-operation statistics (count, throughput, latency percentiles, errors by status).
//!
//! Retry policy, as the IdPs document it:
//! - 429: Entra logs `TooManyRequests` and retries automatically (MS-LOGS) and pauses for
//!   `Retry-After` (Microsoft Q&A 2284725, bug-66); the simulator waits `Retry-After`
//!   (seconds or HTTP-date, RFC 9110 section 10.2.3) or, without one, backs off
//!   exponentially, up to `retries_429` times.
//! - 5xx and transport errors: Entra retries the object in a later cycle, about 40 minutes
//!   on (MS-LOGS); the simulator compresses that to a short exponential backoff, up to
//!   `retries_5xx` times, and records every attempt.

use crate::client::{Client, Reply, Request, TransportError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// What an operation is, for the statistics table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// Lookup filter before a create.
    LookupUser,
    /// POST /Users.
    CreateUser,
    /// GET /Users/{id} before a PUT.
    GetUser,
    /// PATCH or PUT of user attributes.
    UpdateUser,
    /// Manager reference.
    SetManager,
    /// Deactivate.
    Deactivate,
    /// Reactivate.
    Reactivate,
    /// DELETE /Users/{id}.
    DeleteUser,
    /// Group lookup.
    LookupGroup,
    /// POST /Groups.
    CreateGroup,
    /// Member add PATCH.
    AddMembers,
    /// Member remove PATCH.
    RemoveMembers,
    /// Okta's rename after a push.
    RenameGroup,
    /// Read-back pages.
    Reconcile,
    /// Cleanup deletes.
    Cleanup,
    /// `--find-limit` probes.
    Probe,
}

impl OpKind {
    /// The label in the table.
    pub fn label(self) -> &'static str {
        match self {
            OpKind::LookupUser => "lookup-user",
            OpKind::CreateUser => "create-user",
            OpKind::GetUser => "get-user",
            OpKind::UpdateUser => "update-user",
            OpKind::SetManager => "set-manager",
            OpKind::Deactivate => "deactivate",
            OpKind::Reactivate => "reactivate",
            OpKind::DeleteUser => "delete-user",
            OpKind::LookupGroup => "lookup-group",
            OpKind::CreateGroup => "create-group",
            OpKind::AddMembers => "add-members",
            OpKind::RemoveMembers => "remove-members",
            OpKind::RenameGroup => "rename-group",
            OpKind::Reconcile => "reconcile-read",
            OpKind::Cleanup => "cleanup-delete",
            OpKind::Probe => "probe",
        }
    }
}

/// Retry and pacing settings.
#[derive(Clone, Debug)]
pub struct Pacing {
    /// Requests per second across all workers; `None` is unlimited.
    pub rate: Option<f64>,
    /// Attempts after a 429.
    pub retries_429: u32,
    /// Attempts after a 5xx or a transport error.
    pub retries_5xx: u32,
    /// First backoff step (doubles per attempt).
    pub backoff: Duration,
    /// Longest single wait, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            rate: None,
            retries_429: 8,
            retries_5xx: 3,
            backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// Samples and errors of one operation kind.
#[derive(Clone, Debug, Default)]
struct KindStats {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<String, u64>,
    first: Option<Instant>,
    last: Option<Instant>,
    retries: u64,
}

/// Shared counters and samples.
#[derive(Debug, Default)]
pub struct Stats {
    kinds: Mutex<BTreeMap<OpKind, KindStats>>,
    /// Requests sent (every attempt).
    pub sent: AtomicU64,
    /// Attempts answered with a non-2xx status or failed in transport.
    pub errors: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
    /// 429 answers carrying `Retry-After`.
    pub retry_after_seen: AtomicU64,
}

/// One row of the final table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KindSummary {
    /// Operation kind.
    pub kind: OpKind,
    /// Attempts.
    pub count: u64,
    /// Attempts per second between the kind's first start and last end.
    pub throughput: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Non-2xx statuses and transport failures (`transport`), with counts.
    pub errors: BTreeMap<String, u64>,
    /// Attempts that were retries.
    pub retries: u64,
    /// Wall-clock start of the kind's first attempt, milliseconds since the Unix epoch
    /// (to merge the throughput of shards that ran at the same time).
    pub first_unix_ms: f64,
    /// Wall-clock end of the kind's last attempt.
    pub last_unix_ms: f64,
    /// Latency histogram, `[bucket, count]` pairs for the non-empty buckets (see
    /// [`bucket_of`]): what `merge` combines percentiles from.
    pub histogram: Vec<(u32, u64)>,
}

/// Growth factor between histogram buckets: a percentile read from the histogram is the
/// bucket's upper bound, at most 2% above the true sample.
pub const BUCKET_GROWTH: f64 = 1.02;

/// The histogram bucket of a latency: bucket `b` holds `(GROWTH^(b-1), GROWTH^b]`
/// microseconds; bucket 0 holds 0 and 1 us.
pub fn bucket_of(us: u32) -> u32 {
    if us <= 1 {
        return 0;
    }
    // Upward rounding can land one bucket high for an exact power; that stays within the
    // 2% bound.
    (f64::from(us).ln() / BUCKET_GROWTH.ln()).ceil() as u32
}

/// The upper bound of bucket `b`, in milliseconds.
pub fn bucket_upper_ms(b: u32) -> f64 {
    BUCKET_GROWTH.powi(b as i32) / 1000.0
}

/// The `q` quantile (nearest rank) of a histogram of `[bucket, count]` pairs sorted by
/// bucket, as the bucket's upper bound in milliseconds.
pub fn histogram_percentile(histogram: &[(u32, u64)], q: f64) -> f64 {
    let total: u64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for &(b, n) in histogram {
        seen += n;
        if seen >= rank {
            return bucket_upper_ms(b);
        }
    }
    histogram.last().map_or(0.0, |&(b, _)| bucket_upper_ms(b))
}

/// Adds `other` into `into` (both sorted by bucket).
pub fn merge_histograms(into: &mut Vec<(u32, u64)>, other: &[(u32, u64)]) {
    let mut all: BTreeMap<u32, u64> = into.iter().copied().collect();
    for &(b, n) in other {
        *all.entry(b).or_default() += n;
    }
    *into = all.into_iter().collect();
}

/// Milliseconds since the Unix epoch of `at`, measured against now.
fn unix_ms(at: Instant) -> f64 {
    let now_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    now_unix - at.elapsed().as_secs_f64() * 1000.0
}

impl Stats {
    fn record(&self, kind: OpKind, started: Instant, outcome: &str, ok: bool, retry: bool) {
        let now = Instant::now();
        let us = now
            .duration_since(started)
            .as_micros()
            .min(u32::MAX as u128) as u32;
        self.sent.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let k = kinds.entry(kind).or_default();
        k.latencies_us.push(us);
        if !ok {
            *k.statuses.entry(outcome.to_owned()).or_default() += 1;
        }
        if retry {
            k.retries += 1;
        }
        k.first = Some(k.first.map_or(started, |f| f.min(started)));
        k.last = Some(k.last.map_or(now, |l| l.max(now)));
    }

    /// The table rows, one per kind seen.
    pub fn summary(&self) -> Vec<KindSummary> {
        let kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds
            .iter()
            .map(|(kind, k)| {
                let mut lat = k.latencies_us.clone();
                lat.sort_unstable();
                let span = match (k.first, k.last) {
                    (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
                    _ => 0.0,
                };
                let count = lat.len() as u64;
                let mut histogram: Vec<(u32, u64)> = Vec::new();
                for &us in &lat {
                    let b = bucket_of(us);
                    match histogram.last_mut() {
                        Some((last, n)) if *last == b => *n += 1,
                        _ => histogram.push((b, 1)),
                    }
                }
                KindSummary {
                    kind: *kind,
                    count,
                    throughput: if span > 0.0 { count as f64 / span } else { 0.0 },
                    p50_ms: percentile(&lat, 0.50),
                    p95_ms: percentile(&lat, 0.95),
                    p99_ms: percentile(&lat, 0.99),
                    errors: k.statuses.clone(),
                    retries: k.retries,
                    first_unix_ms: k.first.map_or(0.0, unix_ms),
                    last_unix_ms: k.last.map_or(0.0, unix_ms),
                    histogram,
                }
            })
            .collect()
    }

    /// Empties the samples (between `--find-limit` steps).
    pub fn reset(&self) {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner()).clear();
        for c in [
            &self.sent,
            &self.errors,
            &self.throttled,
            &self.retry_after_seen,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The `q` quantile of sorted microsecond samples, in milliseconds (nearest rank).
pub fn percentile(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

/// Spaces requests evenly at a rate per second across all callers.
#[derive(Debug)]
struct Pacer {
    /// Nanoseconds between requests; 0 is unlimited.
    interval_ns: AtomicU64,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: Option<f64>) -> Pacer {
        let pacer = Pacer {
            interval_ns: AtomicU64::new(0),
            next: Mutex::new(Instant::now()),
        };
        pacer.set(rate);
        pacer
    }

    fn set(&self, rate: Option<f64>) {
        let ns = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(0, |r| (1e9 / r).max(1.0) as u64);
        self.interval_ns.store(ns, Ordering::Relaxed);
    }

    async fn wait(&self) {
        let ns = self.interval_ns.load(Ordering::Relaxed);
        if ns == 0 {
            return;
        }
        let interval = Duration::from_nanos(ns);
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // Never bank more than one interval of idle time, so a pause is not followed
            // by a burst.
            let slot = (*next).max(now.checked_sub(interval).unwrap_or(now));
            *next = slot + interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            tokio::time::sleep(slot - now).await;
        }
    }
}

/// Why an operation failed for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The last attempt's status and body start.
    Status(u16, String),
    /// The last attempt's transport error.
    Transport(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(s, body) => write!(f, "status {s}: {body}"),
            Failure::Transport(m) => write!(f, "{m}"),
        }
    }
}

/// The client with pacing, retries and statistics.
#[derive(Debug)]
pub struct Engine {
    client: Client,
    pacer: Pacer,
    pacing: Pacing,
    /// The statistics.
    pub stats: Stats,
}

impl Engine {
    /// An engine over `client`.
    pub fn new(client: Client, pacing: Pacing) -> Engine {
        Engine {
            client,
            pacer: Pacer::new(pacing.rate),
            pacing,
            stats: Stats::default(),
        }
    }

    /// The target rate.
    pub fn rate(&self) -> Option<f64> {
        self.pacing.rate
    }

    /// Changes the pacing rate (for `--find-limit`; [`Engine::rate`] keeps the asked one).
    pub fn set_rate(&self, rate: Option<f64>) {
        self.pacer.set(rate);
    }

    /// Sends `request`, retrying 429 and 5xx as the IdP would. Returns the final reply,
    /// whatever its status, or the last transport error.
    pub async fn call(&self, kind: OpKind, request: &Request) -> Result<Reply, Failure> {
        self.call_with(kind, request, self.pacing.retries_5xx).await
    }

    /// [`Engine::call`] with its own number of 5xx/transport retries (0 for a create the
    /// caller re-drives from its lookup).
    pub async fn call_with(
        &self,
        kind: OpKind,
        request: &Request,
        retries_5xx: u32,
    ) -> Result<Reply, Failure> {
        let client = &self.client;
        let (mut n429, mut n5xx) = (0u32, 0u32);
        let mut attempt = 0u32;
        loop {
            self.pacer.wait().await;
            let started = Instant::now();
            let result = client.send_unrecorded(request).await;
            let retry = attempt > 0;
            attempt += 1;
            match result {
                Ok(reply) if reply.status == 429 => {
                    self.stats.record(kind, started, "429", false, retry);
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    let advised = reply.header("retry-after").and_then(parse_retry_after);
                    if reply.header("retry-after").is_some() {
                        self.stats.retry_after_seen.fetch_add(1, Ordering::Relaxed);
                    }
                    if n429 >= self.pacing.retries_429 {
                        return Ok(reply);
                    }
                    let wait = advised.unwrap_or_else(|| self.backoff(n429));
                    n429 += 1;
                    tokio::time::sleep(wait.min(self.pacing.max_wait)).await;
                }
                Ok(reply) if reply.status >= 500 => {
                    self.stats
                        .record(kind, started, &reply.status.to_string(), false, retry);
                    if n5xx >= retries_5xx {
                        return Ok(reply);
                    }
                    let wait = self.backoff(n5xx);
                    n5xx += 1;
                    tokio::time::sleep(wait).await;
                }
                Ok(reply) => {
                    let ok = (200..300).contains(&reply.status);
                    self.stats
                        .record(kind, started, &reply.status.to_string(), ok, retry);
                    return Ok(reply);
                }
                Err(e) => {
                    let label = match e {
                        TransportError::Timeout(_) => "timeout",
                        TransportError::Connect(_) => "connect",
                        TransportError::Other(_) => "transport",
                    };
                    self.stats.record(kind, started, label, false, retry);
                    if n5xx >= retries_5xx {
                        return Err(Failure::Transport(e.to_string()));
                    }
                    let wait = self.backoff(n5xx);
                    n5xx += 1;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// [`Engine::call`], requiring a 2xx.
    pub async fn call_ok(&self, kind: OpKind, request: &Request) -> Result<Reply, Failure> {
        let reply = self.call(kind, request).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(Failure::Status(
                reply.status,
                crate::client::snippet(&reply.body),
            ))
        }
    }

    /// The 5xx/transport retries configured.
    pub fn retries_5xx(&self) -> u32 {
        self.pacing.retries_5xx
    }

    /// The wait before retry number `attempt` (0-based): the backoff step doubled per
    /// attempt, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = self.pacing.backoff.saturating_mul(1u32 << attempt.min(10));
        step.min(self.pacing.max_wait)
    }
}

/// `Retry-After` as delay-seconds or an IMF-fixdate (RFC 9110 section 10.2.3); anything
/// else is ignored (the caller then backs off on its own).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_imf_fixdate(value)?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 section 5.6.7).
fn parse_imf_fixdate(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("soon"), None);
        let past = parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        assert_eq!(
            past.duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&samples, 0.50), 50.0);
        assert_eq!(percentile(&samples, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn histogram_percentiles_stay_within_two_percent() {
        let samples: Vec<u32> = (1..=10_000).map(|i| i * 37).collect();
        let mut histogram: Vec<(u32, u64)> = Vec::new();
        for &us in &samples {
            let b = bucket_of(us);
            match histogram.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => histogram.push((b, 1)),
            }
        }
        for q in [0.5, 0.95, 0.99] {
            let exact = percentile(&samples, q);
            let approx = histogram_percentile(&histogram, q);
            assert!(
                approx >= exact && approx <= exact * 1.0201,
                "{q}: {exact} vs {approx}"
            );
        }
        // Merging two halves gives the histogram of the whole.
        let (a, b) = samples.split_at(4000);
        let hist = |s: &[u32]| {
            let mut h = Vec::new();
            merge_histograms(
                &mut h,
                &s.iter().map(|&us| (bucket_of(us), 1)).collect::<Vec<_>>(),
            );
            h
        };
        let mut merged = hist(a);
        merge_histograms(&mut merged, &hist(b));
        assert_eq!(merged, histogram);
    }

    #[tokio::test]
    async fn the_pacer_spaces_requests() {
        let pacer = Pacer::new(Some(200.0));
        let start = Instant::now();
        for _ in 0..21 {
            pacer.wait().await;
        }
        // 20 intervals of 5 ms after the first slot.
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }
}
