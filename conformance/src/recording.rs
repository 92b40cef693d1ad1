//! Reading a recording made by `scim-conformance record` ([`crate::record`]): one JSON
//! object per line, `{"at_ms", "duration_ms", "request": {"method", "path", "headers",
//! "body"}, "response": {"status", "headers", "body"}}`. This module owns the checks on
//! those lines (a bad line is an error naming its number and what is wrong, never a panic)
//! and the helpers `replay`, `grade` and `variants` share: splitting a recorded path into
//! the server's base path, the SCIM endpoint and the query.

use serde_json::Value;
use std::path::Path;

/// One exchange of a recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    /// Its 1-based line number in the file (the exchange's index in every report).
    pub line: usize,
    /// Milliseconds since the recorder started, when the request arrived.
    pub at_ms: u64,
    /// HTTP method, upper case.
    pub method: String,
    /// The path and query as recorded (decoded: the recorder decodes URLs to pseudonymise them).
    pub path: String,
    /// Request headers, names in lower case (credentials were never recorded).
    pub headers: Vec<(String, String)>,
    /// The request body (`null` when there was none).
    pub body: Value,
    /// The status the recorded server answered (502 when the recorder could not reach it).
    pub status: u16,
    /// The response body (`null` when there was none).
    pub response: Value,
    /// The response's `Location` header, if any.
    pub location: Option<String>,
    /// False when the recorder could not reach the recorded server (its own 502 or 504,
    /// written without response headers).
    pub answered: bool,
    /// True when the recorder itself refused the request (a body over its `--max-body`,
    /// answered 413): it never reached the recorded server and its body was not kept.
    pub refused: bool,
}

impl Exchange {
    /// A request header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The id the recorded server minted in its answer: body `id`, else the last segment
    /// of `meta.location` or of the `Location` header.
    pub fn minted_id(&self) -> Option<String> {
        minted_id(&self.response, self.location.as_deref())
    }

    /// The path split at the SCIM endpoint (see [`Target`]).
    pub fn target(&self) -> Target {
        Target::parse(&self.path)
    }
}

/// The id in a create's answer: `id` in the body, else the last segment of
/// `meta.location` or of the `Location` header.
pub fn minted_id(body: &Value, location: Option<&str>) -> Option<String> {
    let last = |url: &str| {
        url.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    body.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            body.pointer("/meta/location")
                .and_then(Value::as_str)
                .and_then(last)
        })
        .or_else(|| location.and_then(last))
}

/// A recorded path split into the server's base path, the SCIM part and the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// What precedes the endpoint (`/scim/v2`), empty when the endpoint is at the root.
    pub base: String,
    /// The path from the endpoint on, without the query (`/Users/abc`).
    pub rel: String,
    /// The query pairs, decoded (`filter` -> `userName eq "x"`).
    pub query: Vec<(String, String)>,
}

/// The first segments of the RFC 7644 section 3.2 endpoints.
const ENDPOINTS: &[&str] = &[
    "Users",
    "Groups",
    "Me",
    "Bulk",
    ".search",
    "ServiceProviderConfig",
    "ServiceProviderConfigs",
    "Schemas",
    "ResourceTypes",
];

