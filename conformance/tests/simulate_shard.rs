//! `simulate --shard K/N` and `merge`: shards run side by side against one embedded
//! reference server end with the state one unsharded run would leave (the union's read-back
//! matches the directory), clean up after themselves, and their reports merge into one.
//! Loopback only; small populations.

use scim_conformance::client::{Client, Request};
use scim_conformance::simulate::dialect::Dialect;
use scim_conformance::simulate::engine::{Engine, Pacing};
use scim_conformance::simulate::merge;
use scim_conformance::simulate::outage::EmbeddedServer;
use scim_conformance::simulate::population::{Directory, Shape};
use scim_conformance::simulate::report::Report;
use scim_conformance::simulate::shard::Shard;
use scim_conformance::simulate::{self, reconcile, Options};
use scim_conformance::Token;
use scim_reference_server::{Config, Fault};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The options of the tests' runs: `users` users, 7 groups, 2 cycles.
fn options(dialect: Dialect, prefix: &str, shard: Option<Shard>, keep: bool) -> Options {
    sized(dialect, prefix, shard, keep, 120)
}

fn sized(
    dialect: Dialect,
    prefix: &str,
    shard: Option<Shard>,
    keep: bool,
    users: usize,
) -> Options {
    Options {
        shape: Shape {
            users,
            groups: 7,
            large_group: users / 2,
            seed: 5,
        },
        dialect,
        cycles: 2,
        concurrency: 6,
        rates: Options::default_rates(dialect),
        reconcile: true,
        keep,
        prefix: prefix.to_owned(),
        progress: false,
        shard,
        shard_wait: Duration::from_secs(30),
    }
}

fn engine(base: &str) -> Arc<Engine> {
    let client = Client::new(
        base,
        Some(Token::new(scim_reference_server::DEFAULT_TOKEN)),
        Duration::from_secs(10),
    )
    .expect("client");
    let pacing = Pacing {
        backoff: Duration::from_millis(20),
        ..Pacing::default()
    };
    Arc::new(Engine::new(client, pacing))
}

/// Runs shards 1..=n of one run side by side, each with its own client.
async fn run_shards(
    base: &str,
    dialect: Dialect,
    prefix: &str,
    n: usize,
    keep: bool,
    users: usize,
) -> Vec<Report> {
    let mut tasks = Vec::new();
    for k in 1..=n {
        let opts = sized(
            dialect,
            prefix,
            Some(Shard { index: k, count: n }),
            keep,
            users,
        );
        let e = engine(base);
        tasks.push(tokio::spawn(async move {
            simulate::simulate(e, &opts, "embedded".into(), None, Arc::default()).await
        }));
    }
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.expect("shard task").expect("shard runs"));
    }
    reports
}

/// The directory after every cycle, as one unsharded run would end.
fn final_directory(opts: &Options) -> Directory {
    let mut dir = Directory::build(&opts.prefix, &opts.shape);
    for cycle in 1..=opts.cycles {
        dir.cycle(opts.shape.seed, cycle, &opts.rates);
    }
    dir
}

