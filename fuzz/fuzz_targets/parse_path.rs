//! Property: for any input and every profile, `parse_patch_path_with` returns without
//! panicking; an error renders; an accepted path prints to text that parses back to the
//! same path (ignoring spans) and converts to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::{json, parse_patch_path_with, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for opts in [
        ParseOptions::default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
    ] {
        match parse_patch_path_with(input, &opts) {
            Ok(path) => {
                let printed = path.to_string();
                let again = parse_patch_path_with(&printed, &opts).unwrap_or_else(|e| {
                    panic!("{input:?} printed as {printed:?}, which fails: {e}")
                });
                assert!(
                    path.eq_ignore_spans(&again),
                    "{input:?} printed as {printed:?} parses to a different path"
                );
                let _ = json::patch_path_to_json(&path);
            }
            Err(err) => {
                assert!(err.span.start <= err.span.end && err.span.end <= input.len());
                let _ = err.render(input);
            }
        }
    }
});
