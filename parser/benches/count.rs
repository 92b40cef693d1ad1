//! A fixed amount of work for instruction counting, where wall-clock benchmarks are too
//! noisy (a shared 2-core machine):
//!
//! ```text
//! cargo bench -p scim-parser --bench count --no-run
//! perf stat -e instructions:u target/release/deps/count-* parse-typical 10000
//! valgrind --tool=callgrind target/release/deps/count-* eval 100000
//! ```
//!
//! Workloads: `parse-typical`, `parse-complex`, `parse-long`, `parse-corpus`, `parse-text`
//! (third argument: the filter), the same with `ref-` for the borrowed tree
//! (`ref-typical`, ..., `ref-text`), `eval`. The
//! second argument is the number of repetitions (default 1000). Prints the instructions'
//! worth of work done (filters parsed, matches) so nothing is optimised away.

use scim_parser::eval::matches_unchecked;
use scim_parser::{parse_filter, parse_filter_ref, ResourceSchema};
use std::hint::black_box;

const CORPUS: &str = include_str!("../../corpus/bench/filters.txt");

fn group(name: &str) -> Vec<&'static str> {
    let mut current = "";
    let mut out = Vec::new();
    for line in CORPUS.lines() {
        if let Some(g) = line.strip_prefix("# group: ") {
            current = g.trim();
        } else if !line.is_empty()
            && !line.starts_with('#')
            && (name == "corpus" || name == current)
        {
            out.push(line);
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` runs every bench target with `--bench`: do nothing then
    let Some(work) = args.first().filter(|a| !a.starts_with('-')) else {
        return;
    };
    let reps: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let mut done = 0usize;
    if work == "ref-text" {
        let text = args.get(2).expect("ref-text REPS FILTER");
        for _ in 0..reps {
            done += usize::from(parse_filter_ref(black_box(text)).is_ok());
        }
    } else if let Some(g) = work.strip_prefix("ref-") {
        let filters = group(g);
        assert!(!filters.is_empty(), "unknown group {g}");
        for _ in 0..reps {
            for f in &filters {
                done += usize::from(parse_filter_ref(black_box(f)).is_ok());
            }
        }
    } else if work == "parse-text" {
        // third argument: the filter itself
        let text = args.get(2).expect("parse-text REPS FILTER");
        for _ in 0..reps {
            done += usize::from(parse_filter(black_box(text)).is_ok());
        }
    } else if let Some(g) = work.strip_prefix("parse-") {
        let filters = group(g);
        assert!(!filters.is_empty(), "unknown group {g}");
        for _ in 0..reps {
            for f in &filters {
                done += usize::from(parse_filter(black_box(f)).is_ok());
            }
        }
    } else if work == "eval" {
        let user = serde_json::json!({
            "userName": "bjensen@example.com", "externalId": "bjensen", "active": true,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
        });
        let schema = ResourceSchema::user();
        let f = parse_filter(r#"userName eq "BJENSEN@example.com""#).unwrap();
        for _ in 0..reps {
            done += usize::from(matches_unchecked(black_box(&f), black_box(&user), &schema));
        }
    } else {
        panic!("unknown workload {work}");
    }
    println!("{work}: {done}");
}
