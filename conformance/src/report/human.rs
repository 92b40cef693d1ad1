//! The human view: one status line per case, details for every failure, a count line.

use super::{Event, Reporter};
use crate::case::Outcome;
use crate::client::Exchange;
use crate::runner::CaseReport;
use serde_json::Value;
use std::io::Write;

/// Writes the human report to any writer (stdout in the CLI).
pub struct HumanReporter<W: Write> {
    out: W,
}

impl<W: Write> HumanReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> HumanReporter<W> {
        HumanReporter { out }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn case(&mut self, report: &CaseReport) -> std::io::Result<()> {
        let label = report.outcome.label();
        writeln!(
            self.out,
            "{label:<5} {:>6} ms  {}",
            report.duration_ms, report.id
        )?;
        match report.outcome {
            Outcome::Pass => Ok(()),
            Outcome::Skip => writeln!(self.out, "      skipped: {}", report.message),
            Outcome::Fail | Outcome::Error | Outcome::Warn => self.details(report),
        }
    }

    fn details(&mut self, report: &CaseReport) -> std::io::Result<()> {
        writeln!(
            self.out,
            "      requirement ({}): {}",
            report.level, report.requirement
        )?;
        if report.outcome == Outcome::Fail && report.level != crate::case::Level::Must {
            writeln!(
                self.out,
                "      (a {} broken: a warning, made a failure by --strict)",
                report.level
            )?;
        }
        match (&report.expected, &report.actual) {
            (Some(expected), Some(actual)) => {
                writeln!(self.out, "      expected: {expected}")?;
                writeln!(self.out, "      actual:   {actual}")?;
            }
            _ => writeln!(self.out, "      error: {}", report.message)?,
        }
        // The last exchange is the one that showed the problem; earlier ones are setup.
        if let Some(last) = report.exchanges.last() {
            if report.exchanges.len() > 1 {
                writeln!(
                    self.out,
                    "      ({} earlier requests in the JSON report)",
                    report.exchanges.len() - 1
                )?;
            }
            self.exchange(last)?;
        }
        writeln!(self.out)
    }

    fn exchange(&mut self, exchange: &Exchange) -> std::io::Result<()> {
        let request = &exchange.request;
        writeln!(self.out, "      > {} {}", request.method, request.url)?;
        for (name, value) in &request.headers {
            writeln!(self.out, "      > {name}: {value}")?;
        }
        write_body(&mut self.out, "      > ", &request.body)?;
        match (&exchange.response, &exchange.error) {
            (Some(response), _) => {
                writeln!(self.out, "      < {}", response.status)?;
                for (name, value) in &response.headers {
                    writeln!(self.out, "      < {name}: {value}")?;
                }
                write_body(&mut self.out, "      < ", &response.body)
            }
            (None, Some(error)) => writeln!(self.out, "      < no response: {error}"),
            (None, None) => writeln!(self.out, "      < no response"),
        }
    }
}

fn write_body(out: &mut impl Write, margin: &str, body: &Value) -> std::io::Result<()> {
    let text = match body {
        Value::Null => return Ok(()),
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    let shown: String = text.chars().take(2000).collect();
    let more = if shown.len() < text.len() { " ..." } else { "" };
    writeln!(out, "{margin}")?;
    writeln!(out, "{margin}{shown}{more}")
}

impl<W: Write> Reporter for HumanReporter<W> {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => {
                writeln!(
                    self.out,
                    "scim-conformance: {} cases against {} (names prefixed {})",
                    info.selected, info.target, info.prefix
                )?;
                if !info.deselected.is_empty() {
                    writeln!(
                        self.out,
                        "{} cases not selected (see `scim-conformance list` or the JSON report)",
                        info.deselected.len()
                    )?;
                }
                writeln!(self.out)
            }
            Event::CaseStarted(_) => Ok(()),
            Event::CaseFinished(report) => self.case(report),
            Event::CleanupFinished(cleanup) => {
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "cleanup: removed {} created resources",
                    cleanup.removed
                )?;
                for left in &cleanup.leftovers {
                    writeln!(
                        self.out,
                        "cleanup: COULD NOT REMOVE {}/{} ({}): {}",
                        left.resource.endpoint.path(),
                        left.resource.id,
                        left.resource.name,
                        left.reason
                    )?;
                }
                Ok(())
            }
            Event::GateEvaluated(gate) => {
                writeln!(
                    self.out,
                    "baseline {}: {} known failures, {} new failures, {} stale entries",
                    gate.baseline,
                    gate.known_failures.len(),
                    gate.new_failures.len(),
                    gate.stale.len()
                )?;
                for id in &gate.new_failures {
                    writeln!(self.out, "baseline: NEW FAILURE {id}")?;
                }
                for stale in &gate.stale {
                    writeln!(
                        self.out,
                        "baseline: STALE line {} `{}`: {}",
                        stale.line, stale.selector, stale.reason
                    )?;
                }
                Ok(())
            }
            Event::RunFinished(s) => {
                writeln!(
                    self.out,
                    "{} passed, {} failed, {} warned, {} skipped, {} errored",
                    s.passed, s.failed, s.warned, s.skipped, s.errored
                )?;
                if s.rate_limited > 0 {
                    writeln!(
                        self.out,
                        "{} of the errored cases were rate-limited, not judged: the target kept \
                         answering 429 past --retry-wait",
                        s.rate_limited
                    )?;
                }
                self.out.flush()
            }
        }
    }
}
