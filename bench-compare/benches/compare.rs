//! scim-parser against the other Rust SCIM filter parsers, on the same corpus groups as
//! `parser/benches/parser.rs`, plus a depth-scaling comparison.
//!
//! A contender is measured only on the filters it accepts and parses within `BUDGET`; how
//! many of each group it rejects (or needs more than `BUDGET` for) is printed and written to `target/acceptance.tsv` (read by
//! `scripts/bench-table.py`). Run from `bench-compare/`:
//!
//! ```text
//! cargo bench --bench compare -- --measurement-time 3 --warm-up-time 1
//! ```
//!
//! Wall-clock times on a shared machine move with its load. For a load-independent
//! comparison, `COMPARE_COUNT="<parser> <group> <reps>"` makes the binary parse the group's
//! accepted filters `reps` times and exit without benchmarking, so an instruction counter can
//! measure it (subtract a run with 0 reps, divide by reps times the filters accepted):
//!
//! ```text
//! cargo bench --bench compare --no-run
//! COMPARE_COUNT="scim_proto typical 100" valgrind --tool=callgrind target/release/deps/compare-<hash>
//! ```

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use scim_bench_compare::{contenders, groups, nested};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The longest one parse may take and still be measured.
const BUDGET: Duration = Duration::from_millis(20);

fn corpus(c: &mut Criterion) {
    let groups = groups();
    let mut report = String::from("parser\tgroup\tmeasured\trejected\tbytes\ttoo_slow\n");
    for (group, filters) in &groups {
        let mut g = c.benchmark_group(format!("compare-{group}"));
        for who in contenders() {
            let mut inputs = Vec::new();
            let mut bytes = 0u64;
            let (mut rejected, mut too_slow) = (0, 0);
            for f in filters {
                let input = (who.prepare)(f);
                let t = Instant::now();
                let ok = (who.parse)(&input);
                let took = t.elapsed();
                if !ok {
                    rejected += 1;
                } else if took > BUDGET {
                    // scim-filter backtracks exponentially on nested groups
                    eprintln!(
                        "{group:8} {:18} needs {took:?} for one filter, not measured: {f:.60}",
                        who.name
                    );
                    too_slow += 1;
                } else {
                    inputs.push(input);
                    bytes += f.len() as u64;
                }
            }
            eprintln!(
                "{group:8} {:18} accepts {:3}, rejects {rejected:3}, too slow {too_slow}",
                who.name,
                inputs.len() + too_slow
            );
            writeln!(
                report,
                "{}\t{group}\t{}\t{rejected}\t{bytes}\t{too_slow}",
                who.name,
                inputs.len()
            )
            .unwrap();
            if inputs.is_empty() {
                continue;
            }
            // bytes of the original filters accepted, so MB/s compares the same payload
            g.throughput(Throughput::Bytes(bytes));
            let parse = who.parse;
            g.bench_function(who.name, |b| {
                b.iter(|| inputs.iter().filter(|i| parse(black_box(i))).count())
            });
        }
        g.finish();
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/acceptance.tsv");
    if let Err(e) = std::fs::write(&out, report) {
        eprintln!("could not write {}: {e}", out.display());
    }
}

/// Parses at growing depth; a contender that rejects a depth or needs more than `BUDGET`
/// for one parse is not measured at that depth or deeper (scim-filter backtracks: its time
/// grows exponentially with depth).
fn depth(c: &mut Criterion) {
    let mut g = c.benchmark_group("compare-depth");
    for who in contenders()
        .into_iter()
        .filter(|w| w.name != "serde_json-string")
    {
        for depth in [2, 4, 8, 16, 32, 64, 128] {
            let input = nested(depth);
            let t = Instant::now();
            let ok = (who.parse)(&input);
            let took = t.elapsed();
            if !ok {
                eprintln!(
                    "depth {depth:3} {:18} rejects the input; deeper levels skipped",
                    who.name
                );
                break;
            }
            if took > BUDGET {
                eprintln!(
                    "depth {depth:3} {:18} took {took:?} for one parse; deeper levels skipped",
                    who.name
                );
                break;
            }
            g.throughput(Throughput::Bytes(input.len() as u64));
            let parse = who.parse;
            g.bench_with_input(BenchmarkId::new(who.name, depth), &input, |b, input| {
                b.iter(|| parse(black_box(input)))
            });
        }
    }
    g.finish();
}

/// The `COMPARE_COUNT` mode: parses one group's accepted filters `reps` times with one
/// parser and prints how many parses succeeded. Returns `false` when the variable is unset.
fn count_mode() -> bool {
    let Ok(spec) = std::env::var("COMPARE_COUNT") else {
        return false;
    };
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [name, group, reps] = words[..] else {
        eprintln!("COMPARE_COUNT must be \"<parser> <group> <reps>\", got {spec:?}");
        std::process::exit(2);
    };
    let Ok(reps) = reps.parse::<usize>() else {
        eprintln!("COMPARE_COUNT: {reps:?} is not a number of repetitions");
        std::process::exit(2);
    };
    let Some(who) = contenders().into_iter().find(|c| c.name == name) else {
        eprintln!("COMPARE_COUNT: no parser named {name:?}");
        std::process::exit(2);
    };
    let Some((_, filters)) = groups().into_iter().find(|(g, _)| *g == group) else {
        eprintln!("COMPARE_COUNT: no group named {group:?}");
        std::process::exit(2);
    };
    let inputs: Vec<String> = filters
        .iter()
        .map(|f| (who.prepare)(f))
        .filter(|i| (who.parse)(i))
        .collect();
    let mut done = 0usize;
    for _ in 0..reps {
        for input in &inputs {
            done += usize::from((who.parse)(black_box(input)));
        }
    }
    println!("{name} {group}: {} accepted, {done} parses", inputs.len());
    true
}

criterion_group!(benches, corpus, depth);

fn main() {
    if count_mode() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
