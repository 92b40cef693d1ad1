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
