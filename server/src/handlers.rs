//! The Users and Groups endpoints (RFC 7644 sections 3.3 to 3.6): thin handlers that
//! parse with `scim-parser`, call the store inside one transaction, and shape responses.

use crate::error::{echo, ScimError};
use crate::fault::{Fault, Faults};
use crate::query::Query;
use crate::resource::{self, etag, MemberRef, Projection, Related, LIST_URN};
use crate::routes::{AppState, Tenant, SCIM_JSON};
use crate::sort::Sort;
use crate::store::{self, Kind, Row};
use crate::{clock, lookup, patching, BASE_PATH};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The page size used when a list request gives no `count`.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page a list request gets, advertised as `filter.maxResults`.
pub const MAX_PAGE_SIZE: usize = 500;

/// The delay per membership change under the `member-patch-slow` fault.
const SLOW_MEMBER_CHANGE: std::time::Duration = std::time::Duration::from_millis(20);

/// The IdP dialects the parser detected in a request, for the request log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dialects(pub(crate) Vec<&'static str>);

/// What a handler needs from the request besides its path and body.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) state: AppState,
    pub(crate) tenant: String,
    /// `http://host/scim/v2`, for `meta.location` and `$ref`.
    pub(crate) base: String,
    pub(crate) headers: HeaderMap,
}

impl Ctx {
    pub(crate) fn faults(&self) -> &Faults {
        &self.state.faults
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let tenant = parts
            .extensions
            .get::<Tenant>()
            .map(|t| t.0.clone())
            .ok_or_else(|| ScimError::internal("request reached a handler unauthenticated"))?;
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        Ok(Ctx {
            state: state.clone(),
            tenant,
            base: format!("http://{host}{BASE_PATH}"),
            headers: parts.headers.clone(),
        })
    }
}

/// Reads a JSON request body, accepting `application/scim+json` and `application/json`
/// with any parameters (RFC 7644 section 3.8; Entra adds `charset=utf-8`, bug-51).
pub(crate) fn parse_body(ctx: &Ctx, body: &Bytes) -> Result<Value, ScimError> {
    if let Some(content_type) = ctx.headers.get(header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or("");
        let mut parts = text.split(';');
        let essence = parts.next().unwrap_or("").trim();
        let accepted = ["application/scim+json", "application/json"]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(essence));
        let unsupported = || {
            ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                format!(
                    "request media type `{}` is not application/scim+json or application/json",
                    echo(text)
                ),
            )
        };
        if !accepted {
            return Err(unsupported());
        }
        // FAULT(charset-rejected): a media-type parameter makes the body unreadable.
        if ctx.faults().on(Fault::CharsetRejected) && parts.clone().any(|p| !p.trim().is_empty()) {
            return Err(unsupported());
        }
        // SCIM bodies are UTF-8 (RFC 7644 section 8.1; RFC 7159 section 8.1): a body declared
        // in another charset would be misread, so it is refused instead of decoded as UTF-8.
        // See: fresh-user trial, a `charset=latin1` body was read as UTF-8.
        if let Some(charset) = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches('"'))
        }) {
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!(
                        "request charset `{}` is not supported; SCIM request bodies are UTF-8 \
                         (RFC 7644 section 8.1)",
                        echo(charset)
                    ),
                ));
            }
        }
    }
    if body.is_empty() {
        return Err(ScimError::invalid_syntax("the request body is empty"));
    }
    serde_json::from_slice(body).map_err(|err| {
        ScimError::invalid_syntax(format!(
            "the request body is not valid JSON: {err} (line {}, column {})",
            err.line(),
            err.column()
        ))
    })
}

