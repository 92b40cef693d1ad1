//! Property: for any input and every profile, `parse_filter_with` returns without
//! panicking; an error renders; an accepted filter prints to text that parses back to the
//! same tree (ignoring spans) and converts to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::{json, parse_filter_with, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for opts in [
        ParseOptions::default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
    ] {
        match parse_filter_with(input, &opts) {
            Ok(filter) => {
                let printed = filter.to_string();
                let again = parse_filter_with(&printed, &opts).unwrap_or_else(|e| {
                    panic!("{input:?} printed as {printed:?}, which fails: {e}")
                });
                assert!(
                    filter.eq_ignore_spans(&again),
                    "{input:?} printed as {printed:?} parses to a different tree"
                );
                let _ = json::filter_to_json(&filter);
            }
            Err(err) => {
                assert!(err.span.start <= err.span.end && err.span.end <= input.len());
                let _ = err.render(input);
            }
        }
    }
});
