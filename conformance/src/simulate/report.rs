//! The run's report: a human table per operation kind on stdout, and the same data as one
//! JSON document for `--json FILE`.

use super::engine::KindSummary;
use super::{CycleCheck, OpFailure, Phase};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Differences listed per read-back in the human output (all go to the JSON report).
const SHOWN: usize = 25;

/// The JSON report's format version; `merge` accepts only reports of this version.
/// 2: latency histograms, wall-clock spans per kind, shard fields.
pub const VERSION: u32 = 2;

/// Everything a run measured and found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Report format version.
    pub version: u32,
    /// What ran against what.
    pub target: String,
    /// `K/N` for one shard of a sharded run, `N shards` for a merged report, none otherwise.
    #[serde(default)]
    pub shard: Option<String>,
    /// What the read-backs checked when that is not the whole population.
    #[serde(default)]
    pub scope: Option<String>,
    /// The run prefix.
    pub prefix: String,
    /// Dialect name.
    pub dialect: String,
    /// Population seed.
    pub seed: u64,
    /// Users.
    pub users: usize,
    /// Groups.
    pub groups: usize,
    /// Members of the large group.
    pub large_group: usize,
    /// Incremental cycles.
    pub cycles: usize,
    /// Workers.
    pub concurrency: usize,
    /// Requests per second asked for (`null`: unlimited).
    pub rate: Option<f64>,
    /// Members per membership PATCH and where that figure comes from.
    pub batch: (usize, String),
    /// The outage injected, if any.
    pub outage: Option<String>,
    /// Wall time per phase.
    pub phases: Vec<Phase>,
    /// One row per operation kind.
    pub operations: Vec<KindSummary>,
    /// Read-backs.
    pub reconciliations: Vec<CycleCheck>,
    /// Operations that failed for good (the first 200).
    pub failures: Vec<OpFailure>,
    /// All failed operations.
    pub failure_count: usize,
    /// Resources deleted at the end, and deletes that failed.
    pub cleanup: Option<(usize, usize)>,
    /// Why resources were left (a shard that gave up waiting for the others).
    #[serde(default)]
    pub cleanup_note: Option<String>,
    /// Total wall time in seconds.
    pub seconds: f64,
    /// No counted read-back found a difference.
    pub passed: bool,
    /// Why the run stopped before its first operation (`target unreachable: ...`, a token
    /// the target rejected); absent when the run started. Such a report has no operations
    /// and `passed` false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Report {
    /// Writes the human view.
    pub fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "simulate: {} users, {} groups (large group {}), dialect {}, seed {}, {} cycle(s), concurrency {}, rate {}",
            self.users,
            self.groups,
            self.large_group,
            self.dialect,
            self.seed,
            self.cycles,
            self.concurrency,
            self.rate.map_or_else(|| "unlimited".to_owned(), |r| format!("{r}/s"))
        )?;
        writeln!(out, "target: {}", self.target)?;
        writeln!(out, "prefix: {}", self.prefix)?;
        if let Some(shard) = &self.shard {
            writeln!(out, "shard: {shard}")?;
        }
        if let Some(scope) = self
            .scope
            .as_ref()
            .filter(|_| !self.reconciliations.is_empty())
        {
            writeln!(out, "read-back checks: {scope}")?;
        }
        writeln!(out, "member batch: {} ({})", self.batch.0, self.batch.1)?;
        if let Some(o) = &self.outage {
            writeln!(out, "outage: {o}")?;
        }
        if self.error.is_some() {
            return writeln!(out, "{} in {:.1}s", self.verdict(), self.seconds);
        }
        writeln!(out)?;
        writeln!(
            out,
            "{:<16} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8}  errors by status",
            "operation", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "retries"
        )?;
        for row in &self.operations {
            let errors: Vec<String> = row
                .errors
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            writeln!(
                out,
                "{:<16} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>8}  {}",
                row.kind.label(),
                row.count,
                row.throughput,
                row.p50_ms,
                row.p95_ms,
                row.p99_ms,
                row.retries,
                if errors.is_empty() {
                    "-".to_owned()
                } else {
                    errors.join(", ")
                }
            )?;
        }
        writeln!(out)?;
        for phase in &self.phases {
            writeln!(
                out,
                "phase {:<24} {:>8.2}s {:>9} requests",
                phase.name, phase.seconds, phase.requests
            )?;
        }
        for check in &self.reconciliations {
            let r = &check.result;
            writeln!(
                out,
                "reconcile after {:<12} users {:>7}, groups {:>5}: {}{}",
                check.after,
                r.users_read,
                r.groups_read,
                if r.differences.is_empty() {
                    "matches the directory".to_owned()
                } else {
                    format!("{} difference(s)", r.differences.len())
                },
                if check.counts {
                    ""
                } else {
                    " (during the outage, not counted)"
                }
            )?;
            for d in r.differences.iter().take(SHOWN) {
                writeln!(out, "  {:<17} {}: {}", d.kind, d.subject, d.detail)?;
            }
            if r.differences.len() > SHOWN {
                writeln!(
                    out,
                    "  ... {} more in the JSON report",
                    r.differences.len() - SHOWN
                )?;
            }
        }
        if self.failure_count > 0 {
            writeln!(
                out,
                "failed operations (after retries): {}",
                self.failure_count
            )?;
            for f in self.failures.iter().take(SHOWN) {
                writeln!(
                    out,
                    "  {} {} {}: {}",
                    f.phase,
                    f.kind.label(),
                    f.subject,
                    f.error
                )?;
            }
        }
        match self.cleanup {
            Some((deleted, 0)) => writeln!(out, "cleanup: deleted {deleted} resources")?,
            Some((deleted, failed)) => writeln!(
                out,
                "cleanup: deleted {deleted} resources; {failed} deletes FAILED (names start with {})",
                self.prefix
            )?,
            None => writeln!(out, "cleanup: skipped (--keep); names start with {}", self.prefix)?,
        }
        if let Some(note) = &self.cleanup_note {
            writeln!(out, "  {note}")?;
        }
        writeln!(out, "{} in {:.1}s", self.verdict(), self.seconds)
    }

    /// `PASSED`, or `FAILED:` with the first reason that applies.
    fn verdict(&self) -> String {
        if let Some(error) = &self.error {
            return format!("FAILED: nothing was provisioned: {error}");
        }
        if self.passed {
            return "PASSED".into();
        }
        let differences: usize = self
            .reconciliations
            .iter()
            .map(|c| c.result.differences.len())
            .sum();
        if differences > 0 {
            "FAILED: the target does not match the directory".into()
        } else if self.cleanup.is_some_and(|(_, failed)| failed > 0) {
            "FAILED: the cleanup left resources on the target".into()
        } else if self.failure_count > 0 {
            format!(
                "FAILED: {} operation(s) failed (listed above)",
                self.failure_count
            )
        } else {
            "FAILED: the run did not finish (interrupted)".into()
        }
    }
}
