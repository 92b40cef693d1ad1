//! Outages for `--outage`: the embedded reference server stopped mid-cycle and restarted on
//! its SQLite file, or, for an external target, a loopback proxy that fails a share of the
//! requests it relays. Both listen on 127.0.0.1 only and stop with the run.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use scim_reference_server::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The embedded reference server on a fixed loopback port, so it can be stopped and started
/// again on the same address and SQLite file.
pub struct EmbeddedServer {
    addr: SocketAddr,
    config: Config,
    running: Mutex<
        Option<(
            tokio::sync::oneshot::Sender<()>,
            tokio::task::JoinHandle<()>,
        )>,
    >,
}

impl EmbeddedServer {
    /// Starts the server on a free 127.0.0.1 port.
    pub async fn start(config: Config) -> Result<Arc<EmbeddedServer>, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let server = Arc::new(EmbeddedServer {
            addr,
            config,
            running: Mutex::new(None),
        });
        server.serve_on(listener)?;
        Ok(server)
    }

    fn serve_on(&self, listener: tokio::net::TcpListener) -> Result<(), String> {
        // Open the store now, so that a bad database path is an error here.
        let _opened = scim_reference_server::router(self.config.clone())
            .map_err(|e| format!("could not open the reference server's store: {e}"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = self.config.clone();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = scim_reference_server::serve(listener, config, shutdown).await {
                tracing::warn!(%e, "the embedded reference server stopped with an error");
            }
        });
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, task));
        Ok(())
    }

    /// The SCIM base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, scim_reference_server::BASE_PATH)
    }

    /// Stops accepting and waits for in-flight requests.
    pub async fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, task)) = running {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Starts again on the same address (and the same SQLite file, when there is one).
    pub async fn restart(&self) -> Result<(), String> {
        // Bounded: the port was ours a moment ago; a few tries cover a slow release.
        let mut last = String::new();
        for _ in 0..20 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => return self.serve_on(listener),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("cannot listen on {} again: {last}", self.addr))
    }
}

/// How the proxy fails a request it picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyFault {
    /// Answers 503 with a SCIM error body and `Retry-After: 1`; nothing reaches the target.
    Unavailable,
    /// Holds the request past the client's timeout; nothing reaches the target.
    Blackhole,
    /// Forwards the request, then drops the connection instead of relaying the reply: the
    /// target acted, the client does not know (a lost 201). The client sees a broken
    /// connection at once rather than waiting out its timeout.
    LostReply,
}

impl std::str::FromStr for ProxyFault {
    type Err = String;

    fn from_str(s: &str) -> Result<ProxyFault, String> {
        match s {
            "503" => Ok(ProxyFault::Unavailable),
            "blackhole" => Ok(ProxyFault::Blackhole),
            "lost-reply" => Ok(ProxyFault::LostReply),
            other => Err(format!(
                "unknown outage kind `{other}`: expected 503, blackhole or lost-reply"
            )),
        }
    }
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    active: AtomicBool,
    share_per_mille: u64,
    fault: ProxyFault,
    hold: Duration,
    seen: AtomicU64,
    failed: AtomicU64,
}

