//! `--find-limit`: ramps the request rate in steps until the error share or the p99 latency
//! crosses its threshold (or the target stops keeping up), and reports the highest
//! sustainable rate, where 429s start, whether `Retry-After` came with them, and whether
//! the failure share seen would put an Entra provisioning job into quarantine.
//!
//! The probe is Entra's lookup before a create (`GET /Users?filter=userName eq "..."`) for
//! names under the run prefix: read-only, so the ramp creates nothing on the target.
//!
//! Quarantine thresholds (MS-QUAR, Microsoft's "application provisioning quarantine status"
//! page, as summarised in the project's IdP reference): evaluation starts at 5,000
//! failures; the job is quarantined when more than 40 % of events fail or more than 40,000
//! fail, and in any case at 60,000 failures.

use super::engine::{Engine, OpKind};
use crate::client::Request;
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Failures before Entra evaluates a job for quarantine (MS-QUAR).
pub const QUARANTINE_EVALUATION_START: f64 = 5_000.0;
/// Failure share above which Entra quarantines (MS-QUAR).
pub const QUARANTINE_SHARE: f64 = 0.40;
/// Failures above which Entra quarantines regardless of share (MS-QUAR).
pub const QUARANTINE_FAILURES: f64 = 40_000.0;
/// Absolute cap of failures of any kind (MS-QUAR).
pub const QUARANTINE_CAP: f64 = 60_000.0;

/// Ramp settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Time per step.
    pub step: Duration,
    /// Error share that ends the ramp.
    pub max_error_rate: f64,
    /// p99 latency that ends the ramp.
    pub max_p99_ms: f64,
    /// Highest rate tried.
    pub max_rate: f64,
    /// First rate.
    pub start_rate: f64,
    /// Workers.
    pub concurrency: usize,
    /// Population size the quarantine estimate is made for.
    pub users: usize,
}

/// One step of the ramp.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Requests per second asked for.
    pub target_rate: f64,
    /// Requests per second achieved.
    pub achieved_rate: f64,
    /// Requests sent.
    pub sent: u64,
    /// Non-2xx answers and transport failures.
    pub errors: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 429 answers with `Retry-After`.
    pub retry_after: u64,
    /// p99 latency.
    pub p99_ms: f64,
    /// Within every threshold.
    pub sustainable: bool,
}

/// Entra's reaction to a failure share over an initial sync.
#[derive(Clone, Debug, Serialize)]
pub struct Quarantine {
    /// Failure share assumed (of events).
    pub failure_share: f64,
    /// Events of an initial sync of the population (one per user).
    pub events: f64,
    /// Failures that share gives.
    pub failures: f64,
    /// Whether the job would be quarantined.
    pub quarantined: bool,
    /// Why (or why not).
    pub reason: String,
}

/// The ramp's result.
#[derive(Clone, Debug, Serialize)]
pub struct LimitReport {
    /// Every step.
    pub steps: Vec<Step>,
    /// Highest rate that kept within the thresholds.
    pub highest_sustainable: Option<f64>,
    /// First rate at which a 429 came back.
    pub throttled_from: Option<f64>,
    /// Whether any 429 carried `Retry-After`.
    pub retry_after_sent: bool,
    /// Why the ramp stopped.
    pub stopped: String,
    /// Entra quarantine estimate counting every failure (429s included).
    pub quarantine_all: Option<Quarantine>,
    /// Entra quarantine estimate counting only non-429 failures (Entra retries 429
    /// automatically, MS-LOGS; whether such retries count toward quarantine is not
    /// published).
    pub quarantine_without_429: Option<Quarantine>,
}

/// Whether a failure share over `events` quarantines an Entra job (MS-QUAR).
pub fn quarantine(failure_share: f64, events: f64) -> Quarantine {
    let failures = (failure_share * events).round();
    let (quarantined, reason) = if failures > QUARANTINE_CAP {
        (
            true,
            format!("{failures} failures exceed the absolute cap of 60,000"),
        )
    } else if failures < QUARANTINE_EVALUATION_START {
        (
            false,
            format!("{failures} failures stay under 5,000, where evaluation starts"),
        )
    } else if failure_share > QUARANTINE_SHARE {
        (
            true,
            format!("{:.1}% of events fail, above 40%", failure_share * 100.0),
        )
    } else if failures > QUARANTINE_FAILURES {
        (true, format!("{failures} failures exceed 40,000"))
    } else {
        (
            false,
            format!(
                "{failures} failures ({:.1}%) stay within 40% and 40,000",
                failure_share * 100.0
            ),
        )
    };
    Quarantine {
        failure_share,
        events,
        failures,
        quarantined,
        reason,
    }
}

