//! `scim-conformance replay`: sends a recording's requests to another SCIM server, in
//! order, and compares each status with the recorded one.
//!
//! Ids: the recorded server minted ids in its answers to creates (`POST /Users`, `POST
//! /Groups`). When the replayed create answers, its id (body `id`, else the last segment
//! of `Location`) is mapped to the recorded one, and every later request has the recorded
//! id replaced by the new one only where it names a resource: the segment after `/Users/`
//! or `/Groups/`, `members[].value`, a manager's `value` (an object or a bare string under
//! a `manager` path), `id` at the top of a PUT body, PATCH path filters (`members[value eq
//! "..."]`) and filter literals compared with `id`, `value`, `members.value` or
//! `manager.value` (the filter is parsed and the literal rewritten by its span). Other
//! text (`startIndex=1`, a `title`, the PatchOp URN) is sent as recorded, and the report
//! shows the path actually sent.
//!
//! Credentials: a query parameter the recorder masked ([`crate::record::MASK`]) is dropped,
//! a masked `password` is left out of the body, and a request left with nothing but masked
//! values is skipped with the reason; a masked value is never sent as if it were real.
//!
//! Names: every `userName`, `externalId` and `displayName` a recorded request body sets
//! gets the replay's prefix (`scimreplay-<random8>-`, and `c<k>-` for copy `k` under
//! `--scale`), in bodies and in filter values alike, so the replay never collides with
//! what the target holds and its lookups find only its own resources.
//!
//! Safety: a request addressing `/Users/{id}` or `/Groups/{id}` with an id the recording
//! did not create (a resource that existed before the recording), or whose create failed
//! on the target, is skipped with that reason; so is a write whose body refers to such an
//! id (a member or manager), a write to any other endpoint (`/Bulk`, `/Me`), and nothing
//! else is sent on their behalf. Reads of lists and discovery endpoints are sent (they
//! change nothing; only their status is kept, never their bodies). At the end the replay
//! deletes every user and group it created (groups first) unless `keep` is set.
//!
//! Ordering: a copy of the recording is replayed strictly in order, so a request that
//! needs a mapped id always runs after the create that mints it; `concurrency` is how
//! many copies (under `--scale`) run at once.

use crate::client::{encode_segment, Client, Request, TransportError};
use crate::recording::{minted_id, Exchange, Kind};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How fast requests go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pace {
    /// The recorded spacing: each request waits until its recorded offset from the first.
    Recorded,
    /// As fast as the target answers (and `rate` allows).
    Max,
}

/// Replay settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Recorded spacing or as fast as possible.
    pub pace: Pace,
    /// At most this many requests per second across all copies.
    pub rate: Option<f64>,
    /// Copies replayed at once (each copy is strictly ordered).
    pub concurrency: usize,
    /// How many copies of the creating part to replay (1: the recording once).
    pub scale: usize,
    /// Leave what the replay created on the target.
    pub keep: bool,
    /// Prefix of every name the replay sets, e.g. `scimreplay-1a2b3c4d-`.
    pub prefix: String,
    /// Set (by Ctrl-C) to stop sending: the copies stop, the cleanup still runs.
    pub interrupt: Arc<AtomicBool>,
    /// Under [`Pace::Recorded`], the longest pause between two consecutive requests.
    pub max_gap: Duration,
}

/// A fresh name prefix, `scimreplay-<random8>-`.
pub fn fresh_prefix() -> String {
    crate::simulate::fresh_prefix().replacen("scimsim-", "scimreplay-", 1)
}

/// What happened to one exchange of one copy.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The exchange's line number in the recording.
    pub exchange: usize,
    /// The copy (0 unless `--scale`).
    pub copy: usize,
    /// HTTP method.
    pub method: String,
    /// The path as recorded.
    pub path: String,
    /// The path and query actually sent, below the target's base URL (ids mapped, names
    /// prefixed); none when nothing was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    /// The recorded status.
    pub recorded: u16,
    /// The status the target answered (none when skipped or not answered).
    pub replayed: Option<u16>,
    /// `match`, `mismatch`, `skipped` or `error`.
    pub result: &'static str,
    /// Why it was skipped, or the transport error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The replay's report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The target's base URL.
    pub target: String,
    /// Name prefix used.
    pub prefix: String,
    /// Exchanges in the recording.
    pub exchanges: usize,
    /// Copies replayed.
    pub copies: usize,
    /// Every outcome, by copy then recording order.
    pub outcomes: Vec<Outcome>,
    /// Counts by result.
    pub counts: BTreeMap<&'static str, usize>,
    /// Recorded ids mapped to target ids (copy 0).
    pub mapped_ids: BTreeMap<String, String>,
    /// Users and groups the replay created.
    pub created: usize,
    /// Of those, how many it deleted at the end (or during the replay).
    pub deleted: usize,
    /// What the cleanup could not delete (`Users/<id>: status 500`).
    pub cleanup_failures: Vec<String>,
    /// Creates the target answered 2xx without an id that a lookup by name could not
    /// find either (`Users scimreplay-...-user1 (line 2)`): left on the target.
    pub untracked: Vec<String>,
    /// Whole replay, in seconds.
    pub seconds: f64,
    /// No request got an answer: the target was not reachable.
    pub unreachable: bool,
    /// The replay was interrupted before the end (the cleanup ran).
    pub interrupted: bool,
}

impl Report {
    /// True when every sent request got the recorded status (skips allowed).
    pub fn matched(&self) -> bool {
        self.count("mismatch") == 0 && self.count("error") == 0 && self.untracked.is_empty()
    }

    fn count(&self, result: &str) -> usize {
        self.counts.get(result).copied().unwrap_or(0)
    }

