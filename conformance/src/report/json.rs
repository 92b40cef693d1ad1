//! The machine report: one JSON document written when the run finishes. Its schema is
//! documented in `conformance/REPORT.md`; bump [`SCHEMA_VERSION`] on any breaking change.

use super::{Event, Reporter};
use crate::runner::{CaseReport, CleanupReport, RunInfo};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The version of the JSON report's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Collects events and writes the report to a file at [`Event::RunFinished`].
pub struct JsonReporter {
    path: PathBuf,
    info: Option<Value>,
    cases: Vec<Value>,
    cleanup: Value,
    gate: Value,
}

impl JsonReporter {
    /// A reporter that will write to `path`.
    pub fn new(path: impl Into<PathBuf>) -> JsonReporter {
        JsonReporter {
            path: path.into(),
            info: None,
            cases: Vec::new(),
            cleanup: Value::Null,
            gate: Value::Null,
        }
    }

    fn document(&self, summary: &crate::runner::Summary) -> Value {
        let info = self.info.clone().unwrap_or(Value::Null);
        json!({
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "scim-conformance", "version": env!("CARGO_PKG_VERSION")},
            "target": info["target"],
            "run_prefix": info["prefix"],
            "strict": info["strict"],
            "jobs": info["jobs"],
            "summary": summary,
            "cases": self.cases,
            "deselected": info["deselected"],
            "cleanup": self.cleanup,
            "gate": self.gate,
        })
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => self.info = Some(to_value::<RunInfo>(info)),
            Event::CaseStarted(_) => {}
            Event::CaseFinished(report) => self.cases.push(to_value::<CaseReport>(report)),
            Event::CleanupFinished(cleanup) => self.cleanup = to_value::<CleanupReport>(cleanup),
            Event::GateEvaluated(gate) => self.gate = to_value(gate),
            Event::RunFinished(summary) => {
                let text = serde_json::to_string_pretty(&self.document(summary))?;
                std::fs::write(&self.path, text + "\n")?;
            }
        }
        Ok(())
    }
}