impl Target {
    /// Splits `path` (as recorded, decoded) at the first segment that is a SCIM endpoint;
    /// when none is, the whole path is `rel`.
    pub fn parse(path: &str) -> Target {
        let (path_part, query_part) = path.split_once('?').unwrap_or((path, ""));
        let mut offset = 0;
        let mut split = None;
        for segment in path_part.split('/') {
            if ENDPOINTS.iter().any(|e| e.eq_ignore_ascii_case(segment)) && offset > 0 {
                split = Some(offset - 1);
                break;
            }
            offset += segment.len() + 1;
        }
        let (base, rel) = match split {
            Some(at) => (&path_part[..at], &path_part[at..]),
            None => ("", path_part),
        };
        let query = split_query(query_part)
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (pair.to_owned(), String::new()),
            })
            .collect();
        Target {
            base: base.to_owned(),
            rel: rel.to_owned(),
            query,
        }
    }

    /// The segments of `rel`, without the empty first one.
    pub fn segments(&self) -> Vec<&str> {
        self.rel.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// `Users` or `Groups` and the id, when `rel` is `/Users/{id}` or `/Groups/{id}`
    /// (`/Users/.search` is a search, not an id).
    pub fn resource(&self) -> Option<(Kind, &str)> {
        match self.segments().as_slice() {
            [_, ".search"] => None,
            [endpoint, id] => Kind::of(endpoint).map(|k| (k, *id)),
            _ => None,
        }
    }

    /// The endpoint kind when `rel` is exactly `/Users` or `/Groups`.
    pub fn collection(&self) -> Option<Kind> {
        match self.segments().as_slice() {
            [endpoint] => Kind::of(endpoint),
            _ => None,
        }
    }

    /// A query parameter's value, by name in any case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a decoded query at `&`, except inside a double-quoted filter value (the recorder
/// decodes queries, so `displayName eq "R&D"` arrives with a bare `&`).
fn split_query(query: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in query.char_indices() {
        match c {
            '\\' if quoted => escaped = !escaped,
            '"' if !escaped => quoted = !quoted,
            '&' if !quoted => {
                parts.push(&query[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if c != '\\' {
            escaped = false;
        }
    }
    parts.push(&query[start..]);
    parts
}

/// Replaces each occurrence of `token` in `text` that stands alone: not preceded or
/// followed by a letter, digit, `-` or `_`, so id `12` inside `123` or `a-12` is left
/// alone (servers with short numeric ids).
pub fn replace_token(text: &str, token: &str, with: &str) -> String {
    if token.is_empty() || !text.contains(token) {
        return text.to_owned();
    }
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(token) {
        // The character before: in the unconsumed text, else the last one written.
        let before = rest[..at].chars().last().or(out.chars().last());
        let after = rest[at + token.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(word) || after.is_some_and(word) {
            out.push_str(token);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + token.len()..];
    }
    out.push_str(rest);
    out
}

/// True when `method` is an RFC 9110 section 9.1 method: a `token` (section 5.6.2), one
/// or more of the letters, digits and ``!#$%&'*+-.^_`|~``.
pub fn is_token(method: &str) -> bool {
    !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The two resource types the tools map ids for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `/Users`
    User,
    /// `/Groups`
    Group,
}

impl Kind {
    fn of(segment: &str) -> Option<Kind> {
        if segment.eq_ignore_ascii_case("Users") {
            Some(Kind::User)
        } else if segment.eq_ignore_ascii_case("Groups") {
            Some(Kind::Group)
        } else {
            None
        }
    }

    /// `Users` or `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

/// Reads a recording file; an unreadable file or a bad line is an error naming the file,
/// the line number and what is wrong.
pub fn load(path: &Path) -> Result<Vec<Exchange>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the recording {}: {e}", path.display()))?;
    parse_bytes(&bytes).map_err(|e| {
        // A line error starts with its number (`path:3: ...`); a whole-file one does not.
        if e.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{}:{e}", path.display())
        } else {
            format!("{}: {e}", path.display())
        }
    })
}

/// Parses the bytes of a recording like [`parse`], naming the first line that is not
/// UTF-8 (`4: not UTF-8 (invalid byte at column 7)`).
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Exchange>, String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            let start = bytes[..at]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            Err(format!(
                "{line}: not UTF-8 (invalid byte at column {})",
                at - start + 1
            ))
        }
    }
}

/// The largest `at_ms` a line may carry: about 31 years of recording.
pub const MAX_AT_MS: u64 = 1_000_000_000_000;

/// Parses the text of a recording; blank lines are skipped, and so is a UTF-8 byte order
/// mark at the start. An error starts with the line number (`3: not JSON: ...`), except
/// `empty recording` for a text with no exchange.
pub fn parse(text: &str) -> Result<Vec<Exchange>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(raw).map_err(|e| format!("{line}: not JSON: {e}"))?;
        out.push(exchange(line, &value).map_err(|e| format!("{line}: {e}"))?);
    }
    if out.is_empty() {
        return Err("empty recording: it holds no exchange".into());
    }
    Ok(out)
}

/// `at_ms`: absent means 0; otherwise a non-negative integer up to [`MAX_AT_MS`].
fn at_ms(v: &Value) -> Result<u64, String> {
    match v.get("at_ms") {
        None | Some(Value::Null) => Ok(0),
        Some(n) => match n.as_u64() {
            Some(ms) if ms <= MAX_AT_MS => Ok(ms),
            Some(ms) => Err(format!(
                "`at_ms` {ms} is more than {MAX_AT_MS} ms (31 years) after the recording started"
            )),
            None => Err(format!(
                "`at_ms` must be a non-negative integer (milliseconds since the recording \
                 started), got {n}"
            )),
        },
    }
}

