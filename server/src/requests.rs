//! The request log: every request the server answers, kept in a `requests` table for
//! audit and for debugging an IdP's traffic.
//!
//! A row holds the time, tenant (none when authentication failed), method, path, query,
//! the request headers without `Authorization`, the body as received, the status, the
//! duration and the IdP dialects the parser detected (for PATCH, from
//! `scim_parser::patch` diagnostics). Rows are written by one background thread in
//! batches on the store's connection, so a request never waits for its log row. With
//! `--db PATH` they go to the same SQLite file and [`read`] (the `scim-conformance requests` command) prints them;
//! without it they are kept in memory for the life of the process.

use crate::error::ServerError;
use rusqlite::{params, Connection};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    tenant TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    status INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    dialects TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time);
";

/// One logged request.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRequest {
    /// When it arrived, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The tenant its token named; `None` when authentication failed.
    pub tenant: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The request headers as a JSON object of arrays, `Authorization` removed.
    pub headers: Value,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// The response status.
    pub status: u16,
    /// How long the server took, in milliseconds.
    pub duration_ms: f64,
    /// The IdP dialects the parser detected (`entra`, `okta`, ...), if any.
    pub dialects: Vec<String>,
}

/// Which logged requests [`read`] returns.
#[derive(Clone, Debug, Default)]
pub struct RequestQuery {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only those at or after this RFC 3339 time (compared as text, UTC).
    pub since: Option<String>,
    /// Only those whose status matches, as `404` or a class such as `4xx`.
    pub status: Option<String>,
    /// At most this many, the latest ones.
    pub limit: Option<usize>,
}

/// Where the log thread is told to write.
pub(crate) struct RequestLog {
    sender: mpsc::Sender<LoggedRequest>,
}

/// The log thread, joined once every [`RequestLog`] sender is gone.
pub(crate) struct LogThread(JoinHandle<()>);

impl LogThread {
    /// Waits until every queued row is written.
    pub(crate) fn join(self) {
        if self.0.join().is_err() {
            tracing::warn!("the request log thread panicked");
        }
    }
}

/// Opens the log (the `requests` table on the store's own connection, so log writes
/// never wait on a file lock the store holds) and starts its thread.
pub(crate) fn open(conn: Arc<Mutex<Connection>>) -> Result<(RequestLog, LogThread), ServerError> {
    conn.lock()
        .map_err(|_| ServerError::Store("store lock poisoned".into()))?
        .execute_batch(SCHEMA)
        .map_err(|err| ServerError::Store(format!("cannot open the request log: {err}")))?;
    let (sender, receiver) = mpsc::channel::<LoggedRequest>();
    let thread = std::thread::Builder::new()
        .name("scim-request-log".into())
        .spawn(move || write_loop(conn, &receiver))
        .map_err(ServerError::Io)?;
    Ok((RequestLog { sender }, LogThread(thread)))
}

impl RequestLog {
    /// Queues one row; never blocks.
    pub(crate) fn record(&self, entry: LoggedRequest) {
        if self.sender.send(entry).is_err() {
            tracing::warn!("the request log thread has stopped; a request was not logged");
        }
    }
}

impl Clone for RequestLog {
    fn clone(&self) -> Self {
        RequestLog {
            sender: self.sender.clone(),
        }
    }
}

/// Writes rows as they come, up to 512 per transaction, until every sender is dropped.
fn write_loop(conn: Arc<Mutex<Connection>>, receiver: &mpsc::Receiver<LoggedRequest>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let Ok(mut conn) = conn.lock() else {
            tracing::warn!("store lock poisoned; the request log stops");
            return;
        };
        if let Err(err) = write_batch(&mut conn, &batch) {
            tracing::warn!(%err, rows = batch.len(), "could not write the request log");
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[LoggedRequest]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO requests (time, tenant, method, path, query, headers, body, status, \
             duration_ms, dialects) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for e in batch {
            stmt.execute(params![
                e.time,
                e.tenant,
                e.method,
                e.path,
                e.query,
                e.headers.to_string(),
                e.body,
                e.status,
                e.duration_ms,
                e.dialects.join(","),
            ])?;
        }
    }
    tx.commit()
}

/// The request headers as logged: names lowercase, values as text, `Authorization`
/// (and `Proxy-Authorization`) removed so that no token is ever stored.
pub(crate) fn loggable_headers(headers: &axum::http::HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        if name == axum::http::header::AUTHORIZATION
            || name == axum::http::header::PROXY_AUTHORIZATION
        {
            continue;
        }
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let slot = out
            .entry(name.as_str().to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(Value::String(text));
        }
    }
    Value::Object(out)
}

