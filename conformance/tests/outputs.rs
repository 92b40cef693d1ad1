//! The CLI's reports and gates, end to end through the binary: every output format keeps
//! the token out, JUnit parses as XML, the baseline gate, `--strict`, snapshot drift,
//! the consent check for non-loopback targets, the dry-run plan and the matrix.

use scim_reference_server::{spawn, Config, Fault};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "tok-9f3e1c-known-secret-for-the-leak-test";

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scim-conformance"));
    cmd.env_remove("SCIM_CONFORMANCE_TOKEN")
        .env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scimconf-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_format_carries_the_token() {
    let server = spawn(Config {
        tenants: vec![("default".into(), TOKEN.into())],
        faults: vec![Fault::ErrorStatusNumber, Fault::CountZeroFullPage],
        ..Config::default()
    })
    .await
    .expect("server starts");
    let dir = scratch("token");
    let base = server.base_url();
    let args: Vec<String> = [
        "run",
        "--target",
        &base,
        "--token-env",
        "LEAK_TEST_TOKEN",
        "--jobs",
        "4",
        "--json",
        &p(&dir, "r.json"),
        "--junit",
        &p(&dir, "r.xml"),
        "--html",
        &p(&dir, "r.html"),
        "--markdown",
        &p(&dir, "r.md"),
        "--snapshots",
        &p(&dir, "snaps"),
        "--write-baseline",
        &p(&dir, "baseline.txt"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(&args)
            .env("LEAK_TEST_TOKEN", TOKEN)
            .env("RUST_LOG", "debug")
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined");
    server.shutdown().await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "faults fail MUST cases: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "stdout carries the token");
    assert!(
        !text(&out.stderr).contains(TOKEN),
        "stderr carries the token"
    );
    let written = files(&dir);
    for name in ["r.json", "r.xml", "r.html", "r.md", "baseline.txt"] {
        assert!(
            written.iter().any(|f| f.ends_with(name)),
            "{name} was not written"
        );
    }
    assert!(
        written
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "snap")),
        "no snapshot was written"
    );
    for file in &written {
        let content = std::fs::read_to_string(file).expect("UTF-8 report");
        assert!(
            !content.contains(TOKEN),
            "{} carries the token",
            file.display()
        );
    }
    // The transcripts are there, with the header redacted rather than dropped.
    let html = std::fs::read_to_string(dir.join("r.html")).expect("html");
    assert!(
        html.contains("authorization: Bearer &lt;redacted&gt;"),
        "no redacted header in HTML"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).expect("json"))
            .expect("JSON report parses");
    assert_eq!(report["schema_version"], 1);
    junit_is_consistent(
        &std::fs::read_to_string(dir.join("r.xml")).expect("xml"),
        &report,
    );
}

/// Parses the JUnit file with a real XML parser and checks its counts against the JSON
/// report of the same run.
fn junit_is_consistent(xml: &str, report: &serde_json::Value) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut testcases, mut failures, mut skipped, mut suites) = (0, 0, 0, 0);
    let mut declared_tests = None;
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuites" => {
                    let tests = e
                        .try_get_attribute("tests")
                        .expect("attribute")
                        .expect("tests attribute");
                    declared_tests = Some(
                        String::from_utf8_lossy(&tests.value)
                            .parse::<usize>()
                            .expect("number"),
                    );
                }
                b"testsuite" => suites += 1,
                b"testcase" => testcases += 1,
                b"failure" => failures += 1,
                b"skipped" => skipped += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let cases = report["cases"].as_array().expect("cases");
    assert_eq!(testcases, cases.len());
    assert_eq!(declared_tests, Some(cases.len()));
    assert_eq!(
        failures as u64,
        report["summary"]["failed"].as_u64().expect("failed")
    );
    assert_eq!(
        skipped as u64,
        report["summary"]["skipped"].as_u64().expect("skipped")
    );
    assert!(suites > 1, "one testsuite per section");
}

