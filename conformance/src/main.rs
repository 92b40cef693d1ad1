//! `scim-conformance`: fires RFC 7644 and IdP-specific requests at a SCIM server and
//! reports what it does wrong. Exit codes are the constants in `scim_conformance::exit`.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use scim_conformance::cases::catalog;
use scim_conformance::exit;
use scim_conformance::report::{HumanReporter, JsonReporter, Reporter};
use scim_conformance::runner::{run, RunError, RunOptions};
use scim_conformance::select::{Selection, Selector};
use scim_conformance::{Profile, Token};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod embedded;
mod sim_cli;

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
    Run(RunArgs),
    /// Print the catalog of cases.
    List {
        /// Only cases of this profile.
        #[arg(long, value_enum, default_value_t = ProfileArg::All)]
        profile: ProfileArg,
    },
    /// Parse a filter or a PATCH path and print its AST as JSON.
    Parse(ParseArgs),
    /// Run the reference server until Ctrl-C.
    Serve(ServeArgs),
    /// Provision a generated population at scale in an IdP's dialect, cycle by cycle, and
    /// check the target ends up holding exactly the directory.
    Simulate(Box<sim_cli::SimulateArgs>),
    /// Reverse proxy on 127.0.0.1 that forwards to --upstream and records every exchange
    /// as JSON lines, credentials dropped and personal data pseudonymised.
    Record(sim_cli::RecordArgs),
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
    /// Which profile's cases to run.
    #[arg(long, value_enum, default_value_t = ProfileArg::All)]
    profile: ProfileArg,
    /// Run only cases whose id matches this glob (repeatable), e.g. `rfc7644-3.4.2.2/*`.
    #[arg(long, value_name = "SELECTOR")]
    only: Vec<Selector>,
    /// Do not run cases whose id matches this glob (repeatable).
    #[arg(long, value_name = "SELECTOR")]
    skip: Vec<Selector>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// Also write the machine report (schema: conformance/REPORT.md) to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print which cases would run, without sending anything.
    #[arg(long)]
    dry_run: bool,
    /// Switch on a reference-server fault (embedded target only; repeatable); `--fault list`
    /// prints them.
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
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
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Environment variable holding the bearer token clients must send.
    #[arg(long, default_value = "SCIM_CONFORMANCE_TOKEN")]
    token_env: String,
    /// Switch on a reference-server fault by name (repeatable); `--fault list` prints them.
    #[arg(long, value_name = "NAME")]
    fault: Vec<String>,
    /// SQLite file to keep data in (default: memory).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    Rfc,
    Entra,
    Okta,
    All,
}

impl ProfileArg {
    fn profiles(self) -> Vec<Profile> {
        match self {
            ProfileArg::Rfc => vec![Profile::Rfc],
            ProfileArg::Entra => vec![Profile::Entra],
            ProfileArg::Okta => vec![Profile::Okta],
            ProfileArg::All => Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ParseWhat {
    /// A filter (RFC 7644 section 3.4.2.2).
    Filter,
    /// A PATCH path (RFC 7644 section 3.5.2).
    Path,
}

/// A failure that ends the process with a documented exit code.
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
    init_tracing();
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn dispatch(cli: Cli) -> Result<i32, Exit> {
    match cli.command {
        Command::List { profile } => list(profile),
        Command::Parse(args) => Ok(parse(&args)),
        Command::Run(args) => runtime()?.block_on(run_command(args)),
        Command::Serve(args) => runtime()?.block_on(embedded::serve(args)),
        Command::Simulate(args) => runtime()?.block_on(sim_cli::simulate_command(*args)),
        Command::Record(args) => runtime()?.block_on(sim_cli::record_command(args)),
    }
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

fn list(profile: ProfileArg) -> Result<i32, Exit> {
    let selection = Selection {
        profiles: profile.profiles(),
        ..Selection::default()
    };
    let mut out = std::io::stdout().lock();
    for case in catalog().iter().filter(|c| selection.decide(c).is_ok()) {
        let profiles: Vec<&str> = case.profiles.iter().map(|p| p.name()).collect();
        let written = writeln!(
            out,
            "{:<6} {:<16} {}\n       {}",
            case.level,
            profiles.join(","),
            case.id,
            case.requirement
        );
        if written.is_err() {
            break;
        }
    }
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
            exit::MUST_FAILED
        }
    }
}

async fn run_command(args: RunArgs) -> Result<i32, Exit> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Exit::usage(format!(
            "--timeout must be a positive number of seconds, got {}",
            args.timeout
        )));
    }
    let selection = Selection {
        profiles: args.profile.profiles(),
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    if args.dry_run {
        return dry_run(&selection);
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    match &args.target {
        Some(url) => {
            if !args.fault.is_empty() {
                return Err(Exit::usage(
                    "--fault applies to the embedded reference server only, not to --target",
                ));
            }
            let token = token_from_env(&args.token_env)?;
            let options = RunOptions {
                base_url: url.clone(),
                token: Some(token),
                timeout,
                selection,
                target_label: url.clone(),
                prefix: None,
                interrupt: Some(interrupt_flag()),
            };
            run_suite(&options, args.json.as_deref()).await
        }
        None => embedded::run_embedded(&args.fault, selection, timeout, args.json.as_deref()).await,
    }
}

fn dry_run(selection: &Selection) -> Result<i32, Exit> {
    let mut out = std::io::stdout().lock();
    for case in catalog() {
        let line = match selection.decide(&case) {
            Ok(()) => format!("would run  {}", case.id),
            Err(reason) => format!("not run    {} ({reason})", case.id),
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(exit::SUCCESS)
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

/// A flag set by the first Ctrl-C (the run then skips the remaining cases and cleans up);
/// a second Ctrl-C exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("scim-conformance: interrupted; skipping the remaining cases and cleaning up (Ctrl-C again to quit now)");
            set.store(true, Ordering::Relaxed);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    flag
}

/// Runs the suite with the human reporter on stdout (and the JSON one when asked).
async fn run_suite(options: &RunOptions, json: Option<&std::path::Path>) -> Result<i32, Exit> {
    let mut human = HumanReporter::new(std::io::stdout());
    let mut json_reporter = json.map(JsonReporter::new);
    let mut reporters: Vec<&mut dyn Reporter> = vec![&mut human];
    if let Some(j) = json_reporter.as_mut() {
        reporters.push(j);
    }
    match run(&catalog(), options, &mut reporters).await {
        Ok(result) => Ok(if result.must_broken() {
            exit::MUST_FAILED
        } else {
            exit::SUCCESS
        }),
        Err(RunError::Config(m)) => Err(Exit::usage(m)),
        Err(RunError::Unreachable(m)) => Err(Exit {
            code: exit::UNREACHABLE,
            message: format!("target unreachable: {m}"),
        }),
    }
}
