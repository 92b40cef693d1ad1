//! `replay`, `grade` and `variants`: the commands that work on a recording made by
//! `scim-conformance record`. Arguments, output and exit codes; the work is in
//! `scim_conformance::{recording, replay, grade, recorded_variants}`.

use super::{interrupt_flag, token_from_env, Exit};
use clap::{Args, ValueEnum};
use scim_conformance::client::Client;
use scim_conformance::exit;
use scim_conformance::recording::{self, Exchange};
use scim_conformance::replay::{self, Pace};
use scim_conformance::simulate::outage::EmbeddedServer;
use scim_conformance::variants::Variant;
use scim_conformance::Token;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PaceArg {
    /// Each request waits for its recorded offset from the first.
    Recorded,
    /// As fast as the target answers (and --rate allows).
    Max,
}

/// Replay a recording against a target and compare statuses.
///
/// Ids the recorded server minted are mapped to the ones the target mints when the
/// replayed create answers, only where they name a resource: /Users/{id} and /Groups/{id},
/// member and manager values, PATCH path filters, filter comparisons with id or value, and
/// `id` in PUT bodies. Every userName, externalId and displayName gets the prefix
/// `scimreplay-<random8>-`. Requests addressing or referring to resources the recording did
/// not create (they existed before it) are skipped with the reason, never sent; so are
/// writes to /Bulk and /Me, and values the recorder masked (REDACTED) are never sent. Reads
/// of lists and discovery endpoints are sent (they change nothing). 429 answers are waited
/// out (--retry-wait). Only statuses are compared; each line shows the path sent. At the
/// end the users and groups the replay created are deleted (unless --keep), also after
/// Ctrl-C, retrying 429 and 5xx; what is left is listed by id.
///
/// Exit codes: 0 every sent request got its recorded status, 1 a status differs (or a
/// request failed, or a create could not be tracked), 2 usage or an unreadable recording,
/// 3 the target did not answer, 130 interrupted (cleanup done).
#[derive(Args, Debug)]
pub(crate) struct ReplayArgs {
    /// The recording (JSON lines from `scim-conformance record`).
    file: PathBuf,
    /// SCIM base URL to replay against (e.g. https://sp.example/scim/v2). Without it the
    /// reference server is started in-process on an ephemeral 127.0.0.1 port.
    #[arg(long)]
    target: Option<String>,
    /// Environment variable holding the bearer token for --target (never printed or stored).
    #[arg(long, default_value = "SCIM_CONFORMANCE_TOKEN")]
    token_env: String,
    /// `recorded`: keep the recorded spacing; `max`: as fast as the target answers.
    #[arg(long, value_enum, default_value_t = PaceArg::Max)]
    pace: PaceArg,
    /// With --pace recorded, the longest pause between two consecutive requests, in
    /// seconds (longer recorded gaps are cut to it).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    max_gap: f64,
    /// At most R requests per second in all.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Copies (see --scale) replayed at once; each copy is replayed strictly in order.
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = crate::whole_number)]
    concurrency: usize,
    /// Replay the creating part N times, copy k with names `scimreplay-<random8>-c<k>-...`,
    /// so the volume grows without collisions (discovery and unrelated reads run once).
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = crate::whole_number)]
    scale: usize,
    /// Leave the users and groups the replay created on the target.
    #[arg(long)]
    keep: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    timeout: f64,
    /// The longest one request (also a cleanup DELETE) waits in total, in seconds, for a
    /// target answering 429 (Retry-After honoured, else exponential backoff); past it the
    /// request is an `error` (rate-limited, not judged). 0 turns the retries off.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    retry_wait: f64,
    /// Replay against a target that is not on a loopback address (it creates, changes and
    /// deletes resources there, only its own).
    #[arg(long)]
    yes: bool,
}

