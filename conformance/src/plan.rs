//! `--dry-run`: the plan of a run, without sending anything to the target.
//!
//! A case decides its next request from the previous reply, so the plan cannot be read
//! off the catalog. Instead the selected cases are rehearsed against the in-process
//! reference server on 127.0.0.1, and what they sent there is printed with the target's
//! base URL in its place: every request (method and path), and every resource a case
//! would create, with its prefixed name. A real target can take other branches (a feature
//! it does not advertise skips the case; a failure ends a case early), so the plan is an
//! upper bound of what a case does on a conforming server.

use crate::case::Case;
use crate::runner::{run, CaseReport, RunOptions};
use crate::select::Selection;
use crate::token::Token;
use std::fmt::Write as _;
use std::time::Duration;

/// The prefix names carry in the plan; a real run picks `scimconf-<random8>-`.
pub const PLAN_PREFIX: &str = "scimconf-dryrun00-";

/// The plan as text: one block per selected case, one line per case left out, a total.
pub async fn rehearse(
    cases: &[Case],
    selection: &Selection,
    target: &str,
) -> Result<String, String> {
    let server = scim_reference_server::spawn(scim_reference_server::Config::default())
        .await
        .map_err(|e| format!("could not start the reference server for the rehearsal: {e}"))?;
    let base = server.base_url();
    let options = RunOptions {
        base_url: base.clone(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout: Duration::from_secs(30),
        selection: selection.clone(),
        target_label: "dry-run rehearsal".into(),
        prefix: Some(PLAN_PREFIX.into()),
        interrupt: None,
    };
    let result = run(cases, &options, &mut []).await;
    server.shutdown().await;
    let result = result.map_err(|e| format!("the rehearsal failed: {e}"))?;
    let target = target.trim_end_matches('/');
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dry run: nothing is sent to {target}. The plan below was rehearsed against the \
         in-process reference server; a real run replaces {PLAN_PREFIX} with scimconf-<random8>-."
    );
    let (mut requests, mut creates) = (0, 0);
    for report in &result.cases {
        let (r, c) = case_plan(&mut out, report, &base, target);
        requests += r;
        creates += c;
    }
    for case in cases {
        if let Err(reason) = selection.decide(case) {
            let _ = writeln!(out, "not run    {} ({reason})", case.id);
        }
    }
    let _ = writeln!(
        out,
        "\n{} cases would run, sending {requests} requests and creating {creates} resources \
         (all deleted at the end of the run).",
        result.cases.len()
    );
    Ok(out)
}

fn case_plan(out: &mut String, report: &CaseReport, base: &str, target: &str) -> (usize, usize) {
    let _ = writeln!(out, "\nwould run  {} ({})", report.id, report.level);
    let mut creates = 0;
    for exchange in &report.exchanges {
        let url = exchange.request.url.replacen(base, target, 1);
        let _ = writeln!(out, "  {} {url}", exchange.request.method);
        let Some(response) = &exchange.response else {
            continue;
        };
        if exchange.request.method == "POST" && response.status == 201 {
            let name = ["userName", "displayName"]
                .iter()
                .find_map(|k| response.body[*k].as_str())
                .unwrap_or("(unnamed)");
            let _ = writeln!(out, "    creates {name}");
            creates += 1;
        }
    }
    (report.exchanges.len(), creates)
}
