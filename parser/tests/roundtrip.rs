//! Property: every filter tree and PATCH path the grammar can express prints to text that
//! parses back to the same tree (spans ignored), in the default and interop profiles, and
//! printing is stable. The trees come from a recursive strategy that covers every node
//! kind, keywords used as attribute names, URI prefixes, escapes and number forms; the
//! printer adds the parentheses precedence needs (RFC 7644 section 3.4.2.2).
//!
//! Cases: `PROPTEST_CASES` (CI sets 10000), default 1000. Shrinking follows proptest's
//! own `PROPTEST_MAX_SHRINK_ITERS`.

use proptest::prelude::*;
use scim_parser::filter::{AttrPath, CompareOp, Filter, FilterKind, Literal, LiteralValue};
use scim_parser::{
    parse_filter_ref_with, parse_filter_with, parse_patch_path_with, ParseOptions, PatchPath, Span,
};

/// The case count: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(1000),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// ATTRNAME = ALPHA *(nameChar); keywords and literals are legal names too.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName", "emails", "value", "type", "members", "not", "and", "or", "pr", "eq",
            "true", "false", "null", "NOT", "Or", "name", "x",
        ])
        .prop_map(String::from),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn uri() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.2,
        prop_oneof![
            Just("urn:ietf:params:scim:schemas:core:2.0:User".to_string()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
            "[a-z][a-z0-9.-]{0,5}(:[a-zA-Z0-9.-]{1,6}){0,3}",
        ],
    )
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (uri(), name(), prop::option::weighted(0.25, name())).prop_map(|(uri, name, sub_attr)| {
        AttrPath {
            uri,
            name,
            sub_attr,
            span: Span::default(),
        }
    })
}

/// RFC 8259 section 6 numbers inside the binary64 range.
fn number() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![Just("0".to_string()), "[1-9][0-9]{0,18}"],
        prop::option::of("[0-9]{1,6}"),
        prop::option::of(("[eE]", "[+-]?", 0u32..280)),
    )
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((e, sign, n)) = exp {
                s.push_str(&format!("{e}{sign}{n}"));
            }
            s
        })
}

fn literal() -> impl Strategy<Value = LiteralValue> {
    prop_oneof![
        Just(LiteralValue::Null),
        any::<bool>().prop_map(LiteralValue::Bool),
        number().prop_map(LiteralValue::Number),
        // Any Unicode, control characters, quotes and backslashes included.
        any::<String>().prop_map(LiteralValue::String),
        "[ -~]{0,12}".prop_map(LiteralValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

fn node(kind: FilterKind) -> Filter {
    Filter {
        kind,
        span: Span::default(),
    }
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        attr_path().prop_map(|path| node(FilterKind::Present { path })),
        (attr_path(), op(), literal()).prop_map(|(path, op, value)| {
            node(FilterKind::Compare {
                path,
                op,
                value: Literal {
                    value,
                    span: Span::default(),
                },
            })
        }),
    ]
}

/// Logical structure over `inner`: n-ary `and`/`or` (nested chains of the same operator
/// included, which the printer must parenthesise) and `not`.
fn logic(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 2..4).prop_map(|v| node(FilterKind::And(v))),
        prop::collection::vec(inner.clone(), 2..4).prop_map(|v| node(FilterKind::Or(v))),
        inner.prop_map(|f| node(FilterKind::Not(Box::new(f)))),
    ]
}

/// A filter allowed inside `[...]`: no value path (errata 7322).
fn element_filter() -> BoxedStrategy<Filter> {
    leaf()
        .prop_recursive(4, 24, 3, |inner| logic(inner.boxed()))
        .boxed()
}

/// Any filter.
fn filter() -> BoxedStrategy<Filter> {
    let value_path = (attr_path(), element_filter()).prop_map(|(path, f)| {
        node(FilterKind::ValuePath {
            path,
            filter: Box::new(f),
        })
    });
    prop_oneof![leaf(), value_path]
        .prop_recursive(5, 32, 3, |inner| logic(inner.boxed()))
        .boxed()
}

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 section 3.5.2).
fn patch_path() -> impl Strategy<Value = PatchPath> {
    let plain = attr_path().prop_map(|attr| PatchPath {
        attr,
        filter: None,
        sub_attr: None,
        span: Span::default(),
    });
    let filtered = (attr_path(), element_filter(), prop::option::of(name())).prop_map(
        |(attr, f, sub_attr)| PatchPath {
            attr,
            filter: Some(f),
            sub_attr,
            span: Span::default(),
        },
    );
    prop_oneof![plain, filtered]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn printed_filters_parse_to_the_same_tree(f in filter()) {
        let printed = f.to_string();
        for opts in [ParseOptions::default(), ParseOptions::interop()] {
            let again = parse_filter_with(&printed, &opts)
                .map_err(|e| TestCaseError::fail(e.render(&printed)))?;
            prop_assert!(f.eq_ignore_spans(&again), "{printed}\nparsed as {again:?}");
            prop_assert_eq!(again.to_string(), printed.clone());
            // the borrowed tree is the same tree, spans included
            let borrowed = parse_filter_ref_with(&printed, &opts)
                .map_err(|e| TestCaseError::fail(e.render(&printed)))?;
            prop_assert_eq!(borrowed.to_string(), printed.clone());
            prop_assert_eq!(borrowed.into_owned(), again);
        }
    }

    /// Printed text cut short or with one byte changed is often invalid: the borrowed and
    /// owned parses give the same tree or the same error.
    #[test]
    fn mangled_filters_parse_the_same_both_ways(f in filter(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let printed = f.to_string();
        let at = cut.index(printed.len() + 1);
        let mut bytes = printed.into_bytes();
        let inputs = [
            String::from_utf8_lossy(&bytes[..at]).into_owned(),
            {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
                String::from_utf8_lossy(&bytes).into_owned()
            },
        ];
        for input in &inputs {
            for opts in [ParseOptions::default(), ParseOptions::strict(), ParseOptions::interop()] {
                let owned = parse_filter_with(input, &opts);
                let borrowed = parse_filter_ref_with(input, &opts).map(|b| b.into_owned());
                prop_assert_eq!(borrowed, owned, "{:?}", input);
            }
        }
    }

    #[test]
    fn printed_patch_paths_parse_to_the_same_path(p in patch_path()) {
        let printed = p.to_string();
        for opts in [ParseOptions::default(), ParseOptions::interop()] {
            let again = parse_patch_path_with(&printed, &opts)
                .map_err(|e| TestCaseError::fail(e.render(&printed)))?;
            prop_assert!(p.eq_ignore_spans(&again), "{printed}\nparsed as {again:?}");
            prop_assert_eq!(again.to_string(), printed.clone());
        }
    }
}

/// The strategy can fail: a tree the printer cannot express (an `And` with one operand)
/// does not round-trip, so the comparison above is not vacuous.
#[test]
fn a_one_operand_chain_does_not_round_trip() {
    let path = AttrPath {
        uri: None,
        name: "title".into(),
        sub_attr: None,
        span: Span::default(),
    };
    let f = node(FilterKind::And(vec![node(FilterKind::Present { path })]));
    let again = parse_filter_with(&f.to_string(), &ParseOptions::default()).unwrap();
    assert!(!f.eq_ignore_spans(&again));
}
