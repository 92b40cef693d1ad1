//! `scim-conformance`: fires RFC 7644 and IdP-specific requests at a SCIM server and
//! reports what it does wrong. Exit codes are the constants in `scim_conformance::exit`.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use scim_conformance::cases::catalog;
use scim_conformance::exit;
use scim_conformance::runner::RunOptions;
use scim_conformance::select::{Selection, Selector};
use scim_conformance::{Profile, Token};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod embedded;
mod matrix_cmd;
mod replay_cli;
mod requests_cmd;
mod sim_cli;
mod suite;

#[derive(Parser, Debug)]
#[command(
    name = "scim-conformance",
    version,
    about = "SCIM 2.0 conformance suite, filter parser and reference server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the suite against the embedded reference server, or against --target.
    Run(Box<RunArgs>),
    /// Run the suite against several targets and draw one table of cases by targets.
    Matrix(MatrixArgs),
    /// Print the catalog of cases.
    List {
        /// Only cases of this profile.
        #[arg(long, value_enum, default_value_t = ProfileArg::All)]
        profile: ProfileArg,
        /// `table` for people, `json` (one array of {id, section, level, profiles,
        /// requirement}) for tools.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Parse a filter or a PATCH path and print its AST as JSON.
    Parse(ParseArgs),
    /// Run the reference server until Ctrl-C.
    Serve(ServeArgs),
    /// Print the reference server's request log (from `serve --db PATH`).
    Requests(requests_cmd::RequestsArgs),
    /// Evaluate a filter against a resource file; prints `true` or `false`.
    Eval(scim_conformance::tools::EvalArgs),
    /// Apply a PatchOp document file to a resource file; prints the result.
    Patch(scim_conformance::tools::PatchArgs),
    /// Provision a generated population at scale in an IdP's dialect, cycle by cycle, and
    /// check the target ends up holding exactly the directory.
    Simulate(Box<sim_cli::SimulateArgs>),
    /// Reverse proxy on 127.0.0.1 that forwards to --upstream and records every exchange
    /// as JSON lines, credentials dropped or masked (REDACTED) and personal data
    /// pseudonymised.
    Record(sim_cli::RecordArgs),
    Replay(replay_cli::ReplayArgs),
    Grade(replay_cli::GradeArgs),
    Variants(replay_cli::VariantsArgs),
    /// Merge the JSON reports of `simulate --shard K/N` runs into one report.
    Merge(sim_cli::MergeArgs),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// SCIM base URL of the server under test (e.g. https://sp.example/scim/v2). Without it
    /// the reference server is started in-process on an ephemeral 127.0.0.1 port.
    #[arg(long)]
    target: Option<String>,
    /// Environment variable holding the bearer token for --target.
    #[arg(long, default_value = "SCIM_CONFORMANCE_TOKEN")]
    token_env: String,
    /// Environment variable holding a second tenant's bearer token for --target; with it
    /// the tenant-isolation cases check that neither tenant sees the other's data.
    #[arg(long, value_name = "VAR")]
    second_token_env: Option<String>,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    schedule: ScheduleArgs,
    #[command(flatten)]
    outputs: OutputArgs,
    /// Print the plan (cases, requests, resources it would create) without sending
    /// anything to the target; the plan is rehearsed against the in-process reference server.
    #[arg(long)]
    dry_run: bool,
    /// Switch on a reference-server fault (embedded target only; repeatable); `--fault list`
    /// prints them.
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
}

/// Which cases run.
#[derive(Args, Debug)]
struct SelectArgs {
    /// Which profile's cases to run.
    #[arg(long, value_enum, default_value_t = ProfileArg::All)]
    profile: ProfileArg,
    /// Run only cases whose id matches this glob (repeatable), e.g. `rfc7644-3.4.2.2/*`.
    #[arg(long, value_name = "SELECTOR")]
    only: Vec<Selector>,
    /// Do not run cases whose id matches this glob (repeatable).
    #[arg(long, value_name = "SELECTOR")]
    skip: Vec<Selector>,
}

