//! Property: for any input and every profile, `parse_filter_with` returns without
//! panicking; an error renders; an accepted filter prints to text that parses back to the
//! same tree (ignoring spans) and converts to JSON. The borrowed parse
//! (`parse_filter_ref_with`) gives the same tree (spans included) or the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::{json, parse_filter_ref_with, parse_filter_with, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for opts in [
        ParseOptions::default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
    ] {
        let owned = parse_filter_with(input, &opts);
        let borrowed = parse_filter_ref_with(input, &opts);
        match (&owned, &borrowed) {
            (Ok(o), Ok(b)) => {
                assert_eq!(&b.to_owned_filter(), o, "{input:?}: borrowed and owned trees differ");
                assert_eq!(b.to_string(), o.to_string(), "{input:?}: printed differently");
            }
            (Err(o), Err(b)) => assert_eq!(o, b, "{input:?}: borrowed and owned errors differ"),
            _ => panic!("{input:?}: owned {owned:?} but borrowed {borrowed:?}"),
        }
        match owned {
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
