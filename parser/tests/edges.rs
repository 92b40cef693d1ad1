//! The corners of the grammar that the one-pass path scanner, the operator hash, the
//! whitespace and `not` fast paths and the offset-based tree (commits a787214, c70f4cf,
//! 4c4247e) could get wrong, pinned with what RFC 7644 section 3.4.2.2 and RFC 7643
//! section 2.1 say, plus generated inputs checked against invariants that need no second
//! parser: borrowed and owned parses agree, leaves' spans slice the input to their printed
//! text, printing round-trips, and `==` on borrowed trees agrees with `==` on owned ones.

use scim_parser::filter::{parse_filter_ref_with, FilterNode, FilterRef, FilterRefKind};
use scim_parser::{
    parse_filter_with, parse_patch_path_with, CompareOp, ErrorKind, FilterKind, ParseOptions, Span,
};

const OPS: [(&str, CompareOp); 9] = [
    ("eq", CompareOp::Eq),
    ("ne", CompareOp::Ne),
    ("co", CompareOp::Co),
    ("sw", CompareOp::Sw),
    ("ew", CompareOp::Ew),
    ("gt", CompareOp::Gt),
    ("lt", CompareOp::Lt),
    ("ge", CompareOp::Ge),
    ("le", CompareOp::Le),
];

fn default() -> ParseOptions {
    ParseOptions::default()
}

/// `uri|name|sub` of the path of a lone `P pr`, or the error's kind and span.
fn path_of(input: &str, opts: &ParseOptions) -> Result<String, (ErrorKind, Span)> {
    let f = parse_filter_ref_with(input, opts).map_err(|e| (e.kind, e.span))?;
    let FilterRefKind::Present { path } = f.kind() else {
        panic!("{input:?} is no presence test: {f}")
    };
    assert_eq!(&input[path.span.start..path.span.end], path.to_string());
    Ok(format!(
        "{}|{}|{}",
        path.uri.unwrap_or("-"),
        path.name,
        path.sub_attr.unwrap_or("-")
    ))
}

fn ok(s: &str) -> Result<String, (ErrorKind, Span)> {
    Ok(s.to_owned())
}

fn err(kind: ErrorKind, start: usize, end: usize) -> Result<String, (ErrorKind, Span)> {
    Err((kind, Span::new(start, end)))
}

/// The URI is everything before the last `:` (dots included), the name runs to the first
/// `.` after it, and at most one sub-attribute follows; every part is checked wherever a
/// `$` stands.
#[test]
fn paths_with_many_colons_dots_and_dollars() {
    let bad_name = |found: &str| ErrorKind::ExpectedAttrName {
        found: scim_parser::Found::Text(found.into()),
    };
    let cases = [
        ("a:b:c:d:e.f pr", ok("a:b:c:d|e|f")),
        ("a.b.c:d pr", ok("a.b.c|d|-")),
        ("a.b:c.d pr", ok("a.b|c|d")),
        (
            "urn:x:2.0:User:name.givenName pr",
            ok("urn:x:2.0:User|name|givenName"),
        ),
        ("a:b.c.d pr", err(ErrorKind::TooManySubAttrs, 5, 6)),
        ("a.b.c pr", err(ErrorKind::TooManySubAttrs, 3, 4)),
        ("a..b pr", err(ErrorKind::TooManySubAttrs, 2, 3)),
        (
            "1:a pr",
            err(
                ErrorKind::InvalidUri {
                    found: scim_parser::Found::Text("1:".into()),
                },
                0,
                2,
            ),
        ),
        ("a:1b pr", Err((bad_name("1b"), Span::new(2, 4)))),
        // `$`: allowed inside names and leading a sub-attribute, never in the URI
        ("a:b$ pr", ok("a|b$|-")),
        ("a.$ref pr", ok("-|a|$ref")),
        ("u:a.$ref pr", ok("u|a|$ref")),
        ("a$b.c$d pr", ok("-|a$b|c$d")),
        ("x:y:a$b.c$d pr", ok("x:y|a$b|c$d")),
        ("a:$b pr", err(ErrorKind::LeadingDollar, 2, 3)),
        ("$a pr", err(ErrorKind::LeadingDollar, 0, 1)),
        (
            "a$:b pr",
            err(
                ErrorKind::InvalidUri {
                    found: scim_parser::Found::Text("a$:".into()),
                },
                0,
                3,
            ),
        ),
        ("a.b$.c pr", err(ErrorKind::TooManySubAttrs, 4, 5)),
        ("a.$b.c pr", err(ErrorKind::TooManySubAttrs, 4, 5)),
        ("a:b:$c.d pr", err(ErrorKind::LeadingDollar, 4, 5)),
    ];
    for (input, want) in cases {
        assert_eq!(path_of(input, &default()), want, "{input:?}");
    }
    // the same with `$` refused: every `$` is at fault where it stands
    let strict = ParseOptions {
        allow_dollar: false,
        ..default()
    };
    for (input, at) in [
        ("a:b$ pr", 3),
        ("a.$ref pr", 2),
        ("a$b.c pr", 1),
        ("a.c$d pr", 3),
        ("$a pr", 0),
    ] {
        assert_eq!(
            path_of(input, &strict),
            err(ErrorKind::DollarInName, at, at + 1),
            "{input:?}"
        );
    }
}