/// A loopback reverse proxy to one upstream base URL that fails a share of requests while
/// active.
pub struct Proxy {
    state: Arc<ProxyState>,
    addr: SocketAddr,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Proxy {
    /// Starts on a free 127.0.0.1 port. `upstream` is the target's base URL; `share` in
    /// 0..=1 is the part of requests failed while active; `hold` is how long a blackholed
    /// request is held (longer than the client's timeout).
    pub async fn start(
        upstream: &str,
        share: f64,
        fault: ProxyFault,
        hold: Duration,
    ) -> Result<Arc<Proxy>, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("could not build the proxy's client: {e}"))?;
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http,
            active: AtomicBool::new(false),
            share_per_mille: (share.clamp(0.0, 1.0) * 1000.0).round() as u64,
            fault,
            hold,
            seen: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("the proxy cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let s = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |method, uri, headers, body| {
            relay(Arc::clone(&s), method, uri, headers, body)
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Arc::new(Proxy {
            state,
            addr,
            stop: Mutex::new(Some(stop)),
        }))
    }

    /// The base URL clients use instead of the upstream's: the same path on the proxy.
    pub fn base_url(&self) -> Result<String, String> {
        let url = reqwest::Url::parse(&self.state.upstream)
            .map_err(|e| format!("bad upstream URL: {e}"))?;
        Ok(format!(
            "http://{}{}",
            self.addr,
            url.path().trim_end_matches('/')
        ))
    }

    /// Starts or stops failing requests.
    pub fn set_active(&self, on: bool) {
        self.state.active.store(on, Ordering::Relaxed);
    }

    /// Requests failed so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::Relaxed)
    }

    /// Stops the proxy.
    pub fn stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn relay(
    state: Arc<ProxyState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = state.seen.fetch_add(1, Ordering::Relaxed);
    // Deterministic spread: a multiplicative hash of the request number picks the share.
    let pick = state.active.load(Ordering::Relaxed)
        && (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) % 1000 < state.share_per_mille;
    if pick && state.fault != ProxyFault::LostReply {
        state.failed.fetch_add(1, Ordering::Relaxed);
        if state.fault == ProxyFault::Blackhole {
            tokio::time::sleep(state.hold).await;
        }
        return unavailable();
    }
    let upstream = match reqwest::Url::parse(&state.upstream) {
        Ok(u) => u,
        Err(_) => return unavailable(),
    };
    let target = format!(
        "{}://{}{}",
        upstream.scheme(),
        upstream.host_str().unwrap_or("127.0.0.1").to_owned()
            + &upstream.port().map(|p| format!(":{p}")).unwrap_or_default(),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut request = state.http.request(method, target);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" && name != "connection" {
            request = request.header(name, value);
        }
    }
    let reply = match request.body(body).send().await {
        Ok(r) => r,
        Err(_) => return (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response(),
    };
    let status = reply.status();
    let reply_headers = reply.headers().clone();
    let bytes = reply.bytes().await.unwrap_or_default();
    if pick {
        // Lost reply: the target acted; the connection breaks before the reply arrives (a
        // body that fails makes the server abort the connection).
        state.failed.fetch_add(1, Ordering::Relaxed);
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "scim-conformance outage proxy: reply dropped on purpose",
            ))
        });
        return Response::new(Body::from_stream(broken));
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &reply_headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn unavailable() -> Response {
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"scim-conformance outage proxy: request failed on purpose"}"#;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            ("content-type", "application/scim+json"),
            ("retry-after", "1"),
        ],
        body,
    )
        .into_response()
}

/// A temporary SQLite path for the embedded server under `--outage`, removed on drop.
pub struct TempDb(pub PathBuf);

impl TempDb {
    /// A fresh path in the temp directory named after the run prefix.
    pub fn new(prefix: &str) -> TempDb {
        TempDb(std::env::temp_dir().join(format!("{}{}.sqlite", prefix, std::process::id())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

/// The outage a run injects.
pub enum Outage {
    /// Stop the embedded server, wait `downtime`, start it again on its SQLite file.
    Restart {
        /// The server.
        server: Arc<EmbeddedServer>,
        /// How long it stays down.
        downtime: Duration,
    },
    /// Fail a share of requests through the proxy for the rest of the cycle.
    Proxy(Arc<Proxy>),
}

impl Outage {
    /// What happens, for the report.
    pub fn describe(&self) -> String {
        match self {
            Outage::Restart { downtime, .. } => format!(
                "embedded server stopped mid-cycle for {:.1}s, restarted on its SQLite file",
                downtime.as_secs_f64()
            ),
            Outage::Proxy(p) => format!(
                "a loopback proxy fails {}% of requests: {}",
                p.state.share_per_mille as f64 / 10.0,
                match p.state.fault {
                    ProxyFault::Unavailable => {
                        "it answers 503 with Retry-After: 1, nothing reaches the target"
                    }
                    ProxyFault::Blackhole => {
                        "it holds them until the client times out, nothing reaches the target"
                    }
                    ProxyFault::LostReply => {
                        "it forwards them, then drops the connection before the reply \
                         (the target acted, the client does not know)"
                    }
                }
            ),
        }
    }

    /// Starts the outage; a restart outage ends by itself after its downtime.
    pub async fn begin(&self) -> Result<(), String> {
        match self {
            Outage::Restart { server, downtime } => {
                server.stop().await;
                tokio::time::sleep(*downtime).await;
                server.restart().await
            }
            Outage::Proxy(p) => {
                p.set_active(true);
                Ok(())
            }
        }
    }

    /// Ends the outage (the proxy stops failing requests).
    pub fn end(&self) {
        if let Outage::Proxy(p) = self {
            p.set_active(false);
        }
    }
}
