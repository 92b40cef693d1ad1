//! PATCH (RFC 7644 section 3.5.2) through `scim-parser`'s patch module.
//!
//! The document is parsed in [`Mode::Interop`], so Entra's `"op": "Replace"`, `"False"`
//! strings, member removal by value array and path-less dotted keys work; every tolerance
//! used is logged. The parser applies the operations to the rendered resource, all or
//! nothing; this module then stores the result: the document, and for a Group only the
//! membership rows that changed.

use crate::clock;
use crate::error::{echo, ScimError, ScimType};
use crate::fault::{Fault, Faults};
use crate::handlers::{self, check_if_match, check_unique, load, Ctx};
use crate::lookup::schema_for;
use crate::resource::{self, MemberRef};
use crate::store::{self, Kind, Row};
use axum::http::StatusCode;
use scim_parser::patch::{apply, Diagnostic, Mode, Op, PatchDocument, PatchError};
use scim_parser::schema::{AttributeType, ResourceSchema};
use scim_parser::AttrPath;
use scim_parser::{CompareOp, FilterKind, LiteralValue};
use serde_json::{Map, Value};
use std::sync::Arc;

fn patch_error(err: PatchError) -> ScimError {
    let scim_type = ScimType::from_keyword(err.scim_type()).unwrap_or(ScimType::InvalidSyntax);
    ScimError::bad_request(scim_type, format!("PATCH {err}"))
}

