//! What a running case can reach: the recording client, the run's name prefix, the
//! registry of created resources, and what the target advertised.

use crate::case::Problem;
use crate::client::{
    encode_segment, Auth, Client, Exchange, RateLimited, Reply, Request, TransportError,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The core User schema URN (RFC 7643 section 8.7.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN (RFC 7643 section 8.7.1).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The PatchOp message URN (RFC 7644 section 3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The ListResponse message URN (RFC 7644 section 3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The Error message URN (RFC 7644 section 3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The resource endpoints the suite creates things under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Endpoint {
    /// `/Users`
    Users,
    /// `/Groups`
    Groups,
}

impl Endpoint {
    /// The attribute that names a resource here: `userName` or `displayName`.
    pub fn name_attr(self) -> &'static str {
        match self {
            Endpoint::Users => "userName",
            Endpoint::Groups => "displayName",
        }
    }

    /// The path, e.g. `/Users`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Users => "/Users",
            Endpoint::Groups => "/Groups",
        }
    }
}

/// A resource this run created and must delete.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Created {
    /// Where it lives.
    pub endpoint: Endpoint,
    /// The id the server minted.
    pub id: String,
    /// The prefixed name it was created with.
    pub name: String,
    /// The attribute holding `name` (`userName`, `externalId` or `displayName`); the
    /// cleanup filters on it when the id is unknown.
    pub name_attr: String,
}

/// What `/ServiceProviderConfig` said (RFC 7643 section 5). Unknown `filter`, `patch` and
/// `etag` mean "assume yes" (the cases then find out); unknown `bulk`, `sort` and
/// `changePassword` mean "no", so their cases skip instead of sending what the target
/// never offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `filter.supported`.
    pub filter: bool,
    /// `patch.supported`.
    pub patch: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `bulk.supported`.
    pub bulk: bool,
    /// `bulk.maxOperations`, when given.
    pub bulk_max_operations: Option<u64>,
    /// `sort.supported`.
    pub sort: bool,
    /// `changePassword.supported`.
    pub change_password: bool,
    /// `filter.maxResults`, when given.
    pub max_results: Option<u64>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            filter: true,
            patch: true,
            etag: true,
            bulk: false,
            bulk_max_operations: None,
            sort: false,
            change_password: false,
            max_results: None,
        }
    }
}

impl Capabilities {
    /// Reads the capabilities from a ServiceProviderConfig body.
    pub fn from_config(config: &Value) -> Capabilities {
        let flag =
            |name: &str, unknown: bool| config[name]["supported"].as_bool().unwrap_or(unknown);
        Capabilities {
            filter: flag("filter", true),
            patch: flag("patch", true),
            etag: flag("etag", true),
            bulk: flag("bulk", false),
            bulk_max_operations: config["bulk"]["maxOperations"].as_u64(),
            sort: flag("sort", false),
            change_password: flag("changePassword", false),
            max_results: config["filter"]["maxResults"].as_u64(),
        }
    }
}

#[derive(Debug)]
struct Shared {
    client: Client,
    prefix: String,
    counter: AtomicU32,
    created: Mutex<Vec<Created>>,
    caps: Capabilities,
    second_token: Option<crate::token::Token>,
    seed: tokio::sync::OnceCell<Result<Vec<Value>, Problem>>,
}

/// A case's handle on the run. Cheap to clone; every request it sends is recorded in the
/// case's own exchange list.
#[derive(Clone, Debug)]
pub struct Cx {
    shared: Arc<Shared>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    violations: Arc<Mutex<Vec<String>>>,
    throttled: Arc<Mutex<Option<RateLimited>>>,
}

