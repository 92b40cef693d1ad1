//! `simulate` against the embedded reference server: small populations pass in every
//! dialect, server faults are caught by the read-back, outages are survived by a replay,
//! and the engine honours 429 `Retry-After` and retries 5xx. Loopback only, bounded.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use scim_conformance::client::{Client, Request};
use scim_conformance::simulate::dialect::Dialect;
use scim_conformance::simulate::engine::{Engine, OpKind, Pacing};
use scim_conformance::simulate::outage::{EmbeddedServer, Outage, Proxy, ProxyFault, TempDb};
use scim_conformance::simulate::population::Shape;
use scim_conformance::simulate::report::Report;
use scim_conformance::simulate::{self, limit, Options};
use scim_conformance::Token;
use scim_reference_server::{Config, Fault};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn options(dialect: Dialect, users: usize, cycles: usize) -> Options {
    Options {
        shape: Shape {
            users,
            groups: 6,
            large_group: users / 2,
            seed: 42,
        },
        dialect,
        cycles,
        concurrency: 8,
        rates: Options::default_rates(dialect),
        reconcile: true,
        keep: false,
        prefix: simulate::fresh_prefix(),
        progress: false,
        shard: None,
        shard_wait: Duration::from_secs(30),
    }
}

fn engine(base: &str, pacing: Pacing, timeout: Duration) -> Arc<Engine> {
    let client = Client::new(
        base,
        Some(Token::new(scim_reference_server::DEFAULT_TOKEN)),
        timeout,
    )
    .expect("client");
    Arc::new(Engine::new(client, pacing))
}

fn fast_pacing(retries_5xx: u32) -> Pacing {
    Pacing {
        retries_5xx,
        backoff: Duration::from_millis(20),
        ..Pacing::default()
    }
}

async fn run_embedded(faults: Vec<Fault>, opts: &Options) -> Report {
    let server = EmbeddedServer::start(Config {
        faults,
        ..Config::default()
    })
    .await
    .expect("server");
    let e = engine(&server.base_url(), fast_pacing(3), Duration::from_secs(10));
    let report = simulate::simulate(e, opts, "embedded".into(), None, Arc::default())
        .await
        .expect("simulate runs");
    server.stop().await;
    report
}

