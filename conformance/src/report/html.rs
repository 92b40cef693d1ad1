//! The HTML report (`--html FILE`): one self-contained page (inline style and script, no
//! network): the summary by section and by profile, the baseline verdict, leftovers, and
//! every case with its requirement and full request/response transcript. Cases are
//! collapsed `<details>`; failures expand with a click, with "expand all failures", or by
//! linking to `#case-<id>`.

use super::{section, tally, transcript, Collected};
use crate::case::Outcome;
use crate::runner::{CaseReport, Summary};

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;margin:.3rem 0}th,td{border:1px solid #d0d7de;padding:.2rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.pass{color:#116329}.fail{color:#a40e26}.warn{color:#7d4e00}.skip{color:#57606a}.error{color:#8250df}
.badge{display:inline-block;min-width:3.2rem;font-weight:600;font-family:monospace}
details.case{border:1px solid #d0d7de;border-radius:4px;margin:.25rem 0;padding:.2rem .5rem}
details.case.outcome-fail{border-color:#cf222e}details.case.outcome-error{border-color:#8250df}
details.case.outcome-warn{border-color:#bf8700}
summary{cursor:pointer}summary code{font-size:.95em}
.level{font-size:.8em;color:#57606a;margin-left:.4rem}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:40rem;font-size:12px}
.req{margin:.3rem 0}.why{margin:.3rem 0;font-family:monospace;white-space:pre-wrap}
button{margin-right:.4rem}
"#;

const SCRIPT: &str = r#"
(function(){
  function all(sel){return Array.prototype.slice.call(document.querySelectorAll(sel));}
  function failing(){return all('details.case.outcome-fail,details.case.outcome-error,details.case.outcome-warn');}
  document.getElementById('expand-failures').onclick=function(){failing().forEach(function(d){d.open=true;});};
  document.getElementById('collapse-all').onclick=function(){all('details.case').forEach(function(d){d.open=false;});};
  document.getElementById('only-problems').onchange=function(e){
    all('details.case.outcome-pass,details.case.outcome-skip').forEach(function(d){d.hidden=e.target.checked;});
  };
  function openHash(){
    var id=decodeURIComponent(location.hash.slice(1));
    var el=id&&document.getElementById(id);
    if(el&&el.tagName==='DETAILS'){el.open=true;el.scrollIntoView();}
  }
  window.addEventListener('hashchange',openHash);
  openHash();
  document.body.setAttribute('data-ready','yes');
})();
"#;

/// The page for a run.
pub fn render(run: &Collected) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<title>scim-conformance: {}</title>\n<style>{STYLE}</style></head>\n<body>\n",
        esc(run.target())
    ));
    out.push_str(&format!(
        "<h1>scim-conformance report</h1>\n<p>Target: <code>{}</code>",
        esc(run.target())
    ));
    if let Some(info) = &run.info {
        out.push_str(&format!(
            " &middot; run prefix <code>{}</code> &middot; {} cases selected, {} not selected",
            esc(&info.prefix),
            info.selected,
            info.deselected.len()
        ));
    }
    out.push_str("</p>\n");
    out.push_str(&format!(
        "<p id=\"totals\">{}</p>\n",
        counts_line(&run.summary)
    ));
    gate(&mut out, run);
    cleanup(&mut out, run);
    out.push_str("<h2>By section</h2>\n");
    table(
        &mut out,
        "section",
        &tally(&run.cases, |c| vec![section(c.id)]),
    );
    out.push_str("<h2>By profile</h2>\n");
    table(
        &mut out,
        "profile",
        &tally(&run.cases, |c| {
            c.profiles.iter().map(|p| p.name()).collect()
        }),
    );
    out.push_str("<h2>Cases</h2>\n<p><button id=\"expand-failures\" type=\"button\">Expand all failures</button>");
    out.push_str("<button id=\"collapse-all\" type=\"button\">Collapse all</button>");
    out.push_str("<label><input id=\"only-problems\" type=\"checkbox\"> only failures, warnings and errors</label></p>\n");
    for case in &run.cases {
        case_block(&mut out, case);
    }
    out.push_str(&format!("<script>{SCRIPT}</script>\n</body></html>\n"));
    out
}

fn counts_line(s: &Summary) -> String {
    let limited = if s.rate_limited > 0 {
        format!(" ({} rate-limited, not judged)", s.rate_limited)
    } else {
        String::new()
    };
    format!(
        "<span class=\"pass\">{} passed</span>, <span class=\"fail\">{} failed</span>, \
         <span class=\"warn\">{} warned</span>, <span class=\"skip\">{} skipped</span>, \
         <span class=\"error\">{} errored{limited}</span>",
        s.passed, s.failed, s.warned, s.skipped, s.errored
    )
}

fn gate(out: &mut String, run: &Collected) {
    let Some(gate) = &run.gate else { return };
    out.push_str(&format!(
        "<h2>Baseline</h2>\n<p><code>{}</code>: {} known failures, {} new failures, {} stale entries{}</p>\n<ul>\n",
        esc(&gate.baseline),
        gate.known_failures.len(),
        gate.new_failures.len(),
        gate.stale.len(),
        if gate.failed() { " &mdash; <strong class=\"fail\">gate failed</strong>" } else { "" }
    ));
    for id in &gate.new_failures {
        out.push_str(&format!(
            "<li class=\"fail\">new failure <a href=\"#case-{0}\">{0}</a></li>\n",
            esc(id)
        ));
    }
    for stale in &gate.stale {
        out.push_str(&format!(
            "<li class=\"warn\">stale entry, line {} <code>{}</code>: {}</li>\n",
            stale.line,
            esc(&stale.selector),
            esc(&stale.reason)
        ));
    }
    out.push_str("</ul>\n");
}

fn cleanup(out: &mut String, run: &Collected) {
    let Some(cleanup) = &run.cleanup else { return };
    out.push_str(&format!(
        "<p>Cleanup: removed {} created resources",
        cleanup.removed
    ));
    if cleanup.leftovers.is_empty() {
        out.push_str(", nothing left behind.</p>\n");
        return;
    }
    out.push_str(&format!(
        "; <strong class=\"fail\">{} could not be removed</strong>:</p>\n<ul>\n",
        cleanup.leftovers.len()
    ));
    for left in &cleanup.leftovers {
        out.push_str(&format!(
            "<li><code>{}/{}</code> ({}): {}</li>\n",
            left.resource.endpoint.path(),
            esc(&left.resource.id),
            esc(&left.resource.name),
            esc(&left.reason)
        ));
    }
    out.push_str("</ul>\n");
}

fn table(out: &mut String, what: &str, rows: &[(&str, Summary)]) {
    out.push_str(&format!(
        "<table><tr><th>{what}</th><th>pass</th><th>fail</th><th>warn</th><th>skip</th><th>error</th></tr>\n"
    ));
    for (name, s) in rows {
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"pass\">{}</td><td class=\"fail\">{}</td><td class=\"warn\">{}</td><td class=\"skip\">{}</td><td class=\"error\">{}</td></tr>\n",
            esc(name), s.passed, s.failed, s.warned, s.skipped, s.errored
        ));
    }
    out.push_str("</table>\n");
}

