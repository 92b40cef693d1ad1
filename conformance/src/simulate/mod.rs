//! `scim-conformance simulate`: provisioning at scale. Owns the whole run: a deterministic
//! population ([`population`]), the IdP's request shapes and batch sizes ([`dialect`]),
//! pacing, retries and statistics ([`engine`]), the initial sync and the incremental
//! cycles (here), the read-back after each cycle ([`reconcile`]), outages and re-drives
//! ([`outage`]), the rate-limit search ([`limit`]), the final report ([`report`]), one
//! shard of a population split over several processes ([`shard`]) and the merge of the
//! shards' reports ([`merge`]).
//!
//! Safety: every user and group the simulation creates carries the run prefix
//! (`scimsim-<random8>-`, or `scimsim-<run-id>-` for `--run-id`) in its userName or
//! displayName; the read-back filters on that prefix, and the run deletes what it created
//! unless `keep` is set (a shard deletes only the users and groups it owns).

pub mod dialect;
pub mod engine;
pub mod limit;
pub mod merge;
pub mod outage;
pub mod population;
pub mod reconcile;
pub mod report;
pub mod shard;

use dialect::{Dialect, Field, Requests};
use engine::{Engine, Failure, OpKind};
use population::{Change, Directory, Rates, Shape};
use reconcile::Reconciliation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shard::Shard;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many operation failures the report lists (all are counted).
const FAILURES_LISTED: usize = 200;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Population.
    pub shape: Shape,
    /// The IdP.
    pub dialect: Dialect,
    /// Incremental cycles after the initial sync.
    pub cycles: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-cycle change rates.
    pub rates: Rates,
    /// Read back and compare after each cycle.
    pub reconcile: bool,
    /// Leave what the run created on the target.
    pub keep: bool,
    /// The run prefix.
    pub prefix: String,
    /// Progress on stderr.
    pub progress: bool,
    /// `--shard K/N`: the part of the population this process provisions.
    pub shard: Option<Shard>,
    /// How long a shard waits for what other shards create (and, at cleanup, delete).
    pub shard_wait: Duration,
}

impl Options {
    /// The change rates an IdP's cycle shows: hard deletes only where the IdP does them.
    pub fn default_rates(dialect: Dialect) -> Rates {
        Rates {
            attributes: 0.02,
            moves: 0.01,
            leavers: 0.01,
            rehire: 0.5,
            deletes: if dialect.facts().hard_deletes.value {
                0.005
            } else {
                0.0
            },
        }
    }
}

/// A fresh run prefix: `scimsim-` plus 8 hex digits from the clock and the process id.
pub fn fresh_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = population::Rng::new(nanos ^ u64::from(std::process::id()), 99);
    format!("scimsim-{:08x}-", rng.next_u64() as u32)
}

/// An operation that failed for good (after the IdP's retries).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpFailure {
    /// Phase, e.g. `initial/users` or `cycle 2/members`.
    pub phase: String,
    /// Operation kind.
    pub kind: OpKind,
    /// userName or group displayName.
    pub subject: String,
    /// Status and body start, or the transport error.
    pub error: String,
}

/// Wall time of one phase.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Phase {
    /// Name.
    pub name: String,
    /// Seconds.
    pub seconds: f64,
    /// Requests sent during it (retries included).
    pub requests: u64,
}

/// A reconciliation after a cycle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CycleCheck {
    /// `initial`, `cycle N`, `outage`, `replay`.
    pub after: String,
    /// Whether it counts toward the verdict (a read-back during an outage does not).
    pub counts: bool,
    /// The result.
    #[serde(flatten)]
    pub result: Reconciliation,
}

/// Progress counters the printer reads.
#[derive(Debug, Default)]
pub struct Progress {
    phase: Mutex<(String, Option<Instant>)>,
    done: AtomicUsize,
    total: AtomicUsize,
}

/// The progress of the current phase at one moment.
pub struct Snapshot {
    /// Phase name.
    pub phase: String,
    /// Items done.
    pub done: usize,
    /// Items in the phase.
    pub total: usize,
    /// Time in the phase.
    pub elapsed: Duration,
}

impl Snapshot {
    /// Time left in the phase at its rate so far (none before the first item).
    pub fn eta(&self) -> Option<Duration> {
        if self.done == 0 || self.total < self.done {
            return None;
        }
        let per_item = self.elapsed.as_secs_f64() / self.done as f64;
        Some(Duration::from_secs_f64(
            per_item * (self.total - self.done) as f64,
        ))
    }
}

