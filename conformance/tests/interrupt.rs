//! Ctrl-C for real: the binary runs against the reference server behind a loopback proxy
//! that delays every connection, gets SIGINT (or SIGTERM) part-way, skips the remaining cases, removes
//! everything it created, writes its reports and exits 130.

use scim_reference_server::{spawn, Config};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Forwards every request to `upstream`, each chunk the client sends delayed by 150 ms
/// (so kept-alive connections are slow too); stops with the test's runtime.
async fn slow_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut from_client, mut to_client) = inbound.into_split();
                let (mut from_server, mut to_server) = outbound.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = from_client.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut from_server, &mut to_client);
                let _ = tokio::join!(up, down);
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_skips_the_rest_cleans_up_and_exits_130() {
    interrupted_by("INT").await;
}

/// SIGTERM is what `timeout`, CI cancellation and Kubernetes send: handled like Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_skips_the_rest_cleans_up_and_exits_130() {
    interrupted_by("TERM").await;
}

async fn interrupted_by(signal: &str) {
    let server = spawn(Config::default()).await.expect("server starts");
    let proxy = slow_proxy(server.addr).await;
    let dir = std::env::temp_dir().join(format!(
        "scimconf-interrupt-{signal}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let json = dir.join("r.json");
    let child = Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(["run", "--jobs", "2", "--target"])
        .arg(format!("http://{proxy}/scim/v2"))
        .args(["--token-env", "INTERRUPT_TOKEN", "--json"])
        .arg(&json)
        .env("INTERRUPT_TOKEN", server.token())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("interrupted; starting no new work and cleaning up"),
        "{stderr}"
    );
    assert!(
        stdout.contains("skipped: the run was interrupted before this case"),
        "{stdout}"
    );
    assert!(stdout.contains("cleanup: removed"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written"))
            .expect("JSON");
    assert_eq!(report["cleanup"]["leftovers"], serde_json::json!([]));
    // The server started empty, so after the cleanup it holds no users and no groups.
    for endpoint in ["Users", "Groups"] {
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/{endpoint}", server.base_url()))
            .bearer_auth(server.token())
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("JSON");
        assert_eq!(body["totalResults"], 0, "{endpoint}: {body}");
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
