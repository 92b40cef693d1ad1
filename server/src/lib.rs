//! `scim-reference-server`: a SCIM 2.0 service (RFC 7644) for Users and Groups built on
//! `scim-parser`, with an embedded SQLite store and named [`Fault`]s.
//!
//! The public surface used by the conformance runner and by tests: [`Config`], [`Fault`],
//! [`spawn`], [`serve`], [`router`] and [`RunningServer`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), scim_reference_server::ServerError> {
//! use scim_reference_server::{spawn, Config, Fault};
//! let server = spawn(Config { faults: vec![Fault::NoMatch404], ..Config::default() }).await?;
//! println!("{} with token {}", server.base_url(), server.token());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Behaviour worth knowing
//!
//! - Every endpoint, discovery included, needs `Authorization: Bearer <token>`; the token
//!   picks the tenant (compared in constant time). Tenants see only their own resources.
//!   A missing or wrong token is 401 with `WWW-Authenticate`.
//! - Filters are parsed with `ParseOptions::interop()` and decided by
//!   `scim_parser::eval::matches`; the store only narrows candidates on an indexed column
//!   (`userName` and `displayName` folded to Unicode lowercase, `id` and `externalId`
//!   exactly). `sortBy`/`sortOrder` and `POST /.search` at the root work; responses go
//!   through `scim_parser::project`, so `returned` is honoured.
//! - A group member must be a live User or Group of the same tenant, else 400
//!   `invalidValue`; deleting a resource drops its memberships and keeps its row as a
//!   tombstone. A user's `groups` lists direct and indirect (nested) memberships.
//! - A PATCH that only adds or removes members touches only those membership rows; with
//!   `excludedAttributes=members` it never reads the whole group.
//! - `/Bulk` runs each operation through the same handlers, resolving `bulkId`
//!   references; the limits are [`MAX_OPERATIONS`] and [`MAX_PAYLOAD_SIZE`] (413 past
//!   them, for any request body).
//! - `/Me` answers 501: a token names a tenant, not a user, so no request has a subject
//!   that maps to a User (RFC 7644 section 3.11).
//! - Every request is logged in a `requests` table ([`requests`]), without
//!   `Authorization`, and as one `tracing` line at info level.
//! - [`Config::rate_limit`] gives each tenant a token bucket; past it, 429 with
//!   `Retry-After`.
//! - Passwords are accepted and discarded (`changePassword` is unsupported).
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

mod bulk;
mod clock;
mod discovery;
mod error;
mod fault;
mod handlers;
mod lookup;
mod patching;
mod query;
mod ratelimit;
pub mod requests;
mod resource;
mod routes;
mod sort;
mod store;
mod wire;

pub use bulk::{MAX_OPERATIONS, MAX_PAYLOAD_SIZE};
pub use error::{ScimError, ScimType, ServerError, ERROR_URN};
pub use fault::{Fault, UnknownFault};
pub use handlers::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use resource::{ENTERPRISE_URN, GROUP_URN, LIST_URN, PATCH_URN, USER_URN};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Path prefix under which every SCIM endpoint is served.
pub const BASE_PATH: &str = "/scim/v2";

/// The bearer token of the `default` tenant used when [`Config::tenants`] is empty.
pub const DEFAULT_TOKEN: &str = "scim-reference-default-token";

/// How to run the server. Its `Debug` output shows tenant names but not their tokens.
#[derive(Clone, Default)]
pub struct Config {
    /// `(tenant name, bearer token)` pairs; empty means one tenant `default` with the
    /// token [`Config::default_token`]. Tokens must be non-empty and distinct.
    pub tenants: Vec<(String, String)>,
    /// SQLite file; `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    /// Faults switched on.
    pub faults: Vec<Fault>,
    /// Requests per second each tenant may send (a token bucket holding as many);
    /// `None` means no limit.
    pub rate_limit: Option<f64>,
    /// The most operations one PATCH request may hold; past it, 413 with a SCIM error.
    /// `None` means [`DEFAULT_MAX_PATCH_OPERATIONS`].
    pub max_patch_operations: Option<usize>,
}

