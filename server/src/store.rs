//! The SQLite store: Users, Groups and group membership, per tenant.
//!
//! Each resource is one row holding its JSON document (without `id`, `meta`, `members`
//! or `groups`, which the store owns) plus indexed columns. Group membership lives in its
//! own table, so adding or removing members touches only the changed rows. Deletes are
//! soft: the row is kept as a tombstone (`deleted = 1`) and answers 404.
//!
//! One `Connection` sits behind a `Mutex`; async callers reach it through
//! [`Store::call`], which runs the closure on tokio's blocking pool. Every write a
//! handler makes runs inside one transaction inside one `call`.

use crate::error::{ScimError, ServerError};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The two resource types this server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `urn:ietf:params:scim:schemas:core:2.0:User`, endpoint `/Users`.
    User,
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`, endpoint `/Groups`.
    Group,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }

    /// The `meta.resourceType` and member `type` value.
    pub(crate) fn resource_type(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The endpoint below the base path, without the slash.
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    fn from_column(text: &str) -> Kind {
        if text == "Group" {
            Kind::Group
        } else {
            Kind::User
        }
    }
}

/// A stored resource as read back.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) version: i64,
    pub(crate) created: String,
    pub(crate) last_modified: String,
    /// The client-owned attributes.
    pub(crate) doc: Value,
}

/// The indexed columns taken from a document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Indexed {
    pub(crate) user_name: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name: Option<String>,
}

impl Indexed {
    fn display_name_fold(&self) -> Option<String> {
        self.display_name.as_deref().map(fold)
    }
}

impl Indexed {
    pub(crate) fn of(doc: &Value) -> Indexed {
        let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        Indexed {
            user_name: text("userName"),
            external_id: text("externalId"),
            display_name: text("displayName"),
        }
    }
}

/// One member of a group, with what is known of it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    /// The member's `displayName`, or a user's `userName` when it has none.
    pub(crate) display: Option<String>,
}

/// A group a user belongs to, for the user's read-only `groups` attribute.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Membership {
    pub(crate) group_id: String,
    pub(crate) display: Option<String>,
    /// A direct membership, or one through nested groups (RFC 7643 section 4.1.2).
    pub(crate) direct: bool,
}

/// A column a list request may narrow candidates on before the filter is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Id,
    UserName,
    ExternalId,
    DisplayName,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::UserName => "user_name_fold",
            Column::ExternalId => "external_id",
            Column::DisplayName => "display_name_fold",
        }
    }

    /// The value to look up in this column: folded for the caseExact: false attributes.
    fn key(self, value: &str) -> String {
        match self {
            Column::UserName | Column::DisplayName => fold(value),
            Column::Id | Column::ExternalId => value.to_string(),
        }
    }
}

/// Unicode lowercase, as `scim_parser::eval` folds caseExact: false strings.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The most members a group read returns under the `group-members-truncated` fault.
pub(crate) const TRUNCATED_MEMBERS: usize = 100;

/// The layout version kept in `PRAGMA user_version`; a file with tables from another
/// layout is refused rather than misread.
const LAYOUT_VERSION: i64 = 2;

// `*_fold` columns hold the Unicode lowercase of a caseExact: false attribute, the same
// folding `scim_parser::eval` compares with, so an exact lookup on them is a superset of
// what the evaluator selects, and it uses an index.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_name_fold TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT,
    display_name_fold TEXT,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    fault_dup TEXT NOT NULL DEFAULT '',
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_user_name
    ON users (tenant, user_name_fold, fault_dup) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS users_external_id ON users (tenant, external_id) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS users_display_name
    ON users (tenant, display_name_fold) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT,
    display_name_fold TEXT,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_display_name
    ON groups (tenant, display_name_fold) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS groups_external_id ON groups (tenant, external_id) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    UNIQUE (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS group_members_member ON group_members (member_id);
-- A group's members in insertion order (an index holds the rowid after its key), so
-- rendering a large group needs no sort.
CREATE INDEX IF NOT EXISTS group_members_order ON group_members (group_id);
";

/// The store handle; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    conn: Arc<Mutex<Connection>>,
}

fn db_err(what: &str) -> impl Fn(rusqlite::Error) -> ScimError + '_ {
    move |err| ScimError::internal(format!("store failed to {what}: {err}"))
}

impl Store {
    /// Opens the store: in memory, or the SQLite file at `path`, creating its tables.
    pub(crate) fn open(path: Option<&Path>) -> Result<Store, ServerError> {
        let conn = match path {
            Some(path) => Connection::open(path),
            // A private in-memory file (the memdb VFS) rather than `:memory:`: SQLite then
            // keeps a bounded page cache over it, where `:memory:` keeps every page in the
            // cache and walks the whole cache at each commit, which made a large sync
            // slow down as the store grew (issue 6).
            None => Connection::open_with_flags(
                "file:scim-reference-store?vfs=memdb",
                rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            ),
        }
        .map_err(|err| ServerError::Store(format!("cannot open database: {err}")))?;
        let setup = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            if path.is_some() {
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                // 64 MiB of page cache (negative means KiB), so the indexes of a
                // million users stay in memory.
                conn.pragma_update(None, "cache_size", -65_536)?;
                // Read pages through a memory map instead of one read call each.
                conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
            }
            Ok(())
        };
        setup(&conn).map_err(|err| ServerError::Store(format!("cannot set up: {err}")))?;
        check_layout(&conn, path)?;
        conn.execute_batch(SCHEMA)
            .and_then(|()| conn.pragma_update(None, "user_version", LAYOUT_VERSION))
            .map_err(|err| ServerError::Store(format!("cannot create tables: {err}")))?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The connection itself, for the request log's writer thread.
    pub(crate) fn connection(&self) -> Arc<Mutex<Connection>> {
        Arc::clone(&self.conn)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, ScimError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ScimError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| ScimError::internal("store lock poisoned by a panic"))?;
            f(&mut guard)
        })
        .await
        .map_err(|err| ScimError::internal(format!("store task failed: {err}")))?
    }
}

/// Refuses a database whose tables were made by another layout of this store.
fn check_layout(conn: &Connection, path: Option<&Path>) -> Result<(), ServerError> {
    let read = || -> rusqlite::Result<(i64, i64)> {
        let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            [],
            |r| r.get(0),
        )?;
        Ok((version, tables))
    };
    let (version, tables) =
        read().map_err(|err| ServerError::Store(format!("cannot read the layout: {err}")))?;
    if tables > 0 && version != LAYOUT_VERSION {
        let file = path.map_or_else(|| "memory".into(), |p| p.display().to_string());
        return Err(ServerError::Store(format!(
            "{file} holds tables of store layout {version}, this server uses layout \
             {LAYOUT_VERSION}; use a new --db file"
        )));
    }
    Ok(())
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_row(raw: (String, i64, String, String, String)) -> Result<Row, ScimError> {
    let (id, version, created, last_modified, doc) = raw;
    let doc = serde_json::from_str(&doc)
        .map_err(|err| ScimError::internal(format!("stored document of {id} is corrupt: {err}")))?;
    Ok(Row {
        id,
        version,
        created,
        last_modified,
        doc,
    })
}

/// The live resource `id`, if any.
pub(crate) fn get(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    id: &str,
) -> Result<Option<Row>, ScimError> {
    let sql = format!(
        "SELECT id, version, created, last_modified, doc FROM {} \
         WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
        kind.table()
    );
    let raw = conn
        .query_row(&sql, params![tenant, id], read_row)
        .optional()
        .map_err(db_err("read a resource"))?;
    raw.map(to_row).transpose()
}

/// Live resources in creation order, optionally narrowed to rows whose `column` holds
/// `value` (folded for caseExact: false columns). The narrowing only ever returns a
/// superset of what the filter evaluator selects, so the evaluator still decides.
pub(crate) fn list(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    narrow: Option<(Column, &str)>,
) -> Result<Vec<Row>, ScimError> {
    let mut sql = format!(
        "SELECT id, version, created, last_modified, doc FROM {} WHERE tenant = ?1 AND deleted = 0",
        kind.table()
    );
    if let Some((column, _)) = narrow {
        sql.push_str(&format!(" AND {} = ?2", column.sql()));
    }
    sql.push_str(" ORDER BY rowid");
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(db_err("list resources"))?;
    let raws = match narrow {
        Some((column, value)) => stmt.query_map(params![tenant, column.key(value)], read_row),
        None => stmt.query_map(params![tenant], read_row),
    }
    .map_err(db_err("list resources"))?
    .collect::<rusqlite::Result<Vec<_>>>()
    .map_err(db_err("list resources"))?;
    raws.into_iter().map(to_row).collect()
}

/// How many live resources of `kind` the tenant has.
pub(crate) fn count(conn: &Connection, tenant: &str, kind: Kind) -> Result<usize, ScimError> {
    let sql = format!(
        "SELECT count(*) FROM {} WHERE tenant = ?1 AND deleted = 0",
        kind.table()
    );
    conn.query_row(&sql, params![tenant], |r| r.get::<_, i64>(0))
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(db_err("count resources"))
}

/// One page of live resources in creation order, without a filter.
pub(crate) fn page(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    offset: usize,
    limit: usize,
) -> Result<Vec<Row>, ScimError> {
    let sql = format!(
        "SELECT id, version, created, last_modified, doc FROM {} WHERE tenant = ?1 AND deleted = 0 \
         ORDER BY rowid LIMIT ?2 OFFSET ?3",
        kind.table()
    );
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(db_err("list resources"))?;
    let raws = stmt
        .query_map(params![tenant, limit as i64, offset as i64], read_row)
        .map_err(db_err("list resources"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err("list resources"))?;
    raws.into_iter().map(to_row).collect()
}

/// The id of a live user other than `except` whose userName equals `user_name`, ignoring
/// case (RFC 7643 section 4.1.1 makes userName `caseExact: false`).
pub(crate) fn user_name_taken(
    conn: &Connection,
    tenant: &str,
    user_name: &str,
    except: Option<&str>,
) -> Result<Option<String>, ScimError> {
    conn.query_row(
        "SELECT id FROM users WHERE tenant = ?1 AND deleted = 0 \
         AND user_name_fold = ?2 AND id IS NOT ?3 LIMIT 1",
        params![tenant, fold(user_name), except],
        |row| row.get(0),
    )
    .optional()
    .map_err(db_err("check userName uniqueness"))
}

/// Inserts a new resource. `fault_dup` is empty except under the
/// `duplicate-create-allowed` fault, where a unique value lets a duplicate userName in.
pub(crate) fn insert(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    row: &Row,
    fault_dup: &str,
) -> Result<(), ScimError> {
    let idx = Indexed::of(&row.doc);
    let doc = row.doc.to_string();
    let result = match kind {
        Kind::User => conn.execute(
            "INSERT INTO users (id, tenant, user_name, user_name_fold, external_id, \
             display_name, display_name_fold, version, created, last_modified, fault_dup, doc) \
             VALUES (?1, ?2, ?3, ?11, ?4, ?5, ?12, ?6, ?7, ?8, ?9, ?10)",
            params![
                row.id,
                tenant,
                idx.user_name.clone().unwrap_or_default(),
                idx.external_id,
                idx.display_name,
                row.version,
                row.created,
                row.last_modified,
                fault_dup,
                doc,
                fold(idx.user_name.as_deref().unwrap_or_default()),
                idx.display_name_fold(),
            ],
        ),
        Kind::Group => conn.execute(
            "INSERT INTO groups (id, tenant, external_id, display_name, version, created, \
             last_modified, doc, display_name_fold) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                row.id,
                tenant,
                idx.external_id,
                idx.display_name,
                row.version,
                row.created,
                row.last_modified,
                doc,
                idx.display_name_fold(),
            ],
        ),
    };
    result
        .map(drop)
        .map_err(|err| match err.sqlite_error_code() {
            // A concurrent writer won the race for this userName (the unique index decides).
            Some(rusqlite::ErrorCode::ConstraintViolation) => ScimError::uniqueness(format!(
                "userName `{}` is already in use",
                Indexed::of(&row.doc).user_name.unwrap_or_default()
            )),
            _ => db_err("insert a resource")(err),
        })
}

/// Overwrites a live resource's document, version and lastModified.
pub(crate) fn update(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    row: &Row,
) -> Result<(), ScimError> {
    let idx = Indexed::of(&row.doc);
    let doc = row.doc.to_string();
    let result = match kind {
        Kind::User => conn.execute(
            "UPDATE users SET user_name = ?3, user_name_fold = ?9, external_id = ?4, \
             display_name = ?5, display_name_fold = ?10, version = ?6, last_modified = ?7, doc = ?8 \
             WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
            params![
                tenant,
                row.id,
                idx.user_name.clone().unwrap_or_default(),
                idx.external_id,
                idx.display_name,
                row.version,
                row.last_modified,
                doc,
                fold(idx.user_name.as_deref().unwrap_or_default()),
                idx.display_name_fold(),
            ],
        ),
        Kind::Group => conn.execute(
            "UPDATE groups SET external_id = ?3, display_name = ?4, version = ?5, \
             last_modified = ?6, doc = ?7, display_name_fold = ?8 WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
            params![
                tenant,
                row.id,
                idx.external_id,
                idx.display_name,
                row.version,
                row.last_modified,
                doc,
                idx.display_name_fold(),
            ],
        ),
    };
    match result.map_err(db_err("update a resource"))? {
        1 => Ok(()),
        _ => Err(ScimError::not_found(format!(
            "{} {} not found",
            kind.resource_type(),
            row.id
        ))),
    }
}

/// Marks a live resource deleted and drops its memberships. Returns whether it existed.
pub(crate) fn soft_delete(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    id: &str,
    now: &str,
) -> Result<bool, ScimError> {
    let sql = format!(
        "UPDATE {} SET deleted = 1, last_modified = ?3 WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
        kind.table()
    );
    let changed = conn
        .execute(&sql, params![tenant, id, now])
        .map_err(db_err("delete"))?;
    if changed == 0 {
        return Ok(false);
    }
    conn.execute(
        "DELETE FROM group_members WHERE member_id = ?1",
        params![id],
    )
    .map_err(db_err("drop memberships"))?;
    if kind == Kind::Group {
        conn.execute("DELETE FROM group_members WHERE group_id = ?1", params![id])
            .map_err(db_err("drop members"))?;
    }
    Ok(true)
}

/// The kind of the live user or group `id`, if there is one.
pub(crate) fn resolve_member(
    conn: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<Kind>, ScimError> {
    conn.prepare_cached(
        "SELECT 'User' FROM users WHERE tenant = ?1 AND id = ?2 AND deleted = 0 \
         UNION ALL SELECT 'Group' FROM groups WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![tenant, id], |row| row.get::<_, String>(0))
            .optional()
    })
    .map(|found| found.map(|text| Kind::from_column(&text)))
    .map_err(db_err("look up a member"))
}

const MEMBER_SELECT: &str = "SELECT m.group_id, m.member_id, m.member_type, \
     COALESCE(u.display_name, u.user_name, g.display_name) FROM group_members m \
     LEFT JOIN users u ON m.member_type = 'User' AND u.id = m.member_id \
     LEFT JOIN groups g ON m.member_type = 'Group' AND g.id = m.member_id";

fn read_member(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Member)> {
    let kind: String = row.get(2)?;
    Ok((
        row.get(0)?,
        Member {
            id: row.get(1)?,
            kind: Kind::from_column(&kind),
            display: row.get(3)?,
        },
    ))
}

/// Adds or touches nothing else: bumps a resource's version and lastModified, for a
/// change made only to its membership rows.
pub(crate) fn touch(
    conn: &Connection,
    tenant: &str,
    kind: Kind,
    id: &str,
    version: i64,
    now: &str,
) -> Result<(), ScimError> {
    let sql = format!(
        "UPDATE {} SET version = ?3, last_modified = ?4 WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
        kind.table()
    );
    conn.execute(&sql, params![tenant, id, version, now])
        .map(drop)
        .map_err(db_err("update a resource"))
}

/// The members of group `group_id` in the order they were added; at most `limit`.
pub(crate) fn members_of(
    conn: &Connection,
    group_id: &str,
    limit: Option<usize>,
) -> Result<Vec<Member>, ScimError> {
    let limit = limit.map_or(-1, |n| n as i64);
    let sql = format!("{MEMBER_SELECT} WHERE m.group_id = ?1 ORDER BY m.rowid LIMIT ?2");
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("read members"))?;
    let rows = stmt
        .query_map(params![group_id, limit], read_member)
        .map_err(db_err("read members"))?
        .map(|r| r.map(|(_, member)| member))
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err("read members"));
    rows
}

/// The members of every live group of the tenant, keyed by group id.
pub(crate) fn all_members(
    conn: &Connection,
    tenant: &str,
) -> Result<HashMap<String, Vec<Member>>, ScimError> {
    let sql = format!(
        "{MEMBER_SELECT} JOIN groups owner ON owner.id = m.group_id \
         WHERE owner.tenant = ?1 AND owner.deleted = 0 ORDER BY m.rowid"
    );
    let mut stmt = conn.prepare(&sql).map_err(db_err("read members"))?;
    let mut map: HashMap<String, Vec<Member>> = HashMap::new();
    let rows = stmt
        .query_map(params![tenant], read_member)
        .map_err(db_err("read members"))?;
    for row in rows {
        let (group_id, member) = row.map_err(db_err("read members"))?;
        map.entry(group_id).or_default().push(member);
    }
    Ok(map)
}

/// How deep nested groups are followed for a user's `groups`; a cycle of groups stops
/// here instead of looping.
const MAX_NESTING: i64 = 32;

/// The groups `member_id` belongs to, directly first, then through nested groups, each
/// once (RFC 7643 section 4.1.2: `groups` holds direct and indirect memberships).
pub(crate) fn groups_of(conn: &Connection, member_id: &str) -> Result<Vec<Membership>, ScimError> {
    let mut stmt = conn
        .prepare_cached(
            "WITH RECURSIVE up(group_id, depth) AS ( \
               SELECT group_id, 0 FROM group_members WHERE member_id = ?1 \
               UNION SELECT m.group_id, up.depth + 1 FROM group_members m \
                 JOIN up ON m.member_id = up.group_id WHERE up.depth < ?2) \
             SELECT g.id, g.display_name, min(up.depth) AS d FROM up \
               JOIN groups g ON g.id = up.group_id AND g.deleted = 0 \
             GROUP BY g.id ORDER BY d, g.rowid",
        )
        .map_err(db_err("read groups"))?;
    let rows = stmt
        .query_map(params![member_id, MAX_NESTING], |row| {
            Ok(Membership {
                group_id: row.get(0)?,
                display: row.get(1)?,
                direct: row.get::<_, i64>(2)? == 0,
            })
        })
        .map_err(db_err("read groups"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err("read groups"));
    rows
}

/// For every member in the tenant, its groups as [`groups_of`] gives them, computed
/// from one read of the tenant's memberships.
pub(crate) fn all_groups(
    conn: &Connection,
    tenant: &str,
) -> Result<HashMap<String, Vec<Membership>>, ScimError> {
    let mut stmt = conn
        .prepare(
            "SELECT m.member_id, g.id, g.display_name FROM group_members m \
             JOIN groups g ON g.id = m.group_id AND g.deleted = 0 \
             WHERE g.tenant = ?1 ORDER BY g.rowid",
        )
        .map_err(db_err("read groups"))?;
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    let mut display: HashMap<String, Option<String>> = HashMap::new();
    let rows = stmt
        .query_map(params![tenant], |row| {
            Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
        })
        .map_err(db_err("read groups"))?;
    for row in rows {
        let (member, group, name): (String, String, Option<String>) =
            row.map_err(db_err("read groups"))?;
        parents.entry(member).or_default().push(group.clone());
        display.insert(group, name);
    }
    let mut out = HashMap::new();
    for (member, direct) in &parents {
        let mut seen: Vec<Membership> = Vec::new();
        let mut level: Vec<String> = direct.clone();
        for depth in 0..=MAX_NESTING {
            let mut next = Vec::new();
            for group in level {
                if seen.iter().any(|m| m.group_id == group) {
                    continue;
                }
                next.extend(parents.get(&group).into_iter().flatten().cloned());
                seen.push(Membership {
                    display: display.get(&group).cloned().flatten(),
                    group_id: group,
                    direct: depth == 0,
                });
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        out.insert(member.clone(), seen);
    }
    Ok(out)
}

/// Adds members to a group; members already present are left as they are.
pub(crate) fn add_members(
    conn: &Connection,
    group_id: &str,
    members: &[(String, Kind)],
) -> Result<usize, ScimError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO group_members (group_id, member_id, member_type) \
             VALUES (?1, ?2, ?3)",
        )
        .map_err(db_err("add members"))?;
    let mut added = 0;
    for (id, kind) in members {
        added += stmt
            .execute(params![group_id, id, kind.resource_type()])
            .map_err(db_err("add members"))?;
    }
    Ok(added)
}

/// Removes members from a group.
pub(crate) fn remove_members(
    conn: &Connection,
    group_id: &str,
    member_ids: &[String],
) -> Result<usize, ScimError> {
    let mut stmt = conn
        .prepare_cached("DELETE FROM group_members WHERE group_id = ?1 AND member_id = ?2")
        .map_err(db_err("remove members"))?;
    let mut removed = 0;
    for id in member_ids {
        removed += stmt
            .execute(params![group_id, id])
            .map_err(db_err("remove members"))?;
    }
    Ok(removed)
}

/// Starts a write transaction.
pub(crate) fn begin(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, ScimError> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db_err("begin a transaction"))
}

/// Commits a write transaction.
pub(crate) fn commit(tx: rusqlite::Transaction<'_>) -> Result<(), ScimError> {
    tx.commit().map_err(db_err("commit"))
}

/// Bulk inserts straight into a store file, for benchmarks and load tests: no HTTP, no
/// per-row checks, one transaction per call.
pub(crate) mod seed {
    use super::*;

    fn open(db: &Path) -> Result<Connection, ServerError> {
        Store::open(Some(db))?;
        Connection::open(db).map_err(|err| ServerError::Store(format!("cannot open: {err}")))
    }

    fn fail(err: rusqlite::Error) -> ServerError {
        ServerError::Store(format!("seeding failed: {err}"))
    }

    /// Inserts users `{prefix}{i}` for `i` in `range`; returns their ids.
    pub(crate) fn users(
        db: &Path,
        tenant: &str,
        prefix: &str,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<String>, ServerError> {
        let mut conn = open(db)?;
        let tx = conn.transaction().map_err(fail)?;
        let now = crate::clock::now_rfc3339();
        let mut ids = Vec::with_capacity(range.len());
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO users (id, tenant, user_name, user_name_fold, external_id, \
                     display_name, display_name_fold, version, created, last_modified, doc) \
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL, 1, ?6, ?6, ?7)",
                )
                .map_err(fail)?;
            for i in range {
                let id = crate::clock::new_id();
                let user_name = format!("{prefix}{i}");
                let external_id = format!("ext-{prefix}{i}");
                let doc = serde_json::json!({
                    "schemas": [crate::resource::USER_URN],
                    "userName": user_name,
                    "externalId": external_id,
                    "active": true,
                    "name": {"givenName": "Seed", "familyName": format!("User {i}")},
                    "emails": [{"value": format!("{user_name}@example.com"), "type": "work",
                                "primary": true}],
                });
                stmt.execute(params![
                    id,
                    tenant,
                    user_name,
                    fold(&user_name),
                    external_id,
                    now,
                    doc.to_string()
                ])
                .map_err(fail)?;
                ids.push(id);
            }
        }
        tx.commit().map_err(fail)?;
        Ok(ids)
    }

    /// Inserts a group holding the given users; returns its id.
    pub(crate) fn group(
        db: &Path,
        tenant: &str,
        display_name: &str,
        user_ids: &[String],
    ) -> Result<String, ServerError> {
        let mut conn = open(db)?;
        let tx = conn.transaction().map_err(fail)?;
        let id = crate::clock::new_id();
        let now = crate::clock::now_rfc3339();
        let doc = serde_json::json!({
            "schemas": [crate::resource::GROUP_URN],
            "displayName": display_name,
        });
        tx.execute(
            "INSERT INTO groups (id, tenant, external_id, display_name, display_name_fold, \
             version, created, last_modified, doc) VALUES (?1, ?2, NULL, ?3, ?4, 1, ?5, ?5, ?6)",
            params![
                id,
                tenant,
                display_name,
                fold(display_name),
                now,
                doc.to_string()
            ],
        )
        .map_err(fail)?;
        let members: Vec<(String, Kind)> =
            user_ids.iter().map(|u| (u.clone(), Kind::User)).collect();
        add_members(&tx, &id, &members).map_err(|e| ServerError::Store(e.detail))?;
        tx.commit().map_err(fail)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_stores_are_private_to_their_server() {
        // See: issue 6 (the memdb file is named; a name without a leading `/` is private
        // to its connection, so two servers in one process never share data).
        let a = Store::open(None).expect("store a");
        let b = Store::open(None).expect("store b");
        let count = |s: &Store| -> i64 {
            let conn = s.conn.lock().expect("lock");
            conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
                .expect("count")
        };
        {
            let conn = a.conn.lock().expect("lock");
            conn.execute(
                "INSERT INTO users (tenant, id, user_name, user_name_fold, version, created, \
                 last_modified, doc) VALUES ('t', 'u1', 'alice', 'alice', 1, 'c', 'm', '{}')",
                [],
            )
            .expect("insert");
        }
        assert_eq!(count(&a), 1);
        assert_eq!(count(&b), 0);
    }
}
