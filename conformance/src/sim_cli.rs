//! `scim-conformance simulate`: arguments, target set-up (embedded server, outage proxy),
//! and the exit code. The simulation itself lives in `scim_conformance::simulate`.

use super::{interrupt_flag, token_from_env, Exit};
use clap::Args;
use scim_conformance::client::{Client, Request};
use scim_conformance::exit;
use scim_conformance::simulate::dialect::Dialect;
use scim_conformance::simulate::engine::{Engine, Pacing};
use scim_conformance::simulate::outage::{EmbeddedServer, Outage, Proxy, ProxyFault, TempDb};
use scim_conformance::simulate::population::Shape;
use scim_conformance::simulate::shard::Shard;
use scim_conformance::simulate::{self, limit, Options};
use scim_conformance::Token;
use scim_reference_server::{Config, Fault};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub(crate) struct SimulateArgs {
    /// SCIM base URL of the server under test. Without it the reference server is started
    /// in-process on an ephemeral 127.0.0.1 port.
    #[arg(long)]
    target: Option<String>,
    /// Environment variable holding the bearer token for --target.
    #[arg(long, default_value = "SCIM_CONFORMANCE_TOKEN")]
    token_env: String,
    // Numeric flags take a leading `-` as their value (`--users -5`), so that a negative
    // number is refused with the flag's own range, not as an unknown argument.
    /// Users in the population (1 to 1,000,000).
    #[arg(long, default_value_t = 10_000, allow_negative_numbers = true)]
    users: i64,
    /// Groups, the large group included (the rest are departments of skewed sizes).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    groups: i64,
    /// Members of the large group.
    #[arg(long, default_value_t = 5_000, allow_negative_numbers = true)]
    large_group: i64,
    /// Population seed: the same seed gives the same users, groups and cycles.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = parse_seed)]
    seed: u64,
    /// Which IdP's requests to send: entra, entra-compliant, okta, onelogin.
    #[arg(long, default_value = "entra")]
    dialect: Dialect,
    /// Incremental cycles after the initial sync.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    cycles: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, allow_negative_numbers = true)]
    concurrency: i64,
    /// Requests per second across all workers (default: unlimited).
    #[arg(long, allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Per-request timeout in seconds (default 30; 5 with --outage-kind blackhole, whose
    /// held requests each wait it out).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    timeout: Option<f64>,
    /// Retries after a 429 (each waits Retry-After, or backs off without one).
    #[arg(long, default_value_t = 8, allow_negative_numbers = true)]
    retries_429: i64,
    /// Retries after a 5xx or a transport error (exponential backoff).
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    retries_5xx: i64,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Leave the created users and groups on the target.
    #[arg(long)]
    keep: bool,
    /// Skip the read-back after each cycle (for throughput runs).
    #[arg(long)]
    no_reconcile: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    no_progress: bool,
    /// Switch on a reference-server fault (embedded target only; repeatable).
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
    /// Inject an outage into the first cycle, then replay that cycle and check the result.
    #[arg(long)]
    outage: bool,
    /// --outage on an external target: share of requests the proxy fails (0..1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    outage_share: f64,
    /// --outage on an external target: 503, blackhole or lost-reply.
    #[arg(long, default_value = "503")]
    outage_kind: ProxyFault,
    /// --outage on the embedded server: seconds it stays down.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    outage_downtime: f64,
    /// Route the embedded server through the outage proxy instead of restarting it.
    #[arg(long)]
    outage_proxy: bool,
    /// Ramp the request rate to find the highest sustainable one (no population is built).
    #[arg(long)]
    find_limit: bool,
    /// --find-limit: seconds per rate step.
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    step_secs: f64,
    /// --find-limit: error share that ends the ramp.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    max_error_rate: f64,
    /// --find-limit: p99 latency in ms that ends the ramp.
    #[arg(long, default_value_t = 1000.0, allow_negative_numbers = true)]
    max_p99_ms: f64,
    /// --find-limit: highest rate tried.
    #[arg(long, default_value_t = 20_000.0, allow_negative_numbers = true)]
    max_rate: f64,
    /// Provision only part K of N of the population (1 <= K <= N); N processes with the
    /// same --seed, --run-id and shape share the work. Needs --run-id.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Run id shared by the shards of one run (letters, digits, `-`, `_`; at most 40): the
    /// run prefix becomes `scimsim-<ID>-`. Use a new id per run, e.g. the CI run id.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// --shard: seconds to wait for what other shards create, and at cleanup for them to
    /// finish (default 300).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    shard_wait: Option<f64>,
}