impl Progress {
    fn start(&self, phase: &str, total: usize) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) =
            (phase.to_owned(), Some(Instant::now()));
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// The current phase's progress.
    pub fn snapshot(&self) -> Snapshot {
        let (phase, since) = self.phase.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Snapshot {
            phase,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            elapsed: since.map_or(Duration::ZERO, |t| t.elapsed()),
        }
    }

    fn tick(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Everything the workers share during a run.
pub struct Run {
    /// Sender.
    pub engine: Arc<Engine>,
    /// Request builders.
    pub requests: Requests,
    /// User ids the target minted, by user index (this shard's users only).
    pub user_ids: Mutex<Vec<Option<String>>>,
    /// Group ids, by group index (this shard's groups only).
    pub group_ids: Mutex<Vec<Option<String>>>,
    /// Ids of other shards' users and groups this shard looked up (never deleted by it).
    foreign_user_ids: Mutex<Vec<Option<String>>>,
    foreign_group_ids: Mutex<Vec<Option<String>>>,
    /// The shard, if any.
    pub shard: Option<Shard>,
    shard_wait: Duration,
    /// Set when a wait for another shard's user or group ran out: later waits give up at
    /// once (see `shard::poll`).
    shard_gave_up: AtomicBool,
    /// Failures, the first 200.
    pub failures: Mutex<Vec<OpFailure>>,
    /// All failures.
    pub failure_count: AtomicUsize,
    /// Progress.
    pub progress: Progress,
    /// Set by Ctrl-C: the run stops starting new work and cleans up.
    pub interrupt: Arc<AtomicBool>,
    concurrency: usize,
}

impl Run {
    /// A run over `engine`.
    pub fn new(
        engine: Arc<Engine>,
        dialect: Dialect,
        dir: &Directory,
        concurrency: usize,
        interrupt: Arc<AtomicBool>,
    ) -> Result<Run, String> {
        Ok(Run {
            engine,
            requests: Requests::new(dialect)?,
            user_ids: Mutex::new(vec![None; dir.users.len()]),
            group_ids: Mutex::new(vec![None; dir.groups.len()]),
            foreign_user_ids: Mutex::new(vec![None; dir.users.len()]),
            foreign_group_ids: Mutex::new(vec![None; dir.groups.len()]),
            shard: None,
            shard_wait: Duration::from_secs(300),
            shard_gave_up: AtomicBool::new(false),
            failures: Mutex::new(Vec::new()),
            failure_count: AtomicUsize::new(0),
            progress: Progress::default(),
            interrupt,
            concurrency: concurrency.max(1),
        })
    }

    fn fail(&self, phase: &str, kind: OpKind, subject: &str, error: impl ToString) {
        self.failure_count.fetch_add(1, Ordering::Relaxed);
        let mut list = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if list.len() < FAILURES_LISTED {
            list.push(OpFailure {
                phase: phase.to_owned(),
                kind,
                subject: subject.to_owned(),
                error: error.to_string(),
            });
        }
    }

    /// Makes this run shard `shard` of a sharded run.
    pub fn with_shard(mut self, shard: Option<Shard>, wait: Duration) -> Run {
        self.shard = shard;
        self.shard_wait = wait;
        self
    }

    /// Ids of other shards' users this shard looked up, with their index.
    fn foreign_users(&self) -> Vec<(String, usize)> {
        let ids = self
            .foreign_user_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ids.iter()
            .enumerate()
            .filter_map(|(i, id)| Some((id.clone()?, i)))
            .collect()
    }

    fn owns_user(&self, i: usize) -> bool {
        shard::owns_user(self.shard, i)
    }

    fn owns_group(&self, g: usize) -> bool {
        shard::owns_group(self.shard, g)
    }

    fn user_id(&self, i: usize) -> Option<String> {
        if self.owns_user(i) {
            self.user_ids.lock().unwrap_or_else(|p| p.into_inner())[i].clone()
        } else {
            self.foreign_user_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())[i]
                .clone()
        }
    }

    /// The id of user `i`; another shard's user is looked up (waiting for its owner to
    /// create it) and remembered.
    async fn resolve_user(&self, dir: &Directory, i: usize) -> Result<String, Failure> {
        if let Some(id) = self.user_id(i) {
            return Ok(id);
        }
        if self.owns_user(i) {
            return Err(Failure::Transport(
                "no id: the user was never created".into(),
            ));
        }
        let id = shard::find_user(
            &self.engine,
            &self.requests,
            dir,
            i,
            self.shard_wait,
            &self.interrupt,
            &self.shard_gave_up,
        )
        .await?;
        self.foreign_user_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())[i] = Some(id.clone());
        Ok(id)
    }

    /// The id of group `g`, owned or another shard's (looked up and remembered).
    async fn resolve_group(&self, dir: &Directory, g: usize) -> Result<String, Failure> {
        if let Some(id) = self.group_id(g) {
            return Ok(id);
        }
        if self.owns_group(g) {
            return Err(Failure::Transport(
                "no id: the group was never created".into(),
            ));
        }
        let id = shard::find_group(
            &self.engine,
            dir,
            g,
            self.shard_wait,
            &self.interrupt,
            &self.shard_gave_up,
        )
        .await?;
        self.foreign_group_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())[g] = Some(id.clone());
        Ok(id)
    }

    fn set_user_id(&self, i: usize, id: String) {
        self.user_ids.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(id);
    }

    fn group_id(&self, g: usize) -> Option<String> {
        if self.owns_group(g) {
            self.group_ids.lock().unwrap_or_else(|p| p.into_inner())[g].clone()
        } else {
            self.foreign_group_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())[g]
                .clone()
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }
}