#[test]
fn baseline_gates_on_new_failures_and_reports_stale_entries() {
    let dir = scratch("baseline");
    let baseline = p(&dir, "known.txt");
    let only = "rfc7644-3.12/*";
    let out = run(&[
        "run",
        "--only",
        only,
        "--fault",
        "error-status-number",
        "--write-baseline",
        &baseline,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let written = std::fs::read_to_string(&baseline).expect("baseline written");
    assert!(
        written.lines().any(|l| l.starts_with("rfc7644-3.12/")),
        "{written}"
    );
    // The same failures are known now: the gate passes.
    let out = run(&[
        "run",
        "--only",
        only,
        "--fault",
        "error-status-number",
        "--baseline",
        &baseline,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("0 new failures"),
        "{}",
        text(&out.stdout)
    );
    // Fixed server: every entry is stale; reported, and failing only with --fail-on-stale.
    let out = run(&["run", "--only", only, "--baseline", &baseline]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("baseline: STALE line 4"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&[
        "run",
        "--only",
        only,
        "--baseline",
        &baseline,
        "--fail-on-stale",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    // A new failure outside the baseline fails the run.
    let out = run(&[
        "run",
        "--only",
        "rfc7644-3.4.2.4/*",
        "--fault",
        "startindex-zero-based",
        "--baseline",
        &baseline,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("baseline: NEW FAILURE rfc7644-3.4.2.4/"),
        "{}",
        text(&out.stdout)
    );
    // A malformed baseline is a usage error naming the line.
    std::fs::write(dir.join("bad.txt"), "ok/*\nnot one selector\n").expect("write");
    let out = run(&["run", "--baseline", &p(&dir, "bad.txt")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.txt:2: one selector per line"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn strict_turns_warnings_into_failures() {
    let args = [
        "run",
        "--only",
        "rfc7644-3.4.2.4/count-zero-total-only",
        "--fault",
        "count-zero-full-page",
    ];
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a SHOULD broken is a warning: {}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("WARN"), "{}", text(&out.stdout));
    let mut strict = args.to_vec();
    strict.push("--strict");
    let out = run(&strict);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("made a failure by --strict"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn snapshots_report_drift_per_case_and_update_accepts() {
    let dir = scratch("snapshots");
    let snaps = p(&dir, "snaps");
    let only = "rfc7644-3.12/*";
    let out = run(&["run", "--only", only, "--snapshots", &snaps, "--jobs", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("0 drifted"),
        "{}",
        text(&out.stdout)
    );
    let stored = files(Path::new(&snaps));
    assert!(!stored.is_empty());
    let first = std::fs::read_to_string(&stored[0]).expect("snapshot");
    assert!(
        first.starts_with("---\nsource: scim-conformance\nexpression: "),
        "{first}"
    );
    assert!(!first.contains("127.0.0.1:"), "ports are blanked: {first}");
    // A second run of a clean server is stable, despite new ids, times, ports and prefix.
    let out = run(&["run", "--only", only, "--snapshots", &snaps, "--jobs", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(" unchanged, 0 new, 0 updated, 0 drifted"),
        "{}",
        text(&out.stdout)
    );
    // A changed server drifts, case by case; the gate failure still wins the exit code.
    let out = run(&[
        "run",
        "--only",
        only,
        "--snapshots",
        &snaps,
        "--fault",
        "error-status-number",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("snapshot DRIFT rfc7644-3.12/"), "{stdout}");
    assert!(
        stdout.contains("+  \"status\": 4"),
        "the diff shows the new number: {stdout}"
    );
    // Drift alone exits 4; --update-snapshots accepts it.
    let out = run(&[
        "run",
        "--only",
        only,
        "--snapshots",
        &snaps,
        "--fault",
        "error-status-number",
        "--update-snapshots",
    ]);
    assert!(
        text(&out.stdout).contains("snapshot UPDATED"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["run", "--only", only, "--snapshots", &snaps]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "drift from the accepted faulty answers: {}",
        text(&out.stdout)
    );
}

#[test]
fn non_loopback_targets_need_yes() {
    // 0.0.0.0 is not a loopback address, but even if the check were broken a request would
    // only reach this machine (port 9 is closed), never another host.
    let out = bin()
        .args([
            "run",
            "--target",
            "http://0.0.0.0:9/scim/v2",
            "--token-env",
            "GUARD_TOKEN",
        ])
        .env("GUARD_TOKEN", "x")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--yes"),
        "{err}"
    );
    assert!(err.contains("Nothing was sent"), "{err}");
    // With --yes the run goes ahead (and finds nothing listening: exit 3).
    let out = bin()
        .args([
            "run",
            "--target",
            "http://0.0.0.0:9/scim/v2",
            "--token-env",
            "GUARD_TOKEN",
            "--yes",
        ])
        .env("GUARD_TOKEN", "x")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn dry_run_prints_the_plan_and_sends_nothing() {
    // Port 9 on loopback: nothing listens, so a request sent there would fail the run.
    let out = run(&[
        "run",
        "--target",
        "http://127.0.0.1:9/scim/v2",
        "--dry-run",
        "--only",
        "rfc7644-3.3/*",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains("nothing is sent to http://127.0.0.1:9/scim/v2"),
        "{plan}"
    );
    assert!(
        plan.contains("would run  rfc7644-3.3/create-user-201 (MUST)"),
        "{plan}"
    );
    assert!(
        plan.contains("  POST http://127.0.0.1:9/scim/v2/Users"),
        "{plan}"
    );
    assert!(plan.contains("    creates scimconf-dryrun00-"), "{plan}");
    assert!(plan.contains("not run    rfc7644-3.6/"), "{plan}");
    assert!(plan.contains(" requests and creating "), "{plan}");
}

#[test]
fn matrix_draws_cases_by_targets() {
    let dir = scratch("matrix");
    std::fs::write(
        dir.join("targets.txt"),
        "# two columns\nreference embedded\nnowhere http://127.0.0.1:9/scim/v2 MATRIX_TOKEN\n",
    )
    .expect("write");
    let out = bin()
        .args([
            "matrix",
            "--targets",
            &p(&dir, "targets.txt"),
            "--html",
            &p(&dir, "m.html"),
            "--json",
            &p(&dir, "m.json"),
            "--only",
            "rfc7644-3.12/*",
        ])
        .env("MATRIX_TOKEN", "x")
        .output()
        .expect("runs");
    // One target cannot be reached: the matrix is still drawn, and the exit code says so.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.join("m.html")).expect("html");
    assert!(
        html.contains("<th>reference</th><th>nowhere</th>"),
        "{html}"
    );
    assert!(html.contains("did not run: target unreachable"), "{html}");
    assert!(html.contains("<td class=\"pass\""), "{html}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.json")).expect("json"))
            .expect("parses");
    assert_eq!(json["cases"][0]["outcomes"]["reference"], "pass");
    assert!(json["targets"][1]["error"].is_string());
}

/// On a terminal the run asks instead of refusing. `script` (util-linux) gives the binary a
/// pseudo-terminal and forwards our answer to it.
#[test]
fn on_a_terminal_the_run_asks_for_confirmation() {
    let has_script = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("script").is_file()));
    if !has_script {
        eprintln!("skipped: no `script` (util-linux) on PATH to provide a terminal");
        return;
    }
    let ask = |answer: &str| {
        use std::io::Write;
        let command = format!(
            "{} run --target http://0.0.0.0:9/scim/v2 --token-env GUARD_TOKEN",
            env!("CARGO_BIN_EXE_scim-conformance")
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("GUARD_TOKEN", "x")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{answer}\n").as_bytes())
            .expect("answer");
        child.wait_with_output().expect("finishes")
    };
    let refused = ask("no");
    let shown = text(&refused.stdout);
    assert!(shown.contains("Type `yes` to go on"), "{shown}");
    assert!(shown.contains("not confirmed; nothing was sent"), "{shown}");
    assert_eq!(refused.status.code(), Some(2));
    // Confirmed: the run goes ahead and finds nothing listening on port 9 (exit 3).
    let confirmed = ask("yes");
    assert_eq!(
        confirmed.status.code(),
        Some(3),
        "{}",
        text(&confirmed.stdout)
    );
}

/// The progress bar (`N/M cases`) is drawn on a terminal and not with `NO_COLOR`; piped
/// output never has it.
#[test]
fn progress_bar_only_on_a_terminal_without_no_color() {
    let has_script = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("script").is_file()));
    if !has_script {
        eprintln!("skipped: no `script` (util-linux) on PATH to provide a terminal");
        return;
    }
    let command = format!(
        "{} run --only 'rfc7644-3.3/*'",
        env!("CARGO_BIN_EXE_scim-conformance")
    );
    let on_terminal = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        text(&cmd.output().expect("script runs").stdout)
    };
    let bar = on_terminal(false);
    assert!(
        bar.contains(" cases  "),
        "no progress bar on a terminal:\n{bar}"
    );
    assert!(bar.contains("PASS "), "{bar}");
    let plain = on_terminal(true);
    assert!(
        !plain.contains(" cases  "),
        "a bar despite NO_COLOR:\n{plain}"
    );
    assert!(plain.contains("PASS "), "{plain}");
    let piped = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(["run", "--only", "rfc7644-3.3/*"])
        .env_remove("NO_COLOR")
        .output()
        .expect("runs");
    assert!(text(&piped.stdout).contains("PASS "));
    assert!(!text(&piped.stderr).contains(" cases  "), "a bar on a pipe");
}
