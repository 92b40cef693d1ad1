//! Concurrency: the whole catalog against the reference server with 8 cases at a time
//! gives the same outcomes as one at a time, reporters see the cases in catalog order,
//! and a fault still fails exactly the cases it fails serially.

use scim_conformance::cases::catalog;
use scim_conformance::report::{Event, Reporter};
use scim_conformance::runner::{run_with, Policy, RunOptions, RunResult};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use scim_reference_server::{spawn, Config, Fault};
use std::time::Duration;

/// Records the order of finished cases.
#[derive(Default)]
struct Order(Vec<&'static str>);

impl Reporter for Order {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if let Event::CaseFinished(report) = event {
            self.0.push(report.id);
        }
        Ok(())
    }
}

async fn run_jobs(faults: Vec<Fault>, jobs: usize) -> (RunResult, Vec<&'static str>) {
    let server = spawn(Config {
        faults,
        ..Config::default()
    })
    .await
    .expect("server starts");
    let options = RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout: Duration::from_secs(10),
        selection: Selection::default(),
        target_label: "reference".into(),
        prefix: None,
        interrupt: None,
    };
    let policy = Policy {
        jobs,
        ..Policy::default()
    };
    let mut order = Order::default();
    let reporters: &mut [&mut dyn Reporter] = &mut [&mut order];
    let result = run_with(&catalog(), &options, &policy, reporters)
        .await
        .expect("run");
    server.shutdown().await;
    (result, order.0)
}

fn outcomes(result: &RunResult) -> Vec<(&'static str, &'static str)> {
    result
        .cases
        .iter()
        .map(|c| (c.id, c.outcome.label()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_match_serial_runs_in_catalog_order() {
    let ids: Vec<&str> = catalog().iter().map(|c| c.id).collect();
    for faults in [
        vec![],
        vec![Fault::ErrorStatusNumber, Fault::StartIndexZeroBased],
    ] {
        let (serial, _) = run_jobs(faults.clone(), 1).await;
        let (concurrent, order) = run_jobs(faults.clone(), 8).await;
        assert_eq!(order, ids, "reporters see catalog order");
        assert_eq!(
            outcomes(&concurrent),
            outcomes(&serial),
            "faults {faults:?}"
        );
        assert!(concurrent.cleanup.leftovers.is_empty());
        assert_eq!(concurrent.cleanup.removed, serial.cleanup.removed);
    }
}

/// Sets the interrupt flag (what the first Ctrl-C does) once a case that created
/// something is reported, so the cleanup has work to do.
struct CtrlC(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Reporter for CtrlC {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if let Event::CaseFinished(report) = event {
            let created = report.exchanges.iter().any(|e| {
                e.request.method == "POST" && e.response.as_ref().is_some_and(|r| r.status == 201)
            });
            if created {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_skips_the_rest_and_still_cleans_up() {
    let server = spawn(Config::default()).await.expect("server starts");
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout: Duration::from_secs(10),
        selection: Selection::default(),
        target_label: "reference".into(),
        prefix: None,
        interrupt: Some(flag.clone()),
    };
    let mut ctrl_c = CtrlC(flag);
    let reporters: &mut [&mut dyn Reporter] = &mut [&mut ctrl_c];
    let result = run_with(&catalog(), &options, &Policy::default(), reporters)
        .await
        .expect("run");
    let interrupted = result
        .cases
        .iter()
        .filter(|c| c.message == "the run was interrupted before this case")
        .count();
    // Cases already past their start when the flag was set finish normally; how many
    // depends on scheduling, but some later ones must have been skipped.
    assert!(interrupted > 0, "no case was skipped after the interrupt");
    assert!(
        result.cleanup.removed > 0,
        "the cases that ran created something"
    );
    assert!(
        result.cleanup.leftovers.is_empty(),
        "{:?}",
        result.cleanup.leftovers
    );
    // Nothing with the run's prefix is left on the server.
    let reply = reqwest::Client::new()
        .get(format!("{}/Users", server.base_url()))
        .query(&[("filter", format!("userName sw \"{}\"", result.prefix))])
        .bearer_auth(server.token())
        .send()
        .await
        .expect("list");
    let body: serde_json::Value = reply.json().await.expect("JSON");
    assert_eq!(body["totalResults"], 0, "{body}");
    server.shutdown().await;
}
