//! Events the runner emits and the reporters that consume them: a human view for stdout
//! (with a progress bar on a terminal), and file reports for machines and people: JSON
//! (schema in `REPORT.md`), JUnit XML, one self-contained HTML page, and Markdown.
//!
//! Every reporter works from what the client recorded, which has the token redacted.

use crate::baseline::GateReport;
use crate::case::{Case, Outcome};
use crate::client::Exchange;
use crate::runner::{CaseReport, CleanupReport, RunInfo, Summary};
use serde_json::Value;
use std::path::PathBuf;

mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod progress;

pub use html::render as render_html;
pub use human::HumanReporter;
pub use json::{JsonReporter, SCHEMA_VERSION};
pub use junit::render as render_junit;
pub use markdown::render as render_markdown;
pub use progress::{Progress, SuspendWriter};

/// Something that happened during a run, in order. Cases run concurrently, but the
/// runner delivers `CaseStarted`/`CaseFinished` pairs in catalog order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The run is about to start its first case.
    RunStarted(&'a RunInfo),
    /// The report of this case follows.
    CaseStarted(&'a Case),
    /// A case finished.
    CaseFinished(&'a CaseReport),
    /// The cleanup finished.
    CleanupFinished(&'a CleanupReport),
    /// The baseline judged the run (only with `--baseline`).
    GateEvaluated(&'a GateReport),
    /// The run is over; nothing follows.
    RunFinished(&'a Summary),
}

/// Consumes events. A reporter that fails is logged and does not stop the run.
pub trait Reporter {
    /// Handles one event.
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}

/// Everything a file report needs, gathered from the events.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// The run's facts.
    pub info: Option<RunInfo>,
    /// Every case, in catalog order.
    pub cases: Vec<CaseReport>,
    /// What the cleanup did.
    pub cleanup: Option<CleanupReport>,
    /// The baseline's verdict.
    pub gate: Option<GateReport>,
    /// Counts per outcome.
    pub summary: Summary,
}

impl Collected {
    /// Records one event; true at the end of the run.
    pub fn take(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::RunStarted(info) => self.info = Some((*info).clone()),
            Event::CaseStarted(_) => {}
            Event::CaseFinished(report) => self.cases.push((*report).clone()),
            Event::CleanupFinished(cleanup) => self.cleanup = Some((*cleanup).clone()),
            Event::GateEvaluated(gate) => self.gate = Some((*gate).clone()),
            Event::RunFinished(summary) => {
                self.summary = **summary;
                return true;
            }
        }
        false
    }

    /// The target's name, or `unknown target`.
    pub fn target(&self) -> &str {
        self.info
            .as_ref()
            .map_or("unknown target", |i| i.target.as_str())
    }
}

/// The file formats besides JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JUnit XML (`--junit`).
    Junit,
    /// One self-contained HTML page (`--html`).
    Html,
    /// Markdown for a CI step summary (`--markdown`).
    Markdown,
}

/// Writes one report file when the run finishes.
pub struct FileReporter {
    path: PathBuf,
    format: Format,
    collected: Collected,
}

impl FileReporter {
    /// A reporter that writes `format` to `path`.
    pub fn new(format: Format, path: impl Into<PathBuf>) -> FileReporter {
        FileReporter {
            path: path.into(),
            format,
            collected: Collected::default(),
        }
    }
}

impl Reporter for FileReporter {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if self.collected.take(event) {
            let text = match self.format {
                Format::Junit => junit::render(&self.collected),
                Format::Html => html::render(&self.collected),
                Format::Markdown => markdown::render(&self.collected),
            };
            std::fs::write(&self.path, text)?;
        }
        Ok(())
    }
}

/// The section of a case id: everything before the first `/` (`rfc7644-3.3`).
pub fn section(id: &str) -> &str {
    id.split_once('/').map_or(id, |(s, _)| s)
}

/// Counts per outcome, grouped by a key, in order of first appearance.
pub fn tally<'a>(
    cases: &'a [CaseReport],
    keys: impl Fn(&'a CaseReport) -> Vec<&'a str>,
) -> Vec<(&'a str, Summary)> {
    let mut rows: Vec<(&str, Summary)> = Vec::new();
    for case in cases {
        for key in keys(case) {
            let at = match rows.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    rows.push((key, Summary::default()));
                    rows.len() - 1
                }
            };
            add(&mut rows[at].1, case.outcome);
        }
    }
    rows
}

fn add(summary: &mut Summary, outcome: Outcome) {
    match outcome {
        Outcome::Pass => summary.passed += 1,
        Outcome::Fail => summary.failed += 1,
        Outcome::Warn => summary.warned += 1,
        Outcome::Skip => summary.skipped += 1,
        Outcome::Error => summary.errored += 1,
    }
}

/// A plain-text transcript of exchanges, as an HTTP-like conversation.
pub fn transcript(exchanges: &[Exchange], max_body: usize) -> String {
    let mut out = String::new();
    for (n, exchange) in exchanges.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let request = &exchange.request;
        out.push_str(&format!("> {} {}\n", request.method, request.url));
        for (name, value) in &request.headers {
            out.push_str(&format!("> {name}: {value}\n"));
        }
        body_lines(&mut out, "> ", &request.body, max_body);
        match (&exchange.response, &exchange.error) {
            (Some(response), _) => {
                out.push_str(&format!(
                    "< {} ({} ms)\n",
                    response.status, exchange.duration_ms
                ));
                for (name, value) in &response.headers {
                    out.push_str(&format!("< {name}: {value}\n"));
                }
                body_lines(&mut out, "< ", &response.body, max_body);
            }
            (None, Some(error)) => out.push_str(&format!("< no response: {error}\n")),
            (None, None) => out.push_str("< no response\n"),
        }
    }
    out
}

fn body_lines(out: &mut String, margin: &str, body: &Value, max: usize) {
    let text = match body {
        Value::Null => return,
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let shown: String = text.chars().take(max).collect();
    out.push_str(margin);
    out.push('\n');
    for line in shown.lines() {
        out.push_str(margin);
        out.push_str(line);
        out.push('\n');
    }
    if shown.len() < text.len() {
        out.push_str(&format!(
            "{margin}... ({} more bytes)\n",
            text.len() - shown.len()
        ));
    }
}
