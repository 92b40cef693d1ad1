//! The HTTP client: sends requests to the target, records every exchange, and redacts the
//! token from everything it records.

use crate::case::Problem;
use crate::token::{Token, REDACTED};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The SCIM media type (RFC 7644 section 8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// The largest response body the client reads by default (16 MiB); a longer or endless
/// body is a transport error, so a misbehaving server cannot exhaust memory.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// How long one request waits in total, by default, for a target that answers 429 before
/// the case is reported as rate-limited instead of judged.
pub const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(30);

/// At most this many retries after 429 answers per request, whatever the waits add up to
/// (a target advising `Retry-After: 0` forever must not spin).
pub const MAX_429_RETRIES: u32 = 10;

/// The first backoff step after a 429 without a usable `Retry-After`; doubled per retry.
const BACKOFF_429: Duration = Duration::from_millis(250);

/// How a request authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>` with the run's token (nothing when there is none).
    Token,
    /// No `Authorization` header at all.
    None,
    /// This exact `Authorization` value (for negative cases, e.g. a wrong token).
    Raw(String),
}

/// A request to send, relative to the target's base URL.
#[derive(Clone, Debug)]
pub struct Request {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path below the base URL, starting with `/`, e.g. `/Users/abc`. Already encoded.
    pub path: String,
    /// Query pairs, form-encoded on the wire (spaces become `+`, as Entra sends them).
    pub query: Vec<(String, String)>,
    /// Extra headers; an explicit `Accept` or `Content-Type` replaces the default.
    pub headers: Vec<(String, String)>,
    /// Request body, sent as is.
    pub body: Option<String>,
    /// How to authenticate.
    pub auth: Auth,
}

impl Request {
    /// A request with no query, no body and the run's token.
    pub fn new(method: reqwest::Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            auth: Auth::Token,
        }
    }
}

/// A response as the client read it.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text, decoded in its declared charset ([`decode`]).
    pub body: String,
}

impl Reply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; an unparsable body is an error naming the status.
    pub fn json(&self) -> Result<Value, Problem> {
        serde_json::from_str(&self.body).map_err(|e| {
            Problem::error(format!(
                "the {} response body is not JSON ({e}): {}",
                self.status,
                snippet(&self.body)
            ))
        })
    }

    /// Checks the status against the accepted ones.
    pub fn expect_status(&self, accepted: &[u16]) -> Result<(), Problem> {
        if accepted.contains(&self.status) {
            return Ok(());
        }
        let expected = match accepted {
            [one] => format!("status {one}"),
            many => {
                let list: Vec<String> = many.iter().map(u16::to_string).collect();
                format!("status {}", list.join(" or "))
            }
        };
        Err(Problem::broken(expected, self.describe()))
    }

    /// `status N` plus the start of the body, for messages.
    pub fn describe(&self) -> String {
        if self.body.trim().is_empty() {
            format!("status {} with an empty body", self.status)
        } else {
            format!("status {} with body {}", self.status, snippet(&self.body))
        }
    }
}

/// The first 300 characters of `text`, on one line.
pub fn snippet(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

/// A request as recorded (token redacted).
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Full URL as sent.
    pub url: String,
    /// Headers sent, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// The body: JSON when it parses, else a string; `null` when there was none.
    pub body: Value,
}

/// A response as recorded (token redacted).
#[derive(Clone, Debug, Serialize)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers received, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// The body: JSON when it parses, else a string; `null` when it was empty.
    pub body: Value,
}

/// One request and what came back.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// What was sent.
    pub request: RecordedRequest,
    /// What came back; `None` when the transport failed.
    pub response: Option<RecordedResponse>,
    /// The transport error, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds from sending to the end of the body.
    pub duration_ms: u64,
}

/// Why a request got no HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// The connection could not be made.
    Connect(String),
    /// No answer within the timeout.
    Timeout(String),
    /// Anything else (bad URL, broken connection, unreadable body).
    Other(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Connect(m) => write!(f, "could not connect: {m}"),
            TransportError::Timeout(m) => write!(f, "timed out: {m}"),
            TransportError::Other(m) => write!(f, "request failed: {m}"),
        }
    }
}