impl SelectArgs {
    fn selection(&self) -> Selection {
        Selection {
            profiles: self.profile.profiles(),
            only: self.only.clone(),
            skip: self.skip.clone(),
        }
    }
}

/// Timeouts, concurrency and consent.
#[derive(Args, Debug)]
struct ScheduleArgs {
    /// Per-request timeout in seconds (covers reading the whole body).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    timeout: f64,
    /// Per-case timeout in seconds; a case still running then is stopped with outcome `error`.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 120.0,
        allow_negative_numbers = true
    )]
    case_timeout: f64,
    /// How many cases run at once (cases marked exclusive always run alone).
    #[arg(long, value_name = "N", default_value_t = 4, allow_negative_numbers = true, value_parser = crate::whole_number)]
    jobs: usize,
    /// The largest response body read, in bytes; a longer one is an `error`.
    #[arg(long, value_name = "BYTES", default_value_t = scim_conformance::client::DEFAULT_MAX_BODY, allow_negative_numbers = true, value_parser = crate::whole_number)]
    max_body: usize,
    /// The longest one request waits in total, in seconds, for a target answering 429
    /// (Retry-After honoured, else exponential backoff); past it the case is reported
    /// `rate-limited, not judged` (outcome `error`). 0 turns the retries off.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    retry_wait: f64,
    /// Run against a target that is not on a loopback address. The suite creates, changes
    /// and deletes resources (its own, prefixed); without --yes it asks on a terminal and
    /// refuses otherwise.
    #[arg(long)]
    yes: bool,
}

impl ScheduleArgs {
    /// `--retry-wait` as a duration (zero allowed: no retries).
    fn retry_wait(&self) -> Result<Duration, Exit> {
        let v = self.retry_wait;
        if v.is_finite() && (0.0..=86_400.0).contains(&v) {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(Exit::usage(format!(
                "--retry-wait must be a number of seconds from 0 to 86400, got {v}"
            )))
        }
    }

    fn check(&self) -> Result<(Duration, Duration), Exit> {
        let secs = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(Exit::usage(format!(
                    "--{name} must be a positive number of seconds, got {v}"
                )))
            }
        };
        if self.jobs == 0 {
            return Err(Exit::usage("--jobs must be at least 1"));
        }
        self.retry_wait()?;
        Ok((
            secs("timeout", self.timeout)?,
            secs("case-timeout", self.case_timeout)?,
        ))
    }
}

/// Reports, gates and snapshots.
#[derive(Args, Debug)]
struct OutputArgs {
    /// Also write the machine report (schema: conformance/REPORT.md) to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write a JUnit XML report (one testsuite per RFC section) to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write one self-contained HTML page with every transcript to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write a Markdown summary (for a CI step summary) to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Treat every warning (a SHOULD or MAY broken) as a failure.
    #[arg(long)]
    strict: bool,
    /// Known failures, one case selector per line: the run then fails only on new failures
    /// and reports entries that pass now as stale.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// With --baseline: fail the run on stale entries too.
    #[arg(long, requires = "baseline")]
    fail_on_stale: bool,
    /// Write a baseline listing every case that failed this run.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Keep each case's normalized responses as insta snapshots in DIR and report drift.
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// With --snapshots: accept drift, overwriting the stored snapshots.
    #[arg(long, requires = "snapshots")]
    update_snapshots: bool,
}

#[derive(Args, Debug)]
struct MatrixArgs {
    /// The targets, one per line: `NAME embedded` or `NAME URL TOKEN_VARIABLE`.
    #[arg(long, value_name = "FILE")]
    targets: PathBuf,
    /// Write the matrix (cases by targets) as one HTML page here.
    #[arg(long, value_name = "FILE")]
    html: PathBuf,
    /// Also write the matrix as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    schedule: ScheduleArgs,
}

