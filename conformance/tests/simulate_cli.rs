//! The `simulate` command line: exit codes, the table, `--json`, `--outage` and
//! `--find-limit` against the embedded server. Small populations, loopback only.

use std::process::{Command, Output};

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .arg("simulate")
        .args(["--no-progress", "--groups", "4", "--large-group", "30"])
        .args(args)
        .env_remove("SCIM_CONFORMANCE_TOKEN")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_clean_run_exits_0_and_writes_the_table_and_the_json_report() {
    let dir = std::env::temp_dir().join(format!("simcli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("report.json");
    let json_arg = json.to_string_lossy().into_owned();
    let out = simulate(&["--users", "100", "--cycles", "1", "--json", &json_arg]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for needle in ["create-user", "p99 ms", "reconcile after cycle 1", "PASSED"] {
        assert!(stdout.contains(needle), "`{needle}` in:\n{stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("JSON");
    assert_eq!(report["passed"], true);
    assert_eq!(report["users"], 100);
    let ops = report["operations"].as_array().expect("operations");
    let creates = ops
        .iter()
        .find(|o| o["kind"] == "create-user")
        .expect("create-user row");
    assert_eq!(creates["count"], 100);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_fault_fails_the_run_with_exit_1_and_lists_the_difference() {
    let out = simulate(&[
        "--users",
        "100",
        "--cycles",
        "1",
        "--fault",
        "entra-remove-ignored",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("wrong-membership"), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn an_embedded_outage_is_replayed_and_passes() {
    let out = simulate(&[
        "--users",
        "150",
        "--cycles",
        "0",
        "--outage",
        "--outage-downtime",
        "0.3",
        "--retries-5xx",
        "0",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("outage: embedded server stopped"),
        "{stdout}"
    );
    assert!(stdout.contains("reconcile after replay"), "{stdout}");
}

#[test]
fn bad_flags_are_usage_errors_and_a_dead_target_is_unreachable() {
    let out = simulate(&["--dialect", "pingfed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown dialect `pingfed`"));
    let out = simulate(&["--users", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--users"));
    let out = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args([
            "simulate",
            "--target",
            "http://127.0.0.1:9/scim/v2",
            "--timeout",
            "2",
        ])
        .env("SCIM_SIM_TEST_TOKEN", "t")
        .args(["--token-env", "SCIM_SIM_TEST_TOKEN"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("Bearer t"));
}

#[test]
fn find_limit_prints_the_ramp() {
    let out = simulate(&[
        "--find-limit",
        "--rate",
        "50",
        "--max-rate",
        "75",
        "--step-secs",
        "0.3",
        "--concurrency",
        "4",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("highest sustainable rate"), "{stdout}");
    assert!(stdout.contains("429: never seen"), "{stdout}");
}

#[test]
fn record_listens_on_loopback_only_and_stops_by_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args([
            "record",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args(["--out", "/dev/null"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("loopback address only"));
    let file = std::env::temp_dir().join(format!("rec-{}.jsonl", std::process::id()));
    // `record` refuses an existing --out without --force or --append.
    let _ = std::fs::remove_file(&file);
    let out = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args([
            "record",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args(["--max-seconds", "1", "--out"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("recording http://127.0.0.1:"));
    assert_eq!(std::fs::read_to_string(&file).expect("created"), "");
    let _ = std::fs::remove_file(&file);
}

/// A loopback port nothing listens on: bound, then released, so a connect is refused.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Runs the binary with `SCIM_SIM_TEST_TOKEN` as the token, killing it after `secs`.
fn run_bounded(args: &[&str], token: &str, secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(args)
        .env("SCIM_SIM_TEST_TOKEN", token)
        .env_remove("SCIM_CONFORMANCE_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("simcli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// See: fresh-user trial, finding 1. Through the outage proxy a dead target looked alive
/// (the proxy answered 502), so the run went on for ~32 s and exited 1. The test
/// connection now goes to the target itself: exit 3, as without --outage.
#[test]
fn an_unreachable_target_behind_the_outage_proxy_exits_3() {
    let url = format!("http://127.0.0.1:{}/scim/v2", refused_port());
    let out = run_bounded(
        &[
            "simulate",
            "--no-progress",
            "--token-env",
            "SCIM_SIM_TEST_TOKEN",
            "--target",
            &url,
            "--outage",
            "--users",
            "20",
            "--groups",
            "2",
        ],
        "t",
        60,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}\n{}", text(&out.stdout));
    assert!(err.contains("target unreachable"), "{err}");
}

/// See: fresh-user trial, finding 2. A CI gate expects `--json FILE` whenever the run
/// started; a target that does not answer gets a report that says so (`error`, no
/// operations, `passed` false) in simulate's own schema, and exit 3.
#[test]
fn an_unreachable_target_still_gets_a_json_report() {
    let dir = temp_dir("unreachable");
    let json = dir.join("report.json");
    let _ = std::fs::remove_file(&json);
    let url = format!("http://127.0.0.1:{}/scim/v2", refused_port());
    let json_arg = json.to_string_lossy().into_owned();
    let out = run_bounded(
        &[
            "simulate",
            "--no-progress",
            "--token-env",
            "SCIM_SIM_TEST_TOKEN",
            "--target",
            &url,
            "--users",
            "20",
            "--groups",
            "2",
            "--run-id",
            "unreach1",
            "--shard",
            "1/2",
            "--json",
            &json_arg,
        ],
        "t",
        60,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&json).expect("the report is written");
    let report: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(report["passed"], false);
    assert_eq!(report["version"], 2);
    assert_eq!(report["users"], 20);
    assert_eq!(report["shard"], "1/2");
    assert_eq!(report["prefix"], "scimsim-unreach1-");
    assert_eq!(report["operations"], serde_json::json!([]));
    let error = report["error"].as_str().expect("error says why");
    assert!(error.starts_with("target unreachable"), "{error}");
    // `merge` refuses it, naming the file and the field.
    let out = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .arg("merge")
        .arg(&json)
        .output()
        .expect("merge runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("report.json: /error"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loopback server that answers every request 401, until `stop` is set or for at most
/// `secs` seconds.
fn rejecting_server(
    secs: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/scim/v2", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < deadline
            && !stop.load(std::sync::atomic::Ordering::Relaxed)
        {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401"}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/scim+json\r\n\
                         www-authenticate: Bearer\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    (url, handle)
}

/// See: fresh-user trial, finding 7. A token the target rejects was exit 2, which the
/// README's list for `simulate` does not name. `run` reports every case of such a target
/// failed (exit 1); `simulate` now stops at the test connection with exit 1 and the
/// report says why. The token never shows.
#[test]
fn a_rejected_token_fails_the_run_with_exit_1_and_a_report() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (url, server) = rejecting_server(60, std::sync::Arc::clone(&stop));
    let dir = temp_dir("rejected");
    let json = dir.join("report.json");
    let json_arg = json.to_string_lossy().into_owned();
    let out = run_bounded(
        &[
            "simulate",
            "--no-progress",
            "--token-env",
            "SCIM_SIM_TEST_TOKEN",
            "--target",
            &url,
            "--users",
            "20",
            "--groups",
            "2",
            "--json",
            &json_arg,
        ],
        "sekrit-token-value",
        60,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rejected the token (status 401)"), "{err}");
    let written = std::fs::read_to_string(&json).expect("the report is written");
    assert!(!written.contains("sekrit") && !err.contains("sekrit"));
    let report: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(report["passed"], false);
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("status 401")),
        "{written}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().expect("server thread");
    let _ = std::fs::remove_dir_all(&dir);
}

/// See: fresh-user trial, finding 6. `--users -5` was "unexpected argument '-5'"; numeric
/// flags now take the value and refuse it by their range (exit 2), on every command.
#[test]
fn negative_numbers_are_refused_by_the_flag_range() {
    for (args, needle) in [
        (
            &["simulate", "--users", "-5"][..],
            "--users must be at least 1, got -5",
        ),
        (
            &["simulate", "--concurrency", "-2"][..],
            "--concurrency must be at least 1, got -2",
        ),
        (
            &["simulate", "--cycles", "-1"][..],
            "--cycles must be at least 0, got -1",
        ),
        (
            &["simulate", "--retries-5xx", "-1"][..],
            "--retries-5xx must be at least 0, got -1",
        ),
        (
            &["simulate", "--rate", "-1"][..],
            "--rate must be positive, got -1",
        ),
        (
            &["simulate", "--timeout", "-1"][..],
            "--timeout must be a positive number",
        ),
        (
            &["simulate", "--seed", "-1"][..],
            "'--seed <SEED>': a seed is a whole number",
        ),
        (
            &[
                "simulate",
                "--shard",
                "1/2",
                "--run-id",
                "r1",
                "--shard-wait",
                "-3",
            ][..],
            "--shard-wait must be more than 0 and at most 86400 seconds, got -3",
        ),
        (
            &["serve", "--addr", "127.0.0.1:0", "--rate-limit", "-1"][..],
            "--rate-limit must be at least 0.1 requests per second, got -1",
        ),
        (
            &["run", "--jobs", "-1"][..],
            "'--jobs <N>': must be 0 or more, got -1",
        ),
        (
            &["run", "--timeout", "-3"][..],
            "--timeout must be a positive number of seconds, got -3",
        ),
    ] {
        let out = run_bounded(args, "t", 30);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
}
