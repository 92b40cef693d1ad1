//! JUnit XML (`--junit FILE`): one `<testsuite>` per RFC section (the id before its `/`),
//! one `<testcase>` per case. `fail` is a `<failure>`, `error` an `<error>`, `skip` a
//! `<skipped>`; a `warn` passes (JUnit has no warnings) and says so in `<system-out>`.
//! The shape is the one GitLab, Jenkins and the common GitHub report actions read.

use super::{section, tally, transcript, Collected};
use crate::case::Outcome;
use crate::runner::CaseReport;

/// The JUnit document for a run.
pub fn render(run: &Collected) -> String {
    let s = run.summary;
    let total_ms: u64 = run.cases.iter().map(|c| c.duration_ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"scim-conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
        run.cases.len(),
        s.failed,
        s.errored,
        s.skipped,
        seconds(total_ms)
    ));
    for (name, counts) in tally(&run.cases, |c| vec![section(c.id)]) {
        let cases: Vec<&CaseReport> = run.cases.iter().filter(|c| section(c.id) == name).collect();
        let ms: u64 = cases.iter().map(|c| c.duration_ms).sum();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
            escape(name),
            cases.len(),
            counts.failed,
            counts.errored,
            counts.skipped,
            seconds(ms)
        ));
        out.push_str("    <properties>\n");
        out.push_str(&format!(
            "      <property name=\"target\" value=\"{}\"/>\n",
            escape(run.target())
        ));
        out.push_str("    </properties>\n");
        for case in cases {
            testcase(&mut out, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, case: &CaseReport) {
    let slug = case.id.split_once('/').map_or(case.id, |(_, s)| s);
    out.push_str(&format!(
        "    <testcase classname=\"scim-conformance.{}\" name=\"{}\" time=\"{}\">\n",
        escape(section(case.id)),
        escape(slug),
        seconds(case.duration_ms)
    ));
    let detail = || {
        let mut text = format!("requirement ({}): {}\n", case.level, case.requirement);
        if let (Some(e), Some(a)) = (&case.expected, &case.actual) {
            text.push_str(&format!("expected: {e}\nactual:   {a}\n"));
        } else if !case.message.is_empty() {
            text.push_str(&format!("message: {}\n", case.message));
        }
        text.push('\n');
        text.push_str(&transcript(&case.exchanges, 4000));
        text
    };
    match case.outcome {
        Outcome::Pass => {}
        Outcome::Fail => out.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
            escape(&case.message),
            case.level,
            escape(&detail())
        )),
        Outcome::Error => out.push_str(&format!(
            "      <error message=\"{}\" type=\"error\">{}</error>\n",
            escape(&case.message),
            escape(&detail())
        )),
        Outcome::Skip => out.push_str(&format!(
            "      <skipped message=\"{}\"/>\n",
            escape(&case.message)
        )),
        Outcome::Warn => out.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(&format!("WARN ({} not met)\n{}", case.level, detail()))
        )),
    }
    out.push_str("    </testcase>\n");
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Escapes text for XML content and attributes; characters XML 1.0 cannot carry at all
/// (most control characters) become U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b>&\"'\u{1}"),
            "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}"
        );
    }
}
