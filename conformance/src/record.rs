//! `scim-conformance record`: a loopback reverse proxy that forwards every request to the
//! upstream SCIM server unchanged and writes each exchange as one JSON line, with
//! credentials removed from requests and responses alike: every header whose name contains
//! `token`, `secret`, `key`, `auth`, `session`, `cookie` or `password` is dropped, the value
//! of a credential-like query parameter (`access_token`, `api_key`, `code`, ...) and every
//! `password` attribute (also as a PATCH path) are written as [`MASK`]. Personal data
//! (emails, names, phone numbers, userName; in bodies, in PATCH operations on those paths,
//! in quoted filter values) is replaced by pseudonyms, consistently: the same original
//! always becomes the same pseudonym within a recording, so lookups, creates and later
//! PATCHes still line up.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What every masked credential becomes in a recording (a query value, a `password`).
/// `replay` never sends it and `variants` never writes it.
pub const MASK: &str = "REDACTED";

/// True for a header that may carry a credential: its name contains `token`, `secret`,
/// `key`, `auth`, `session`, `cookie` or `password` (any case), which covers
/// `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `Cookie2`, `X-API-Key`,
/// `X-Auth-Token`, `X-Session-Id`. Such headers are never written to a recording.
pub fn is_secret_header(name: &str) -> bool {
    const WORDS: [&str; 7] = [
        "token", "secret", "key", "auth", "session", "cookie", "password",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// True for a query parameter whose value may be a credential (`access_token`,
/// `api_key`, `code`, ...): its value is recorded as [`MASK`].
pub fn is_secret_param(name: &str) -> bool {
    const EXACT: [&str; 5] = ["key", "code", "sig", "signature", "auth"];
    const WORDS: [&str; 6] = [
        "token", "secret", "password", "apikey", "api_key", "session",
    ];
    let name = decode(name).to_ascii_lowercase();
    EXACT.contains(&name.as_str()) || WORDS.iter().any(|w| name.contains(w))
}

/// The path with the value of every credential-like query parameter replaced by [`MASK`]
/// (the parameter stays, so the request keeps its shape).
pub fn mask_query(path: &str) -> String {
    let Some((before, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{before}?{}", pairs.join("&"))
}

/// `body` without what the recorder masked, for tools that send or write a recorded
/// body: `password` members whose value is [`MASK`] are dropped, and so are PATCH
/// operations whose value is [`MASK`]. An error says why nothing usable is left (every
/// operation was masked) or where another masked value sits, so the caller skips the
/// request instead of sending the mask as if it were the real value.
pub fn strip_masked(body: &Value) -> Result<Value, String> {
    let mut body = body.clone();
    if let Some(ops) = body.get_mut("Operations").and_then(Value::as_array_mut) {
        let before = ops.len();
        ops.retain(|op| op.get("value").and_then(Value::as_str) != Some(MASK));
        if before > 0 && ops.is_empty() {
            return Err(format!(
                "every PATCH operation sets a credential the recorder masked ({MASK})"
            ));
        }
    }
    drop_masked_passwords(&mut body);
    match find_mask(&body, "") {
        Some(at) => Err(format!(
            "the body holds a credential the recorder masked ({MASK}) at `{at}`"
        )),
        None => Ok(body),
    }
}

fn drop_masked_passwords(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !(is_password(k) && v.as_str() == Some(MASK)));
            map.values_mut().for_each(drop_masked_passwords);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_masked_passwords),
        _ => {}
    }
}

/// Where (a dotted path) a [`MASK`] string sits in `value`, if anywhere.
fn find_mask(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) if s == MASK => Some(at.to_owned()),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            find_mask(
                v,
                &if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                },
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_mask(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// True when `key` (or its last dotted / URN segment) is `password`.
fn is_password(key: &str) -> bool {
    key.rsplit(['.', ':'])
        .next()
        .is_some_and(|k| k.eq_ignore_ascii_case("password"))
}

/// Keys whose string values are personal data, and the pseudonym family they get.
fn family_of(key: &str, parent: Option<&str>) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    let parent = parent.map(str::to_ascii_lowercase);
    match (key.as_str(), parent.as_deref()) {
        ("username", _) => Some("user"),
        ("value", Some("emails")) => Some("email"),
        ("value", Some("phonenumbers")) => Some("phone"),
        ("givenname" | "familyname" | "middlename" | "formatted" | "nickname", Some("name")) => {
            Some("name")
        }
        ("displayname" | "nickname", _) => Some("name"),
        // A member's or manager's `display` (parents vary: `members`, or `value` inside a
        // PATCH operation).
        ("display", _) => Some("name"),
        _ => None,
    }
}

/// Consistent pseudonyms: one counter per family, one mapping per original value.
#[derive(Debug, Default)]
pub struct Pseudonyms {
    map: HashMap<String, String>,
    counters: HashMap<&'static str, u64>,
}

impl Pseudonyms {
    /// The pseudonym of `original` in `family` (the same every time).
    pub fn of(&mut self, family: &'static str, original: &str) -> String {
        if let Some(p) = self.map.get(original) {
            return p.clone();
        }
        // Anything that looks like an email becomes one, from one counter, so two originals
        // never share a pseudonym.
        let family = if original.contains('@') {
            "email"
        } else {
            family
        };
        let n = self.counters.entry(family).or_default();
        *n += 1;
        let pseudonym = match family {
            "email" => format!("person{n}@example.invalid"),
            "user" => format!("user{n}"),
            "phone" => format!("+1-555-{n:06}"),
            _ => format!("Name{n}"),
        };
        self.map.insert(original.to_owned(), pseudonym.clone());
        pseudonym
    }

    /// Replaces personal data in `value` in place.
    pub fn scrub(&mut self, value: &mut Value) {
        self.scrub_in(value, None);
    }

    fn scrub_in(&mut self, value: &mut Value, parent: Option<&str>) {
        match value {
            Value::Object(map) => {
                if self.scrub_operation(map) {
                    return;
                }
                for (key, v) in map.iter_mut() {
                    if is_password(key) && !v.is_null() {
                        *v = Value::String(MASK.into());
                        continue;
                    }
                    // An error `detail` (RFC 7644 section 3.12) often echoes the value
                    // the request sent.
                    if key.eq_ignore_ascii_case("detail") {
                        if let Value::String(s) = v {
                            *s = self.scrub_known(s);
                            continue;
                        }
                    }
                    match v {
                        Value::String(s) => {
                            // A dotted key (`name.givenName`, Entra's path-less PATCH) is
                            // its last segment under the segment before it.
                            let (k, par) = match key.rsplit_once('.') {
                                Some((before, after)) => {
                                    (after, Some(before.rsplit(':').next().unwrap_or(before)))
                                }
                                None => (key.as_str(), parent),
                            };
                            if let Some(family) = family_of(k, par) {
                                *s = self.of(family, s);
                            }
                        }
                        // A path-less PATCH value or a dotted key keeps its own key as parent.
                        _ => self.scrub_in(v, Some(key.rsplit(['.', ':']).next().unwrap_or(key))),
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.scrub_in(item, parent);
                }
            }
            _ => {}
        }
    }

    /// A PATCH operation with a `path` (`emails[type eq "work"].value`, `name.givenName`,
    /// `password`): its value is scrubbed as the attribute the path names. False when
    /// `map` is not such an operation.
    fn scrub_operation(&mut self, map: &mut Map<String, Value>) -> bool {
        let Some(path) = map.get("path").and_then(Value::as_str).map(str::to_owned) else {
            return false;
        };
        if !map.contains_key("op") || !map.contains_key("value") {
            return false;
        }
        // The path as attribute and sub-attribute; a path that does not parse still masks
        // a password and scrubs its value by its last segment.
        let (attr, sub) = match scim_parser::parse_patch_path(&path) {
            Ok(p) => (p.attr.name.clone(), p.sub_attr.or(p.attr.sub_attr)),
            Err(_) => (
                path.rsplit(['.', ':']).next().unwrap_or(&path).to_owned(),
                None,
            ),
        };
        let value = map.get_mut("value").expect("checked above");
        if attr.eq_ignore_ascii_case("password") {
            if !value.is_null() {
                *value = Value::String(MASK.into());
            }
            return true;
        }
        match (value, sub) {
            (Value::String(s), Some(sub)) => {
                if let Some(family) = family_of(&sub, Some(&attr)) {
                    *s = self.of(family, s);
                }
            }
            (Value::String(s), None) => {
                if let Some(family) = family_of(&attr, None) {
                    *s = self.of(family, s);
                }
            }
            // `"path": "name", "value": {"givenName": ..}` or `"path": "emails", "value":
            // [{"value": ..}]`: the value's members sit under the path's attribute.
            (value, None) => self.scrub_in(value, Some(&attr)),
            (value, Some(_)) => self.scrub_in(value, Some(&attr)),
        }
        if let Some(Value::String(p)) = map.get_mut("path") {
            *p = self.scrub_quoted(p);
        }
        true
    }

    /// Replaces every known original inside `text` (a URL: filter values arrive quoted,
    /// percent- or form-encoded). Values first seen in a URL are not known yet, so a filter
    /// value that looks like an email is mapped here too.
    pub fn scrub_text(&mut self, text: &str) -> String {
        self.scrub_quoted(&decode(text))
    }

    /// Replaces the compared values inside `text` (a decoded query, a filter, a PATCH
    /// path): a value compared with a personal attribute (`userName eq alice`,
    /// `emails[value eq "a@b"]`, `name.givenName sw "Jo"`), quoted or not, gets its
    /// family's pseudonym; any other quoted value that looks like an email, or that is a
    /// known original, is replaced too. Everything else is kept as written.
    pub fn scrub_quoted(&mut self, decoded: &str) -> String {
        let tokens = filter_tokens(decoded);
        let mut out = String::with_capacity(decoded.len());
        for (i, tok) in tokens.iter().enumerate() {
            let replaced = match tok.kind {
                Tok::Quoted | Tok::Word => self.compared_value(decoded, &tokens, i),
                Tok::Other => None,
            };
            match (replaced, tok.kind) {
                (Some(new), Tok::Quoted) => {
                    out.push('"');
                    out.push_str(&new);
                    out.push('"');
                }
                (Some(new), _) => out.push_str(&new),
                (None, _) => out.push_str(&decoded[tok.start..tok.end]),
            }
        }
        out
    }

    /// The pseudonym for value token `i`, when it should be replaced.
    fn compared_value(&mut self, text: &str, tokens: &[Token], i: usize) -> Option<String> {
        let tok = tokens[i];
        let raw = &text[tok.start..tok.end];
        let value = match tok.kind {
            Tok::Quoted => raw
                .strip_prefix('"')
                .map(|r| r.strip_suffix('"').unwrap_or(r))
                .unwrap_or(raw),
            _ => raw,
        };
        if value.is_empty() {
            return None;
        }
        // The operator and attribute before the value, skipping blanks.
        let mut before = tokens[..i]
            .iter()
            .rev()
            .filter(|t| !text[t.start..t.end].trim().is_empty());
        let op = before.next().filter(|t| t.kind == Tok::Word);
        let attr = before.next().filter(|t| t.kind == Tok::Word);
        let compared = op.is_some_and(|t| is_compare_op(&text[t.start..t.end]));
        let family = match (compared, attr) {
            (true, Some(a)) => {
                let outer = before
                    .next()
                    .filter(|t| &text[t.start..t.end] == "[")
                    .and_then(|_| before.next())
                    .map(|t| attr_name(&text[t.start..t.end]));
                let attr = attr_name(&text[a.start..a.end]);
                match attr.split_once('.') {
                    Some((parent, sub)) => family_of(sub, Some(parent)),
                    None => family_of(attr, outer),
                }
            }
            _ => None,
        };
        let bare_literal = tok.kind == Tok::Word
            && (matches!(value, "true" | "false" | "null") || value.parse::<f64>().is_ok());
        if let Some(family) = family.filter(|_| !bare_literal) {
            return Some(self.of(family, value));
        }
        if tok.kind != Tok::Quoted && !compared {
            return None;
        }
        if value.contains('@') {
            return Some(self.of("email", value));
        }
        self.map.get(value).cloned()
    }

    /// Replaces the originals this recording has already mapped wherever they stand in
    /// free text (a server's error `detail` echoing a userName), longest first.
    fn scrub_known(&mut self, text: &str) -> String {
        let mut out = self.scrub_quoted(text);
        let mut known: Vec<(&String, &String)> = self
            .map
            .iter()
            .filter(|(k, _)| k.chars().count() >= 3)
            .collect();
        known.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        for (original, pseudonym) in known {
            if out.contains(original.as_str()) {
                out = out.replace(original.as_str(), pseudonym);
            }
        }
        out
    }
}

/// A token of a filter-like text: a double-quoted string (escapes kept), a word, or one
/// other character (blank, bracket, parenthesis, `&`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Quoted,
    Word,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn filter_tokens(text: &str) -> Vec<Token> {
    let delimiter = |c: char| c.is_whitespace() || matches!(c, '"' | '(' | ')' | '[' | ']' | '&');
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let (kind, mut end) = if c == '"' {
            let mut escaped = false;
            let mut end = text.len();
            for (i, c) in chars.by_ref() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = i + 1;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            (Tok::Quoted, end)
        } else if delimiter(c) {
            (Tok::Other, start + c.len_utf8())
        } else {
            (Tok::Word, start + c.len_utf8())
        };
        if kind == Tok::Word {
            while let Some(&(i, c)) = chars.peek() {
                if delimiter(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
        }
        tokens.push(Token { kind, start, end });
    }
    tokens
}

/// RFC 7644 section 3.4.2.2 comparison operators, any case.
fn is_compare_op(word: &str) -> bool {
    const OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];
    OPS.iter().any(|o| o.eq_ignore_ascii_case(word))
}

/// The attribute of a filter word: after a query's `filter=` and a schema URN's last `:`.
fn attr_name(word: &str) -> &str {
    let word = word.rsplit(['=', '?']).next().unwrap_or(word);
    word.rsplit(':').next().unwrap_or(word)
}

/// Percent- and `+`-decodes a URL for matching (lossy).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        if is_secret_header(&name) {
            continue;
        }
        map.insert(name, json!(String::from_utf8_lossy(value.as_bytes())));
    }
    Value::Object(map)
}

