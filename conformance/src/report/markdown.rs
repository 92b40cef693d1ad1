//! Markdown (`--markdown FILE`), sized for a CI step summary (GitHub's
//! `$GITHUB_STEP_SUMMARY`): totals, the baseline verdict, a table by section, then each
//! failure, warning and error with its requirement, expected and actual, and the request
//! that showed it in a collapsed block.

use super::{section, tally, transcript, Collected};
use crate::case::Outcome;

/// The Markdown summary of a run.
pub fn render(run: &Collected) -> String {
    let s = run.summary;
    let mut out = String::from("## scim-conformance\n\n");
    out.push_str(&format!("Target: `{}`\n\n", tick(run.target())));
    out.push_str(&format!(
        "**{} passed, {} failed, {} warned, {} skipped, {} errored**\n\n",
        s.passed, s.failed, s.warned, s.skipped, s.errored
    ));
    if s.rate_limited > 0 {
        out.push_str(&format!(
            "{} of the errored cases were rate-limited, not judged: the target kept answering \
             429 past `--retry-wait`.\n\n",
            s.rate_limited
        ));
    }
    if let Some(gate) = &run.gate {
        out.push_str(&format!(
            "Baseline `{}`: {} known failures, {} new failures, {} stale entries{}.\n\n",
            tick(&gate.baseline),
            gate.known_failures.len(),
            gate.new_failures.len(),
            gate.stale.len(),
            if gate.failed() { " (gate failed)" } else { "" }
        ));
        for id in &gate.new_failures {
            out.push_str(&format!("- new failure `{id}`\n"));
        }
        for stale in &gate.stale {
            out.push_str(&format!(
                "- stale entry (line {}) `{}`: {}\n",
                stale.line,
                tick(&stale.selector),
                cell(&stale.reason)
            ));
        }
        out.push('\n');
    }
    if let Some(cleanup) = &run.cleanup {
        if !cleanup.leftovers.is_empty() {
            out.push_str(&format!(
                "**Cleanup could not remove {} resources:**\n\n",
                cleanup.leftovers.len()
            ));
            for left in &cleanup.leftovers {
                out.push_str(&format!(
                    "- `{}/{}` ({}): {}\n",
                    left.resource.endpoint.path(),
                    tick(&left.resource.id),
                    cell(&left.resource.name),
                    cell(&left.reason)
                ));
            }
            out.push('\n');
        }
    }
    out.push_str(
        "| section | pass | fail | warn | skip | error |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (name, c) in tally(&run.cases, |c| vec![section(c.id)]) {
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} |\n",
            c.passed, c.failed, c.warned, c.skipped, c.errored
        ));
    }
    let problems: Vec<_> = run
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn | Outcome::Error))
        .collect();
    if !problems.is_empty() {
        out.push_str("\n### Failures, warnings and errors\n");
    }
    for case in problems {
        out.push_str(&format!(
            "\n**{}** `{}` ({})\n\n- requirement: {}\n",
            case.outcome.label(),
            case.id,
            case.level,
            cell(case.requirement)
        ));
        match (&case.expected, &case.actual) {
            (Some(e), Some(a)) => {
                out.push_str(&format!("- expected: {}\n- actual: {}\n", cell(e), cell(a)))
            }
            _ => out.push_str(&format!("- error: {}\n", cell(&case.message))),
        }
        if let Some(last) = case.exchanges.last() {
            out.push_str("\n<details><summary>last exchange</summary>\n\n```http\n");
            out.push_str(&transcript(std::slice::from_ref(last), 3000).replace("```", "'''"));
            out.push_str("```\n\n</details>\n");
        }
    }
    out
}

/// One line, no table pipes, no HTML tags.
fn cell(text: &str) -> String {
    text.replace('\n', " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Safe inside single backticks.
fn tick(text: &str) -> String {
    text.replace('`', "'")
}
