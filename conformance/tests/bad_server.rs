//! A target that answers every request with 200 and a body that is not JSON: every case
//! must finish (no panic, no hang) with a non-pass outcome and a message.

use scim_conformance::case::Outcome;
use scim_conformance::cases::catalog;
use scim_conformance::runner::{run, RunOptions};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback target that answers every request with the raw HTTP `reply` and closes.
async fn canned_server(reply: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let reply = std::sync::Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let reply = std::sync::Arc::clone(&reply);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                // One request per connection is enough for a canned answer.
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// A target that answers 200 with an HTML body to everything.
async fn garbage_server() -> std::net::SocketAddr {
    let body = "<html>not scim</html>";
    canned_server(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_replies_never_pass_and_never_panic() {
    let addr = garbage_server().await;
    let options = RunOptions {
        base_url: format!("http://{addr}/scim/v2"),
        token: Some(Token::new("garbage-token")),
        second_token: None,
        timeout: Duration::from_secs(5),
        selection: Selection::default(),
        target_label: "garbage".into(),
        prefix: None,
        interrupt: None,
    };
    let result = run(&catalog(), &options, &mut [])
        .await
        .expect("the target is reachable");
    assert_eq!(result.cases.len(), catalog().len());
    for case in &result.cases {
        assert!(
            !matches!(case.outcome, Outcome::Pass),
            "{} passed against a server that answers HTML to everything",
            case.id
        );
        assert!(!case.message.is_empty(), "{} has no message", case.id);
    }
    assert!(result.must_broken());
    // Every POST got a 2xx without a readable id, so the run cannot know what it created:
    // cleanup looks each up by its prefixed name, fails, and reports it.
    assert!(!result.cleanup.leftovers.is_empty());
    for left in &result.cleanup.leftovers {
        assert!(left.resource.name.starts_with("scimconf-"), "{left:?}");
        assert!(!left.reason.is_empty(), "{left:?}");
    }
}

/// A target that answers 429 with `Retry-After: 1` to everything.
async fn throttling_server() -> std::net::SocketAddr {
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429","detail":"slow down"}"#;
    canned_server(format!(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
}

/// A target that keeps answering 429 gets no verdict: its cases are `error` with
/// "rate-limited, not judged" after the retry budget, never `fail`, and the summary
/// counts them. See: fresh-user trial, 429 answers were reported as MUST failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_keeps_throttling_is_not_judged() {
    use scim_conformance::runner::{run_with, Policy};
    let addr = throttling_server().await;
    let options = RunOptions {
        base_url: format!("http://{addr}/scim/v2"),
        token: Some(Token::new("throttled-token")),
        second_token: None,
        timeout: Duration::from_secs(5),
        selection: Selection {
            only: vec!["rfc7644-4/*".parse().expect("selector")],
            ..Selection::default()
        },
        target_label: "throttling".into(),
        prefix: None,
        interrupt: None,
    };
    let policy = Policy {
        jobs: 8,
        retry_wait: Duration::from_millis(2500),
        ..Policy::default()
    };
    let mut human = scim_conformance::report::HumanReporter::new(Vec::new());
    let reporters: &mut [&mut dyn scim_conformance::report::Reporter] = &mut [&mut human];
    let result = run_with(&catalog(), &options, &policy, reporters)
        .await
        .expect("the target is reachable");
    assert!(result.cases.len() >= 4);
    for case in &result.cases {
        assert_eq!(
            case.outcome,
            Outcome::Error,
            "{}: {}",
            case.id,
            case.message
        );
        assert!(case.rate_limited, "{}", case.id);
        assert!(
            case.message
                .starts_with("rate-limited, not judged: the target answered 429 to all 3 attempts"),
            "{}: {}",
            case.id,
            case.message
        );
        // Retry-After: 1 was honoured twice, then a third wait would pass 2.5 s.
        assert_eq!(case.exchanges.len(), 3, "{}", case.id);
    }
    assert_eq!(result.summary.rate_limited, result.cases.len());
    assert_eq!(result.summary.failed, 0);
    let text = String::from_utf8(human.into_inner()).expect("UTF-8");
    let n = result.cases.len();
    assert!(
        text.contains(&format!("0 passed, 0 failed, 0 warned, 0 skipped, {n} errored\n{n} of the errored cases were rate-limited, not judged")),
        "{text}"
    );
}

/// Cases that share one setup (the differential seed is made once per run and its error
/// handed to every case) are rate-limited too when that setup was throttled, and the JSON
/// summary always names `rate_limited`, 0 included. See: fresh-user trial, setup steps
/// "rate-limited, not judged" lacked `rate_limited: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_shared_setup_marks_every_case_rate_limited() {
    use scim_conformance::runner::{run_with, Policy, Summary};
    let addr = throttling_server().await;
    let options = RunOptions {
        base_url: format!("http://{addr}/scim/v2"),
        token: Some(Token::new("throttled-token")),
        second_token: None,
        timeout: Duration::from_secs(5),
        selection: Selection {
            only: vec!["rfc7644-3.4.2.2/diff-*".parse().expect("selector")],
            ..Selection::default()
        },
        target_label: "throttling".into(),
        prefix: None,
        interrupt: None,
    };
    let policy = Policy {
        jobs: 4,
        retry_wait: Duration::ZERO,
        ..Policy::default()
    };
    let reporters: &mut [&mut dyn scim_conformance::report::Reporter] = &mut [];
    let result = run_with(&catalog(), &options, &policy, reporters)
        .await
        .expect("the target is reachable");
    let errored: Vec<_> = result
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Error)
        .collect();
    assert!(errored.len() > 2, "{}", result.cases.len());
    for case in &errored {
        assert!(case.rate_limited, "{}: {}", case.id, case.message);
    }
    assert_eq!(result.summary.rate_limited, errored.len());
    let zero = serde_json::to_value(Summary::default()).expect("json");
    assert_eq!(zero["rate_limited"], 0);
}
