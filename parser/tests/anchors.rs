//! Every parse case of the survey's case list (F01-F107, P01-P30), the RFC 7644 example
//! filters (Figure 2) and PATCH paths (Figure 8), and the parser cases of the bug log,
//! run from the data table `corpus/filters/anchors.jsonl`.
//!
//! Each row states, per profile (default, strict, interop), whether the input is accepted;
//! for accepted rows the tree as an s-expression, for rejected rows the error kind and
//! byte offset. The seed files under `corpus/filters/{valid,invalid,lenient}` and
//! `corpus/filters/paths/...` must agree with the table.

use scim_parser::{
    parse_filter_with, parse_patch_path_with, AttrPath, Error, Filter, FilterKind, ParseOptions,
    PatchPath,
};
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/filters")
}

fn rows() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus().join("anchors.jsonl")).expect("anchors.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect()
}

/// The generated inputs (too big or too regular to store): `kind:count`.
fn generate(spec: &str) -> String {
    let (kind, n) = spec.split_once(':').expect("kind:count");
    let n: usize = n.parse().expect("count");
    match kind {
        "paren" => format!("{}title pr{}", "(".repeat(n), ")".repeat(n)),
        "not" => format!("{}title pr{}", "not (".repeat(n), ")".repeat(n)),
        "or" => (0..n)
            .map(|i| format!("id eq \"{i}\""))
            .collect::<Vec<_>>()
            .join(" or "),
        "bracket" => format!("emails[{}type eq \"work\"{}]", "(".repeat(n), ")".repeat(n)),
        "longstring" => format!("userName eq \"{}\"", "a".repeat(n)),
        _ => panic!("unknown generator {kind}"),
    }
}

fn input(row: &Value) -> String {
    match (row.get("input"), row.get("generate")) {
        (Some(Value::String(s)), _) => s.clone(),
        (_, Some(Value::String(g))) => generate(g),
        _ => panic!("row without input: {row}"),
    }
}

fn path_sexpr(p: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(uri) = &p.uri {
        s.push_str(uri);
        s.push('|');
    }
    s.push_str(&p.name);
    if let Some(sub) = &p.sub_attr {
        s.push('.');
        s.push_str(sub);
    }
    s
}

/// The tree as an s-expression: `(op path value)`, `(pr path)`, `(and ...)`, `(or ...)`,
/// `(not x)`, `(vp path x)`; a URI prefix is separated from the name by `|`.
fn sexpr(f: &Filter) -> String {
    match &f.kind {
        FilterKind::Compare { path, op, value } => {
            format!("({op} {} {value})", path_sexpr(path))
        }
        FilterKind::Present { path } => format!("(pr {})", path_sexpr(path)),
        FilterKind::And(items) | FilterKind::Or(items) => {
            let name = if matches!(f.kind, FilterKind::And(_)) {
                "and"
            } else {
                "or"
            };
            let parts: Vec<String> = items.iter().map(sexpr).collect();
            format!("({name} {})", parts.join(" "))
        }
        FilterKind::Not(inner) => format!("(not {})", sexpr(inner)),
        FilterKind::ValuePath { path, filter } => {
            format!("(vp {} {})", path_sexpr(path), sexpr(filter))
        }
    }
}

fn patch_sexpr(p: &PatchPath) -> String {
    format!(
        "(path {} {} {})",
        path_sexpr(&p.attr),
        p.filter.as_ref().map_or("_".to_owned(), sexpr),
        p.sub_attr.as_deref().unwrap_or("_")
    )
}