/// Applies a PatchOp body to the resource `id` and returns the patched resource (with
/// a group's `members` only when `with_members`) and the dialects the parser detected.
pub(crate) async fn patch(
    ctx: &Ctx,
    kind: Kind,
    id: String,
    body: Value,
    with_members: bool,
) -> Result<(Value, Vec<&'static str>), ScimError> {
    let faults = Arc::clone(&ctx.state.faults);
    // FAULT(patch-op-case-sensitive): only the lowercase RFC spellings pass.
    if faults.on(Fault::PatchOpCaseSensitive) {
        reject_non_lowercase_ops(&body)?;
    }
    // FAULT(lowercase-operations-500): the body is read with a fixed `Operations` key.
    if faults.on(Fault::LowercaseOperations500) && body.get("Operations").is_none() {
        return Err(ScimError::internal(
            "PatchOp body has no `Operations` member",
        ));
    }
    let mut doc = PatchDocument::parse(&body, Mode::Interop).map_err(patch_error)?;
    let cap = ctx.state.max_patch_operations;
    if doc.operations.len() > cap {
        // RFC 7644 section 3.12: 413, the request is larger than the server will process.
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "the PATCH request holds {} operations; this server applies at most {cap} \
                 per request (split the changes over several requests)",
                doc.operations.len()
            ),
        ));
    }
    let schema = schema_for(kind, &faults);
    reject_by_path_faults(&doc, schema, &faults)?;
    // FAULT(bool-string-rejected): Entra's "True"/"False" strings are refused.
    if faults.on(Fault::BoolStringRejected) {
        reject_bool_strings(&doc, schema)?;
    }
    for op in &mut doc.operations {
        // FAULT(entra-remove-ignored): the value array of a `remove members` is dropped,
        // which leaves a remove of every member.
        let bare_members = op.path.as_ref().is_some_and(|p| {
            p.attr.name.eq_ignore_ascii_case("members")
                && p.filter.is_none()
                && p.sub_attr.is_none()
        });
        if faults.on(Fault::EntraRemoveIgnored) && op.op == Op::Remove && bare_members {
            op.value = None;
        }
    }
    // FAULT(pathless-patch-ignored): operations without a path are skipped.
    if faults.on(Fault::PathlessPatchIgnored) {
        doc.operations.retain(|op| op.path.is_some());
    }
    let (tenant, base) = (ctx.tenant.clone(), ctx.base.clone());
    let headers = ctx.headers.clone();
    if kind == Kind::Group {
        if let Some(delta) = member_delta(&doc, &faults) {
            let (value, diagnostics) = ctx
                .state
                .store
                .call(move |conn| {
                    let tx = store::begin(conn)?;
                    let Some((old, _)) =
                        handlers::load_with(&tx, &tenant, kind, &id, &base, &faults, false)?
                    else {
                        return Err(ScimError::not_found(format!(
                            "Group `{}` not found",
                            echo(&id)
                        )));
                    };
                    check_if_match(&headers, old.version)?;
                    if apply_delta(&tx, &tenant, &id, &delta.steps)? {
                        let now = clock::now_rfc3339();
                        store::touch(&tx, &tenant, kind, &id, old.version + 1, &now)?;
                    }
                    let loaded =
                        handlers::load_with(&tx, &tenant, kind, &id, &base, &faults, with_members)?;
                    store::commit(tx)?;
                    let value = loaded
                        .map(|(_, v)| v)
                        .ok_or_else(|| ScimError::internal("patched group vanished"))?;
                    Ok((value, delta.diagnostics))
                })
                .await?;
            let dialects = log_diagnostics(kind, &value, &diagnostics);
            return Ok((value, dialects));
        }
    }
    let (value, diagnostics) = ctx
        .state
        .store
        .call(move |conn| {
            let tx = store::begin(conn)?;
            let Some((old, current)) = load(&tx, &tenant, kind, &id, &base, &faults)? else {
                return Err(ScimError::not_found(format!(
                    "{} `{}` not found",
                    kind.resource_type(),
                    echo(&id)
                )));
            };
            if !faults.on(Fault::EtagCheckedAfterPatch) {
                check_if_match(&headers, old.version)?;
            }
            let applied = apply(&doc, &current, schema).map_err(patch_error)?;
            // FAULT(etag-checked-after-patch): If-Match compared with the version the
            // change produces, so a current ETag fails whenever something changes.
            if faults.on(Fault::EtagCheckedAfterPatch) {
                check_if_match(&headers, old.version + i64::from(applied.changed))?;
            }
            if !applied.changed {
                // Nothing changed: no new version, no new lastModified (bug-39).
                return Ok((current, applied.diagnostics));
            }
            let (new_doc, members) = split(kind, applied.resource, &faults)?;
            check_unique(&tx, &tenant, &new_doc, Some(&id), &faults)?;
            if kind == Kind::Group {
                let wanted = handlers::resolve_members(&tx, &tenant, &id, &members)?;
                handlers::sync_members(&tx, &id, &wanted, &faults)?;
            }
            let row = Row {
                version: old.version + 1,
                last_modified: clock::now_rfc3339(),
                doc: new_doc,
                ..old
            };
            store::update(&tx, &tenant, kind, &row)?;
            let loaded =
                handlers::load_with(&tx, &tenant, kind, &id, &base, &faults, with_members)?;
            store::commit(tx)?;
            let value = loaded
                .map(|(_, v)| v)
                .ok_or_else(|| ScimError::internal("patched resource vanished"))?;
            Ok((value, applied.diagnostics))
        })
        .await?;
    let dialects = log_diagnostics(kind, &value, &diagnostics);
    Ok((value, dialects))
}

/// Logs each tolerance the parser used and returns the distinct dialects.
fn log_diagnostics(kind: Kind, value: &Value, diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    let mut dialects = Vec::new();
    for diagnostic in diagnostics {
        tracing::info!(
            kind = kind.resource_type(),
            id = %value["id"],
            dialect = diagnostic.dialect,
            "PATCH tolerance: {diagnostic}"
        );
        if !dialects.contains(&diagnostic.dialect) {
            dialects.push(diagnostic.dialect);
        }
    }
    dialects
}

/// One membership change of a member-only PATCH.
enum Step {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
}

/// A PATCH that only adds or removes group members by id.
struct Delta {
    steps: Vec<Step>,
    diagnostics: Vec<Diagnostic>,
}