/// Runs the ramp.
pub async fn find_limit(engine: Arc<Engine>, settings: &Settings, prefix: &str) -> LimitReport {
    let mut steps = Vec::new();
    let mut rate = settings.start_rate.max(1.0);
    let mut stopped = String::from("reached --max-rate");
    let counter = Arc::new(AtomicUsize::new(0));
    // Bounded: the rate grows by half each step up to --max-rate.
    for _ in 0..64 {
        engine.stats.reset();
        engine.set_rate(Some(rate));
        let deadline = Instant::now() + settings.step;
        let started = Instant::now();
        let workers: Vec<usize> = (0..settings.concurrency.max(1)).collect();
        let (e, c, p) = (Arc::clone(&engine), Arc::clone(&counter), prefix.to_owned());
        super::for_each(workers.len(), workers, move |_| {
            let (e, c, p) = (Arc::clone(&e), Arc::clone(&c), p.clone());
            async move {
                while Instant::now() < deadline {
                    let n = c.fetch_add(1, Ordering::Relaxed);
                    let mut request = Request::new(reqwest::Method::GET, "/Users");
                    request.query = vec![(
                        "filter".into(),
                        format!("userName eq \"{p}probe{n}@example.test\""),
                    )];
                    let _ = e.call(OpKind::Probe, &request).await;
                }
            }
        })
        .await;
        let seconds = started.elapsed().as_secs_f64();
        let sent = engine.stats.sent.load(Ordering::Relaxed);
        let errors = engine.stats.errors.load(Ordering::Relaxed);
        let throttled = engine.stats.throttled.load(Ordering::Relaxed);
        let retry_after = engine.stats.retry_after_seen.load(Ordering::Relaxed);
        let p99 = engine
            .stats
            .summary()
            .iter()
            .find(|k| k.kind == OpKind::Probe)
            .map_or(0.0, |k| k.p99_ms);
        let achieved = sent as f64 / seconds.max(1e-9);
        let error_share = if sent == 0 {
            1.0
        } else {
            errors as f64 / sent as f64
        };
        let keeps_up = achieved >= 0.9 * rate;
        let sustainable =
            error_share <= settings.max_error_rate && p99 <= settings.max_p99_ms && keeps_up;
        steps.push(Step {
            target_rate: rate,
            achieved_rate: achieved,
            sent,
            errors,
            throttled,
            retry_after,
            p99_ms: p99,
            sustainable,
        });
        if !sustainable {
            stopped = if error_share > settings.max_error_rate {
                format!(
                    "error share {:.2}% above {:.2}%",
                    error_share * 100.0,
                    settings.max_error_rate * 100.0
                )
            } else if p99 > settings.max_p99_ms {
                format!("p99 {p99:.1} ms above {} ms", settings.max_p99_ms)
            } else {
                format!("achieved {achieved:.0}/s, under 90% of the {rate:.0}/s asked (client, target or --concurrency saturated)")
            };
            break;
        }
        if rate >= settings.max_rate {
            break;
        }
        rate = (rate * 1.5).min(settings.max_rate);
    }
    engine.set_rate(engine.rate());
    let highest_sustainable = steps
        .iter()
        .filter(|s| s.sustainable)
        .map(|s| s.achieved_rate)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        });
    let throttled_from = steps
        .iter()
        .find(|s| s.throttled > 0)
        .map(|s| s.target_rate);
    let retry_after_sent = steps.iter().any(|s| s.retry_after > 0);
    let events = settings.users as f64;
    let (quarantine_all, quarantine_without_429) = match steps.last() {
        Some(last) if !last.sustainable && last.sent > 0 => (
            Some(quarantine(last.errors as f64 / last.sent as f64, events)),
            Some(quarantine(
                last.errors.saturating_sub(last.throttled) as f64 / last.sent as f64,
                events,
            )),
        ),
        _ => (None, None),
    };
    LimitReport {
        steps,
        highest_sustainable,
        throttled_from,
        retry_after_sent,
        stopped,
        quarantine_all,
        quarantine_without_429,
    }
}

impl LimitReport {
    /// Writes the human view.
    pub fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{:>10} {:>10} {:>8} {:>7} {:>6} {:>11} {:>9}  verdict",
            "asked/s", "got/s", "sent", "errors", "429", "Retry-After", "p99 ms"
        )?;
        for s in &self.steps {
            writeln!(
                out,
                "{:>10.0} {:>10.0} {:>8} {:>7} {:>6} {:>11} {:>9.2}  {}",
                s.target_rate,
                s.achieved_rate,
                s.sent,
                s.errors,
                s.throttled,
                s.retry_after,
                s.p99_ms,
                if s.sustainable {
                    "ok"
                } else {
                    "over the limit"
                }
            )?;
        }
        writeln!(out, "stopped: {}", self.stopped)?;
        match self.highest_sustainable {
            Some(r) => writeln!(out, "highest sustainable rate: {r:.0} requests/s")?,
            None => writeln!(
                out,
                "highest sustainable rate: none (the first step already failed)"
            )?,
        }
        match self.throttled_from {
            Some(r) => writeln!(
                out,
                "429 from: {r:.0} requests/s; Retry-After {}",
                if self.retry_after_sent {
                    "sent"
                } else {
                    "NOT sent"
                }
            )?,
            None => writeln!(out, "429: never seen")?,
        }
        for (label, q) in [
            ("counting 429s", &self.quarantine_all),
            ("without 429s", &self.quarantine_without_429),
        ] {
            if let Some(q) = q {
                writeln!(
                    out,
                    "Entra quarantine at this failure share over an initial sync of {} users ({label}): {} ({})",
                    q.events,
                    if q.quarantined { "YES" } else { "no" },
                    q.reason
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_follows_the_documented_thresholds() {
        assert!(
            !quarantine(0.9, 1_000.0).quarantined,
            "900 failures: not evaluated yet"
        );
        assert!(
            quarantine(0.5, 20_000.0).quarantined,
            "10,000 failures at 50%"
        );
        assert!(
            !quarantine(0.1, 100_000.0).quarantined,
            "10,000 failures at 10%"
        );
        assert!(quarantine(0.3, 200_000.0).quarantined, "60,000 failures");
        assert!(quarantine(0.2, 250_000.0).quarantined, "50,000 > 40,000");
    }
}