fn scim_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A single resource, projected, with its `ETag` (and `Location` when created) taken
/// from the full resource.
fn resource_response(status: StatusCode, resource: Value, projection: &Projection) -> Response {
    let version = resource["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok());
    let location = resource["meta"]["location"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok());
    let mut response = scim_response(status, &projection.apply(resource));
    let headers = response.headers_mut();
    if let Some(version) = version {
        headers.insert(header::ETAG, version);
    }
    if let (StatusCode::CREATED, Some(location)) = (status, location) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// The rendered live resource `id`, or `None`.
pub(crate) fn load(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    id: &str,
    base: &str,
    faults: &Faults,
) -> Result<Option<(Row, Value)>, ScimError> {
    load_with(conn, tenant, kind, id, base, faults, true)
}

/// [`load`], leaving a group's `members` out when `members` is false (the response does
/// not carry them), so the read costs O(log n) whatever the group's size.
pub(crate) fn load_with(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    id: &str,
    base: &str,
    faults: &Faults,
    members: bool,
) -> Result<Option<(Row, Value)>, ScimError> {
    let Some(row) = store::get(conn, tenant, kind, id)? else {
        return Ok(None);
    };
    let value = render_row(conn, kind, &row, base, faults, members)?;
    Ok(Some((row, value)))
}

/// Renders a stored row with its related rows read by index: a user's direct and
/// indirect groups, a group's members (when `members`).
fn render_row(
    conn: &Connection,
    kind: Kind,
    row: &Row,
    base: &str,
    faults: &Faults,
    members: bool,
) -> Result<Value, ScimError> {
    Ok(match kind {
        Kind::User => {
            let groups = store::groups_of(conn, &row.id)?;
            resource::render(kind, row, base, Related::Groups(&groups))
        }
        Kind::Group if !members => resource::render(kind, row, base, Related::Members(&[])),
        Kind::Group => {
            // FAULT(group-members-truncated): only the first members are read, for GET
            // and for the PATCH that rewrites from this read.
            let limit = faults
                .on(Fault::GroupMembersTruncated)
                .then_some(store::TRUNCATED_MEMBERS);
            let members = store::members_of(conn, &row.id, limit)?;
            resource::render(kind, row, base, Related::Members(&members))
        }
    })
}

fn missing(kind: Kind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} `{}` not found", kind.resource_type(), echo(id)))
}

/// The error for a userName already in use, as the faults shape it.
fn conflict(faults: &Faults, user_name: &str, existing: &str) -> ScimError {
    let detail = format!("userName `{user_name}` is already used by User `{existing}`");
    // FAULT(uniqueness-400): a duplicate answered as a bad value.
    if faults.on(Fault::Uniqueness400) {
        ScimError::invalid_value(detail)
    } else {
        ScimError::uniqueness(detail)
    }
}

/// Checks that the userName in `doc` is free (ignoring case) among the other live users.
pub(crate) fn check_unique(
    conn: &Connection,
    tenant: &str,
    doc: &Value,
    except: Option<&str>,
    faults: &Faults,
) -> Result<(), ScimError> {
    let Some(user_name) = doc.get("userName").and_then(Value::as_str) else {
        return Ok(());
    };
    match store::user_name_taken(conn, tenant, user_name, except)? {
        Some(existing) => Err(conflict(faults, user_name, &existing)),
        None => Ok(()),
    }
}

/// Resolves member references to live users or groups of the tenant. An id that names
/// neither is 400 `invalidValue` (RFC 7644 section 3.12: the value is not compatible),
/// and a group may not contain itself.
pub(crate) fn resolve_members(
    conn: &Connection,
    tenant: &str,
    group_id: &str,
    members: &[MemberRef],
) -> Result<Vec<(String, Kind)>, ScimError> {
    let mut out = Vec::with_capacity(members.len());
    for member in members {
        if member.value == group_id {
            return Err(ScimError::invalid_value(format!(
                "group `{group_id}` cannot be a member of itself"
            )));
        }
        match store::resolve_member(conn, tenant, &member.value)? {
            Some(kind) => out.push((member.value.clone(), kind)),
            None => {
                return Err(ScimError::invalid_value(format!(
                    "member `{}` is not a User or Group of this tenant",
                    member.value
                )))
            }
        }
    }
    Ok(out)
}

/// Makes the group's stored membership equal `wanted`, touching only the rows that
/// change. Returns whether anything changed.
pub(crate) fn sync_members(
    conn: &Connection,
    group_id: &str,
    wanted: &[(String, Kind)],
    faults: &Faults,
) -> Result<bool, ScimError> {
    let current: Vec<String> = store::members_of(conn, group_id, None)?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let wanted_ids: std::collections::HashSet<&str> =
        wanted.iter().map(|(w, _)| w.as_str()).collect();
    let current_ids: std::collections::HashSet<&str> = current.iter().map(String::as_str).collect();
    let removed: Vec<String> = current
        .iter()
        .filter(|id| !wanted_ids.contains(id.as_str()))
        .cloned()
        .collect();
    let added: Vec<(String, Kind)> = wanted
        .iter()
        .filter(|(w, _)| !current_ids.contains(w.as_str()))
        .cloned()
        .collect();
    // FAULT(member-patch-slow): a slow round trip per changed member. This runs on the
    // blocking pool inside `Store::call`, so it stalls the store, not the runtime.
    if faults.on(Fault::MemberPatchSlow) {
        let changes = (removed.len() + added.len()) as u32;
        std::thread::sleep(SLOW_MEMBER_CHANGE * changes);
    }
    store::remove_members(conn, group_id, &removed)?;
    store::add_members(conn, group_id, &added)?;
    Ok(!removed.is_empty() || !added.is_empty())
}

/// Checks `If-Match` (RFC 7644 section 3.14, RFC 9110 section 13.1.1) against the
/// version; `*` matches any existing resource. Weak and strong forms compare equal.
pub(crate) fn check_if_match(headers: &HeaderMap, version: i64) -> Result<(), ScimError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let current = etag(version);
    if tag_listed(text, version) {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            format!(
                "If-Match `{}` does not match the current version {current}",
                echo(text)
            ),
        ))
    }
}

