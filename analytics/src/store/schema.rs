//! The one schema of the analytics store, written once and rendered for SQLite or PostgreSQL.
//!
//! | table | holds | analysts see it |
//! |---|---|---|
//! | `deid_entry` | one Safe Harbor row per de-identified entry, keyed by a random `entry` token, with the patient's random `subject` token | through the view `entries` |
//! | `subject_link` | `token_key` (HMAC of the research token under the sync's linking key) → `subject` | no |
//! | `restricted_zip3` | the three-digit ZIP prefixes published as `000` | yes |
//! | `analytics_meta` | one row: channel, chaincode, the last applied block and its hash, the latest config block, the key check, the observed peer height | no |
//!
//! No row carries a block number, transaction id, timestamp or insertion order (SQLite tables are
//! `WITHOUT ROWID`, keyed by random tokens), so the dataset cannot be lined up with the chain's
//! transactions.

/// Version of this schema (in `analytics_meta.schema_version`).
pub const VERSION: i64 = 1;

/// SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// Renders a statement written with `$1`-style placeholders and `{INT}`, `{BLOB}`, `{NO_ROWID}`,
    /// `{VIEW}` and `{FOR_UPDATE}` markers.
    pub fn render(self, sql: &str) -> String {
        let (int, blob, no_rowid, view, for_update) = match self {
            Dialect::Sqlite => (
                "INTEGER",
                "BLOB",
                " WITHOUT ROWID",
                "CREATE VIEW IF NOT EXISTS",
                "",
            ),
            Dialect::Postgres => ("BIGINT", "BYTEA", "", "CREATE OR REPLACE VIEW", " FOR UPDATE"),
        };
        let out = sql
            .replace("{INT}", int)
            .replace("{BLOB}", blob)
            .replace("{NO_ROWID}", no_rowid)
            .replace("{VIEW}", view)
            .replace("{FOR_UPDATE}", for_update);
        match self {
            // SQLite's `?NNN` binds to parameter NNN exactly, like PostgreSQL's `$NNN`.
            Dialect::Sqlite => out.replace('$', "?"),
            Dialect::Postgres => out,
        }
    }
}

/// The schema, statement by statement.
pub const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS analytics_meta (
        id {INT} PRIMARY KEY CHECK (id = 1),
        schema_version {INT} NOT NULL,
        channel TEXT NOT NULL,
        chaincode TEXT NOT NULL,
        link_check TEXT NOT NULL,
        last_block {INT},
        last_hash TEXT,
        config_block {BLOB},
        config_number {INT},
        peer_height {INT},
        observed_at TEXT,
        updated_at TEXT
    )",
    "CREATE TABLE IF NOT EXISTS restricted_zip3 (prefix TEXT PRIMARY KEY){NO_ROWID}",
    "CREATE TABLE IF NOT EXISTS subject_link (
        token_key TEXT PRIMARY KEY,
        subject TEXT NOT NULL UNIQUE
    ){NO_ROWID}",
    "CREATE TABLE IF NOT EXISTS deid_entry (
        entry TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        category TEXT NOT NULL,
        year {INT} NOT NULL,
        age_band TEXT NOT NULL,
        birth_year {INT},
        sex TEXT NOT NULL,
        zip3 TEXT NOT NULL
    ){NO_ROWID}",
    "CREATE INDEX IF NOT EXISTS deid_entry_subject ON deid_entry (subject)",
    "{VIEW} entries AS
        SELECT entry, subject, category, year, age_band, birth_year, sex, zip3 FROM deid_entry",
];

/// Relations an analyst's query may read (SQLite enforces it with an authorizer).
pub const ANALYST_RELATIONS: &[&str] = &[
    "entries",
    "deid_entry",
    "restricted_zip3",
    "sqlite_master",
    "sqlite_schema",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_types_follow_the_dialect() {
        let sql = "SELECT a FROM t WHERE x = $1 AND y = $2{FOR_UPDATE}";
        assert_eq!(
            Dialect::Sqlite.render(sql),
            "SELECT a FROM t WHERE x = ?1 AND y = ?2"
        );
        assert_eq!(
            Dialect::Postgres.render(sql),
            "SELECT a FROM t WHERE x = $1 AND y = $2 FOR UPDATE"
        );
        assert!(Dialect::Postgres.render(DDL[3]).contains("year BIGINT NOT NULL"));
        assert!(Dialect::Sqlite.render(DDL[3]).ends_with("WITHOUT ROWID"));
    }
}
