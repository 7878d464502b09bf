//! The data-access layer: one schema ([`schema`]), one set of operations ([`Store`]), two backends — an
//! embedded SQLite file (default) and PostgreSQL for a shared deployment. The operations are written once
//! against a small transaction interface ([`Tx`]); a backend only runs SQL and converts values.
//!
//! Exactly once: [`Store::apply`] writes the rows of a run of blocks and the number and hash of the last of
//! them in one database transaction, after checking that the run continues the stored chain. A crash
//! before the commit leaves nothing of those blocks; a block already applied is skipped, so replaying a
//! stream after a restart or a reconnect duplicates nothing.

mod ops;
mod postgres;
pub mod schema;
mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use ops::{Applied, Checkpoint, Stats, StoredRow};

use crate::safeharbor::TableError;
use schema::Dialect;

/// Where the store is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (`sqlite:PATH` or a plain path).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://user@host:port/db` or `postgres:host=... dbname=...`).
    Postgres(String),
}

impl FromStr for Location {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Location::Postgres(s.to_string()));
        }
        if let Some(kv) = s.strip_prefix("postgres:") {
            return Ok(Location::Postgres(kv.to_string()));
        }
        let path = s.strip_prefix("sqlite:").unwrap_or(s);
        if path.is_empty() {
            return Err(StoreError::Location(s.to_string()));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

impl fmt::Display for Location {
    /// The location without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Location::Postgres(s) => f.write_str(&redact(s)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A PostgreSQL connection string with its password replaced by `***`.
fn redact(s: &str) -> String {
    if let Some((scheme, rest)) = s.split_once("://") {
        if let Some((creds, host)) = rest.split_once('@')
            && let Some((user, _)) = creds.split_once(':')
        {
            return format!("{scheme}://{user}:***@{host}");
        }
        return s.to_string();
    }
    let parts: Vec<String> = s
        .split_whitespace()
        .map(|p| match p.split_once('=') {
            Some(("password", _)) => "password=***".to_string(),
            _ => p.to_string(),
        })
        .collect();
    format!("postgres:{}", parts.join(" "))
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The sync: creates the database and schema when missing.
    Write,
    /// Analysts and status: never creates or changes anything.
    Read,
}

/// A value crossing the data-access layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A nullable integer (typed, for PostgreSQL).
    OptInt(Option<i64>),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl Val {
    fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) | Val::OptInt(Some(i)) => Some(*i),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// One database transaction, as the operations see it. SQL uses `$1`-style placeholders (see
/// [`schema::Dialect::render`]).
pub trait Tx {
    /// Runs a statement; returns the rows changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError>;
    /// Runs a query; returns every row.
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StoreError>;
}

/// A database the operations run on.
pub trait Backend: Send {
    /// Its SQL dialect.
    fn dialect(&self) -> Dialect;
    /// Runs `f` in one transaction that commits only if `f` succeeds (serialized with other writers).
    fn write(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// Runs `f` in one read-only transaction (a consistent snapshot).
    fn read(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>) -> Result<(), StoreError>;
    /// Runs an analyst's query read-only; every value as text.
    fn analyst_query(&mut self, sql: &str) -> Result<QueryResult, StoreError>;
}

/// The answer to an analyst's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// The store: the operations over one backend.
pub struct Store {
    backend: Box<dyn Backend>,
    location: Location,
    commit_delay: Option<std::time::Duration>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgresql: {}", pg_message(.0))]
    Postgres(#[from] ::postgres::Error),
    /// Not a store location.
    #[error("{0:?} is not a store location (a path, sqlite:PATH, postgres://... or postgres:key=value ...)")]
    Location(String),
    /// The store does not exist yet (read access never creates it).
    #[error("no analytics store at {0}: run `carechain analytics sync` first")]
    Missing(String),
    /// The store belongs to another channel or chaincode.
    #[error("the store follows {have}, not {want}")]
    OtherChannel {
        /// What the store follows.
        have: String,
        /// What was asked.
        want: String,
    },
    /// The linking key is not the store's.
    #[error(
        "the linking key is not the one this store was created with: revocations would no longer find their patients"
    )]
    OtherKey,
    /// A newer schema.
    #[error("the store has schema version {0}; this carechain knows version {v}", v = schema::VERSION)]
    Schema(i64),
    /// A block is missing between the store and the stream.
    #[error("block {got} does not follow the store's last block (expected block {expected})")]
    Gap {
        /// The next block the store needs.
        expected: u64,
        /// The block offered.
        got: u64,
    },
    /// A block does not extend the stored chain.
    #[error("block {number} names previous hash {got}, but the store's block {} has hash {want}", number - 1)]
    Fork {
        /// Block number.
        number: u64,
        /// Previous hash in the block.
        got: String,
        /// Hash stored.
        want: String,
    },
    /// An analyst's statement that is not a single read-only query.
    #[error("refused: {0}")]
    Refused(String),
    /// Stored data that does not have the expected shape.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// A bad restricted-ZIP table.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Key file or random source.
    #[error(transparent)]
    Link(#[from] crate::link::LinkError),
    /// A file operation.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The server's message when there is one (the client's own text is just "db error").
fn pg_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl Store {
    /// Opens the store at `location`.
    pub fn open(location: &Location, access: Access) -> Result<Store, StoreError> {
        let backend: Box<dyn Backend> = match location {
            Location::Sqlite(path) => Box::new(sqlite::SqliteBackend::open(path, access)?),
            Location::Postgres(conn) => Box::new(postgres::PgBackend::connect(conn, access)?),
        };
        Ok(Store {
            backend,
            location: location.clone(),
            commit_delay: None,
        })
    }

    /// Crash tests only: hold every [`Store::apply`] transaction open this long, rows written, before it
    /// commits, so a test can kill the process inside it.
    pub fn set_commit_delay(&mut self, delay: Option<std::time::Duration>) {
        self.commit_delay = delay;
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// `sqlite` or `postgresql`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend.dialect() {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
        }
    }

    /// Runs an analyst's query (one read-only statement).
    pub fn query(&mut self, sql: &str) -> Result<QueryResult, StoreError> {
        self.backend.analyst_query(sql)
    }
}

#[cfg(test)]
mod tests;
