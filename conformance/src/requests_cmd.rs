//! `scim-conformance requests`: prints the reference server's request log (the
//! `requests` table that `serve --db PATH` writes) as a table or as JSON lines.

use super::Exit;
use clap::{Args, ValueEnum};
use scim_conformance::exit;
use scim_reference_server::requests::{self, LoggedRequest, RequestQuery};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub(crate) struct RequestsArgs {
    /// The SQLite file given to `serve --db`.
    #[arg(long, value_name = "PATH")]
    db: PathBuf,
    /// Only this tenant's requests.
    #[arg(long, value_name = "NAME")]
    tenant: Option<String>,
    /// Only requests since this time: RFC 3339 UTC (`2026-12-04T10:00:00Z`) or an age
    /// such as `90s`, `15m`, `2h`, `1d`.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only requests with this status: `404`, or a class such as `4xx`.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Only the latest N matching requests.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = crate::whole_number)]
    limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One aligned line per request.
    Table,
    /// One JSON object per line, with headers and body.
    Jsonl,
}

/// Reads `--since`: an age (`15m`) or a timestamp, as the RFC 3339 text the log holds.
fn since(text: &str) -> Result<String, Exit> {
    let text = text.trim();
    let unit = match text.chars().last() {
        Some('s') => Some(1),
        Some('m') => Some(60),
        Some('h') => Some(3600),
        Some('d') => Some(86_400),
        _ => None,
    };
    if let Some(unit) = unit {
        if let Ok(n) = text[..text.len() - 1].parse::<u64>() {
            return Ok(requests::time_ago(Duration::from_secs(n * unit)));
        }
    }
    let looks_like_time = text.len() >= 10
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[7] == b'-'
        && text[..4].bytes().all(|b| b.is_ascii_digit());
    if looks_like_time {
        // The log stores UTC with a `Z`; a trailing `Z` on a shorter time still compares.
        Ok(text.trim_end_matches('Z').to_string())
    } else {
        Err(Exit::usage(format!(
            "--since `{text}`: expected an RFC 3339 UTC time or an age like 15m, 2h, 1d"
        )))
    }
}

pub(crate) fn run(args: &RequestsArgs) -> Result<i32, Exit> {
    let query = RequestQuery {
        tenant: args.tenant.clone(),
        since: args.since.as_deref().map(since).transpose()?,
        status: args.status.clone(),
        limit: args.limit,
    };
    let rows = requests::read(&args.db, &query).map_err(|e| {
        Exit::usage(match e {
            scim_reference_server::ServerError::Config(message) => message,
            other => other.to_string(),
        })
    })?;
    let mut out = std::io::stdout().lock();
    for row in &rows {
        let line = match args.format {
            Format::Table => table_line(row),
            Format::Jsonl => json_line(row),
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(exit::SUCCESS)
}

fn table_line(row: &LoggedRequest) -> String {
    let target = match &row.query {
        Some(q) => format!("{}?{q}", row.path),
        None => row.path.clone(),
    };
    format!(
        "{}  {:<12} {:<6} {:>3} {:>8.1}ms  {}{}",
        row.time,
        row.tenant.as_deref().unwrap_or("-"),
        row.method,
        row.status,
        row.duration_ms,
        target,
        if row.dialects.is_empty() {
            String::new()
        } else {
            format!("  [{}]", row.dialects.join(","))
        }
    )
}

fn json_line(row: &LoggedRequest) -> String {
    let mut value = json!({
        "time": row.time,
        "tenant": row.tenant,
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "headers": row.headers,
        "status": row.status,
        "duration_ms": row.duration_ms,
        "dialects": row.dialects,
    });
    match std::str::from_utf8(&row.body) {
        Ok(text) => value["body"] = json!(text),
        Err(_) => {
            let hex: String = row.body.iter().map(|b| format!("{b:02x}")).collect();
            value["body_hex"] = json!(hex);
        }
    }
    value.to_string()
}
