//! scim-parser stays free of HTTP and async crates (issue 3, "Quality bar"): it is the crate
//! a server embeds, whatever web stack that server uses.
//!
//! The check runs `cargo tree -p scim-parser -e normal` on this workspace and refuses any
//! crate on the deny list below; a second test feeds the same check a tree that contains
//! such crates, so the check itself is known to fail when it should.

use std::process::Command;

/// Crates that mean an HTTP stack or an async runtime came in.
const DENIED: &[&str] = &[
    "hyper",
    "hyper-util",
    "reqwest",
    "tokio",
    "tokio-util",
    "axum",
    "axum-core",
    "http",
    "http-body",
    "h2",
    "h3",
    "async-std",
    "async-io",
    "async-executor",
    "smol",
    "futures",
    "futures-util",
    "futures-core",
    "futures-executor",
    "tower",
    "tower-service",
    "actix-web",
    "actix-rt",
    "ureq",
    "isahc",
    "surf",
    "mio",
];

/// The crate names of `cargo tree --prefix none --format {p}` output that are denied.
fn denied_crates(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| DENIED.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn scim_parser_depends_on_no_http_or_async_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "tree",
            "-p",
            "scim-parser",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("cargo tree prints UTF-8");
    assert!(
        tree.lines().any(|l| l.starts_with("scim-parser ")),
        "unexpected cargo tree output:\n{tree}"
    );
    assert!(
        tree.lines().any(|l| l.starts_with("serde_json ")),
        "cargo tree lists no serde_json; is the output format what this test expects?\n{tree}"
    );
    let denied = denied_crates(&tree);
    assert!(
        denied.is_empty(),
        "scim-parser depends on {denied:?}:\n{tree}"
    );
}

#[test]
fn the_check_catches_denied_crates() {
    let tree = "scim-parser v0.1.0 (/x/parser)\nserde v1.0.0\ntokio v1.40.0\n\
                hyper v1.4.0\ntokio v1.40.0 (*)\nhttpdate v1.0.0\nfutures-util v0.3.0\n";
    assert_eq!(denied_crates(tree), ["futures-util", "hyper", "tokio"]);
    // names that merely start like a denied crate are fine
    assert!(denied_crates("hyperloglog v1.0.0\ntokio-macros-like v0.1.0\n").is_empty());
}