fn exchange(line: usize, v: &Value) -> Result<Exchange, String> {
    if !v.is_object() {
        return Err("expected a JSON object".into());
    }
    let string = |pointer: &str| {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("missing string `{}`", &pointer[1..].replace('/', ".")))
    };
    let method = string("/request/method")?.to_ascii_uppercase();
    let path = string("/request/path")?;
    if !path.starts_with('/') {
        return Err(format!(
            "`request.path` must start with `/`, found {path:?}"
        ));
    }
    let status = match v.pointer("/response/status") {
        None | Some(Value::Null) => {
            return Err("missing `response.status` (an HTTP status number)".into())
        }
        Some(given) => given
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| format!("`response.status` must be an integer 100-599, got {given}"))?,
    };
    let headers = match v.pointer("/request/headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.to_ascii_lowercase(), s.to_owned()))
                    .ok_or_else(|| format!("header `{k}` is not a string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`request.headers` must be an object".into()),
    };
    Ok(Exchange {
        line,
        at_ms: at_ms(v)?,
        method,
        path,
        headers,
        body: v.pointer("/request/body").cloned().unwrap_or(Value::Null),
        status,
        response: v.pointer("/response/body").cloned().unwrap_or(Value::Null),
        location: v
            .pointer("/response/headers")
            .and_then(Value::as_object)
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned),
        answered: !(matches!(status, 502 | 504)
            && v.pointer("/response/headers").is_none_or(Value::is_null)),
        refused: v["refused_by_recorder"] == Value::Bool(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_at_the_endpoint() {
        let t = Target::parse("/scim/v2/Users/abc?filter=userName eq \"a b\"&count=1");
        assert_eq!(t.base, "/scim/v2");
        assert_eq!(t.rel, "/Users/abc");
        assert_eq!(t.resource(), Some((Kind::User, "abc")));
        assert_eq!(t.param("FILTER"), Some("userName eq \"a b\""));
        assert_eq!(t.param("count"), Some("1"));
        let root = Target::parse("/Groups");
        assert_eq!(
            (root.base.as_str(), root.collection()),
            ("", Some(Kind::Group))
        );
        // A tenant segment called `Users` before the endpoint would be mistaken; the first
        // endpoint-like segment wins, as documented.
        assert_eq!(Target::parse("/v2/ServiceProviderConfig").base, "/v2");
        assert_eq!(Target::parse("/v2/Users/.search").resource(), None);
        assert_eq!(
            replace_token("members[value eq \"12\"] 123 a-12 12", "12", "X"),
            "members[value eq \"X\"] 123 a-12 X"
        );
        let amp = Target::parse("/Groups?filter=displayName eq \"R&D \\\"x\\\"\"&count=5");
        assert_eq!(
            amp.param("filter"),
            Some("displayName eq \"R&D \\\"x\\\"\"")
        );
        assert_eq!(amp.param("count"), Some("5"));
    }

    #[test]
    fn bad_lines_name_their_number_and_the_problem() {
        let good = r#"{"at_ms":1,"request":{"method":"GET","path":"/Users","headers":{},"body":null},"response":{"status":200,"headers":{},"body":null}}"#;
        assert_eq!(parse(good).expect("parses")[0].line, 1);
        assert!(parse(good).expect("parses")[0].answered);
        let lost = r#"{"request":{"method":"GET","path":"/Users"},"response":{"status":502,"headers":null}}"#;
        assert!(!parse(lost).expect("parses")[0].answered);
        let not_json = format!("{good}\n\n{{nope");
        assert!(parse(&not_json)
            .expect_err("bad")
            .starts_with("3: not JSON"));
        let no_status = r#"{"request":{"method":"GET","path":"/Users"},"response":{}}"#;
        assert_eq!(
            parse(no_status).expect_err("bad"),
            "1: missing `response.status` (an HTTP status number)"
        );
        let no_method = r#"{"request":{"path":"/Users"},"response":{"status":200}}"#;
        assert_eq!(
            parse(no_method).expect_err("bad"),
            "1: missing string `request.method`"
        );
        assert_eq!(parse("[1]").expect_err("bad"), "1: expected a JSON object");
        assert_eq!(
            parse("\n").expect_err("empty"),
            "empty recording: it holds no exchange"
        );
        assert_eq!(
            parse("").expect_err("empty"),
            "empty recording: it holds no exchange"
        );
        // Statuses of the wrong type or range say what they got.
        for (status, got) in [("\"200\"", "\"200\""), ("99999", "99999"), ("99", "99")] {
            let line = good.replace("\"status\":200", &format!("\"status\":{status}"));
            assert_eq!(
                parse(&line).expect_err("bad status"),
                format!("1: `response.status` must be an integer 100-599, got {got}")
            );
        }
        // A byte order mark is skipped; invalid UTF-8 names its line and column.
        assert_eq!(parse(&format!("\u{feff}{good}")).expect("BOM").len(), 1);
        let mut bytes = format!("{good}\n{good}").into_bytes();
        let second = good.len() + 1;
        bytes[second + 5] = 0xff;
        assert_eq!(
            parse_bytes(&bytes).expect_err("not UTF-8"),
            "2: not UTF-8 (invalid byte at column 6)"
        );
        // `at_ms`: a non-negative integer within reason.
        for (at, what) in [
            ("-5", "non-negative integer"),
            ("1.5", "non-negative integer"),
            ("\"3\"", "non-negative integer"),
            ("1000000000000000", "31 years"),
        ] {
            let line = good.replace("\"at_ms\":1", &format!("\"at_ms\":{at}"));
            let e = parse(&format!("{good}\n{line}")).expect_err("bad at_ms");
            assert!(e.starts_with("2: `at_ms`") && e.contains(what), "{e}");
        }
    }
}