    /// The people's view: copy 0 line by line, other copies only where they differ.
    pub fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for o in &self.outcomes {
            if o.copy > 0 && o.result == "match" {
                continue;
            }
            let replayed = o.replayed.map_or("-".into(), |s| s.to_string());
            // The path sent, and the recorded one when they differ beyond the base path.
            let path = match &o.sent {
                Some(sent) if !o.path.ends_with(sent.as_str()) => {
                    format!("{sent} (recorded {})", o.path)
                }
                Some(sent) => sent.clone(),
                None => o.path.clone(),
            };
            let tail = match (o.result, &o.reason) {
                ("match", _) => "ok".to_owned(),
                ("mismatch", _) => "MISMATCH".to_owned(),
                (result, Some(reason)) => format!("{result}: {reason}"),
                (result, None) => result.to_owned(),
            };
            writeln!(
                out,
                "#{:<4} copy {:<3} {:<6} {:<48} recorded {} replayed {:<3} {tail}",
                o.exchange, o.copy, o.method, path, o.recorded, replayed
            )?;
        }
        writeln!(
            out,
            "{} exchanges x {} copies against {} in {:.1}s: {} matched, {} mismatched, {} skipped, {} errors",
            self.exchanges,
            self.copies,
            self.target,
            self.seconds,
            self.count("match"),
            self.count("mismatch"),
            self.count("skipped"),
            self.count("error"),
        )?;
        writeln!(
            out,
            "created {} users and groups, deleted {}",
            self.created, self.deleted
        )?;
        if !self.cleanup_failures.is_empty() {
            writeln!(
                out,
                "LEFT ON THE TARGET ({} the cleanup could not delete; remove them by hand):",
                self.cleanup_failures.len()
            )?;
        }
        for failure in &self.cleanup_failures {
            writeln!(out, "  could not delete {failure}")?;
        }
        for what in &self.untracked {
            writeln!(
                out,
                "created but not tracked: {what} (the target gave no id and a lookup by name \
                 found none; remove it by hand)"
            )?;
        }
        let verdict = if self.interrupted {
            "INTERRUPTED"
        } else if self.unreachable {
            "UNREACHABLE"
        } else if self.matched() {
            "MATCHED"
        } else {
            "MISMATCHED"
        };
        writeln!(out, "{verdict}")
    }
}

/// What the recording says about ids and names, worked out before anything is sent.
#[derive(Debug, Default)]
pub struct Plan {
    /// Ids the recorded server minted in answer to a create, with their kind.
    pub created: HashMap<String, Kind>,
    /// The line of the create that minted each of those ids.
    pub created_on: HashMap<String, usize>,
    /// Ids that appear in recorded answers but were not created during the recording.
    pub foreign: HashSet<String>,
    /// Names set by recorded bodies (`userName`, `externalId`, `displayName`).
    pub names: HashSet<String>,
}

impl Plan {
    /// Reads the recording.
    pub fn of(exchanges: &[Exchange]) -> Plan {
        let mut plan = Plan::default();
        for x in exchanges {
            let target = x.target();
            if x.method == "POST" && (200..300).contains(&x.status) {
                if let Some(kind) = target.collection() {
                    if let Some(id) = x.minted_id() {
                        plan.created_on.insert(id.clone(), x.line);
                        plan.created.insert(id, kind);
                    }
                }
            }
            if matches!(x.method.as_str(), "POST" | "PUT" | "PATCH") {
                names_in(&x.body, &mut plan.names);
            }
        }
        for x in exchanges {
            collect_ids(&x.response, &mut plan.foreign);
        }
        plan.foreign.retain(|id| !plan.created.contains_key(id));
        plan
    }

    /// True when the exchange must run in every copy (it creates, or names something the
    /// copies rename or re-map); discovery and unrelated reads run in copy 0 only.
    fn per_copy(&self, x: &Exchange) -> bool {
        let target = x.target();
        if x.method == "POST" && target.collection().is_some() {
            return true;
        }
        if target
            .resource()
            .is_some_and(|(_, id)| self.created.contains_key(id))
        {
            return true;
        }
        let text = format!("{} {}", x.path, x.body);
        self.created.keys().any(|id| text.contains(id.as_str()))
            || self.names.iter().any(|n| text.contains(n.as_str()))
    }
}

/// The attributes whose values the replay prefixes.
const NAME_ATTRIBUTES: [&str; 3] = ["userName", "externalId", "displayName"];

fn is_name_attribute(attr: &str) -> bool {
    let attr = attr.rsplit([':', '.']).next().unwrap_or(attr);
    NAME_ATTRIBUTES.iter().any(|n| n.eq_ignore_ascii_case(attr))
}

/// The names a body sets: `userName`, `externalId`, `displayName` at the top, in a
/// PATCH operation's path-less value, or as the value of an operation on that path.
fn names_in(body: &Value, out: &mut HashSet<String>) {
    const NAMES: [&str; 3] = ["userName", "externalId", "displayName"];
    let mut add = |v: Option<&Value>| {
        if let Some(name) = v.and_then(Value::as_str).filter(|n| !n.is_empty()) {
            out.insert(name.to_owned());
        }
    };
    for key in NAMES {
        add(body.get(key));
    }
    for op in body
        .get("Operations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        if NAMES.iter().any(|n| n.eq_ignore_ascii_case(path)) {
            add(op.get("value"));
        }
        for key in NAMES {
            add(op.get("value").and_then(|v| v.get(key)));
        }
    }
}

