//! The progress bar on a terminal (indicatif, drawn on stderr). The CLI uses it only when
//! stderr is a terminal and `NO_COLOR` is unset; otherwise the human report's plain lines
//! are all there is. [`SuspendWriter`] lets the per-case lines print above the bar.

use super::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

/// Advances a bar as cases finish.
pub struct Progress {
    bar: ProgressBar,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    /// A hidden-until-started bar on stderr.
    pub fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} cases  {elapsed}  {wide_msg}")
        {
            bar.set_style(style);
        }
        Progress { bar }
    }

    /// A writer whose output prints above the bar.
    pub fn writer<W: Write>(&self, inner: W) -> SuspendWriter<W> {
        SuspendWriter {
            bar: self.bar.clone(),
            inner,
        }
    }
}

impl Reporter for Progress {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => self.bar.set_length(info.selected as u64),
            Event::CaseFinished(report) => {
                self.bar.inc(1);
                self.bar.set_message(report.id);
            }
            Event::CleanupFinished(_) => self.bar.set_message("cleaning up"),
            Event::RunFinished(_) => self.bar.finish_and_clear(),
            Event::CaseStarted(_) | Event::GateEvaluated(_) => {}
        }
        Ok(())
    }
}

/// Writes through to `inner` with the bar cleared for the duration.
pub struct SuspendWriter<W: Write> {
    bar: ProgressBar,
    inner: W,
}

impl<W: Write> Write for SuspendWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let inner = &mut self.inner;
        self.bar.suspend(|| inner.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let inner = &mut self.inner;
        self.bar.suspend(|| inner.flush())
    }
}
