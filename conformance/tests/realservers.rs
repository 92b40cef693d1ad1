//! The suite against third-party SCIM servers, each report pinned as an insta snapshot of
//! case id -> outcome (and the failure message). A server's deviations from RFC 7644 are
//! facts about that server, so they are pinned, not failed on; a change in them (ours or
//! theirs) shows up as snapshot drift.
//!
//! The servers are installed and started by `scripts/realservers/NAME/start.sh`;
//! `scripts/test-all.sh` (the README's test command) starts them and sets
//! `SCIM_TEST_<NAME>_URL` and `SCIM_TEST_TOKEN`. Without those variables the test says it
//! is skipped and why; on CI (`CI` set) a missing server is a failure instead.

use scim_conformance::cases::catalog;
use scim_conformance::runner::{run, RunOptions};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use std::time::Duration;

/// What the snapshot keeps of one case: stable across runs (no ids, times or ports).
fn digest(result: &scim_conformance::RunResult) -> String {
    let mut out = String::new();
    for case in &result.cases {
        out.push_str(&format!("{:<5} {}\n", case.outcome.label(), case.id));
        if let (Some(expected), Some(actual)) = (&case.expected, &case.actual) {
            out.push_str(&format!(
                "      expected: {}\n",
                first_line(expected, &result.prefix)
            ));
            out.push_str(&format!(
                "      actual:   {}\n",
                first_line(actual, &result.prefix)
            ));
        } else if !case.message.is_empty() && case.outcome.label() != "PASS" {
            out.push_str(&format!(
                "      {}\n",
                first_line(&case.message, &result.prefix)
            ));
        }
    }
    let s = result.summary;
    out.push_str(&format!(
        "{} passed, {} failed, {} warned, {} skipped, {} errored\n",
        s.passed, s.failed, s.warned, s.skipped, s.errored
    ));
    out.push_str(&format!(
        "leftovers after cleanup: {}\n",
        result.cleanup.leftovers.len()
    ));
    out
}

/// The first line of a message, with ids, origins, times and the run prefix blanked.
fn first_line(text: &str, prefix: &str) -> String {
    scim_conformance::snapshots::scrub(text.lines().next().unwrap_or(""), prefix)
}

async fn pin(name: &str, env_url: &str) {
    let (Ok(url), Ok(token)) = (std::env::var(env_url), std::env::var("SCIM_TEST_TOKEN")) else {
        let why = format!(
            "skipped: {env_url} and SCIM_TEST_TOKEN are not set; scripts/test-all.sh starts {name} \
             and sets them"
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "on CI the real servers must run: {why}"
        );
        eprintln!("{why}");
        return;
    };
    let options = RunOptions {
        base_url: url.clone(),
        token: Some(Token::new(token)),
        second_token: None,
        timeout: Duration::from_secs(10),
        selection: Selection::default(),
        target_label: name.to_owned(),
        prefix: None,
        interrupt: None,
    };
    let result = run(&catalog(), &options, &mut [])
        .await
        .unwrap_or_else(|e| {
            panic!("the suite could not run against {name} at {url}: {e}");
        });
    assert!(
        result.cleanup.leftovers.is_empty(),
        "cleanup left resources on {name}"
    );
    let text = digest(&result);
    let port = url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .unwrap_or("");
    let text = text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:<port>");
    insta::with_settings!({snapshot_path => "../../snapshots/realservers", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

#[tokio::test]
async fn scim2_server() {
    pin("scim2-server", "SCIM_TEST_SCIM2_SERVER_URL").await;
}

#[tokio::test]
async fn scim2_flask() {
    pin("scim2-flask", "SCIM_TEST_SCIM2_FLASK_URL").await;
}

#[tokio::test]
async fn scimmy() {
    pin("scimmy", "SCIM_TEST_SCIMMY_URL").await;
}

#[tokio::test]
async fn better_auth_scim() {
    pin("better-auth-scim", "SCIM_TEST_BETTER_AUTH_SCIM_URL").await;
}
