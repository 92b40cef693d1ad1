//! `scim-conformance grade`: checks the client side of a recording. Every request is read
//! the way a strict RFC 7644 server reads it, and each deviation is listed with the RFC
//! section it breaks and the known IdP dialect it matches, so an IdP or SCIM-client author
//! sees what their client sends that servers may reject.
//!
//! What is checked, per request:
//! - the media type of a request with a body (`application/scim+json`, RFC 7644 section 3.8);
//! - `filter` (query parameter, or the member of a `.search` body) in the parser's strict
//!   RFC 7644 grammar; a filter only the default or interop grammar accepts names the
//!   tolerance it needed;
//! - `startIndex` and `count` are integers (section 3.4.2.4);
//! - PATCH documents (section 3.5.2): parsed strictly; then parsed and applied in interop
//!   mode to a stand-in resource (the addressed id, a placeholder name), and every tolerance
//!   the parser used is a deviation carrying the parser's dialect (`entra`, `okta`,
//!   `onelogin`, `generic`). Tolerances that depend on what the resource holds (a filter
//!   that matches nothing) are not the client's doing and are left out;
//! - create and replace bodies (sections 3.3, 3.5.1): `schemas` present and naming the core
//!   schema, and the attributes read by the same parser (as the reference server does), so
//!   `"active": "True"` or a bare-string `manager` show up with their dialect;
//! - `.search` bodies name the SearchRequest URN (section 3.4.3).

use crate::recording::{Exchange, Kind};
use scim_parser::patch::{apply, Diagnostic, Mode, PatchDocument, PatchErrorKind, PATCH_OP_URN};
use scim_parser::{parse_filter_with, ParseOptions, ResourceSchema};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// One way a request departs from RFC 7644.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deviation {
    /// The exchange's line number in the recording.
    pub exchange: usize,
    /// HTTP method.
    pub method: String,
    /// The path as recorded.
    pub path: String,
    /// What the request does.
    pub what: String,
    /// The RFC section it departs from.
    pub section: &'static str,
    /// The known dialect it matches (`entra`, `okta`, `onelogin`, `generic`), or `none`
    /// when no known client is documented to send it.
    pub dialect: String,
}

/// The grade of a recording.
#[derive(Clone, Debug, Serialize)]
pub struct Grade {
    /// Requests read.
    pub exchanges: usize,
    /// Requests with at least one deviation.
    pub deviating_requests: usize,
    /// Every deviation, in recording order.
    pub deviations: Vec<Deviation>,
    /// Deviations per dialect.
    pub by_dialect: BTreeMap<String, usize>,
    /// Deviations per RFC section.
    pub by_section: BTreeMap<String, usize>,
}

impl Grade {
    /// True when no request deviates.
    pub fn conformant(&self) -> bool {
        self.deviations.is_empty()
    }

    /// The people's view: one line per deviation, then the counts.
    pub fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut last = None;
        for d in &self.deviations {
            if last != Some(d.exchange) {
                writeln!(out, "#{:<4} {} {}", d.exchange, d.method, d.path)?;
                last = Some(d.exchange);
            }
            writeln!(out, "      [{}] {} (RFC {})", d.dialect, d.what, d.section)?;
        }
        writeln!(
            out,
            "{} requests, {} with deviations, {} deviations",
            self.exchanges,
            self.deviating_requests,
            self.deviations.len()
        )?;
        for (dialect, n) in &self.by_dialect {
            writeln!(out, "  dialect {dialect}: {n}")?;
        }
        for (section, n) in &self.by_section {
            writeln!(out, "  RFC {section}: {n}")?;
        }
        writeln!(
            out,
            "{}",
            if self.conformant() {
                "CONFORMANT: every request parses in strict RFC 7644 mode"
            } else {
                "DEVIATIONS: some requests need a server's tolerance"
            }
        )
    }

    /// The JSON report.
    pub fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "exchanges": self.exchanges,
            "conformant": self.conformant(),
            "deviating_requests": self.deviating_requests,
            "deviations": self.deviations,
            "by_dialect": self.by_dialect,
            "by_section": self.by_section,
        })
    }
}

