//! Criterion benchmarks for scim-parser: filter parsing per corpus group, `Display` round
//! trips, evaluation, PatchOp documents (parse and apply) and scaling over nesting depth and
//! input length.
//!
//! The corpus is `corpus/bench/filters.txt` (three groups: typical IdP lookups, complex
//! filters, long inputs). Each parse benchmark parses every filter of a group once per
//! iteration; its throughput is the group's byte count, so criterion reports MB/s, and
//! `scripts/bench-table.py` divides the time by the filter count for ns per filter.
//!
//! Run with a short measurement time on a shared machine:
//!
//! ```text
//! cargo bench -p scim-parser --bench parser -- --measurement-time 3 --warm-up-time 1
//! python3 scripts/bench-table.py
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scim_parser::eval::{matches, matches_unchecked};
use scim_parser::patch::{apply, Mode, PatchDocument};
use scim_parser::{
    parse_filter, parse_filter_ref, parse_filter_ref_with, parse_filter_with, Filter, ParseOptions,
    ResourceSchema,
};
use serde_json::{json, Value};
use std::hint::black_box;

const CORPUS: &str = include_str!("../../corpus/bench/filters.txt");

/// The corpus groups in file order: `(name, filters)`.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for line in CORPUS.lines() {
        if let Some(name) = line.strip_prefix("# group: ") {
            out.push((name.trim(), Vec::new()));
        } else if !line.is_empty() && !line.starts_with('#') {
            let group = out
                .last_mut()
                .expect("a filter line before any `# group:` line");
            group.1.push(line);
        }
    }
    out
}

fn bytes(filters: &[&str]) -> u64 {
    filters.iter().map(|f| f.len() as u64).sum()
}

/// Parses every filter, counting the accepted ones (all of them, checked in `parse`).
fn parse_all(filters: &[&str]) -> usize {
    let mut ok = 0;
    for f in filters {
        ok += usize::from(parse_filter(black_box(f)).is_ok());
    }
    ok
}

/// The same with the borrowed tree ([`parse_filter_ref`]).
fn parse_all_ref(filters: &[&str]) -> usize {
    let mut ok = 0;
    for f in filters {
        ok += usize::from(parse_filter_ref(black_box(f)).is_ok());
    }
    ok
}

/// `parse` is the owned tree ([`parse_filter`]), `parse-ref` the borrowed one.
fn parse(c: &mut Criterion) {
    let groups = groups();
    for (group, parse_group) in [
        ("parse", parse_all as fn(&[&str]) -> usize),
        ("parse-ref", parse_all_ref),
    ] {
        let mut g = c.benchmark_group(group);
        let mut all = Vec::new();
        for (name, filters) in &groups {
            // a benchmark of rejected inputs would measure error paths: refuse to run it
            assert_eq!(
                parse_group(filters),
                filters.len(),
                "group {name} has a filter we reject"
            );
            g.throughput(Throughput::Bytes(bytes(filters)));
            g.bench_function(*name, |b| b.iter(|| parse_group(filters)));
            all.extend(filters.iter().copied());
        }
        g.throughput(Throughput::Bytes(bytes(&all)));
        g.bench_function("corpus", |b| b.iter(|| parse_group(&all)));
        g.finish();
    }
}

