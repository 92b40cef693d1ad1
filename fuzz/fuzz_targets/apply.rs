//! Property: for any PatchOp text and any JSON resource (see `scim_parser_fuzz::Split`),
//! applying against the User and Group schemas in both modes never panics, and the result
//! is atomic: `Ok` with the whole document applied, or an error and the caller's resource
//! untouched. An error at `Operations[k]` means operations `0..k` apply on their own (so
//! the index is right); an `Ok` result is deterministic, says truthfully whether anything
//! changed, no `null` element appears in an array, and strict mode reports no tolerance. A PUT (`replace_resource`) of the result
//! over the input never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::patch::{apply, Mode, PatchDocument};
use scim_parser::replace::replace_resource;
use scim_parser::ResourceSchema;
use scim_parser_fuzz::Split;

/// Whether an array anywhere in `v` holds a `null` element.
fn has_null_element(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Array(items) => items.iter().any(|i| i.is_null() || has_null_element(i)),
        serde_json::Value::Object(o) => o.values().any(has_null_element),
        _ => false,
    }
}

/// The `k` of an error location `Operations[k]...`.
fn op_index(location: &str) -> Option<usize> {
    location
        .strip_prefix("Operations[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

fuzz_target!(|input: Split| {
    for mode in [Mode::Strict, Mode::Interop] {
        let Ok(doc) = PatchDocument::from_json_str(&input.head, mode) else {
            continue;
        };
        for schema in [ResourceSchema::user(), ResourceSchema::group()] {
            let before = input.resource.clone();
            let result = apply(&doc, &input.resource, &schema);
            assert_eq!(input.resource, before, "apply changed its input");
            match result {
                Ok(applied) => {
                    assert!(applied.resource.is_object());
                    // `null` unassigns (RFC 7643 section 2.5): it never becomes an element.
                    assert!(
                        has_null_element(&input.resource) || !has_null_element(&applied.resource),
                        "apply left a null element in an array"
                    );
                    assert_eq!(applied.changed, applied.resource != input.resource);
                    if mode == Mode::Strict {
                        assert!(applied.diagnostics.is_empty(), "strict reported tolerances");
                    }
                    let again = apply(&doc, &input.resource, &schema).expect("deterministic");
                    assert_eq!(again, applied, "apply is not deterministic");
                    // PUT of the result over the input: never panics, and yields an object.
                    if let Ok(put) =
                        replace_resource(&input.resource, &applied.resource, &schema, mode)
                    {
                        assert!(put.resource.is_object() || !input.resource.is_object());
                    }
                }
                Err(err) => {
                    assert!(!err.message.is_empty());
                    if let Some(k) = op_index(&err.location) {
                        assert!(k < doc.operations.len(), "error names a missing operation");
                        if k > 0 {
                            let mut prefix = doc.clone();
                            prefix.operations.truncate(k);
                            if let Err(e) = apply(&prefix, &input.resource, &schema) {
                                panic!("error at operation {k} ({err}), yet the operations before it fail: {e}");
                            }
                        }
                    }
                }
            }
        }
    }
});
