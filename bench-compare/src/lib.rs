//! The parsers compared in `benches/compare.rs`, behind one signature, and the shared
//! benchmark corpus (`corpus/bench/filters.txt`).
//!
//! Each entry parses one filter and reports whether the crate accepted it; the parsed
//! tree is built and dropped inside the call, as it is for scim-parser.

use std::hint::black_box;
use std::str::FromStr;

/// The benchmark corpus, three groups.
pub const CORPUS: &str = include_str!("../../corpus/bench/filters.txt");

/// The corpus groups in file order: `(name, filters)`.
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
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

/// One filter parser: its crate name and a function that parses one filter.
pub struct Contender {
    /// The crate (and entry point) measured.
    pub name: &'static str,
    /// Parses one input; `true` when the crate accepted it.
    pub parse: fn(&str) -> bool,
    /// Whether the input must be prepared first (the serde_json floor takes JSON text).
    pub prepare: fn(&str) -> String,
}

fn same(s: &str) -> String {
    s.to_owned()
}

fn ours(s: &str) -> bool {
    black_box(scim_parser::parse_filter(s)).is_ok()
}

/// scim-parser's borrowed tree (`parse_filter_ref`): the same parse, no owned strings.
fn ours_borrowed(s: &str) -> bool {
    black_box(scim_parser::parse_filter_ref(s)).is_ok()
}

fn rustauth(s: &str) -> bool {
    black_box(rustauth_scim::filters::parse_filter(s)).is_ok()
}

fn entropy(s: &str) -> bool {
    black_box(entropy_auth::scim::parse_filter(s)).is_ok()
}

fn kanidm(s: &str) -> bool {
    black_box(scim_proto::filter::ScimFilter::from_str(s)).is_ok()
}

/// scim-filter exposes a nom parser: accepted only when it consumes the whole input.
fn nom_filter(s: &str) -> bool {
    match black_box(scim_filter::parser::filter(s)) {
        Ok((rest, _)) => rest.is_empty(),
        Err(_) => false,
    }
}

fn shiftcontrol(s: &str) -> bool {
    black_box(scim_v2::filter::Filter::from_str(s)).is_ok()
}

/// The floor: serde_json reading the filter as one JSON string (the input is the filter
/// encoded as a JSON string literal).
fn json_string(s: &str) -> bool {
    black_box(serde_json::from_str::<String>(s)).is_ok()
}

fn to_json(s: &str) -> String {
    serde_json::to_string(s).expect("a str always encodes")
}

/// Every parser measured, ours first (owned tree, then borrowed) and the serde_json floor
/// last.
pub fn contenders() -> Vec<Contender> {
    vec![
        Contender {
            name: "scim-parser",
            parse: ours,
            prepare: same,
        },
        Contender {
            name: "scim-parser-ref",
            parse: ours_borrowed,
            prepare: same,
        },
        Contender {
            name: "rustauth-scim",
            parse: rustauth,
            prepare: same,
        },
        Contender {
            name: "entropy-auth",
            parse: entropy,
            prepare: same,
        },
        Contender {
            name: "scim_proto",
            parse: kanidm,
            prepare: same,
        },
        Contender {
            name: "scim-filter",
            parse: nom_filter,
            prepare: same,
        },
        Contender {
            name: "scim_v2",
            parse: shiftcontrol,
            prepare: same,
        },
        Contender {
            name: "serde_json-string",
            parse: json_string,
            prepare: to_json,
        },
    ]
}

/// `(title eq "t0" or (title eq "t1" or ( ... )))`, `depth` groups deep (the same input as
/// scim-parser's own `scale-depth` benchmark).
pub fn nested(depth: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("(title eq \"t{i}\" or "));
    }
    s.push_str("title pr");
    s.push_str(&")".repeat(depth));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_has_three_groups_and_ours_accepts_all() {
        let groups = groups();
        let names: Vec<_> = groups.iter().map(|g| g.0).collect();
        assert_eq!(names, ["typical", "complex", "long"]);
        for (_, filters) in &groups {
            assert!(filters.iter().all(|f| ours(f) && ours_borrowed(f)));
        }
    }

    #[test]
    fn every_contender_accepts_a_plain_lookup_and_rejects_garbage() {
        for c in contenders() {
            let good = (c.prepare)(r#"userName eq "bjensen""#);
            assert!((c.parse)(&good), "{} rejects a plain lookup", c.name);
            if c.name != "serde_json-string" {
                assert!(
                    !(c.parse)("userName eq"),
                    "{} accepts `userName eq`",
                    c.name
                );
            }
        }
    }
}
