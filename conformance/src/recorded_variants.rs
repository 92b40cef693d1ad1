//! `scim-conformance variants`: turns a recording into IdP variant files in the format of
//! `corpus/idp/<idp>/<variant>.json` ([`crate::variants`]), so a captured quirk becomes a
//! case of the catalog.
//!
//! One file per distinct request shape: requests with the same method, path template and
//! body shape (keys and value types; `op`, `path` and `schemas` values and `"True"`/`"False"`
//! strings kept, since those are what IdPs differ in) give one file, from the first such
//! exchange. The file is a template with the placeholders the variant runner fills:
//! - the addressed user is `{{id}}` (setup `user`), the addressed group `{{gid}}` (setup
//!   `group`); users a body refers to (members, manager) are `{{member}}` and `{{member2}}`
//!   (setup `member`, `member2`, before the group when an operation removes or replaces, so
//!   the group holds them);
//! - in a create, `userName`, `externalId` and a group's `displayName` are
//!   `{{new_user_name}}`, `{{new_external_id}}`, `{{new_group_name}}` (emails equal to the
//!   userName follow it); in a replace, `{{user_name}}`, `{{external_id}}`, `{{group_name}}`;
//! - filter values compared with `userName`, `externalId`, `displayName` or `emails` are
//!   the `new_` names (a lookup that finds nothing, as before a create), with `id` or
//!   `value` `{{nobody}}`; the query is written in form encoding (the recorder keeps it
//!   decoded, so the original `%20`/`+` choice is gone).
//!
//! Every other string is kept as recorded. The recording's data is pseudonymised once more
//! (the recorder's [`crate::record::Pseudonyms`]) before anything is written, so a
//! hand-made recording cannot carry personal data into the corpus either.
//!
//! With `dialect` naming a profile (`entra`, `okta`, ...), each file also has a `case`:
//! level SHOULD, the profile, and `expect.status` the success statuses of the method
//! (201 for a create, 200 or 204 for a PATCH, ...), whatever the recorded server answered:
//! a quirk the recorded server rejected is exactly what the case should catch. The
//! recorded status is kept in `recorded` (which the loader ignores) and in `source`.

use crate::recording::{Exchange, Kind};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A variant file made from a recording.
#[derive(Clone, Debug)]
pub struct Made {
    /// `dialect/stem`, the variant's name.
    pub name: String,
    /// The exchange it comes from.
    pub exchange: usize,
    /// The file's text.
    pub text: String,
}

/// What [`make`] could not turn into a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The exchange.
    pub exchange: usize,
    /// Why.
    pub reason: String,
}

/// The files a recording gives, deduplicated by shape; `duplicates` counts the exchanges
/// whose shape an earlier one already gave.
pub fn make(
    exchanges: &[Exchange],
    dialect: &str,
    source: &str,
) -> (Vec<Made>, Vec<Skipped>, usize) {
    let exchanges = scrubbed(exchanges);
    let created = created_ids(&exchanges);
    let mut seen = HashSet::new();
    let mut made = Vec::new();
    let mut skipped = Vec::new();
    let mut duplicates = 0;
    for x in &exchanges {
        match template(x, &created) {
            Err(reason) => skipped.push(Skipped {
                exchange: x.line,
                reason,
            }),
            Ok(t) => {
                let key = format!("{} {} {}", x.method, t.path, shape(&t.body));
                if !seen.insert(key.clone()) {
                    duplicates += 1;
                    continue;
                }
                let stem = format!(
                    "recorded-{}-{}-{:08x}",
                    x.method.to_ascii_lowercase(),
                    endpoint_slug(x),
                    fnv(&key) as u32
                );
                let name = format!("{dialect}/{stem}");
                let text = file_text(&name, &stem, dialect, source, x, &t);
                made.push(Made {
                    name,
                    exchange: x.line,
                    text,
                });
            }
        }
    }
    (made, skipped, duplicates)
}