/// The `attributes` / `excludedAttributes` of a query string (RFC 7644 section 3.9).
fn projection_of(ctx: &Ctx, kind: Kind, raw: Option<&str>) -> Result<Projection, ScimError> {
    let query = Query::parse(raw.unwrap_or(""), ctx.faults())?;
    Projection::new(
        kind,
        query.get("attributes"),
        query.get("excludedAttributes"),
    )
}

/// `GET /Users/{id}`, `GET /Groups/{id}` (RFC 7644 section 3.4.1).
pub(crate) async fn read(
    ctx: Ctx,
    kind: Kind,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let query = Query::parse(raw.as_deref().unwrap_or(""), ctx.faults())?;
    let projection = Projection::new(
        kind,
        query.get("attributes"),
        query.get("excludedAttributes"),
    )?;
    let (tenant, base, faults) = (
        ctx.tenant.clone(),
        ctx.base.clone(),
        Arc::clone(&ctx.state.faults),
    );
    let with_members = !projection.leaves_out("members");
    let found = ctx
        .state
        .store
        .call(move |conn| {
            load_with(conn, &tenant, kind, &id, &base, &faults, with_members).map(|r| r.ok_or(id))
        })
        .await?;
    match found {
        Ok((row, _)) if if_none_match(&ctx.headers, row.version) => {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(tag) = HeaderValue::from_str(&etag(row.version)) {
                response.headers_mut().insert(header::ETAG, tag);
            }
            Ok(response)
        }
        Ok((_, value)) => Ok(resource_response(StatusCode::OK, value, &projection)),
        Err(id) => Err(missing(kind, &id)),
    }
}

/// Does `If-None-Match` name the current version (RFC 9110 section 13.1.2, weak
/// comparison)? Then a GET answers 304 (RFC 7644 section 3.14).
fn if_none_match(headers: &HeaderMap, version: i64) -> bool {
    let Some(text) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    tag_listed(text, version)
}

/// Does a comma-separated entity-tag list name `version` (weak comparison) or say `*`?
fn tag_listed(list: &str, version: i64) -> bool {
    let current = etag(version);
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    list.split(',')
        .any(|tag| tag.trim() == "*" || strip(tag) == strip(&current))
}

