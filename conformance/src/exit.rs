//! The process exit codes of `scim-conformance`, as documented constants.

/// Every selected MUST case passed (warnings and skips allowed); `parse` accepted the input.
pub const SUCCESS: i32 = 0;
/// The run failed its gate: a MUST case failed or errored (any `fail` under `--strict`);
/// with `--baseline`, a failure the baseline does not list, or (with `--fail-on-stale`) a
/// stale entry. `parse` rejected the input.
pub const MUST_FAILED: i32 = 1;
/// Usage or configuration error: bad flag, missing token variable, bad URL.
pub const USAGE: i32 = 2;
/// The target did not answer at all (connection refused, DNS, timeout on the first request).
pub const UNREACHABLE: i32 = 3;
/// Every gate passed, but a response snapshot (`--snapshots`) drifted.
pub const SNAPSHOT_DRIFT: i32 = 4;
/// The run was interrupted (Ctrl-C): the remaining cases were skipped, the cleanup ran and
/// the reports were written, but the run proves nothing (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;
