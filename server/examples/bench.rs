//! Throughput and latency of the reference server over HTTP on 127.0.0.1.
//!
//! ```text
//! cargo run --release -p scim-reference-server --example bench -- [--sizes 1000,100000,1000000]
//!     [--requests 2000] [--concurrency 8] [--group 100000] [--add 10000]
//! ```
//!
//! For each population size it seeds a fresh store file directly (`seed::users`, one
//! transaction), starts the server on it, and measures `GET /Users?filter=userName eq
//! "..."` lookups of random existing users and `POST /Users` creates: requests per
//! second, p50 and p99. Then it times one PATCH adding `--add` members to a group of
//! `--group` members, answered without members (`excludedAttributes=members`) and in
//! full. Every request is in the request log, as in normal use. The store files live in
//! a temporary directory removed at the end.

use reqwest::Client;
use scim_reference_server::{seed, spawn, Config, DEFAULT_TOKEN};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Options {
    sizes: Vec<usize>,
    requests: usize,
    concurrency: usize,
    group: usize,
    add: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        sizes: vec![1_000, 100_000, 1_000_000],
        requests: 2_000,
        concurrency: 8,
        group: 100_000,
        add: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("{flag}: `{v}` is not a count"))
        };
        match flag.as_str() {
            "--sizes" => o.sizes = value.split(',').map(number).collect::<Result<_, _>>()?,
            "--requests" => o.requests = number(&value)?,
            "--concurrency" => o.concurrency = number(&value)?.max(1),
            "--group" => o.group = number(&value)?,
            "--add" => o.add = number(&value)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

/// A small xorshift generator: the bench needs spread, not quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Per-request latencies of one measured run.
struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    fn line(&self, what: &str, size: usize) -> String {
        format!(
            "{what:<8} users={size:<9} requests={:<6} req/s={:<8.0} p50={:<8.2?} p99={:.2?}",
            self.latencies.len(),
            self.latencies.len() as f64 / self.wall.as_secs_f64(),
            self.percentile(0.50),
            self.percentile(0.99),
        )
    }
}

/// Sends `total` requests made by `make(i)` from `concurrency` tasks, checking each
/// answers `expect`.
async fn measure<F>(total: usize, concurrency: usize, expect: u16, make: F) -> Run
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let make = Arc::clone(&make);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while i < total {
                let t = Instant::now();
                let resp = make(i).send().await.expect("request sent");
                let status = resp.status().as_u16();
                let body = resp.bytes().await.expect("body read");
                assert_eq!(status, expect, "{}", String::from_utf8_lossy(&body));
                latencies.push(t.elapsed());
                i += concurrency;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("worker"));
    }
    Run {
        latencies,
        wall: started.elapsed(),
    }
}

async fn population(o: &Options, dir: &Path, size: usize) -> Result<(), String> {
    let db = dir.join(format!("users-{size}.sqlite"));
    let t = Instant::now();
    seed::users(&db, "default", "user", 0..size).map_err(|e| e.to_string())?;
    println!("seed     users={size:<9} took {:.2?}", t.elapsed());
    let server = spawn(Config {
        db: Some(db),
        ..Config::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let base = server.base_url();
    let client = Client::new();
    let lookup = {
        let (client, base) = (client.clone(), base.clone());
        move |i: usize| {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
            let name = format!("USER{}", rng.below(size));
            client
                .get(format!("{base}/Users"))
                .query(&[("filter", format!("userName eq \"{name}\""))])
                .bearer_auth(DEFAULT_TOKEN)
        }
    };
    // Warm the connection pool and the page cache.
    measure(200.min(o.requests), o.concurrency, 200, lookup.clone()).await;
    let run = measure(o.requests, o.concurrency, 200, lookup).await;
    println!("{}", run.line("lookup", size));
    let create = {
        let (client, base) = (client.clone(), base.clone());
        move |i: usize| {
            client
                .post(format!("{base}/Users"))
                .bearer_auth(DEFAULT_TOKEN)
                .header("content-type", "application/scim+json")
                .body(json!({"schemas": [USER_URN], "userName": format!("new{i}")}).to_string())
        }
    };
    let run = measure(o.requests, o.concurrency, 201, create).await;
    println!("{}", run.line("create", size));
    server.shutdown().await;
    Ok(())
}

async fn group_patch(o: &Options, dir: &Path) -> Result<(), String> {
    let db = dir.join("group.sqlite");
    let t = Instant::now();
    let users =
        seed::users(&db, "default", "member", 0..o.group + 2 * o.add).map_err(|e| e.to_string())?;
    let group = seed::group(&db, "default", "Big", &users[..o.group]).map_err(|e| e.to_string())?;
    println!(
        "seed     group of {} members and {} more users, took {:.2?}",
        o.group,
        2 * o.add,
        t.elapsed()
    );
    let server = spawn(Config {
        db: Some(db),
        ..Config::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let client = Client::new();
    let url = format!("{}/Groups/{group}", server.base_url());
    for (round, query) in [(0, "?excludedAttributes=members"), (1, "")] {
        let start = o.group + round * o.add;
        let values: Vec<Value> = users[start..start + o.add]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let body = json!({"schemas": [PATCH_URN],
                          "Operations": [{"op": "add", "path": "members", "value": values}]});
        let t = Instant::now();
        let resp = client
            .patch(format!("{url}{query}"))
            .bearer_auth(DEFAULT_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let answer: Value = resp.json().await.map_err(|e| e.to_string())?;
        let took = t.elapsed();
        if !status.is_success() {
            return Err(format!("PATCH answered {status}: {answer}"));
        }
        let members = answer["members"].as_array().map_or(0, Vec::len);
        println!(
            "patch    add {} members to a group of {} ({}) took {took:.2?}; response members: {members}",
            o.add,
            start,
            if query.is_empty() { "full response" } else { "excludedAttributes=members" },
        );
    }
    server.shutdown().await;
    Ok(())
}

async fn run(o: &Options, dir: &Path) -> Result<(), String> {
    for &size in &o.sizes {
        population(o, dir, size).await?;
    }
    if o.group > 0 && o.add > 0 {
        group_patch(o, dir).await?;
    }
    Ok(())
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("scim-bench-{}", std::process::id()))
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let dir = temp_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let result = run(&o, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}
