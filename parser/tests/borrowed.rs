//! The borrowed tree ([`parse_filter_ref_with`]) against the owned one
//! ([`parse_filter_with`]) over every stored filter input, in every profile: the same
//! verdict, the same tree once converted (spans included), the same printed text, the same
//! error and rendering. Also checks that the borrowed tree really borrows: every name,
//! number and escape-free string is a slice of the input at the place its span says, and
//! only strings with an escape are decoded (once, into the tree).
//!
//! The inputs: `corpus/filters/{valid,invalid,lenient}`, the anchor table
//! (`corpus/filters/anchors.jsonl`, stored inputs only), the benchmark corpus
//! (`corpus/bench/filters.txt`) and the fuzz regressions (`parser/tests/fuzz/filter`).
//! `tests/roundtrip.rs` adds the same check on generated trees.

use scim_parser::filter::{
    parse_filter_ref_with, AttrPathRef, FilterNode, FilterRef, FilterRefKind, LiteralRef,
    LiteralValueRef,
};
use scim_parser::{parse_filter_with, Filter, FilterKind, ParseOptions};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file of `dir`, as text, sorted by name.
fn files(dir: &Path) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// Every stored filter input.
fn inputs() -> Vec<String> {
    let root = root();
    let mut out = Vec::new();
    for dir in ["valid", "invalid", "lenient"] {
        out.extend(files(&root.join("corpus/filters").join(dir)));
    }
    out.extend(files(&root.join("parser/tests/fuzz/filter")));
    let anchors = std::fs::read_to_string(root.join("corpus/filters/anchors.jsonl"))
        .expect("corpus/filters/anchors.jsonl");
    for line in anchors.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("an anchor row is JSON");
        if row["grammar"] == "filter" && row.get("generate").is_none() {
            if let Some(input) = row["input"].as_str() {
                out.push(input.to_owned());
            }
        }
    }
    let bench = std::fs::read_to_string(root.join("corpus/bench/filters.txt"))
        .expect("corpus/bench/filters.txt");
    out.extend(
        bench
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned),
    );
    out
}

/// `inner` lies inside `outer` (the same memory, not a copy).
fn is_slice_of(inner: &str, outer: &str) -> bool {
    let (start, end) = (
        outer.as_ptr() as usize,
        outer.as_ptr() as usize + outer.len(),
    );
    let at = inner.as_ptr() as usize;
    at >= start && at + inner.len() <= end
}

fn check_path(path: &AttrPathRef<'_>, input: &str) {
    let text = &input[path.span.start..path.span.end];
    assert_eq!(path.to_string(), text, "path span of {input:?}");
    for part in [path.uri, Some(path.name), path.sub_attr]
        .into_iter()
        .flatten()
    {
        assert!(is_slice_of(part, text), "{part:?} is a copy in {input:?}");
    }
}

fn check_literal(lit: &LiteralRef<'_>, input: &str) {
    let raw = &input[lit.span.start..lit.span.end];
    match &lit.value {
        LiteralValueRef::Number(n) => {
            assert_eq!(*n, raw);
            assert!(is_slice_of(n, raw), "number {n:?} copied in {input:?}");
        }
        LiteralValueRef::String(Cow::Borrowed(s)) if !raw.contains('\\') => {
            assert_eq!(
                Some(*s),
                raw.get(1..raw.len() - 1),
                "string span of {input:?}"
            );
            assert!(is_slice_of(s, raw), "string {s:?} copied in {input:?}");
        }
        LiteralValueRef::String(Cow::Borrowed(s)) => {
            // decoded once, at parse time, into the tree
            assert!(!is_slice_of(s, input), "{s:?} not decoded in {input:?}");
            assert_eq!(
                serde_json::from_str::<String>(raw).ok().as_deref(),
                Some(*s),
                "decoded string of {input:?}"
            );
        }
        LiteralValueRef::String(Cow::Owned(s)) => {
            panic!("{s:?} copied out of the tree for {input:?}");
        }
        LiteralValueRef::Null | LiteralValueRef::Bool(_) => {
            assert_eq!(lit.value.to_string(), raw);
        }
    }
}

/// Walks the tree (explicit stack), checking every leaf borrows from `input`.
fn check_borrows(filter: &FilterRef<'_>, input: &str) {
    let mut todo = vec![filter.root()];
    while let Some(f) = todo.pop() {
        match f.kind() {
            FilterRefKind::Compare { path, value, .. } => {
                check_path(&path, input);
                check_literal(&value, input);
            }
            FilterRefKind::Present { path } => check_path(&path, input),
            FilterRefKind::And(items) | FilterRefKind::Or(items) => todo.extend(items),
            FilterRefKind::Not(inner) => todo.push(inner),
            FilterRefKind::ValuePath { path, filter } => {
                check_path(&path, input);
                todo.push(filter);
            }
        }
    }
}

