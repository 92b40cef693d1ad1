//! `scim-conformance`: the client side of the toolkit. It fires RFC 7644 requests, and the
//! requests Entra ID and Okta really send, at a SCIM server and reports what it does wrong.
//!
//! The pieces, in the order data flows:
//! - [`case`]: what a case is (id, level, profiles, requirement, body) and its outcomes;
//! - [`cases`]: the catalog, plus [`variants`]: the IdP request variants kept as data in
//!   `corpus/idp/`, each file with a `case` member a case of its own;
//! - [`shape`]: the JSON Schemas of `corpus/schemas/` every response body is checked with;
//! - [`select`]: `--profile`, `--only` and `--skip`;
//! - [`client`] and [`context`]: recorded, redacted HTTP and what a case can reach;
//! - [`runner`] and [`schedule`]: run the selection concurrently, clean up, emit
//!   [`report::Event`]s;
//! - [`report`]: the human view, progress bar, JSON, JUnit, HTML and Markdown reports;
//! - [`baseline`]: known failures and the gate; [`snapshots`]: normalized response
//!   snapshots and drift; [`plan`]: `--dry-run`; [`matrix`]: several targets in one table.
//! - [`tools`]: the offline `eval` and `patch` debugging commands.
//! - [`simulate`] and [`record`]: provisioning at scale, and a recording proxy;
//!   [`recording`] reads what it wrote, [`replay`] sends it to another server with ids
//!   mapped, [`grade`] lists what the client sent outside RFC 7644 and [`recorded_variants`]
//!   turns it into corpus variant files.
//!
//! Safety: every resource a run creates carries the run's prefix (`scimconf-<random8>-`)
//! in its userName, externalId or displayName; lookups filter by those names only, and the
//! run deletes everything it created (after failures, case timeouts and Ctrl-C too),
//! reporting what it could not. Against a target that is not on a loopback address the CLI
//! asks for `--yes` first. The token is redacted from everything recorded, so no report
//! can carry it.
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod baseline;
pub mod case;
pub mod cases;
pub mod client;
pub mod context;
pub mod exit;
pub mod grade;
pub mod matrix;
pub mod plan;
pub mod record;
pub mod recorded_variants;
pub mod recording;
pub mod replay;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod select;
pub mod shape;
pub mod simulate;
pub mod snapshots;
pub mod token;
pub mod tools;
pub mod variants;

pub use case::{Case, Level, Outcome, Profile};
pub use runner::{run, run_with, Policy, RunError, RunOptions, RunResult};
pub use token::Token;