/// The name of an error kind's variant, from its `Debug` form.
fn kind_name(e: &Error) -> String {
    let dbg = format!("{:?}", e.kind);
    dbg.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn parse(grammar: &str, input: &str, opts: &ParseOptions) -> Result<String, Error> {
    match grammar {
        "filter" => parse_filter_with(input, opts).map(|f| {
            // every accepted tree prints to a form that parses back to the same tree
            let printed = f.to_string();
            let again = parse_filter_with(&printed, opts)
                .unwrap_or_else(|e| panic!("re-parse of {printed:?} failed: {e}"));
            assert!(
                f.eq_ignore_spans(&again),
                "round trip changed {input:?} via {printed:?}"
            );
            sexpr(&f)
        }),
        "path" => parse_patch_path_with(input, opts).map(|p| {
            let printed = p.to_string();
            let again = parse_patch_path_with(&printed, opts)
                .unwrap_or_else(|e| panic!("re-parse of {printed:?} failed: {e}"));
            assert!(
                p.eq_ignore_spans(&again),
                "round trip changed {input:?} via {printed:?}"
            );
            patch_sexpr(&p)
        }),
        other => panic!("unknown grammar {other}"),
    }
}

#[test]
fn every_anchor_case_has_its_verdict() {
    let rows = rows();
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    let survey = ids
        .iter()
        .filter(|id| id.len() > 1 && id.as_bytes()[1].is_ascii_digit());
    assert_eq!(survey.count(), 137, "the survey lists 137 parse cases");
    let mut failures = Vec::new();
    for row in &rows {
        let id = row["id"].as_str().unwrap_or("?");
        let grammar = row["grammar"].as_str().unwrap_or("?");
        let input = input(row);
        let profiles = [
            ("default", ParseOptions::default()),
            ("strict", ParseOptions::strict()),
            ("interop", ParseOptions::interop()),
        ];
        let error = row.get("error").and_then(Value::as_str);
        for (profile, opts) in &profiles {
            let want = row
                .get(*profile)
                .or_else(|| row.get("default"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let got = parse(grammar, &input, opts);
            match (want, &got) {
                ("accept", Ok(tree)) => {
                    // the tree is stated for the first profile that accepts
                    let first_accepting = if row["default"] == "accept" {
                        "default"
                    } else {
                        "interop"
                    };
                    if let Some(t) = row.get("tree").and_then(Value::as_str) {
                        if *profile == first_accepting && t != tree {
                            failures
                                .push(format!("{id} {profile}: tree\n  want {t}\n  got  {tree}"));
                        }
                    }
                }
                ("reject", Err(e)) => {
                    let Some(spec) = error else { continue };
                    let (kind, at) = spec.split_once('@').unwrap_or((spec, ""));
                    let applies = if at == "strict" {
                        *profile == "strict"
                    } else {
                        *profile == "default"
                    };
                    if !applies {
                        continue;
                    }
                    if kind_name(e) != kind {
                        failures.push(format!("{id} {profile}: want {kind}, got {:?}", e.kind));
                    }
                    if let Ok(at) = at.parse::<usize>() {
                        if e.span.start != at {
                            failures.push(format!(
                                "{id} {profile}: error at byte {}, want {at}: {e}",
                                e.span.start
                            ));
                        }
                    }
                    let want_type = if grammar == "path" {
                        "invalidPath"
                    } else {
                        "invalidFilter"
                    };
                    assert_eq!(e.scim_type(), want_type, "{id}");
                }
                _ => failures.push(format!(
                    "{id} {profile}: want {want}, got {}",
                    match &got {
                        Ok(t) => format!("accepted as {t}"),
                        Err(e) => format!("error {e}"),
                    }
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_files_agree_with_the_table() {
    let rows = rows();
    let mut seen = 0;
    for (dir, grammar) in [("", "filter"), ("paths/", "path")] {
        for kind in ["valid", "invalid", "lenient"] {
            let path = corpus().join(format!("{dir}{kind}"));
            for entry in std::fs::read_dir(&path).expect("seed directory") {
                let file = entry.expect("entry").path();
                let id = file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("name")
                    .to_owned();
                let text = std::fs::read_to_string(&file).expect("seed text");
                let row = rows
                    .iter()
                    .find(|r| r["id"] == id.as_str())
                    .expect("row for seed");
                assert_eq!(row["grammar"], grammar, "{id}");
                assert_eq!(
                    row["input"].as_str(),
                    Some(text.as_str()),
                    "{id} differs from table"
                );
                let (d, s) = (&row["default"], &row["strict"]);
                let all_accept = d == "accept" && s == "accept";
                let interop_rejects = row.get("interop").is_none_or(|i| i == "reject");
                let all_reject = d == "reject" && s == "reject" && interop_rejects;
                let want = if all_accept {
                    "valid"
                } else if all_reject {
                    "invalid"
                } else {
                    "lenient"
                };
                assert_eq!(kind, want, "{id} is in the wrong directory");
                seen += 1;
            }
        }
    }
    let stored = rows.iter().filter(|r| r.get("input").is_some()).count();
    assert_eq!(seen, stored, "every stored row has a seed file");
}