/// What happened to each file on disk.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// Files written (new, or overwritten under `force`).
    pub written: Vec<PathBuf>,
    /// Files that exist with the same text.
    pub unchanged: Vec<PathBuf>,
    /// Files that exist with other text and were kept (no `force`).
    pub kept: Vec<PathBuf>,
}

/// Writes `made` under `out/<dialect>/<stem>.json`; an existing file is overwritten only
/// with `force`.
pub fn write(made: &[Made], out: &Path, force: bool) -> Result<Written, String> {
    let mut result = Written::default();
    for m in made {
        let path = out.join(format!("{}.json", m.name));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == m.text => {
                result.unchanged.push(path);
                continue;
            }
            Ok(_) if !force => {
                result.kept.push(path);
                continue;
            }
            _ => {}
        }
        std::fs::write(&path, &m.text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        result.written.push(path);
    }
    Ok(result)
}

/// The exchanges with personal data pseudonymised again, consistently across them.
fn scrubbed(exchanges: &[Exchange]) -> Vec<Exchange> {
    let mut p = crate::record::Pseudonyms::default();
    exchanges
        .iter()
        .map(|x| {
            let mut x = x.clone();
            p.scrub(&mut x.body);
            p.scrub(&mut x.response);
            x.path = p.scrub_text(&crate::record::mask_query(&x.path));
            x
        })
        .collect()
}

/// Ids the recorded server minted in answer to creates, with their kind.
fn created_ids(exchanges: &[Exchange]) -> HashMap<String, Kind> {
    let mut out = HashMap::new();
    for x in exchanges {
        if x.method == "POST" && (200..300).contains(&x.status) {
            if let (Some(kind), Some(id)) = (x.target().collection(), x.minted_id()) {
                out.insert(id, kind);
            }
        }
    }
    out
}

