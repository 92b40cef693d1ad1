//! Property: any filter tree the grammar can express prints to text that parses back (in
//! the default and interop profiles) to the same tree, ignoring spans. The trees are built
//! from the fuzz bytes (`scim_parser_fuzz::ArbFilter`), so this reaches shapes the byte
//! targets rarely produce: deep chains, keywords as names, escapes in strings, exponents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::{parse_filter_with, ParseOptions};
use scim_parser_fuzz::ArbFilter;

fuzz_target!(|input: ArbFilter| {
    let printed = input.0.to_string();
    // A generated tree may print longer than the default 8 KiB or hold more than 1024
    // terms; those limits are not the property under test. Depth stays at the default:
    // the generator nests at most 40 levels, each one `(`, `not (` or `[`.
    let unlimited = |o: ParseOptions| ParseOptions {
        max_len: usize::MAX,
        max_terms: usize::MAX,
        ..o
    };
    for opts in [ParseOptions::default(), ParseOptions::interop()].map(unlimited) {
        let again = parse_filter_with(&printed, &opts)
            .unwrap_or_else(|e| panic!("printed tree does not parse: {}", e.render(&printed)));
        assert!(
            input.0.eq_ignore_spans(&again),
            "printed tree parses to a different tree: {again:?}"
        );
        assert_eq!(again.to_string(), printed, "printing is not stable");
    }
});