/// A path that ends the input: nothing is read past the end, and the error points at the
/// end.
#[test]
fn paths_at_the_very_end_of_the_input() {
    for input in ["a", "a.b", "urn:x:a", "a$", "a.$ref", "x:y.z"] {
        let e = parse_filter_with(input, &default()).unwrap_err();
        assert_eq!(
            (e.kind, e.span),
            (
                ErrorKind::ExpectedOperator {
                    found: scim_parser::Found::End
                },
                Span::new(input.len(), input.len())
            ),
            "{input:?}"
        );
        // as a PATCH path it is the whole input
        let p = parse_patch_path_with(input, &default()).unwrap();
        assert_eq!(
            (p.span, p.to_string().as_str()),
            (Span::new(0, input.len()), input)
        );
    }
    for (input, kind, at) in [
        ("a.", "ExpectedAttrName", 2),
        ("a:", "ExpectedAttrName", 2),
        ("urn:x:", "ExpectedAttrName", 6),
        ("a.b.", "TooManySubAttrs", 3),
        ("a:b.", "ExpectedAttrName", 4),
    ] {
        for e in [
            parse_filter_with(input, &default()).unwrap_err(),
            parse_patch_path_with(input, &default()).unwrap_err(),
        ] {
            assert!(
                format!("{:?}", e.kind).starts_with(kind),
                "{input:?}: {e:?}"
            );
            assert_eq!(e.span.start, at, "{input:?}: {e:?}");
            assert!(e.span.end <= input.len(), "{input:?}: {e:?}");
        }
    }
}

/// `not` in any case is the keyword only when `(` follows (after optional spaces);
/// anywhere else it is an attribute name like any other.
#[test]
fn not_in_any_case_as_keyword_or_name() {
    for spelled in ["not", "NOT", "nOt", "Not", "noT", "NoT", "nOT", "NOt"] {
        let parse = |rest: &str| parse_filter_with(&format!("{spelled}{rest}"), &default());
        for rest in ["(a pr)", " (a pr)", "  (a pr)", "\t(a pr)"] {
            let f = parse(rest).unwrap();
            assert!(matches!(f.kind, FilterKind::Not(_)), "{spelled}{rest}");
            assert_eq!(f.to_string(), "not (a pr)");
        }
        for (rest, printed) in [
            (" pr", format!("{spelled} pr")),
            (" eq 1", format!("{spelled} eq 1")),
            (".x pr", format!("{spelled}.x pr")),
            ("$ pr", format!("{spelled}$ pr")),
            ("[a pr]", format!("{spelled}[a pr]")),
            ("[a pr] or (b pr)", format!("{spelled}[a pr] or b pr")),
        ] {
            assert_eq!(parse(rest).unwrap().to_string(), printed, "{spelled}{rest}");
        }
        let f = parse_filter_with(&format!("u:{spelled} pr"), &default()).unwrap();
        assert_eq!(f.to_string(), format!("u:{spelled} pr"));
        for rest in ["", " a pr", " ", " (", "x (a pr)"] {
            let input = format!("{spelled}{rest}");
            let e = parse_filter_with(&input, &default()).unwrap_err();
            let want_not = rest != "x (a pr)" && rest != " (";
            assert_eq!(
                e.kind == ErrorKind::NotNeedsParen,
                want_not,
                "{input:?}: {e:?}"
            );
        }
        // strict mode: `not(` and `not (`, nothing else
        for (rest, good) in [
            ("(a pr)", true),
            (" (a pr)", true),
            ("  (a pr)", false),
            ("\t(a pr)", false),
        ] {
            let r = parse_filter_with(&format!("{spelled}{rest}"), &ParseOptions::strict());
            assert_eq!(r.is_ok(), good, "{spelled}{rest}: {r:?}");
        }
        let p = parse_patch_path_with(&format!("{spelled}[a pr].b"), &default()).unwrap();
        assert_eq!(p.attr.name, spelled);
    }
}

