//! Inputs the fuzz targets (`fuzz/fuzz_targets/`) once crashed on, replayed with the same
//! checks: no panic, error spans inside the input, and print-then-parse round trips.

use scim_parser::{json, parse_filter_with, parse_patch_path_with, ParseOptions};
use std::path::PathBuf;

fn inputs(dir: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("regression directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("readable");
        if let Ok(text) = String::from_utf8(bytes) {
            out.push((path.display().to_string(), text));
        }
    }
    out
}

fn profiles() -> [ParseOptions; 3] {
    [
        ParseOptions::default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
    ]
}

#[test]
fn filter_crashes_stay_fixed() {
    let cases = inputs("filter");
    assert!(!cases.is_empty());
    for (name, input) in cases {
        for opts in profiles() {
            match parse_filter_with(&input, &opts) {
                Ok(f) => {
                    let printed = f.to_string();
                    let again = parse_filter_with(&printed, &opts).expect(&name);
                    assert!(f.eq_ignore_spans(&again), "{name}: {printed:?}");
                    let _ = json::filter_to_json(&f);
                }
                Err(e) => {
                    assert!(
                        e.span.start <= e.span.end && e.span.end <= input.len(),
                        "{name}"
                    );
                    assert!(e.render(&input).contains('^'));
                }
            }
        }
    }
}

#[test]
fn path_crashes_stay_fixed() {
    for (name, input) in inputs("path") {
        for opts in profiles() {
            match parse_patch_path_with(&input, &opts) {
                Ok(p) => {
                    let printed = p.to_string();
                    let again = parse_patch_path_with(&printed, &opts).expect(&name);
                    assert!(p.eq_ignore_spans(&again), "{name}: {printed:?}");
                }
                Err(e) => {
                    assert!(
                        e.span.start <= e.span.end && e.span.end <= input.len(),
                        "{name}"
                    );
                }
            }
        }
    }
}

/// See: the `parse_patch` fuzz target (CI run of 2026-12-04). Strict mode ignored a member
/// `patH`, which interop mode reads as `path`, so the two modes accepted one document as
/// different operations. Strict must reject it; interop reads it and says so.
#[test]
fn patch_member_in_another_case_is_not_ignored_in_strict_mode() {
    use scim_parser::patch::{Mode, PatchDocument};
    let text = r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "patH": "active", "value": false}]}"#;
    let err = PatchDocument::from_json_str(text, Mode::Strict).unwrap_err();
    assert_eq!(err.location, "Operations[0].patH");
    assert_eq!(err.scim_type(), "invalidSyntax");
    let doc = PatchDocument::from_json_str(text, Mode::Interop).expect("interop reads it");
    assert_eq!(doc.operations[0].path_text.as_deref(), Some("active"));
    assert_eq!(doc.diagnostics.len(), 1, "{:?}", doc.diagnostics);
}