/// Walks the borrowed tree through its node views (explicit stack) beside the owned tree,
/// checking every node's kind, operands, leaves and span: the views agree with
/// `into_owned`, which `parse_filter` uses.
fn check_views(borrowed: &FilterRef<'_>, owned: &Filter, input: &str) {
    let mut todo: Vec<(FilterNode<'_, '_>, &Filter)> = vec![(borrowed.root(), owned)];
    while let Some((b, o)) = todo.pop() {
        assert_eq!(b.span(), o.span, "{input:?}");
        match (b.kind(), &o.kind) {
            (
                FilterRefKind::Compare { path, op, value },
                FilterKind::Compare {
                    path: p,
                    op: o,
                    value: v,
                },
            ) => {
                assert_eq!((path.into_owned(), op), (p.clone(), *o), "{input:?}");
                assert_eq!(value.clone().into_owned(), *v, "{input:?}");
            }
            (FilterRefKind::Present { path }, FilterKind::Present { path: p }) => {
                assert_eq!(path.into_owned(), *p, "{input:?}");
            }
            (FilterRefKind::And(items), FilterKind::And(owned))
            | (FilterRefKind::Or(items), FilterKind::Or(owned)) => {
                assert_eq!(items.len(), owned.len(), "{input:?}");
                todo.extend(items.zip(owned));
            }
            (FilterRefKind::Not(inner), FilterKind::Not(o)) => todo.push((inner, o)),
            (
                FilterRefKind::ValuePath { path, filter },
                FilterKind::ValuePath { path: p, filter: f },
            ) => {
                assert_eq!(path.into_owned(), *p, "{input:?}");
                todo.push((filter, f));
            }
            (b, o) => panic!("{input:?}: borrowed {b:?}, owned {o:?}"),
        }
    }
}

/// Parses `input` both ways with `opts`; returns whether it was accepted.
fn agree(input: &str, opts: &ParseOptions) -> bool {
    match (
        parse_filter_with(input, opts),
        parse_filter_ref_with(input, opts),
    ) {
        (Ok(owned), Ok(borrowed)) => {
            assert_eq!(borrowed.to_owned_filter(), owned, "{input:?} {opts:?}");
            assert_eq!(borrowed.to_string(), owned.to_string(), "{input:?}");
            check_borrows(&borrowed, input);
            check_views(&borrowed, &owned, input);
            assert_eq!(borrowed.into_owned(), owned);
            true
        }
        (Err(owned), Err(borrowed)) => {
            assert_eq!(borrowed, owned, "{input:?} {opts:?}");
            assert_eq!(borrowed.render(input), owned.render(input));
            false
        }
        (owned, borrowed) => panic!("{input:?} {opts:?}: owned {owned:?}, borrowed {borrowed:?}"),
    }
}

#[test]
fn borrowed_and_owned_parses_agree_on_every_stored_input() {
    let inputs = inputs();
    let profiles = [
        ParseOptions::default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
    ];
    let (mut accepted, mut rejected) = (0, 0);
    for input in &inputs {
        for opts in &profiles {
            if agree(input, opts) {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    // both verdicts are exercised, over the whole corpus
    assert!(inputs.len() > 400, "only {} inputs found", inputs.len());
    assert!(
        accepted > 500 && rejected > 100,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// Long and deep inputs (the limits' edges) agree too.
#[test]
fn borrowed_and_owned_parses_agree_at_the_limits() {
    let deep = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    let long_string = format!("a eq \"{}\\n{}\"", "x".repeat(5000), "é".repeat(1000));
    let cases = [
        deep(64),
        deep(65),
        "not (".repeat(64) + "a pr" + &")".repeat(64),
        long_string,
        "a pr or ".repeat(1100) + "a pr",
        "x".repeat(9000),
        "a eq \"\\uD83D\\uDE00\" and b eq \"\\uD800\"".to_owned(),
    ];
    for input in &cases {
        for opts in [ParseOptions::default(), ParseOptions::strict()] {
            agree(input, &opts);
        }
    }
}

/// The check above can fail: a tree whose leaves were copied from the input is caught.
#[test]
fn a_copied_string_is_caught() {
    let input = r#"userName eq "bjensen""#;
    let copy = input.to_owned();
    let f = parse_filter_ref_with(&copy, &ParseOptions::default()).unwrap();
    let caught = std::panic::catch_unwind(|| check_borrows(&f, input));
    assert!(caught.is_err());
}

/// A tree may be declared before its input and so dropped after it, as long as it is not
/// used once the input is gone: the tree itself runs no `Drop` code that could touch the
/// input (only its node vector, which holds no borrow, does). Compiling this is the test.
/// See: the spare arena of 4c4247e put a `Drop` on `FilterRef<'a>`, which made this
/// function fail to compile (E0597, "`input` dropped here while still borrowed").
#[test]
fn a_tree_may_be_dropped_after_its_input() {
    fn printed() -> String {
        let mut trees = Vec::new();
        let input = String::from(r#"a pr and b eq "x\"y""#);
        trees.push(parse_filter_ref_with(&input, &ParseOptions::default()).unwrap());
        trees[0].to_string()
    }
    assert_eq!(printed(), r#"a pr and b eq "x\"y""#);
}