/// Grades every request of a recording.
pub fn grade(exchanges: &[Exchange]) -> Grade {
    let mut deviations = Vec::new();
    let mut deviating_requests = 0;
    for exchange in exchanges {
        // A request the recorder refused (body over --max-body) kept no body to read.
        if exchange.refused {
            continue;
        }
        let found = check(exchange);
        if !found.is_empty() {
            deviating_requests += 1;
        }
        deviations.extend(found.into_iter().map(|(what, section, dialect)| Deviation {
            exchange: exchange.line,
            method: exchange.method.clone(),
            path: exchange.path.clone(),
            what,
            section,
            dialect,
        }));
    }
    let mut by_dialect = BTreeMap::new();
    let mut by_section = BTreeMap::new();
    for d in &deviations {
        *by_dialect.entry(d.dialect.clone()).or_default() += 1;
        *by_section.entry(d.section.to_owned()).or_default() += 1;
    }
    Grade {
        exchanges: exchanges.len(),
        deviating_requests,
        deviations,
        by_dialect,
        by_section,
    }
}

type Found = Vec<(String, &'static str, String)>;

/// The deviations of one request.
pub fn check(exchange: &Exchange) -> Found {
    let mut found = Found::new();
    if !crate::recording::is_token(&exchange.method) {
        found.push((
            format!(
                "method {:?} is not an HTTP method (a token: letters, digits, \
                 !#$%&'*+-.^_`|~)",
                exchange.method
            ),
            "9110 §9.1",
            "none".into(),
        ));
    }
    let target = exchange.target();
    let has_body = !exchange.body.is_null();
    if has_body {
        media_type(exchange, &mut found);
    }
    if let Some(filter) = target.param("filter") {
        check_filter(filter, &mut found);
    }
    for name in ["startIndex", "count"] {
        if let Some(v) = target.param(name) {
            if v.trim().parse::<i64>().is_err() {
                found.push((
                    format!("`{name}={v}` is not an integer"),
                    "7644 §3.4.2.4",
                    "none".into(),
                ));
            }
        }
    }
    let segments = target.segments();
    let search = segments.last().is_some_and(|s| *s == ".search");
    match exchange.method.as_str() {
        "POST" if search => check_search(&exchange.body, &mut found),
        "PATCH" if has_body => {
            let kind = target.resource().map(|(k, id)| (k, id.to_owned()));
            check_patch(&exchange.body, kind, &mut found);
        }
        "POST" | "PUT" if has_body => {
            let kind = if exchange.method == "POST" {
                target.collection()
            } else {
                target.resource().map(|(k, _)| k)
            };
            if let Some(kind) = kind {
                check_resource(&exchange.body, kind, &mut found);
            }
        }
        _ => {}
    }
    found
}

fn media_type(exchange: &Exchange, found: &mut Found) {
    let Some(value) = exchange.header("content-type") else {
        found.push((
            "a request body without Content-Type".into(),
            "7644 §3.8",
            "none".into(),
        ));
        return;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // RFC 7644 section 8.1: SCIM bodies are UTF-8; a charset parameter naming anything
    // else is a deviation even on the right media type.
    let charset = value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    if let Some(charset) = charset.filter(|c| !c.eq_ignore_ascii_case("utf-8")) {
        found.push((
            format!("Content-Type charset `{charset}`: SCIM bodies are UTF-8"),
            "7644 §8.1",
            "none".into(),
        ));
    }
    if essence == "application/scim+json" {
        return;
    }
    // Okta's own SCIM test suite sends application/json (idp-shapes OKTA-SPEC).
    let dialect = if essence == "application/json" {
        "okta"
    } else {
        "none"
    };
    found.push((
        format!("Content-Type `{value}` instead of application/scim+json"),
        "7644 §3.8",
        dialect.into(),
    ));
}

fn check_filter(filter: &str, found: &mut Found) {
    if parse_filter_with(filter, &ParseOptions::strict()).is_ok() {
        return;
    }
    let strict_error = parse_filter_with(filter, &ParseOptions::strict())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let (what, dialect) = if parse_filter_with(filter, &ParseOptions::default()).is_ok() {
        if filter.contains('$') {
            (
                "`$` in an attribute name (strict RFC 7644 ATTRNAME has none)",
                "generic",
            )
        } else {
            (
                "whitespace other than single spaces between tokens",
                "generic",
            )
        }
    } else if parse_filter_with(filter, &ParseOptions::interop()).is_ok() {
        (
            "a comparison after a value path (`emails[type eq \"work\"].value eq ...`)",
            "entra",
        )
    } else if unquoted_value(filter) {
        // See: idp-shapes `entra-legacy-unquoted-filter` (customappsso, MS-2016).
        (
            "an unquoted string value (Entra's legacy customappsso job)",
            "entra",
        )
    } else {
        ("a filter no grammar mode accepts", "none")
    };
    found.push((
        format!("filter `{filter}`: {what} (strict: {strict_error})"),
        "7644 §3.4.2.2",
        dialect.into(),
    ));
}

/// `attr eq word`: a comparison whose value is a bare word, not a JSON literal.
fn unquoted_value(filter: &str) -> bool {
    let words: Vec<&str> = filter.split_whitespace().collect();
    words.len() == 3
        && ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
            .iter()
            .any(|op| op.eq_ignore_ascii_case(words[1]))
        && serde_json::from_str::<Value>(words[2]).is_err()
}

fn check_search(body: &Value, found: &mut Found) {
    if !names_urn(body, SEARCH_URN) {
        found.push((
            format!("`.search` body without `schemas` [\"{SEARCH_URN}\"]"),
            "7644 §3.4.3",
            "none".into(),
        ));
    }
    if let Some(filter) = body.get("filter").and_then(Value::as_str) {
        check_filter(filter, found);
    }
    for name in ["startIndex", "count"] {
        if let Some(v) = body.get(name).filter(|v| !v.is_i64() && !v.is_u64()) {
            found.push((
                format!("`.search` `{name}` is {v}, not a JSON integer"),
                "7644 §3.4.3",
                "none".into(),
            ));
        }
    }
}

fn names_urn(body: &Value, urn: &str) -> bool {
    body.get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(urn)))
}