/// The `value`s of a member list: an array of `{"value": "id"}` objects, or one object.
fn member_values(value: Option<&Value>) -> Option<Vec<String>> {
    let one = |v: &Value| -> Option<String> {
        let obj = v.as_object()?;
        let (_, id) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("value"))?;
        id.as_str().map(str::to_string)
    };
    match value? {
        Value::Array(items) => items.iter().map(one).collect(),
        v @ Value::Object(_) => one(v).map(|id| vec![id]),
        _ => None,
    }
}

/// Reads a PATCH whose every operation adds members, removes members by id (RFC form
/// `members[value eq "id"]`, or Entra's value array on `members`), as membership-row
/// steps, so that the group's size does not matter (O(k log n) for k members of a group
/// of n). `None` when any operation is something else, or when a fault changes how
/// members are handled; the general path then applies the document.
fn member_delta(doc: &PatchDocument, faults: &Faults) -> Option<Delta> {
    let member_faults = [
        Fault::GroupMembersTruncated,
        Fault::MembersRefRequired,
        Fault::MemberPatchSlow,
        Fault::EntraRemoveIgnored,
    ];
    if member_faults.iter().any(|&f| faults.on(f)) || doc.operations.is_empty() {
        return None;
    }
    let mut delta = Delta {
        steps: Vec::new(),
        diagnostics: doc.diagnostics.clone(),
    };
    for (i, op) in doc.operations.iter().enumerate() {
        let path = op.path.as_ref()?;
        let on_members = path.attr.name.eq_ignore_ascii_case("members")
            && path.sub_attr.is_none()
            && path.attr.sub_attr.is_none()
            && path
                .attr
                .uri
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(resource::GROUP_URN));
        if !on_members {
            return None;
        }
        match (op.op, &path.filter) {
            (Op::Add, None) => delta.steps.push(Step::Add(
                member_values(op.value.as_ref())?
                    .into_iter()
                    .map(|value| MemberRef { value })
                    .collect(),
            )),
            (Op::Remove, None) => {
                let ids = member_values(op.value.as_ref())?;
                delta.diagnostics.push(Diagnostic {
                    dialect: "entra",
                    op_index: Some(i),
                    message: "remove of `members` with a value array removes those members".into(),
                });
                delta.steps.push(Step::Remove(ids));
            }
            (Op::Remove, Some(filter)) => delta.steps.push(Step::Remove(vec![value_eq(filter)?])),
            _ => return None,
        }
    }
    Some(delta)
}

