//! Response snapshots (`--snapshots DIR`): each case's responses, normalized so that
//! nothing run-specific remains (ids, timestamps, versions, locations, hosts and ports, the
//! run prefix and name counters blanked), stored as one insta-format `.snap` file per
//! case. A later run compares and reports drift per case, writing the new text beside the
//! old as `.snap.new` (insta's convention); `--update-snapshots` accepts it instead.

use crate::report::{Event, Reporter};
use crate::runner::CaseReport;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What happened to one case's snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Same as stored.
    Unchanged,
    /// No snapshot existed; one was written.
    New,
    /// Differs from the stored one; `.snap.new` holds the new text. `diff` shows where.
    Drifted {
        /// The first differing lines, `-` stored and `+` new.
        diff: String,
    },
    /// Differed, and `--update-snapshots` overwrote it.
    Updated,
}

/// One case's snapshot result.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The case id.
    pub id: &'static str,
    /// The snapshot file.
    pub file: PathBuf,
    /// What happened.
    pub status: Status,
}

/// Compares (or stores) snapshots as cases finish.
pub struct SnapshotReporter {
    dir: PathBuf,
    update: bool,
    prefix: String,
    /// Every case checked, in order.
    pub checked: Vec<Checked>,
}

impl SnapshotReporter {
    /// Snapshots under `dir`; `update` accepts drift.
    pub fn new(dir: impl Into<PathBuf>, update: bool) -> SnapshotReporter {
        SnapshotReporter {
            dir: dir.into(),
            update,
            prefix: String::new(),
            checked: Vec::new(),
        }
    }

    /// The cases whose snapshot drifted (not updated).
    pub fn drifted(&self) -> impl Iterator<Item = &Checked> {
        self.checked
            .iter()
            .filter(|c| matches!(c.status, Status::Drifted { .. }))
    }

    fn check(&mut self, report: &CaseReport) -> std::io::Result<()> {
        if report.exchanges.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let file = self.dir.join(format!("{}.snap", file_name(report.id)));
        let text = document(report.id, &normalize(report, &self.prefix));
        let status = match std::fs::read_to_string(&file) {
            Ok(old) if old == text => Status::Unchanged,
            Ok(old) if self.update => {
                std::fs::write(&file, &text)?;
                let _ = std::fs::remove_file(file.with_extension("snap.new"));
                let _ = old;
                Status::Updated
            }
            Ok(old) => {
                std::fs::write(file.with_extension("snap.new"), &text)?;
                Status::Drifted {
                    diff: diff(&old, &text),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::write(&file, &text)?;
                Status::New
            }
            Err(e) => return Err(e),
        };
        self.checked.push(Checked {
            id: report.id,
            file,
            status,
        });
        Ok(())
    }
}

impl Reporter for SnapshotReporter {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => self.prefix = info.prefix.clone(),
            Event::CaseFinished(report) => self.check(report)?,
            _ => {}
        }
        Ok(())
    }
}

