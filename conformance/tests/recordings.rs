//! `replay`, `grade` and `variants` on recordings: real traffic recorded through the
//! `record` proxy in front of the embedded reference server, replayed against a fresh one
//! (ids mapped, names prefixed, pre-existing resources untouched, everything cleaned up),
//! and the committed fixture `tests/fixtures/entra-okta.jsonl` (Entra-default and Okta
//! requests, rebuilt by `tests/fixtures/make-recording.sh`) graded and turned into variant
//! files the corpus loader reads. Loopback only, bounded.

use scim_conformance::client::{Client, Request};
use scim_conformance::recording::{self, Exchange};
use scim_conformance::replay::{self, Options, Pace, Report};
use scim_conformance::simulate::outage::EmbeddedServer;
use scim_conformance::variants::Variant;
use scim_conformance::Token;
use scim_reference_server::{Config, Fault};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

/// Serves `app` on a fresh 127.0.0.1 port until the returned sender is used or dropped.
async fn serve_app(
    app: axum::Router,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, stop, task)
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/entra-okta.jsonl")
}

fn client(base: &str) -> Client {
    Client::new(
        base,
        Some(Token::new(scim_reference_server::DEFAULT_TOKEN)),
        Duration::from_secs(10),
    )
    .expect("client")
}

fn options(keep: bool, scale: usize) -> Options {
    Options {
        pace: Pace::Max,
        rate: None,
        concurrency: 2,
        scale,
        keep,
        prefix: replay::fresh_prefix(),
        interrupt: Arc::default(),
        max_gap: Duration::from_secs(60),
    }
}

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(args)
        .env_remove("SCIM_CONFORMANCE_TOKEN")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recordings-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
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