fn differences(report: &Report, kind: &str) -> usize {
    report
        .reconciliations
        .iter()
        .filter(|c| c.counts)
        .flat_map(|c| &c.result.differences)
        .filter(|d| d.kind == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_provisions_a_small_population_correctly() {
    for dialect in Dialect::ALL {
        let report = run_embedded(Vec::new(), &options(dialect, 150, 2)).await;
        assert!(report.passed, "{dialect:?}: {:#?}", report.reconciliations);
        assert_eq!(report.reconciliations.len(), 3, "initial + 2 cycles");
        assert_eq!(report.failure_count, 0, "{:?}", report.failures);
        assert_eq!(report.cleanup, Some((report.cleanup.map_or(0, |c| c.0), 0)));
        let kinds: Vec<OpKind> = report.operations.iter().map(|o| o.kind).collect();
        assert!(kinds.contains(&OpKind::CreateUser) && kinds.contains(&OpKind::Deactivate));
        let deletes = kinds.contains(&OpKind::DeleteUser);
        assert_eq!(deletes, dialect.facts().hard_deletes.value, "{dialect:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_back_catches_a_server_that_empties_groups_on_entra_removes() {
    // See: bug-28 (Entra's remove with a value array read as "remove all members").
    let report = run_embedded(
        vec![Fault::EntraRemoveIgnored],
        &options(Dialect::Entra, 150, 1),
    )
    .await;
    assert!(!report.passed);
    assert!(
        differences(&report, "wrong-membership") > 0,
        "{:#?}",
        report.reconciliations
    );
    // The same server passes with the compliant dialect, which removes by value filter.
    let report = run_embedded(
        vec![Fault::EntraRemoveIgnored],
        &options(Dialect::EntraCompliant, 150, 1),
    )
    .await;
    assert!(report.passed, "{:#?}", report.reconciliations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_cycle_is_repaired_by_replaying_the_cycle() {
    let opts = options(Dialect::Entra, 200, 0);
    let db = TempDb::new(&opts.prefix);
    let server = EmbeddedServer::start(Config {
        db: Some(db.0.clone()),
        ..Config::default()
    })
    .await
    .expect("server");
    // No 5xx retries: requests during the downtime fail for good until the replay.
    let e = engine(&server.base_url(), fast_pacing(0), Duration::from_secs(5));
    let outage = Outage::Restart {
        server: Arc::clone(&server),
        downtime: Duration::from_millis(300),
    };
    let report = simulate::simulate(e, &opts, "embedded".into(), Some(outage), Arc::default())
        .await
        .expect("simulate runs");
    server.stop().await;
    assert!(
        report.failure_count > 0,
        "the outage failed some operations"
    );
    let during = report
        .reconciliations
        .iter()
        .find(|c| !c.counts)
        .expect("outage check");
    assert!(
        !during.result.differences.is_empty(),
        "users were missing during the outage"
    );
    assert!(report.passed, "{:#?}", report.reconciliations.last());
}

async fn lost_reply_run(faults: Vec<Fault>) -> Report {
    let opts = options(Dialect::Entra, 150, 0);
    let server = EmbeddedServer::start(Config {
        faults,
        ..Config::default()
    })
    .await
    .expect("server");
    let proxy = Proxy::start(
        &server.base_url(),
        0.2,
        ProxyFault::LostReply,
        Duration::from_millis(700),
    )
    .await
    .expect("proxy");
    // The client's usual timeout: a lost reply breaks the connection at once, so no
    // request waits it out.
    let e = engine(
        &proxy.base_url().expect("proxy url"),
        fast_pacing(2),
        Duration::from_secs(30),
    );
    let report = simulate::simulate(
        e,
        &opts,
        "proxied".into(),
        Some(Outage::Proxy(Arc::clone(&proxy))),
        Arc::default(),
    )
    .await
    .expect("simulate runs");
    assert!(proxy.failed() > 0, "the proxy withheld replies");
    // See: issue 6 (every lost reply waited out the 30 s timeout).
    let errors: Vec<&String> = report
        .operations
        .iter()
        .flat_map(|o| o.errors.keys())
        .collect();
    assert!(errors.iter().any(|e| *e == "transport"), "{errors:?}");
    assert!(!errors.iter().any(|e| *e == "timeout"), "{errors:?}");
    let outage = report.outage.as_deref().unwrap_or_default();
    assert!(outage.contains("fails 20% of requests"), "{outage}");
    server.stop().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_replies_are_matched_not_duplicated_by_a_correct_server() {
    let report = lost_reply_run(Vec::new()).await;
    assert!(report.passed, "{:#?}", report.reconciliations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_replies_duplicate_users_on_a_server_without_uniqueness() {
    // See: bug-56 (a duplicate userName on create makes a second user).
    let report = lost_reply_run(vec![Fault::DuplicateCreateAllowed]).await;
    assert!(!report.passed);
    assert!(
        differences(&report, "duplicated") > 0,
        "{:#?}",
        report.reconciliations
    );
}

/// A loopback responder that answers 429 (with `Retry-After: 0`) or 503 to the first
/// requests, then 200 with an empty ListResponse.
async fn flaky(first: usize, status: StatusCode, retry_after: bool) -> (String, Arc<AtomicBool>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let app = axum::Router::new().fallback(move || {
        let seen = Arc::clone(&seen);
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) < first {
                let mut r = (status, "slow down").into_response();
                if retry_after {
                    r.headers_mut().insert("retry-after", "0".parse().expect("header"));
                }
                return r;
            }
            (
                StatusCode::OK,
                [("content-type", "application/scim+json")],
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#,
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = Arc::clone(&stop);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // Bounded: the test ends within seconds; this poll ends with it.
                for _ in 0..3000 {
                    if s.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await;
    });
    (format!("http://{addr}/scim/v2"), stop)
}

#[tokio::test]
async fn the_engine_waits_out_429s_and_retries_5xx() {
    let (base, stop) = flaky(2, StatusCode::TOO_MANY_REQUESTS, true).await;
    let e = engine(&base, fast_pacing(3), Duration::from_secs(5));
    let reply = e
        .call(
            OpKind::LookupUser,
            &Request::new(reqwest::Method::GET, "/Users"),
        )
        .await
        .expect("answered");
    assert_eq!(reply.status, 200);
    assert_eq!(e.stats.throttled.load(Ordering::Relaxed), 2);
    assert_eq!(e.stats.retry_after_seen.load(Ordering::Relaxed), 2);
    let row = &e.stats.summary()[0];
    assert_eq!((row.count, row.retries), (3, 2));
    assert_eq!(row.errors.get("429"), Some(&2));
    stop.store(true, Ordering::Relaxed);

    let (base, stop) = flaky(5, StatusCode::SERVICE_UNAVAILABLE, false).await;
    let e = engine(&base, fast_pacing(2), Duration::from_secs(5));
    let reply = e
        .call(
            OpKind::LookupUser,
            &Request::new(reqwest::Method::GET, "/Users"),
        )
        .await
        .expect("answered");
    assert_eq!(reply.status, 503, "gives up after 1 + 2 attempts");
    assert_eq!(e.stats.sent.load(Ordering::Relaxed), 3);
    stop.store(true, Ordering::Relaxed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_limit_reports_where_429s_start() {
    let (base, stop) = flaky(usize::MAX, StatusCode::TOO_MANY_REQUESTS, true).await;
    let pacing = Pacing {
        retries_429: 0,
        retries_5xx: 0,
        ..Pacing::default()
    };
    let e = engine(&base, pacing, Duration::from_secs(5));
    let settings = limit::Settings {
        step: Duration::from_millis(300),
        max_error_rate: 0.01,
        max_p99_ms: 1000.0,
        max_rate: 400.0,
        start_rate: 100.0,
        concurrency: 4,
        users: 100_000,
    };
    let result = limit::find_limit(e, &settings, "scimsim-test-").await;
    assert_eq!(result.steps.len(), 1, "the first step already fails");
    assert_eq!(result.highest_sustainable, None);
    assert_eq!(result.throttled_from, Some(100.0));
    assert!(result.retry_after_sent);
    let q = result.quarantine_all.expect("estimate");
    assert!(
        q.quarantined,
        "100% failures over 100,000 events: {}",
        q.reason
    );
    stop.store(true, Ordering::Relaxed);

    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let e = engine(
        &server.base_url(),
        Pacing::default(),
        Duration::from_secs(5),
    );
    let settings = limit::Settings {
        max_rate: 150.0,
        start_rate: 100.0,
        ..settings
    };
    let result = limit::find_limit(e, &settings, "scimsim-test-").await;
    assert!(result.steps.len() <= 2);
    assert!(result.throttled_from.is_none());
    assert!(result.highest_sustainable.is_some(), "{:#?}", result.steps);
    server.stop().await;
}

/// A `Write` into a shared buffer, to read what the recorder wrote.
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_through_the_proxy_has_no_token_and_no_personal_data() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let sink = Shared::default();
    let recorder =
        scim_conformance::record::Recorder::new(&server.base_url(), Box::new(sink.clone()))
            .expect("recorder");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = recorder.app();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    let opts = options(Dialect::Okta, 30, 1);
    let e = engine(
        &format!("http://{addr}/scim/v2"),
        fast_pacing(1),
        Duration::from_secs(10),
    );
    let report = simulate::simulate(e, &opts, "recorded".into(), None, Arc::default())
        .await
        .expect("simulate runs");
    assert!(report.passed, "{:#?}", report.reconciliations);
    let _ = stop.send(());
    let _ = task.await;
    server.stop().await;
    let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let sent: u64 = report.operations.iter().map(|o| o.count).sum();
    assert_eq!(lines.len() as u64, sent, "one line per exchange");
    assert!(!text.contains(scim_reference_server::DEFAULT_TOKEN));
    assert!(!text.to_ascii_lowercase().contains("authorization"));
    // userNames and emails are `<prefix>u<n>@...`, group names `<prefix>g<n>-...`;
    // externalIds (the IdP's object ids) are not personal data and stay.
    for personal in [format!("{}u", opts.prefix), format!("{}g0-", opts.prefix)] {
        let leak = text.lines().find(|l| l.contains(&personal));
        assert!(leak.is_none(), "{personal} is replaced: {leak:?}");
    }
    assert!(text.contains("@example.invalid"));
    let create = lines
        .iter()
        .find(|l| l["request"]["method"] == "POST" && l["request"]["path"] == "/scim/v2/Users")
        .expect("a create");
    assert_eq!(create["response"]["status"], 201);
    assert_eq!(
        create["request"]["body"]["userName"], create["response"]["body"]["userName"],
        "the same original gets the same pseudonym"
    );
}