/// `POST /Users`, `POST /Groups` (RFC 7644 section 3.3).
pub(crate) async fn create(
    ctx: Ctx,
    kind: Kind,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_of(&ctx, kind, raw.as_deref())?;
    let input = parse_body(&ctx, &body)?;
    let (mut doc, members, dialects) = resource::prepare(kind, input, ctx.faults())?;
    resource::canonical_keys(&mut doc);
    let (tenant, base, faults) = (
        ctx.tenant.clone(),
        ctx.base.clone(),
        Arc::clone(&ctx.state.faults),
    );
    let created = ctx
        .state
        .store
        .call(move |conn| {
            let tx = store::begin(conn)?;
            let id = clock::new_id();
            // FAULT(duplicate-create-allowed): skip the check, and give the row a unique
            // `fault_dup` so the index lets the duplicate in.
            let fault_dup = if kind == Kind::User && faults.on(Fault::DuplicateCreateAllowed) {
                id.clone()
            } else {
                check_unique(&tx, &tenant, &doc, None, &faults)?;
                String::new()
            };
            let members = resolve_members(&tx, &tenant, &id, &members)?;
            let now = clock::now_rfc3339();
            let row = Row {
                id: id.clone(),
                version: 1,
                created: now.clone(),
                last_modified: now,
                doc,
            };
            store::insert(&tx, &tenant, kind, &row, &fault_dup)?;
            store::add_members(&tx, &id, &members)?;
            let loaded = load(&tx, &tenant, kind, &id, &base, &faults)?;
            store::commit(tx)?;
            loaded
                .map(|(_, v)| v)
                .ok_or_else(|| ScimError::internal("created resource vanished"))
        })
        .await?;
    tracing::info!(kind = kind.resource_type(), id = %created["id"], "created");
    let mut response = resource_response(StatusCode::CREATED, created, &projection);
    response.extensions_mut().insert(Dialects(dialects));
    Ok(response)
}

/// `PUT /Users/{id}`, `PUT /Groups/{id}` (RFC 7644 section 3.5.1): replaces every
/// client-owned attribute; `id` and other read-only attributes in the body are ignored.
pub(crate) async fn replace(
    ctx: Ctx,
    kind: Kind,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_of(&ctx, kind, raw.as_deref())?;
    let input = parse_body(&ctx, &body)?;
    let (mut doc, members, dialects) = resource::prepare(kind, input, ctx.faults())?;
    resource::canonical_keys(&mut doc);
    let (tenant, base, faults) = (
        ctx.tenant.clone(),
        ctx.base.clone(),
        Arc::clone(&ctx.state.faults),
    );
    let headers = ctx.headers.clone();
    let replaced = ctx
        .state
        .store
        .call(move |conn| {
            let tx = store::begin(conn)?;
            let Some((old, _)) = load(&tx, &tenant, kind, &id, &base, &faults)? else {
                return Err(missing(kind, &id));
            };
            check_if_match(&headers, old.version)?;
            check_unique(&tx, &tenant, &doc, Some(&id), &faults)?;
            let mut changed = doc != old.doc;
            if kind == Kind::Group {
                let wanted = resolve_members(&tx, &tenant, &id, &members)?;
                changed |= sync_members(&tx, &id, &wanted, &faults)?;
            }
            if changed {
                let row = Row {
                    version: old.version + 1,
                    last_modified: clock::now_rfc3339(),
                    doc,
                    ..old
                };
                store::update(&tx, &tenant, kind, &row)?;
            }
            let loaded = load(&tx, &tenant, kind, &id, &base, &faults)?;
            store::commit(tx)?;
            loaded.map(|(_, v)| v).ok_or_else(|| missing(kind, &id))
        })
        .await?;
    let mut response = resource_response(StatusCode::OK, replaced, &projection);
    response.extensions_mut().insert(Dialects(dialects));
    Ok(response)
}