/// Printing parsed filters, and print-then-parse.
fn display(c: &mut Criterion) {
    let all: Vec<&str> = groups().into_iter().flat_map(|(_, f)| f).collect();
    let parsed: Vec<Filter> = all.iter().map(|f| parse_filter(f).unwrap()).collect();
    let printed: Vec<String> = parsed.iter().map(ToString::to_string).collect();
    let mut g = c.benchmark_group("display");
    g.throughput(Throughput::Bytes(
        printed.iter().map(|s| s.len() as u64).sum(),
    ));
    g.bench_function("print", |b| {
        b.iter(|| {
            parsed
                .iter()
                .map(|f| black_box(f).to_string().len())
                .sum::<usize>()
        })
    });
    g.bench_function("roundtrip", |b| {
        b.iter(|| {
            for f in &parsed {
                let again = parse_filter(&black_box(f).to_string()).unwrap();
                black_box(again);
            }
        })
    });
    g.finish();
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                 "lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

/// Evaluation of already parsed filters against one User; `checked` adds `validate`.
fn eval(c: &mut Criterion) {
    let user = user();
    let schema = ResourceSchema::user();
    let cases = [
        ("typical", r#"userName eq "BJENSEN@example.com""#),
        ("externalId", r#"externalId eq "bjensen""#),
        (
            "valuePath",
            r#"emails[type eq "work" and value co "@example.com"]"#,
        ),
        (
            "complex",
            r#"userType eq "Employee" and (title pr or active eq false) and meta.lastModified gt "2011-01-01T00:00:00Z""#,
        ),
    ];
    let mut g = c.benchmark_group("eval");
    for (name, text) in cases {
        let f = parse_filter(text).unwrap();
        assert!(matches(&f, &user, &schema).unwrap(), "{name} should match");
        g.bench_function(BenchmarkId::new("unchecked", name), |b| {
            b.iter(|| matches_unchecked(black_box(&f), black_box(&user), &schema))
        });
        g.bench_function(BenchmarkId::new("checked", name), |b| {
            b.iter(|| matches(black_box(&f), black_box(&user), &schema).unwrap())
        });
    }
    g.finish();
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn members(from: usize, n: usize) -> Value {
    let items: Vec<Value> = (from..from + n)
        .map(|i| json!({"value": format!("{i:08x}-7f76-453a-919d-413861904646"), "display": format!("User {i}")}))
        .collect();
    Value::Array(items)
}

fn group_with(n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": members(0, n),
    })
}

/// PatchOp documents: parse (strict and interop) and apply.
fn patch(c: &mut Criterion) {
    // Entra's default deactivate (capitalised op, boolean as a string): interop only; the
    // RFC form of the same change for strict.
    let entra_deactivate =
        patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let rfc_deactivate = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    let okta_delta = patch_body(json!([
        {"op": "remove", "path": "members[value eq \"00000005-7f76-453a-919d-413861904646\"]"},
        {"op": "add", "path": "members", "value": [{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]}
    ]));
    let add_1k =
        patch_body(json!([{"op": "add", "path": "members", "value": members(1_000, 1_000)}]));
    let add_10k =
        patch_body(json!([{"op": "add", "path": "members", "value": members(10_000, 10_000)}]));

    let mut g = c.benchmark_group("patch");
    let parse_cases = [
        ("entra-deactivate", &entra_deactivate, Mode::Interop),
        ("rfc-deactivate", &rfc_deactivate, Mode::Strict),
        ("rfc-deactivate", &rfc_deactivate, Mode::Interop),
        ("okta-member-delta", &okta_delta, Mode::Strict),
        ("okta-member-delta", &okta_delta, Mode::Interop),
        ("add-1000-members", &add_1k, Mode::Strict),
        ("add-1000-members", &add_1k, Mode::Interop),
    ];
    for (name, body, mode) in parse_cases {
        let id = format!("parse-{}", mode_name(mode));
        g.bench_function(BenchmarkId::new(id, name), |b| {
            b.iter(|| PatchDocument::parse(black_box(body), mode).unwrap())
        });
    }

    let user = user();
    let users = ResourceSchema::user();
    let groups = ResourceSchema::group();
    let doc = PatchDocument::parse(&entra_deactivate, Mode::Interop).unwrap();
    g.bench_function(BenchmarkId::new("apply", "entra-deactivate"), |b| {
        b.iter(|| apply(black_box(&doc), black_box(&user), &users).unwrap())
    });
    let doc = PatchDocument::parse(&okta_delta, Mode::Strict).unwrap();
    let group = group_with(100);
    g.bench_function(BenchmarkId::new("apply", "okta-member-delta-100"), |b| {
        b.iter(|| apply(black_box(&doc), black_box(&group), &groups).unwrap())
    });
    for (n, body) in [(1_000, &add_1k), (10_000, &add_10k)] {
        let doc = PatchDocument::parse(body, Mode::Strict).unwrap();
        let group = group_with(n);
        let applied = apply(&doc, &group, &groups).unwrap();
        assert_eq!(applied.resource["members"].as_array().unwrap().len(), 2 * n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("apply-add-members", n), |b| {
            b.iter(|| apply(black_box(&doc), black_box(&group), &groups).unwrap())
        });
    }
    g.finish();
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Strict => "strict",
        _ => "interop",
    }
}

/// Options wide enough for the scaling inputs: 128 levels, 128 KiB, no term limit.
fn wide() -> ParseOptions {
    ParseOptions {
        max_len: 128 * 1024,
        max_depth: 128,
        max_terms: usize::MAX,
        ..ParseOptions::default()
    }
}

/// `(title eq "t0" or (title eq "t1" or ( ... )))`, `depth` groups deep.
pub fn nested(depth: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("(title eq \"t{i}\" or "));
    }
    s.push_str("title pr");
    s.push_str(&")".repeat(depth));
    s
}

/// `userName eq "user0@example.com" or ...` up to at least `len` bytes.
pub fn or_chain(len: usize) -> String {
    let mut s = String::from("userName eq \"user0@example.com\"");
    let mut i = 1;
    while s.len() < len {
        s.push_str(&format!(" or userName eq \"user{i}@example.com\""));
        i += 1;
    }
    s
}

/// `description eq "..."` with a string literal of `len` bytes, one escape every 64.
pub fn long_string(len: usize) -> String {
    let mut body = String::with_capacity(len);
    while body.len() < len {
        body.push_str(if body.len() % 64 == 0 {
            "\\\""
        } else {
            "lorem ipsum "
        });
    }
    format!("description eq \"{body}\"")
}

fn scaling(c: &mut Criterion) {
    let opts = wide();
    let mut g = c.benchmark_group("scale-depth");
    for depth in [8, 16, 32, 64, 128] {
        let input = nested(depth);
        parse_filter_with(&input, &opts).unwrap();
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_with_input(BenchmarkId::new("owned", depth), &input, |b, input| {
            b.iter(|| parse_filter_with(black_box(input), &opts).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("ref", depth), &input, |b, input| {
            b.iter(|| parse_filter_ref_with(black_box(input), &opts).unwrap())
        });
    }
    g.finish();
    for (name, make) in [
        ("scale-length-or", or_chain as fn(usize) -> String),
        ("scale-length-string", long_string),
    ] {
        let mut g = c.benchmark_group(name);
        for kib in [1, 2, 4, 8, 16, 32, 64] {
            let input = make(kib * 1024);
            parse_filter_with(&input, &opts).unwrap();
            g.throughput(Throughput::Bytes(input.len() as u64));
            let id = format!("{kib}KiB");
            g.bench_with_input(BenchmarkId::new("owned", &id), &input, |b, input| {
                b.iter(|| parse_filter_with(black_box(input), &opts).unwrap())
            });
            g.bench_with_input(BenchmarkId::new("ref", &id), &input, |b, input| {
                b.iter(|| parse_filter_ref_with(black_box(input), &opts).unwrap())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, parse, display, eval, patch, scaling);
criterion_main!(benches);
