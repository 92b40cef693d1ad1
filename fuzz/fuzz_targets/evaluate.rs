//! Property: for any filter text and any JSON resource (see `scim_parser_fuzz::Split`),
//! evaluation against the User and Group schemas never panics; `matches` fails exactly
//! when `validate` does (errors never depend on the data); it agrees with
//! `matches_unchecked` and with the re-parsed printed filter; and `not (f)` is the
//! negation of `f`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_parser::eval::{matches, matches_unchecked, validate};
use scim_parser::filter::{Filter, FilterKind};
use scim_parser::{parse_filter_with, ParseOptions, ResourceSchema};
use scim_parser_fuzz::Split;

fuzz_target!(|input: Split| {
    let opts = ParseOptions::interop();
    let Ok(filter) = parse_filter_with(&input.head, &opts) else {
        return;
    };
    for schema in [ResourceSchema::user(), ResourceSchema::group()] {
        let result = matches(&filter, &input.resource, &schema);
        let valid = validate(&filter, &schema);
        assert_eq!(
            result.is_err(),
            valid.is_err(),
            "matches and validate disagree"
        );
        let Ok(hit) = result else {
            continue;
        };
        assert_eq!(hit, matches_unchecked(&filter, &input.resource, &schema));
        let printed = filter.to_string();
        let again = parse_filter_with(&printed, &opts).expect("printed filter parses");
        assert_eq!(
            matches(&again, &input.resource, &schema),
            Ok(hit),
            "the printed filter {printed:?} evaluates differently"
        );
        let negated = Filter {
            kind: FilterKind::Not(Box::new(filter.clone())),
            span: filter.span,
        };
        assert_eq!(
            matches(&negated, &input.resource, &schema),
            Ok(!hit),
            "not (f) is not the negation of f"
        );
    }
});