/// `--shard-wait` when not given.
const SHARD_WAIT_DEFAULT: f64 = 300.0;

/// `--seed`: a whole number from 0 to 2^64-1 (clap names the flag and the value).
fn parse_seed(text: &str) -> Result<u64, String> {
    text.parse::<u64>().map_err(|_| {
        format!(
            "a seed is a whole number from 0 to {}, got `{text}`",
            u64::MAX
        )
    })
}

/// A whole-number flag checked against its range: `--users must be at least 1, got -5`.
fn whole(flag: &str, value: i64, min: i64, max: i64) -> Result<usize, Exit> {
    if value < min {
        return Err(Exit::usage(format!(
            "{flag} must be at least {min}, got {value}"
        )));
    }
    if value > max {
        return Err(Exit::usage(format!(
            "{flag} must be at most {max}, got {value}"
        )));
    }
    usize::try_from(value).map_err(|_| Exit::usage(format!("{flag} {value} is too large here")))
}

/// The whole-number flags, checked.
struct Counts {
    users: usize,
    groups: usize,
    large_group: usize,
    cycles: usize,
    concurrency: usize,
    retries_429: u32,
    retries_5xx: u32,
}

impl Counts {
    fn of(args: &SimulateArgs) -> Result<Counts, Exit> {
        let retries = |flag, v| -> Result<u32, Exit> {
            let n = whole(flag, v, 0, 1_000)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        Ok(Counts {
            users: whole("--users", args.users, 1, 1_000_000)?,
            groups: whole("--groups", args.groups, 0, 1_000_000)?,
            large_group: whole("--large-group", args.large_group, 0, 1_000_000)?,
            cycles: whole("--cycles", args.cycles, 0, 100_000)?,
            concurrency: whole("--concurrency", args.concurrency, 1, 4096)?,
            retries_429: retries("--retries-429", args.retries_429)?,
            retries_5xx: retries("--retries-5xx", args.retries_5xx)?,
        })
    }
}

/// The shard, the run prefix and the shard wait from the flags.
fn shard_and_prefix(
    args: &SimulateArgs,
    counts: &Counts,
) -> Result<(Option<Shard>, String, Duration), Exit> {
    let shard = match &args.shard {
        None => None,
        Some(text) => Some(
            text.parse::<Shard>()
                .map_err(|e| Exit::usage(format!("--shard {e}")))?,
        ),
    };
    if let Some(s) = shard {
        if args.run_id.is_none() {
            return Err(Exit::usage(
                "--shard needs --run-id ID, the same for every shard of the run (e.g. the CI \
                 run id), so that all shards name the population alike",
            ));
        }
        if args.outage || args.find_limit {
            return Err(Exit::usage(
                "--shard cannot be combined with --outage or --find-limit",
            ));
        }
        if counts.users < s.count || counts.groups < s.count {
            return Err(Exit::usage(format!(
                "--shard {s}: --users and --groups must be at least {} (one per shard)",
                s.count
            )));
        }
    } else if let Some(wait) = args.shard_wait {
        return Err(Exit::usage(format!(
            "--shard-wait {wait} applies to sharded runs only; give --shard K/N with it, or \
             leave --shard-wait out"
        )));
    }
    let shard_wait = args.shard_wait.unwrap_or(SHARD_WAIT_DEFAULT);
    if !(shard_wait.is_finite() && shard_wait > 0.0 && shard_wait <= 86_400.0) {
        return Err(Exit::usage(format!(
            "--shard-wait must be more than 0 and at most 86400 seconds, got {shard_wait}"
        )));
    }
    let prefix = match &args.run_id {
        None => simulate::fresh_prefix(),
        Some(id) => {
            let ok = !id.is_empty()
                && id.len() <= 40
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(Exit::usage(format!(
                    "--run-id {id:?}: use 1 to 40 letters, digits, `-` or `_`"
                )));
            }
            format!("scimsim-{id}-")
        }
    };
    Ok((shard, prefix, Duration::from_secs_f64(shard_wait)))
}