fn schema_of(kind: Kind) -> ResourceSchema {
    match kind {
        Kind::User => ResourceSchema::user(),
        Kind::Group => ResourceSchema::group(),
    }
}

/// A stand-in for the addressed resource: its id and a placeholder of the required name.
fn stand_in(kind: Kind, id: &str) -> Value {
    match kind {
        Kind::User => json!({"schemas": [USER_URN], "id": id, "userName": "stand-in"}),
        Kind::Group => json!({"schemas": [GROUP_URN], "id": id, "displayName": "stand-in"}),
    }
}

/// Tolerances that depend on what the resource holds, not on what the client sent.
fn depends_on_state(d: &Diagnostic) -> bool {
    d.message.contains("matches nothing")
}

fn check_patch(body: &Value, kind: Option<(Kind, String)>, found: &mut Found) {
    let strict = PatchDocument::parse(body, Mode::Strict);
    let interop = PatchDocument::parse(body, Mode::Interop);
    let mut diagnostics: Vec<Diagnostic>;
    let mut strict_problem = strict.as_ref().err().map(|e| e.to_string());
    match (&interop, &kind) {
        (Ok(doc), Some((kind, id))) => {
            let resource = stand_in(*kind, id);
            let schema = schema_of(*kind);
            match apply(doc, &resource, &schema) {
                Ok(applied) => diagnostics = applied.diagnostics,
                Err(_) => diagnostics = doc.diagnostics.clone(),
            }
            if let Ok(doc) = &strict {
                if let Err(e) = apply(doc, &resource, &schema) {
                    if e.kind != PatchErrorKind::NoTarget {
                        strict_problem = Some(e.to_string());
                    }
                }
            }
        }
        (Ok(doc), None) => diagnostics = doc.diagnostics.clone(),
        (Err(e), _) => {
            // A value filter in a PATCH path is the filter grammar (RFC 7644 section
            // 3.5.2 `valFilter`), so an unquoted literal there gets the label the same
            // literal gets in a query filter.
            let unquoted = body
                .get("Operations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|op| op.get("path").and_then(Value::as_str))
                .any(|path| match (path.find('['), path.rfind(']')) {
                    (Some(open), Some(close)) if open < close => {
                        unquoted_value(&path[open + 1..close])
                    }
                    _ => false,
                });
            let (what, dialect) = if unquoted {
                (
                    " (an unquoted string value, as Entra's legacy customappsso job sends in filters)",
                    "entra",
                )
            } else {
                ("", "none")
            };
            found.push((
                format!(
                    "PATCH document rejected in strict and interop mode: {e}{}{what}",
                    strict_problem
                        .as_ref()
                        .filter(|s| **s != e.to_string())
                        .map(|s| format!(" (strict: {s})"))
                        .unwrap_or_default()
                ),
                "7644 §3.5.2",
                dialect.into(),
            ));
            return;
        }
    }
    diagnostics.retain(|d| !depends_on_state(d));
    diagnostics.dedup();
    if diagnostics.is_empty() {
        if let Some(problem) = strict_problem {
            found.push((problem, "7644 §3.5.2", "none".into()));
        }
        return;
    }
    for d in diagnostics {
        found.push((
            match d.op_index {
                Some(i) => format!("Operations[{i}]: {}", d.message),
                None => d.message.clone(),
            },
            section_of(&d.message),
            d.dialect.into(),
        ));
    }
}

/// The RFC section a parser tolerance departs from, by its message.
fn section_of(message: &str) -> &'static str {
    if message.contains("read as a boolean") {
        "7643 §2.3.2"
    } else if message.contains("single value for multi-valued") {
        "7643 §2.4"
    } else if message.contains("bare string") || message.contains("one-element array") {
        "7643 §2.3.8"
    } else if message.contains("legacy `urn:scim:schemas") {
        "7643 §3"
    } else if message.contains("with a value array") || message.contains("value of a remove") {
        "7644 §3.5.2.2"
    } else if message.contains("path-less value key") {
        "7644 §3.5.2.3"
    } else if message.contains("read-only") {
        "7643 §2.2"
    } else {
        "7644 §3.5.2"
    }
}

