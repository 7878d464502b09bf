//! The embedded backend: one SQLite file (created mode 0600 by the sync), WAL journal, full fsync on
//! commit so an acknowledged block survives a crash. Analysts get a read-only connection whose authorizer
//! allows reading only the dataset (`entries`, `deid_entry`, `restricted_zip3`), never the linking table or
//! the sync's bookkeeping, and refuses ATTACH, PRAGMA and anything that writes.

use std::path::Path;
use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter};

use super::schema::{ANALYST_RELATIONS, Dialect};
use super::{Access, Backend, QueryResult, StoreError, Tx, Val};

/// An SQLite store.
pub struct SqliteBackend {
    conn: Connection,
    label: String,
}

impl SqliteBackend {
    /// Opens (for [`Access::Write`], creates) the file.
    pub fn open(path: &Path, access: Access) -> Result<Self, StoreError> {
        let conn = match access {
            Access::Write => {
                create_private(path)?;
                let conn = Connection::open(path)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "FULL")?;
                conn
            }
            Access::Read => {
                if !path.exists() {
                    return Err(StoreError::Missing(format!("sqlite:{}", path.display())));
                }
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.pragma_update(None, "query_only", "ON")?;
                conn
            }
        };
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(SqliteBackend {
            conn,
            label: format!("sqlite:{}", path.display()),
        })
    }
}

/// Creates the database file with owner-only permissions before SQLite opens it.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    crate::link::write_private(path, b"").map_err(io)
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    label: &'a str,
}

impl SqliteTx<'_> {
    /// A missing schema (a file created by a sync that died before its first commit) means no store yet.
    fn map(&self, e: rusqlite::Error) -> StoreError {
        if e.to_string().contains("no such table") {
            StoreError::Missing(self.label.to_string())
        } else {
            StoreError::Sqlite(e)
        }
    }
}

fn to_sql(v: &Val) -> Value {
    match v {
        Val::Null | Val::OptInt(None) => Value::Null,
        Val::Int(i) | Val::OptInt(Some(i)) => Value::Integer(*i),
        Val::Text(s) => Value::Text(s.clone()),
        Val::Bytes(b) => Value::Blob(b.clone()),
    }
}

fn from_sql(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Text(f.to_string()),
        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
    }
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let sql = Dialect::Sqlite.render(sql);
        let n = self
            .tx
            .execute(&sql, params_from_iter(params.iter().map(to_sql)))
            .map_err(|e| self.map(e))?;
        Ok(n as u64)
    }

    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StoreError> {
        let sql = Dialect::Sqlite.render(sql);
        let mut stmt = self.tx.prepare(&sql).map_err(|e| self.map(e))?;
        let n = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter().map(to_sql)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(
                (0..n)
                    .map(|i| row.get_ref(i).map(from_sql))
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(out)
    }
}

impl SqliteBackend {
    fn run(
        &mut self,
        behavior: TransactionBehavior,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(behavior)?;
        f(&mut SqliteTx {
            tx: &tx,
            label: &self.label,
        })?;
        tx.commit()?;
        Ok(())
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn write(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        // IMMEDIATE takes the write lock first, so a second writer waits instead of failing mid-way.
        self.run(TransactionBehavior::Immediate, f)
    }

    fn read(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        self.run(TransactionBehavior::Deferred, f)
    }

    fn analyst_query(&mut self, sql: &str) -> Result<QueryResult, StoreError> {
        self.conn.authorizer(Some(analyst_authorizer))?;
        let result = query_text(&self.conn, sql);
        self.conn
            .authorizer(None::<fn(AuthContext<'_>) -> Authorization>)?;
        result
    }
}

/// Reads of the dataset only.
fn analyst_authorizer(ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Read { table_name, .. } if ANALYST_RELATIONS.contains(&table_name) => {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

fn query_text(conn: &Connection, sql: &str) -> Result<QueryResult, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(refusal)?;
    if !stmt.readonly() {
        return Err(StoreError::Refused("the statement would write".into()));
    }
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => None,
                ValueRef::Integer(v) => Some(v.to_string()),
                ValueRef::Real(v) => Some(v.to_string()),
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Some(hex::encode(b)),
            });
        }
        out.push(values);
    }
    Ok(QueryResult { columns, rows: out })
}

/// An authorizer denial or a second statement is a refusal, not an internal error.
fn refusal(e: rusqlite::Error) -> StoreError {
    let denied = e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied);
    if denied || matches!(e, rusqlite::Error::MultipleStatement) {
        StoreError::Refused(format!(
            "{e} (analysts may run one SELECT over entries and restricted_zip3)"
        ))
    } else {
        StoreError::Sqlite(e)
    }
}
