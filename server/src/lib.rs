//! `scim-reference-server`: a SCIM 2.0 service for Users and Groups built on
//! `scim-parser`, with an embedded SQLite store and named faults.
//!
//! The public surface used by the conformance runner and by tests:
//! [`Config`], [`Fault`], [`spawn`] and [`RunningServer`].

use std::net::SocketAddr;
use std::path::PathBuf;

/// Path prefix under which every SCIM endpoint is served.
pub const BASE_PATH: &str = "/scim/v2";

/// A deliberate, documented misbehaviour, switched on to measure that the conformance
/// suite catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {}

/// How to run the server.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `(tenant name, bearer token)` pairs; empty means one tenant `default` with the
    /// token given by [`Config::default_token`].
    pub tenants: Vec<(String, String)>,
    /// SQLite file; `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    /// Faults switched on.
    pub faults: Vec<Fault>,
}

/// A server running on a background task.
pub struct RunningServer {
    /// The socket it listens on.
    pub addr: SocketAddr,
}