async fn total(base: &str, endpoint: &str, attr: &str, prefix: &str) -> u64 {
    let client = Client::new(
        base,
        Some(Token::new(scim_reference_server::DEFAULT_TOKEN)),
        Duration::from_secs(10),
    )
    .expect("client");
    let mut request = Request::new(reqwest::Method::GET, endpoint);
    request.query = vec![("filter".into(), format!("{attr} sw \"{prefix}\""))];
    let reply = client.send_unrecorded(&request).await.expect("list");
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    body["totalResults"].as_u64().expect("totalResults")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_leave_the_state_of_one_unsharded_run() {
    for dialect in [Dialect::Entra, Dialect::Okta] {
        let server = EmbeddedServer::start(Config::default())
            .await
            .expect("server");
        let base = server.base_url();
        let prefix = simulate::fresh_prefix();
        let reports = run_shards(&base, dialect, &prefix, 2, true, 120).await;
        for r in &reports {
            assert!(
                r.passed,
                "{dialect:?} shard {:?}: {:#?}",
                r.shard, r.reconciliations
            );
            assert_eq!(r.failure_count, 0, "{:?}", r.failures);
            assert!(r.scope.as_deref().is_some_and(|s| s.contains("mod 2")));
        }
        // Each shard read back its own users only; together, every live user.
        let dir = final_directory(&options(dialect, &prefix, None, true));
        let last = |r: &Report| {
            r.reconciliations
                .last()
                .expect("read-back")
                .result
                .users_read
        };
        assert_eq!(
            last(&reports[0]) + last(&reports[1]),
            dir.live_users().count()
        );
        // The union, read back whole, is what one unsharded run must leave.
        let union = reconcile::reconcile(&engine(&base), &dir, None, &[])
            .await
            .expect("read-back");
        assert!(
            union.differences.is_empty(),
            "{dialect:?}: {:#?}",
            union.differences
        );
        assert_eq!(union.users_read, dir.live_users().count());
        assert_eq!(union.groups_read, 7);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_read_back_finds_its_users_that_shifting_pages_skipped() {
    // See: issue 6 (a shard that finished first deleted its users while another paged
    // through /Users; the pages shifted and skipped users). A server that reads startIndex
    // as an offset skips one user per page in the same way, deterministically.
    let server = EmbeddedServer::start(Config {
        faults: vec![Fault::StartIndexZeroBased],
        ..Config::default()
    })
    .await
    .expect("server");
    let base = server.base_url();
    let prefix = simulate::fresh_prefix();
    let reports = run_shards(&base, Dialect::Entra, &prefix, 2, true, 1100).await;
    for r in &reports {
        // Every user of the shard and every membership is found. The fault's own
        // findings stay: its last empty page, and the group it skips (groups do not
        // shift under shards, so a shard does not look them up; it does not hide this
        // server's pagination bug).
        let differences: Vec<_> = r
            .reconciliations
            .iter()
            .flat_map(|c| &c.result.differences)
            .collect();
        assert!(differences.iter().any(|d| d.kind == "pagination"));
        for d in &differences {
            let user = d.subject.ends_with("@example.test");
            assert!(
                !user && d.kind != "wrong-membership",
                "shard {:?}: {d:?}",
                r.shard
            );
        }
    }
    // The whole population read back by pages alone does miss users: the pages did skip.
    let dir = final_directory(&sized(Dialect::Entra, &prefix, None, true, 1100));
    let union = reconcile::reconcile(&engine(&base), &dir, None, &[])
        .await
        .expect("read-back");
    assert!(
        union.differences.iter().any(|d| d.kind == "missing"),
        "{:#?}",
        union.differences
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_clean_up_everything_and_merge_into_one_report() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let base = server.base_url();
    let prefix = simulate::fresh_prefix();
    let reports = run_shards(&base, Dialect::Entra, &prefix, 2, false, 120).await;
    for r in &reports {
        assert!(
            r.passed,
            "shard {:?}: {:?} {:?}",
            r.shard, r.cleanup, r.cleanup_note
        );
    }
    assert_eq!(total(&base, "/Users", "userName", &prefix).await, 0);
    assert_eq!(total(&base, "/Groups", "displayName", &prefix).await, 0);
    server.stop().await;

    let merged = merge::merge(&[
        ("b.json".into(), reports[1].clone()),
        ("a.json".into(), reports[0].clone()),
    ])
    .expect("merge");
    assert_eq!(merged.shard.as_deref(), Some("2 shards merged"));
    assert!(merged.passed);
    for row in &merged.operations {
        let sum: u64 = reports
            .iter()
            .flat_map(|r| &r.operations)
            .filter(|o| o.kind == row.kind)
            .map(|o| o.count)
            .sum();
        assert_eq!(row.count, sum, "{:?}", row.kind);
        let in_histogram: u64 = row.histogram.iter().map(|(_, n)| n).sum();
        assert_eq!(in_histogram, sum, "{:?}", row.kind);
        assert!(row.p50_ms <= row.p95_ms && row.p95_ms <= row.p99_ms);
    }
    let cleaned = |r: &Report| r.cleanup.expect("cleanup").0;
    assert_eq!(
        merged.cleanup.expect("cleanup").0,
        cleaned(&reports[0]) + cleaned(&reports[1])
    );
    let read = |r: &Report| r.reconciliations[0].result.users_read;
    assert_eq!(
        merged.reconciliations[0].result.users_read,
        read(&reports[0]) + read(&reports[1])
    );

    // A report of another seed, a shard twice, a shard missing: each is refused.
    let mut other = reports[1].clone();
    other.seed += 1;
    let e = merge::merge(&[
        ("a.json".into(), reports[0].clone()),
        ("c.json".into(), other),
    ])
    .expect_err("seeds differ");
    assert!(e.contains("c.json") && e.contains("seed"), "{e}");
    let e = merge::merge(&[
        ("a.json".into(), reports[0].clone()),
        ("a2.json".into(), reports[0].clone()),
    ])
    .expect_err("duplicate");
    assert!(e.contains("shard 1/2") && e.contains("a2.json"), "{e}");
    let e = merge::merge(&[("a.json".into(), reports[0].clone())]).expect_err("missing");
    assert!(e.contains("missing shard(s) 2"), "{e}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
}

#[test]
fn bad_shard_flags_are_usage_errors() {
    for (args, needle) in [
        (&["--shard", "3/2", "--run-id", "r1"][..], "1 <= K <= N"),
        // See: fresh-user trial, finding 4: spellings that parse to a valid shard after a
        // trim or a sign were accepted; every shard of a run must spell K/N alike.
        (&["--shard", " 1/2", "--run-id", "r1"][..], "` 1/2`"),
        (&["--shard", "1/2 ", "--run-id", "r1"][..], "`1/2 `"),
        (&["--shard", "+1/2", "--run-id", "r1"][..], "e.g. 2/4"),
        (&["--shard", "01/2", "--run-id", "r1"][..], "leading zero"),
        (&["--shard", "1/02", "--run-id", "r1"][..], "leading zero"),
        (&["--shard", "1/2/3", "--run-id", "r1"][..], "e.g. 2/4"),
        (
            &["--shard", "1/0", "--run-id", "r1"][..],
            "N must be at least 1",
        ),
        (
            &["--shard", "1/99999999999999999999", "--run-id", "r1"][..],
            "more than 1000000",
        ),
        // See: fresh-user trial, finding 5: --shard-wait without --shard was ignored.
        (
            &["--shard-wait", "30"][..],
            "--shard-wait 30 applies to sharded runs only; give --shard K/N",
        ),
        (&["--shard", "0/2", "--run-id", "r1"][..], "1 <= K <= N"),
        (&["--shard", "two", "--run-id", "r1"][..], "1 <= K <= N"),
        (&["--shard", "1/2"][..], "--run-id"),
        (&["--shard", "1/2", "--run-id", "a b"][..], "--run-id"),
        (
            &["--shard", "1/9", "--run-id", "r1", "--groups", "4"][..],
            "at least 9",
        ),
        (
            &["--shard", "1/2", "--run-id", "r1", "--outage"][..],
            "--outage",
        ),
    ] {
        let out = bin()
            .arg("simulate")
            .args(["--users", "20", "--no-progress"])
            .args(args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_cli_combines_shard_reports_and_refuses_mismatches() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let base = server.base_url();
    let dir = std::env::temp_dir().join(format!("scim-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // A run id of its own, so that a parallel test run cannot collide with this one.
    let run_id = simulate::fresh_prefix()
        .replace("scimsim-", "t")
        .replace('-', "");
    let mut children = Vec::new();
    for k in 1..=2 {
        let path = dir.join(format!("s{k}.json"));
        let child = bin()
            .arg("simulate")
            .args([
                "--target",
                &base,
                "--run-id",
                &run_id,
                "--shard",
                &format!("{k}/2"),
            ])
            .args([
                "--users",
                "40",
                "--groups",
                "4",
                "--large-group",
                "10",
                "--cycles",
                "1",
            ])
            .args(["--no-progress", "--shard-wait", "30", "--json"])
            .arg(&path)
            .env(
                "SCIM_CONFORMANCE_TOKEN",
                scim_reference_server::DEFAULT_TOKEN,
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        children.push((
            path,
            tokio::task::spawn_blocking(move || child.wait_with_output()),
        ));
    }
    let mut paths = Vec::new();
    for (path, child) in children {
        let out = child.await.expect("join").expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{err}\n{text}");
        paths.push(path);
    }
    server.stop().await;
    let merged_path = dir.join("merged.json");
    let out = bin()
        .arg("merge")
        .args(&paths)
        .arg("--json")
        .arg(&merged_path)
        .output()
        .expect("merge");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("shard: 2 shards merged"), "{text}");
    assert!(
        text.contains("create-user") && text.contains("PASSED"),
        "{text}"
    );
    let merged: Report =
        serde_json::from_str(&std::fs::read_to_string(&merged_path).expect("read")).expect("json");
    let create = merged
        .operations
        .iter()
        .find(|o| o.kind == scim_conformance::simulate::engine::OpKind::CreateUser)
        .expect("create-user row");
    assert_eq!(create.count, 40);

    // Edited reports: a count past any real run (it would overflow the sums) and a
    // `passed` that contradicts the failures listed are refused, naming file and field.
    let original = std::fs::read_to_string(&paths[0]).expect("read");
    let mut huge: serde_json::Value = serde_json::from_str(&original).expect("json");
    huge["operations"][0]["count"] = serde_json::json!(u64::MAX);
    std::fs::write(&paths[0], huge.to_string()).expect("write");
    let out = bin().arg("merge").args(&paths).output().expect("merge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s1.json") && err.contains("/operations/0/count") && !err.contains("panicked"),
        "{err}"
    );
    let mut contradicts: serde_json::Value = serde_json::from_str(&original).expect("json");
    contradicts["failure_count"] = serde_json::json!(5);
    std::fs::write(&paths[0], contradicts.to_string()).expect("write");
    let out = bin().arg("merge").args(&paths).output().expect("merge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s1.json") && err.contains("says it passed"),
        "{err}"
    );
    // See: fresh-user trial, finding 3: a shard report that did no operation (or whose
    // rows lost their counts) is no shard of a run with users; refused with the pointer.
    for (edit, pointer) in [
        (serde_json::json!([]), "s1.json: /operations is empty"),
        (
            serde_json::json!(null),
            "s1.json: /operations is not an array",
        ),
    ] {
        let mut edited: serde_json::Value = serde_json::from_str(&original).expect("json");
        edited["operations"] = edit;
        std::fs::write(&paths[0], edited.to_string()).expect("write");
        let out = bin().arg("merge").args(&paths).output().expect("merge");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(pointer), "{err}");
    }
    let mut no_count: serde_json::Value = serde_json::from_str(&original).expect("json");
    no_count["operations"][1]
        .as_object_mut()
        .expect("row")
        .remove("count");
    std::fs::write(&paths[0], no_count.to_string()).expect("write");
    let out = bin().arg("merge").args(&paths).output().expect("merge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s1.json: /operations/1/count is missing"),
        "{err}"
    );
    let mut all_zero: serde_json::Value = serde_json::from_str(&original).expect("json");
    for row in all_zero["operations"].as_array_mut().expect("rows") {
        row["count"] = serde_json::json!(0);
    }
    std::fs::write(&paths[0], all_zero.to_string()).expect("write");
    let out = bin().arg("merge").args(&paths).output().expect("merge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s1.json: /operations counts no request"),
        "{err}"
    );
    std::fs::write(&paths[0], &original).expect("write");

    // Another seed in one file: refused with the file named.
    let mut second: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths[1]).expect("read")).expect("json");
    second["seed"] = serde_json::json!(99);
    std::fs::write(&paths[1], second.to_string()).expect("write");
    let out = bin().arg("merge").args(&paths).output().expect("merge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("s2.json") && err.contains("seed 99"), "{err}");
    let out = bin()
        .arg("merge")
        .arg(dir.join("nope.json"))
        .output()
        .expect("merge");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A shard started alone: the first wait for the missing shard runs out after
/// `--shard-wait`, every later one gives up at once (not one full wait per item), and the
/// shard still removes what it created and fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_alone_gives_up_once_cleans_up_and_fails() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let base = server.base_url();
    let dir = std::env::temp_dir().join(format!("scim-alone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let json = dir.join("alone.json");
    let run_id = simulate::fresh_prefix()
        .replace("scimsim-", "a")
        .replace('-', "");
    let out = tokio::task::spawn_blocking({
        let (base, json, run_id) = (base.clone(), json.clone(), run_id.clone());
        move || {
            bin()
                .arg("simulate")
                .args(["--target", &base, "--run-id", &run_id, "--shard", "2/2"])
                .args(["--users", "60", "--groups", "4", "--large-group", "20"])
                .args(["--cycles", "0", "--concurrency", "2", "--shard-wait", "1"])
                .args(["--no-progress", "--json"])
                .arg(&json)
                .env(
                    "SCIM_CONFORMANCE_TOKEN",
                    scim_reference_server::DEFAULT_TOKEN,
                )
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let errors: Vec<String> = report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| f["error"].as_str().unwrap_or_default().to_owned())
        .collect();
    let timed_out = errors
        .iter()
        .filter(|e| e.contains("did not appear within"))
        .count();
    let gave_up_at_once = errors
        .iter()
        .filter(|e| e.contains("an earlier wait of this run already ran out"))
        .count();
    // Waits already running when the first ran out end on their own: at most one per
    // request in flight.
    assert!((1..=2).contains(&timed_out), "{errors:#?}");
    assert!(gave_up_at_once >= 1, "{errors:#?}");
    let prefix = format!("scimsim-{run_id}-");
    assert_eq!(total(&base, "/Users", "userName", &prefix).await, 0);
    assert_eq!(total(&base, "/Groups", "displayName", &prefix).await, 0);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
