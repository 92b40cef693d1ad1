//! Discovery endpoints (RFC 7644 section 4): `/ServiceProviderConfig`, `/Schemas` and
//! `/ResourceTypes`, truthful about what this server does. The schema and resource-type
//! documents are `scim-parser`'s built-in JSON, the same definitions the filter
//! evaluator uses.

use crate::bulk::{MAX_OPERATIONS, MAX_PAYLOAD_SIZE};
use crate::error::{echo, ScimError};
use crate::handlers::{Ctx, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::resource::LIST_URN;
use crate::routes::SCIM_JSON;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scim_parser::schema::builtin;
use serde_json::{json, Value};

fn respond(body: &Value) -> Response {
    let mut response =
        (StatusCode::OK, serde_json::to_vec(body).unwrap_or_default()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

/// A built-in document with `meta.location` made absolute under this server's base.
fn document(text: &str, base: &str, endpoint: &str) -> Result<Value, ScimError> {
    let mut doc: Value = serde_json::from_str(text)
        .map_err(|err| ScimError::internal(format!("built-in discovery document: {err}")))?;
    let id = doc["id"].as_str().unwrap_or_default().to_string();
    doc["meta"]["location"] = json!(format!("{base}/{endpoint}/{id}"));
    Ok(doc)
}

fn schema_docs(base: &str) -> Result<Vec<Value>, ScimError> {
    [builtin::USER, builtin::GROUP, builtin::ENTERPRISE_USER]
        .into_iter()
        .map(|text| document(text, base, "Schemas"))
        .collect()
}

fn resource_type_docs(base: &str) -> Result<Vec<Value>, ScimError> {
    [builtin::RESOURCE_TYPE_USER, builtin::RESOURCE_TYPE_GROUP]
        .into_iter()
        .map(|text| document(text, base, "ResourceTypes"))
        .collect()
}

/// The service provider configuration (RFC 7643 section 5).
pub(crate) fn service_provider_config_json(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": MAX_OPERATIONS,
            "maxPayloadSize": MAX_PAYLOAD_SIZE,
        },
        "filter": {"supported": true, "maxResults": MAX_PAGE_SIZE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        // Index pagination limits, in the shape of draft-ietf-scim-cursor-pagination.
        "pagination": {
            "cursor": false,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_PAGE_SIZE,
            "maxPageSize": MAX_PAGE_SIZE,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token in the Authorization header (RFC 6750)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// `GET /ServiceProviderConfig`.
pub(crate) async fn service_provider_config(ctx: Ctx) -> Response {
    respond(&service_provider_config_json(&ctx.base))
}

/// `GET /Schemas`.
pub(crate) async fn schemas(ctx: Ctx) -> Result<Response, ScimError> {
    Ok(respond(&list(schema_docs(&ctx.base)?)))
}

/// `GET /Schemas/{urn}`.
pub(crate) async fn schema(ctx: Ctx, Path(id): Path<String>) -> Result<Response, ScimError> {
    schema_docs(&ctx.base)?
        .into_iter()
        .find(|doc| {
            doc["id"]
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case(&id))
        })
        .map(|doc| respond(&doc))
        .ok_or_else(|| ScimError::not_found(format!("no schema `{}`", echo(&id))))
}

/// `GET /ResourceTypes`.
pub(crate) async fn resource_types(ctx: Ctx) -> Result<Response, ScimError> {
    Ok(respond(&list(resource_type_docs(&ctx.base)?)))
}

/// `GET /ResourceTypes/{name}`.
pub(crate) async fn resource_type(ctx: Ctx, Path(id): Path<String>) -> Result<Response, ScimError> {
    resource_type_docs(&ctx.base)?
        .into_iter()
        .find(|doc| {
            doc["id"]
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case(&id))
        })
        .map(|doc| respond(&doc))
        .ok_or_else(|| ScimError::not_found(format!("no resource type `{}`", echo(&id))))
}
