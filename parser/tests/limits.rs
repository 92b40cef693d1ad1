//! The limits of `ParseOptions` are enforced while parsing, and no input or accepted tree
//! can overflow the stack: the DoS rows F90-F94 and F105 of the survey, and the deepest
//! trees the parser can return, handled on a thread with half of a Tokio worker's stack.

use scim_parser::filter::{parse_filter_ref_with, MAX_DEPTH_CEILING};
use scim_parser::json::filter_to_json;
use scim_parser::{parse_filter_with, parse_patch_path_with, ErrorKind, ParseOptions};
use std::time::{Duration, Instant};

/// Half of a Tokio worker thread's default 2 MiB stack.
const SMALL_STACK: usize = 1024 * 1024;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic and no stack overflow")
}

fn unlimited_len() -> ParseOptions {
    ParseOptions {
        max_len: usize::MAX,
        ..ParseOptions::default()
    }
}

/// No length limit and no depth limit beyond [`scim_parser::filter::MAX_DEPTH_CEILING`].
fn no_length_or_depth_limit() -> ParseOptions {
    ParseOptions {
        max_depth: usize::MAX,
        ..unlimited_len()
    }
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[test]
fn f90_5000_parens_hit_the_length_cap_then_the_depth_cap() {
    let input = nested("(", "title pr", ")", 5000);
    let err = parse_filter_with(&input, &ParseOptions::default()).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::InputTooLong {
            len: input.len(),
            max: 8192
        }
    );
    let err = parse_filter_with(&input, &unlimited_len()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NestingTooDeep { max: 64 });
    assert_eq!(err.span.start, 64, "the 65th `(` is at fault");
}

#[test]
fn f91_not_chain_hits_the_depth_cap() {
    let input = nested("not (", "title pr", ")", 3000);
    let err = parse_filter_with(&input, &unlimited_len()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NestingTooDeep { max: 64 });
    // each level is `not (`, five bytes; the 65th `(` is at fault
    assert_eq!(err.span.start, 64 * 5 + 4);
}

#[test]
fn f92_1100_terms_hit_the_term_budget() {
    let input = (0..1100)
        .map(|i| format!("id eq \"{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let err = parse_filter_with(&input, &unlimited_len()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooManyTerms { max: 1024 });
    let at = input.find("id eq \"1024\"").expect("term 1024");
    assert_eq!(err.span.start, at, "the 1025th term is at fault");
    let ok: String = (0..1024)
        .map(|i| format!("id eq \"{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(
        parse_filter_with(&ok, &unlimited_len()).is_ok(),
        "exactly the budget is fine"
    );
}

#[test]
fn f93_deep_grouping_inside_brackets_hits_the_depth_cap() {
    let input = format!("emails[{}]", nested("(", "type eq \"work\"", ")", 3000));
    let err = parse_filter_with(&input, &unlimited_len()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NestingTooDeep { max: 64 });
    let err = parse_patch_path_with(&input, &unlimited_len()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NestingTooDeep { max: 64 });
    assert_eq!(err.scim_type(), "invalidPath");
}

#[test]
fn f94_long_string_hits_the_length_cap_before_any_work() {
    let input = format!("userName eq \"{}\"", "a".repeat(100_000));
    let err = parse_filter_with(&input, &ParseOptions::default()).unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::InputTooLong {
            len: 100_014,
            max: 8192
        }
    );
    assert_eq!(err.span.start, 8192);
    assert!(parse_filter_with(&input, &unlimited_len()).is_ok());
}

#[test]
fn f105_600_kb_of_nesting_fails_fast_on_a_small_stack_even_without_limits() {
    let elapsed = on_small_stack(|| {
        let input = nested("(", "title pr", ")", 300_000);
        let opts = no_length_or_depth_limit();
        let start = Instant::now();
        let err = parse_filter_with(&input, &opts).unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(
            err.kind,
            ErrorKind::NestingTooDeep {
                max: MAX_DEPTH_CEILING
            }
        );
        let err = parse_filter_with(&input, &ParseOptions::default()).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::InputTooLong { .. }));
        elapsed
    });
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
}

/// The deepest filter the parser accepts with the depth ceiling, mixing every nesting
/// construct: groups holding an `and`, `not`, and a value path at the bottom.
fn deepest_filter() -> String {
    let levels = MAX_DEPTH_CEILING - 2;
    let mut s = String::new();
    for i in 0..levels {
        match i % 3 {
            0 => s.push_str("a pr and ("),
            1 => s.push_str("not ("),
            _ => s.push_str("b pr or ("),
        }
    }
    s.push_str("emails[type eq \"work\" and not (value pr)]");
    s.push_str(&")".repeat(levels));
    s
}