/// Does `status` match a `--status` pattern (`404`, `4xx`, `5XX`)?
fn status_matches(pattern: &str, status: u16) -> Result<bool, ServerError> {
    let pattern = pattern.trim().to_ascii_lowercase();
    let digits = status.to_string();
    let ok = pattern.len() == 3 && pattern.chars().all(|c| c.is_ascii_digit() || c == 'x');
    if !ok {
        return Err(ServerError::Config(format!(
            "status filter `{pattern}` must be three characters of digits or `x`, like 404 or 4xx"
        )));
    }
    // HTTP status codes run from 100 to 599 (RFC 9110 section 15).
    if !matches!(pattern.as_bytes()[0], b'1'..=b'5' | b'x') {
        return Err(ServerError::Config(format!(
            "status filter `{pattern}` is outside the HTTP status range 100-599 (first digit 1 to 5)"
        )));
    }
    Ok(pattern
        .chars()
        .zip(digits.chars())
        .all(|(p, d)| p == 'x' || p == d))
}

/// The RFC 3339 time `ago` before now, for [`RequestQuery::since`].
pub fn time_ago(ago: std::time::Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let then = now.saturating_sub(ago);
    crate::clock::format_rfc3339(then.as_secs() as i64, then.subsec_millis())
}

/// Reads logged requests from the SQLite file `db`, oldest first.
pub fn read(db: &Path, query: &RequestQuery) -> Result<Vec<LoggedRequest>, ServerError> {
    if let Some(pattern) = &query.status {
        status_matches(pattern, 200)?;
    }
    if !db.exists() {
        return Err(ServerError::Config(format!(
            "no database file {}",
            db.display()
        )));
    }
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|err| ServerError::Store(format!("cannot open {}: {err}", db.display())))?;
    let fail = |err: rusqlite::Error| ServerError::Store(format!("cannot read requests: {err}"));
    let mut stmt = conn
        .prepare(
            "SELECT time, tenant, method, path, query, headers, body, status, duration_ms, \
             dialects FROM requests WHERE (?1 IS NULL OR tenant = ?1) \
             AND (?2 IS NULL OR time >= ?2) ORDER BY seq",
        )
        .map_err(|err| match err.sqlite_error_code() {
            _ if err.to_string().contains("no such table") => ServerError::Config(format!(
                "{} has no request log (was it written by `scim-conformance serve --db`?)",
                db.display()
            )),
            _ => fail(err),
        })?;
    let rows = stmt
        .query_map(params![query.tenant, query.since], |row| {
            let headers: String = row.get(5)?;
            let dialects: String = row.get(9)?;
            Ok(LoggedRequest {
                time: row.get(0)?,
                tenant: row.get(1)?,
                method: row.get(2)?,
                path: row.get(3)?,
                query: row.get(4)?,
                headers: serde_json::from_str(&headers).unwrap_or(Value::Null),
                body: row.get(6)?,
                status: row.get(7)?,
                duration_ms: row.get(8)?,
                dialects: dialects
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .map_err(fail)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(fail)?;
        let keep = match &query.status {
            Some(pattern) => status_matches(pattern, row.status)?,
            None => true,
        };
        if keep {
            out.push(row);
        }
    }
    if let Some(limit) = query.limit {
        let skip = out.len().saturating_sub(limit);
        out.drain(..skip);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_patterns() {
        // See: fresh-user trial, `requests --status 6xx` was accepted.
        for outside in ["6xx", "600", "0xx", "999"] {
            let err = status_matches(outside, 200).unwrap_err().to_string();
            assert!(err.contains("100-599"), "{outside}: {err}");
        }
        assert!(status_matches("4xx", 404).unwrap());
        assert!(status_matches("4XX", 429).unwrap());
        assert!(!status_matches("4xx", 500).unwrap());
        assert!(status_matches("201", 201).unwrap());
        assert!(status_matches("40", 404).is_err());
        assert!(status_matches("4yy", 404).is_err());
    }

    #[test]
    fn authorization_is_never_logged() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", "Bearer secret".parse().unwrap());
        headers.insert("content-type", "application/scim+json".parse().unwrap());
        let logged = loggable_headers(&headers);
        assert!(!logged.to_string().contains("secret"));
        assert_eq!(logged["content-type"][0], "application/scim+json");
    }
}
