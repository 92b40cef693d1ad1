//! `POST /Bulk` (RFC 7644 section 3.7): many operations in one request, each run through
//! the same handler as its single-request form, each in its own transaction (a bulk job
//! is not atomic, section 3.7).
//!
//! - `bulkId` references (section 3.7.2): `bulkId:X` as a path segment or as any string
//!   value in `data` is replaced by the id the POST with `bulkId` X created. An operation
//!   waits until what it references exists, so forward references work; a reference to
//!   an unknown or failed bulkId, or a cycle, fails that operation with 409 (section
//!   3.7.2 allows 409 for cross-references it cannot resolve).
//! - `failOnErrors` (section 3.7.3): after that many failed operations the rest are not
//!   run and not reported.
//! - Limits (section 3.7.4): more than [`MAX_OPERATIONS`] operations, or a body over
//!   [`MAX_PAYLOAD_SIZE`] bytes (any request), is 413, as `/ServiceProviderConfig`
//!   advertises.

use crate::error::{echo, ScimError};
use crate::handlers::{self, parse_body, Ctx};
use crate::routes::SCIM_JSON;
use crate::store::Kind;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The most operations one bulk request may hold (`bulk.maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;
/// The largest request body accepted, bulk or not, in bytes (`bulk.maxPayloadSize`).
pub const MAX_PAYLOAD_SIZE: usize = 4 * 1024 * 1024;

const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// One operation as read from the request.
struct Operation {
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
}

/// What became of a bulkId's POST.
enum Created {
    Id(String),
    Failed,
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Reads and checks the BulkRequest envelope.
fn read_request(body: &Value) -> Result<(Vec<Operation>, Option<usize>), ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest must be a JSON object"))?;
    let has_urn = field(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_URN)));
    if !has_urn {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must include {BULK_REQUEST_URN}"
        )));
    }
    let fail_on_errors = match field(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "`failOnErrors` must be a positive integer, found {v}"
                )))
            }
        },
    };
    let ops = field(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("`Operations` must be an array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "the bulk request holds {} operations; maxOperations is {MAX_OPERATIONS}",
                ops.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let op = op.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(format!("Operations[{i}] must be an object"))
        })?;
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match field(op, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}].{name} must be a string, found {other}"
                ))),
            }
        };
        let required = |name: &str| {
            text(name)?.ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operations[{i}].{name} is required"))
            })
        };
        out.push(Operation {
            method: required("method")?.to_ascii_uppercase(),
            path: required("path")?,
            bulk_id: text("bulkId")?,
            version: text("version")?,
            data: field(op, "data").cloned(),
        });
    }
    Ok((out, fail_on_errors))
}

/// The bulkIds an operation references, in its path and data.
fn references(op: &Operation) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix("bulkId:") {
                    out.push(id.to_string());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(obj) => obj.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(id) = segment.strip_prefix("bulkId:") {
            out.push(id.to_string());
        }
    }
    if let Some(data) = &op.data {
        walk(data, &mut out);
    }
    out
}

/// Replaces `bulkId:X` strings by the ids created.
fn substitute(value: &mut Value, ids: &HashMap<String, Created>) {
    match value {
        Value::String(s) => {
            if let Some(Created::Id(id)) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(obj) => obj.values_mut().for_each(|v| substitute(v, ids)),
        _ => {}
    }
}

/// `POST /Bulk`.
pub(crate) async fn bulk(ctx: Ctx, body: Bytes) -> Result<Response, ScimError> {
    let body = parse_body(&ctx, &body)?;
    let (ops, fail_on_errors) = read_request(&body)?;
    let mut ids: HashMap<String, Created> = HashMap::new();
    let defined: Vec<&str> = ops.iter().filter_map(|o| o.bulk_id.as_deref()).collect();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0;
    'passes: while !pending.is_empty() {
        let mut progressed = false;
        let mut still = Vec::new();
        for &i in &pending {
            let op = &ops[i];
            let refs = references(op);
            let unresolvable = refs.iter().find(|r| {
                !defined.contains(&r.as_str()) || matches!(ids.get(*r), Some(Created::Failed))
            });
            let result = if let Some(r) = unresolvable {
                failure(
                    op,
                    conflict(format!("bulkId `{r}` names no successful POST")),
                )
            } else if refs.iter().all(|r| ids.contains_key(r)) {
                run(&ctx, op, &mut ids).await
            } else {
                still.push(i);
                continue;
            };
            progressed = true;
            if result.1 {
                errors += 1;
            }
            results[i] = Some(result.0);
            if fail_on_errors.is_some_and(|max| errors >= max) {
                break 'passes;
            }
        }
        if !progressed {
            // Every operation left waits on another one left: a cycle.
            for &i in &still {
                let op = &ops[i];
                let r = references(op).join(", ");
                results[i] =
                    Some(failure(op, conflict(format!("circular bulkId references ({r})"))).0);
                errors += 1;
                if fail_on_errors.is_some_and(|max| errors >= max) {
                    break;
                }
            }
            break;
        }
        pending = still;
    }
    let body = json!({
        "schemas": [BULK_RESPONSE_URN],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    Ok(response)
}

fn conflict(detail: String) -> ScimError {
    ScimError::new(StatusCode::CONFLICT, None, detail)
}

/// The response entry of a failed operation, and `true` (it is an error).
fn failure(op: &Operation, err: ScimError) -> (Value, bool) {
    let mut entry = json!({
        "method": op.method,
        "status": err.status.as_u16().to_string(),
        "response": err.body(&Default::default()),
    });
    if let Some(b) = &op.bulk_id {
        entry["bulkId"] = json!(b);
    }
    (entry, true)
}

/// `/Users/...` or `/Groups/...` split into the kind and the id, if any.
fn target(path: &str) -> Option<(Kind, Option<String>)> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let kind = match parts.next()? {
        p if p.eq_ignore_ascii_case("Users") => Kind::User,
        p if p.eq_ignore_ascii_case("Groups") => Kind::Group,
        _ => return None,
    };
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    Some((kind, id))
}

/// Runs one operation through its handler; returns the response entry and whether it
/// failed.
async fn run(ctx: &Ctx, op: &Operation, ids: &mut HashMap<String, Created>) -> (Value, bool) {
    let mut path = op.path.clone();
    for segment in op.path.split('/') {
        if let Some(Created::Id(id)) = segment.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
            path = path.replace(segment, id);
        }
    }
    let mut data = op.data.clone();
    if let Some(d) = data.as_mut() {
        substitute(d, ids);
    }
    let result = dispatch(ctx, op, &path, data).await;
    let failed = !matches!(&result, Ok(r) if r.status().is_success());
    if let Some(b) = &op.bulk_id {
        if op.method == "POST" {
            let created = match &result {
                Ok(r) if r.status() == StatusCode::CREATED => r
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| l.rsplit('/').next())
                    .map(|id| Created::Id(id.to_string())),
                _ => None,
            };
            ids.insert(b.clone(), created.unwrap_or(Created::Failed));
        }
    }
    let response = match result {
        Ok(r) => r,
        Err(err) => return failure(op, err),
    };
    let status = response.status();
    let headers = response.headers().clone();
    let mut entry = json!({"method": op.method, "status": status.as_u16().to_string()});
    if let Some(b) = &op.bulk_id {
        entry["bulkId"] = json!(b);
    }
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(version) = header_text(header::ETAG) {
        entry["version"] = json!(version);
    }
    let location = header_text(header::LOCATION)
        .map(str::to_string)
        .or_else(|| (op.method != "POST").then(|| format!("{}{}", ctx.base, path)));
    if let Some(location) = location {
        entry["location"] = json!(location);
    }
    if !status.is_success() {
        let bytes = axum::body::to_bytes(response.into_body(), MAX_PAYLOAD_SIZE)
            .await
            .unwrap_or_default();
        entry["response"] = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    }
    (entry, failed)
}

async fn dispatch(
    ctx: &Ctx,
    op: &Operation,
    path: &str,
    data: Option<Value>,
) -> Result<Response, ScimError> {
    let Some((kind, id)) = target(path) else {
        return Err(ScimError::invalid_value(format!(
            "bulk path `{}` is not /Users or /Groups",
            echo(path)
        )));
    };
    let mut ctx = ctx.clone();
    ctx.headers.remove(header::IF_MATCH);
    if let Some(version) = op
        .version
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        ctx.headers.insert(header::IF_MATCH, version);
    }
    let body = || -> Result<Bytes, ScimError> {
        let data = data.clone().ok_or_else(|| {
            ScimError::invalid_syntax(format!("{} {} needs `data`", op.method, echo(path)))
        })?;
        Ok(Bytes::from(data.to_string()))
    };
    let query = RawQuery(None);
    match (op.method.as_str(), id) {
        ("POST", None) => {
            if op.bulk_id.is_none() {
                return Err(ScimError::invalid_syntax(
                    "a bulk POST needs a `bulkId` (RFC 7644 section 3.7)",
                ));
            }
            handlers::create(ctx, kind, query, body()?).await
        }
        ("PUT", Some(id)) => handlers::replace(ctx, kind, Path(id), query, body()?).await,
        ("PATCH", Some(id)) => handlers::patch(ctx, kind, Path(id), query, body()?).await,
        ("DELETE", Some(id)) => handlers::delete(ctx, kind, Path(id)).await,
        (method, _) => Err(ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!(
                "bulk operation {} {} is not supported",
                echo(method),
                echo(path)
            ),
        )),
    }
}