/// The default cap on the operations of one PATCH request. Applying is linear in the
/// operations, but a document of hundreds of thousands still holds a connection and a
/// write transaction for long; RFC 7644 section 3.12 lets a server refuse a request too
/// large to process (413).
pub const DEFAULT_MAX_PATCH_OPERATIONS: usize = 10_000;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenants: Vec<(&str, &str)> = self
            .tenants
            .iter()
            .map(|(name, _)| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("Config")
            .field("tenants", &tenants)
            .field("db", &self.db)
            .field("faults", &self.faults)
            .field("rate_limit", &self.rate_limit)
            .field("max_patch_operations", &self.max_patch_operations)
            .finish()
    }
}

impl Config {
    /// The token of the implicit `default` tenant ([`DEFAULT_TOKEN`]).
    pub fn default_token() -> &'static str {
        DEFAULT_TOKEN
    }

    /// The token [`RunningServer::token`] reports: the first tenant's, or the default.
    fn first_token(&self) -> String {
        self.tenants
            .first()
            .map_or_else(|| DEFAULT_TOKEN.to_string(), |(_, t)| t.clone())
    }
}

/// A server running on a background tokio task, from [`spawn`].
pub struct RunningServer {
    /// The socket it listens on (always on 127.0.0.1).
    pub addr: SocketAddr,
    token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), std::io::Error>>>,
}

/// Waits for the request log to write what is queued, off the async runtime.
async fn finish_log(log: requests::LogThread) {
    if tokio::task::spawn_blocking(move || log.join())
        .await
        .is_err()
    {
        tracing::warn!("could not wait for the request log");
    }
}

impl RunningServer {
    /// The SCIM base URL, `http://127.0.0.1:PORT/scim/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }

    /// The bearer token of the first tenant (the `default` tenant when none is
    /// configured).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits until they
    /// are in the request log.
    pub async fn shutdown(mut self) {
        self.stop_and_wait().await;
    }

    async fn stop_and_wait(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(%err, "server stopped with an error"),
                Err(err) => tracing::warn!(%err, "server task failed"),
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Dropping without `shutdown` still stops the server; it just does not wait.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Fills a store file without HTTP, for benchmarks and load tests. Rows are inserted in
/// one transaction per call, with the same indexed columns the server writes; users get
/// `userName` `{prefix}{i}` and `externalId` `ext-{prefix}{i}`.
pub mod seed {
    use crate::ServerError;
    use std::path::Path;

    /// Inserts users `{prefix}{i}` for each `i` in `range` into tenant `tenant` of the
    /// store file `db` (created if needed); returns their ids in order.
    pub fn users(
        db: &Path,
        tenant: &str,
        prefix: &str,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<String>, ServerError> {
        crate::store::seed::users(db, tenant, prefix, range)
    }

    /// Inserts a group named `display_name` whose members are `user_ids`; returns its id.
    pub fn group(
        db: &Path,
        tenant: &str,
        display_name: &str,
        user_ids: &[String],
    ) -> Result<String, ServerError> {
        crate::store::seed::group(db, tenant, display_name, user_ids)
    }
}

/// The axum router serving [`BASE_PATH`], with the store opened. Its request log is
/// written by a background thread that ends when the router is dropped.
pub fn router(config: Config) -> Result<axum::Router, ServerError> {
    routes::build(&config).map(|(router, _log)| router)
}

/// Binds 127.0.0.1 on a free port and serves on a background task.
pub async fn spawn(config: Config) -> Result<RunningServer, ServerError> {
    let (app, log) = routes::build(&config)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(wire::ScimListener(listener), app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        finish_log(log).await;
        served
    });
    tracing::info!(%addr, "SCIM reference server listening");
    Ok(RunningServer {
        addr,
        token: config.first_token(),
        stop: Some(stop),
        task: Some(task),
    })
}

/// A server built from its [`Config`] (tenants and limits checked, store opened), not yet
/// listening: [`prepare`] it before printing that it serves, then [`Prepared::serve`].
pub struct Prepared {
    app: axum::Router,
    log: requests::LogThread,
}

/// Checks `config` and opens the store; any problem with either is an error here, before
/// a socket is bound.
pub fn prepare(config: &Config) -> Result<Prepared, ServerError> {
    let (app, log) = routes::build(config)?;
    Ok(Prepared { app, log })
}

impl Prepared {
    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let served = axum::serve(wire::ScimListener(listener), self.app)
            .with_graceful_shutdown(shutdown)
            .await;
        finish_log(self.log).await;
        served.map_err(ServerError::from)
    }
}

/// Serves on `listener` until `shutdown` completes, for a standalone `serve` command.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    prepare(&config)?.serve(listener, shutdown).await
}