/// `PATCH /Users/{id}`, `PATCH /Groups/{id}` (RFC 7644 section 3.5.2).
pub(crate) async fn patch(
    ctx: Ctx,
    kind: Kind,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ScimError> {
    let projection = projection_of(&ctx, kind, raw.as_deref())?;
    let input = parse_body(&ctx, &body)?;
    let with_members = !projection.leaves_out("members");
    let (patched, dialects) = patching::patch(&ctx, kind, id, input, with_members).await?;
    let mut response = resource_response(StatusCode::OK, patched, &projection);
    response.extensions_mut().insert(Dialects(dialects));
    Ok(response)
}

/// `DELETE /Users/{id}`, `DELETE /Groups/{id}` (RFC 7644 section 3.6): a soft delete;
/// the id answers 404 afterwards.
pub(crate) async fn delete(
    ctx: Ctx,
    kind: Kind,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let (tenant, faults) = (ctx.tenant.clone(), Arc::clone(&ctx.state.faults));
    let headers = ctx.headers.clone();
    let found = ctx
        .state
        .store
        .call(move |conn| {
            let tx = store::begin(conn)?;
            let Some(row) = store::get(&tx, &tenant, kind, &id)? else {
                // FAULT(delete-missing-204): an unknown or deleted id "succeeds".
                if faults.on(Fault::DeleteMissing204) {
                    return Ok(Ok(()));
                }
                return Ok(Err(id));
            };
            check_if_match(&headers, row.version)?;
            store::soft_delete(&tx, &tenant, kind, &id, &clock::now_rfc3339())?;
            store::commit(tx)?;
            Ok(Ok(()))
        })
        .await?;
    match found {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(id) => Err(missing(kind, &id)),
    }
}

/// The parameters of a list or search request (RFC 7644 sections 3.4.2 and 3.4.3).
#[derive(Default)]
pub(crate) struct Search {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

impl Search {
    fn from_query(query: &Query) -> Result<Search, ScimError> {
        let text = |name: &str| query.get(name).map(str::to_string);
        Ok(Search {
            filter: text("filter"),
            start_index: query.int("startIndex")?,
            count: query.int("count")?,
            attributes: text("attributes"),
            excluded: text("excludedAttributes"),
            sort_by: text("sortBy"),
            sort_order: text("sortOrder"),
        })
    }

    /// A SearchRequest body (RFC 7644 section 3.4.3); `attributes` may be a string or an
    /// array of strings.
    pub(crate) fn from_body(body: &Value) -> Result<Search, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let has_urn = obj
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_URN))
                })
            });
        if !has_urn {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must include {SEARCH_URN}"
            )));
        }
        let get = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) if name.ends_with("ttributes") => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| ScimError::invalid_value(format!("`{name}` must hold strings"))),
                Some(other) => Err(ScimError::invalid_value(format!(
                    "`{name}` must be a string, found {other}"
                ))),
            }
        };
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("`{name}` must be an integer, found {v}"))
                }),
            }
        };
        Ok(Search {
            filter: text("filter")?,
            start_index: int("startIndex")?,
            count: int("count")?,
            attributes: text("attributes")?,
            excluded: text("excludedAttributes")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
        })
    }
}

/// The SearchRequest message URN (RFC 7644 section 3.4.3).
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Above this many candidates, a list reads related rows for the whole tenant at once
/// instead of one indexed query per candidate.
const BULK_RELATED: usize = 256;

/// `GET /Users`, `GET /Groups` (RFC 7644 section 3.4.2).
pub(crate) async fn list(
    ctx: Ctx,
    kind: Kind,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let query = Query::parse(raw.as_deref().unwrap_or(""), ctx.faults())?;
    let search = Search::from_query(&query)?;
    run_search(ctx, &[kind], search).await
}

/// `POST /Users/.search`, `POST /Groups/.search` (RFC 7644 section 3.4.3).
pub(crate) async fn search(ctx: Ctx, kind: Kind, body: Bytes) -> Result<Response, ScimError> {
    let body = parse_body(&ctx, &body)?;
    let search = Search::from_body(&body)?;
    run_search(ctx, &[kind], search).await
}

/// `POST /.search` at the root (RFC 7644 section 3.4.3): Users, then Groups. A filter
/// is applied to each resource type whose schema can evaluate it; one that neither
/// can is 400 `invalidFilter`.
pub(crate) async fn search_root(ctx: Ctx, body: Bytes) -> Result<Response, ScimError> {
    let body = parse_body(&ctx, &body)?;
    let search = Search::from_body(&body)?;
    run_search(ctx, &[Kind::User, Kind::Group], search).await
}