/// `url` as it may be printed: any `user:password@` removed (a URL that does not parse
/// loses everything up to the last `@` before its path).
pub fn without_userinfo(url: &str) -> String {
    if let Ok(mut parsed) = reqwest::Url::parse(url) {
        if parsed.username().is_empty() && parsed.password().is_none() {
            return url.to_owned();
        }
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        return parsed.to_string();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if scheme.is_empty() => rest[at + 1..].to_owned(),
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Sends requests to one SCIM base URL.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<Token>,
    max_body: usize,
    retry_wait: Duration,
}

/// A request the target kept answering 429: what was tried, for the case's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimited {
    /// Requests sent, the first one included.
    pub attempts: u32,
    /// Time spent waiting between them.
    pub waited: Duration,
    /// Why the client stopped retrying.
    pub reason: String,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the target answered 429 to all {} attempts (waited {:.1} s); {}",
            self.attempts,
            self.waited.as_secs_f64(),
            self.reason
        )
    }
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8080/scim/v2`) with a per-request timeout.
    pub fn new(base: &str, token: Option<Token>, timeout: Duration) -> Result<Client, String> {
        let parsed =
            reqwest::Url::parse(base).map_err(|e| format!("bad target URL `{base}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "bad target URL `{base}`: the scheme must be http or https"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("scim-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            max_body: DEFAULT_MAX_BODY,
            retry_wait: DEFAULT_RETRY_WAIT,
        })
    }

    /// The run's bearer token, if any (never print it).
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The same client reading at most `bytes` of each response body.
    pub fn with_max_body(mut self, bytes: usize) -> Client {
        self.max_body = bytes;
        self
    }

    /// The same client waiting at most `wait` in total per request for a target answering
    /// 429 ([`Client::send_patiently`]); zero turns the retries off.
    pub fn with_retry_wait(mut self, wait: Duration) -> Client {
        self.retry_wait = wait;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(token) => token.redact(text),
            None => text.to_owned(),
        }
    }

    fn url(&self, request: &Request) -> Result<reqwest::Url, TransportError> {
        let raw = format!("{}{}", self.base, request.path);
        let mut url = reqwest::Url::parse(&raw)
            .map_err(|e| TransportError::Other(format!("bad URL `{}`: {e}", self.redact(&raw))))?;
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &request.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn headers_for(&self, request: &Request) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let has = |name: &str| {
            request
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("accept") {
            headers.push(("accept".into(), SCIM_JSON.into()));
        }
        if request.body.is_some() && !has("content-type") {
            headers.push(("content-type".into(), SCIM_JSON.into()));
        }
        match (&request.auth, &self.token) {
            (Auth::Token, Some(token)) => {
                headers.push(("authorization".into(), format!("Bearer {}", token.expose())))
            }
            (Auth::Raw(value), _) => headers.push(("authorization".into(), value.clone())),
            (Auth::Token, None) | (Auth::None, _) => {}
        }
        headers.extend(
            request
                .headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
        );
        headers
    }

    fn record_headers<'a>(
        &self,
        headers: impl Iterator<Item = (&'a str, String)>,
    ) -> BTreeMap<String, String> {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            let value = if name == "authorization" {
                match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                    None => REDACTED.to_owned(),
                }
            } else {
                self.redact(&value)
            };
            map.entry(name)
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value)
                })
                .or_insert(value);
        }
        map
    }

    fn record_body(&self, body: &str) -> Value {
        if body.is_empty() {
            return Value::Null;
        }
        let redacted = self.redact(body);
        serde_json::from_str(&redacted).unwrap_or(Value::String(redacted))
    }

    /// Sends `request`; returns the recorded exchange and the reply or transport error.
    pub async fn send(&self, request: &Request) -> (Exchange, Result<Reply, TransportError>) {
        let started = std::time::Instant::now();
        let headers = self.headers_for(request);
        let url = self.url(request);
        let recorded_request = RecordedRequest {
            method: request.method.to_string(),
            url: match &url {
                Ok(u) => self.redact(u.as_str()),
                Err(_) => self.redact(&format!("{}{}", self.base, request.path)),
            },
            headers: self.record_headers(headers.iter().map(|(n, v)| (n.as_str(), v.clone()))),
            body: request
                .body
                .as_deref()
                .map_or(Value::Null, |b| self.record_body(b)),
        };
        let result = match url {
            Ok(url) => self.transmit(request, url, &headers).await,
            Err(e) => Err(e),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let exchange = match &result {
            Ok(reply) => Exchange {
                request: recorded_request,
                response: Some(RecordedResponse {
                    status: reply.status,
                    headers: self
                        .record_headers(reply.headers.iter().map(|(n, v)| (n.as_str(), v.clone()))),
                    body: self.record_body(&reply.body),
                }),
                error: None,
                duration_ms,
            },
            Err(e) => Exchange {
                request: recorded_request,
                response: None,
                error: Some(self.redact(&e.to_string())),
                duration_ms,
            },
        };
        tracing::debug!(
            method = %request.method,
            path = %self.redact(&request.path),
            status = result.as_ref().map(|r| r.status).unwrap_or(0),
            duration_ms,
            "exchange"
        );
        (exchange, result)
    }

    /// Sends `request` like [`Client::send`], but waits out 429 answers (RFC 6585 section 4):
    /// it honours `Retry-After` (seconds or HTTP-date, RFC 9110 section 10.2.3) or, without
    /// one, backs off exponentially, and retries while the total wait stays within the
    /// retry budget ([`Client::with_retry_wait`]). Every attempt's exchange goes to `record`.
    /// A target still answering 429 when the budget is spent gives `Err(RateLimited)` with
    /// the last reply's exchange recorded: the answer is the target's throttle, not a
    /// verdict on the request.
    pub async fn send_patiently(
        &self,
        request: &Request,
        record: &mut (dyn FnMut(Exchange) + Send),
    ) -> Result<Result<Reply, TransportError>, RateLimited> {
        let mut waited = Duration::ZERO;
        let mut retries = 0u32;
        loop {
            let (exchange, result) = self.send(request).await;
            record(exchange);
            let reply = match result {
                Ok(reply) if reply.status == 429 => reply,
                other => return Ok(other),
            };
            let advised = reply
                .header("retry-after")
                .and_then(crate::simulate::engine::parse_retry_after);
            let wait = advised.unwrap_or_else(|| BACKOFF_429.saturating_mul(1 << retries.min(10)));
            let left = self.retry_wait.saturating_sub(waited);
            let stop = if self.retry_wait.is_zero() {
                Some("retries after 429 are off (--retry-wait 0)".to_owned())
            } else if retries >= MAX_429_RETRIES {
                Some(format!("gave up after {MAX_429_RETRIES} retries"))
            } else if wait > left {
                Some(format!(
                    "waiting {:.1} s more{} would pass the {:.1} s budget (--retry-wait)",
                    wait.as_secs_f64(),
                    if advised.is_some() {
                        " as Retry-After asks"
                    } else {
                        ""
                    },
                    self.retry_wait.as_secs_f64()
                ))
            } else {
                None
            };
            if let Some(reason) = stop {
                return Err(RateLimited {
                    attempts: retries + 1,
                    waited,
                    reason,
                });
            }
            tracing::debug!(wait_ms = wait.as_millis() as u64, retries, "429; waiting");
            tokio::time::sleep(wait).await;
            waited += wait;
            retries += 1;
        }
    }

    /// Sends `request` without recording the exchange: the hot path of `simulate`, which
    /// sends millions of requests and keeps only their timings. Errors are redacted.
    pub async fn send_unrecorded(&self, request: &Request) -> Result<Reply, TransportError> {
        let headers = self.headers_for(request);
        let url = self.url(request)?;
        self.transmit(request, url, &headers).await
    }

    async fn transmit(
        &self,
        request: &Request,
        url: reqwest::Url,
        headers: &[(String, String)],
    ) -> Result<Reply, TransportError> {
        let mut builder = self.http.request(request.method.clone(), url);
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            self.check_redirect(&response)?;
        }
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let charset = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .and_then(|(_, v)| charset_of(v));
        // Read chunk by chunk so a huge or endless body stops at the cap; the client's
        // timeout bounds a body that trickles.
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if bytes.len() + chunk.len() > self.max_body {
                return Err(TransportError::Other(format!(
                    "the response body exceeds {} bytes; stopped reading",
                    self.max_body
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = decode(&bytes, charset.as_deref()).map_err(TransportError::Other)?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Redirects are never followed (the token would travel with them); one that points
    /// at another scheme, host or port is a transport error, so the case errors instead of
    /// judging a reply that came from somewhere else.
    fn check_redirect(&self, response: &reqwest::Response) -> Result<(), TransportError> {
        let Some(location) = response.headers().get(reqwest::header::LOCATION) else {
            return Ok(());
        };
        let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
        let here = response.url();
        let there = match here.join(&location) {
            Ok(url) => url,
            Err(e) => {
                return Err(TransportError::Other(format!(
                    "redirect to an unreadable Location `{}`: {e}",
                    self.redact(&location)
                )))
            }
        };
        let same = here.scheme() == there.scheme()
            && here.host_str() == there.host_str()
            && here.port_or_known_default() == there.port_or_known_default();
        if same {
            return Ok(());
        }
        Err(TransportError::Other(format!(
            "status {} redirects to another origin ({}://{}); not followed, the token is never sent there",
            response.status().as_u16(),
            there.scheme(),
            there
                .host_str()
                .map(|h| match there.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
                .unwrap_or_default()
        )))
    }

    fn classify(&self, error: reqwest::Error) -> TransportError {
        // The error's Display chain names the URL, never a header, but redact anyway.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        let message = self.redact(&message);
        if error.is_timeout() {
            TransportError::Timeout(message)
        } else if error.is_connect() {
            TransportError::Connect(message)
        } else {
            TransportError::Other(message)
        }
    }
}

/// The `charset` parameter of a `Content-Type` value, unquoted.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// A response body as text in its declared charset. UTF-8 (and its subset US-ASCII) is
/// read as UTF-8, invalid bytes replaced; ISO-8859-1 maps each byte to the code point of
/// the same number. SCIM bodies must be UTF-8 (RFC 7644 section 8.1), so any other
/// charset is an error naming it rather than text read wrong.
pub fn decode(bytes: &[u8], charset: Option<&str>) -> Result<String, String> {
    let name = charset.unwrap_or("utf-8").to_ascii_lowercase();
    match name.as_str() {
        "utf-8" | "utf8" | "us-ascii" | "ascii" => Ok(String::from_utf8_lossy(bytes).into_owned()),
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" | "cp819" => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        _ => Err(format!(
            "the response body declares charset `{}`, which scim-conformance does not decode \
             (SCIM bodies are UTF-8, RFC 7644 section 8.1; ISO-8859-1 is also read)",
            charset.unwrap_or_default()
        )),
    }
}

/// Percent-encodes one path segment (an id minted by the server may hold any character).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("ab-9_.~"), "ab-9_.~");
        assert_eq!(encode_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn recorded_authorization_is_redacted() {
        let client = Client::new(
            "http://127.0.0.1:1/v2",
            Some(Token::new("s3cr3t")),
            Duration::from_secs(1),
        )
        .expect("client");
        let request = Request::new(reqwest::Method::GET, "/Users");
        let headers = client.headers_for(&request);
        let recorded = client.record_headers(headers.iter().map(|(n, v)| (n.as_str(), v.clone())));
        assert_eq!(
            recorded.get("authorization").map(String::as_str),
            Some("Bearer <redacted>")
        );
        assert_eq!(
            client.record_body("{\"echo\":\"s3cr3t\"}"),
            serde_json::json!({"echo":"<redacted>"})
        );
    }

    /// See: fresh-user trial, a `charset=latin1` body was read as UTF-8.
    #[test]
    fn bodies_are_decoded_in_their_charset() {
        let latin1 = b"{\"displayName\":\"J\xfcrgen\"}";
        let ct = "application/scim+json; charset=\"ISO-8859-1\"";
        assert_eq!(
            decode(latin1, charset_of(ct).as_deref()).unwrap(),
            "{\"displayName\":\"J\u{fc}rgen\"}"
        );
        assert_eq!(
            decode(
                latin1,
                charset_of("application/json;charset=latin1").as_deref()
            )
            .unwrap(),
            "{\"displayName\":\"J\u{fc}rgen\"}"
        );
        let utf8 = "{\"displayName\":\"J\u{fc}rgen\"}";
        assert_eq!(decode(utf8.as_bytes(), None).unwrap(), utf8);
        assert_eq!(decode(utf8.as_bytes(), Some("UTF-8")).unwrap(), utf8);
        let err = decode(
            b"{}",
            charset_of("application/json; charset=utf-16").as_deref(),
        )
        .unwrap_err();
        assert!(err.contains("`utf-16`"), "{err}");
    }

    #[test]
    fn status_mismatch_names_both() {
        let reply = Reply {
            status: 500,
            headers: vec![],
            body: "boom".into(),
        };
        let problem = reply
            .expect_status(&[200, 204])
            .expect_err("500 is not accepted");
        assert_eq!(
            problem,
            Problem::broken("status 200 or 204", "status 500 with body boom")
        );
        assert!(reply.json().is_err());
    }
}