pub(crate) async fn simulate_command(args: SimulateArgs) -> Result<i32, Exit> {
    let started = std::time::Instant::now();
    let counts = Counts::of(&args)?;
    let blackhole = args.outage && args.outage_kind == ProxyFault::Blackhole;
    let timeout_secs = args.timeout.unwrap_or(if blackhole { 5.0 } else { 30.0 });
    if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
        return Err(Exit::usage(format!(
            "--timeout must be a positive number of seconds, got {timeout_secs}"
        )));
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(Exit::usage(format!("--rate must be positive, got {r}")));
        }
    }
    if !(0.0..=1.0).contains(&args.outage_share) {
        return Err(Exit::usage(format!(
            "--outage-share must be between 0 and 1, got {}",
            args.outage_share
        )));
    }
    let (shard, prefix, shard_wait) = shard_and_prefix(&args, &counts)?;
    let timeout = Duration::from_secs_f64(timeout_secs);
    // --find-limit measures every attempt: no retries hide a 429 or a 5xx.
    let pacing = Pacing {
        rate: args.rate,
        retries_429: if args.find_limit {
            0
        } else {
            counts.retries_429
        },
        retries_5xx: if args.find_limit {
            0
        } else {
            counts.retries_5xx
        },
        ..Pacing::default()
    };
    let options = Options {
        shape: Shape {
            users: counts.users,
            groups: counts.groups,
            large_group: counts.large_group,
            seed: args.seed,
        },
        dialect: args.dialect,
        cycles: counts.cycles,
        concurrency: counts.concurrency,
        rates: Options::default_rates(args.dialect),
        reconcile: !args.no_reconcile,
        keep: args.keep,
        prefix,
        progress: !args.no_progress,
        shard,
        shard_wait,
    };
    // The target: an external URL, or the embedded server (on a SQLite file when it is to
    // be restarted).
    let mut _db = None;
    let mut embedded = None;
    let (base, token, label) = match &args.target {
        Some(url) => {
            if !args.fault.is_empty() {
                return Err(Exit::usage(
                    "--fault applies to the embedded reference server only, not to --target",
                ));
            }
            (url.clone(), token_from_env(&args.token_env)?, url.clone())
        }
        None => {
            let faults = faults(&args.fault)?;
            let names: Vec<&str> = faults.iter().map(|f| f.name()).collect();
            let db = (args.outage && !args.outage_proxy).then(|| TempDb::new(&options.prefix));
            let config = Config {
                faults,
                db: db.as_ref().map(|d| d.0.clone()),
                ..Config::default()
            };
            let server = EmbeddedServer::start(config).await.map_err(Exit::usage)?;
            let base = server.base_url();
            let label = if names.is_empty() {
                format!("embedded reference server ({base})")
            } else {
                format!(
                    "embedded reference server ({base}) with faults {}",
                    names.join(",")
                )
            };
            embedded = Some(server);
            _db = db;
            (
                base,
                Token::new(scim_reference_server::DEFAULT_TOKEN),
                label,
            )
        }
    };
    // The test connection goes to the target itself, never through the outage proxy: a
    // proxy answers (502) for a target that does not, which would hide it.
    let direct = Client::new(&base, Some(token.clone()), timeout).map_err(Exit::usage)?;
    if let Err(e) = probe(&direct).await {
        if let (Some(path), false) = (&args.json, args.find_limit) {
            let report = simulate::not_run(
                &options,
                label,
                args.rate,
                e.message.clone(),
                started.elapsed(),
            );
            write_json(path, &report)?;
        }
        return Err(e);
    }
    let mut outage = None;
    let mut client_base = base.clone();
    if args.outage {
        match (&embedded, args.outage_proxy) {
            (Some(server), false) => {
                outage = Some(Outage::Restart {
                    server: Arc::clone(server),
                    downtime: Duration::from_secs_f64(args.outage_downtime.clamp(0.0, 600.0)),
                })
            }
            _ => {
                let proxy = Proxy::start(
                    &base,
                    args.outage_share,
                    args.outage_kind,
                    timeout + Duration::from_secs(1),
                )
                .await
                .map_err(Exit::usage)?;
                client_base = proxy.base_url().map_err(Exit::usage)?;
                outage = Some(Outage::Proxy(proxy));
            }
        }
    }
    let client = Client::new(&client_base, Some(token), timeout).map_err(Exit::usage)?;
    let engine = Arc::new(Engine::new(client, pacing));
    if args.find_limit {
        let settings = limit::Settings {
            step: Duration::from_secs_f64(args.step_secs.clamp(0.2, 600.0)),
            max_error_rate: args.max_error_rate,
            max_p99_ms: args.max_p99_ms,
            max_rate: args.max_rate,
            start_rate: args.rate.unwrap_or(50.0),
            concurrency: counts.concurrency,
            users: counts.users,
        };
        let result = limit::find_limit(engine, &settings, &options.prefix).await;
        let mut out = std::io::stdout().lock();
        let _ = result.write_human(&mut out);
        if let Some(path) = &args.json {
            write_json(path, &result)?;
        }
        if let Some(server) = embedded {
            server.stop().await;
        }
        return Ok(exit::SUCCESS);
    }
    let interrupt = interrupt_flag();
    let report = simulate::simulate(engine, &options, label, outage, Arc::clone(&interrupt))
        .await
        .map_err(|m| Exit {
            code: exit::MUST_FAILED,
            message: m,
        })?;
    {
        let mut out = std::io::stdout().lock();
        let _ = report.write_human(&mut out);
    }
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if let Some(server) = embedded {
        server.stop().await;
    }
    Ok(if interrupt.load(Ordering::Relaxed) {
        exit::INTERRUPTED
    } else if report.passed {
        exit::SUCCESS
    } else {
        exit::MUST_FAILED
    })
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), Exit> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Exit::usage(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| Exit {
        code: exit::USAGE,
        message: format!("cannot write {}: {e}", path.display()),
    })
}

