//! `conformance/CASES.md` is the catalog as a markdown table; this test regenerates it and
//! fails when the committed file differs. `UPDATE_CASES=1` rewrites the file instead.

use scim_conformance::cases::catalog_markdown;

#[test]
fn cases_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("CASES.md");
    let fresh = catalog_markdown();
    if std::env::var_os("UPDATE_CASES").is_some() {
        std::fs::write(&path, &fresh).expect("write CASES.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "conformance/CASES.md is stale; run `UPDATE_CASES=1 cargo test -p scim-conformance --test catalog_doc`"
    );
}

#[test]
fn cases_md_lists_every_case_once() {
    let text = catalog_markdown();
    for case in scim_conformance::cases::catalog() {
        let row = format!("| `{}` |", case.id);
        assert_eq!(text.matches(&row).count(), 1, "{} rows", case.id);
    }
    assert!(scim_conformance::cases::catalog().len() >= 150);
}

#[test]
fn list_json_by_profile() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(["list", "--format", "json", "--profile", "entra-compliant"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cases = cases.as_array().expect("an array");
    assert!(!cases.is_empty());
    for case in cases {
        let profiles = case["profiles"].as_array().expect("profiles");
        assert!(profiles.iter().any(|p| p == "entra-compliant"), "{case}");
        let id = case["id"].as_str().expect("id");
        assert_eq!(
            Some(case["section"].as_str().expect("section")),
            id.split('/').next()
        );
        assert!(matches!(
            case["level"].as_str(),
            Some("MUST" | "SHOULD" | "MAY")
        ));
    }
    assert!(cases
        .iter()
        .any(|c| c["id"] == "rfc7644-3.5.2.3/entra-compliant-reactivate"));
}
