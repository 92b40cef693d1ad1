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
            Column::UserName => "user_name",
            Column::ExternalId => "external_id",
            Column::DisplayName => "display_name",
        }
    }
}

/// The most members a group read returns under the `group-members-truncated` fault.
pub(crate) const TRUNCATED_MEMBERS: usize = 100;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_name TEXT NOT NULL COLLATE NOCASE,
    external_id TEXT,
    display_name TEXT,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    fault_dup TEXT NOT NULL DEFAULT '',
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_user_name
    ON users (tenant, user_name COLLATE NOCASE, fault_dup) WHERE deleted = 0;
CREATE INDEX IF NOT EXISTS users_external_id ON users (tenant, external_id);
CREATE INDEX IF NOT EXISTS users_display_name ON users (tenant, display_name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT COLLATE NOCASE,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_display_name ON groups (tenant, display_name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS groups_external_id ON groups (tenant, external_id);
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    UNIQUE (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS group_members_member ON group_members (member_id);
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
            None => Connection::open_in_memory(),
        }
        .map_err(|err| ServerError::Store(format!("cannot open database: {err}")))?;
        let setup = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            if path.is_some() {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            conn.execute_batch(SCHEMA)
        };
        setup(&conn).map_err(|err| ServerError::Store(format!("cannot create tables: {err}")))?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
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

/// Live resources in creation order, optionally narrowed to rows whose `column` equals
/// `value` ignoring ASCII case (`value` must be ASCII). The narrowing only ever returns a
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
        // Rows holding a character outside printable ASCII are kept as candidates, because
        // NOCASE folds ASCII only and the evaluator folds Unicode.
        let col = column.sql();
        sql.push_str(&format!(
            " AND ({col} = ?2 COLLATE NOCASE OR {col} GLOB '*[^ -~]*')"
        ));
    }
    sql.push_str(" ORDER BY rowid");
    let mut stmt = conn.prepare(&sql).map_err(db_err("list resources"))?;
    let raws = match narrow {
        Some((_, value)) => stmt.query_map(params![tenant, value], read_row),
        None => stmt.query_map(params![tenant], read_row),
    }
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
         AND user_name = ?2 COLLATE NOCASE AND id IS NOT ?3 LIMIT 1",
        params![tenant, user_name, except],
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
            "INSERT INTO users (id, tenant, user_name, external_id, display_name, version, \
             created, last_modified, fault_dup, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                row.id,
                tenant,
                idx.user_name.unwrap_or_default(),
                idx.external_id,
                idx.display_name,
                row.version,
                row.created,
                row.last_modified,
                fault_dup,
                doc
            ],
        ),
        Kind::Group => conn.execute(
            "INSERT INTO groups (id, tenant, external_id, display_name, version, created, \
             last_modified, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                row.id,
                tenant,
                idx.external_id,
                idx.display_name,
                row.version,
                row.created,
                row.last_modified,
                doc
            ],
        ),
    };
    result.map(drop).map_err(db_err("insert a resource"))
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
            "UPDATE users SET user_name = ?3, external_id = ?4, display_name = ?5, version = ?6, \
             last_modified = ?7, doc = ?8 WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
            params![
                tenant,
                row.id,
                idx.user_name.unwrap_or_default(),
                idx.external_id,
                idx.display_name,
                row.version,
                row.last_modified,
                doc
            ],
        ),
        Kind::Group => conn.execute(
            "UPDATE groups SET external_id = ?3, display_name = ?4, version = ?5, \
             last_modified = ?6, doc = ?7 WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
            params![
                tenant,
                row.id,
                idx.external_id,
                idx.display_name,
                row.version,
                row.last_modified,
                doc
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
    conn.query_row(
        "SELECT 'User' FROM users WHERE tenant = ?1 AND id = ?2 AND deleted = 0 \
         UNION ALL SELECT 'Group' FROM groups WHERE tenant = ?1 AND id = ?2 AND deleted = 0",
        params![tenant, id],
        |row| row.get::<_, String>(0),
    )
    .optional()
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

/// The members of group `group_id` in the order they were added; at most `limit`.
pub(crate) fn members_of(
    conn: &Connection,
    group_id: &str,
    limit: Option<usize>,
) -> Result<Vec<Member>, ScimError> {
    let limit = limit.map_or(-1, |n| n as i64);
    let sql = format!("{MEMBER_SELECT} WHERE m.group_id = ?1 ORDER BY m.rowid LIMIT ?2");
    let mut stmt = conn.prepare(&sql).map_err(db_err("read members"))?;
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

const GROUPS_SELECT: &str = "SELECT m.member_id, g.id, g.display_name FROM group_members m \
     JOIN groups g ON g.id = m.group_id AND g.deleted = 0";

fn read_membership(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Membership)> {
    Ok((
        row.get(0)?,
        Membership {
            group_id: row.get(1)?,
            display: row.get(2)?,
        },
    ))
}

/// The groups `member_id` belongs to directly.
pub(crate) fn groups_of(conn: &Connection, member_id: &str) -> Result<Vec<Membership>, ScimError> {
    let sql = format!("{GROUPS_SELECT} WHERE m.member_id = ?1 ORDER BY m.rowid");
    let mut stmt = conn.prepare(&sql).map_err(db_err("read groups"))?;
    let rows = stmt
        .query_map(params![member_id], read_membership)
        .map_err(db_err("read groups"))?
        .map(|r| r.map(|(_, m)| m))
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err("read groups"));
    rows
}

/// For every member in the tenant, the groups it belongs to directly.
pub(crate) fn all_groups(
    conn: &Connection,
    tenant: &str,
) -> Result<HashMap<String, Vec<Membership>>, ScimError> {
    let sql = format!("{GROUPS_SELECT} WHERE g.tenant = ?1 ORDER BY m.rowid");
    let mut stmt = conn.prepare(&sql).map_err(db_err("read groups"))?;
    let mut map: HashMap<String, Vec<Membership>> = HashMap::new();
    let rows = stmt
        .query_map(params![tenant], read_membership)
        .map_err(db_err("read groups"))?;
    for row in rows {
        let (member_id, membership) = row.map_err(db_err("read groups"))?;
        map.entry(member_id).or_default().push(membership);
    }
    Ok(map)
}

/// Adds members to a group; members already present are left as they are.
pub(crate) fn add_members(
    conn: &Connection,
    group_id: &str,
    members: &[(String, Kind)],
) -> Result<(), ScimError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO group_members (group_id, member_id, member_type) \
             VALUES (?1, ?2, ?3)",
        )
        .map_err(db_err("add members"))?;
    for (id, kind) in members {
        stmt.execute(params![group_id, id, kind.resource_type()])
            .map_err(db_err("add members"))?;
    }
    Ok(())
}

/// Removes members from a group.
pub(crate) fn remove_members(
    conn: &Connection,
    group_id: &str,
    member_ids: &[String],
) -> Result<(), ScimError> {
    let mut stmt = conn
        .prepare_cached("DELETE FROM group_members WHERE group_id = ?1 AND member_id = ?2")
        .map_err(db_err("remove members"))?;
    for id in member_ids {
        stmt.execute(params![group_id, id])
            .map_err(db_err("remove members"))?;
    }
    Ok(())
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