/// Runs `work` over `items` with `concurrency` workers; each worker takes the next item
/// when it finishes one.
pub async fn for_each<T, F, Fut>(concurrency: usize, items: Vec<T>, work: F)
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let work = Arc::new(work);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let queue = Arc::clone(&queue);
        let work = Arc::clone(&work);
        set.spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                match next {
                    Some(item) => work(item).await,
                    None => break,
                }
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined {
            tracing::error!(%e, "a simulate worker panicked");
        }
    }
}

/// The JSON body of a reply, or a failure naming the status.
fn json_of(reply: &crate::client::Reply) -> Result<Value, Failure> {
    serde_json::from_str(&reply.body).map_err(|e| {
        Failure::Status(
            reply.status,
            format!(
                "body is not JSON ({e}): {}",
                crate::client::snippet(&reply.body)
            ),
        )
    })
}

/// Lookup, then match (and correct what differs) or create: what an IdP does for every
/// user of an initial cycle, and again when it re-drives one.
async fn ensure_user(run: &Run, dir: &Directory, i: usize, phase: &str) {
    let user = &dir.users[i];
    if user.deleted {
        return;
    }
    let result: Result<(), Failure> = async {
        let lookup = run.requests.lookup_user(user).map_err(Failure::Transport)?;
        let reply = run.engine.call_ok(OpKind::LookupUser, &lookup).await?;
        let found = json_of(&reply)?;
        let resources = found["Resources"].as_array().cloned().unwrap_or_default();
        if resources.len() > 1 {
            // Entra: DuplicateTargetEntries; it does not pick one (MS-LOGS).
            return Err(Failure::Status(
                200,
                format!("the lookup matched {} users", resources.len()),
            ));
        }
        if let Some(existing) = resources.first() {
            let id = existing["id"].as_str().unwrap_or_default().to_owned();
            run.set_user_id(i, id.clone());
            let fields = differing(dir, user, existing);
            if !fields.is_empty() {
                update_user(run, dir, i, &id, &fields, phase).await;
            }
            return Ok(());
        }
        let create = run
            .requests
            .create_user(dir, user)
            .map_err(Failure::Transport)?;
        let reply = run.engine.call(OpKind::CreateUser, &create).await?;
        if reply.status == 409 {
            // Entra logs EntryConflict and matches on the next cycle's lookup (MS-LOGS,
            // Q&A 1151866): do that lookup now.
            let reply = run.engine.call_ok(OpKind::LookupUser, &lookup).await?;
            let found = json_of(&reply)?;
            if let Some(id) = found["Resources"][0]["id"].as_str() {
                run.set_user_id(i, id.to_owned());
                return Ok(());
            }
            return Err(Failure::Status(
                409,
                "conflict, yet the lookup finds no user".into(),
            ));
        }
        if !(200..300).contains(&reply.status) {
            return Err(Failure::Status(
                reply.status,
                crate::client::snippet(&reply.body),
            ));
        }
        let created = json_of(&reply)?;
        match created["id"].as_str() {
            Some(id) => {
                run.set_user_id(i, id.to_owned());
                Ok(())
            }
            None => Err(Failure::Status(
                reply.status,
                "the created user has no id".into(),
            )),
        }
    }
    .await;
    if let Err(e) = result {
        run.fail(phase, OpKind::CreateUser, &user.user_name, e);
    }
}

/// The fields whose target value differs from the directory (for a matched user).
fn differing(dir: &Directory, user: &population::User, actual: &Value) -> Vec<Field> {
    let ext = &actual[dialect::ENTERPRISE];
    let mut fields = Vec::new();
    if actual["displayName"].as_str() != Some(&user.display_name) {
        fields.push(Field::DisplayName);
    }
    if actual["title"].as_str() != Some(&user.title) {
        fields.push(Field::Title);
    }
    if ext["department"].as_str() != Some(&dir.department_name(user)) {
        fields.push(Field::Department);
    }
    if actual["active"].as_bool() != Some(user.active) {
        fields.push(Field::Active);
    }
    fields
}

/// Sends an update of `fields` the dialect's way: PATCH (Entra), GET + PUT (Okta), PUT
/// (OneLogin).
async fn update_user(
    run: &Run,
    dir: &Directory,
    i: usize,
    id: &str,
    fields: &[Field],
    phase: &str,
) {
    let user = &dir.users[i];
    let manager_id = user.manager.and_then(|m| run.user_id(m));
    let kind = if fields == [Field::Manager] {
        OpKind::SetManager
    } else if fields == [Field::Active] {
        if user.active {
            OpKind::Reactivate
        } else {
            OpKind::Deactivate
        }
    } else {
        OpKind::UpdateUser
    };
    let result: Result<(), Failure> = async {
        let facts = run.requests.dialect().facts();
        if !facts.update_by_put.value {
            let requests = run
                .requests
                .patch_user(dir, user, id, fields, manager_id.as_deref())
                .map_err(Failure::Transport)?;
            for request in requests {
                run.engine.call_ok(kind, &request).await?;
            }
            return Ok(());
        }
        if run.requests.dialect() == Dialect::Okta && fields == [Field::Active] {
            // Okta (de)activates by PATCH even in OIN integrations (OKTA-REF).
            let request = run
                .requests
                .set_active(id, user.active)
                .map_err(Failure::Transport)?;
            run.engine.call_ok(kind, &request).await?;
            return Ok(());
        }
        let current = if run.requests.dialect() == Dialect::Okta {
            let get = run.requests.get_user(id).map_err(Failure::Transport)?;
            let reply = run.engine.call_ok(OpKind::GetUser, &get).await?;
            Some(json_of(&reply)?)
        } else {
            None
        };
        let put = run
            .requests
            .put_user(dir, user, id, manager_id.as_deref(), current.as_ref())
            .map_err(Failure::Transport)?;
        run.engine.call_ok(kind, &put).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        run.fail(phase, kind, &user.user_name, e);
    }
}