fn check_resource(body: &Value, kind: Kind, found: &mut Found) {
    let Some(obj) = body.as_object() else {
        found.push((
            "the body is not a JSON object".into(),
            "7644 §3.3",
            "none".into(),
        ));
        return;
    };
    let core = match kind {
        Kind::User => USER_URN,
        Kind::Group => GROUP_URN,
    };
    let listed: Vec<&str> = obj
        .get("schemas")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        found.push((
            "no `schemas` in the resource".into(),
            "7643 §3",
            "none".into(),
        ));
    } else if !listed.iter().any(|u| u.eq_ignore_ascii_case(core)) {
        let legacy = listed.iter().any(|u| u.starts_with("urn:scim:schemas:"));
        found.push((
            format!("`schemas` {listed:?} does not name {core}"),
            "7643 §3",
            if legacy { "onelogin" } else { "none" }.into(),
        ));
    }
    // The attributes, read as a path-less add onto an empty resource (what the reference
    // server does with a create body): type mismatches and IdP shapes surface here.
    let schema = schema_of(kind);
    let mut known = Map::new();
    for (key, value) in obj {
        if matches!(
            key.as_str(),
            "schemas" | "id" | "meta" | "groups" | "password"
        ) {
            continue;
        }
        let path = scim_parser::filter::AttrPath {
            uri: None,
            name: key.clone(),
            sub_attr: None,
            span: Default::default(),
        };
        if schema.extension(key).is_some() || schema.resolve(&path).is_some() {
            known.insert(key.clone(), value.clone());
        }
    }
    if known.is_empty() {
        return;
    }
    let patch = json!({"schemas": [PATCH_OP_URN],
                       "Operations": [{"op": "add", "value": Value::Object(known.clone())}]});
    let empty = json!({"schemas": [core]});
    let strict = PatchDocument::parse(&patch, Mode::Strict)
        .and_then(|doc| apply(&doc, &empty, &schema).map(|_| ()));
    let interop = PatchDocument::parse(&patch, Mode::Interop)
        .and_then(|doc| apply(&doc, &empty, &schema).map(|a| a.diagnostics));
    match interop {
        Ok(diagnostics) if !diagnostics.is_empty() => {
            for d in diagnostics.iter().filter(|d| !depends_on_state(d)) {
                found.push((d.message.clone(), section_of(&d.message), d.dialect.into()));
            }
        }
        Err(_) => {
            for (key, e) in per_attribute(&known, &empty, &schema, Mode::Interop) {
                found.push((
                    format!("`{key}`: no mode accepts it: {e}"),
                    "7643 §2.3",
                    "none".into(),
                ));
            }
        }
        Ok(_) => {
            if strict.is_err() {
                for (key, e) in per_attribute(&known, &empty, &schema, Mode::Strict) {
                    found.push((format!("`{key}`: {e}"), "7643 §2.3", "none".into()));
                }
            }
        }
    }
}