/// Check what a client sends: every request of a recording read in strict RFC 7644 mode.
///
/// Filters, PATCH documents, create and replace bodies, media types and paging parameters
/// are checked; each deviation is listed with the exchange (line number), the RFC section
/// and the known IdP dialect it matches (entra, okta, onelogin, generic; `none` when no
/// known client is documented to send it).
///
/// Exit codes: 0 every request is strictly conformant, 1 deviations, 2 an unreadable or
/// invalid recording (the line number and what is wrong are printed).
#[derive(Args, Debug)]
pub(crate) struct GradeArgs {
    /// The recording (JSON lines from `scim-conformance record`).
    file: PathBuf,
    /// Also write the deviations and counts as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Turn a recording into corpus variant files, one per distinct request shape.
///
/// Files go to DIR/<dialect>/recorded-<method>-<endpoint>-<hash>.json in the format of
/// corpus/idp/ (ids and names become placeholders the variant runner fills; the data is
/// pseudonymised). With a --dialect that names a profile (entra, okta, ...) each file is
/// also a SHOULD case of that profile expecting the method's success status. Existing
/// files are never overwritten without --force.
///
/// Exit codes: 0 every file written (or already there with the same text), 1 an existing
/// file differs and was kept, 2 usage or an unreadable recording.
#[derive(Args, Debug)]
pub(crate) struct VariantsArgs {
    /// The recording (JSON lines from `scim-conformance record`).
    file: PathBuf,
    /// Directory holding one folder per dialect (corpus/idp in this repository).
    #[arg(long, value_name = "DIR", default_value = "corpus/idp")]
    out: PathBuf,
    /// The dialect label: the folder name and, when it names a profile, the case's profile.
    #[arg(long, value_name = "NAME", default_value = "recorded")]
    dialect: String,
    /// Overwrite files that exist with other text.
    #[arg(long)]
    force: bool,
}

fn load(path: &Path) -> Result<Vec<Exchange>, Exit> {
    recording::load(path).map_err(Exit::usage)
}

/// Opens (creates or truncates) the `--json` file before any work, so an unwritable path
/// is a usage error (exit 2) before anything is sent or read.
fn open_json(path: Option<&Path>) -> Result<Option<(PathBuf, std::fs::File)>, Exit> {
    path.map(|path| {
        std::fs::File::create(path)
            .map(|f| (path.to_owned(), f))
            .map_err(|e| Exit::usage(format!("--json {}: cannot write: {e}", path.display())))
    })
    .transpose()
}

fn write_json(
    (path, mut file): (PathBuf, std::fs::File),
    value: &serde_json::Value,
) -> Result<(), Exit> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).map_err(|e| Exit::usage(e.to_string()))?;
    file.write_all((text + "\n").as_bytes())
        .map_err(|e| Exit::usage(format!("cannot write {}: {e}", path.display())))
}

pub(crate) async fn replay_command(args: ReplayArgs) -> Result<i32, Exit> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Exit::usage(format!(
            "--timeout must be a positive number of seconds, got {}",
            args.timeout
        )));
    }
    if !(args.retry_wait.is_finite() && (0.0..=86_400.0).contains(&args.retry_wait)) {
        return Err(Exit::usage(format!(
            "--retry-wait must be a number of seconds from 0 to 86400, got {}",
            args.retry_wait
        )));
    }
    if !(args.max_gap.is_finite() && (0.0..=86_400.0).contains(&args.max_gap)) {
        return Err(Exit::usage(format!(
            "--max-gap must be a number of seconds from 0 to 86400, got {}",
            args.max_gap
        )));
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            return Err(Exit::usage(format!("--rate must be positive, got {r}")));
        }
    }
    if args.concurrency == 0 || args.concurrency > 1024 {
        return Err(Exit::usage("--concurrency must be between 1 and 1024"));
    }
    if args.scale == 0 || args.scale > 100_000 {
        return Err(Exit::usage("--scale must be between 1 and 100,000"));
    }
    let exchanges = load(&args.file)?;
    let mut embedded = None;
    let (base, token) = match &args.target {
        Some(url) => {
            super::suite::check_target_url(url)?;
            let token = token_from_env(&args.token_env)?;
            if !args.yes && !super::suite::is_loopback(url) {
                let url = scim_conformance::client::without_userinfo(url);
                return Err(Exit::usage(format!(
                    "{url} is not a loopback address; the replay creates, changes and deletes \
                     resources there (only its own, prefixed scimreplay-); pass --yes to \
                     confirm. Nothing was sent."
                )));
            }
            (url.clone(), token)
        }
        None => {
            let server = EmbeddedServer::start(scim_reference_server::Config::default())
                .await
                .map_err(Exit::usage)?;
            let base = server.base_url();
            embedded = Some(server);
            (base, Token::new(scim_reference_server::DEFAULT_TOKEN))
        }
    };
    let client = Client::new(&base, Some(token), Duration::from_secs_f64(args.timeout))
        .map_err(Exit::usage)?
        .with_retry_wait(Duration::from_secs_f64(args.retry_wait));
    let options = replay::Options {
        pace: match args.pace {
            PaceArg::Recorded => Pace::Recorded,
            PaceArg::Max => Pace::Max,
        },
        rate: args.rate,
        concurrency: args.concurrency,
        scale: args.scale,
        keep: args.keep,
        prefix: replay::fresh_prefix(),
        interrupt: interrupt_flag(),
        max_gap: Duration::from_secs_f64(args.max_gap),
    };
    let json_out = match open_json(args.json.as_deref()) {
        Ok(out) => out,
        Err(e) => {
            if let Some(server) = embedded {
                server.stop().await;
            }
            return Err(e);
        }
    };
    let report = replay::replay(client, exchanges, options).await;
    {
        let mut out = std::io::stdout().lock();
        let _ = report.write_human(&mut out);
    }
    if let Some(out) = json_out {
        write_json(out, &replay::to_json(&report))?;
    }
    if let Some(server) = embedded {
        server.stop().await;
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else if report.unreachable {
        exit::UNREACHABLE
    } else if report.matched() {
        exit::SUCCESS
    } else {
        exit::MUST_FAILED
    })
}