/// The id of a `value eq "id"` member filter.
fn value_eq(filter: &scim_parser::Filter) -> Option<String> {
    match &filter.kind {
        FilterKind::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.name.eq_ignore_ascii_case("value") && path.sub_attr.is_none() => {
            match &value.value {
                LiteralValue::String(id) => Some(id.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Applies member steps in order; returns whether a membership row changed.
fn apply_delta(
    conn: &rusqlite::Connection,
    tenant: &str,
    group_id: &str,
    steps: &[Step],
) -> Result<bool, ScimError> {
    let mut changed = false;
    for step in steps {
        changed |= match step {
            Step::Add(refs) => {
                let members = handlers::resolve_members(conn, tenant, group_id, refs)?;
                store::add_members(conn, group_id, &members)? > 0
            }
            Step::Remove(ids) => store::remove_members(conn, group_id, ids)? > 0,
        };
    }
    Ok(changed)
}

/// Splits a patched resource into the document to store and, for a Group, its members.
fn split(
    kind: Kind,
    resource: Value,
    faults: &Faults,
) -> Result<(Value, Vec<MemberRef>), ScimError> {
    let Value::Object(mut obj) = resource else {
        return Err(ScimError::internal(
            "PATCH produced a resource that is not an object",
        ));
    };
    obj.remove("id");
    obj.remove("meta");
    obj.remove("groups");
    // Write-only and not kept, as on create (RFC 7643 section 4.1.1: returned never).
    let password = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("password"))
        .cloned();
    if let Some(key) = password {
        obj.remove(&key);
    }
    let members = if kind == Kind::Group {
        let members = obj.remove("members");
        let mut body = Map::new();
        body.insert("members".into(), members.unwrap_or(Value::Null));
        resource::prepare_members(&mut body, faults)?
    } else {
        Vec::new()
    };
    resource::validate(kind, &obj)?;
    let mut doc = Value::Object(obj);
    resource::canonical_keys(&mut doc);
    Ok((doc, members))
}

/// The faults that refuse operations by the shape of their path or value.
fn reject_by_path_faults(
    doc: &PatchDocument,
    schema: &ResourceSchema,
    faults: &Faults,
) -> Result<(), ScimError> {
    for (i, op) in doc.operations.iter().enumerate() {
        let Some(path) = &op.path else { continue };
        let text = echo(op.path_text.as_deref().unwrap_or(""));
        // FAULT(filter-remove-rejected): a value filter on remove is taken for a name.
        if faults.on(Fault::FilterRemoveRejected) && op.op == Op::Remove && path.filter.is_some() {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}].path: no attribute `{text}`"
            )));
        }
        // FAULT(valuepath-replace-unsupported): replace through a value filter.
        if faults.on(Fault::ValuePathReplaceUnsupported)
            && op.op == Op::Replace
            && path.filter.is_some()
        {
            return Err(ScimError::new(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                None,
                format!("Operations[{i}]: replace through `{text}` is not implemented"),
            ));
        }
        // FAULT(extension-path-rejected): URN-qualified extension paths.
        let extension = path
            .attr
            .uri
            .as_deref()
            .is_some_and(|u| schema.extension(u).is_some())
            || path
                .schema_urn()
                .is_some_and(|urn| schema.extension(&urn).is_some());
        if faults.on(Fault::ExtensionPathRejected) && extension {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("Operations[{i}].path: unknown schema in `{text}`"),
            ));
        }
        // FAULT(manager-string-rejected): a string where a complex value belongs.
        let complex = schema
            .resolve(&path.attr)
            .and_then(|r| r.target())
            .is_some_and(|a| a.kind == AttributeType::Complex);
        if faults.on(Fault::ManagerStringRejected)
            && complex
            && path.sub_attr.is_none()
            && matches!(op.value, Some(Value::String(_)))
        {
            return Err(ScimError::invalid_value(format!(
                "Operations[{i}].value: `{text}` is complex, found a string"
            )));
        }
    }
    Ok(())
}

/// The `patch-op-case-sensitive` fault's check on the raw body.
fn reject_non_lowercase_ops(body: &Value) -> Result<(), ScimError> {
    let ops = body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .and_then(|(_, v)| v.as_array());
    for (i, op) in ops.into_iter().flatten().enumerate() {
        if let Some(name) = op.get("op").and_then(Value::as_str) {
            if !matches!(name, "add" | "remove" | "replace") {
                return Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}].op: expected one of add, remove, replace, found {name:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Is `path` a boolean attribute of `schema`?
fn is_boolean(schema: &ResourceSchema, path: &AttrPath) -> bool {
    schema
        .resolve(path)
        .and_then(|r| r.target())
        .is_some_and(|a| a.kind == AttributeType::Boolean)
}

/// The `bool-string-rejected` fault's check: a string value for a boolean attribute,
/// through a path or as a key of a path-less value.
fn reject_bool_strings(doc: &PatchDocument, schema: &ResourceSchema) -> Result<(), ScimError> {
    let refuse = |i: usize, name: &str| {
        Err(ScimError::invalid_value(format!(
            "Operations[{i}].value: `{name}` is a boolean attribute, found a string"
        )))
    };
    for (i, op) in doc.operations.iter().enumerate() {
        match (&op.path, &op.value) {
            (Some(path), Some(Value::String(_)))
                if path.filter.is_none() && is_boolean(schema, &path.attr) =>
            {
                return refuse(i, &path.attr.name);
            }
            (None, Some(Value::Object(values))) => {
                for (key, value) in values {
                    let path = AttrPath {
                        uri: None,
                        name: key.clone(),
                        sub_attr: None,
                        span: Default::default(),
                    };
                    if value.is_string() && is_boolean(schema, &path) {
                        return refuse(i, key);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