fn faults(names: &[String]) -> Result<Vec<Fault>, Exit> {
    names
        .iter()
        .map(|n| {
            n.parse::<Fault>().map_err(|e| {
                Exit::usage(format!(
                    "--fault {n}: {e} (`scim-conformance serve --fault list` shows them)"
                ))
            })
        })
        .collect()
}

/// Entra's test connection: a filtered list that must answer before anything else. No
/// answer at all is exit 3 (as for `run`); a token the target refuses (401 or 403) fails the
/// run (exit 1), as every request of `run` then fails its case.
async fn probe(client: &Client) -> Result<(), Exit> {
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    request.query = vec![
        ("filter".into(), "userName eq \"scimsim-probe\"".into()),
        ("count".into(), "1".into()),
    ];
    match client.send_unrecorded(&request).await {
        Err(e) => Err(Exit {
            code: exit::UNREACHABLE,
            message: format!("target unreachable: {e}"),
        }),
        Ok(reply) if reply.status == 401 || reply.status == 403 => Err(Exit {
            code: exit::MUST_FAILED,
            message: format!(
                "the target rejected the token (status {}); check --token-env",
                reply.status
            ),
        }),
        Ok(_) => Ok(()),
    }
}

#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// JSON reports of `simulate --shard K/N --json FILE`, one per shard of one run.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    /// Also write the merged report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// `merge`: the shards' reports as one, printed like `simulate` prints its own.
pub(crate) fn merge_command(args: &MergeArgs) -> Result<i32, Exit> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let report = simulate::merge::load(path).map_err(Exit::usage)?;
        reports.push((path.display().to_string(), report));
    }
    let merged = simulate::merge::merge(&reports).map_err(Exit::usage)?;
    {
        let mut out = std::io::stdout().lock();
        let _ = merged.write_human(&mut out);
    }
    if let Some(path) = &args.json {
        write_json(path, &merged)?;
    }
    Ok(if merged.passed {
        exit::SUCCESS
    } else {
        exit::MUST_FAILED
    })
}