/// Creates (or matches) a group and pushes its members in the dialect's batches.
async fn ensure_group(run: &Run, dir: &Directory, g: usize, phase: &str) {
    let group = &dir.groups[g];
    let owned = run.owns_group(g);
    let result: Result<(), Failure> = async {
        let id = match run.group_id(g) {
            Some(id) => id,
            None if owned => {
                let id = create_group(run, dir, g).await?;
                run.group_ids.lock().unwrap_or_else(|p| p.into_inner())[g] = Some(id.clone());
                id
            }
            // Another shard's group: found once its owner has created it.
            None => run.resolve_group(dir, g).await?,
        };
        // Each shard adds its own users, in every group.
        let members: Vec<(String, String)> = group
            .members
            .iter()
            .filter(|&&m| run.owns_user(m))
            .filter_map(|&m| {
                run.user_id(m)
                    .map(|id| (id, dir.users[m].user_name.clone()))
            })
            .collect();
        push_members(run, &id, &group.display_name, &[], &members).await
    }
    .await;
    if let Err(e) = result {
        let kind = if owned {
            OpKind::CreateGroup
        } else {
            OpKind::LookupGroup
        };
        run.fail(phase, kind, &group.display_name, e);
    }
}

/// Matches or creates group `g`. A create that fails in transport or with a 5xx is not
/// re-POSTed blindly: the IdP re-drives the group from its lookup (Entra matches groups by
/// displayName every cycle, MS-TUT), so a lost 201 is found instead of duplicated.
/// Dialects without a group lookup (Okta, OneLogin) re-POST.
async fn create_group(run: &Run, dir: &Directory, g: usize) -> Result<String, Failure> {
    let group = &dir.groups[g];
    let lookup = run.requests.dialect().facts().group_lookup.value;
    let mut last = Failure::Transport("not tried".into());
    for attempt in 0..=run.engine.retries_5xx() {
        if attempt > 0 {
            tokio::time::sleep(run.engine.backoff(attempt - 1)).await;
        }
        if lookup {
            let request = run
                .requests
                .lookup_group(&group.display_name)
                .map_err(Failure::Transport)?;
            let reply = run.engine.call_ok(OpKind::LookupGroup, &request).await?;
            let found = json_of(&reply)?;
            if let Some(id) = found["Resources"][0]["id"].as_str() {
                return Ok(id.to_owned());
            }
        }
        let create = run
            .requests
            .create_group(&group.display_name, &group.external_id)
            .map_err(Failure::Transport)?;
        let retries = if lookup { 0 } else { run.engine.retries_5xx() };
        match run
            .engine
            .call_with(OpKind::CreateGroup, &create, retries)
            .await
        {
            Ok(reply) if (200..300).contains(&reply.status) => {
                return json_of(&reply)?["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        Failure::Status(reply.status, "the created group has no id".into())
                    });
            }
            Ok(reply) if reply.status >= 500 && lookup => {
                last = Failure::Status(reply.status, crate::client::snippet(&reply.body));
            }
            Ok(reply) => {
                return Err(Failure::Status(
                    reply.status,
                    crate::client::snippet(&reply.body),
                ))
            }
            Err(e) if lookup => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Membership removes then adds on one group, then the dialect's follow-up (Okta's rename).
async fn push_members(
    run: &Run,
    gid: &str,
    name: &str,
    removes: &[String],
    adds: &[(String, String)],
) -> Result<(), Failure> {
    if !removes.is_empty() {
        for request in run
            .requests
            .remove_members(gid, removes)
            .map_err(Failure::Transport)?
        {
            let reply = run.engine.call(OpKind::RemoveMembers, &request).await?;
            // A re-driven remove of a member already gone: RFC 7644 section 3.5.2.2
            // `noTarget`; the state the IdP wants holds, so it is not a failure.
            let gone = reply.status == 400 && reply.body.contains("noTarget");
            if !(200..300).contains(&reply.status) && !gone {
                return Err(Failure::Status(
                    reply.status,
                    crate::client::snippet(&reply.body),
                ));
            }
        }
    }
    if !adds.is_empty() {
        for request in run
            .requests
            .add_members(gid, adds)
            .map_err(Failure::Transport)?
        {
            run.engine.call_ok(OpKind::AddMembers, &request).await?;
        }
    }
    if removes.is_empty() && adds.is_empty() {
        return Ok(());
    }
    if let Some(rename) = run.requests.after_membership(gid, name) {
        let rename = rename.map_err(Failure::Transport)?;
        run.engine.call_ok(OpKind::RenameGroup, &rename).await?;
    }
    Ok(())
}

/// Runs `work(i)` for every index with the run's workers, under a progress phase.
async fn phase_over<F, Fut>(run: &Arc<Run>, name: &str, items: Vec<usize>, work: F)
where
    F: Fn(Arc<Run>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run.progress.start(name, items.len());
    let r = Arc::clone(run);
    for_each(run.concurrency, items, move |i| {
        let r = Arc::clone(&r);
        let fut = work(Arc::clone(&r), i);
        async move {
            if !r.interrupted() {
                fut.await;
            }
            r.progress.tick();
        }
    })
    .await;
}

/// The initial cycle: every user (lookup, create), managers, groups with members.
pub async fn initial_sync(run: &Arc<Run>, dir: &Arc<Directory>, label: &str) {
    let users: Vec<usize> = (0..dir.users.len()).filter(|&i| run.owns_user(i)).collect();
    let d = Arc::clone(dir);
    let phase = format!("{label}/users");
    let p = phase.clone();
    phase_over(run, &phase, users, move |r, i| {
        let d = Arc::clone(&d);
        let p = p.clone();
        async move { ensure_user(&r, &d, i, &p).await }
    })
    .await;
    let managed: Vec<usize> = dir
        .users
        .iter()
        .filter(|u| u.manager.is_some() && !u.deleted && run.owns_user(u.index))
        .map(|u| u.index)
        .collect();
    let d = Arc::clone(dir);
    let phase = format!("{label}/managers");
    let p = phase.clone();
    phase_over(run, &phase, managed, move |r, i| {
        let d = Arc::clone(&d);
        let p = p.clone();
        async move {
            let Some(id) = r.user_id(i) else {
                return;
            };
            // A manager of another shard: found once its owner has created it.
            if let Some(m) = d.users[i].manager {
                if let Err(e) = r.resolve_user(&d, m).await {
                    r.fail(&p, OpKind::SetManager, &d.users[i].user_name, e);
                    return;
                }
            }
            update_user(&r, &d, i, &id, &[Field::Manager], &p).await;
        }
    })
    .await;
    let groups: Vec<usize> = (0..dir.groups.len()).collect();
    let d = Arc::clone(dir);
    let phase = format!("{label}/groups");
    let p = phase.clone();
    phase_over(run, &phase, groups, move |r, g| {
        let d = Arc::clone(&d);
        let p = p.clone();
        async move { ensure_group(&r, &d, g, &p).await }
    })
    .await;
}

/// One incremental cycle's requests for `changes` (already applied to `dir`). Safe to send
/// twice: every request is idempotent in effect, which is what a re-drive relies on.
pub async fn run_cycle(
    run: &Arc<Run>,
    dir: &Arc<Directory>,
    changes: &Arc<Vec<Change>>,
    label: &str,
) {
    let hard_deletes = run.requests.dialect().facts().hard_deletes.value;
    let d = Arc::clone(dir);
    let c = Arc::clone(changes);
    let phase = format!("{label}/users");
    let p = phase.clone();
    // A shard sends only its own users' changes.
    let mine: Vec<usize> = (0..changes.len())
        .filter(|&k| run.owns_user(changes[k].user()))
        .collect();
    phase_over(run, &phase, mine, move |r, k| {
        let d = Arc::clone(&d);
        let c = Arc::clone(&c);
        let p = p.clone();
        async move {
            let (i, fields): (usize, &[Field]) = match &c[k] {
                Change::Attributes(i) => (*i, &[Field::DisplayName, Field::Title]),
                Change::Move { user, .. } => (*user, &[Field::Department]),
                Change::Leave(i) | Change::Rehire(i) => (*i, &[Field::Active]),
                Change::Delete(i) => {
                    if hard_deletes {
                        delete_user(&r, &d, *i, &p).await;
                    }
                    return;
                }
            };
            match r.user_id(i) {
                Some(id) => update_user(&r, &d, i, &id, fields, &p).await,
                None => r.fail(
                    &p,
                    OpKind::UpdateUser,
                    &d.users[i].user_name,
                    "no id: the user was never created",
                ),
            }
        }
    })
    .await;
    // Membership: per group, the removes and adds of this cycle's moves, batched.
    let mut per_group: Vec<(Vec<usize>, Vec<usize>)> =
        vec![(Vec::new(), Vec::new()); dir.groups.len()];
    for change in changes.iter() {
        if let Change::Move { user, from, to } = change {
            if !run.owns_user(*user) {
                continue;
            }
            per_group[*from].0.push(*user);
            per_group[*to].1.push(*user);
        }
    }
    let touched: Vec<usize> = (0..per_group.len())
        .filter(|&g| !per_group[g].0.is_empty() || !per_group[g].1.is_empty())
        .collect();
    let per_group = Arc::new(per_group);
    let d = Arc::clone(dir);
    let phase = format!("{label}/members");
    let p = phase.clone();
    phase_over(run, &phase, touched, move |r, g| {
        let d = Arc::clone(&d);
        let pg = Arc::clone(&per_group);
        let p = p.clone();
        async move {
            let gid = match r.resolve_group(&d, g).await {
                Ok(gid) => gid,
                Err(e) => {
                    r.fail(&p, OpKind::AddMembers, &d.groups[g].display_name, e);
                    return;
                }
            };
            let removes: Vec<String> = pg[g].0.iter().filter_map(|&u| r.user_id(u)).collect();
            let adds: Vec<(String, String)> = pg[g]
                .1
                .iter()
                .filter_map(|&u| r.user_id(u).map(|id| (id, d.users[u].user_name.clone())))
                .collect();
            if let Err(e) = push_members(&r, &gid, &d.groups[g].display_name, &removes, &adds).await
            {
                r.fail(&p, OpKind::AddMembers, &d.groups[g].display_name, e);
            }
        }
    })
    .await;
}

async fn delete_user(run: &Run, dir: &Directory, i: usize, phase: &str) {
    let Some(id) = run.user_id(i) else {
        return;
    };
    let result: Result<(), Failure> = async {
        let request = run.requests.delete_user(&id).map_err(Failure::Transport)?;
        let reply = run.engine.call(OpKind::DeleteUser, &request).await?;
        // 404 on a re-driven delete: already gone, which is what the IdP wants.
        if (200..300).contains(&reply.status) || reply.status == 404 {
            run.user_ids.lock().unwrap_or_else(|p| p.into_inner())[i] = None;
            Ok(())
        } else {
            Err(Failure::Status(
                reply.status,
                crate::client::snippet(&reply.body),
            ))
        }
    }
    .await;
    if let Err(e) = result {
        run.fail(phase, OpKind::DeleteUser, &dir.users[i].user_name, e);
    }
}

/// Deletes every group then every user the run created or saw under its prefix. A shard
/// deletes its users first, waits until no user of the run is left (the other shards are
/// done with the groups), then deletes its groups; the note says why groups were left.
pub async fn cleanup(
    run: &Arc<Run>,
    prefix: &str,
    extra_users: &[String],
    extra_groups: &[String],
) -> (usize, usize, Option<String>) {
    let mut groups: Vec<String> = run
        .group_ids
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .flatten()
        .cloned()
        .collect();
    groups.extend(extra_groups.iter().cloned());
    groups.sort();
    groups.dedup();
    let mut users: Vec<String> = run
        .user_ids
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .flatten()
        .cloned()
        .collect();
    users.extend(extra_users.iter().cloned());
    users.sort();
    users.dedup();
    let failed = Arc::new(AtomicUsize::new(0));
    let mut deleted = 0;
    let mut note = None;
    let order = if run.shard.is_some() {
        [("/Users", users), ("/Groups", groups)]
    } else {
        [("/Groups", groups), ("/Users", users)]
    };
    for (endpoint, ids) in order {
        if run.shard.is_some() && endpoint == "/Groups" {
            run.progress
                .start("cleanup/waiting for the other shards", 0);
            let waited = if run.interrupted() {
                Err("interrupted before the other shards were done".to_owned())
            } else {
                shard::await_users_gone(&run.engine, prefix, run.shard_wait, &run.interrupt).await
            };
            if let Err(e) = waited {
                note = Some(format!("{} group(s) left on the target: {e}", ids.len()));
                failed.fetch_add(ids.len(), Ordering::Relaxed);
                deleted += ids.len();
                continue;
            }
        }
        deleted += ids.len();
        run.progress.start(&format!("cleanup{endpoint}"), ids.len());
        let r = Arc::clone(run);
        let f = Arc::clone(&failed);
        for_each(run.concurrency, ids, move |id| {
            let r = Arc::clone(&r);
            let f = Arc::clone(&f);
            async move {
                let path = format!("{endpoint}/{}", crate::client::encode_segment(&id));
                let request = crate::client::Request::new(reqwest::Method::DELETE, path);
                match r.engine.call(OpKind::Cleanup, &request).await {
                    Ok(reply) if (200..300).contains(&reply.status) || reply.status == 404 => {}
                    _ => {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }
                r.progress.tick();
            }
        })
        .await;
    }
    let failed = failed.load(Ordering::Relaxed);
    (deleted - failed, failed, note)
}

/// Shows progress on stderr until `stop` is set: a bar (done/total of the phase, request
/// rate, ETA) when stderr is a terminal, otherwise a plain line every five seconds (CI
/// logs). Stops within 50 ms of `stop`, so a short run is not held up by the printer.
pub fn spawn_progress(run: Arc<Run>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    tokio::spawn(async move {
        let started = Instant::now();
        let bar = tty.then(progress_bar);
        let every = if tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        let (mut last_sent, mut last_at, mut printed_at) = (0u64, Instant::now(), Instant::now());
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if printed_at.elapsed() < every {
                continue;
            }
            printed_at = Instant::now();
            let sent = run.engine.stats.sent.load(Ordering::Relaxed);
            let rate = sent.saturating_sub(last_sent) as f64 / last_at.elapsed().as_secs_f64();
            (last_sent, last_at) = (sent, Instant::now());
            let snap = run.progress.snapshot();
            let errors = run.engine.stats.errors.load(Ordering::Relaxed);
            match &bar {
                Some(bar) => {
                    bar.set_prefix(snap.phase.clone());
                    bar.set_length(snap.total as u64);
                    bar.set_position(snap.done as u64);
                    bar.set_message(format!(
                        "{rate:.0} req/s  {errors} errors  ETA {}",
                        eta_text(snap.eta())
                    ));
                }
                None => {
                    use std::io::Write;
                    // A closed stderr only loses the progress line.
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "[{:>6.1}s] {}: {}/{}  requests {sent} ({rate:.0}/s)  errors {errors}  ETA {}",
                        started.elapsed().as_secs_f64(),
                        snap.phase,
                        snap.done,
                        snap.total,
                        eta_text(snap.eta())
                    );
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    })
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix:<20} [{bar:24}] {pos}/{len} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn eta_text(eta: Option<Duration>) -> String {
    match eta {
        None => "-".into(),
        Some(d) if d.as_secs() >= 3600 => {
            format!("{}h{:02}m", d.as_secs() / 3600, d.as_secs() % 3600 / 60)
        }
        Some(d) if d.as_secs() >= 60 => format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60),
        Some(d) => format!("{}s", d.as_secs()),
    }
}

/// Runs the whole simulation: initial sync, `cycles` incremental cycles, a read-back after
/// each, the outage and re-drive when asked, and the cleanup.
pub async fn simulate(
    engine: Arc<Engine>,
    opts: &Options,
    target: String,
    outage: Option<outage::Outage>,
    interrupt: Arc<AtomicBool>,
) -> Result<report::Report, String> {
    let started = Instant::now();
    let mut dir = Directory::build(&opts.prefix, &opts.shape);
    let run = Arc::new(
        Run::new(
            Arc::clone(&engine),
            opts.dialect,
            &dir,
            opts.concurrency,
            interrupt,
        )?
        .with_shard(opts.shard, opts.shard_wait),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let printer = opts
        .progress
        .then(|| spawn_progress(Arc::clone(&run), Arc::clone(&stop)));
    let outage = outage.map(Arc::new);
    let outage_description = outage.as_ref().map(|o| o.describe());
    // The outage hits the first incremental cycle, or the initial sync when there is none.
    let outage_cycle = outage.as_ref().map(|_| opts.cycles.min(1));
    let reconcile_on = opts.reconcile || outage.is_some();
    let mut phases = Vec::new();
    let mut checks = Vec::new();
    let mut seen_users: BTreeSet<String> = BTreeSet::new();
    let mut seen_groups: BTreeSet<String> = BTreeSet::new();
    let mut outage_error = None;
    for cycle in 0..=opts.cycles {
        if run.interrupted() {
            break;
        }
        let label = if cycle == 0 {
            "initial".to_owned()
        } else {
            format!("cycle {cycle}")
        };
        let changes = (cycle > 0).then(|| Arc::new(dir.cycle(opts.shape.seed, cycle, &opts.rates)));
        let shared = Arc::new(std::mem::take(&mut dir));
        let hit = outage_cycle == Some(cycle);
        let rounds: &[&str] = if hit { &["outage", "replay"] } else { &[""] };
        for round in rounds {
            let name = if round.is_empty() {
                label.clone()
            } else {
                format!("{label} ({round})")
            };
            let sent0 = engine.stats.sent.load(Ordering::Relaxed);
            let t0 = Instant::now();
            let done = Arc::new(AtomicBool::new(false));
            let trigger = match (&outage, *round == "outage") {
                (Some(o), true) => {
                    // A third of the way into the cycle's requests.
                    let expected = match &changes {
                        None => shared.users.len() * 2,
                        Some(c) => c.len(),
                    };
                    let threshold = sent0 + (expected as u64 / 3).max(1);
                    let (o, e, d) = (Arc::clone(o), Arc::clone(&engine), Arc::clone(&done));
                    Some(tokio::spawn(async move {
                        // Bounded by the cycle: polls stop when it ends.
                        while e.stats.sent.load(Ordering::Relaxed) < threshold
                            && !d.load(Ordering::Relaxed)
                        {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        o.begin().await
                    }))
                }
                _ => None,
            };
            match &changes {
                None => initial_sync(&run, &shared, &name).await,
                Some(c) => run_cycle(&run, &shared, c, &name).await,
            }
            done.store(true, Ordering::Relaxed);
            if let Some(t) = trigger {
                match t.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => outage_error = Some(e),
                    Err(e) => outage_error = Some(format!("the outage task failed: {e}")),
                }
                if let Some(o) = &outage {
                    o.end();
                }
            }
            phases.push(Phase {
                name: name.clone(),
                seconds: t0.elapsed().as_secs_f64(),
                requests: engine.stats.sent.load(Ordering::Relaxed) - sent0,
            });
            if outage_error.is_some() {
                break;
            }
            if reconcile_on && !run.interrupted() {
                let sent0 = engine.stats.sent.load(Ordering::Relaxed);
                let t0 = Instant::now();
                run.progress.start(&format!("{name}/reconcile"), 0);
                match reconcile::reconcile(&engine, &shared, opts.shard, &run.foreign_users()).await
                {
                    Ok(result) => {
                        // The latest read-back names what is there now (extras included).
                        seen_users = result.seen_user_ids.iter().cloned().collect();
                        seen_groups = result.seen_group_ids.iter().cloned().collect();
                        checks.push(CycleCheck {
                            after: if round.is_empty() {
                                label.clone()
                            } else {
                                (*round).to_owned()
                            },
                            counts: *round != "outage",
                            result,
                        });
                    }
                    Err(e) => checks.push(CycleCheck {
                        after: label.clone(),
                        counts: *round != "outage",
                        result: Reconciliation {
                            differences: vec![reconcile::Difference {
                                kind: "pagination".into(),
                                subject: "read-back".into(),
                                detail: format!("the read-back failed: {e}"),
                            }],
                            ..Reconciliation::default()
                        },
                    }),
                }
                phases.push(Phase {
                    name: format!("{name} reconcile"),
                    seconds: t0.elapsed().as_secs_f64(),
                    requests: engine.stats.sent.load(Ordering::Relaxed) - sent0,
                });
            }
        }
        dir = Arc::try_unwrap(shared)
            .map_err(|_| "internal: the directory is still shared after a cycle".to_owned())?;
        if outage_error.is_some() {
            break;
        }
    }
    let cleanup_result = if opts.keep {
        None
    } else {
        let t0 = Instant::now();
        let sent0 = engine.stats.sent.load(Ordering::Relaxed);
        let users: Vec<String> = seen_users.into_iter().collect();
        let groups: Vec<String> = seen_groups.into_iter().collect();
        let result = cleanup(&run, &opts.prefix, &users, &groups).await;
        phases.push(Phase {
            name: "cleanup".into(),
            seconds: t0.elapsed().as_secs_f64(),
            requests: engine.stats.sent.load(Ordering::Relaxed) - sent0,
        });
        Some(result)
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(p) = printer {
        let _ = p.await;
    }
    if let Some(e) = outage_error {
        return Err(format!("the outage could not be run: {e}"));
    }
    let failure_count = run.failure_count.load(Ordering::Relaxed);
    let counted_clean = checks
        .iter()
        .filter(|c| c.counts)
        .all(|c| c.result.differences.is_empty());
    let passed = counted_clean
        && !run.interrupted()
        && (reconcile_on || failure_count == 0)
        && cleanup_result
            .as_ref()
            .is_none_or(|(_, failed, _)| *failed == 0);
    let failures = run
        .failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let (cleanup, cleanup_note) = match cleanup_result {
        Some((deleted, failed, note)) => (Some((deleted, failed)), note),
        None => (None, None),
    };
    Ok(report::Report {
        outage: outage_description,
        phases,
        operations: engine.stats.summary(),
        reconciliations: checks,
        failures,
        failure_count,
        cleanup,
        cleanup_note,
        seconds: started.elapsed().as_secs_f64(),
        passed,
        ..settings_report(opts, target, engine.rate())
    })
}

/// A report that carries the run's settings and nothing else (no phase, operation or
/// check, not passed): what [`not_run`] returns, and what a finished run fills in.
fn settings_report(opts: &Options, target: String, rate: Option<f64>) -> report::Report {
    let facts = opts.dialect.facts();
    report::Report {
        version: report::VERSION,
        target,
        shard: opts.shard.map(|s| s.to_string()),
        scope: opts.shard.map(|s| s.scope()),
        prefix: opts.prefix.clone(),
        dialect: opts.dialect.name().to_owned(),
        seed: opts.shape.seed,
        users: opts.shape.users,
        groups: opts.shape.groups,
        large_group: opts.shape.large_group.min(opts.shape.users),
        cycles: opts.cycles,
        concurrency: opts.concurrency,
        rate,
        batch: (facts.batch.value, facts.batch.source.to_owned()),
        outage: None,
        phases: Vec::new(),
        operations: Vec::new(),
        reconciliations: Vec::new(),
        failures: Vec::new(),
        failure_count: 0,
        cleanup: None,
        cleanup_note: None,
        seconds: 0.0,
        passed: false,
        error: None,
    }
}

/// The report of a run that stopped before its first operation (the target did not
/// answer the test connection, or rejected the token): the run's settings, no operations,
/// `passed` false and `error` saying why, so that a CI gate finds a report whenever the
/// run started.
pub fn not_run(
    opts: &Options,
    target: String,
    rate: Option<f64>,
    error: String,
    took: Duration,
) -> report::Report {
    report::Report {
        seconds: took.as_secs_f64(),
        error: Some(error),
        ..settings_report(opts, target, rate)
    }
}