/// Each top-level attribute of a create or replace body that `mode` rejects, with the
/// reason, labelled by the attribute (not by the PATCH operation the check is made of).
fn per_attribute(
    known: &Map<String, Value>,
    empty: &Value,
    schema: &scim_parser::ResourceSchema,
    mode: Mode,
) -> Vec<(String, String)> {
    let rejects = |value: Value| -> Option<String> {
        let patch = json!({"schemas": [PATCH_OP_URN],
            "Operations": [{"op": "add", "value": value}]});
        let result = PatchDocument::parse(&patch, mode)
            .and_then(|doc| apply(&doc, empty, schema).map(|_| ()));
        result.err().map(|e| {
            let message = e.to_string();
            message
                .strip_prefix("Operations[0].value: ")
                .unwrap_or(&message)
                .to_owned()
        })
    };
    let mut out = Vec::new();
    for (key, value) in known {
        let Some(message) = rejects(json!({key.clone(): value.clone()})) else {
            continue;
        };
        // A complex attribute: name the sub-attributes that are rejected on their own.
        let subs: Vec<(String, String)> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(sub, v)| {
                rejects(json!({key.clone(): {sub.clone(): v.clone()}}))
                    .map(|m| (format!("{key}.{sub}"), m))
            })
            .collect();
        if subs.is_empty() {
            out.push((key.clone(), message));
        } else {
            out.extend(subs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, path: &str, ct: Option<&str>, body: Value) -> Exchange {
        Exchange {
            line: 1,
            at_ms: 0,
            method: method.into(),
            path: path.into(),
            headers: ct
                .map(|c| vec![("content-type".into(), c.into())])
                .unwrap_or_default(),
            body,
            status: 200,
            response: Value::Null,
            location: None,
            answered: true,
            refused: false,
        }
    }

    fn dialects(found: &Found) -> Vec<&str> {
        found.iter().map(|(_, _, d)| d.as_str()).collect()
    }

    #[test]
    fn methods_charsets_search_paging_and_attribute_labels() {
        let scim = Some("application/scim+json");
        let bad_method = check(&exchange("G ET", "/Users", None, Value::Null));
        assert_eq!(bad_method.len(), 1);
        assert_eq!(bad_method[0].1, "9110 §9.1");
        let latin = check(&exchange(
            "POST",
            "/Users",
            Some("application/scim+json; charset=latin1"),
            json!({"schemas": [USER_URN], "userName": "a"}),
        ));
        assert_eq!(latin.len(), 1, "{latin:?}");
        assert_eq!(latin[0].1, "7644 §8.1");
        let utf8 = check(&exchange(
            "POST",
            "/Users",
            Some("application/scim+json; charset=UTF-8"),
            json!({"schemas": [USER_URN], "userName": "a"}),
        ));
        assert!(utf8.is_empty(), "{utf8:?}");
        let search = check(&exchange(
            "POST",
            "/Users/.search",
            scim,
            json!({"schemas": [SEARCH_URN], "startIndex": "1", "count": 2.5}),
        ));
        assert_eq!(search.len(), 2, "{search:?}");
        assert!(search.iter().all(|d| d.1 == "7644 §3.4.3"));
        let active = check(&exchange(
            "POST",
            "/Users",
            scim,
            json!({"schemas": [USER_URN], "userName": "a", "active": "yes"}),
        ));
        assert_eq!(active.len(), 1, "{active:?}");
        assert!(active[0].0.starts_with("`active`:"), "{}", active[0].0);
        assert!(!active[0].0.contains("Operations"), "{}", active[0].0);
        let nested = check(&exchange(
            "POST",
            "/Users",
            scim,
            json!({"schemas": [USER_URN], "userName": "a",
                "name": {"givenName": 5, "familyName": "B"}}),
        ));
        assert_eq!(nested.len(), 1, "{nested:?}");
        assert!(
            nested[0].0.starts_with("`name.givenName`:"),
            "{}",
            nested[0].0
        );
        // An unquoted value is labelled the same in a PATCH path as in a filter.
        let patch = check(&exchange(
            "PATCH",
            "/Users/u1",
            scim,
            json!({"schemas": [PATCH_OP_URN],
                "Operations": [{"op": "remove", "path": "emails[value eq a@b.c]"}]}),
        ));
        let filter = check(&exchange(
            "GET",
            "/Users?filter=emails.value eq a@b.c",
            None,
            Value::Null,
        ));
        assert_eq!(dialects(&patch), dialects(&filter));
        assert_eq!(dialects(&patch), ["entra"]);
    }

    #[test]
    fn entra_default_deactivate_names_entra_twice() {
        let body = json!({"schemas": [PATCH_OP_URN],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let found = check(&exchange(
            "PATCH",
            "/scim/v2/Users/u1",
            Some("application/scim+json"),
            body,
        ));
        assert_eq!(dialects(&found), ["entra", "entra"], "{found:?}");
        assert!(found[0].0.contains("\"Replace\""));
        assert_eq!(found[1].1, "7643 §2.3.2");
    }

    #[test]
    fn rfc_requests_are_clean() {
        let patch = json!({"schemas": [PATCH_OP_URN],
            "Operations": [{"op": "remove", "path": "members[value eq \"u9\"]"}]});
        let ok = check(&exchange(
            "PATCH",
            "/Groups/g1",
            Some("application/scim+json; charset=utf-8"),
            patch,
        ));
        assert!(ok.is_empty(), "{ok:?}");
        let lookup = check(&exchange(
            "GET",
            "/Users?filter=userName eq \"a@b.c\"&startIndex=1&count=2",
            None,
            Value::Null,
        ));
        assert!(lookup.is_empty(), "{lookup:?}");
        let create = check(&exchange(
            "POST",
            "/Users",
            Some("application/scim+json"),
            json!({"schemas": [USER_URN], "userName": "a", "active": true}),
        ));
        assert!(create.is_empty(), "{create:?}");
    }

    #[test]
    fn filters_media_types_and_bodies_are_named() {
        let legacy = check(&exchange(
            "GET",
            "/Users?filter=externalId eq jyoung",
            None,
            Value::Null,
        ));
        assert_eq!(dialects(&legacy), ["entra"]);
        let entra = check(&exchange(
            "GET",
            "/Users?filter=emails[type eq \"work\"].value eq \"x\"",
            None,
            Value::Null,
        ));
        assert_eq!(dialects(&entra), ["entra"]);
        let json_type = check(&exchange(
            "POST",
            "/Users",
            Some("application/json"),
            json!({"schemas": [USER_URN], "userName": "a", "active": "True"}),
        ));
        assert_eq!(dialects(&json_type), ["okta", "entra"], "{json_type:?}");
        let no_schemas = check(&exchange(
            "POST",
            "/Groups",
            Some("application/scim+json"),
            json!({"displayName": "g"}),
        ));
        assert_eq!(no_schemas[0].0, "no `schemas` in the resource");
        let onelogin = check(&exchange(
            "POST",
            "/Users",
            Some("application/scim+json"),
            json!({"schemas": ["urn:scim:schemas:core:2.0"], "userName": "a",
                   "emails": {"value": "a@b.c"}}),
        ));
        assert_eq!(
            dialects(&onelogin),
            ["onelogin", "onelogin"],
            "{onelogin:?}"
        );
        assert_eq!(onelogin[1].1, "7643 §2.4");
        let bad_count = check(&exchange("GET", "/Users?count=ten", None, Value::Null));
        assert_eq!(bad_count[0].1, "7644 §3.4.2.4");
    }
}
