//! The binary's command-line contract: `parse` output and exit codes, and the exit codes of
//! `run` for configuration errors and unreachable targets.

use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .env_remove("SCIM_CONFORMANCE_TOKEN")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn parse_filter_prints_one_json_object() {
    let out = run(&[
        "parse",
        "filter",
        r#"userName eq "bjensen" and not (title pr)"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON on stdout");
    assert_eq!(json["op"], "and");
    assert_eq!(
        json["left"],
        serde_json::json!({"op": "eq", "path": "userName", "value": "bjensen"})
    );
    assert_eq!(json["right"]["op"], "not");
}

#[test]
fn parse_path_prints_the_patch_path() {
    let out = run(&["parse", "path", r#"members[value eq "2819c223"].display"#]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(json["path"], "members");
    assert_eq!(json["subAttr"], "display");
    assert_eq!(json["filter"]["value"], "2819c223");
}

#[test]
fn parse_error_draws_a_caret_under_the_byte_at_fault() {
    let input = r#"userName eq"x""#;
    let out = run(&["parse", "filter", input]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).is_empty(),
        "nothing on stdout: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let input_line = lines
        .iter()
        .position(|l| l.ends_with(input))
        .expect("the input is echoed");
    let caret_line = lines[input_line + 1];
    let caret_col = caret_line.find('^').expect("a caret");
    let input_col = lines[input_line].find(input).expect("input column");
    // Byte 11 is the `"` right after `eq`.
    assert_eq!(caret_col - input_col, 11, "caret under byte 11:\n{err}");
    assert!(err.contains("invalidFilter"), "{err}");
}

#[test]
fn strict_and_interop_choose_the_options() {
    let entra = r#"emails[type eq "work"].value eq "a@b.c""#;
    let strict = run(&["parse", "filter", "--strict", entra]);
    assert_eq!(strict.status.code(), Some(1));
    // The hint names the CLI flag, not the library's API.
    // See: fresh-user trial, the hint said `ParseOptions::interop()`.
    let err = stderr(&strict);
    assert!(err.contains("hint: --interop accepts this"), "{err}");
    assert!(!err.contains("ParseOptions"), "{err}");
    let interop = run(&["parse", "filter", "--interop", entra]);
    assert_eq!(
        interop.status.code(),
        Some(0),
        "stderr: {}",
        stderr(&interop)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&interop)).expect("JSON");
    assert_eq!(json["op"], "valuePath");
    assert_eq!(json["path"], "emails");
    // `--strict` also rejects a double space that the default profile accepts.
    assert_eq!(run(&["parse", "filter", "a  pr"]).status.code(), Some(0));
    assert_eq!(
        run(&["parse", "filter", "--strict", "a  pr"]).status.code(),
        Some(1)
    );
}

#[test]
fn missing_token_variable_is_a_usage_error() {
    let out = run(&[
        "run",
        "--target",
        "http://127.0.0.1:9/v2",
        "--token-env",
        "SCIMCONF_TEST_NO_SUCH_VAR",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SCIMCONF_TEST_NO_SUCH_VAR"),
        "names the variable: {}",
        stderr(&out)
    );
}

/// See: fresh-user trial, `run --target not-a-url` said "not loopback".
#[test]
fn an_invalid_target_url_is_named_as_such() {
    for (target, why) in [
        ("not-a-url", "relative URL without a base"),
        ("ftp://127.0.0.1/v2", "the scheme must be http or https"),
    ] {
        let out = bin()
            .args(["run", "--target", target])
            .env("SCIM_CONFORMANCE_TOKEN", "t")
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("target `{target}`: invalid URL: {why}")),
            "{err}"
        );
        assert!(!err.contains("loopback"), "{err}");
    }
}

/// See: fresh-user trial, `requests --status 6xx` was accepted.
#[test]
fn a_status_filter_outside_http_is_a_usage_error() {
    let out = run(&[
        "requests",
        "--db",
        "/nonexistent-scimconf.sqlite",
        "--status",
        "6xx",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`6xx`") && err.contains("100-599"), "{err}");
}

#[test]
fn bad_flags_are_usage_errors() {
    assert_eq!(run(&["run", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        run(&["run", "--profile", "nonsense"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["run", "--timeout", "0"]).status.code(), Some(2));
    let wait = run(&["run", "--retry-wait=-1"]);
    assert_eq!(wait.status.code(), Some(2));
    assert!(stderr(&wait).contains("--retry-wait"), "{}", stderr(&wait));
    let fault_with_target = bin()
        .args(["run", "--target", "http://127.0.0.1:9/v2", "--fault", "x"])
        .env("SCIM_CONFORMANCE_TOKEN", "t")
        .output()
        .expect("runs");
    assert_eq!(fault_with_target.status.code(), Some(2));
}

#[test]
fn closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let out = bin()
        .args([
            "run",
            "--target",
            &format!("http://127.0.0.1:{port}/scim/v2"),
            "--timeout",
            "5",
        ])
        .env("SCIM_CONFORMANCE_TOKEN", "unused-token-value")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unused-token-value"));
}

#[test]
fn list_prints_the_catalog_by_profile() {
    let all = stdout(&run(&["list"]));
    let okta = stdout(&run(&["list", "--profile", "okta"]));
    assert!(all.contains("rfc7644-3.5.2.2/entra-remove-member-value-array"));
    assert!(!okta.contains("rfc7644-3.5.2.2/entra-remove-member-value-array"));
    assert!(okta.contains("rfc7644-3.5.2.3/okta-pathless-replace-active"));
}

#[test]
fn dry_run_sends_nothing_and_reports_deselected_cases() {
    let out = bin()
        .args([
            "run",
            "--dry-run",
            "--only",
            "rfc7644-3.4.2.2/*",
            "--skip",
            "*entra*",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("would run  rfc7644-3.4.2.2/filter-username-eq"),
        "{text}"
    );
    assert!(
        text.contains(
            "not run    rfc7644-3.4.2.2/entra-work-email-lookup (matched by --skip *entra*)"
        ),
        "{text}"
    );
    assert!(
        text.contains("not run    rfc7644-3.6/delete-user-then-404 (not matched by --only)"),
        "{text}"
    );
}

/// A typo in `--only` must not turn a CI gate green by running nothing.
#[test]
fn an_only_selector_matching_nothing_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(["run", "--only", "nomatch*"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--only nomatch* matches no case id"),
        "{stderr}"
    );
}

/// A `user:password@` in --target is never printed: not in the dry-run plan, not in the
/// confirmation refusal, not in the invalid-URL message. See: fresh-user trial.
#[test]
fn target_passwords_are_never_printed() {
    let cases: [&[&str]; 3] = [
        &[
            "run",
            "--target",
            "http://u:pa55word@127.0.0.1:9/scim/v2",
            "--dry-run",
        ],
        &[
            "run",
            "--target",
            "http://u:pa55word@192.0.2.1/scim/v2",
            "--token-env",
            "CLI_T",
        ],
        &[
            "run",
            "--target",
            "http://u:pa55word@127.0.0.1:9/scim/v2?x=1",
            "--token-env",
            "CLI_T",
        ],
    ];
    for args in cases {
        let out = bin().args(args).env("CLI_T", "t0k").output().expect("runs");
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains("pa55word"), "{args:?}: {all}");
        assert!(
            all.contains("127.0.0.1") || all.contains("192.0.2.1"),
            "{args:?}: {all}"
        );
    }
}
