//! `matrix`: the suite against every target of a targets file, one after another, drawn
//! as one table of cases by targets (see `scim_conformance::matrix`).

use super::{interrupt_flag, suite, token_from_env, Exit, MatrixArgs};
use scim_conformance::cases::catalog;
use scim_conformance::exit;
use scim_conformance::matrix::{parse_targets, render_html, render_json, Column, Endpoint};
use scim_conformance::runner::{run_with, Policy, RunOptions};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use std::time::Duration;

pub(crate) async fn matrix_command(args: MatrixArgs) -> Result<i32, Exit> {
    let (timeout, case_timeout) = args.schedule.check()?;
    let text = std::fs::read_to_string(&args.targets).map_err(|e| {
        Exit::usage(format!(
            "cannot read the targets file {}: {e}",
            args.targets.display()
        ))
    })?;
    let targets = parse_targets(&text, &args.targets.display().to_string()).map_err(Exit::usage)?;
    // Every token and every consent first: a matrix should not stop halfway.
    let mut tokens = Vec::new();
    for target in &targets {
        tokens.push(match &target.endpoint {
            Endpoint::Embedded => None,
            Endpoint::Remote { url, token_env } => {
                suite::confirm_target(url, args.schedule.yes)?;
                Some(token_from_env(token_env)?)
            }
        });
    }
    for path in std::iter::once(&args.html).chain(args.json.iter()) {
        std::fs::File::create(path)
            .map_err(|e| Exit::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let policy = Policy {
        jobs: args.schedule.jobs,
        case_timeout,
        max_body: args.schedule.max_body,
        retry_wait: args.schedule.retry_wait()?,
        ..Policy::default()
    };
    let selection = args.select.selection();
    let interrupt = interrupt_flag();
    let mut columns = Vec::new();
    for (target, token) in targets.iter().zip(tokens) {
        let run = match &target.endpoint {
            Endpoint::Embedded => run_embedded(&selection, timeout, &policy).await,
            Endpoint::Remote { url, .. } => {
                let options = RunOptions {
                    base_url: url.clone(),
                    token,
                    second_token: None,
                    timeout,
                    selection: selection.clone(),
                    target_label: target.name.clone(),
                    prefix: None,
                    interrupt: Some(interrupt.clone()),
                };
                run_with(&catalog(), &options, &policy, &mut [])
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        match &run {
            Ok(r) => println!(
                "{}: {} passed, {} failed, {} warned, {} skipped, {} errored, {} leftovers",
                target.name,
                r.summary.passed,
                r.summary.failed,
                r.summary.warned,
                r.summary.skipped,
                r.summary.errored,
                r.cleanup.leftovers.len()
            ),
            Err(why) => println!("{}: did not run: {why}", target.name),
        }
        columns.push(Column {
            name: target.name.clone(),
            run,
        });
    }
    let all = catalog();
    std::fs::write(&args.html, render_html(&all, &columns))
        .map_err(|e| Exit::usage(format!("cannot write {}: {e}", args.html.display())))?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&render_json(&all, &columns)).unwrap_or_default();
        std::fs::write(path, text + "\n")
            .map_err(|e| Exit::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(if columns.iter().all(|c| c.run.is_ok()) {
        exit::SUCCESS
    } else {
        exit::UNREACHABLE
    })
}

async fn run_embedded(
    selection: &Selection,
    timeout: Duration,
    policy: &Policy,
) -> Result<scim_conformance::RunResult, String> {
    let server = scim_reference_server::spawn(scim_reference_server::Config::default())
        .await
        .map_err(|e| format!("could not start the reference server: {e}"))?;
    let options = RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout,
        selection: selection.clone(),
        target_label: "embedded reference server".into(),
        prefix: None,
        interrupt: None,
    };
    let run = run_with(&catalog(), &options, policy, &mut []).await;
    server.shutdown().await;
    run.map_err(|e| e.to_string())
}