/// Every word of two ASCII bytes between a path and a value: a comparison exactly when it
/// is an operator in some case, with that operator; a value path followed by it is
/// refused with `ComparisonAfterValuePath` exactly then (or for `pr`).
#[test]
fn every_two_byte_word_around_an_operator() {
    for a in 0u8..128 {
        for b in 0u8..128 {
            let word = String::from_utf8(vec![a, b]).unwrap();
            let lower = word.to_ascii_lowercase();
            let want = OPS.iter().find(|(s, _)| *s == lower).map(|(_, op)| *op);
            let input = format!("x {word} 1");
            let got = parse_filter_with(&input, &default());
            match (want, &got) {
                (Some(op), Ok(f)) => {
                    let FilterKind::Compare { op: got, .. } = f.kind else {
                        panic!("{input:?}: {f:?}")
                    };
                    assert_eq!(got, op, "{input:?}");
                }
                (None, Err(_)) => {}
                _ => panic!("{input:?}: want {want:?}, got {got:?}"),
            }
            let borrowed = parse_filter_ref_with(&input, &default());
            assert_eq!(borrowed.map(|f| f.into_owned()), got, "{input:?}");
            let after = format!("x[y pr] {word} 1");
            let e = parse_filter_with(&after, &default()).unwrap_err();
            let refused = matches!(e.kind, ErrorKind::ComparisonAfterValuePath { .. });
            assert_eq!(refused, want.is_some() || lower == "pr", "{after:?}: {e:?}");
        }
    }
}

/// A path of two ASCII bytes: accepted exactly when it is `ALPHA nameChar` (or `ALPHA`
/// with whitespace before or after); strict mode refuses `$`, tabs and leading spaces.
#[test]
fn every_two_byte_path() {
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    for a in 0u8..128 {
        for b in 0u8..128 {
            let input = format!("{} pr", String::from_utf8(vec![a, b]).unwrap());
            let alpha = a.is_ascii_alphabetic();
            let ws = |c: u8| c == b' ' || c == b'\t';
            let lenient = alpha && (name_char(b) || b == b'$' || ws(b))
                || (ws(a) || a == b'\r' || a == b'\n') && b.is_ascii_alphabetic();
            let strict = alpha && name_char(b);
            for (opts, want) in [(default(), lenient), (ParseOptions::strict(), strict)] {
                let got = parse_filter_with(&input, &opts);
                assert_eq!(got.is_ok(), want, "{input:?} {opts:?}: {got:?}");
                assert_eq!(
                    parse_filter_ref_with(&input, &opts).map(FilterRef::into_owned),
                    got
                );
            }
        }
    }
}

