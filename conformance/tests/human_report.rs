//! The human report's layout, pinned as a snapshot: status lines, failure details with the
//! request and response, the cleanup line and the count line. Ports, durations, server ids
//! and dates are blanked out first.

use scim_conformance::cases::catalog;
use scim_conformance::report::{HumanReporter, Reporter};
use scim_conformance::runner::{run, RunOptions};
use scim_conformance::select::Selection;
use scim_conformance::Token;
use scim_reference_server::{spawn, Config, Fault};
use std::time::Duration;

/// Replaces every 8-4-4-4-12 hex group (the server's ids) with `<id>`.
fn blank_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let mut out = String::new();
    let mut i = 0;
    'scan: while i < bytes.len() {
        let mut j = i;
        for (n, len) in shape.iter().enumerate() {
            let group = &bytes[j..(j + len).min(bytes.len())];
            if group.len() != *len || !group.iter().all(u8::is_ascii_hexdigit) {
                out.push(bytes[i] as char);
                i += 1;
                continue 'scan;
            }
            j += len;
            if n < 4 {
                if bytes.get(j) != Some(&b'-') {
                    out.push(bytes[i] as char);
                    i += 1;
                    continue 'scan;
                }
                j += 1;
            }
        }
        out.push_str("<id>");
        i = j;
    }
    out
}

/// `PASS       3 ms  id` becomes `PASS     _ ms  id`.
fn blank_duration(line: &str) -> String {
    match line.split_once(" ms  ") {
        Some((head, id)) if head.len() == 12 => format!("{}    _ ms  {id}", &head[..5]),
        _ => line.to_owned(),
    }
}

fn redact(text: &str, port: u16) -> String {
    let text = text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:<port>");
    let text = blank_uuids(&text);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("< date:"))
        // The catalog grows; the count of cases left out is not what this pins.
        .map(|l| match l.split_once(" cases not selected") {
            Some((_, rest)) => format!("<n> cases not selected{rest}"),
            None => l.to_owned(),
        })
        .map(|l| blank_duration(&l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_report_layout() {
    let server = spawn(Config {
        faults: vec![Fault::ErrorStatusNumber],
        ..Config::default()
    })
    .await
    .expect("server starts");
    let options = RunOptions {
        base_url: server.base_url(),
        token: Some(Token::new(server.token())),
        second_token: None,
        timeout: Duration::from_secs(10),
        selection: Selection {
            only: vec!["rfc7644-3.12/*".parse().expect("selector")],
            ..Selection::default()
        },
        target_label: "the reference server".into(),
        prefix: Some("scimconf-snapshot-".into()),
        interrupt: None,
    };
    let mut human = HumanReporter::new(Vec::new());
    let reporters: &mut [&mut dyn Reporter] = &mut [&mut human];
    run(&catalog(), &options, reporters).await.expect("run");
    let port = server.addr.port();
    server.shutdown().await;
    let text = String::from_utf8(human.into_inner()).expect("UTF-8");
    insta::with_settings!({snapshot_path => "../../snapshots/conformance", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("human_report_error_status_number", redact(&text, port));
    });
}
