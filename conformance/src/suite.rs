//! `run`'s plumbing: which reporters a run feeds, the consent check for non-loopback
//! targets, and the exit code from the gate and the snapshots.

use super::{Exit, OutputArgs, ScheduleArgs};
use scim_conformance::baseline::{self, Baseline};
use scim_conformance::cases::catalog;
use scim_conformance::exit;
use scim_conformance::report::{
    FileReporter, Format, HumanReporter, JsonReporter, Progress, Reporter,
};
use scim_conformance::runner::{run_with, Policy, RunError, RunOptions, RunResult};
use scim_conformance::snapshots::{SnapshotReporter, Status};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Everything `run` does besides reaching the target.
pub(crate) struct Settings {
    pub(crate) policy: Policy,
    files: Vec<(Format, PathBuf)>,
    json: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
    snapshots: Option<(PathBuf, bool)>,
}

impl Settings {
    /// Checks the output paths can be written and the baseline parses, before any request.
    pub(crate) fn new(
        out: &OutputArgs,
        schedule: &ScheduleArgs,
        case_timeout: Duration,
    ) -> Result<Settings, Exit> {
        let baseline = match &out.baseline {
            Some(path) => Some(Baseline::load(path).map_err(Exit::usage)?),
            None => None,
        };
        let mut files = Vec::new();
        for (format, path) in [
            (Format::Junit, &out.junit),
            (Format::Html, &out.html),
            (Format::Markdown, &out.markdown),
        ] {
            if let Some(path) = path {
                files.push((format, path.clone()));
            }
        }
        let writable = files
            .iter()
            .map(|(_, p)| p)
            .chain(out.json.iter())
            .chain(out.write_baseline.iter());
        for path in writable {
            std::fs::File::create(path)
                .map_err(|e| Exit::usage(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(Settings {
            policy: Policy {
                jobs: schedule.jobs,
                case_timeout,
                max_body: schedule.max_body,
                retry_wait: schedule.retry_wait()?,
                strict: out.strict,
                baseline,
                fail_on_stale: out.fail_on_stale,
            },
            files,
            json: out.json.clone(),
            write_baseline: out.write_baseline.clone(),
            snapshots: out.snapshots.clone().map(|dir| (dir, out.update_snapshots)),
        })
    }
}

impl Settings {
    /// Removes the report files created empty up front, when the run never happened.
    fn remove_empty_outputs(&self) {
        let paths = self
            .files
            .iter()
            .map(|(_, p)| p)
            .chain(self.json.iter())
            .chain(self.write_baseline.iter());
        for path in paths {
            if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A target must be an absolute http or https URL with a host; anything else is a usage
/// error naming the URL and what is wrong with it (before the loopback question, which
/// only makes sense for a URL).
pub(crate) fn check_target_url(url: &str) -> Result<(), Exit> {
    let shown = scim_conformance::client::without_userinfo(url);
    let url = shown.as_str();
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Exit::usage(format!("target `{url}`: invalid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Exit::usage(format!(
            "target `{url}`: invalid URL: the scheme must be http or https, not `{}`",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Exit::usage(format!(
            "target `{url}`: invalid URL: it names no host"
        )));
    }
    // A base URL has requests appended to its path; a query or fragment would end up in
    // the middle of every request URL.
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Exit::usage(format!(
            "target `{url}`: invalid URL: a base URL has no query (`?`) or fragment (`#`)"
        )));
    }
    Ok(())
}

/// Is `url`'s host a loopback address (127.0.0.0/8, ::1, `localhost`)?
pub(crate) fn is_loopback(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Destructive runs against a non-loopback target need `--yes`, or a typed `yes` on a
/// terminal; anything else is a usage error (exit 2) before a request is sent.
pub(crate) fn confirm_target(url: &str, yes: bool) -> Result<(), Exit> {
    check_target_url(url)?;
    let shown = scim_conformance::client::without_userinfo(url);
    let url = shown.as_str();
    if yes || is_loopback(url) {
        return Ok(());
    }
    let warning = format!(
        "{url} is not a loopback address. The suite creates, changes and deletes resources \
         there (only its own, each named with the run prefix scimconf-<random8>-)"
    );
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint!("scim-conformance: {warning}.\nType `yes` to go on: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes" {
            return Ok(());
        }
        return Err(Exit::usage("not confirmed; nothing was sent"));
    }
    Err(Exit::usage(format!(
        "{warning}; pass --yes to confirm (or --dry-run to see the plan). Nothing was sent."
    )))
}

/// The progress bar is for people: only on a terminal, and not with `NO_COLOR`.
fn wants_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs the suite with the human reporter on stdout and every report asked for; returns
/// the exit code.
pub(crate) async fn run_suite(options: &RunOptions, settings: &Settings) -> Result<i32, Exit> {
    let progress = wants_progress().then(Progress::new);
    let stdout: Box<dyn Write> = match &progress {
        Some(p) => Box::new(p.writer(std::io::stdout())),
        None => Box::new(std::io::stdout()),
    };
    let mut human = HumanReporter::new(stdout);
    let mut json = settings.json.as_ref().map(JsonReporter::new);
    let mut files: Vec<FileReporter> = settings
        .files
        .iter()
        .map(|(f, p)| FileReporter::new(*f, p))
        .collect();
    let mut snapshots = settings
        .snapshots
        .as_ref()
        .map(|(dir, update)| SnapshotReporter::new(dir, *update));
    let mut progress = progress;
    let result = {
        let mut reporters: Vec<&mut dyn Reporter> = vec![&mut human];
        if let Some(p) = progress.as_mut() {
            reporters.push(p);
        }
        if let Some(j) = json.as_mut() {
            reporters.push(j);
        }
        for f in files.iter_mut() {
            reporters.push(f);
        }
        if let Some(s) = snapshots.as_mut() {
            reporters.push(s);
        }
        run_with(&catalog(), options, &settings.policy, &mut reporters).await
    };
    if result.is_err() {
        settings.remove_empty_outputs();
    }
    let result = match result {
        Ok(result) => result,
        Err(RunError::Config(m)) => return Err(Exit::usage(m)),
        Err(RunError::Unreachable(m)) => {
            return Err(Exit {
                code: exit::UNREACHABLE,
                message: format!("target unreachable: {m}"),
            })
        }
    };
    if let Some(path) = &settings.write_baseline {
        std::fs::write(path, baseline::write(&result.cases, &options.target_label))
            .map_err(|e| Exit::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let drifted = snapshots.as_ref().map_or(0, report_snapshots);
    let interrupted = options
        .interrupt
        .as_ref()
        .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::Relaxed));
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit_code(&result, drifted))
}

fn exit_code(result: &RunResult, drifted: usize) -> i32 {
    if result.gate_failed() {
        exit::MUST_FAILED
    } else if drifted > 0 {
        exit::SNAPSHOT_DRIFT
    } else {
        exit::SUCCESS
    }
}

/// Prints the snapshot verdict per case; returns how many drifted.
fn report_snapshots(snapshots: &SnapshotReporter) -> usize {
    let mut out = std::io::stdout().lock();
    let (mut new, mut same, mut updated, mut drifted) = (0, 0, 0, 0);
    for checked in &snapshots.checked {
        match &checked.status {
            Status::Unchanged => same += 1,
            Status::New => new += 1,
            Status::Updated => {
                updated += 1;
                let _ = writeln!(out, "snapshot UPDATED {}", checked.id);
            }
            Status::Drifted { diff } => {
                drifted += 1;
                let _ = writeln!(
                    out,
                    "snapshot DRIFT {} ({}; new text in .snap.new, --update-snapshots accepts)",
                    checked.id,
                    checked.file.display()
                );
                for line in diff.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "snapshots: {same} unchanged, {new} new, {updated} updated, {drifted} drifted"
    );
    drifted
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:8080/scim/v2"));
        assert!(is_loopback("http://127.9.9.9/"));
        assert!(is_loopback("http://[::1]:80/"));
        assert!(is_loopback("http://LOCALHOST/"));
        assert!(!is_loopback("https://sp.example/scim/v2"));
        assert!(!is_loopback("http://10.0.0.1/"));
        assert!(!is_loopback("not a url"));
    }
}
