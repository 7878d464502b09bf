//! The shared backend: a PostgreSQL database, through the synchronous `postgres` client (which runs its
//! own small runtime, so the sync drives it from its writer thread, off the async workers). Reads run in
//! REPEATABLE READ, READ ONLY transactions (a consistent snapshot); analysts' queries in READ ONLY
//! transactions with a statement timeout, through the extended protocol, which accepts one statement only.
//! Which relations an analyst's database login may read is the DBA's grant (see the README); the schema
//! itself is the same as SQLite's.

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Row};

use super::schema::Dialect;
use super::{Access, Backend, QueryResult, StoreError, Tx, Val};

/// A PostgreSQL store.
pub struct PgBackend {
    client: Client,
    label: String,
}

impl PgBackend {
    /// Connects. Read access requires the schema to exist (checked on first read).
    pub fn connect(conn: &str, _access: Access) -> Result<Self, StoreError> {
        let client = Client::connect(conn, NoTls)?;
        Ok(PgBackend {
            client,
            label: super::Location::Postgres(conn.to_string()).to_string(),
        })
    }
}

struct PgTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    label: &'a str,
}

fn params(values: &[Val]) -> Vec<Box<dyn ToSql + Sync>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                Val::Null => Box::new(None::<String>),
                Val::Int(i) => Box::new(*i),
                Val::OptInt(i) => Box::new(*i),
                Val::Text(s) => Box::new(s.clone()),
                Val::Bytes(b) => Box::new(b.clone()),
            }
        })
        .collect()
}

fn value(row: &Row, i: usize) -> Result<Val, postgres::Error> {
    let ty = row.columns()[i].type_().clone();
    Ok(if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map_or(Val::Null, Val::Int)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Val::Null, |v| Val::Int(v.into()))
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Val::Null, Val::Bytes)
    } else {
        row.try_get::<_, Option<String>>(i)?.map_or(Val::Null, Val::Text)
    })
}

impl PgTx<'_, '_> {
    /// A missing schema means the sync never ran.
    fn map(&self, e: postgres::Error) -> StoreError {
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            StoreError::Missing(self.label.to_string())
        } else {
            StoreError::Postgres(e)
        }
    }
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, values: &[Val]) -> Result<u64, StoreError> {
        let sql = Dialect::Postgres.render(sql);
        let boxed = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        self.tx.execute(&sql, &refs).map_err(|e| self.map(e))
    }

    fn rows(&mut self, sql: &str, values: &[Val]) -> Result<Vec<Vec<Val>>, StoreError> {
        let sql = Dialect::Postgres.render(sql);
        let boxed = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let rows = self.tx.query(&sql, &refs).map_err(|e| self.map(e))?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| value(r, i)).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, _>>()
            .map_err(StoreError::Postgres)
    }
}

impl Backend for PgBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn write(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        f(&mut PgTx {
            tx: &mut tx,
            label: &self.label,
        })?;
        tx.commit()?;
        Ok(())
    }

    fn read(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()?;
        f(&mut PgTx {
            tx: &mut tx,
            label: &self.label,
        })?;
        tx.commit()?;
        Ok(())
    }

    fn analyst_query(&mut self, sql: &str) -> Result<QueryResult, StoreError> {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        let mut tx = self.client.build_transaction().read_only(true).start()?;
        tx.batch_execute("SET LOCAL statement_timeout = '60s'")?;
        let stmt = tx.prepare(sql).map_err(refusal)?;
        let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_string()).collect();
        if columns.is_empty() {
            return Err(StoreError::Refused("not a query (it returns no columns)".into()));
        }
        // Every column as text, whatever its type (numeric averages included): rename them positionally
        // so duplicate names such as two count(*) do not collide.
        let n = columns.len();
        let aliases: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
        let casts: Vec<String> = aliases.iter().map(|a| format!("q.{a}::text")).collect();
        let wrapped = format!(
            "SELECT {} FROM ({sql}) AS q({})",
            casts.join(", "),
            aliases.join(", ")
        );
        let rows = tx.query(&wrapped, &[]).map_err(refusal)?;
        let rows = rows
            .iter()
            .map(|r| (0..n).map(|i| r.try_get::<_, Option<String>>(i)).collect())
            .collect::<Result<Vec<_>, _>>()?;
        tx.rollback()?;
        Ok(QueryResult { columns, rows })
    }
}

/// Writes, forbidden relations and several statements are refusals, not internal errors.
fn refusal(e: postgres::Error) -> StoreError {
    let refused = e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION)
        || e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
        || e.to_string().contains("multiple commands");
    if refused {
        StoreError::Refused(format!("{e}"))
    } else {
        StoreError::Postgres(e)
    }
}
