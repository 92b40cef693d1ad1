//! `scim-conformance serve` and `scim-conformance requests`: tenants from the command
//! line, one log line per request on stderr, a clean stop on Ctrl-C (SIGINT), and the
//! request log read back from the database file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scim-conformance"));
    c.env_remove("SCIM_CONFORMANCE_TOKEN")
        .env_remove("RUST_LOG");
    c
}

/// Starts `serve` on an ephemeral port and returns the child, its base URL and the
/// reader of its stderr.
fn start(db: &std::path::Path) -> (Child, String, BufReader<std::process::ChildStderr>) {
    let mut child = bin()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--tenant",
            "acme=tok-acme",
        ])
        .args([
            "--tenant",
            "globex=env:GLOBEX_TEST_TOKEN",
            "--rate-limit",
            "1000",
            "--db",
        ])
        .arg(db)
        .env("GLOBEX_TEST_TOKEN", "tok-globex")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(rest) = line.split("serving ").nth(1) {
            let url = rest.split_whitespace().next().unwrap().to_string();
            assert!(line.contains("acme,globex"), "{line}");
            assert!(
                !line.contains("tok-acme"),
                "the start-up line shows no token"
            );
            return (child, url, err);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve did not print its address; last line: {line}");
}

fn interrupt(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_logs_requests_stops_on_sigint_and_requests_prints_them() {
    let dir = std::env::temp_dir().join(format!("scim-serve-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("serve.sqlite");
    let (mut child, url, mut stderr) = start(&db);
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{url}/Users"))
        .bearer_auth("tok-globex")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cli"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let denied = client
        .get(format!("{url}/Users"))
        .bearer_auth("tok-acme-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 401);
    let status = interrupt(&mut child);
    assert!(status.success(), "serve exits 0 on Ctrl-C: {status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let request_lines: Vec<&str> = rest
        .lines()
        .filter(|l| l.contains("routes: request"))
        .collect();
    assert_eq!(
        request_lines.len(),
        2,
        "one tracing line per request:\n{rest}"
    );
    assert!(request_lines[0].contains("status=201") && request_lines[0].contains("globex"));
    assert!(!rest.contains("tok-"), "no token on stderr");

    let out = bin()
        .args(["requests", "--format", "jsonl", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["tenant"], "globex");
    assert_eq!(lines[0]["status"], 201);
    assert!(lines[0]["body"]
        .as_str()
        .unwrap()
        .contains("\"userName\":\"cli\""));
    assert_eq!(lines[1]["tenant"], serde_json::Value::Null);

    let table = bin()
        .args(["requests", "--status", "4xx", "--since", "1h", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout).into_owned();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains(" 401 ") && text.contains("/scim/v2/Users"),
        "{text}"
    );
    let bad = bin()
        .args(["requests", "--since", "yesterday", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_faults_prints_every_fault_and_exits() {
    let out = bin().args(["serve", "--list-faults"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        text.lines().count(),
        scim_reference_server::Fault::all().len()
    );
    assert!(text.contains("filter-case-sensitive"));
}

#[test]
fn a_tenant_without_a_token_is_a_usage_error_that_shows_no_token() {
    let out = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--tenant", "acme"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=TOKEN"));
}

/// A configuration the server cannot run with fails with exit 2 and a message naming the
/// problem, before anything says it is serving. See: fresh-user trial, `serve` printed
/// "serving" first, and accepted one tenant name twice.
#[test]
fn a_bad_configuration_fails_before_serving() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--tenant", "a=tok-x", "--tenant", "a=tok-y"],
            "tenant `a` is given twice",
        ),
        (
            &["--tenant", "a=tok-x", "--tenant", "b=tok-x"],
            "reuses another tenant's token",
        ),
        (
            &["--db", "/nonexistent-scimconf-dir/x.sqlite"],
            "/nonexistent-scimconf-dir/x.sqlite",
        ),
        (
            &["--rate-limit", "0"],
            "--rate-limit must be at least 0.1 requests per second, got 0",
        ),
        (
            &["--rate-limit", "0.0001"],
            "--rate-limit must be at least 0.1",
        ),
        (
            &["--tenant", "a=env:"],
            "--tenant `a=env:`: the variable name after `env:` is empty",
        ),
        (
            &["--tenant", "a=env:RECFIX_UNSET_VARIABLE"],
            "--tenant `a=env:RECFIX_UNSET_VARIABLE`: the variable RECFIX_UNSET_VARIABLE is not set",
        ),
        // The development token is never served beyond loopback.
        (&["--addr", "0.0.0.0:0"], "not a loopback address"),
        (
            &["--max-patch-ops", "0"],
            "PATCH operation cap must be at least 1",
        ),
    ];
    for (args, expected) in cases {
        let addr: &[&str] = if args.contains(&"--addr") {
            &[]
        } else {
            &["--addr", "127.0.0.1:0"]
        };
        let out = bin()
            .arg("serve")
            .args(addr)
            .args(args)
            .env_remove("SCIM_CONFORMANCE_TOKEN")
            .env_remove("RECFIX_UNSET_VARIABLE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("--token-env"),
            "{args:?} names the wrong flag: {err}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("serving"), "{args:?}: {err}");
        assert!(!err.contains("tok-"), "{args:?} printed a token: {err}");
    }
}