#[derive(Args, Debug)]
pub(crate) struct RecordArgs {
    /// Loopback address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long)]
    listen: String,
    /// The SCIM server to forward to. A path in it (http://h/scim/v2) is prefixed to every
    /// forwarded path that does not already start with it, so a client can use either
    /// http://127.0.0.1:PORT or http://127.0.0.1:PORT/scim/v2 as its base URL.
    #[arg(long)]
    upstream: String,
    /// The largest request body forwarded, in bytes; a longer one is answered 413 (a SCIM
    /// error) by the recorder and recorded as refused.
    #[arg(long, value_name = "BYTES", default_value_t = scim_conformance::client::DEFAULT_MAX_BODY, allow_negative_numbers = true, value_parser = crate::whole_number)]
    max_body: usize,
    /// How long the upstream may take to answer one request, in seconds; past it the
    /// recorder answers 504 (a SCIM error).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 120.0,
        allow_negative_numbers = true
    )]
    upstream_timeout: f64,
    /// JSON-lines file to write. An existing file is refused unless --force (overwrite) or
    /// --append (add lines after the ones it holds).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long, conflicts_with = "append")]
    force: bool,
    /// Append to an existing --out file (its lines are kept; `at_ms` starts again at 0).
    #[arg(long)]
    append: bool,
    /// Stop by itself after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = crate::whole_u64)]
    max_seconds: Option<u64>,
}

/// Refuses an upstream that is the recorder itself (same port on a loopback or unspecified
/// address): every request would be forwarded to itself until the connections run out.
fn reject_self_loop(listen: std::net::SocketAddr, upstream: &str) -> Result<(), Exit> {
    let Ok(url) = reqwest::Url::parse(upstream) else {
        return Ok(()); // the recorder reports the bad URL itself
    };
    let Some(port) = url.port_or_known_default() else {
        return Ok(());
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    if local && port == listen.port() {
        return Err(Exit::usage(format!(
            "--upstream {upstream} is the recorder's own --listen {listen}: it would forward \
             every request to itself; point --upstream at the SCIM server"
        )));
    }
    Ok(())
}

pub(crate) async fn record_command(args: RecordArgs) -> Result<i32, Exit> {
    let addr: std::net::SocketAddr = args
        .listen
        .parse()
        .map_err(|e| Exit::usage(format!("--listen {}: {e}", args.listen)))?;
    if !addr.ip().is_loopback() {
        return Err(Exit::usage(format!(
            "--listen {addr}: record listens on a loopback address only"
        )));
    }
    reject_self_loop(addr, &args.upstream)?;
    if args.max_body == 0 {
        return Err(Exit::usage("--max-body must be at least 1 byte"));
    }
    if !(args.upstream_timeout.is_finite() && (0.001..=86_400.0).contains(&args.upstream_timeout)) {
        return Err(Exit::usage(format!(
            "--upstream-timeout must be a number of seconds from 0.001 to 86400, got {}",
            args.upstream_timeout
        )));
    }
    // The recorder's own checks on the URL, before the output file is touched.
    scim_conformance::record::Recorder::new(&args.upstream, Box::new(std::io::sink()))
        .map_err(Exit::usage)?;
    let mut open = std::fs::OpenOptions::new();
    if args.append {
        open.append(true).create(true);
    } else if args.force {
        open.write(true).create(true).truncate(true);
    } else {
        open.write(true).create_new(true);
    }
    let file = open.open(&args.out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Exit::usage(format!(
                "--out {} exists; pass --force to overwrite it or --append to add to it",
                args.out.display()
            ))
        } else {
            Exit::usage(format!("cannot create {}: {e}", args.out.display()))
        }
    })?;
    let recorder = scim_conformance::record::Recorder::with_limits(
        &args.upstream,
        Box::new(std::io::BufWriter::new(file)),
        scim_conformance::record::Limits {
            max_body: args.max_body,
            timeout: Duration::from_secs_f64(args.upstream_timeout),
        },
    )
    .map_err(Exit::usage)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Exit::usage(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().unwrap_or(addr);
    eprintln!(
        "scim-conformance: recording http://{addr} -> {} into {}",
        args.upstream,
        args.out.display()
    );
    let max = args.max_seconds;
    let shutdown = async move {
        match max {
            Some(secs) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    axum::serve(listener, recorder.app())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Exit::usage(format!("the recorder stopped: {e}")))?;
    Ok(exit::SUCCESS)
}
