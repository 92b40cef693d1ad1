//! The interop matrix (`scim-conformance matrix --targets FILE --html OUT`): the suite
//! against several targets, drawn as one table of cases by targets.
//!
//! The targets file has one target per line: a name, then `embedded` (the in-process
//! reference server) or a SCIM base URL followed by the name of the environment variable
//! holding its bearer token. `#` starts a comment.
//!
//! ```text
//! # name          url                                       token variable
//! reference       embedded
//! scim2-server    http://127.0.0.1:18080/v2                 SCIM2_SERVER_TOKEN
//! ```

use crate::case::{Case, Outcome};
use crate::runner::RunResult;
use serde_json::json;
use std::fmt::Write as _;

/// Where a column's run goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The in-process reference server.
    Embedded,
    /// A SCIM base URL and the variable holding its token.
    Remote {
        /// The base URL.
        url: String,
        /// The environment variable with the bearer token.
        token_env: String,
    },
}

/// One line of the targets file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The column heading.
    pub name: String,
    /// Where it is.
    pub endpoint: Endpoint,
}

/// Parses a targets file; errors name `origin:line`.
pub fn parse_targets(text: &str, origin: &str) -> Result<Vec<Target>, String> {
    let mut targets: Vec<Target> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        let endpoint = match fields.as_slice() {
            [_, "embedded"] => Endpoint::Embedded,
            [_, url, token_env] => Endpoint::Remote {
                url: (*url).to_owned(),
                token_env: (*token_env).to_owned(),
            },
            _ => {
                return Err(format!(
                    "{origin}:{line}: expected `NAME embedded` or `NAME URL TOKEN_VARIABLE`, found `{content}`"
                ))
            }
        };
        let name = fields[0].to_owned();
        if targets.iter().any(|t| t.name == name) {
            return Err(format!(
                "{origin}:{line}: the target name `{name}` is used twice"
            ));
        }
        targets.push(Target { name, endpoint });
    }
    if targets.is_empty() {
        return Err(format!("{origin}: no targets"));
    }
    Ok(targets)
}

/// One target's run, or why it could not run.
#[derive(Debug)]
pub struct Column {
    /// The target's name.
    pub name: String,
    /// The run, or the reason it did not happen.
    pub run: Result<RunResult, String>,
}

impl Column {
    fn outcome(&self, id: &str) -> Option<(Outcome, &str)> {
        let run = self.run.as_ref().ok()?;
        run.cases
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.outcome, c.message.as_str()))
    }
}

/// The matrix as one self-contained HTML page.
pub fn render_html(catalog: &[Case], columns: &[Column]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scim-conformance interop matrix</title>\n<style>\n\
         body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse}\n\
         th,td{border:1px solid #d0d7de;padding:.15rem .5rem}th{position:sticky;top:0;background:#fff}td code{white-space:nowrap}\n\
         td.pass{background:#dafbe1}td.fail{background:#ffebe9}td.warn{background:#fff8c5}\n\
         td.skip{background:#f6f8fa;color:#57606a}td.error{background:#fbefff}td.none{color:#8c959f}\n\
         </style></head><body>\n<h1>scim-conformance interop matrix</h1>\n",
    );
    out.push_str("<table>\n<tr><th>case</th><th>level</th>");
    for column in columns {
        let _ = write!(out, "<th>{}</th>", esc(&column.name));
    }
    out.push_str("</tr>\n<tr><td>summary</td><td></td>");
    for column in columns {
        match &column.run {
            Ok(run) => {
                let s = run.summary;
                let _ = write!(
                    out,
                    "<td>{} pass, {} fail, {} warn, {} skip, {} error</td>",
                    s.passed, s.failed, s.warned, s.skipped, s.errored
                );
            }
            Err(why) => {
                let _ = write!(out, "<td class=\"error\">did not run: {}</td>", esc(why));
            }
        }
    }
    out.push_str("</tr>\n");
    for case in catalog {
        let cells: Vec<Option<(Outcome, &str)>> =
            columns.iter().map(|c| c.outcome(case.id)).collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let _ = write!(
            out,
            "<tr id=\"case-{0}\"><td><code>{0}</code></td><td>{1}</td>",
            esc(case.id),
            case.level
        );
        for cell in cells {
            match cell {
                Some((outcome, message)) => {
                    let kind = outcome.label().to_lowercase();
                    let _ = write!(
                        out,
                        "<td class=\"{kind}\" title=\"{}\">{}</td>",
                        esc(message),
                        outcome.label()
                    );
                }
                None => out.push_str("<td class=\"none\">-</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<p>Hover a cell for the message; run one target with <code>scim-conformance run --html</code> for the transcripts.</p>\n</body></html>\n");
    out
}

/// The matrix as JSON: `{"targets": [{"name", "summary" | "error"}], "cases": [{"id",
/// "level", "outcomes": {target name: outcome}}]}`.
pub fn render_json(catalog: &[Case], columns: &[Column]) -> serde_json::Value {
    let targets: Vec<_> = columns
        .iter()
        .map(|c| match &c.run {
            Ok(run) => json!({"name": c.name, "summary": run.summary}),
            Err(why) => json!({"name": c.name, "error": why}),
        })
        .collect();
    let cases: Vec<_> = catalog
        .iter()
        .filter_map(|case| {
            let outcomes: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .filter_map(|c| c.outcome(case.id).map(|(o, _)| (c.name.clone(), json!(o))))
                .collect();
            (!outcomes.is_empty())
                .then(|| json!({"id": case.id, "level": case.level, "outcomes": outcomes}))
        })
        .collect();
    json!({"targets": targets, "cases": cases})
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_file() {
        let t = parse_targets("# c\nref embedded\ns2 http://127.0.0.1:1/v2 TOK # x\n", "t")
            .expect("parses");
        assert_eq!(t[0].endpoint, Endpoint::Embedded);
        assert_eq!(
            t[1].endpoint,
            Endpoint::Remote {
                url: "http://127.0.0.1:1/v2".into(),
                token_env: "TOK".into()
            }
        );
        assert_eq!(
            parse_targets("a\n", "t").unwrap_err(),
            "t:1: expected `NAME embedded` or `NAME URL TOKEN_VARIABLE`, found `a`"
        );
        assert!(parse_targets("a embedded\na embedded\n", "t")
            .unwrap_err()
            .contains("twice"));
        assert!(parse_targets("\n", "t").is_err());
    }
}