/// A case id as a file name: `/` and anything unusual become `__` / `_`.
pub fn file_name(id: &str) -> String {
    id.replace('/', "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The insta file: a YAML header, `---`, then the content.
fn document(id: &str, content: &str) -> String {
    format!(
        "---\nsource: scim-conformance\nexpression: {}\n---\n{}",
        serde_json::to_string(id).unwrap_or_default(),
        content
    )
}

/// The normalized text of a case's exchanges: outcome, then per exchange the request
/// line, the status, the kept headers and the body.
pub fn normalize(report: &CaseReport, prefix: &str) -> String {
    let mut out = format!("outcome: {}\n", report.outcome.label().to_lowercase());
    for exchange in &report.exchanges {
        out.push_str(&format!(
            "\n> {} {}\n",
            exchange.request.method,
            scrub(&path_of(&exchange.request.url), prefix)
        ));
        let Some(response) = &exchange.response else {
            out.push_str("< no response\n");
            continue;
        };
        out.push_str(&format!("< {}\n", response.status));
        for (name, value) in &response.headers {
            match name.as_str() {
                "content-type" => out.push_str(&format!("< {name}: {value}\n")),
                "location" | "etag" => out.push_str(&format!("< {name}: [redacted]\n")),
                _ => {}
            }
        }
        if !response.body.is_null() {
            let body = redact_json(&response.body, prefix);
            let text = serde_json::to_string_pretty(&body).unwrap_or_default();
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}

/// The path and query of a URL (the origin dropped).
fn path_of(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/".into(), |i| rest[i..].to_owned()),
        None => url.to_owned(),
    }
}

/// Keys whose values are minted by the server or the clock.
const VOLATILE_KEYS: &[&str] = &[
    "id",
    "created",
    "lastModified",
    "version",
    "location",
    "$ref",
];

fn redact_json(value: &Value, prefix: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if VOLATILE_KEYS.contains(&k.as_str()) && !v.is_null() {
                        Value::String("[redacted]".into())
                    } else {
                        redact_json(v, prefix)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_json(v, prefix)).collect()),
        Value::String(s) => Value::String(scrub(s, prefix)),
        other => other.clone(),
    }
}

/// Blanks run-specific text inside a string: the run prefix and the name counter after
/// it, `scheme://host:port` origins, and id-like tokens (UUIDs, 16+ character runs of
/// letters and digits that contain a digit).
pub fn scrub(text: &str, prefix: &str) -> String {
    let text = blank_prefixed_names(text, prefix);
    let text = blank_origins(&text);
    blank_ids(&text)
}

fn blank_prefixed_names(text: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return text.to_owned();
    }
    // Servers may echo a name in another case (a case-insensitivity check upper-cases it).
    let prefix = prefix.to_ascii_lowercase();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find(&prefix) {
        out.push_str(&rest[..at]);
        let after = &rest[at + prefix.len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        let name = &after[..len];
        // `slug-17` -> `slug-N`, `slug-17-ext` -> `slug-N-ext`: the counter depends on
        // scheduling and on what ran before, wherever it stands in the name.
        let name = name
            .split('-')
            .map(|part| {
                if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                    "N"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("-");
        out.push_str("<run>-");
        out.push_str(&name);
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

fn blank_origins(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphabetic())
            .map_or(0, |i| i + 1);
        out.push_str(&rest[..scheme_start]);
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| c == '/' || c == '"' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        if is_local_origin(authority) {
            out.push_str("<origin>");
        } else {
            // A schema URI or another fixed name: keep it.
            out.push_str(&rest[scheme_start..at + 3]);
            out.push_str(authority);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// An authority that changes between runs: one with a port, an IP address or localhost.
fn is_local_origin(authority: &str) -> bool {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.contains(':')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::Ipv4Addr>().is_ok()
}

fn blank_ids(text: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |out: &mut String, token: &mut String| {
        if looks_like_id(token) {
            out.push_str("<id>");
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            token.push(c);
        } else {
            flush(&mut out, &mut token);
            out.push(c);
        }
    }
    flush(&mut out, &mut token);
    out
}

fn looks_like_id(token: &str) -> bool {
    let uuid = token.len() == 36
        && token.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && token.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let long = token.len() >= 16
        && !token.contains('-')
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic());
    uuid || long
}

/// The differing middle of two texts (common leading and trailing lines dropped), at most
/// 12 lines from each side.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("@@ line {} @@\n", head + 1);
    for line in a[head..a.len() - tail].iter().take(12) {
        out.push_str(&format!("-{line}\n"));
    }
    for line in b[head..b.len() - tail].iter().take(12) {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

/// Loads the stored snapshot text of a case, if any (tests and tools).
pub fn stored(dir: &Path, id: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(format!("{}.snap", file_name(id)))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_blanks_what_changes_between_runs() {
        let p = "scimconf-1a2b3c4d-";
        assert_eq!(
            scrub("scimconf-1a2b3c4d-member-new-17@example.com", p),
            "<run>-member-new-N@example.com"
        );
        assert_eq!(
            scrub("scimconf-1a2b3c4d-spc-patch-1149-ext", p),
            "<run>-spc-patch-N-ext"
        );
        assert_eq!(
            scrub("see http://127.0.0.1:41234/scim/v2/Users/x", p),
            "see <origin>/scim/v2/Users/x"
        );
        assert_eq!(
            scrub("urn http://schemas.microsoft.com/2006/11/x", p),
            "urn http://schemas.microsoft.com/2006/11/x"
        );
        assert_eq!(
            scrub("User 0f8fad5b-d9cb-469f-a165-70867728950e gone", p),
            "User <id> gone"
        );
        assert_eq!(scrub("id 3f2a9c0b8e7d6a5b4c3d2e1f00112233", p), "id <id>");
        assert_eq!(scrub("userName uniqueness", p), "userName uniqueness");
        assert_eq!(
            scrub("SCIMCONF-1A2B3C4D-LOOKUP-CASE-29@EXAMPLE.COM", p),
            "<run>-LOOKUP-CASE-N@EXAMPLE.COM"
        );
    }

    #[test]
    fn diff_shows_the_changed_middle() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "@@ line 2 @@\n-b\n+x\n");
    }

    #[test]
    fn file_names_are_flat() {
        assert_eq!(
            file_name("rfc7644-3.3/create-user-201"),
            "rfc7644-3.3__create-user-201"
        );
    }
}