#[derive(Args, Debug)]
struct ParseArgs {
    /// What to parse.
    #[arg(value_enum)]
    what: ParseWhat,
    /// The text to parse.
    text: String,
    /// Exactly the RFC 7644 grammar (single spaces, no `$`, no Entra forms).
    #[arg(long, conflicts_with = "interop")]
    strict: bool,
    /// The leniencies real IdPs need (e.g. `emails[type eq "work"].value eq "x"`).
    #[arg(long)]
    interop: bool,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on. A non-loopback address needs a token (--token-env or
    /// --tenant): the built-in development token is served on loopback only.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Environment variable holding the bearer token clients must send.
    #[arg(long, default_value = "SCIM_CONFORMANCE_TOKEN")]
    token_env: String,
    /// Switch on a reference-server fault by name (repeatable); `--list-faults` (or
    /// `--fault list`) prints them.
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
    /// SQLite file to keep data and the request log in (default: memory).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// A tenant and its bearer token as NAME=TOKEN, or NAME=env:VAR to read the token from
    /// a variable (repeatable); overrides --token-env.
    #[arg(long, value_name = "NAME=TOKEN")]
    tenant: Vec<String>,
    /// Requests per second each tenant may send (at least 0.1); past it, 429 with
    /// Retry-After.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    rate_limit: Option<f64>,
    /// The most operations one PATCH request may hold; past it, 413 with a SCIM error.
    #[arg(long, value_name = "N", default_value_t = scim_reference_server::DEFAULT_MAX_PATCH_OPERATIONS, allow_negative_numbers = true, value_parser = crate::whole_number)]
    max_patch_ops: usize,
    /// Print the faults with what each breaks, and exit.
    #[arg(long)]
    list_faults: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    Rfc,
    Entra,
    EntraCompliant,
    Okta,
    #[value(name = "onelogin")]
    OneLogin,
    Google,
    #[value(name = "jumpcloud")]
    JumpCloud,
    #[value(name = "pingfederate")]
    PingFederate,
    All,
}

impl ProfileArg {
    fn profiles(self) -> Vec<Profile> {
        match self {
            ProfileArg::Rfc => vec![Profile::Rfc],
            ProfileArg::Entra => vec![Profile::Entra],
            ProfileArg::EntraCompliant => vec![Profile::EntraCompliant],
            ProfileArg::Okta => vec![Profile::Okta],
            ProfileArg::OneLogin => vec![Profile::OneLogin],
            ProfileArg::Google => vec![Profile::Google],
            ProfileArg::JumpCloud => vec![Profile::JumpCloud],
            ProfileArg::PingFederate => vec![Profile::PingFederate],
            ProfileArg::All => Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ParseWhat {
    /// A filter (RFC 7644 section 3.4.2.2).
    Filter,
    /// A PATCH path (RFC 7644 section 3.5.2).
    Path,
}

/// A failure that ends the process with a documented exit code.
/// A whole-number flag (`usize`): a negative number, a fraction or text is refused with
/// what was given, and clap names the flag (`invalid value '-1' for '--jobs <N>': ...`).
/// The flags take a leading `-` as their value (`allow_negative_numbers`), so that `-1`
/// reaches this check instead of being read as an unknown option.
pub(crate) fn whole_number(text: &str) -> Result<usize, String> {
    whole_u64(text).and_then(|n| {
        usize::try_from(n).map_err(|_| format!("`{text}` is too large for this platform"))
    })
}

/// [`whole_number`] for a `u64` flag.
pub(crate) fn whole_u64(text: &str) -> Result<u64, String> {
    text.parse::<u64>().map_err(|_| {
        if text.starts_with('-') {
            format!("must be 0 or more, got {text}")
        } else {
            format!("expected a whole number, got `{text}`")
        }
    })
}

struct Exit {
    code: i32,
    message: String,
}

impl Exit {
    fn usage(message: impl Into<String>) -> Exit {
        Exit {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs one line per request at info level.
    init_tracing(if matches!(cli.command, Command::Serve(_)) {
        "warn,scim_reference_server=info"
    } else {
        "warn"
    });
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("scim-conformance: {}", e.message);
            }
            e.code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn dispatch(cli: Cli) -> Result<i32, Exit> {
    match cli.command {
        Command::List { profile, format } => list(profile, format),
        Command::Parse(args) => Ok(parse(&args)),
        Command::Run(args) => runtime()?.block_on(run_command(*args)),
        Command::Matrix(args) => runtime()?.block_on(matrix_cmd::matrix_command(args)),
        Command::Serve(args) => runtime()?.block_on(embedded::serve(args)),
        Command::Requests(args) => requests_cmd::run(&args),
        Command::Eval(args) => Ok(emit(scim_conformance::tools::eval(&args))),
        Command::Patch(args) => Ok(emit(scim_conformance::tools::patch(&args))),
        Command::Simulate(args) => runtime()?.block_on(sim_cli::simulate_command(*args)),
        Command::Record(args) => runtime()?.block_on(sim_cli::record_command(args)),
        Command::Replay(args) => runtime()?.block_on(replay_cli::replay_command(args)),
        Command::Grade(args) => replay_cli::grade_command(&args),
        Command::Variants(args) => replay_cli::variants_command(&args),
        Command::Merge(args) => sim_cli::merge_command(&args),
    }
}

/// Writes a tool's output and returns its exit code.
fn emit(out: scim_conformance::tools::ToolOutput) -> i32 {
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    out.code
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit {
            code: exit::USAGE,
            message: format!("could not start the async runtime: {e}"),
        })
}

fn list(profile: ProfileArg, format: ListFormat) -> Result<i32, Exit> {
    let selection = Selection {
        profiles: profile.profiles(),
        ..Selection::default()
    };
    let cases: Vec<_> = catalog()
        .into_iter()
        .filter(|c| selection.decide(c).is_ok())
        .collect();
    let mut out = std::io::stdout().lock();
    if format == ListFormat::Json {
        let all: Vec<serde_json::Value> = cases
            .iter()
            .map(scim_conformance::cases::case_json)
            .collect();
        let _ = writeln!(out, "{}", serde_json::Value::Array(all));
        return Ok(exit::SUCCESS);
    }
    for case in &cases {
        let profiles: Vec<&str> = case.profiles.iter().map(|p| p.name()).collect();
        let written = writeln!(
            out,
            "{:<6} {:<24} {}\n       {}",
            case.level,
            profiles.join(","),
            case.id,
            case.requirement
        );
        if written.is_err() {
            break;
        }
    }
    let _ = writeln!(out, "{} cases", cases.len());
    Ok(exit::SUCCESS)
}

fn parse(args: &ParseArgs) -> i32 {
    let options = if args.strict {
        scim_parser::ParseOptions::strict()
    } else if args.interop {
        scim_parser::ParseOptions::interop()
    } else {
        scim_parser::ParseOptions::default()
    };
    let parsed = match args.what {
        ParseWhat::Filter => scim_parser::parse_filter_with(&args.text, &options)
            .map(|f| scim_parser::json::filter_to_json(&f)),
        ParseWhat::Path => scim_parser::parse_patch_path_with(&args.text, &options)
            .map(|p| scim_parser::json::patch_path_to_json(&p)),
    };
    match parsed {
        Ok(json) => {
            println!("{json}");
            exit::SUCCESS
        }
        Err(e) => {
            eprint!("{}", e.render(&args.text));
            eprintln!("scimType: {}", e.scim_type());
            let interop = scim_parser::ParseOptions::interop();
            let lenient = match args.what {
                ParseWhat::Filter => scim_parser::parse_filter_with(&args.text, &interop).is_ok(),
                ParseWhat::Path => scim_parser::parse_patch_path_with(&args.text, &interop).is_ok(),
            };
            if !args.interop && lenient {
                eprint!("{}", scim_conformance::tools::INTEROP_HINT);
            }
            exit::MUST_FAILED
        }
    }
}

/// A gate that runs nothing passes: refuse a selection that leaves no case, and an
/// `--only` selector that matches no case id (a typo), before anything is sent.
fn check_selection(selection: &Selection) -> Result<(), Exit> {
    let cases = catalog();
    if let Some(s) = selection
        .only
        .iter()
        .find(|s| !cases.iter().any(|c| s.matches(c.id)))
    {
        return Err(Exit::usage(format!(
            "--only {s} matches no case id (`scim-conformance list` prints them)"
        )));
    }
    if !cases.iter().any(|c| selection.decide(c).is_ok()) {
        return Err(Exit::usage(
            "--profile, --only and --skip together leave no case to run",
        ));
    }
    Ok(())
}

async fn run_command(args: RunArgs) -> Result<i32, Exit> {
    let (timeout, case_timeout) = args.schedule.check()?;
    let selection = args.select.selection();
    check_selection(&selection)?;
    if let Some(url) = &args.target {
        suite::check_target_url(url)?;
    }
    if args.dry_run {
        let target = args.target.as_deref().map_or_else(
            || "http://127.0.0.1:<port>/scim/v2".into(),
            scim_conformance::client::without_userinfo,
        );
        let plan = scim_conformance::plan::rehearse(&catalog(), &selection, &target)
            .await
            .map_err(Exit::usage)?;
        // A closed pipe (`| head`) ends the output, not the process with a panic.
        let _ = std::io::stdout().write_all(plan.as_bytes());
        return Ok(exit::SUCCESS);
    }
    match &args.target {
        Some(url) => {
            if !args.fault.is_empty() {
                return Err(Exit::usage(
                    "--fault applies to the embedded reference server only, not to --target",
                ));
            }
            let token = token_from_env(&args.token_env)?;
            let second_token = match &args.second_token_env {
                Some(var) => Some(token_from_env(var)?),
                None => None,
            };
            suite::confirm_target(url, args.schedule.yes)?;
            let settings = suite::Settings::new(&args.outputs, &args.schedule, case_timeout)?;
            let options = RunOptions {
                base_url: url.clone(),
                token: Some(token),
                second_token,
                timeout,
                selection,
                // The label is printed and stored: never with a `user:password@`.
                target_label: scim_conformance::client::without_userinfo(url),
                prefix: None,
                interrupt: Some(interrupt_flag()),
            };
            suite::run_suite(&options, &settings).await
        }
        None => {
            let settings = suite::Settings::new(&args.outputs, &args.schedule, case_timeout)?;
            embedded::run_embedded(&args.fault, selection, timeout, &settings).await
        }
    }
}

/// Reads the token from `var`; a missing or empty variable is a usage error.
fn token_from_env(var: &str) -> Result<Token, Exit> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(Token::new(value.trim())),
        Ok(_) => Err(Exit::usage(format!("the token variable {var} is empty"))),
        Err(_) => Err(Exit::usage(format!(
            "the token variable {var} is not set; export it (or name another with --token-env)"
        ))),
    }
}

/// A flag set by the first Ctrl-C or SIGTERM (what `timeout`, CI cancellation and
/// Kubernetes send): the command then stops starting new work and cleans up what it
/// created; a second signal exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    tokio::spawn(async move {
        if stop_signal().await {
            eprintln!("scim-conformance: interrupted; starting no new work and cleaning up what this run created (interrupt again to quit now)");
            set.store(true, Ordering::Relaxed);
            if stop_signal().await {
                std::process::exit(130);
            }
        }
    });
    flag
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM; false if neither can be listened for.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                r = term.recv() => r.is_some(),
            };
        }
    }
    tokio::signal::ctrl_c().await.is_ok()
}