async fn send(c: &Client, variant: &str, values: &[(&str, &str)]) -> (u16, Value) {
    let request = Variant::load(variant)
        .expect("variant")
        .request(values)
        .expect("filled");
    let reply = c.send_unrecorded(&request).await.expect("answer");
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

async fn users(c: &Client) -> Vec<Value> {
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    request.query = vec![("count".into(), "1000".into())];
    let reply = c.send_unrecorded(&request).await.expect("list");
    let body: Value = serde_json::from_str(&reply.body).expect("json");
    body["Resources"].as_array().cloned().unwrap_or_default()
}

/// Entra traffic through the recorder: a bystander user created directly (before the
/// recording), then lookups, creates, a deactivation, a group with members and a change to
/// the bystander, all through the proxy. Returns the recorded exchanges, the bystander id
/// and the servers (the recorded one stays up).
async fn record_entra(server: &EmbeddedServer) -> (Vec<Exchange>, String) {
    let direct = client(&server.base_url());
    let (status, bystander) = send(
        &direct,
        "entra/create-user",
        &[
            ("user_name", "bystander@corp.example"),
            ("external_id", "by-1"),
        ],
    )
    .await;
    assert_eq!(status, 201);
    let bystander = bystander["id"].as_str().expect("id").to_owned();
    let sink = Shared::default();
    let recorder =
        scim_conformance::record::Recorder::new(&server.base_url(), Box::new(sink.clone()))
            .expect("recorder");
    let (addr, stop, task) = serve_app(recorder.app()).await;
    let c = client(&format!("http://{addr}/scim/v2"));
    let mut ids = Vec::new();
    for (name, ext) in [
        ("ada@corp.example", "e-ada"),
        ("alan@corp.example", "e-alan"),
    ] {
        let v = [("user_name", name), ("external_id", ext)];
        assert_eq!(send(&c, "entra/lookup-username", &v).await.0, 200);
        let (status, user) = send(&c, "entra/create-user", &v).await;
        assert_eq!(status, 201);
        ids.push(user["id"].as_str().expect("id").to_owned());
    }
    let (status, _) = send(&c, "entra/default-deactivate", &[("id", &ids[0])]).await;
    assert_eq!(status, 200);
    let (status, group) = send(
        &c,
        "entra/create-group",
        &[("name", "Engines"), ("external_id", "g-1")],
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().expect("gid").to_owned();
    for member in &ids {
        let (status, _) = send(
            &c,
            "okta/group-add-member",
            &[("id", &gid), ("member", member), ("name", "x")],
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) = send(
        &c,
        "entra/default-group-remove-member",
        &[("id", &gid), ("member", &ids[1])],
    )
    .await;
    assert_eq!(status, 200);
    // The bystander, read and deactivated through the proxy.
    assert_eq!(
        send(&c, "entra/get-user", &[("id", &bystander)]).await.0,
        200
    );
    let (status, _) = send(&c, "entra/default-deactivate", &[("id", &bystander)]).await;
    assert_eq!(status, 200);
    let _ = stop.send(());
    let _ = task.await;
    let recorded = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8");
    assert!(!recorded.contains("corp.example"), "pseudonymised");
    (
        recording::parse(&recorded).expect("a valid recording"),
        bystander,
    )
}

fn results(report: &Report) -> Vec<(usize, &'static str)> {
    report
        .outcomes
        .iter()
        .map(|o| (o.exchange, o.result))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_on_a_fresh_server_with_ids_mapped_and_the_bystander_skipped() {
    let recorded_server = EmbeddedServer::start(Config::default()).await.expect("a");
    let (exchanges, bystander) = record_entra(&recorded_server).await;
    assert_eq!(exchanges.len(), 11);
    let fresh = EmbeddedServer::start(Config::default()).await.expect("b");
    let c = client(&fresh.base_url());
    let report = replay::replay(c.clone(), exchanges.clone(), options(true, 1)).await;
    assert!(report.matched(), "{:#?}", report.outcomes);
    // The two lines on the bystander are skipped, with the reason; everything else matched.
    let skipped: Vec<usize> = report
        .outcomes
        .iter()
        .filter(|o| o.result == "skipped")
        .map(|o| o.exchange)
        .collect();
    assert_eq!(skipped, [10, 11], "{:#?}", results(&report));
    let reason = report.outcomes[9].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(&bystander) && reason.contains("did not create"),
        "{reason}"
    );
    // Three creates mapped to ids the fresh server minted.
    assert_eq!(report.mapped_ids.len(), 3);
    let ada_recorded = exchanges[1].response["id"].as_str().expect("id");
    let ada_new = report.mapped_ids.get(ada_recorded).expect("ada mapped");
    assert_ne!(ada_new, ada_recorded);
    // The PATCH reached the new id: Ada is inactive on the fresh server, under the prefix.
    let mut read = Request::new(reqwest::Method::GET, format!("/Users/{ada_new}"));
    read.query.clear();
    let ada = c.send_unrecorded(&read).await.expect("read");
    assert_eq!(ada.status, 200);
    let ada: Value = serde_json::from_str(&ada.body).expect("json");
    assert_eq!(ada["active"], false);
    assert!(ada["userName"]
        .as_str()
        .is_some_and(|n| n.starts_with(&report.prefix)));
    // The group holds Ada only (Alan was removed by Entra's value array), by new ids.
    let group_recorded = exchanges[5].response["id"].as_str().expect("gid");
    let gid = report.mapped_ids.get(group_recorded).expect("group mapped");
    let group = c
        .send_unrecorded(&Request::new(
            reqwest::Method::GET,
            format!("/Groups/{gid}"),
        ))
        .await
        .expect("group");
    let group: Value = serde_json::from_str(&group.body).expect("json");
    assert_eq!(group["members"], json!([group["members"][0].clone()]));
    assert_eq!(group["members"][0]["value"], json!(ada_new));
    fresh.stop().await;
    recorded_server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_on_the_recorded_server_leaves_what_existed_before_untouched() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let (exchanges, bystander) = record_entra(&server).await;
    let c = client(&server.base_url());
    // Put the bystander back to active, so any change by the replay would show.
    let reactivate = Variant::load("okta/patch-reactivate")
        .expect("variant")
        .request(&[("id", &bystander)])
        .expect("filled");
    assert_eq!(
        c.send_unrecorded(&reactivate).await.expect("ok").status,
        200
    );
    let before: Vec<Value> = users(&c).await;
    let report = replay::replay(c.clone(), exchanges, options(false, 1)).await;
    assert!(report.matched(), "{:#?}", report.outcomes);
    assert_eq!((report.created, report.deleted), (3, 3));
    assert!(report.cleanup_failures.is_empty());
    let after: Vec<Value> = users(&c).await;
    assert_eq!(
        after, before,
        "the replay cleaned up and changed nothing else"
    );
    let by = after
        .iter()
        .find(|u| u["id"] == json!(bystander))
        .expect("bystander");
    assert_eq!(by["active"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_replays_the_creating_part_n_times_without_collisions_and_cleans_up() {
    let exchanges = recording::load(&fixture()).expect("fixture");
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let c = client(&server.base_url());
    let report = replay::replay(c.clone(), exchanges.clone(), options(false, 4)).await;
    assert!(report.matched(), "{:#?}", results(&report));
    // 4 creates per copy (three users, one group), every copy distinct.
    assert_eq!(report.created, 16);
    assert_eq!(report.deleted, 16);
    let copy3 = report.outcomes.iter().filter(|o| o.copy == 3).count();
    assert!(
        copy3 > 0 && copy3 < exchanges.len(),
        "copies skip shared reads: {copy3}"
    );
    assert!(users(&c).await.is_empty(), "cleanup left users behind");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_rejects_entra_shapes_gives_mismatches() {
    let exchanges = recording::load(&fixture()).expect("fixture");
    let server = EmbeddedServer::start(Config {
        faults: vec![Fault::PatchOpCaseSensitive],
        ..Config::default()
    })
    .await
    .expect("server");
    let c = client(&server.base_url());
    let report = replay::replay(c.clone(), exchanges, options(false, 1)).await;
    assert!(!report.matched());
    let mismatched: Vec<(usize, Option<u16>)> = report
        .outcomes
        .iter()
        .filter(|o| o.result == "mismatch")
        .map(|o| (o.exchange, o.replayed))
        .collect();
    // The capitalised ops (lines 5, 6, 8, 9) answer 400; the rest still match.
    assert_eq!(
        mismatched,
        [
            (5, Some(400)),
            (6, Some(400)),
            (8, Some(400)),
            (9, Some(400))
        ]
    );
    assert!(users(&c).await.is_empty());
    server.stop().await;
}

#[test]
fn replay_cli_exit_codes_and_json_report() {
    let dir = temp_dir("replay-cli");
    let json_path = dir.join("replay.json");
    let fixture = fixture();
    let out = bin(&[
        "replay",
        fixture.to_str().expect("path"),
        "--json",
        json_path.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("14 matched, 0 mismatched, 2 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("MATCHED"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("JSON");
    assert_eq!(report["matched"], true);
    assert_eq!(
        report["report"]["outcomes"].as_array().map(Vec::len),
        Some(16)
    );
    // Nothing listens on port 1: exit 3, the token never printed.
    let unreachable = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(["replay", fixture.to_str().expect("path")])
        .args([
            "--target",
            "http://127.0.0.1:1/scim/v2",
            "--token-env",
            "REPLAY_T",
        ])
        .env("REPLAY_T", "t0ken-s3cret")
        .output()
        .expect("runs");
    assert_eq!(
        unreachable.status.code(),
        Some(3),
        "{}",
        text(&unreachable.stdout)
    );
    let all = format!("{}{}", text(&unreachable.stdout), text(&unreachable.stderr));
    assert!(!all.contains("t0ken-s3cret"));
    // A target given without its token variable is a usage error.
    let no_token = bin(&[
        "replay",
        fixture.to_str().expect("path"),
        "--target",
        "http://127.0.0.1:1/scim/v2",
    ]);
    assert_eq!(no_token.status.code(), Some(2));
    let bad_scale = bin(&["replay", fixture.to_str().expect("path"), "--scale", "0"]);
    assert_eq!(bad_scale.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_recordings_name_the_line_in_every_command() {
    let dir = temp_dir("bad");
    let good = std::fs::read_to_string(fixture()).expect("fixture");
    let first = good.lines().next().expect("a line");
    let cases = [
        (
            format!("{first}\n{first}\nnot json\n"),
            "bad.jsonl:3: not JSON",
        ),
        (
            format!("{first}\n{{\"request\":{{\"method\":\"GET\",\"path\":\"/Users\"}}}}\n"),
            "bad.jsonl:2: missing `response.status`",
        ),
        (
            format!(
                "{first}\n{{\"request\":{{\"method\":\"GET\",\"path\":\"/Users\"}},\"response\":{{\"status\":\"200\"}}}}\n"
            ),
            "bad.jsonl:2: `response.status` must be an integer 100-599, got \"200\"",
        ),
        (
            format!("{first}\n{}\n", first.replacen("\"at_ms\":", "\"at_ms\":-", 1)),
            "bad.jsonl:2: `at_ms` must be a non-negative integer",
        ),
        (String::new(), "bad.jsonl: empty recording"),
        (format!("\u{feff}{first}\nnot json\n"), "bad.jsonl:2: not JSON"),
    ];
    for (content, expected) in cases {
        let path = dir.join("bad.jsonl");
        std::fs::write(&path, content).expect("write");
        for command in ["grade", "replay", "variants"] {
            let mut args = vec![command, path.to_str().expect("path")];
            let out_dir = dir.join("out");
            if command == "variants" {
                args.extend(["--out", out_dir.to_str().expect("path")]);
            }
            let out = bin(&args);
            assert_eq!(out.status.code(), Some(2), "{command}");
            let stderr = text(&out.stderr);
            assert!(stderr.contains(expected), "{command}: {stderr}");
            assert!(!stderr.contains("panicked"), "{command}: {stderr}");
        }
    }
    let missing = bin(&["grade", dir.join("nope.jsonl").to_str().expect("path")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read the recording"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grade_lists_entra_and_okta_deviations_with_their_sections() {
    let dir = temp_dir("grade");
    let json_path = dir.join("grade.json");
    let fixture = fixture();
    let out = bin(&[
        "grade",
        fixture.to_str().expect("path"),
        "--json",
        json_path.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("16 requests, 5 with deviations, 8 deviations"),
        "{stdout}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("JSON");
    assert_eq!(report["conformant"], false);
    let found: Vec<(u64, String, String, String)> = report["deviations"]
        .as_array()
        .expect("deviations")
        .iter()
        .map(|d| {
            (
                d["exchange"].as_u64().unwrap_or(0),
                d["dialect"].as_str().unwrap_or_default().to_owned(),
                d["section"].as_str().unwrap_or_default().to_owned(),
                d["what"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let has = |line: u64, dialect: &str, section: &str, what: &str| {
        found
            .iter()
            .any(|f| f.0 == line && f.1 == dialect && f.2 == section && f.3.contains(what))
    };
    // Entra's default deactivation: `"op":"Replace"` and `"value":"False"`.
    assert!(
        has(5, "entra", "7644 §3.5.2", "op \"Replace\""),
        "{found:#?}"
    );
    assert!(
        has(5, "entra", "7643 §2.3.2", "string \"False\""),
        "{found:#?}"
    );
    assert!(has(
        6,
        "entra",
        "7643 §2.3.8",
        "`manager` given as a bare string"
    ));
    assert!(has(9, "entra", "7644 §3.5.2.2", "with a value array"));
    assert!(has(11, "okta", "7644 §3.8", "application/json"));
    assert_eq!(report["by_dialect"], json!({"entra": 7, "okta": 1}));
    // The RFC-shaped requests (lookups, Okta's lowercase PATCH, reads) are clean.
    for clean in [1, 2, 3, 10, 12, 13, 16] {
        assert!(
            found.iter().all(|f| f.0 != clean),
            "line {clean}: {found:#?}"
        );
    }
    // A strictly conformant recording exits 0.
    let all = std::fs::read_to_string(&fixture).expect("fixture");
    let lines: Vec<&str> = all.lines().collect();
    let clean = dir.join("clean.jsonl");
    std::fs::write(
        &clean,
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[11]),
    )
    .expect("w");
    let out = bin(&["grade", clean.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("CONFORMANT"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn variants_writes_loadable_files_once_per_shape_and_never_overwrites() {
    let dir = temp_dir("variants");
    let fixture = fixture();
    let args = [
        "variants",
        fixture.to_str().expect("path"),
        "--out",
        dir.to_str().expect("path"),
        "--dialect",
        "entra",
    ];
    let out = bin(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("16 exchanges: 14 variant files (14 written"),
        "{}",
        text(&out.stdout)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("entra"))
        .expect("entra dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 14);
    let mut deactivate = None;
    for path in &files {
        let body = std::fs::read_to_string(path).expect("read");
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("stem");
        let name = format!("entra/{stem}");
        // The catalog's loader reads it, and every placeholder has a value the runner fills.
        let variant = Variant::parse(&name, &body).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let values = [
            ("id", "u-1"),
            ("gid", "g-1"),
            ("member", "m-1"),
            ("member2", "m-2"),
            ("user_name", "un"),
            ("external_id", "ex"),
            ("new_user_name", "new@example.com"),
            ("new_external_id", "new-ext"),
            ("new_group_name", "new-group"),
            ("password", "pw"),
            ("nobody", "nobody@example.com"),
        ];
        let request = variant.request(&values).expect("every placeholder filled");
        let doc: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(doc["confidence"], "O");
        assert_eq!(doc["case"]["profiles"], json!(["entra"]));
        assert!(doc["case"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("rfc7644-3.")));
        assert!(!body.contains("corp.example") && !body.contains("Lovelace"));
        if body.contains("\"False\"") {
            deactivate = Some((request, doc));
        }
    }
    // Entra's deactivation became a case on a setup user, its quirk kept verbatim.
    let (request, doc) = deactivate.expect("the Replace/False PATCH is a variant");
    assert_eq!(request.path, "/Users/u-1");
    assert_eq!(doc["setup"], json!(["user"]));
    assert_eq!(doc["expect"]["status"], json!([200, 204]));
    // It reads the user back: `active` must then be false (the parser's reading of "False").
    assert_eq!(doc["expect"]["read"], "user");
    assert_eq!(doc["expect"]["after"], json!({"/active": false}));
    assert_eq!(doc["request"]["body"]["Operations"][0]["op"], "Replace");
    // The lookup's filter value became the placeholder, in form encoding.
    let lookup = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .find(|t| t.contains("\"GET\"") && t.contains("filter="))
        .expect("a lookup");
    assert!(
        lookup.contains("/Users?filter=userName+eq+%22{{new_user_name}}%22"),
        "{lookup}"
    );
    // A second run finds the same text: nothing written, exit 0.
    let again = bin(&args);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("0 written, 14 unchanged"));
    // A changed file is kept (exit 1) until --force.
    std::fs::write(&files[0], "{}\n").expect("write");
    let kept = bin(&args);
    assert_eq!(kept.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&files[0]).expect("read"), "{}\n");
    let mut forced = args.to_vec();
    forced.push("--force");
    assert_eq!(bin(&forced).status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(&files[0]).expect("read"), "{}\n");
    // A dialect that is not a profile gives templates without a case.
    let plain = bin(&[
        "variants",
        fixture.to_str().expect("path"),
        "--out",
        dir.to_str().expect("path"),
        "--dialect",
        "acme-idp",
    ]);
    assert_eq!(plain.status.code(), Some(0));
    let one = std::fs::read_dir(dir.join("acme-idp"))
        .expect("dir")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(one).expect("read")).expect("JSON");
    assert!(doc.get("case").is_none() && doc.get("expect").is_none());
    let bad = bin(&[
        "variants",
        fixture.to_str().expect("path"),
        "--dialect",
        "../x",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_pacing_keeps_the_recorded_gaps_and_an_interrupt_still_cleans_up() {
    let all = std::fs::read_to_string(fixture()).expect("fixture");
    // Lines 1 and 2 (a lookup and a create), moved 300 ms apart.
    let lines: Vec<&str> = all.lines().take(2).collect();
    let mut first: Value = serde_json::from_str(lines[0]).expect("json");
    let mut second: Value = serde_json::from_str(lines[1]).expect("json");
    first["at_ms"] = json!(1000);
    second["at_ms"] = json!(1300);
    let exchanges = recording::parse(&format!("{first}\n{second}\n")).expect("parses");
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let c = client(&server.base_url());
    let mut paced = options(false, 1);
    paced.pace = Pace::Recorded;
    let started = std::time::Instant::now();
    let report = replay::replay(c.clone(), exchanges.clone(), paced).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(report.matched() && report.created == 1 && report.deleted == 1);
    // Interrupted before the start: nothing is sent, nothing is left.
    let stopped = options(false, 3);
    stopped
        .interrupt
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let report = replay::replay(c.clone(), exchanges.clone(), stopped).await;
    assert!(report.interrupted && report.outcomes.is_empty() && report.created == 0);
    // Interrupted during a long recorded pause after the create: the copy stops there and
    // the cleanup deletes the user it created.
    let mut lines = exchanges;
    lines.swap(0, 1);
    lines[0].at_ms = 0;
    lines[1].at_ms = 60_000;
    let mut midway = options(false, 1);
    midway.pace = Pace::Recorded;
    let flag = Arc::clone(&midway.interrupt);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let report = replay::replay(c.clone(), lines, midway).await;
    assert!(report.interrupted);
    assert_eq!(
        (report.outcomes.len(), report.created, report.deleted),
        (1, 1, 1)
    );
    assert!(users(&c).await.is_empty());
    // A gap of 31 years is cut to --max-gap: the replay ends instead of sleeping.
    let mut far = recording::parse(&format!("{first}\n{second}\n")).expect("parses");
    far[0].at_ms = 0;
    far[1].at_ms = recording::MAX_AT_MS;
    let mut capped = options(false, 1);
    capped.pace = Pace::Recorded;
    capped.max_gap = Duration::from_millis(200);
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        replay::replay(c.clone(), far, capped),
    )
    .await
    .expect("the capped gap ends");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        report.matched() && report.deleted == 1,
        "{:#?}",
        report.outcomes
    );
    server.stop().await;
}

/// Starts a recorder in front of `upstream` on 127.0.0.1:0; returns its address, the sink
/// and the stop handle.
async fn recorder_on(
    upstream: &str,
) -> (
    std::net::SocketAddr,
    Shared,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    recorder_with(upstream, scim_conformance::record::Limits::default()).await
}

async fn recorder_with(
    upstream: &str,
    limits: scim_conformance::record::Limits,
) -> (
    std::net::SocketAddr,
    Shared,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let sink = Shared::default();
    let recorder =
        scim_conformance::record::Recorder::with_limits(upstream, Box::new(sink.clone()), limits)
            .expect("recorder");
    let (addr, stop, task) = serve_app(recorder.app()).await;
    (addr, sink, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_keeps_no_credential_in_headers_queries_or_bodies() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let (addr, sink, stop, task) = recorder_on(&server.base_url()).await;
    let http = reqwest::Client::new();
    let base = format!("http://{addr}/scim/v2");
    let reply = http
        .post(format!("{base}/Users?access_token=tok-q1&apikey=tok-q2"))
        .header(
            "authorization",
            format!("Bearer {}", scim_reference_server::DEFAULT_TOKEN),
        )
        .header("x-api-key", "tok-h1")
        .header("X-Auth-Token", "tok-h2")
        .header("cookie2", "tok-h3")
        .header("content-type", "application/scim+json")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "pw@corp.example", "password": "tok-b1"})
            .to_string(),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(reply.status(), 201);
    let id = reply.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reply = http
        .patch(format!("{base}/Users/{id}"))
        .header(
            "authorization",
            format!("Bearer {}", scim_reference_server::DEFAULT_TOKEN),
        )
        .header("content-type", "application/scim+json")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "password", "value": "tok-b2"},
                    {"op": "replace", "path": "name.givenName", "value": "Perdita"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("answer");
    assert!(reply.status().is_success(), "{}", reply.status());
    let _ = stop.send(());
    let _ = task.await;
    let recorded = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8");
    for secret in [
        "tok-",
        scim_reference_server::DEFAULT_TOKEN,
        "Perdita",
        "corp.example",
    ] {
        assert!(!recorded.contains(secret), "{secret} in {recorded}");
    }
    let exchanges = recording::parse(&recorded).expect("valid");
    assert!(
        exchanges[0].path.contains("access_token=REDACTED"),
        "{}",
        exchanges[0].path
    );
    assert_eq!(exchanges[0].body["password"], "REDACTED");
    server.stop().await;
}

/// A fake target that answers every other request 429 (`Retry-After: 0`) and each first
/// DELETE of a user 503: the replay must wait both out, match every status and leave
/// nothing behind. Returns its base URL, the ids it still holds and its stop handle.
async fn throttling_target() -> (
    String,
    Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    tokio::sync::oneshot::Sender<()>,
) {
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let held = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen_delete = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let state = (Arc::clone(&held), seen_delete, counter);
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri| {
        let (held, seen_delete, counter) = state.clone();
        async move {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n % 2 == 1 {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "0")],
                    "slow down",
                )
                    .into_response();
            }
            let path = uri.path().to_owned();
            let id = path.rsplit('/').next().unwrap_or_default().to_owned();
            let scim = [("content-type", "application/scim+json")];
            match method.as_str() {
                "POST" => {
                    let id = format!("t{n}");
                    held.lock().expect("lock").insert(id.clone());
                    (StatusCode::CREATED, scim, json!({"id": id}).to_string()).into_response()
                }
                "DELETE" => {
                    if seen_delete.lock().expect("lock").insert(id.clone()) {
                        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
                    }
                    held.lock().expect("lock").remove(&id);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => (StatusCode::OK, scim, json!({"id": id}).to_string()).into_response(),
            }
        }
    });
    let (addr, stop, _task) = serve_app(app).await;
    (format!("http://{addr}/scim/v2"), held, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_waits_out_429_and_the_cleanup_retries_until_nothing_is_left() {
    let (base, held, stop) = throttling_target().await;
    let line = |method: &str, path: &str, body: Value, status: u16, reply: Value| {
        json!({"at_ms": 0, "request": {"method": method, "path": path, "headers": {},
            "body": body}, "response": {"status": status, "headers": {}, "body": reply}})
        .to_string()
    };
    let text = [
        line(
            "POST",
            "/v2/Users",
            json!({"userName": "a"}),
            201,
            json!({"id": "r1"}),
        ),
        line(
            "POST",
            "/v2/Users",
            json!({"userName": "b"}),
            201,
            json!({"id": "r2"}),
        ),
        line("GET", "/v2/Users/r1", Value::Null, 200, Value::Null),
        line("GET", "/v2/Users?count=2", Value::Null, 200, Value::Null),
    ]
    .join("\n");
    let exchanges = recording::parse(&text).expect("recording");
    let c = Client::new(&base, Some(Token::new("t")), Duration::from_secs(10))
        .expect("client")
        .with_retry_wait(Duration::from_secs(5));
    let report = replay::replay(c, exchanges, options(false, 1)).await;
    assert!(report.matched(), "{:#?}", report.outcomes);
    assert_eq!(
        (report.created, report.deleted),
        (2, 2),
        "{:?}",
        report.cleanup_failures
    );
    assert!(report.cleanup_failures.is_empty());
    assert!(held.lock().expect("lock").is_empty(), "left behind");
    // With retries off, the throttled requests are errors, never matches or mismatches,
    // and what the cleanup cannot delete is listed by id.
    let exchanges = recording::parse(&text).expect("recording");
    let c = Client::new(&base, Some(Token::new("t")), Duration::from_secs(10))
        .expect("client")
        .with_retry_wait(Duration::ZERO);
    let report = replay::replay(c, exchanges, options(false, 1)).await;
    assert!(!report.matched());
    assert!(report
        .outcomes
        .iter()
        .filter(|o| o.result == "error")
        .all(|o| o
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("rate-limited"))));
    let left: Vec<String> = held.lock().expect("lock").iter().cloned().collect();
    assert_eq!(report.cleanup_failures.len(), left.len());
    for id in &left {
        assert!(report
            .cleanup_failures
            .iter()
            .any(|f| f.contains(id.as_str())));
    }
    let mut human = Vec::new();
    report.write_human(&mut human).expect("write");
    assert!(
        !left.is_empty(),
        "the 503 then 429 on the DELETE leaves the user"
    );
    let human = String::from_utf8_lossy(&human);
    assert!(human.contains("LEFT ON THE TARGET"), "{human}");
    let _ = stop.send(());
}

#[test]
fn replay_retry_wait_is_validated_before_anything_is_sent() {
    let fixture = fixture();
    let file = fixture.to_str().expect("utf8 path");
    for bad in ["-1", "NaN", "100000"] {
        let out = bin(&["replay", file, &format!("--retry-wait={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains("--retry-wait"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn record_never_truncates_an_existing_file_and_refuses_to_forward_to_itself() {
    let dir = temp_dir("record-out");
    let out = dir.join("rec.jsonl");
    std::fs::write(&out, "kept\n").expect("write");
    let path = out.to_str().expect("utf8");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "record",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
            "--out",
            path,
            "--max-seconds",
            "1",
        ];
        args.extend_from_slice(extra);
        bin(&args)
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("--force") && text(&refused.stderr).contains("--append"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "kept\n");
    assert_eq!(run(&["--append"]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "kept\n");
    assert_eq!(run(&["--force"]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "");
    assert_eq!(run(&["--force", "--append"]).status.code(), Some(2));
    // The upstream is the recorder itself: refused before listening, file untouched.
    std::fs::write(&out, "kept\n").expect("write");
    for upstream in [
        "http://127.0.0.1:18431",
        "http://localhost:18431/scim/v2",
        "http://0.0.0.0:18431",
    ] {
        let looped = bin(&[
            "record",
            "--listen",
            "127.0.0.1:18431",
            "--upstream",
            upstream,
            "--out",
            path,
            "--force",
            "--max-seconds",
            "1",
        ]);
        assert_eq!(looped.status.code(), Some(2), "{upstream}");
        assert!(
            text(&looped.stderr).contains("itself"),
            "{}",
            text(&looped.stderr)
        );
    }
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "kept\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_refuses_big_bodies_in_scim_keeps_the_base_path_and_times_out_with_504() {
    let server = EmbeddedServer::start(Config::default())
        .await
        .expect("server");
    let limits = scim_conformance::record::Limits {
        max_body: 4096,
        timeout: Duration::from_secs(1),
    };
    // The upstream has a base path: a client may use the proxy's root or the same path.
    let (addr, sink, stop, task) = recorder_with(&server.base_url(), limits).await;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", scim_reference_server::DEFAULT_TOKEN);
    for base in [format!("http://{addr}"), format!("http://{addr}/scim/v2")] {
        let reply = http
            .get(format!("{base}/ServiceProviderConfig"))
            .header("authorization", &auth)
            .send()
            .await
            .expect("answer");
        assert_eq!(reply.status(), 200, "{base}");
    }
    let big = json!({"userName": "big", "title": "x".repeat(5000)}).to_string();
    let reply = http
        .post(format!("http://{addr}/Users"))
        .header("authorization", &auth)
        .header("content-type", "application/scim+json")
        .body(big)
        .send()
        .await
        .expect("answer");
    assert_eq!(reply.status(), 413);
    let body: Value = reply.json().await.expect("a SCIM error body");
    assert_eq!(body["status"], "413");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("4096")),
        "{body}"
    );
    let _ = stop.send(());
    let _ = task.await;
    let recorded = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8");
    let exchanges = recording::parse(&recorded).expect("valid");
    assert_eq!(exchanges.len(), 3, "{recorded}");
    assert!(exchanges[2].refused && exchanges[2].status == 413);
    assert!(!recorded.contains("xxxx"), "the refused body is not kept");
    assert_eq!(
        users(&client(&server.base_url())).await.len(),
        0,
        "nothing created"
    );
    // A hung upstream: 504 with a SCIM body after the timeout, not 502 "unreachable".
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hung_addr = hung.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok(Ok((socket, _))) =
            tokio::time::timeout(Duration::from_secs(5), hung.accept()).await
        {
            held.push(socket);
        }
    });
    let (addr, sink, stop, task) = recorder_with(&format!("http://{hung_addr}"), limits).await;
    let reply = http
        .get(format!("http://{addr}/Users"))
        .send()
        .await
        .expect("answer");
    assert_eq!(reply.status(), 504);
    let body: Value = reply.json().await.expect("a SCIM error body");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not answer")),
        "{body}"
    );
    let _ = stop.send(());
    let _ = task.await;
    holder.abort();
    let recorded = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8");
    let exchanges = recording::parse(&recorded).expect("valid");
    assert_eq!(exchanges[0].status, 504);
    assert!(!exchanges[0].answered);
    server.stop().await;
}

/// A fake target whose creates answer 201 with no body and no `Location`; its list
/// endpoint finds a user by `userName` only when the name contains `findable`.
async fn idless_target() -> (
    String,
    Arc<std::sync::Mutex<Vec<(String, String)>>>,
    tokio::sync::oneshot::Sender<()>,
) {
    use axum::body::Bytes;
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let held: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let state = Arc::clone(&held);
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let held = Arc::clone(&state);
        async move {
            let scim = [("content-type", "application/scim+json")];
            match method.as_str() {
                "POST" => {
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let name = body["userName"].as_str().unwrap_or_default().to_owned();
                    let mut held = held.lock().expect("lock");
                    let id = format!("id{}", held.len());
                    held.push((id, name));
                    StatusCode::CREATED.into_response()
                }
                "DELETE" => {
                    let id = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
                    held.lock().expect("lock").retain(|(i, _)| *i != id);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => {
                    let query = uri.query().unwrap_or_default().to_owned();
                    let found: Vec<Value> = held
                        .lock()
                        .expect("lock")
                        .iter()
                        .filter(|(_, n)| n.contains("findable") && query.contains(n.as_str()))
                        .map(|(id, n)| json!({"id": id, "userName": n}))
                        .collect();
                    let body = json!({"totalResults": found.len(), "Resources": found});
                    (StatusCode::OK, scim, body.to_string()).into_response()
                }
            }
        }
    });
    let (addr, stop, _task) = serve_app(app).await;
    (format!("http://{addr}/v2"), held, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_without_an_id_is_looked_up_by_name_or_reported_untracked() {
    let (base, held, stop) = idless_target().await;
    let line = |name: &str, id: &str| {
        json!({"at_ms": 0, "request": {"method": "POST", "path": "/v2/Users", "headers": {},
            "body": {"userName": name}},
            "response": {"status": 201, "headers": {}, "body": {"id": id}}})
        .to_string()
    };
    let text = [line("findable", "r1"), line("hidden", "r2")].join("\n");
    let exchanges = recording::parse(&text).expect("recording");
    let c = Client::new(&base, Some(Token::new("t")), Duration::from_secs(10)).expect("client");
    let report = replay::replay(c, exchanges, options(false, 1)).await;
    // The findable one was mapped and deleted; the hidden one is reported, loudly.
    assert!(
        report.mapped_ids.contains_key("r1"),
        "{:?}",
        report.mapped_ids
    );
    assert_eq!((report.created, report.deleted), (1, 1));
    assert_eq!(report.untracked.len(), 1, "{:?}", report.untracked);
    assert!(
        report.untracked[0].contains("hidden"),
        "{:?}",
        report.untracked
    );
    assert!(!report.matched(), "an untracked create fails the replay");
    let mut human = Vec::new();
    report.write_human(&mut human).expect("write");
    let human = String::from_utf8_lossy(&human);
    assert!(human.contains("created but not tracked: Users"), "{human}");
    let left: Vec<String> = held
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(left.len(), 1);
    assert!(left[0].ends_with("hidden"));
    let _ = stop.send(());
}

/// A fake target counting the requests it gets: `--json` to an unwritable path and a bad
/// `--target` must stop the replay before anything is sent, and never print a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_checks_json_path_and_target_url_before_sending_anything() {
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { axum::http::StatusCode::OK }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let fixture = fixture();
    let file = fixture.to_str().expect("path").to_owned();
    let run = move |args: Vec<String>| {
        Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
            .arg("replay")
            .arg(&file)
            .args(args)
            .env("REPLAY_T", "t0ken")
            .output()
            .expect("runs")
    };
    let target = format!("http://user:pa55word@{addr}/scim/v2");
    let no_dir = "/nonexistent-dir-recfix/replay.json".to_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--target".into(),
                target.clone(),
                "--token-env".into(),
                "REPLAY_T".into(),
                "--json".into(),
                no_dir.clone(),
            ],
            "--json",
        ),
        (vec!["--json".into(), no_dir.clone()], "--json"),
        (
            vec![
                "--target".into(),
                addr.to_string(),
                "--token-env".into(),
                "REPLAY_T".into(),
            ],
            "invalid URL",
        ),
        (
            vec![
                "--target".into(),
                format!("http://{addr}/scim/v2?x=1"),
                "--token-env".into(),
                "REPLAY_T".into(),
            ],
            "query",
        ),
        (
            vec![
                "--target".into(),
                format!("ftp://user:pa55word@{addr}/"),
                "--token-env".into(),
                "REPLAY_T".into(),
            ],
            "invalid URL",
        ),
    ];
    for (args, says) in cases {
        let out = tokio::task::spawn_blocking({
            let run = run.clone();
            let args = args.clone();
            move || run(args)
        })
        .await
        .expect("joined");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains(says), "{args:?}: {all}");
        assert!(!all.contains("pa55word"), "{args:?}: {all}");
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent"
    );
    // A password in a good target URL is not printed either.
    let out = tokio::task::spawn_blocking(move || {
        run(vec![
            "--target".into(),
            target,
            "--token-env".into(),
            "REPLAY_T".into(),
        ])
    })
    .await
    .expect("joined");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains(&addr.to_string()), "{all}");
    assert!(!all.contains("pa55word"), "{all}");
    server.abort();
    let graded = bin(&[
        "grade",
        fixture.to_str().expect("path"),
        "--json",
        "/nonexistent-dir-recfix/grade.json",
    ]);
    assert_eq!(graded.status.code(), Some(2));
    assert!(text(&graded.stdout).is_empty(), "no work before the check");
}
