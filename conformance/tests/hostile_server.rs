//! Servers that misbehave at the transport level: one that hangs, one that sends a huge
//! body, one that sends an endless body, one that answers invalid JSON, one that redirects
//! to another host. Each must give the affected cases an `error` outcome (never a pass,
//! a stuck run or a crash), and the run must finish within a bound.
//!
//! Each server is an in-test loopback listener that answers `/ServiceProviderConfig`
//! properly (so the run starts) and misbehaves on everything else. Its connection tasks
//! stop by themselves (a deadline, or the client going away).

use scim_conformance::case::Outcome;
use scim_conformance::cases::catalog;
use scim_conformance::runner::{run_with, Policy, RunOptions, RunResult};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    Hang,
    HugeBody,
    EndlessBody,
    InvalidJson,
    RedirectElsewhere,
}

const SPC: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],"patch":{"supported":true},"filter":{"supported":true,"maxResults":100},"etag":{"supported":false}}"#;

async fn serve(mode: Misbehaviour) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(connection(socket, mode));
        }
    });
    addr
}

async fn connection(mut socket: tokio::net::TcpStream, mode: Misbehaviour) {
    let mut buf = vec![0u8; 64 * 1024];
    let n = socket.read(&mut buf).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let post = head.starts_with("POST ");
    if head.contains("/ServiceProviderConfig") {
        let _ = socket.write_all(reply("200 OK", SPC).as_bytes()).await;
        return;
    }
    // Every loop below ends by itself: a deadline, or a write failing once the client
    // has given up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    match mode {
        Misbehaviour::Hang => tokio::time::sleep_until(deadline).await,
        Misbehaviour::HugeBody => {
            let header = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n{\"x\":\"";
            if socket.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 * 1024];
            while tokio::time::Instant::now() < deadline {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Misbehaviour::EndlessBody => {
            let header = "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            if socket.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("10000\r\n{}\r\n", "[".repeat(0x10000));
            while tokio::time::Instant::now() < deadline {
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        Misbehaviour::InvalidJson => {
            let status = if post { "201 Created" } else { "200 OK" };
            let _ = socket
                .write_all(reply(status, r#"{"schemas": ["urn:ietf:params:scim"#).as_bytes())
                .await;
        }
        Misbehaviour::RedirectElsewhere => {
            // Another loopback address: even if a client followed, nothing leaves the host.
            let text = "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.2:9/scim/v2/Users\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = socket.write_all(text.as_bytes()).await;
        }
    }
    let _ = socket.shutdown().await;
}

fn reply(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn run_against(
    mode: Misbehaviour,
    request_timeout: Duration,
    case_timeout: Duration,
) -> RunResult {
    let addr = serve(mode).await;
    let options = RunOptions {
        base_url: format!("http://{addr}/scim/v2"),
        token: Some(Token::new("hostile-test-token")),
        second_token: None,
        timeout: request_timeout,
        selection: Selection {
            only: vec!["rfc7644-3.3/*".parse().expect("selector")],
            ..Selection::default()
        },
        target_label: format!("{mode:?}"),
        prefix: None,
        interrupt: None,
    };
    let policy = Policy {
        jobs: 4,
        case_timeout,
        max_body: 1024 * 1024,
        ..Policy::default()
    };
    // The bound on the whole run: far above what the timeouts allow, far below a hang.
    tokio::time::timeout(
        Duration::from_secs(60),
        run_with(&catalog(), &options, &policy, &mut []),
    )
    .await
    .unwrap_or_else(|_| panic!("the run against {mode:?} did not finish within 60 s"))
    .expect("the target answers its ServiceProviderConfig")
}

/// Every case errored (none passed, none failed on a reply that was not the server's
/// real answer), and at least one names `what`.
fn all_errors(result: &RunResult, what: &str) {
    assert!(!result.cases.is_empty());
    for case in &result.cases {
        assert_eq!(
            case.outcome,
            Outcome::Error,
            "{}: {}",
            case.id,
            case.message
        );
    }
    assert!(
        result.cases.iter().any(|c| c.message.contains(what)),
        "no message mentions `{what}`: {:?}",
        result.cases.iter().map(|c| &c.message).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out_each_request() {
    let result = run_against(
        Misbehaviour::Hang,
        Duration::from_millis(500),
        Duration::from_secs(30),
    )
    .await;
    all_errors(&result, "timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_timeout_stops_a_case_that_waits_too_long() {
    let result = run_against(
        Misbehaviour::Hang,
        Duration::from_secs(30),
        Duration::from_millis(700),
    )
    .await;
    all_errors(&result, "did not finish within 0.7 s (--case-timeout)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_cut_at_the_cap() {
    let result = run_against(
        Misbehaviour::HugeBody,
        Duration::from_secs(10),
        Duration::from_secs(30),
    )
    .await;
    all_errors(&result, "exceeds 1048576 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_at_the_cap() {
    let result = run_against(
        Misbehaviour::EndlessBody,
        Duration::from_secs(10),
        Duration::from_secs(30),
    )
    .await;
    all_errors(&result, "exceeds 1048576 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_an_error_for_cases_that_read_the_body() {
    let result = run_against(
        Misbehaviour::InvalidJson,
        Duration::from_secs(5),
        Duration::from_secs(30),
    )
    .await;
    // A case that reads the body cannot judge it: error. (A case that checks only the
    // status may still pass: see NOTES-reports.md on entra-create-group-extra-schema.)
    let errors = result
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Error)
        .count();
    assert!(
        errors * 2 >= result.cases.len(),
        "only {errors} of {} errored",
        result.cases.len()
    );
    let create = result
        .cases
        .iter()
        .find(|c| c.id == "rfc7644-3.3/create-user-201")
        .expect("the create case ran");
    assert_eq!(create.outcome, Outcome::Error, "{}", create.message);
    assert!(create.message.contains("not JSON"), "{}", create.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_not_followed() {
    let result = run_against(
        Misbehaviour::RedirectElsewhere,
        Duration::from_secs(5),
        Duration::from_secs(30),
    )
    .await;
    all_errors(
        &result,
        "redirects to another origin (http://127.0.0.2:9); not followed",
    );
    for case in &result.cases {
        let text = serde_json::to_string(&case.exchanges).expect("serializes");
        assert!(
            !text.contains("hostile-test-token"),
            "{} recorded the token",
            case.id
        );
    }
}
