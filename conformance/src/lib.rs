//! `scim-conformance`: the client side of the toolkit. It fires RFC 7644 requests, and the
//! requests Entra ID and Okta really send, at a SCIM server and reports what it does wrong.
//!
//! The pieces, in the order data flows:
//! - [`case`]: what a case is (id, level, profiles, requirement, body) and its outcomes;
//! - [`cases`]: the catalog;
//! - [`select`]: `--profile`, `--only` and `--skip`;
//! - [`client`] and [`context`]: recorded, redacted HTTP and what a case can reach;
//! - [`runner`]: runs the selection, cleans up, emits [`report::Event`]s;
//! - [`report`]: the human and JSON reporters;
//! - [`simulate`]: provisioning at scale in an IdP's dialect, with read-back reconciliation,
//!   outages and a rate-limit search; [`record`]: a recording reverse proxy.
//!
//! Safety: every resource a run creates carries the run's prefix (`scimconf-<random8>-`)
//! in its userName, externalId or displayName; lookups filter by those names only, and the
//! run deletes everything it created, reporting what it could not.
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod case;
pub mod cases;
pub mod client;
pub mod context;
pub mod exit;
pub mod record;
pub mod report;
pub mod runner;
pub mod select;
pub mod simulate;
pub mod token;
pub mod variants;

pub use case::{Case, Level, Outcome, Profile};
pub use runner::{run, RunError, RunOptions, RunResult};
pub use token::Token;