/// One resource type's part of a search: its filter (if the type can evaluate it),
/// projection and sort.
struct Part {
    kind: Kind,
    filter: Option<lookup::Lookup>,
    projection: Projection,
    sort: Option<Sort>,
}

/// Filters, sorts, paginates and projects over one or more resource types.
async fn run_search(ctx: Ctx, kinds: &[Kind], search: Search) -> Result<Response, ScimError> {
    let mut parts = Vec::new();
    let mut first_error = None;
    let mut sort_error = None;
    for &kind in kinds {
        let filter = match lookup::Lookup::new(search.filter.as_deref(), kind, ctx.faults()) {
            Ok(filter) => filter,
            Err(err) if kinds.len() > 1 => {
                first_error.get_or_insert(err);
                continue;
            }
            Err(err) => return Err(err),
        };
        let projection = Projection::new(
            kind,
            search.attributes.as_deref(),
            search.excluded.as_deref(),
        )?;
        let sort = match Sort::new(
            kind,
            search.sort_by.as_deref(),
            search.sort_order.as_deref(),
        ) {
            Ok(sort) => sort,
            // Over several types, a sortBy one type does not define leaves that type's
            // resources without a key (they sort last); it does not drop them.
            Err(err) if kinds.len() > 1 => {
                sort_error.get_or_insert(err);
                None
            }
            Err(err) => return Err(err),
        };
        parts.push(Part {
            kind,
            filter,
            projection,
            sort,
        });
    }
    if parts.is_empty() {
        return Err(first_error.unwrap_or_else(|| ScimError::internal("no resource type")));
    }
    if let Some(err) = sort_error.filter(|_| parts.iter().all(|p| p.sort.is_none())) {
        return Err(err);
    }
    let page = Page::new(search.start_index, search.count, ctx.faults());
    let filtered = search.filter.is_some();
    let (tenant, base) = (ctx.tenant.clone(), ctx.base.clone());
    let faults = Arc::clone(&ctx.state.faults);
    let (total, mut resources) = ctx
        .state
        .store
        .call(move |conn| {
            // Without a filter or a sort over one type, the store pages by itself.
            if let [part] = parts.as_slice() {
                if part.filter.is_none() && part.sort.is_none() {
                    let total = store::count(conn, &tenant, part.kind)?;
                    let rows = store::page(conn, &tenant, part.kind, page.offset, page.count)?;
                    let members = !part.projection.leaves_out("members");
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let value = render_row(conn, part.kind, row, &base, &faults, members)?;
                        out.push(part.projection.apply(value));
                    }
                    return Ok((total, out));
                }
            }
            let mut matched: Vec<(usize, Value)> = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let found = matching(conn, &tenant, part, &base, &faults)?;
                matched.extend(found.into_iter().map(|v| (i, v)));
            }
            if let Some((part, sort)) = parts
                .iter()
                .find_map(|p| p.sort.as_ref().map(|sort| (p, sort)))
            {
                let mut values: Vec<Value> = matched.iter_mut().map(|(_, v)| v.take()).collect();
                // Sort keys are read with the schema of the first type that defines
                // sortBy; resources of a type without it have no key and come last.
                sort.apply(part.kind, &mut values);
                let kinds: HashMap<String, usize> = matched
                    .iter()
                    .map(|(i, _)| *i)
                    .zip(values.iter())
                    .map(|(i, v)| (v["id"].as_str().unwrap_or_default().to_string(), i))
                    .collect();
                matched = values
                    .into_iter()
                    .map(|v| {
                        let i = kinds.get(v["id"].as_str().unwrap_or_default()).copied();
                        (i.unwrap_or(0), v)
                    })
                    .collect();
            }
            let total = matched.len();
            let out = matched
                .into_iter()
                .skip(page.offset)
                .take(page.count)
                .map(|(i, v)| parts[i].projection.apply(v))
                .collect();
            Ok((total, out))
        })
        .await?;
    // FAULT(no-match-404): an empty filtered result is "not found".
    if filtered && total == 0 && ctx.faults().on(Fault::NoMatch404) {
        return Err(ScimError::not_found("no resource matches the filter"));
    }
    // FAULT(resources-empty): the matches counted but not sent.
    if filtered && ctx.faults().on(Fault::ResourcesEmpty) {
        resources.clear();
    }
    // FAULT(total-results-page-size): the page size reported as the total.
    let total = if ctx.faults().on(Fault::TotalResultsPageSize) {
        resources.len()
    } else {
        total
    };
    let body = json!({
        "schemas": [LIST_URN],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": page.start_index,
        "Resources": resources,
    });
    Ok(scim_response(StatusCode::OK, &body))
}