fn case_block(out: &mut String, case: &CaseReport) {
    let kind = case.outcome.label().to_lowercase();
    let profiles: Vec<&str> = case.profiles.iter().map(|p| p.name()).collect();
    out.push_str(&format!(
        "<details class=\"case outcome-{kind}\" id=\"case-{}\"><summary><span class=\"badge {kind}\">{}</span> <code>{}</code><span class=\"level\">{} &middot; {} &middot; {} ms</span></summary>\n",
        esc(case.id),
        case.outcome.label(),
        esc(case.id),
        case.level,
        esc(&profiles.join(", ")),
        case.duration_ms
    ));
    out.push_str(&format!(
        "<p class=\"req\"><strong>Requirement ({}):</strong> {}</p>\n",
        case.level,
        esc(case.requirement)
    ));
    match (&case.expected, &case.actual) {
        (Some(expected), Some(actual)) => out.push_str(&format!(
            "<p class=\"why\"><strong>expected:</strong> {}\n<strong>actual:</strong>   {}</p>\n",
            esc(expected),
            esc(actual)
        )),
        _ if case.outcome != Outcome::Pass && !case.message.is_empty() => out.push_str(&format!(
            "<p class=\"why\"><strong>{}:</strong> {}</p>\n",
            if case.outcome == Outcome::Skip {
                "skipped"
            } else {
                "message"
            },
            esc(&case.message)
        )),
        _ => {}
    }
    if case.exchanges.is_empty() {
        out.push_str("<p>No requests sent.</p>\n");
    } else {
        out.push_str(&format!(
            "<pre class=\"transcript\">{}</pre>\n",
            esc(&transcript(&case.exchanges, 100_000))
        ));
    }
    out.push_str("</details>\n");
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;
    use crate::client::{Exchange, RecordedRequest, RecordedResponse};

    /// Server-controlled text (bodies, headers, messages) must not become markup: a server
    /// under test could otherwise run script in the reader's browser.
    #[test]
    fn server_text_is_escaped() {
        let hostile = "</pre><script>alert(1)</script>";
        let case = CaseReport {
            id: "rfc7644-3.3/x",
            level: Level::Must,
            profiles: &[],
            requirement: "r",
            outcome: Outcome::Fail,
            message: hostile.into(),
            expected: Some("e".into()),
            actual: Some(hostile.into()),
            duration_ms: 1,
            exchanges: vec![Exchange {
                request: RecordedRequest {
                    method: "GET".into(),
                    url: "http://127.0.0.1:1/x".into(),
                    headers: Default::default(),
                    body: serde_json::Value::Null,
                },
                response: Some(RecordedResponse {
                    status: 200,
                    headers: [("x-evil".to_string(), hostile.to_string())].into(),
                    body: serde_json::Value::String(hostile.into()),
                }),
                error: None,
                duration_ms: 1,
            }],
            rate_limited: false,
        };
        let page = render(&Collected {
            cases: vec![case],
            ..Collected::default()
        });
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(1)"));
        assert_eq!(
            page.matches("<script>").count(),
            1,
            "only the page's own script"
        );
    }
}
