//! A minimal SCIM-shaped HTTP/1.1 responder on 127.0.0.1, for measuring how many requests
//! per second `scim-conformance simulate` can send (the client's ceiling, not a server's).
//!
//! It answers every GET with an empty ListResponse, every POST with 201 and a fresh `id`,
//! and everything else with 204; it keeps connections alive and stores nothing.
//!
//! ```text
//! cargo run --release -p scim-conformance --example loopback_responder -- 127.0.0.1:18999 120
//! ```
//! The second argument is how many seconds it runs before it exits by itself (default 120).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIST: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18999".to_owned());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(120);
    if !addr.starts_with("127.0.0.1:") {
        eprintln!("loopback_responder: listens on 127.0.0.1 only, got {addr}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("loopback_responder: http://{addr}/scim/v2 for {seconds}s");
        let ids = Arc::new(AtomicU64::new(0));
        let served = Arc::new(AtomicU64::new(0));
        let deadline = tokio::time::sleep(Duration::from_secs(seconds));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(stream, Arc::clone(&ids), Arc::clone(&served)));
                }
            }
        }
        eprintln!(
            "loopback_responder: served {} requests",
            served.load(Ordering::Relaxed)
        );
        Ok(())
    })
}

async fn serve(mut stream: tokio::net::TcpStream, ids: Arc<AtomicU64>, served: Arc<AtomicU64>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Read until a full request (head and Content-Length body) is buffered.
        let (head_end, body_len) = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break (end, len);
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let response = match &buf[..4.min(buf.len())] {
            b"GET " => reply("200 OK", LIST),
            b"POST" => {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                reply("201 Created", &format!("{{\"id\":\"r{id}\"}}"))
            }
            _ => "HTTP/1.1 204 No Content\r\n\r\n".to_owned(),
        };
        buf.drain(..head_end + 4 + body_len);
        served.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn reply(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
