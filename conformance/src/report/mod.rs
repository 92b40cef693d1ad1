//! Events the runner emits and the reporters that consume them: a human view for stdout
//! and a JSON document for machines (schema in `REPORT.md`).

use crate::case::Case;
use crate::runner::{CaseReport, CleanupReport, RunInfo, Summary};

mod human;
mod json;

pub use human::HumanReporter;
pub use json::{JsonReporter, SCHEMA_VERSION};

/// Something that happened during a run, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The run is about to start its first case.
    RunStarted(&'a RunInfo),
    /// A case is about to run.
    CaseStarted(&'a Case),
    /// A case finished.
    CaseFinished(&'a CaseReport),
    /// The cleanup finished.
    CleanupFinished(&'a CleanupReport),
    /// The run is over; nothing follows.
    RunFinished(&'a Summary),
}

/// Consumes events. A reporter that fails is logged and does not stop the run.
pub trait Reporter {
    /// Handles one event.
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}