/// Escaped strings in value paths, in the Entra form and in PATCH paths: decoded, printed
/// with their escapes, and the same borrowed and owned.
#[test]
fn escaped_strings_in_brackets() {
    let interop = ParseOptions::interop();
    let input = r#"emails[type eq "w\"x"].value eq "y\\z""#;
    let f = parse_filter_ref_with(input, &interop).unwrap();
    assert_eq!(
        f.to_string(),
        r#"emails[type eq "w\"x" and value eq "y\\z"]"#
    );
    let FilterRefKind::ValuePath { filter, .. } = f.kind() else {
        panic!()
    };
    let FilterRefKind::And(items) = filter.kind() else {
        panic!()
    };
    let values: Vec<String> = items
        .map(|n| match n.kind() {
            FilterRefKind::Compare { value, .. } => {
                let raw = &input[value.span.start..value.span.end];
                let decoded: String = serde_json::from_str(raw).unwrap();
                assert_eq!(
                    value.value.to_string(),
                    serde_json::to_string(&decoded).unwrap()
                );
                decoded
            }
            k => panic!("{k:?}"),
        })
        .collect();
    assert_eq!(values, ["w\"x", "y\\z"]);
    assert_eq!(
        f.to_owned_filter(),
        parse_filter_with(input, &interop).unwrap()
    );
    let e = parse_filter_with(input, &default()).unwrap_err();
    assert_eq!(
        (e.kind, e.span),
        (ErrorKind::EntraValuePathCompare, Span::new(22, 23))
    );
    // escapes everywhere in the Entra form, the `and` already there moved behind
    let input = r#"a[b eq "\u00e9" and c eq "\t"].d eq "\"" or e eq "\/""#;
    let f = parse_filter_ref_with(input, &interop).unwrap();
    assert_eq!(
        f.to_string(),
        r#"a[b eq "é" and c eq "\t" and d eq "\""] or e eq "/""#
    );
    assert_eq!(
        f.to_owned_filter(),
        parse_filter_with(input, &interop).unwrap()
    );
    assert_eq!(f.clone().into_owned(), f.to_owned_filter());
    // PATCH paths
    let p = parse_patch_path_with(
        r#"emails[value eq "a\"]b" or type eq "\\"].display"#,
        &default(),
    )
    .unwrap();
    assert_eq!(
        p.to_string(),
        r#"emails[value eq "a\"]b" or type eq "\\"].display"#
    );
    let FilterKind::Or(items) = &p.filter.as_ref().unwrap().kind else {
        panic!()
    };
    let FilterKind::Compare { value, .. } = &items[0].kind else {
        panic!()
    };
    assert_eq!(value.span, Span::new(16, 23));
    assert_eq!(
        value.value,
        scim_parser::LiteralValue::String("a\"]b".into())
    );
}

/// Two borrowed trees are equal exactly when their owned forms are: same shape, names,
/// values and spans, whatever the input they come from.
#[test]
fn borrowed_equality_agrees_with_owned_equality() {
    let inputs = [
        "a pr",
        "a pr ",
        " a pr",
        "A pr",
        "a  pr",
        "a eq 1",
        "a eq 1.0",
        "a eq \"1\"",
        "a eq \"\\u0031\"",
        "a eq \"x\"",
        "a eq \"\\u0078\"",
        "a pr and b pr",
        "a pr AND b pr",
        "a pr or b pr",
        "(a pr and b pr)",
        "a pr and (b pr)",
        "not (a pr)",
        "not(a pr)",
        "x[a pr]",
        "x[a pr and b pr]",
        "x[a pr].b pr",
        "u:a pr",
        "u:a.b pr",
        "u.a pr",
    ];
    let interop = ParseOptions::interop();
    let mut equal = Vec::new();
    for a in inputs {
        for b in inputs {
            // separate allocations, so nothing compares by address
            let (a2, b2) = (a.to_owned(), b.to_owned());
            let (ra, rb) = (
                parse_filter_ref_with(&a2, &interop).unwrap(),
                parse_filter_ref_with(&b2, &interop).unwrap(),
            );
            let (oa, ob) = (
                parse_filter_with(a, &interop).unwrap(),
                parse_filter_with(b, &interop).unwrap(),
            );
            assert_eq!(ra == rb, oa == ob, "{a:?} vs {b:?}");
            assert_eq!(ra.root() == rb.root(), oa == ob, "{a:?} vs {b:?}");
            if a != b && ra == rb {
                equal.push((a, b));
            }
        }
    }
    // only trailing whitespace and the case of a keyword leave every span in place
    assert_eq!(
        equal,
        [
            ("a pr", "a pr "),
            ("a pr ", "a pr"),
            ("a pr and b pr", "a pr AND b pr"),
            ("a pr AND b pr", "a pr and b pr"),
        ]
    );
}

// Generated inputs: a token soup that leans on the corners above.

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `xs`: from the part after the `|` one time in eight, if there is one.
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        let (good, bad) = match xs.iter().position(|&x| x == "|") {
            Some(at) => (&xs[..at], &xs[at + 1..]),
            None => (xs, &xs[..0]),
        };
        if bad.is_empty() || self.below(8) != 0 {
            good[self.below(good.len())]
        } else {
            bad[self.below(bad.len())]
        }
    }
}

