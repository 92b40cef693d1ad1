//! PATCH (RFC 7644 section 3.5.2) through `scim-parser`'s patch module.

use crate::error::ScimError;
use crate::handlers::Ctx;
use crate::store::Kind;
use axum::http::StatusCode;
use serde_json::Value;

/// Applies a PatchOp document to the resource `id` and returns the patched resource.
// TODO(parser-semantics): replace with `scim_parser::patch` once its PatchDocument and
// apply land on branch parser-semantics; until then PATCH answers 501.
pub(crate) async fn patch(
    _ctx: &Ctx,
    kind: Kind,
    id: String,
    _body: Value,
) -> Result<Value, ScimError> {
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        format!(
            "PATCH of {} `{id}` is not available yet",
            kind.resource_type()
        ),
    ))
}