/// Every `id` member (at any depth) of a response body.
fn collect_ids(value: &Value, out: &mut HashSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == "id" => {
                        out.insert(s.clone());
                    }
                    _ => collect_ids(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

/// The values a body refers to as resource ids: `members[].value`, `manager` (a string or
/// `.value`), and the values of PATCH operations on `members` or `manager`.
pub(crate) fn references(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    refs_in(body, &mut out);
    if let Some(ops) = body.get("Operations").and_then(Value::as_array) {
        for op in ops {
            let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
            let (attr, _) = path_attr(path);
            if attr.eq_ignore_ascii_case("members") || attr.eq_ignore_ascii_case("manager") {
                // `members[value eq "..."]` names a member too.
                let options = scim_parser::ParseOptions::interop();
                if let Ok(Some(f)) =
                    scim_parser::parse_patch_path_with(path, &options).map(|p| p.filter)
                {
                    filter_ids(&f, &mut out);
                }
                match op.get("value") {
                    Some(Value::String(s)) => out.push(s.clone()),
                    Some(Value::Array(items)) => out.extend(
                        items
                            .iter()
                            .filter_map(|i| i.get("value").and_then(Value::as_str))
                            .map(str::to_owned),
                    ),
                    Some(Value::Object(o)) => {
                        out.extend(o.get("value").and_then(Value::as_str).map(str::to_owned))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The attribute a PATCH path names and its sub-attribute: `members[value eq "x"]` ->
/// `members`, `urn:...:enterprise:2.0:User:manager` -> `manager`, `name.givenName` ->
/// `name`, `givenName`. A path the parser rejects is cut at `[` and its last `:` segment.
pub(crate) fn path_attr(path: &str) -> (String, Option<String>) {
    if let Ok(p) = scim_parser::parse_patch_path_with(path, &scim_parser::ParseOptions::interop()) {
        return (p.attr.name, p.sub_attr.or(p.attr.sub_attr));
    }
    let head = path.split('[').next().unwrap_or_default();
    let last = head.rsplit(':').next().unwrap_or(head);
    match last.split_once('.') {
        Some((attr, sub)) => (attr.to_owned(), Some(sub.to_owned())),
        None => (last.to_owned(), None),
    }
}

/// The string literals compared with `value` or `id` in a value filter.
fn filter_ids(f: &scim_parser::Filter, out: &mut Vec<String>) {
    use scim_parser::{FilterKind, LiteralValue};
    match &f.kind {
        FilterKind::Compare { path, value, .. } => {
            let named =
                path.name.eq_ignore_ascii_case("value") || path.name.eq_ignore_ascii_case("id");
            if let (true, LiteralValue::String(s)) = (named, &value.value) {
                out.push(s.clone());
            }
        }
        FilterKind::And(items) | FilterKind::Or(items) => {
            items.iter().for_each(|i| filter_ids(i, out))
        }
        FilterKind::Not(inner) => filter_ids(inner, out),
        FilterKind::Present { .. } | FilterKind::ValuePath { .. } => {}
    }
}

fn refs_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let last = k.rsplit([':', '.']).next().unwrap_or(k);
                if last.eq_ignore_ascii_case("members") {
                    if let Value::Array(items) = v {
                        out.extend(
                            items
                                .iter()
                                .filter_map(|i| i.get("value").and_then(Value::as_str))
                                .map(str::to_owned),
                        );
                        continue;
                    }
                }
                if last.eq_ignore_ascii_case("manager") {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Object(o) => {
                            out.extend(o.get("value").and_then(Value::as_str).map(str::to_owned))
                        }
                        _ => {}
                    }
                    continue;
                }
                refs_in(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// One copy's mappings: recorded id -> target id, recorded name -> prefixed name.
#[derive(Debug, Default)]
struct Mapping {
    ids: HashMap<String, String>,
    names: HashMap<String, String>,
    /// Why a recorded create did not give a mapped id, by the line of the create.
    unmapped: HashMap<usize, String>,
}

impl Mapping {
    fn new(plan: &Plan, prefix: &str) -> Mapping {
        Mapping {
            ids: HashMap::new(),
            unmapped: HashMap::new(),
            names: plan
                .names
                .iter()
                .map(|n| (n.clone(), format!("{prefix}{n}")))
                .collect(),
        }
    }

    /// Why recorded id `id` (minted by a create of the recording) has no new id here.
    fn why_unmapped(&self, plan: &Plan, id: &str) -> String {
        let Some(line) = plan.created_on.get(id) else {
            return format!("{id} was created in the recording, but not mapped");
        };
        match self.unmapped.get(line) {
            Some(why) => format!("its create (line {line}) {why}"),
            None => format!(
                "its create (line {line}) comes later in the recording (or was not reached)"
            ),
        }
    }

    /// A recorded id's new id, if the replay created it.
    fn id(&self, s: &str) -> Option<String> {
        self.ids.get(s).cloned()
    }

    /// A string with recorded names replaced (never ids: an id is replaced only where it
    /// names a resource, see [`Mapping::json`] and [`Mapping::filter`]): a whole-string
    /// match, else each double-quoted occurrence.
    fn name_text(&self, s: &str) -> String {
        if let Some(v) = self.names.get(s) {
            return v.clone();
        }
        let mut out = s.to_owned();
        for (from, to) in &self.names {
            let quoted = format!("\"{from}\"");
            if out.contains(&quoted) {
                out = out.replace(&quoted, &format!("\"{to}\""));
            }
        }
        out
    }

    /// A filter with its literals rewritten: an id compared with `id`, `value`,
    /// `members.value` or `manager.value` (also inside `members[...]`) becomes the new id;
    /// a recorded name compared with anything gets the prefix. Everything else is kept as
    /// written. A filter the parser rejects gets the names only.
    fn filter(&self, filter: &str) -> String {
        let options = scim_parser::ParseOptions::interop();
        let Ok(parsed) = scim_parser::parse_filter_with(filter, &options) else {
            return self.name_text(filter);
        };
        let mut edits = Vec::new();
        self.filter_edits(&parsed, None, &mut edits);
        edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        let mut out = filter.to_owned();
        for (span, with) in edits {
            out.replace_range(span.start..span.end, &with);
        }
        out
    }

    fn filter_edits(
        &self,
        f: &scim_parser::Filter,
        outer: Option<&str>,
        edits: &mut Vec<(scim_parser::Span, String)>,
    ) {
        use scim_parser::{FilterKind, LiteralValue};
        match &f.kind {
            FilterKind::Compare { path, value, .. } => {
                let LiteralValue::String(literal) = &value.value else {
                    return;
                };
                let attr = path.name.to_ascii_lowercase();
                let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
                let names_resource = match (outer, attr.as_str(), sub.as_deref()) {
                    (None, "id" | "value", None) => true,
                    (None, "members" | "manager", Some("value")) => true,
                    (Some(o), "value", None) => {
                        o.eq_ignore_ascii_case("members") || o.eq_ignore_ascii_case("manager")
                    }
                    _ => false,
                };
                let new = if names_resource {
                    self.id(literal)
                } else {
                    None
                }
                .or_else(|| {
                    // A name is prefixed where it is compared as a name, not as a title.
                    let named = outer.is_none() && sub.is_none() && is_name_attribute(&attr);
                    named.then(|| self.names.get(literal).cloned()).flatten()
                });
                if let Some(new) = new {
                    edits.push((value.span, Value::String(new).to_string()));
                }
            }
            FilterKind::Present { .. } => {}
            FilterKind::And(items) | FilterKind::Or(items) => items
                .iter()
                .for_each(|i| self.filter_edits(i, outer, edits)),
            FilterKind::Not(inner) => self.filter_edits(inner, outer, edits),
            FilterKind::ValuePath { path, filter } => {
                self.filter_edits(filter, Some(&path.name), edits)
            }
        }
    }

    /// A PATCH path with the ids in its value filter rewritten (`members[value eq "r-1"]`).
    fn patch_path(&self, path: &str) -> String {
        match (path.find('['), path.rfind(']')) {
            (Some(open), Some(close)) if open < close => {
                let attr = path[..open].rsplit(':').next().unwrap_or_default();
                let inner = format!("{attr}[{}]", &path[open + 1..close]);
                let rewritten = self.filter(&inner);
                match rewritten
                    .strip_prefix(attr)
                    .and_then(|r| r.strip_prefix('['))
                    .and_then(|r| r.strip_suffix(']'))
                {
                    Some(inside) => format!("{}{inside}{}", &path[..=open], &path[close..]),
                    None => path.to_owned(),
                }
            }
            _ => self.name_text(path),
        }
    }

    /// A reference value (`members[].value`, a manager): the new id when mapped.
    fn reference(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.id(s).unwrap_or_else(|| s.clone())),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) if k == "value" => {
                                Value::String(self.id(s).unwrap_or_else(|| s.clone()))
                            }
                            other => self.json(other, false),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.reference(i)).collect()),
            other => other.clone(),
        }
    }

    /// A request body with ids replaced where they name a resource (`members[].value`, a
    /// manager as `{"value": ..}` or a bare string, the values and path filters of PATCH
    /// operations on `members` or `manager`, `id` at the top of a PUT body when `top_id`,
    /// a `.search` body's `filter`) and names replaced as strings everywhere else.
    fn json(&self, value: &Value, top_id: bool) -> Value {
        match value {
            Value::String(s) => Value::String(s.clone()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.json(v, false)).collect())
            }
            Value::Object(map) => {
                if map.contains_key("op") {
                    return self.operation(map);
                }
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let last = k.rsplit([':', '.']).next().unwrap_or(k);
                    let names_resource = last.eq_ignore_ascii_case("members")
                        || last.eq_ignore_ascii_case("manager")
                        || (k == "id" && top_id);
                    let v = if names_resource {
                        self.reference(v)
                    } else if let (true, Value::String(name)) = (is_name_attribute(k), v) {
                        Value::String(
                            self.names
                                .get(name)
                                .cloned()
                                .unwrap_or_else(|| name.clone()),
                        )
                    } else if k == "filter" && v.is_string() {
                        Value::String(self.filter(v.as_str().unwrap_or_default()))
                    } else {
                        self.json(v, false)
                    };
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// One PATCH operation: its path's filter and, for `members` or `manager`, its value.
    fn operation(&self, op: &serde_json::Map<String, Value>) -> Value {
        let path = op.get("path").and_then(Value::as_str);
        let attr = path.map(|p| path_attr(p).0);
        let refers = attr.as_deref().is_some_and(|a| {
            a.eq_ignore_ascii_case("members") || a.eq_ignore_ascii_case("manager")
        });
        let names = path.is_some_and(|p| !p.contains('[') && is_name_attribute(p));
        let mut out = serde_json::Map::new();
        for (k, v) in op {
            let v = match (k.as_str(), v) {
                ("path", Value::String(p)) => Value::String(self.patch_path(p)),
                ("value", v) if refers => self.reference(v),
                ("value", Value::String(name)) if names => Value::String(
                    self.names
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| name.clone()),
                ),
                (_, v) => self.json(v, false),
            };
            out.insert(k.clone(), v);
        }
        Value::Object(out)
    }
}

/// The request to send for `x` under `mapping`, or why it is skipped.
fn prepare(plan: &Plan, mapping: &Mapping, x: &Exchange) -> Result<Request, String> {
    if x.refused {
        return Err(
            "the recorder refused it (body over its --max-body, answered 413); its body was \
             not recorded"
                .into(),
        );
    }
    if !x.answered {
        return Err(format!(
            "the recorded server never answered it (the recorder's {})",
            x.status
        ));
    }
    let target = x.target();
    let write = matches!(x.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
    let segments = target.segments();
    let search = segments.last().is_some_and(|s| *s == ".search");
    let create = x.method == "POST" && target.collection().is_some();
    let mut path = String::new();
    match target.resource() {
        Some((kind, id)) => {
            let Some(new) = mapping.ids.get(id) else {
                return Err(if plan.created.contains_key(id) {
                    format!(
                        "{id} has no id on the target: {}",
                        mapping.why_unmapped(plan, id)
                    )
                } else {
                    format!(
                        "addresses {}/{id}, which the recording did not create (it existed before)",
                        kind.endpoint()
                    )
                });
            };
            path = format!("/{}/{}", kind.endpoint(), encode_segment(new));
        }
        None => {
            if write && !create && !(x.method == "POST" && search) {
                return Err(format!(
                    "a {} to {} is not replayed: only creates, searches and writes to mapped \
                     users and groups are",
                    x.method, target.rel
                ));
            }
            // Only `/Users/{id}` and `/Groups/{id}` name a resource; other segments are
            // sent as recorded (an id `Users` must not redirect a create).
            for segment in &segments {
                path.push('/');
                path.push_str(&encode_segment(segment));
            }
        }
    }
    if write {
        for reference in references(&x.body) {
            if mapping.ids.contains_key(&reference) {
                continue;
            }
            return Err(if plan.created.contains_key(&reference) {
                format!(
                    "refers to {reference}, which has no id on the target: {}",
                    mapping.why_unmapped(plan, &reference)
                )
            } else {
                format!("refers to {reference}, which the recording did not create")
            });
        }
    }
    let method = reqwest::Method::from_bytes(x.method.as_bytes())
        .map_err(|_| format!("bad method `{}`", x.method))?;
    let mut request = Request::new(method, if path.is_empty() { "/".into() } else { path });
    // A masked credential is never sent as if it were real: the parameter is dropped.
    request.query = target
        .query
        .iter()
        .filter(|(_, v)| v != crate::record::MASK)
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("filter") {
                (k.clone(), mapping.filter(v))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    for name in ["content-type", "accept"] {
        if let Some(v) = x.header(name) {
            request.headers.push((name.to_owned(), v.to_owned()));
        }
    }
    if !x.body.is_null() {
        let body = crate::record::strip_masked(&x.body)?;
        request.body = Some(mapping.json(&body, x.method == "PUT").to_string());
    }
    Ok(request)
}

/// The path and query of `request` as the report shows it (decoded, like recorded paths).
fn sent_path(request: &Request) -> String {
    let mut out = request.path.clone();
    for (i, (k, v)) in request.query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&format!("{k}={v}"));
    }
    out
}

/// A shared pacer for `rate` requests per second.
struct Limiter {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<Instant>,
}

impl Limiter {
    async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

struct Shared {
    client: Client,
    plan: Plan,
    options: Options,
    limiter: Limiter,
    /// Set once any request got an answer.
    answered: AtomicBool,
    /// Set when the first request could not connect: the copies stop.
    unreachable: AtomicBool,
    /// Everything created, for the cleanup: (kind, target id, deleted already).
    created: Mutex<Vec<(Kind, String, bool)>>,
    /// Creates the target accepted whose id could not be found (left on the target).
    untracked: Mutex<Vec<String>>,
}

/// Replays `exchanges` through `client`; the report says what matched.
pub async fn replay(client: Client, exchanges: Vec<Exchange>, options: Options) -> Report {
    let started = Instant::now();
    let plan = Plan::of(&exchanges);
    let copies = options.scale.max(1);
    let shared = Arc::new(Shared {
        limiter: Limiter {
            interval: options
                .rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next: tokio::sync::Mutex::new(Instant::now()),
        },
        client,
        plan,
        options,
        answered: AtomicBool::new(false),
        unreachable: AtomicBool::new(false),
        created: Mutex::new(Vec::new()),
        untracked: Mutex::new(Vec::new()),
    });
    let exchanges = Arc::new(exchanges);
    let permits = Arc::new(tokio::sync::Semaphore::new(
        shared.options.concurrency.max(1),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for copy in 0..copies {
        let shared = Arc::clone(&shared);
        let exchanges = Arc::clone(&exchanges);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.ok();
            let (outcomes, ids) = replay_copy(&shared, &exchanges, copy).await;
            (copy, outcomes, ids)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(e) => tracing::error!("a replay copy stopped: {e}"),
        }
    }
    results.sort_by_key(|(copy, _, _)| *copy);
    let (deleted, cleanup_failures) = if shared.options.keep {
        (0, Vec::new())
    } else {
        cleanup(&shared).await
    };
    let created = shared.created.lock().map_or(0, |c| c.len());
    let mut outcomes = Vec::new();
    let mut mapped_ids = BTreeMap::new();
    for (copy, o, ids) in results {
        if copy == 0 {
            mapped_ids = ids.into_iter().collect();
        }
        outcomes.extend(o);
    }
    let mut counts = BTreeMap::new();
    for o in &outcomes {
        *counts.entry(o.result).or_default() += 1;
    }
    Report {
        target: crate::client::without_userinfo(shared.client.base()),
        prefix: shared.options.prefix.clone(),
        exchanges: exchanges.len(),
        copies,
        outcomes,
        counts,
        mapped_ids,
        created,
        deleted,
        cleanup_failures,
        untracked: shared
            .untracked
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default(),
        seconds: started.elapsed().as_secs_f64(),
        unreachable: shared.unreachable.load(Ordering::Relaxed)
            && !shared.answered.load(Ordering::Relaxed),
        interrupted: shared.options.interrupt.load(Ordering::Relaxed),
    }
}

async fn replay_copy(
    shared: &Shared,
    exchanges: &[Exchange],
    copy: usize,
) -> (Vec<Outcome>, HashMap<String, String>) {
    let prefix = if shared.options.scale > 1 {
        format!("{}c{copy}-", shared.options.prefix)
    } else {
        shared.options.prefix.clone()
    };
    let mut mapping = Mapping::new(&shared.plan, &prefix);
    let mut outcomes = Vec::new();
    let start = Instant::now();
    // The recorded offset of each exchange from the first, with every gap between
    // consecutive lines capped at `max_gap` (a line earlier than the one before adds none).
    let mut offset = Duration::ZERO;
    let mut previous_at = exchanges.first().map_or(0, |x| x.at_ms);
    for x in exchanges {
        let gap = Duration::from_millis(x.at_ms.saturating_sub(previous_at));
        offset += gap.min(shared.options.max_gap);
        previous_at = previous_at.max(x.at_ms);
        if copy > 0 && !shared.plan.per_copy(x) {
            continue;
        }
        let unreachable =
            shared.unreachable.load(Ordering::Relaxed) && !shared.answered.load(Ordering::Relaxed);
        if unreachable || shared.options.interrupt.load(Ordering::Relaxed) {
            break;
        }
        let mut outcome = Outcome {
            exchange: x.line,
            copy,
            method: x.method.clone(),
            path: x.path.clone(),
            sent: None,
            recorded: x.status,
            replayed: None,
            result: "skipped",
            reason: None,
        };
        let request = match prepare(&shared.plan, &mapping, x) {
            Ok(r) => {
                outcome.sent = Some(sent_path(&r));
                r
            }
            Err(reason) => {
                mapping
                    .unmapped
                    .insert(x.line, format!("was skipped: {reason}"));
                outcome.reason = Some(reason);
                outcomes.push(outcome);
                continue;
            }
        };
        if shared.options.pace == Pace::Recorded {
            let due = start + offset;
            // In slices, so that Ctrl-C during a long recorded pause stops the copy.
            while Instant::now() < due && !shared.options.interrupt.load(Ordering::Relaxed) {
                let slice = due.saturating_duration_since(Instant::now());
                tokio::time::sleep(slice.min(Duration::from_millis(50))).await;
            }
            if shared.options.interrupt.load(Ordering::Relaxed) {
                break;
            }
        }
        shared.limiter.wait().await;
        let sent = match shared.client.send_patiently(&request, &mut |_| {}).await {
            Ok(sent) => sent,
            Err(limited) => {
                shared.answered.store(true, Ordering::Relaxed);
                outcome.replayed = Some(429);
                outcome.result = "error";
                outcome.reason = Some(format!("rate-limited, not judged: {limited}"));
                mapping
                    .unmapped
                    .insert(x.line, "was rate-limited by the target (429)".into());
                outcomes.push(outcome);
                continue;
            }
        };
        match sent {
            Ok(reply) => {
                shared.answered.store(true, Ordering::Relaxed);
                outcome.replayed = Some(reply.status);
                outcome.result = if reply.status == x.status {
                    "match"
                } else {
                    "mismatch"
                };
                if !(200..300).contains(&reply.status) {
                    mapping.unmapped.insert(
                        x.line,
                        format!("failed on the target (status {})", reply.status),
                    );
                }
                if let Some(kind) = track(shared, &mut mapping, x, &reply) {
                    find_created(shared, &mut mapping, x, kind, &request).await;
                    if !mapping.ids.contains_key(&x.minted_id().unwrap_or_default()) {
                        mapping.unmapped.insert(
                            x.line,
                            "was accepted, but the target gave no id and a lookup found none"
                                .into(),
                        );
                    }
                }
            }
            Err(e) => {
                if matches!(e, TransportError::Connect(_))
                    && !shared.answered.load(Ordering::Relaxed)
                {
                    shared.unreachable.store(true, Ordering::Relaxed);
                }
                outcome.result = "error";
                outcome.reason = Some(e.to_string());
                mapping
                    .unmapped
                    .insert(x.line, format!("got no answer from the target ({e})"));
            }
        }
        outcomes.push(outcome);
    }
    (outcomes, mapping.ids)
}

/// Keeps the id map and the cleanup list current after an answer. Returns the kind of a
/// create the target accepted without saying its id (no body `id`, no `Location`).
fn track(
    shared: &Shared,
    mapping: &mut Mapping,
    x: &Exchange,
    reply: &crate::client::Reply,
) -> Option<Kind> {
    let target = x.target();
    let ok = (200..300).contains(&reply.status);
    if x.method == "POST" && ok {
        if let Some(kind) = target.collection() {
            let body = serde_json::from_str::<Value>(&reply.body).unwrap_or(Value::Null);
            match minted_id(&body, reply.header("location")) {
                Some(new) => remember(shared, mapping, x, kind, new),
                None => return Some(kind),
            }
        }
    }
    if x.method == "DELETE" && ok {
        if let Some((_, old)) = target.resource() {
            if let Some(new) = mapping.ids.get(old) {
                if let Ok(mut created) = shared.created.lock() {
                    for entry in created.iter_mut().filter(|e| &e.1 == new) {
                        entry.2 = true;
                    }
                }
            }
        }
    }
    None
}

/// Maps the recorded id to `new` and puts `new` on the cleanup list.
fn remember(shared: &Shared, mapping: &mut Mapping, x: &Exchange, kind: Kind, new: String) {
    if let Some(old) = x.minted_id() {
        mapping.ids.insert(old, new.clone());
    }
    if let Ok(mut created) = shared.created.lock() {
        created.push((kind, new, false));
    }
}

/// A create answered 2xx without an id: looks the resource up by the (prefixed)
/// `userName` or `displayName` it was sent with. Found once, it is mapped and cleaned up
/// like any other; otherwise it is reported as created but not tracked.
async fn find_created(
    shared: &Shared,
    mapping: &mut Mapping,
    x: &Exchange,
    kind: Kind,
    request: &Request,
) {
    let sent: Value = request
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let attr = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    let Some(name) = sent.get(attr).and_then(Value::as_str).map(str::to_owned) else {
        untracked(
            shared,
            format!("{} (line {}, no {attr} sent)", kind.endpoint(), x.line),
        );
        return;
    };
    let mut lookup = Request::new(reqwest::Method::GET, format!("/{}", kind.endpoint()));
    lookup.query = vec![(
        "filter".into(),
        format!("{attr} eq {}", Value::String(name.clone())),
    )];
    shared.limiter.wait().await;
    let found = match shared.client.send_patiently(&lookup, &mut |_| {}).await {
        Ok(Ok(reply)) if reply.status == 200 => serde_json::from_str::<Value>(&reply.body)
            .ok()
            .and_then(|b| match b["Resources"].as_array().map(Vec::as_slice) {
                Some([only]) => only["id"].as_str().map(str::to_owned),
                _ => None,
            }),
        _ => None,
    };
    match found {
        Some(id) => remember(shared, mapping, x, kind, id),
        None => untracked(
            shared,
            format!("{} {name} (line {})", kind.endpoint(), x.line),
        ),
    }
}

fn untracked(shared: &Shared, what: String) {
    tracing::error!("created but not tracked: {what}");
    if let Ok(mut list) = shared.untracked.lock() {
        list.push(what);
    }
}

/// Deletes what the replay created and did not delete itself: groups first, then users.
async fn cleanup(shared: &Shared) -> (usize, Vec<String>) {
    let mut todo: Vec<(Kind, String, bool)> =
        shared.created.lock().map(|c| c.clone()).unwrap_or_default();
    let mut deleted = todo.iter().filter(|e| e.2).count();
    todo.retain(|e| !e.2);
    todo.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut failures = Vec::new();
    for (kind, id, _) in todo {
        match delete(shared, kind, &id).await {
            Ok(()) => deleted += 1,
            Err(why) => failures.push(format!("{}/{id}: {why}", kind.endpoint())),
        }
    }
    (deleted, failures)
}

/// Attempts at one cleanup DELETE answered 5xx or not at all, and the first pause between
/// them (doubled each time); 429 answers are waited out by the client within
/// `--retry-wait` on every attempt.
const CLEANUP_ATTEMPTS: u32 = 4;
const CLEANUP_BACKOFF: Duration = Duration::from_millis(250);

/// Deletes one resource the replay created, retrying a 429 (Retry-After or back-off,
/// within `--retry-wait`), a 5xx and a transport error with back-off; 404 counts as gone.
async fn delete(shared: &Shared, kind: Kind, id: &str) -> Result<(), String> {
    let request = Request::new(
        reqwest::Method::DELETE,
        format!("/{}/{}", kind.endpoint(), encode_segment(id)),
    );
    let mut pause = CLEANUP_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=CLEANUP_ATTEMPTS {
        shared.limiter.wait().await;
        match shared.client.send_patiently(&request, &mut |_| {}).await {
            Ok(Ok(reply)) if (200..300).contains(&reply.status) || reply.status == 404 => {
                return Ok(())
            }
            Ok(Ok(reply)) if reply.status >= 500 => {
                last = format!("status {} after {attempt} attempts", reply.status)
            }
            Ok(Ok(reply)) => return Err(format!("status {}", reply.status)),
            Ok(Err(e)) => last = format!("{e} after {attempt} attempts"),
            Err(limited) => return Err(limited.to_string()),
        }
        if attempt < CLEANUP_ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    Err(last)
}

/// The report as JSON.
pub fn to_json(report: &Report) -> Value {
    json!({"version": 1, "matched": report.matched(), "report": report})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::parse;

    const RECORDING: &str = r#"{"at_ms":0,"request":{"method":"GET","path":"/scim/v2/Users?filter=userName eq \"user1\"","headers":{},"body":null},"response":{"status":200,"headers":{},"body":{"totalResults":0}}}
{"at_ms":5,"request":{"method":"POST","path":"/scim/v2/Users","headers":{"content-type":"application/scim+json"},"body":{"userName":"user1","externalId":"e1"}},"response":{"status":201,"headers":{},"body":{"id":"r-1","userName":"user1"}}}
{"at_ms":9,"request":{"method":"PATCH","path":"/scim/v2/Groups/r-g","headers":{},"body":{"Operations":[{"op":"add","path":"members","value":[{"value":"r-1"}]}]}},"response":{"status":204,"headers":{},"body":null}}
{"at_ms":9,"request":{"method":"GET","path":"/scim/v2/Groups","headers":{},"body":null},"response":{"status":200,"headers":{},"body":{"Resources":[{"id":"r-g"}]}}}"#;

    #[test]
    fn ids_and_names_are_mapped_and_foreign_ids_skipped() {
        let xs = parse(RECORDING).expect("recording");
        let plan = Plan::of(&xs);
        assert_eq!(plan.created.get("r-1"), Some(&Kind::User));
        assert!(plan.foreign.contains("r-g"));
        let mut mapping = Mapping::new(&plan, "p-");
        let lookup = prepare(&plan, &mapping, &xs[0]).expect("sent");
        assert_eq!(lookup.path, "/Users");
        assert_eq!(lookup.query[0].1, "userName eq \"p-user1\"");
        let create = prepare(&plan, &mapping, &xs[1]).expect("sent");
        assert!(create.body.as_deref().unwrap_or("").contains("\"p-user1\""));
        mapping.ids.insert("r-1".into(), "new 1".into());
        let skipped = prepare(&plan, &mapping, &xs[2]).expect_err("foreign group");
        assert!(skipped.contains("did not create"), "{skipped}");
        assert!(plan.per_copy(&xs[1]) && plan.per_copy(&xs[0]) && !plan.per_copy(&xs[3]));
        // A PATCH on the mapped user reaches its new id, encoded.
        let mut patch = xs[2].clone();
        patch.path = "/scim/v2/Users/r-1".into();
        let sent = prepare(&plan, &mapping, &patch).expect("sent");
        assert_eq!(sent.path, "/Users/new%201");
        assert!(sent.body.as_deref().unwrap_or("").contains("new 1"));
    }

    /// Ids `1`, `2` and `Users` (servers with short numeric ids, or odd ones) are replaced
    /// only where they name a resource, never as text elsewhere.
    #[test]
    fn ids_are_replaced_only_where_they_name_a_resource() {
        let line = |method: &str, path: &str, body: Value| {
            json!({"at_ms": 0, "request": {"method": method, "path": path, "headers": {},
                "body": body}, "response": {"status": 200, "headers": {}, "body": null}})
            .to_string()
        };
        let create = |id: &str| {
            json!({"at_ms": 0, "request": {"method": "POST", "path": "/v2/Users", "headers": {},
                "body": {"userName": format!("u{id}")}},
                "response": {"status": 201, "headers": {}, "body": {"id": id}}})
            .to_string()
        };
        let text = [
            create("1"),
            create("2"),
            create("Users"),
            line("GET", "/v2/Users?startIndex=1&count=2", Value::Null),
            line(
                "PATCH",
                "/v2/Users/1",
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "2"},
                        {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "2"},
                        {"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "2"}, "nickName": "1"}}]}),
            ),
            line(
                "PATCH",
                "/v2/Groups/1",
                json!({"Operations": [
                    {"op": "remove", "path": "members[value eq \"2\"]"},
                    {"op": "add", "path": "members", "value": [{"value": "1", "display": "2"}]}]}),
            ),
            line("GET", "/v2/Users?filter=id eq \"1\" and title eq \"2\" or members[value eq \"2\"]", Value::Null),
            line("PUT", "/v2/Users/2", json!({"id": "2", "userName": "u2", "title": "1"})),
            line("POST", "/v2/Users/.search", json!({"filter": "manager.value eq \"1\"", "startIndex": 1})),
            line(
                "PATCH",
                "/v2/Users/1",
                json!({"Operations": [{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "pre-existing"}}]}),
            ),
        ]
        .join("\n");
        let xs = parse(&text).expect("recording");
        let plan = Plan::of(&xs);
        let mut mapping = Mapping::new(&plan, "p-");
        for (old, new) in [("1", "A"), ("2", "B"), ("Users", "U")] {
            mapping.ids.insert(old.into(), new.into());
        }
        let sent = |i: usize| prepare(&plan, &mapping, &xs[i]).expect("sent");
        let body = |i: usize| -> Value {
            serde_json::from_str(sent(i).body.as_deref().expect("body")).expect("json")
        };
        assert_eq!(sent(2).path, "/Users");
        assert_eq!(sent_path(&sent(3)), "/Users?startIndex=1&count=2");
        assert_eq!(sent(4).path, "/Users/A");
        assert_eq!(
            body(4),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "2"},
                    {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "B"},
                    {"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "B"}, "nickName": "1"}}]})
        );
        assert_eq!(
            body(5),
            json!({"Operations": [
                {"op": "remove", "path": "members[value eq \"B\"]"},
                {"op": "add", "path": "members", "value": [{"value": "A", "display": "2"}]}]})
        );
        assert_eq!(
            sent(6).query[0].1,
            "id eq \"A\" and title eq \"2\" or members[value eq \"B\"]"
        );
        assert_eq!(
            body(7),
            json!({"id": "B", "userName": "p-u2", "title": "1"})
        );
        assert_eq!(body(8)["filter"], "manager.value eq \"A\"");
        // A recorded name is prefixed where it is a name, not where it is a title.
        assert_eq!(
            mapping.filter("userName eq \"u1\" and title eq \"u1\""),
            "userName eq \"p-u1\" and title eq \"u1\""
        );
        assert_eq!(
            mapping.json(&json!({"userName": "u1", "title": "u1"}), false),
            json!({"userName": "p-u1", "title": "u1"})
        );
        assert_eq!(
            mapping.json(
                &json!({"Operations": [{"op": "replace", "path": "userName", "value": "u1"},
                    {"op": "replace", "path": "title", "value": "u1"}]}),
                false
            ),
            json!({"Operations": [{"op": "replace", "path": "userName", "value": "p-u1"},
                {"op": "replace", "path": "title", "value": "u1"}]})
        );
        // A manager the recording did not create is never sent (the URN path has a `.`),
        // nor is a removal of a member named only in the path filter.
        let skipped = prepare(&plan, &mapping, &xs[9]).expect_err("unmapped manager");
        assert!(skipped.contains("pre-existing"), "{skipped}");
        let mut remove = xs[5].clone();
        remove.body =
            json!({"Operations": [{"op": "remove", "path": "members[value eq \"old\"]"}]});
        let skipped = prepare(&plan, &mapping, &remove).expect_err("unmapped member");
        assert!(skipped.contains("old"), "{skipped}");
    }

    #[test]
    fn skip_reasons_say_why_a_created_id_is_missing() {
        let xs = parse(RECORDING).expect("recording");
        let plan = Plan::of(&xs);
        let mut mapping = Mapping::new(&plan, "p-");
        let mut early = xs[2].clone();
        early.path = "/scim/v2/Users/r-1".into();
        let later = prepare(&plan, &mapping, &early).expect_err("not created yet");
        assert!(later.contains("line 2) comes later"), "{later}");
        mapping.unmapped.insert(2, "was skipped: x".into());
        let skipped = prepare(&plan, &mapping, &early).expect_err("create skipped");
        assert!(
            skipped.contains("its create (line 2) was skipped"),
            "{skipped}"
        );
        mapping
            .unmapped
            .insert(2, "failed on the target (status 400)".into());
        let failed = prepare(&plan, &mapping, &early).expect_err("create failed");
        assert!(
            failed.contains("failed on the target (status 400)"),
            "{failed}"
        );
    }

    #[test]
    fn masked_credentials_are_never_sent() {
        let text = r#"{"at_ms":0,"request":{"method":"GET","path":"/Users?access_token=REDACTED&count=1","headers":{},"body":null},"response":{"status":200,"headers":{},"body":null}}
{"at_ms":0,"request":{"method":"POST","path":"/Users","headers":{},"body":{"userName":"a","password":"REDACTED"}},"response":{"status":201,"headers":{},"body":{"id":"x"}}}
{"at_ms":0,"request":{"method":"PATCH","path":"/Users/x","headers":{},"body":{"Operations":[{"op":"replace","path":"password","value":"REDACTED"}]}},"response":{"status":204,"headers":{},"body":null}}"#;
        let xs = parse(text).expect("recording");
        let plan = Plan::of(&xs);
        let mut mapping = Mapping::new(&plan, "p-");
        assert_eq!(
            sent_path(&prepare(&plan, &mapping, &xs[0]).expect("sent")),
            "/Users?count=1"
        );
        let create = prepare(&plan, &mapping, &xs[1]).expect("sent");
        assert_eq!(create.body.as_deref(), Some(r#"{"userName":"p-a"}"#));
        mapping.ids.insert("x".into(), "y".into());
        let reason = prepare(&plan, &mapping, &xs[2]).expect_err("only a masked password");
        assert!(reason.contains("masked"), "{reason}");
    }

    #[test]
    fn names_set_by_patches_get_the_prefix_too() {
        let mut names = HashSet::new();
        names_in(
            &json!({"Operations": [
                {"op": "replace", "path": "userName", "value": "renamed1"},
                {"op": "replace", "value": {"displayName": "Name7", "active": false}}]}),
            &mut names,
        );
        let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(want, ["Name7", "renamed1"]);
    }

    #[test]
    fn minted_ids_come_from_the_body_or_location() {
        assert_eq!(minted_id(&json!({"id": "a"}), None).as_deref(), Some("a"));
        let meta = json!({"meta": {"location": "http://h/v2/Users/c"}});
        assert_eq!(minted_id(&meta, None).as_deref(), Some("c"));
        assert_eq!(
            minted_id(&Value::Null, Some("http://h/scim/v2/Users/b")).as_deref(),
            Some("b")
        );
        assert_eq!(minted_id(&Value::Null, None), None);
    }
}