/// Each list: first what the grammar accepts, then (after `|`) what it refuses; a pick
/// takes from the second part one time in eight.
const NAMES: &[&str] = &[
    "a", "not", "NOT", "nOt", "no", "nots", "and", "or", "pr", "eq", "emails", "x1", "a$b", "n",
    "|", "$ref", "_a", "9a", "",
];
const URIS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "u:v",
    "a.b",
    "|",
    "$u",
    "",
    "urn::x",
];
const WS: &[&str] = &[" ", " ", " ", "  ", "\t", "|", ""];
const WORDS: &[&str] = &[
    "eq", "EQ", "eQ", "ne", "co", "sw", "ew", "gt", "lt", "ge", "Le", "pr", "PR", "|", "e1", "eqx",
    "e.", "e$", "co:",
];
const VALUES: &[&str] = &[
    "\"x\"",
    "\"w\\\"x\"",
    "\"\\u00e9\"",
    "\"\\uD83D\\uDE00\"",
    "1",
    "-1.5e3",
    "true",
    "null",
    "\"\"",
    "\"a]b)\"",
    "\"\\\\\"",
    "|",
    "Null",
    "01",
    "x",
    "\"open",
];

fn gen_path(r: &mut Rng, out: &mut String) {
    if r.below(4) == 0 {
        out.push_str(r.pick(URIS));
        out.push(':');
    }
    out.push_str(r.pick(NAMES));
    // a sub-attribute, one more URI part or a `$` join, rarely two of them
    for _ in 0..r.below(4).saturating_sub(1) {
        out.push_str(r.pick(&[".", ":", ".", "$"]));
        out.push_str(r.pick(NAMES));
    }
}

fn gen_term(r: &mut Rng, out: &mut String, depth: usize) {
    match r.below(if depth > 3 { 2 } else { 5 }) {
        0 | 1 => {
            gen_path(r, out);
            out.push_str(r.pick(WS));
            let op = r.pick(WORDS);
            out.push_str(op);
            if !op.eq_ignore_ascii_case("pr") || r.below(5) == 0 {
                out.push_str(r.pick(WS));
                out.push_str(r.pick(VALUES));
            }
        }
        2 => {
            out.push_str(r.pick(&["(", "( ", "not (", "NOT(", "nOt  ("]));
            gen_expr(r, out, depth + 1);
            out.push_str(r.pick(&[")", " )", ")"]));
        }
        _ => {
            gen_path(r, out);
            out.push('[');
            gen_expr(r, out, depth + 1);
            out.push(']');
            if r.below(3) == 0 {
                out.push('.');
                out.push_str(r.pick(NAMES));
                out.push(' ');
                out.push_str(r.pick(WORDS));
                out.push(' ');
                out.push_str(r.pick(VALUES));
            }
        }
    }
}

fn gen_expr(r: &mut Rng, out: &mut String, depth: usize) {
    gen_term(r, out, depth);
    for _ in 0..r.below(3) {
        out.push_str(r.pick(WS));
        out.push_str(r.pick(&["and", "or", "AND", "oR"]));
        out.push_str(r.pick(WS));
        gen_term(r, out, depth);
    }
}

/// Every leaf's spans slice the input to the leaf's printed text (a string to text that
/// decodes to its value), and every node's span lies inside its parent's, operands in order.
fn check_spans(node: FilterNode<'_, '_>, input: &str, outer: Span) {
    let span = node.span();
    assert!(
        outer.start <= span.start && span.end <= outer.end,
        "{input:?}"
    );
    let slice = |s: Span| &input[s.start..s.end];
    match node.kind() {
        FilterRefKind::Compare { path, op, value } => {
            assert_eq!(slice(path.span), path.to_string(), "{input:?}");
            let raw = slice(value.span);
            match &value.value {
                scim_parser::filter::LiteralValueRef::String(s) => {
                    assert_eq!(
                        serde_json::from_str::<String>(raw).unwrap(),
                        **s,
                        "{input:?}"
                    );
                }
                v => assert_eq!(raw, v.to_string(), "{input:?}"),
            }
            let between = &input[path.span.end..value.span.start];
            assert!(
                between.trim().eq_ignore_ascii_case(op.as_str()),
                "{input:?}"
            );
            assert_eq!((span.start, span.end), (path.span.start, value.span.end));
        }
        FilterRefKind::Present { path } => {
            assert_eq!(slice(path.span), path.to_string(), "{input:?}");
            assert!(slice(span)[path.span.end - span.start..]
                .trim()
                .eq_ignore_ascii_case("pr"));
        }
        FilterRefKind::And(items) | FilterRefKind::Or(items) => {
            let mut at = span.start;
            for item in items {
                assert!(item.span().start >= at, "{input:?}");
                at = item.span().end;
                check_spans(item, input, span);
            }
            assert_eq!(at, span.end, "{input:?}");
        }
        FilterRefKind::Not(inner) => {
            assert!(slice(span).to_ascii_lowercase().starts_with("not"));
            check_spans(inner, input, span);
        }
        FilterRefKind::ValuePath { path, filter } => {
            assert_eq!(slice(path.span), path.to_string(), "{input:?}");
            check_spans(filter, input, span);
        }
    }
}