/// How a case's message starts when the target kept answering 429: the case was not
/// judged (see [`Cx::send`]).
pub const RATE_LIMITED: &str = "rate-limited, not judged";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these lists inconsistent; keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Cx {
    /// A context for a run using `prefix` for every name it creates.
    pub fn new(client: Client, prefix: String, caps: Capabilities) -> Cx {
        Cx {
            shared: Arc::new(Shared {
                client,
                prefix,
                counter: AtomicU32::new(0),
                created: Mutex::new(Vec::new()),
                caps,
                second_token: None,
                seed: tokio::sync::OnceCell::new(),
            }),
            exchanges: Arc::new(Mutex::new(Vec::new())),
            violations: Arc::new(Mutex::new(Vec::new())),
            throttled: Arc::new(Mutex::new(None)),
        }
    }

    /// The same context with a bearer token of a second tenant, for the isolation cases;
    /// call it before the first [`Cx::for_case`].
    pub fn with_second_token(mut self, token: Option<crate::token::Token>) -> Cx {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.second_token = token,
            None => tracing::error!("with_second_token after the context was shared; ignored"),
        }
        self
    }

    /// The second tenant's `Authorization` value, or a skip saying how to give one.
    pub fn second_tenant_auth(&self) -> Result<Auth, Problem> {
        match &self.shared.second_token {
            Some(token) => Ok(Auth::Raw(format!("Bearer {}", token.expose()))),
            None => Err(Problem::skip(
                "no second tenant's token was given (`run --second-token-env VAR`)",
            )),
        }
    }

    /// The users seeded once per run for the differential filter cases, created by
    /// `create` on first use; every later caller gets the same set (or the same error).
    pub async fn seeded<F, Fut>(&self, create: F) -> Result<Vec<Value>, Problem>
    where
        F: FnOnce(Cx) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Value>, Problem>>,
    {
        let cx = self.clone();
        self.shared.seed.get_or_init(|| create(cx)).await.clone()
    }

    /// Skips the case unless the target advertises Bulk.
    pub fn require_bulk(&self) -> Result<(), Problem> {
        self.require(self.shared.caps.bulk, "bulk")
    }

    /// Skips the case unless the target advertises sorting.
    pub fn require_sort(&self) -> Result<(), Problem> {
        self.require(self.shared.caps.sort, "sort")
    }

    /// Skips the case unless the target advertises password changes.
    pub fn require_change_password(&self) -> Result<(), Problem> {
        self.require(self.shared.caps.change_password, "changePassword")
    }

    fn require(&self, supported: bool, feature: &str) -> Result<(), Problem> {
        if supported {
            Ok(())
        } else {
            Err(Problem::skip(format!(
                "the target's ServiceProviderConfig does not advertise {feature}.supported"
            )))
        }
    }

    /// The same run with a fresh, empty exchange list (one per case).
    pub fn for_case(&self) -> Cx {
        Cx {
            shared: Arc::clone(&self.shared),
            exchanges: Arc::new(Mutex::new(Vec::new())),
            violations: Arc::new(Mutex::new(Vec::new())),
            throttled: Arc::new(Mutex::new(None)),
        }
    }

    /// Takes the exchanges recorded so far.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        std::mem::take(&mut *lock(&self.exchanges))
    }

    /// What the target advertised.
    pub fn caps(&self) -> &Capabilities {
        &self.shared.caps
    }

    /// The run's prefix, e.g. `scimconf-1a2b3c4d-`.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// A fresh name carrying the run's prefix: `scimconf-1a2b3c4d-<slug>-<n>`.
    pub fn name(&self, slug: &str) -> String {
        let n = self.shared.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{slug}-{n}", self.shared.prefix)
    }

    /// Skips the case unless the target advertises filtering.
    pub fn require_filter(&self) -> Result<(), Problem> {
        if self.shared.caps.filter {
            Ok(())
        } else {
            Err(Problem::skip(
                "the target's ServiceProviderConfig says filter.supported is false",
            ))
        }
    }

    /// Skips the case unless the target advertises ETags.
    pub fn require_etag(&self) -> Result<(), Problem> {
        if self.shared.caps.etag {
            Ok(())
        } else {
            Err(Problem::skip(
                "the target's ServiceProviderConfig says etag.supported is false",
            ))
        }
    }

    /// Skips the case unless the target advertises PATCH.
    pub fn require_patch(&self) -> Result<(), Problem> {
        if self.shared.caps.patch {
            Ok(())
        } else {
            Err(Problem::skip(
                "the target's ServiceProviderConfig says patch.supported is false",
            ))
        }
    }

    /// Sends a request, records the exchange, checks the body against the JSON Schema of
    /// its message type ([`crate::shape`]), and turns a transport failure into an error.
    ///
    /// A target answering 429 is waited out ([`Client::send_patiently`]); one that keeps
    /// answering 429 makes the request an error and marks the case rate-limited
    /// ([`Cx::rate_limited`]), so its outcome says "not judged" instead of judging the
    /// throttle.
    pub async fn send(&self, request: Request) -> Result<Reply, Problem> {
        let exchanges = Arc::clone(&self.exchanges);
        let mut record = move |exchange| lock(&exchanges).push(exchange);
        let result = match self
            .shared
            .client
            .send_patiently(&request, &mut record)
            .await
        {
            Ok(result) => result,
            Err(limited) => {
                let message = format!(
                    "{RATE_LIMITED}: {} {}: {limited}",
                    request.method, request.path
                );
                lock(&self.throttled).get_or_insert(limited);
                return Err(Problem::error(message));
            }
        };
        let reply = result.map_err(|e: TransportError| {
            Problem::error(format!("{} {}: {e}", request.method, request.path))
        })?;
        let found = crate::shape::check_reply(&request.path, reply.status, &reply.body)
            .map_err(|e| Problem::error(format!("the corpus schemas are broken: {e}")))?;
        if !found.is_empty() {
            let mut list = lock(&self.violations);
            for violation in found {
                list.push(format!(
                    "{} {} answered {}: {violation}",
                    request.method, request.path, reply.status
                ));
            }
        }
        Ok(reply)
    }

    /// The first request of this case that the target kept answering 429, if any.
    pub fn rate_limited(&self) -> Option<RateLimited> {
        lock(&self.throttled).clone()
    }

    /// Takes the schema violations recorded so far (see [`Cx::send`]).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.violations))
    }

    /// Sends a corpus variant (`corpus/idp/<name>.json`) with its placeholders filled.
    pub async fn send_variant(
        &self,
        name: &str,
        values: &[(&str, &str)],
    ) -> Result<Reply, Problem> {
        let request = crate::variants::Variant::load(name)?.request(values)?;
        self.send(request).await
    }

    /// `GET path` with optional query pairs.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Reply, Problem> {
        let mut request = Request::new(reqwest::Method::GET, path);
        request.query = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.send(request).await
    }

    /// `GET /<endpoint>?filter=<filter>`.
    pub async fn filter(&self, endpoint: Endpoint, filter: &str) -> Result<Reply, Problem> {
        self.get(endpoint.path(), &[("filter", filter)]).await
    }

    /// Sends `body` as JSON with `method` to `path`.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Reply, Problem> {
        let mut request = Request::new(method, path);
        request.body = Some(body.to_string());
        self.send(request).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, Problem> {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// `PATCH /<endpoint>/<id>` with a PatchOp body holding `operations`.
    pub async fn patch(
        &self,
        endpoint: Endpoint,
        id: &str,
        operations: Value,
    ) -> Result<Reply, Problem> {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        self.send_json(reqwest::Method::PATCH, &resource_path(endpoint, id), &body)
            .await
    }

    /// `GET /<endpoint>/<id>`.
    pub async fn read(&self, endpoint: Endpoint, id: &str) -> Result<Reply, Problem> {
        self.get(&resource_path(endpoint, id), &[]).await
    }

    /// `GET /<endpoint>/<id>`, requiring 200 and a JSON body.
    pub async fn read_ok(&self, endpoint: Endpoint, id: &str) -> Result<Value, Problem> {
        let reply = self.read(endpoint, id).await?;
        reply.expect_status(&[200])?;
        reply.json()
    }

    /// `DELETE /<endpoint>/<id>`. The resource stays tracked: the cleanup deletes it again
    /// and counts a 404 as gone, so a server that answers 204 without deleting leaks nothing.
    pub async fn delete(&self, endpoint: Endpoint, id: &str) -> Result<Reply, Problem> {
        let request = Request::new(reqwest::Method::DELETE, resource_path(endpoint, id));
        self.send(request).await
    }

    /// Sends `request` without any `Authorization` header.
    pub async fn send_with_auth(&self, mut request: Request, auth: Auth) -> Result<Reply, Problem> {
        request.auth = auth;
        self.send(request).await
    }

    /// Remembers a created resource so the run deletes it at the end; `name` is its
    /// userName (Users) or displayName (Groups).
    pub fn track(&self, endpoint: Endpoint, id: &str, name: &str) {
        self.track_as(endpoint, id, endpoint.name_attr(), name);
    }

    /// Remembers a resource created by other means (Bulk); an empty `id` makes the
    /// cleanup look it up by `name` (its userName or displayName).
    pub fn track_named(&self, endpoint: Endpoint, id: &str, name: &str) {
        self.track_as(endpoint, id, endpoint.name_attr(), name);
    }

    fn track_as(&self, endpoint: Endpoint, id: &str, name_attr: &str, name: &str) {
        lock(&self.shared.created).push(Created {
            endpoint,
            id: id.to_owned(),
            name: name.to_owned(),
            name_attr: name_attr.to_owned(),
        });
    }

    /// Tracks whatever a create's reply says was created; `name` is the userName (Users)
    /// or displayName (Groups) sent. A 2xx without a readable id is tracked by name, and
    /// the cleanup looks it up by that name.
    pub fn track_reply(&self, endpoint: Endpoint, reply: &Reply, name: &str) {
        self.track_reply_as(endpoint, reply, endpoint.name_attr(), name);
    }

    fn track_reply_as(&self, endpoint: Endpoint, reply: &Reply, name_attr: &str, name: &str) {
        if !(200..300).contains(&reply.status) {
            return;
        }
        let id = serde_json::from_str::<Value>(&reply.body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        if id.is_none() {
            tracing::warn!(%name, "a create succeeded without a readable id; cleanup will look it up by name");
        }
        self.track_as(endpoint, id.as_deref().unwrap_or(""), name_attr, name);
    }

    /// Forgets a resource that is already gone.
    pub fn forget(&self, endpoint: Endpoint, id: &str) {
        lock(&self.shared.created).retain(|c| !(c.endpoint == endpoint && c.id == id));
    }

    /// Everything created and not yet deleted, oldest first.
    pub fn created(&self) -> Vec<Created> {
        lock(&self.shared.created).clone()
    }

    /// A minimal User body whose userName, externalId and email carry the run prefix.
    pub fn user_body(&self, slug: &str) -> Value {
        let name = self.name(slug);
        json!({
            "schemas": [USER_SCHEMA],
            "userName": format!("{name}@example.com"),
            "externalId": format!("{name}-ext"),
            "displayName": format!("{name} display"),
            "name": {"givenName": "Given", "familyName": "Family"},
            "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
            "active": true
        })
    }

    /// POSTs a User body, tracking whatever the server creates. Returns the reply; when it
    /// is a 201 with an id, the resource is tracked for cleanup.
    pub async fn post_user(&self, body: &Value) -> Result<Reply, Problem> {
        self.post_tracked(Endpoint::Users, body).await
    }

    /// POSTs a Group body, tracking whatever the server creates.
    pub async fn post_group(&self, body: &Value) -> Result<Reply, Problem> {
        self.post_tracked(Endpoint::Groups, body).await
    }

    async fn post_tracked(&self, endpoint: Endpoint, body: &Value) -> Result<Reply, Problem> {
        let reply = self.post(endpoint.path(), body).await?;
        // A body without its usual name (a negative case) is tracked by externalId.
        let attr = [endpoint.name_attr(), "externalId"]
            .into_iter()
            .find(|attr| body[*attr].is_string())
            .unwrap_or(endpoint.name_attr());
        self.track_reply_as(
            endpoint,
            &reply,
            attr,
            body[attr].as_str().unwrap_or_default(),
        );
        Ok(reply)
    }

    /// Creates a user for a case's setup; any failure is an error of the case, not a fail.
    pub async fn create_user(&self, slug: &str) -> Result<Value, Problem> {
        let body = self.user_body(slug);
        let created = self
            .create_checked(Endpoint::Users, &body)
            .await
            .map_err(|p| p.in_setup("create user"))?;
        Ok(created)
    }

    /// Creates a user from a caller-built body (its names must carry the run prefix).
    pub async fn create_user_with(&self, body: &Value) -> Result<Value, Problem> {
        self.create_checked(Endpoint::Users, body)
            .await
            .map_err(|p| p.in_setup("create user"))
    }

    /// Creates a group with the given member ids for a case's setup.
    pub async fn create_group(&self, slug: &str, members: &[&str]) -> Result<Value, Problem> {
        let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": self.name(slug)});
        if !members.is_empty() {
            body["members"] = members.iter().map(|id| json!({"value": id})).collect();
        }
        self.create_checked(Endpoint::Groups, &body)
            .await
            .map_err(|p| p.in_setup("create group"))
    }

    /// Creates `n` minimal users (`<prefix><slug>-<i>`) with a few requests in flight at
    /// once, for cases that need many members; returns their ids in creation order. Any
    /// failure is a setup error naming the user.
    pub async fn create_users(&self, slug: &str, n: usize) -> Result<Vec<String>, Problem> {
        const IN_FLIGHT: usize = 8;
        let mut ids = vec![String::new(); n];
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < n || !tasks.is_empty() {
            while next < n && tasks.len() < IN_FLIGHT {
                let cx = self.clone();
                let name = self.name(slug);
                let index = next;
                tasks.spawn(async move {
                    let body = json!({
                        "schemas": [USER_SCHEMA],
                        "userName": format!("{name}@example.com"),
                        "externalId": format!("{name}-ext"),
                        "active": true
                    });
                    (index, cx.create_checked(Endpoint::Users, &body).await)
                });
                next += 1;
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (index, created) = joined
                .map_err(|e| Problem::error(format!("setup: a user-creating task failed: {e}")))?;
            let created =
                created.map_err(|p| p.in_setup(&format!("create user {index} of {n}")))?;
            ids[index] = id_of(&created).to_owned();
        }
        Ok(ids)
    }

    async fn create_checked(&self, endpoint: Endpoint, body: &Value) -> Result<Value, Problem> {
        let reply = match endpoint {
            Endpoint::Users => self.post_user(body).await?,
            Endpoint::Groups => self.post_group(body).await?,
        };
        reply.expect_status(&[201])?;
        let mut created = reply.json()?;
        if created["id"].as_str().is_none_or(str::is_empty) {
            return Err(Problem::broken(
                "an `id` string in the created resource",
                reply.describe(),
            ));
        }
        // Keep the request's names handy for lookups even if the server dropped them.
        if let (Some(obj), Some(src)) = (created.as_object_mut(), body.as_object()) {
            for key in ["userName", "externalId", "displayName"] {
                if let Some(v) = src.get(key) {
                    obj.entry(key).or_insert_with(|| v.clone());
                }
            }
        }
        Ok(created)
    }
}

/// `/<endpoint>/<encoded id>`.
pub fn resource_path(endpoint: Endpoint, id: &str) -> String {
    format!("{}/{}", endpoint.path(), encode_segment(id))
}

/// The `id` string of a resource (callers checked it exists).
pub fn id_of(resource: &Value) -> &str {
    resource["id"].as_str().unwrap_or_default()
}

/// A string attribute of a resource (empty when absent).
pub fn str_of<'a>(resource: &'a Value, name: &str) -> &'a str {
    resource[name].as_str().unwrap_or_default()
}