/// A request template.
struct Template {
    path: String,
    body: Value,
    setup: Vec<&'static str>,
    /// For a PATCH: the resource to read back and the JSON pointers it must then hold.
    after: Option<(&'static str, Map<String, Value>)>,
}

fn template(x: &Exchange, created: &HashMap<String, Kind>) -> Result<Template, String> {
    if !crate::recording::is_token(&x.method) {
        return Err(format!(
            "method {:?} is not an HTTP method (RFC 9110 section 9.1: a token)",
            x.method
        ));
    }
    if x.refused {
        return Err("the recorder refused it (body over its --max-body); no body was kept".into());
    }
    if x.body.get("unparsed_bytes").is_some() {
        return Err("the body was not JSON (the recorder kept only its length)".into());
    }
    let target = x.target();
    let segments = target.segments();
    if segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("Bulk"))
    {
        return Err("bulk requests are not turned into variants (bulkIds are not mapped)".into());
    }
    if segments.len() > 2 {
        return Err(format!("path {} is deeper than a resource", target.rel));
    }
    // Placeholders for ids: the addressed resource, then the other users referred to.
    let mut ids: Vec<(String, &'static str)> = Vec::new();
    let mut setup = Vec::new();
    let mut path = String::new();
    let addressed = target.resource();
    match addressed {
        Some((Kind::User, id)) => {
            ids.push((id.to_owned(), "{{id}}"));
            path = "/Users/{{id}}".into();
        }
        Some((Kind::Group, id)) => {
            ids.push((id.to_owned(), "{{gid}}"));
            path = "/Groups/{{gid}}".into();
        }
        None => {
            for s in &segments {
                path.push('/');
                path.push_str(&crate::client::encode_segment(s));
            }
        }
    }
    let mut members = Vec::new();
    for r in crate::replay::references(&x.body) {
        if ids.iter().any(|(id, _)| *id == r) || members.contains(&r) {
            continue;
        }
        if created.get(&r) == Some(&Kind::Group) {
            return Err(format!(
                "refers to group {r} (nested groups have no placeholder)"
            ));
        }
        members.push(r);
    }
    if members.len() > 2 {
        return Err(format!(
            "refers to {} other users; variants have placeholders for two",
            members.len()
        ));
    }
    let slots = [("member", "{{member}}"), ("member2", "{{member2}}")];
    for (r, (step, placeholder)) in members.iter().zip(slots) {
        ids.push((r.clone(), placeholder));
        setup.push(step);
    }
    let removes = x
        .body
        .get("Operations")
        .and_then(Value::as_array)
        .is_some_and(|ops| {
            ops.iter().any(|op| {
                op.get("op")
                    .and_then(Value::as_str)
                    .is_some_and(|o| !o.eq_ignore_ascii_case("add"))
            })
        });
    let after = if x.method == "PATCH" {
        addressed.and_then(|(kind, id)| after_checks(&x.body, kind, id))
    } else {
        None
    };
    // A PATCH that must leave `active` true starts from an inactive user, so a server
    // that ignores it fails.
    let inactive = after
        .as_ref()
        .is_some_and(|(_, m)| m.get("/active") == Some(&Value::Bool(true)));
    match addressed {
        Some((Kind::User, _)) if inactive => setup.insert(0, "inactive-user"),
        Some((Kind::User, _)) => setup.insert(0, "user"),
        Some((Kind::Group, _)) if removes => setup.push("group"),
        Some((Kind::Group, _)) => setup.insert(0, "group"),
        None => {}
    }
    // Names: creates get fresh ones, replaces the setup resource's.
    let create = x.method == "POST" && target.collection().is_some();
    let kind = target.collection().or(addressed.map(|(k, _)| k));
    let mut names: Vec<(String, &'static str)> = Vec::new();
    let name_of = |key: &str| x.body.get(key).and_then(Value::as_str).map(str::to_owned);
    if create || x.method == "PUT" {
        let fresh = create;
        if let Some(n) = name_of("userName") {
            names.push((
                n,
                if fresh {
                    "{{new_user_name}}"
                } else {
                    "{{user_name}}"
                },
            ));
        }
        if let Some(n) = name_of("externalId") {
            names.push((
                n,
                if fresh {
                    "{{new_external_id}}"
                } else {
                    "{{external_id}}"
                },
            ));
        }
        if kind == Some(Kind::Group) {
            if let Some(n) = name_of("displayName") {
                names.push((
                    n,
                    if fresh {
                        "{{new_group_name}}"
                    } else {
                        "{{group_name}}"
                    },
                ));
            }
        }
        if let Some(p) = name_of("password") {
            names.push((p, "{{password}}"));
        }
    }
    // A credential the recorder masked is never written: a masked `password` becomes
    // `{{password}}` above or is dropped here with a masked PATCH operation; any other
    // masked value skips the exchange, and a masked query parameter is left out.
    let body = crate::record::strip_masked(&fill(&x.body, &ids, &names))?;
    if !target.query.is_empty() {
        let mut pairs = Vec::new();
        for (k, v) in target
            .query
            .iter()
            .filter(|(_, v)| v != crate::record::MASK)
        {
            let v = if k.eq_ignore_ascii_case("filter") {
                filter_template(v)
            } else {
                v.clone()
            };
            pairs.push(format!("{}={}", form(k), form(&v)));
        }
        if !pairs.is_empty() {
            path.push('?');
            path.push_str(&pairs.join("&"));
        }
    }
    let mut body = body;
    // A `.search` body's filter gets the same placeholders.
    if let Some(f) = body
        .get("filter")
        .and_then(Value::as_str)
        .map(filter_template)
    {
        body["filter"] = Value::String(f);
    }
    Ok(Template {
        path,
        body,
        setup,
        after,
    })
}

/// Replaces ids (whole strings or inside strings) and names (whole strings) in `value`.
fn fill(value: &Value, ids: &[(String, &str)], names: &[(String, &str)]) -> Value {
    match value {
        Value::String(s) => {
            if let Some((_, p)) = names.iter().find(|(n, _)| n == s) {
                return Value::String((*p).to_owned());
            }
            let mut out = s.clone();
            for (id, p) in ids {
                out = crate::recording::replace_token(&out, id, p);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, ids, names)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, ids, names)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A filter with the quoted values of name and id comparisons replaced by placeholders.
fn filter_template(filter: &str) -> String {
    let mut out = String::new();
    let mut rest = filter;
    while let Some(open) = rest.find('"') {
        let before = &rest[..open];
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        out.push_str(before);
        // The attribute is the word before the operator.
        let token = out
            .split_whitespace()
            .rev()
            .nth(1)
            .unwrap_or_default()
            .trim_start_matches('(')
            .to_ascii_lowercase();
        let attr = token.rsplit(['.', ':', '[']).next().unwrap_or_default();
        let placeholder = match attr {
            _ if token.starts_with("emails") => Some("{{new_user_name}}"),
            "username" => Some("{{new_user_name}}"),
            "externalid" => Some("{{new_external_id}}"),
            "displayname" => Some("{{new_group_name}}"),
            "id" | "value" => Some("{{nobody}}"),
            _ => None,
        };
        out.push('"');
        out.push_str(placeholder.unwrap_or(&after[..close]));
        out.push('"');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Form-encodes a query component, keeping `{{placeholders}}` as they are (the variant
/// runner encodes the values it fills into the path).
fn form(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let (plain, tail) = match rest.find("{{") {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        for byte in plain.bytes() {
            match byte {
                b' ' => out.push('+'),
                b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(b as char),
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
        let Some(tail) = tail else { break };
        match tail.find("}}") {
            Some(end) => {
                out.push_str(&tail[..end + 2]);
                rest = &tail[end + 2..];
            }
            None => {
                out.push_str(&form(&tail.replace('{', "%7B")));
                break;
            }
        }
    }
    out
}

/// The shape of a body: keys and value types; the values IdPs differ in are kept.
fn shape(value: &Value) -> Value {
    shape_in(value, None)
}

fn shape_in(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::String(s) => {
            let kept = matches!(key, Some("op" | "path" | "schemas"))
                || s.eq_ignore_ascii_case("true")
                || s.eq_ignore_ascii_case("false");
            Value::String(if kept { s.clone() } else { "<string>".into() })
        }
        Value::Number(_) => json!("<number>"),
        Value::Array(items) => {
            let distinct: BTreeSet<String> =
                items.iter().map(|v| shape_in(v, key).to_string()).collect();
            Value::Array(distinct.into_iter().map(Value::String).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape_in(v, Some(k.as_str()))))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn endpoint_slug(x: &Exchange) -> String {
    let target = x.target();
    let segments = target.segments();
    let mut slug = segments.first().map_or("root".into(), |s| {
        s.trim_start_matches('.').to_ascii_lowercase()
    });
    if segments.len() == 2 {
        slug.push_str("-id");
    }
    if target.param("filter").is_some() {
        slug.push_str("-filter");
    }
    slug
}

/// FNV-1a, 64 bits: a file name that is the same on every machine and Rust version.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The success statuses of a request, by method and endpoint.
fn success(x: &Exchange) -> Vec<u16> {
    let target = x.target();
    let search = target.segments().last().is_some_and(|s| *s == ".search");
    match x.method.as_str() {
        "POST" if search => vec![200],
        "POST" => vec![201],
        "PATCH" => vec![200, 204],
        "DELETE" => vec![204],
        _ => vec![200],
    }
}

/// RFC 7644 section of a request, for the case id.
fn section(x: &Exchange) -> &'static str {
    let target = x.target();
    let search = target.segments().last().is_some_and(|s| *s == ".search");
    match x.method.as_str() {
        "POST" if search => "3.4.3",
        "POST" => "3.3",
        "PATCH" => "3.5.2",
        "PUT" => "3.5.1",
        "DELETE" => "3.6",
        _ if target.param("filter").is_some() => "3.4.2.2",
        _ if target.resource().is_some() => "3.4.1",
        _ => "3.4.2",
    }
}

/// What a PATCH must change, worked out by applying it (interop mode, as the reference
/// server reads it) to a stand-in resource: the top-level booleans and numbers it sets.
/// Strings are left out (they hold pseudonyms and ids the placeholders replace).
fn after_checks(body: &Value, kind: Kind, id: &str) -> Option<(&'static str, Map<String, Value>)> {
    use scim_parser::patch::{apply, Mode, PatchDocument};
    let (schema, stand_in, read) = match kind {
        Kind::User => (
            scim_parser::ResourceSchema::user(),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id,
                   "userName": "stand-in", "active": true}),
            "user",
        ),
        Kind::Group => (
            scim_parser::ResourceSchema::group(),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
                   "displayName": "stand-in"}),
            "group",
        ),
    };
    let doc = PatchDocument::parse(body, Mode::Interop).ok()?;
    let applied = apply(&doc, &stand_in, &schema).ok()?;
    let mut checks = Map::new();
    for (key, value) in applied.resource.as_object()? {
        if (value.is_boolean() || value.is_number()) && stand_in.get(key) != Some(value) {
            checks.insert(format!("/{key}"), value.clone());
        }
    }
    // A reactivation leaves `active` true on the stand-in: check it too.
    let sets_active = doc.operations.iter().any(|op| {
        op.path_text
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("active"))
            || op.value.as_ref().is_some_and(|v| v.get("active").is_some())
    });
    if sets_active && kind == Kind::User {
        checks.insert("/active".into(), applied.resource["active"].clone());
    }
    (!checks.is_empty()).then_some((read, checks))
}

fn file_text(
    name: &str,
    stem: &str,
    dialect: &str,
    source: &str,
    x: &Exchange,
    t: &Template,
) -> String {
    let mut members: Vec<(&str, Value)> = vec![
        ("variant", json!(name)),
        (
            "source",
            json!(format!(
                "recorded with scim-conformance record ({source}, line {}, pseudonymised); the recorded server answered {}",
                x.line, x.status
            )),
        ),
        ("confidence", json!("O")),
    ];
    let profile = dialect.parse::<crate::Profile>().ok();
    if let Some(profile) = profile {
        let section = section(x);
        members.push((
            "case",
            json!({
                "id": format!("rfc7644-{section}/{}", stem.replacen("recorded-", &format!("recorded-{}-", profile.name()), 1)),
                "level": "SHOULD",
                "profiles": [profile.name()],
                "requirement": format!(
                    "The server accepts {} {} as {} was recorded sending it (recording line {}; RFC 7644 section {section}).",
                    x.method, t.path, profile.name(), x.line
                ),
            }),
        ));
    }
    if !t.setup.is_empty() {
        members.push(("setup", json!(t.setup)));
    }
    let mut request = json!({"method": x.method, "path": t.path});
    if let Some(ct) = x.header("content-type") {
        request["headers"] = json!({"Content-Type": ct});
    }
    if !t.body.is_null() {
        request["body"] = t.body.clone();
    }
    members.push(("request", request));
    if profile.is_some() {
        let mut expect = json!({"status": success(x)});
        if let Some((read, after)) = &t.after {
            expect["read"] = json!(read);
            expect["after"] = Value::Object(after.clone());
        }
        members.push(("expect", expect));
    }
    members.push(("recorded", json!({"line": x.line, "status": x.status})));
    let mut text = String::from("{\n");
    for (i, (key, value)) in members.iter().enumerate() {
        let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
        text.push_str(&format!("  {key:?}: {}", pretty.replace('\n', "\n  ")));
        text.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
    }
    text.push_str("}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_get_placeholders_and_form_encoding() {
        let t = filter_template("userName eq \"user1\" and emails[value eq \"a@b\"]");
        assert_eq!(
            t,
            "userName eq \"{{new_user_name}}\" and emails[value eq \"{{new_user_name}}\"]"
        );
        assert_eq!(
            form("userName eq \"{{new_user_name}}\""),
            "userName+eq+%22{{new_user_name}}%22"
        );
        assert_eq!(filter_template("title pr"), "title pr");
    }

    /// Masked credentials (and raw ones in a hand-made recording) never reach a file.
    #[test]
    fn credentials_are_never_written() {
        let text = r#"{"at_ms":0,"request":{"method":"GET","path":"/Users?access_token=REDACTED&count=1","headers":{},"body":null},"response":{"status":200,"headers":{},"body":null}}
{"at_ms":0,"request":{"method":"POST","path":"/Users","headers":{},"body":{"userName":"a","password":"hunter2"}},"response":{"status":201,"headers":{},"body":{"id":"x"}}}
{"at_ms":0,"request":{"method":"PATCH","path":"/Users/x","headers":{},"body":{"Operations":[{"op":"replace","path":"password","value":"hunter3"}]}},"response":{"status":204,"headers":{},"body":null}}
{"at_ms":0,"request":{"method":"GET","path":"/Users?api_key=k3y","headers":{},"body":null},"response":{"status":200,"headers":{},"body":null}}"#;
        let xs = crate::recording::parse(text).expect("recording");
        let (made, skipped, _) = make(&xs, "recorded", "t.jsonl");
        for m in &made {
            for secret in ["REDACTED", "hunter", "k3y", "access_token"] {
                assert!(!m.text.contains(secret), "{secret} in {}", m.text);
            }
        }
        assert!(made.iter().any(|m| m.text.contains("{{password}}")));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].exchange, 3);
        assert!(skipped[0].reason.contains("masked"), "{skipped:?}");
    }

    #[test]
    fn methods_that_are_not_tokens_are_skipped() {
        let text = r#"{"at_ms":0,"request":{"method":"G ET","path":"/Users","headers":{},"body":null},"response":{"status":200,"headers":{},"body":null}}"#;
        let xs = crate::recording::parse(text).expect("recording");
        let (made, skipped, _) = make(&xs, "recorded", "t.jsonl");
        assert!(made.is_empty());
        assert!(
            skipped[0].reason.contains("not an HTTP method"),
            "{skipped:?}"
        );
        assert!(crate::recording::is_token("PATCH") && !crate::recording::is_token(""));
    }

    /// A manager set through the enterprise-extension URN path (whose `2.0` holds a dot)
    /// to a user the recording did not create becomes a placeholder, never the raw id.
    #[test]
    fn managers_under_the_urn_path_get_a_placeholder() {
        let text = r#"{"at_ms":0,"request":{"method":"POST","path":"/v2/Users","headers":{},"body":{"userName":"m1"}},"response":{"status":201,"headers":{},"body":{"id":"r1"}}}
{"at_ms":0,"request":{"method":"PATCH","path":"/v2/Users/r1","headers":{},"body":{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"pre-existing-7"}]}},"response":{"status":200,"headers":{},"body":null}}"#;
        let xs = crate::recording::parse(text).expect("recording");
        let (made, skipped, _) = make(&xs, "recorded", "t.jsonl");
        assert!(skipped.is_empty(), "{skipped:?}");
        let patch = made.iter().find(|m| m.exchange == 2).expect("patch file");
        assert!(!patch.text.contains("pre-existing-7"), "{}", patch.text);
        assert!(
            patch.text.contains("\"value\": \"{{member}}\""),
            "{}",
            patch.text
        );
    }

    #[test]
    fn shapes_keep_what_idps_differ_in() {
        let a = json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let b = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        let c = json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]});
        assert_ne!(shape(&a), shape(&b));
        assert_ne!(shape(&a), shape(&c));
        let d = json!({"userName": "x", "n": 1});
        let e = json!({"userName": "y", "n": 2});
        assert_eq!(shape(&d), shape(&e));
    }
}
