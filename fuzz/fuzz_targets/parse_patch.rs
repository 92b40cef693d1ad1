//! Property: any text parses as a PatchOp document or fails with a located error, in both
//! modes, without panicking. Strict is a subset of interop: a document strict accepts,
//! interop accepts with the same operations and no tolerance reported. Every error names a
//! location (`schemas`, `Operations`, `Operations[i].field`, or the body) and a scimType.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::patch::{Mode, PatchDocument};
use scim_parser_fuzz::Split;

fn check_error(err: &scim_parser::PatchError, ops: usize) {
    assert!(!err.message.is_empty());
    let loc = err.location.as_str();
    let ok = loc.is_empty()
        || loc == "schemas"
        || loc == "Operations"
        || loc
            .strip_prefix("Operations[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_some_and(|i| i < ops.max(1));
    assert!(
        ok,
        "error location {loc:?} names no part of the document: {err}"
    );
    let _ = err.scim_type();
}

fuzz_target!(|input: Split| {
    let text = &input.head;
    let ops = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("Operations").and_then(|o| o.as_array()).map(Vec::len))
        .unwrap_or(usize::MAX);
    let strict = PatchDocument::from_json_str(text, Mode::Strict);
    let interop = PatchDocument::from_json_str(text, Mode::Interop);
    if let Err(e) = &strict {
        check_error(e, ops);
    }
    if let Err(e) = &interop {
        check_error(e, ops);
    }
    if let Ok(doc) = &strict {
        assert!(
            doc.diagnostics.is_empty(),
            "strict mode reported tolerances"
        );
        let lenient = interop.expect("interop rejects a document strict accepts");
        assert_eq!(lenient.operations, doc.operations);
        assert!(
            lenient.diagnostics.is_empty(),
            "interop reported a tolerance for a strict document: {:?}",
            lenient.diagnostics
        );
    }
});
