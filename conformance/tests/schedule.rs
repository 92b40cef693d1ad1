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