#[test]
fn the_deepest_accepted_tree_survives_every_trait_on_a_small_stack() {
    on_small_stack(|| {
        let input = deepest_filter();
        let opts = no_length_or_depth_limit();
        let f = parse_filter_with(&input, &opts).expect("at the ceiling");
        let printed = f.to_string();
        let debug = format!("{f:?}");
        let pretty = format!("{f:#?}");
        let json = filter_to_json(&f).to_string();
        let copy = f.clone();
        assert!(copy == f && copy.eq_ignore_spans(&f));
        assert_eq!(
            f.without_spans(),
            parse_filter_with(&printed, &opts).unwrap().without_spans()
        );
        assert!(debug.len() > input.len() && pretty.len() > debug.len() && json.len() > 1000);
        drop(copy);
        drop(f);
        // one level more is refused
        let deeper = format!("({input})");
        let err = parse_filter_with(&deeper, &opts).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::NestingTooDeep {
                max: MAX_DEPTH_CEILING
            }
        );
    });
}

/// The borrowed tree (an arena walked through node views) at the same depth: printing,
/// `Debug`, conversion, comparison and drop.
#[test]
fn the_deepest_accepted_borrowed_tree_survives_every_trait_on_a_small_stack() {
    on_small_stack(|| {
        let input = deepest_filter();
        let opts = no_length_or_depth_limit();
        let f = parse_filter_ref_with(&input, &opts).expect("at the ceiling");
        let owned = parse_filter_with(&input, &opts).unwrap();
        assert_eq!(f.to_string(), owned.to_string());
        let debug = format!("{f:?}");
        let pretty = format!("{f:#?}");
        assert!(debug.len() > input.len() && pretty.len() > debug.len());
        let copy = f.clone();
        assert!(copy == f);
        assert_eq!(copy.into_owned(), owned);
        drop(f);
    });
}

/// A flat chain as long as the term limit allows: the borrowed tree is one node vector,
/// converted and dropped without recursion.
#[test]
fn the_longest_borrowed_chain_converts_and_drops_on_a_small_stack() {
    on_small_stack(|| {
        let opts = unlimited_len();
        let input = vec!["not (a pr)"; 1024].join(" or ");
        let f = parse_filter_ref_with(&input, &opts).expect("within the term budget");
        let owned = f.to_owned_filter();
        assert_eq!(owned, parse_filter_with(&input, &opts).unwrap());
        assert_eq!(f.to_string(), input);
        drop(f);
    });
}

#[test]
fn limits_can_be_lowered() {
    let opts = ParseOptions {
        max_len: 10,
        max_depth: 1,
        max_terms: 2,
        ..Default::default()
    };
    let err = parse_filter_with("userName pr", &opts).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InputTooLong { len: 11, max: 10 });
    assert!(parse_filter_with("(a pr)", &opts).is_ok());
    let err = parse_filter_with("((a pr))", &opts).unwrap_err();
    assert_eq!(
        (err.kind, err.span.start),
        (ErrorKind::NestingTooDeep { max: 1 }, 1)
    );
    let err = parse_filter_with(
        "a pr or b pr or c pr",
        &ParseOptions {
            max_len: 100,
            ..opts
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.kind, err.span.start),
        (ErrorKind::TooManyTerms { max: 2 }, 16)
    );
}

/// The tallest tree the depth ceiling allows: each level is an `or` holding an `and`
/// holding a `not`, so the tree is three nodes deeper per level of nesting than
/// `deepest_filter`, with a value path of the same shape at the bottom.
fn tallest_filter() -> String {
    let levels = MAX_DEPTH_CEILING - 2;
    let bottom = r#"x[a eq "\"" or b pr and not (c pr)]"#;
    format!(
        "{}{bottom}{}",
        "a pr or b pr and not (".repeat(levels),
        ")".repeat(levels)
    )
}

/// Every recursive trait of both trees at that height, on a small stack: `==` (written by
/// hand for the borrowed tree, recursing through `Operands`), `Debug`, `Display`,
/// conversion, clone and drop.
#[test]
fn the_tallest_tree_compares_prints_and_converts_on_a_small_stack() {
    on_small_stack(|| {
        let input = tallest_filter();
        let opts = no_length_or_depth_limit();
        let f = parse_filter_ref_with(&input, &opts).expect("at the ceiling");
        let copy = input.clone();
        let g = parse_filter_ref_with(&copy, &opts).unwrap();
        assert!(f == g && f.root() == g.root());
        // the same tree but for one name deep down, and one span deep down
        let renamed = input.replacen("c pr", "d pr", 1);
        let h = parse_filter_ref_with(&renamed, &opts).unwrap();
        assert!(f != h);
        let shifted = input.replacen("(c pr)", "( c pr)", 1);
        let k = parse_filter_ref_with(&shifted, &opts).unwrap();
        assert!(f != k && f.to_string() == k.to_string());
        // (`{:#?}` is left to the test above: its indentation is quadratic in the height)
        let debug = format!("{f:?}");
        assert!(debug.len() > input.len());
        let owned = f.to_owned_filter();
        assert_eq!(owned.to_string(), f.to_string());
        assert!(owned == g.clone().into_owned() && owned.eq_ignore_spans(&k.to_owned_filter()));
        assert_eq!(
            parse_filter_with(&f.to_string(), &opts)
                .unwrap()
                .to_string(),
            f.to_string()
        );
        assert!(format!("{owned:?}").len() > debug.len() / 2);
        drop((f, g, h, k, owned));
        let err = parse_filter_with(&format!("({input})"), &opts).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::NestingTooDeep {
                max: MAX_DEPTH_CEILING
            }
        );
    });
}