fn body_json(bytes: &[u8], pseudonyms: &mut Pseudonyms) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            pseudonyms.scrub(&mut v);
            v
        }
        // Not JSON: kept out of the recording, since it cannot be scrubbed.
        Err(_) => json!({"unparsed_bytes": bytes.len()}),
    }
}

/// How the recorder forwards.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request body forwarded; a longer one is answered 413 by the recorder
    /// (a SCIM error) and recorded as refused.
    pub max_body: usize,
    /// How long the upstream may take to answer; past it the recorder answers 504.
    pub timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: crate::client::DEFAULT_MAX_BODY,
            timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// A SCIM error body (RFC 7644 section 3.12) the recorder itself answers with.
fn scim_error(status: StatusCode, detail: String) -> (Response, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    let response = (
        status,
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response();
    (response, body)
}

/// The recorder's shared state.
pub struct Recorder {
    upstream: reqwest::Url,
    limits: Limits,
    http: reqwest::Client,
    out: Mutex<Box<dyn Write + Send>>,
    pseudonyms: Mutex<Pseudonyms>,
    started: Instant,
}

impl Recorder {
    /// A recorder forwarding to `upstream` and writing JSON lines to `out`, with the
    /// default [`Limits`].
    pub fn new(upstream: &str, out: Box<dyn Write + Send>) -> Result<Arc<Recorder>, String> {
        Recorder::with_limits(upstream, out, Limits::default())
    }

    /// A recorder forwarding to `upstream` and writing JSON lines to `out`. A path in
    /// `upstream` (`http://h/scim/v2`) is the base every request path is appended to,
    /// unless the request path already starts with it (a client pointed at
    /// `http://127.0.0.1:PORT/scim/v2` works either way).
    pub fn with_limits(
        upstream: &str,
        out: Box<dyn Write + Send>,
        limits: Limits,
    ) -> Result<Arc<Recorder>, String> {
        let upstream =
            reqwest::Url::parse(upstream).map_err(|e| format!("bad upstream `{upstream}`: {e}"))?;
        if !matches!(upstream.scheme(), "http" | "https") {
            return Err("the upstream must be http or https".into());
        }
        if upstream.query().is_some() || upstream.fragment().is_some() {
            return Err(format!(
                "the upstream `{upstream}` must not have a query or fragment"
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(Recorder {
            upstream,
            limits,
            http,
            out: Mutex::new(out),
            pseudonyms: Mutex::new(Pseudonyms::default()),
            started: Instant::now(),
        }))
    }

    /// The axum app: every path is relayed. The body limit is the recorder's own
    /// ([`Limits::max_body`]), so a longer body gets a SCIM 413 and a line.
    pub fn app(self: &Arc<Recorder>) -> axum::Router {
        let r = Arc::clone(self);
        axum::Router::new()
            .fallback(move |method, uri, headers, body: Body| {
                Arc::clone(&r).relay(method, uri, headers, body)
            })
            .layer(axum::extract::DefaultBodyLimit::disable())
    }

    /// The upstream URL for a request path: the upstream's base path, then `path` (unless
    /// `path` already starts with that base).
    fn forward_url(&self, path: &str) -> String {
        let mut origin = self.upstream.clone();
        origin.set_path("");
        let origin = origin.as_str().trim_end_matches('/').to_owned();
        let base = self.upstream.path().trim_end_matches('/');
        let has_base = base.is_empty()
            || path == base
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with(['/', '?']));
        if has_base {
            format!("{origin}{path}")
        } else {
            format!("{origin}{base}{path}")
        }
    }

    async fn relay(
        self: Arc<Self>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let body = match axum::body::to_bytes(body, self.limits.max_body).await {
            Ok(bytes) => bytes,
            Err(_) => return self.refuse(at_ms, &method, &path, &headers),
        };
        let target = self.forward_url(&path);
        let mut request = self.http.request(method.clone(), &target);
        for (name, value) in &headers {
            if name != "host" && name != "content-length" && name != "connection" {
                request = request.header(name, value);
            }
        }
        let sent = Instant::now();
        let result = request.body(body.clone()).send().await;
        let (response, status, reply_headers, reply_body) = match result {
            Ok(reply) => {
                let status = reply.status();
                let reply_headers = reply.headers().clone();
                let bytes = reply.bytes().await.unwrap_or_default();
                let mut response = Response::new(Body::from(bytes.clone()));
                *response.status_mut() = status;
                for (name, value) in &reply_headers {
                    if name != "content-length"
                        && name != "transfer-encoding"
                        && name != "connection"
                    {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                (
                    response,
                    status.as_u16(),
                    headers_json(&reply_headers),
                    bytes,
                )
            }
            Err(e) => {
                // The recorder's own answer, without response headers in the line (the
                // loader reads that as "the recorded server never answered").
                let (status, detail) = if e.is_timeout() {
                    (
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "scim-conformance record: the upstream did not answer within {} s",
                            self.limits.timeout.as_secs_f64()
                        ),
                    )
                } else {
                    (
                        StatusCode::BAD_GATEWAY,
                        "scim-conformance record: upstream unreachable".to_owned(),
                    )
                };
                let (response, _) = scim_error(status, detail);
                (response, status.as_u16(), Value::Null, Bytes::new())
            }
        };
        let line = {
            let mut p = self.pseudonyms.lock().unwrap_or_else(|e| e.into_inner());
            json!({
                "at_ms": at_ms,
                "duration_ms": sent.elapsed().as_millis() as u64,
                "request": {
                    "method": method.as_str(),
                    "path": p.scrub_text(&mask_query(&path)),
                    "headers": headers_json(&headers),
                    "body": body_json(&body, &mut p),
                },
                "response": {
                    "status": status,
                    "headers": reply_headers,
                    "body": body_json(&reply_body, &mut p),
                },
            })
        };
        self.write_line(&line);
        response
    }

    fn write_line(&self, line: &Value) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            tracing::error!("could not write the recording");
        }
    }

    /// A request body over [`Limits::max_body`]: answered 413 with a SCIM error by the
    /// recorder, never forwarded, and recorded with `"refused_by_recorder": true`.
    fn refuse(&self, at_ms: u64, method: &Method, path: &str, headers: &HeaderMap) -> Response {
        let detail = format!(
            "scim-conformance record: the request body is larger than {} bytes (--max-body); \
             it was not forwarded",
            self.limits.max_body
        );
        let (response, body) = scim_error(StatusCode::PAYLOAD_TOO_LARGE, detail);
        let line = {
            let mut p = self.pseudonyms.lock().unwrap_or_else(|e| e.into_inner());
            json!({
                "at_ms": at_ms,
                "duration_ms": 0,
                "refused_by_recorder": true,
                "request": {
                    "method": method.as_str(),
                    "path": p.scrub_text(&mask_query(path)),
                    "headers": headers_json(headers),
                    "body": {"unparsed_bytes_over": self.limits.max_body},
                },
                "response": {
                    "status": 413,
                    "headers": {"content-type": "application/scim+json"},
                    "body": body,
                },
            })
        };
        self.write_line(&line);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_replaced_consistently() {
        let mut p = Pseudonyms::default();
        let mut create = json!({
            "userName": "jane.doe@corp.example",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane.doe@corp.example", "type": "work"}],
            "phoneNumbers": [{"value": "+44 20 7946 0000"}],
            "active": true
        });
        p.scrub(&mut create);
        let text = create.to_string();
        for secret in ["jane", "Jane", "Doe", "7946"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(create["userName"], create["emails"][0]["value"]);
        assert_eq!(create["active"], true);
        let url = p.scrub_text("/Users?filter=userName+eq+%22jane.doe%40corp.example%22");
        assert_eq!(url, "/Users?filter=userName eq \"person1@example.invalid\"");
        let mut patch =
            json!({"Operations": [{"op": "replace", "value": {"name.givenName": "Jane"}}]});
        p.scrub(&mut patch);
        assert_eq!(
            patch["Operations"][0]["value"]["name.givenName"],
            create["name"]["givenName"]
        );
    }

    #[test]
    fn credentials_in_queries_and_bodies_are_masked() {
        assert_eq!(
            mask_query("/scim/v2/Users?access_token=abc&count=2&api_key=k&code=c&startIndex=1"),
            "/scim/v2/Users?access_token=REDACTED&count=2&api_key=REDACTED&code=REDACTED&startIndex=1"
        );
        assert_eq!(mask_query("/Users"), "/Users");
        let mut p = Pseudonyms::default();
        let mut create = json!({"userName": "u", "password": "hunter2",
            "urn:x:2.0:User:password": "p2"});
        p.scrub(&mut create);
        assert_eq!(create["password"], MASK);
        assert_eq!(create["urn:x:2.0:User:password"], MASK);
        let mut patch = json!({"Operations": [
            {"op": "replace", "path": "password", "value": "hunter2"},
            {"op": "replace", "value": {"password": "hunter3", "active": true}}]});
        p.scrub(&mut patch);
        assert!(!patch.to_string().contains("hunter"), "{patch}");
        // Replay and variants never pass the mask on as a value.
        let stripped = strip_masked(&patch).expect("an operation is left");
        assert_eq!(
            stripped,
            json!({"Operations": [{"op": "replace", "value": {"active": true}}]})
        );
        let only = json!({"Operations": [{"op": "replace", "path": "password", "value": MASK}]});
        assert!(strip_masked(&only)
            .expect_err("nothing left")
            .contains("masked"));
        let other = json!({"userName": "u", "x": {"secret": MASK}});
        assert_eq!(
            strip_masked(&other).expect_err("a mask elsewhere"),
            "the body holds a credential the recorder masked (REDACTED) at `x.secret`"
        );
    }

    #[test]
    fn path_based_patch_values_are_pseudonymised() {
        let mut p = Pseudonyms::default();
        let mut patch = json!({"Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "jo@corp.example"},
            {"op": "replace", "path": "name.givenName", "value": "Joanna"},
            {"op": "replace", "path": "displayName", "value": "Joanna Smith"},
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+44 20 7946 0001"}]},
            {"op": "remove", "path": "emails[value eq \"jo@corp.example\"]", "value": null}]});
        p.scrub(&mut patch);
        let text = patch.to_string();
        for secret in ["corp.example", "Joanna", "7946"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let email = patch["Operations"][0]["value"]
            .as_str()
            .expect("email")
            .to_owned();
        assert!(patch["Operations"][4]["path"]
            .as_str()
            .is_some_and(|path| path.contains(&email)));
    }

    #[test]
    fn filter_values_and_error_details_are_pseudonymised() {
        let mut p = Pseudonyms::default();
        let quoted = p.scrub_text("/Users?filter=userName%20eq%20%22alice%22&count=1");
        assert_eq!(quoted, "/Users?filter=userName eq \"user1\"&count=1");
        let bare = p.scrub_text("/Users?filter=userName+eq+alice+and+active+eq+true");
        assert_eq!(bare, "/Users?filter=userName eq user1 and active eq true");
        let nested = p.scrub_text(
            "/Users?filter=emails[type eq \"work\" and value eq \"bob@corp.example\"] or \
             name.givenName sw \"Roberta\" or displayName eq Bobby&startIndex=1",
        );
        for secret in ["bob@", "corp.example", "Roberta", "Bobby"] {
            assert!(!nested.contains(secret), "{secret} in {nested}");
        }
        assert!(nested.contains("type eq \"work\"") && nested.ends_with("&startIndex=1"));
        // The same mapping in bodies, and in an error detail echoing the value.
        let mut create = json!({"userName": "alice"});
        p.scrub(&mut create);
        assert_eq!(create["userName"], "user1");
        let mut error = json!({"status": "409", "detail": "userName alice is taken (Roberta)"});
        p.scrub(&mut error);
        let detail = error["detail"].as_str().expect("detail");
        assert!(
            !detail.contains("alice") && !detail.contains("Roberta"),
            "{detail}"
        );
        assert!(detail.contains("user1"), "{detail}");
    }

    #[test]
    fn secret_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer s3cret".parse().expect("h"));
        headers.insert("x-api-key", "k3y".parse().expect("h"));
        headers.insert("x-auth-token", "t0k".parse().expect("h"));
        headers.insert("cookie2", "c00k".parse().expect("h"));
        headers.insert("x-session-id", "s3ss".parse().expect("h"));
        assert!(!is_secret_header("content-type") && !is_secret_header("accept"));
        headers.insert("cookie", "sid=1".parse().expect("h"));
        headers.insert("content-type", "application/scim+json".parse().expect("h"));
        let j = headers_json(&headers).to_string();
        for secret in ["s3cret", "sid=1", "k3y", "t0k", "c00k", "s3ss"] {
            assert!(!j.contains(secret), "{secret} in {j}");
        }
        assert!(j.contains("application/scim+json"));
    }
}
