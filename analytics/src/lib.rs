//! `carechain-analytics`: the off-chain store of the de-identified dataset that analysts read.
//!
//! It sits after validate, outside endorse → order → validate: the `records` contract emits a
//! `DeidentifiedEntry` event (at endorsement) for a record written with research consent; once a peer has
//! committed the block, `carechain analytics sync` reads it through the peer's Deliver service, keeps the
//! events of VALID transactions, enforces HIPAA Safe Harbor again, and writes rows keyed by random tokens
//! into SQLite or PostgreSQL, exactly once. Analysts holding an analyst certificate query, export (after a
//! k-anonymity check) and report on it. See `analytics/README.md`.
//!
//! # Layout
//! - Pure (no IO, no runtime): [`safeharbor`] (the transforms), [`events`] (a block → rows to add and
//!   patients to remove), [`anonymity`] (k-anonymity, l-diversity), [`access`] (the analyst certificate
//!   check against the channel's MSPs).
//! - Data access: [`store`] (one schema, one set of operations, SQLite and PostgreSQL backends), [`link`]
//!   (random tokens, the linking key), [`export`] (CSV, Parquet).
//! - Shells: [`sync`] (the async follower and its writer thread), [`deliver`] (the peer), [`metrics`]
//!   (lag gauge, progress bar), [`analyst`] (the gate of the analyst commands), [`render`] (what they
//!   print).
//! - [`testing`]: a throwaway PostgreSQL server for tests.

pub mod access;
pub mod analyst;
pub mod anonymity;
pub mod deliver;
pub mod events;
pub mod export;
pub mod link;
pub mod metrics;
pub mod render;
pub mod safeharbor;
pub mod store;
pub mod sync;
pub mod testing;