pub(crate) fn grade_command(args: &GradeArgs) -> Result<i32, Exit> {
    let exchanges = load(&args.file)?;
    let json_out = open_json(args.json.as_deref())?;
    let grade = scim_conformance::grade::grade(&exchanges);
    {
        let mut out = std::io::stdout().lock();
        let _ = grade.write_human(&mut out);
    }
    if let Some(out) = json_out {
        let mut json = grade.to_json();
        json["recording"] = serde_json::json!(args.file.display().to_string());
        write_json(out, &json)?;
    }
    Ok(if grade.conformant() {
        exit::SUCCESS
    } else {
        exit::MUST_FAILED
    })
}

pub(crate) fn variants_command(args: &VariantsArgs) -> Result<i32, Exit> {
    let valid = !args.dialect.is_empty()
        && args
            .dialect
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(Exit::usage(format!(
            "--dialect {:?}: use lower-case letters, digits and `-` (it names a folder)",
            args.dialect
        )));
    }
    let exchanges = load(&args.file)?;
    let source = args
        .file
        .file_name()
        .map_or_else(|| "recording".into(), |n| n.to_string_lossy().into_owned());
    let (made, skipped, duplicates) =
        scim_conformance::recorded_variants::make(&exchanges, &args.dialect, &source);
    // Every file must load the way the catalog loads it; a failure here is a bug.
    for m in &made {
        Variant::parse(&m.name, &m.text).map_err(|e| Exit {
            code: exit::MUST_FAILED,
            message: format!("internal error: {} would not load: {e:?}", m.name),
        })?;
    }
    let written = scim_conformance::recorded_variants::write(&made, &args.out, args.force)
        .map_err(Exit::usage)?;
    let mut out = String::new();
    for s in &skipped {
        out.push_str(&format!("skipped line {}: {}\n", s.exchange, s.reason));
    }
    for (label, paths) in [
        ("wrote", &written.written),
        ("unchanged", &written.unchanged),
        (
            "kept (exists with other text; --force overwrites)",
            &written.kept,
        ),
    ] {
        for p in paths {
            out.push_str(&format!("{label} {}\n", p.display()));
        }
    }
    out.push_str(&format!(
        "{} exchanges: {} variant files ({} written, {} unchanged, {} kept), {} duplicates of an earlier shape, {} skipped\n",
        exchanges.len(),
        made.len(),
        written.written.len(),
        written.unchanged.len(),
        written.kept.len(),
        duplicates,
        skipped.len()
    ));
    print!("{out}");
    Ok(if written.kept.is_empty() {
        exit::SUCCESS
    } else {
        exit::MUST_FAILED
    })
}
