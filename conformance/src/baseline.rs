//! Known failures (`--baseline FILE`): a text file of case selectors, one per line, in
//! the syntax of `--only` (see [`crate::select`]). With a baseline the run fails only on
//! failures the file does not list, and reports entries that no longer fail as stale.
//!
//! ```text
//! # scim-conformance baseline: known failures of our server
//! rfc7644-3.5.2.2/entra-remove-member-value-array   # tracked in our issue 12
//! rfc7644-3.4.2.2/*
//! ```
//!
//! `#` starts a comment; blank lines are ignored.

use crate::runner::{gates, CaseReport};
use crate::select::Selector;
use serde::Serialize;
use std::path::Path;

/// One line of a baseline.
#[derive(Clone, Debug)]
struct Entry {
    selector: Selector,
    line: usize,
}

/// A parsed baseline.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    origin: String,
    entries: Vec<Entry>,
}

/// An entry that no longer describes a failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaleEntry {
    /// The selector as written.
    pub selector: String,
    /// Its line in the file (1-based).
    pub line: usize,
    /// Why it is stale.
    pub reason: String,
}

/// The baseline's verdict on one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GateReport {
    /// Where the baseline came from.
    pub baseline: String,
    /// Failing cases the baseline does not list: these fail the run.
    pub new_failures: Vec<&'static str>,
    /// Failing cases the baseline lists.
    pub known_failures: Vec<&'static str>,
    /// Entries whose cases all pass now, or that match no case at all.
    pub stale: Vec<StaleEntry>,
    /// Whether stale entries fail the run (`--fail-on-stale`).
    pub fail_on_stale: bool,
}

impl GateReport {
    /// Does the run fail?
    pub fn failed(&self) -> bool {
        !self.new_failures.is_empty() || (self.fail_on_stale && !self.stale.is_empty())
    }
}

impl Baseline {
    /// Parses baseline text; `origin` names it in errors (`FILE:LINE: ...`).
    pub fn parse(text: &str, origin: &str) -> Result<Baseline, String> {
        let mut entries = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            if content.split_whitespace().count() > 1 {
                return Err(format!(
                    "{origin}:{line}: one selector per line, found `{content}` (put notes after `#`)"
                ));
            }
            let selector = content
                .parse::<Selector>()
                .map_err(|e| format!("{origin}:{line}: {e}"))?;
            entries.push(Entry { selector, line });
        }
        Ok(Baseline {
            origin: origin.to_owned(),
            entries,
        })
    }

    /// Reads and parses a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        Baseline::parse(&text, &path.display().to_string())
    }

    /// Does some entry list this case id?
    pub fn lists(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.selector.matches(id))
    }

    /// Judges a run: `catalog` is every case id known (selected or not), `cases` the
    /// cases that ran.
    pub fn evaluate(
        &self,
        catalog: &[&str],
        cases: &[CaseReport],
        fail_on_stale: bool,
    ) -> GateReport {
        let mut gate = GateReport {
            baseline: self.origin.clone(),
            fail_on_stale,
            ..GateReport::default()
        };
        for case in cases.iter().filter(|c| gates(c)) {
            if self.lists(case.id) {
                gate.known_failures.push(case.id);
            } else {
                gate.new_failures.push(case.id);
            }
        }
        for entry in &self.entries {
            if let Some(reason) = staleness(entry, catalog, cases) {
                gate.stale.push(StaleEntry {
                    selector: entry.selector.to_string(),
                    line: entry.line,
                    reason,
                });
            }
        }
        gate
    }
}

/// Why an entry is stale, or `None` while it still describes a failure (or could: its
/// cases were not run, or were skipped).
fn staleness(entry: &Entry, catalog: &[&str], cases: &[CaseReport]) -> Option<String> {
    if !catalog.iter().any(|id| entry.selector.matches(id)) {
        return Some("matches no case in the catalog".into());
    }
    let matched: Vec<&CaseReport> = cases
        .iter()
        .filter(|c| entry.selector.matches(c.id))
        .collect();
    if matched.iter().any(|c| gates(c)) {
        return None;
    }
    let passing: Vec<&str> = matched
        .iter()
        .filter(|c| c.outcome == crate::case::Outcome::Pass)
        .map(|c| c.id)
        .collect();
    if passing.is_empty() {
        return None;
    }
    Some(format!("no longer fails: {}", passing.join(", ")))
}

/// A baseline listing every case that failed the run, for `--write-baseline`.
pub fn write(cases: &[CaseReport], target: &str) -> String {
    let mut out = String::new();
    out.push_str("# scim-conformance baseline: known failures, one case selector per line.\n");
    out.push_str(&format!("# Written from a run against {target}.\n"));
    out.push_str("# Use with `scim-conformance run --baseline FILE`; `#` starts a comment.\n");
    for case in cases.iter().filter(|c| gates(c)) {
        out.push_str(case.id);
        out.push_str(&format!("  # {}\n", case.outcome.label().to_lowercase()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Level, Outcome};

    fn case(id: &'static str, outcome: Outcome) -> CaseReport {
        CaseReport {
            id,
            level: Level::Must,
            profiles: &[],
            requirement: "",
            outcome,
            message: String::new(),
            expected: None,
            actual: None,
            duration_ms: 0,
            exchanges: Vec::new(),
            rate_limited: false,
        }
    }

    #[test]
    fn parse_reports_file_and_line() {
        let err = Baseline::parse("ok/one\n\nbad one two\n", "b.txt").unwrap_err();
        assert_eq!(
            err,
            "b.txt:3: one selector per line, found `bad one two` (put notes after `#`)"
        );
        let b = Baseline::parse("# c\n a/* # note\n", "b.txt").expect("parses");
        assert!(b.lists("a/x"));
        assert!(!b.lists("b/x"));
    }

    #[test]
    fn new_known_and_stale() {
        let b = Baseline::parse("a/known\na/fixed\nz/gone\nd/*\n", "b").expect("parses");
        let catalog = ["a/known", "a/fixed", "a/new", "d/x"];
        let cases = [
            case("a/known", Outcome::Fail),
            case("a/fixed", Outcome::Pass),
            case("a/new", Outcome::Fail),
            case("d/x", Outcome::Skip),
        ];
        let gate = b.evaluate(&catalog, &cases, false);
        assert_eq!(gate.new_failures, vec!["a/new"]);
        assert_eq!(gate.known_failures, vec!["a/known"]);
        let stale: Vec<(&str, usize)> = gate
            .stale
            .iter()
            .map(|s| (s.selector.as_str(), s.line))
            .collect();
        assert_eq!(stale, vec![("a/fixed", 2), ("z/gone", 3)]);
        assert!(gate.failed());
        let only_known = b.evaluate(&catalog, &cases[..2], false);
        assert!(!only_known.failed(), "{only_known:?}");
        assert!(b.evaluate(&catalog, &cases[..2], true).failed());
    }

    #[test]
    fn written_baseline_round_trips() {
        let cases = [case("a/x", Outcome::Fail), case("a/y", Outcome::Pass)];
        let text = write(&cases, "t");
        let b = Baseline::parse(&text, "w").expect("parses");
        assert!(b.lists("a/x"));
        assert!(!b.lists("a/y"));
        assert!(!b.evaluate(&["a/x", "a/y"], &cases, true).failed());
    }
}
