//! The in-process reference server: `run` without `--target`, and `serve`.
//! Placeholder until the server branch lands; see the TODO below.

use super::{Exit, ServeArgs};
use std::path::Path;
use std::time::Duration;

// TODO(merge server): replace with scim_reference_server::spawn/serve once the server
// branch provides them.
pub(crate) async fn run_embedded(
    _faults: &[String],
    _selection: scim_conformance::select::Selection,
    _timeout: Duration,
    _json: Option<&Path>,
) -> Result<i32, Exit> {
    Err(Exit::usage(
        "the embedded reference server is not available yet; use --target",
    ))
}

pub(crate) async fn serve(_args: ServeArgs) -> Result<i32, Exit> {
    Err(Exit::usage("serve is not available yet"))
}