/// The rendered resources of one type that the part's filter selects, sorted by the
/// part's sort, unprojected.
fn matching(
    conn: &Connection,
    tenant: &str,
    part: &Part,
    base: &str,
    faults: &Faults,
) -> Result<Vec<Value>, ScimError> {
    let kind = part.kind;
    let filter = part.filter.as_ref();
    let rows = store::list(conn, tenant, kind, filter.and_then(|f| f.narrow()))?;
    let members = !part.projection.leaves_out("members")
        || filter.is_some_and(|f| f.mentions("members"))
        || part.sort.is_some();
    let bulk = rows.len() > BULK_RELATED;
    let (groups, all_members) = match (bulk, kind) {
        (true, Kind::User) => (store::all_groups(conn, tenant)?, HashMap::new()),
        (true, Kind::Group) if members => (HashMap::new(), store::all_members(conn, tenant)?),
        _ => (HashMap::new(), HashMap::new()),
    };
    let mut matched = Vec::new();
    for row in rows {
        let value = match (bulk, kind) {
            (false, _) => render_row(conn, kind, &row, base, faults, members)?,
            (true, Kind::User) => {
                let g = groups.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
                resource::render(kind, &row, base, Related::Groups(g))
            }
            (true, Kind::Group) => {
                let all = all_members.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
                let limit = if faults.on(Fault::GroupMembersTruncated) {
                    all.len().min(store::TRUNCATED_MEMBERS)
                } else {
                    all.len()
                };
                resource::render(kind, &row, base, Related::Members(&all[..limit]))
            }
        };
        // FAULT(filter-hides-unmanaged): filtered lookups skip users without an
        // externalId.
        let hidden = kind == Kind::User
            && filter.is_some()
            && faults.on(Fault::FilterHidesUnmanaged)
            && value.get("externalId").is_none();
        if !hidden && filter.is_none_or(|f| f.matches(kind, &value, faults)) {
            matched.push(value);
        }
    }
    if let Some(sort) = &part.sort {
        sort.apply(kind, &mut matched);
    }
    Ok(matched)
}

/// Pagination parameters (RFC 7644 section 3.4.2.4).
struct Page {
    /// The `startIndex` answered (1-based).
    start_index: i64,
    /// How many matches to skip.
    offset: usize,
    /// How many to return at most.
    count: usize,
}

impl Page {
    fn new(raw_start: Option<i64>, raw_count: Option<i64>, faults: &Faults) -> Page {
        // A startIndex below 1 is read as 1.
        let start_index = raw_start.unwrap_or(1).max(1);
        let mut offset = usize::try_from(start_index - 1).unwrap_or(0);
        // FAULT(startindex-zero-based): the index read as an offset.
        if faults.on(Fault::StartIndexZeroBased) {
            offset = usize::try_from(raw_start.unwrap_or(0).max(0)).unwrap_or(0);
        }
        // A negative count is read as 0; above the maximum, the maximum.
        let count = match raw_count {
            None => DEFAULT_PAGE_SIZE,
            Some(n) => usize::try_from(n.max(0)).unwrap_or(0).min(MAX_PAGE_SIZE),
        };
        // FAULT(count-zero-full-page): count=0 treated like an absent count.
        let count = if count == 0 && faults.on(Fault::CountZeroFullPage) {
            DEFAULT_PAGE_SIZE
        } else {
            count
        };
        Page {
            start_index,
            offset,
            count,
        }
    }
}
