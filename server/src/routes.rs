//! The router, the shared state, and the middleware around every handler: bearer-token
//! authentication (RFC 7644 section 2), the response media type (section 3.8, 8.1) and
//! turning framework errors into SCIM errors (section 3.12).

use crate::bulk::{self, MAX_PAYLOAD_SIZE};
use crate::error::{ScimError, ServerError};
use crate::fault::{Fault, Faults};
use crate::handlers::Dialects;
use crate::ratelimit::RateLimiter;
use crate::requests::{self, LogThread, LoggedRequest, RequestLog};
use crate::store::{Kind, Store};
use crate::{clock, discovery, handlers, Config, BASE_PATH};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use std::sync::Arc;

/// The SCIM media type (RFC 7644 section 8.1).
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// The challenge sent with every 401 (RFC 6750 section 3).
const CHALLENGE: &str = "Bearer realm=\"scim\"";

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) tenants: Arc<Vec<(String, String)>>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) log: RequestLog,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    /// The most operations one PATCH may hold ([`Config::max_patch_operations`]).
    pub(crate) max_patch_operations: usize,
}

/// The tenant a request authenticated as, put in the request extensions by [`auth`].
#[derive(Clone, Debug)]
pub(crate) struct Tenant(pub(crate) String);

/// The tenants of a config: the configured ones, or `default` with the default token.
pub(crate) fn tenants_of(config: &Config) -> Result<Vec<(String, String)>, ServerError> {
    if config.tenants.is_empty() {
        return Ok(vec![("default".into(), Config::default_token().into())]);
    }
    for (i, (name, token)) in config.tenants.iter().enumerate() {
        if token.is_empty() {
            return Err(ServerError::Config(format!(
                "tenant `{name}` has an empty token"
            )));
        }
        if name.trim().is_empty() {
            return Err(ServerError::Config(format!(
                "tenant {} has an empty name",
                i + 1
            )));
        }
        if config.tenants[..i].iter().any(|(other, _)| other == name) {
            return Err(ServerError::Config(format!(
                "tenant `{name}` is given twice; each tenant has one token"
            )));
        }
        if config.tenants[..i].iter().any(|(_, other)| other == token) {
            return Err(ServerError::Config(format!(
                "tenant `{name}` reuses another tenant's token"
            )));
        }
    }
    Ok(config.tenants.clone())
}

/// Builds the router over an opened store, and starts the request log's thread.
pub(crate) fn build(config: &Config) -> Result<(Router, LogThread), ServerError> {
    let limiter = match config.rate_limit {
        None => None,
        Some(rate) if rate.is_finite() && rate > 0.0 => Some(Arc::new(RateLimiter::new(rate))),
        Some(rate) => {
            return Err(ServerError::Config(format!(
                "the rate limit must be a positive number of requests per second, got {rate}"
            )))
        }
    };
    let max_patch_operations = match config.max_patch_operations {
        None => crate::DEFAULT_MAX_PATCH_OPERATIONS,
        Some(0) => {
            return Err(ServerError::Config(
                "the PATCH operation cap must be at least 1".to_string(),
            ))
        }
        Some(n) => n,
    };
    let tenants = Arc::new(tenants_of(config)?);
    let store = Store::open(config.db.as_deref())?;
    let (log, log_thread) = requests::open(store.connection())?;
    let state = AppState {
        store,
        tenants,
        faults: Arc::new(Faults::new(&config.faults)),
        log,
        limiter,
        max_patch_operations,
    };
    let scim = Router::new()
        .route(
            "/Users",
            get(|c, q| handlers::list(c, Kind::User, q))
                .post(|c, q, b| handlers::create(c, Kind::User, q, b)),
        )
        // A trailing slash is read as the collection itself (bug-18 saw one from Entra).
        .route(
            "/Users/",
            get(|c, q| handlers::list(c, Kind::User, q))
                .post(|c, q, b| handlers::create(c, Kind::User, q, b)),
        )
        .route(
            "/Users/.search",
            post(|c, b| handlers::search(c, Kind::User, b)),
        )
        .route(
            "/Users/{id}",
            get(|c, p, q| handlers::read(c, Kind::User, p, q))
                .put(|c, p, q, b| handlers::replace(c, Kind::User, p, q, b))
                .patch(|c, p, q, b| handlers::patch(c, Kind::User, p, q, b))
                .delete(|c, p| handlers::delete(c, Kind::User, p)),
        )
        .route(
            "/Groups",
            get(|c, q| handlers::list(c, Kind::Group, q))
                .post(|c, q, b| handlers::create(c, Kind::Group, q, b)),
        )
        // A trailing slash is read as the collection itself (bug-18 saw one from Entra).
        .route(
            "/Groups/",
            get(|c, q| handlers::list(c, Kind::Group, q))
                .post(|c, q, b| handlers::create(c, Kind::Group, q, b)),
        )
        .route(
            "/Groups/.search",
            post(|c, b| handlers::search(c, Kind::Group, b)),
        )
        .route(
            "/Groups/{id}",
            get(|c, p, q| handlers::read(c, Kind::Group, p, q))
                .put(|c, p, q, b| handlers::replace(c, Kind::Group, p, q, b))
                .patch(|c, p, q, b| handlers::patch(c, Kind::Group, p, q, b))
                .delete(|c, p| handlers::delete(c, Kind::Group, p)),
        )
        .route("/.search", post(handlers::search_root))
        .route("/Bulk", post(bulk::bulk))
        // Tokens name tenants, not users, so no request has a subject that maps to a
        // User; RFC 7644 section 3.11 then allows 501.
        .route(
            "/Me",
            any(|| {
                unsupported(
                    "the /Me alias (RFC 7644 section 3.11): bearer tokens here identify a \
                     tenant, not a user",
                )
            }),
        )
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let router = Router::new()
        .nest(BASE_PATH, scim)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_SIZE))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .with_state(state);
    Ok((router, log_thread))
}