#[test]
fn generated_inputs_keep_every_invariant() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let profiles = [
        default(),
        ParseOptions::strict(),
        ParseOptions::interop(),
        ParseOptions {
            allow_dollar: false,
            ..ParseOptions::interop()
        },
    ];
    let (mut accepted, mut paths) = (0, 0);
    let mut previous: Vec<(String, usize)> = Vec::new();
    for _ in 0..5000 {
        let mut input = String::new();
        gen_expr(&mut r, &mut input, 0);
        if r.below(6) == 0 {
            input = format!(" {input}\t");
        }
        for (i, opts) in profiles.iter().enumerate() {
            let owned = parse_filter_with(&input, opts);
            let borrowed = parse_filter_ref_with(&input, opts);
            match (&owned, &borrowed) {
                (Ok(o), Ok(b)) => {
                    accepted += 1;
                    assert_eq!(b.to_owned_filter(), *o, "{input:?}");
                    assert_eq!(b.clone().into_owned(), *o, "{input:?}");
                    assert_eq!(b.to_string(), o.to_string(), "{input:?}");
                    assert!(*b == b.clone());
                    check_spans(b.root(), &input, Span::new(0, input.len()));
                    let printed = o.to_string();
                    let again = parse_filter_ref_with(&printed, opts).unwrap();
                    assert!(again.to_owned_filter().eq_ignore_spans(o), "{input:?}");
                    assert_eq!(again.to_string(), printed, "{input:?}");
                    // keywords' case and tabs for spaces are all that may differ between two
                    // equal trees
                    if printed == input {
                        assert!(again == *b, "{input:?}");
                    }
                    if again == *b {
                        let input = input.trim_end().replace('\t', " ");
                        assert!(printed.eq_ignore_ascii_case(&input), "{input:?}");
                    }
                    previous.push((input.clone(), i));
                }
                (Err(o), Err(b)) => {
                    assert_eq!(o, b, "{input:?}");
                    assert!(o.span.start <= o.span.end && o.span.end <= input.len());
                }
                _ => panic!("{input:?}: {owned:?} vs {borrowed:?}"),
            }
        }
        // PATCH paths built from the same pieces
        let mut path = String::new();
        gen_path(&mut r, &mut path);
        if r.below(2) == 0 {
            path.push('[');
            path.push_str(&input);
            path.push(']');
            if r.below(2) == 0 {
                path.push('.');
                path.push_str(r.pick(NAMES));
            }
        }
        for opts in &profiles {
            if let Ok(p) = parse_patch_path_with(&path, opts) {
                paths += 1;
                assert_eq!(
                    &path[p.attr.span.start..p.attr.span.end],
                    p.attr.to_string()
                );
                let again = parse_patch_path_with(&p.to_string(), opts).unwrap();
                assert!(again.eq_ignore_spans(&p), "{path:?}");
            }
        }
    }
    assert!(
        accepted > 1000,
        "only {accepted} accepted: the generator drifted"
    );
    assert!(paths > 1000, "only {paths} PATCH paths accepted");
    // borrowed `==` agrees with owned `==` across different inputs
    for w in previous.windows(2) {
        let ((a, i), (b, j)) = (&w[0], &w[1]);
        let (ra, rb) = (
            parse_filter_ref_with(a, &profiles[*i]).unwrap(),
            parse_filter_ref_with(b, &profiles[*j]).unwrap(),
        );
        assert_eq!(
            ra == rb,
            ra.to_owned_filter() == rb.to_owned_filter(),
            "{a:?} {b:?}"
        );
    }
}
