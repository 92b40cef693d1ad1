//! `scim-conformance record`: a loopback reverse proxy that forwards every request to the
//! upstream SCIM server unchanged and writes each exchange as one JSON line, with
//! credentials dropped (`Authorization`, `Cookie`, `Set-Cookie`, `Proxy-Authorization`)
//! and personal data (emails, names, phone numbers, userName) replaced by pseudonyms,
//! consistently: the same original always becomes the same pseudonym within a recording,
//! so lookups, creates and later PATCHes still line up.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Headers never written to a recording.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

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
                for (key, v) in map.iter_mut() {
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

    /// Replaces every known original inside `text` (a URL: filter values arrive quoted,
    /// percent- or form-encoded). Values first seen in a URL are not known yet, so a filter
    /// value that looks like an email is mapped here too.
    pub fn scrub_text(&mut self, text: &str) -> String {
        let decoded = decode(text);
        let mut out = decoded.clone();
        for quoted in decoded.split('"').skip(1).step_by(2) {
            if quoted.contains('@') {
                let p = self.of("email", quoted);
                out = out.replace(quoted, &p);
            } else if let Some(p) = self.map.get(quoted) {
                out = out.replace(quoted, p);
            }
        }
        out
    }
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
        if SECRET_HEADERS.contains(&name.as_str()) {
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

/// The recorder's shared state.
pub struct Recorder {
    upstream: reqwest::Url,
    http: reqwest::Client,
    out: Mutex<Box<dyn Write + Send>>,
    pseudonyms: Mutex<Pseudonyms>,
    started: Instant,
}

impl Recorder {
    /// A recorder forwarding to `upstream` (scheme and authority; the path comes from each
    /// request) and writing JSON lines to `out`.
    pub fn new(upstream: &str, out: Box<dyn Write + Send>) -> Result<Arc<Recorder>, String> {
        let upstream =
            reqwest::Url::parse(upstream).map_err(|e| format!("bad upstream `{upstream}`: {e}"))?;
        if !matches!(upstream.scheme(), "http" | "https") {
            return Err("the upstream must be http or https".into());
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(Recorder {
            upstream,
            http,
            out: Mutex::new(out),
            pseudonyms: Mutex::new(Pseudonyms::default()),
            started: Instant::now(),
        }))
    }

    /// The axum app: every path is relayed.
    pub fn app(self: &Arc<Recorder>) -> axum::Router {
        let r = Arc::clone(self);
        axum::Router::new().fallback(move |method, uri, headers, body| {
            Arc::clone(&r).relay(method, uri, headers, body)
        })
    }

    async fn relay(
        self: Arc<Self>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_owned();
        let mut target = self.upstream.clone();
        target.set_path("");
        let target = format!("{}{}", target.as_str().trim_end_matches('/'), path);
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
            Err(_) => (
                (
                    StatusCode::BAD_GATEWAY,
                    "scim-conformance record: upstream unreachable",
                )
                    .into_response(),
                502,
                Value::Null,
                Bytes::new(),
            ),
        };
        let line = {
            let mut p = self.pseudonyms.lock().unwrap_or_else(|e| e.into_inner());
            json!({
                "at_ms": at_ms,
                "duration_ms": sent.elapsed().as_millis() as u64,
                "request": {
                    "method": method.as_str(),
                    "path": p.scrub_text(&path),
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
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            tracing::error!("could not write the recording");
        }
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
    fn secret_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer s3cret".parse().expect("h"));
        headers.insert("cookie", "sid=1".parse().expect("h"));
        headers.insert("content-type", "application/scim+json".parse().expect("h"));
        let j = headers_json(&headers).to_string();
        assert!(!j.contains("s3cret") && !j.contains("sid=1"));
        assert!(j.contains("application/scim+json"));
    }
}