/// Logs the request in the `requests` table and as one `tracing` line, after reading its
/// body (at most [`MAX_PAYLOAD_SIZE`] bytes; past that, 413).
async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let time = clock::now_rfc3339();
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let headers = requests::loggable_headers(&parts.headers);
    let (body, response) = match axum::body::to_bytes(body, MAX_PAYLOAD_SIZE).await {
        Ok(bytes) => {
            let request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
            (bytes, next.run(request).await)
        }
        Err(_) => {
            let err = ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!(
                    "the request body is larger than maxPayloadSize ({MAX_PAYLOAD_SIZE} bytes)"
                ),
            );
            (Bytes::new(), err.to_response(&state.faults))
        }
    };
    let tenant = response.extensions().get::<Tenant>().map(|t| t.0.clone());
    let dialects: Vec<String> = response
        .extensions()
        .get::<Dialects>()
        .map(|d| d.0.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        tenant = tenant.as_deref().unwrap_or("-"),
        %method,
        %path,
        status,
        ms = format_args!("{duration_ms:.1}"),
        dialects = %dialects.join(","),
        "request"
    );
    state.log.record(LoggedRequest {
        time,
        tenant,
        method,
        path,
        query,
        headers,
        body: body.to_vec(),
        status,
        duration_ms,
        dialects,
    });
    response
}

/// 501 for an optional feature this server does not offer (RFC 7644 sections 3.7, 3.11).
async fn unsupported(what: &'static str) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        format!("this server does not support {what}"),
    )
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ScimError {
    ScimError::not_found(format!("no endpoint {method} {}", uri.path()))
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the request by bearer token and records its tenant.
async fn auth(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = bearer(request.headers()).map(str::as_bytes);
    // Compare against every tenant without stopping early, so timing says nothing about
    // which tenant, if any, came close.
    let mut found: Option<&str> = None;
    if let Some(token) = token {
        for (name, expected) in state.tenants.iter() {
            if constant_time_eq(token, expected.as_bytes()) {
                found = Some(name);
            }
        }
    }
    let Some(tenant) = found else {
        let detail = if token.is_some() {
            "the bearer token is not valid"
        } else {
            "authentication required: send `Authorization: Bearer <token>`"
        };
        let mut err = ScimError::new(StatusCode::UNAUTHORIZED, None, detail);
        err.www_authenticate = Some(CHALLENGE);
        return err.to_response(&state.faults);
    };
    let tenant = Tenant(tenant.to_string());
    if let Some(limiter) = &state.limiter {
        if let Err(wait) = limiter.take(&tenant.0) {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let err = ScimError::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!(
                    "tenant `{}` is over its rate limit; retry in {secs} s",
                    tenant.0
                ),
            );
            let mut response = err.to_response(&state.faults);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            response.extensions_mut().insert(tenant);
            return response;
        }
    }
    request.extensions_mut().insert(tenant.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(tenant);
    response
}

/// Gives every response the SCIM media type, renders SCIM errors with the faults that are
/// on, and gives framework errors (405, 413, rejected path parameters) a SCIM body.
async fn finish(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let faults = Arc::clone(&state.faults);
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let mut response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    let status = response.status();
    if let Some(err) = response.extensions().get::<ScimError>().cloned() {
        let headers = response.headers().clone();
        response = err.to_response(&faults);
        for (name, value) in headers.iter() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    } else if status.is_client_error() || status.is_server_error() {
        let detail = match status {
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this endpoint".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_string(),
            other => other.canonical_reason().unwrap_or("error").to_lowercase(),
        };
        let allow = response.headers().get(header::ALLOW).cloned();
        response = ScimError::new(status, None, detail).to_response(&faults);
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    if !matches!(
        response.status(),
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        // FAULT(content-type-reversed): the media type spelled backwards.
        let media = if faults.on(Fault::ContentTypeReversed) {
            "application/json+scim"
        } else {
            SCIM_JSON
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    } else {
        response.headers_mut().remove(header::CONTENT_TYPE);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  t0k "),
        );
        assert_eq!(bearer(&headers), Some("t0k"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg=="),
        );
        assert_eq!(bearer(&headers), None);
    }
}
