//! The `Context` trait: everything a contract may ask of the ledger during one invocation.
//!
//! The endorser's simulator implements it over a consistent snapshot of committed state (endorse step). It
//! records every read with the version it saw, every range query with the keys it returned, and buffers every
//! write; those become the transaction's read/write set, which validation re-checks against the state at
//! commit time (MVCC and phantom checks) before applying the writes. Hence the rules below, identical in the
//! real simulator and in [`crate::testing::MockContext`]:
//!
//! * **A transaction does not read its own writes.** `get_state` after `put_state` of the same key in the same
//!   invocation returns the *committed* value (or `None`), not the value just written. Range queries and
//!   history likewise see only committed state. Keep what you wrote in a local variable if you need it again.
//! * Writes are buffered: nothing is visible to anyone until the transaction is ordered, validated and
//!   committed. The last write to a key within a transaction wins.
//! * A contract must be deterministic: every endorser runs it and their results must match byte for byte. No
//!   clocks (use [`TxInfo::timestamp`]), no randomness, no iteration over `HashMap`s into output.
//!
//! The [`checks`] functions hold the argument rules both implementations apply, so the messages match.

use crate::{Caller, ContractError, KeyEndorsement, Timestamp};

/// One page of a range query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// `(key, value)` pairs in ascending key order.
    pub items: Vec<(String, Vec<u8>)>,
    /// Pass back unchanged to get the next page; empty when the range is exhausted. Treat it as opaque (it is
    /// the first key not yet returned, as in Fabric's LevelDB state).
    pub bookmark: String,
}

/// One committed change to a key, as returned by [`Context::get_history_for_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    /// The transaction that made the change.
    pub tx_id: String,
    /// The value written; empty for a delete.
    pub value: Vec<u8>,
    /// The timestamp of that transaction (its `ChannelHeader.timestamp`).
    pub timestamp: Timestamp,
    /// Whether the change deleted the key.
    pub is_delete: bool,
}

/// Facts about the transaction being simulated, identical on every endorser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxInfo {
    /// The transaction id (hex SHA-256 of nonce ‖ creator), unique on the channel.
    pub tx_id: String,
    /// The channel the transaction is for.
    pub channel_id: String,
    /// The client's proposal timestamp: the only "now" a contract may use.
    pub timestamp: Timestamp,
}

/// The ledger as seen by one invocation of one contract, scoped to that contract's namespace.
///
/// Every method that reads state takes `&mut self` because the read is recorded in the read/write set.
/// Implementations return [`ContractError::State`] when the ledger itself fails and `BadRequest` for arguments
/// that break the [`checks`] rules.
pub trait Context {
    /// The committed value of `key`, or `None`. Records the read with its version (or "absent").
    /// Does **not** see this transaction's own writes.
    fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, ContractError>;

    /// Buffers a write of `value` to `key`. `BadRequest` for an empty key or an empty value (Fabric would turn
    /// an empty value into a delete; call [`Context::del_state`] for that).
    fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), ContractError>;

    /// Buffers a delete of `key` (deleting an absent key is allowed and still recorded). `BadRequest` for an
    /// empty key. Deleting a key also drops its key-level endorsement policy.
    fn del_state(&mut self, key: &str) -> Result<(), ContractError>;

    /// Committed keys in `[start, end)`, ascending. `start == ""` means from the very first key (composite keys,
    /// which begin with U+0000, included: see `ContextExt::get_simple_state_by_range` for Fabric's
    /// `GetStateByRange`), `end == ""` means no upper bound.
    ///
    /// `page_size == 0` returns everything; otherwise at most `page_size` entries, and a non-empty
    /// [`Page::bookmark`] when more remain. Pass that bookmark with the same `start`/`end` to continue. The
    /// query is recorded and re-run at validation: a key inserted into or removed from the range you read
    /// before commit invalidates the transaction (phantom read).
    fn get_state_by_range(
        &mut self,
        start: &str,
        end: &str,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page, ContractError>;

    /// Every committed change to `key`, newest first (Fabric order), deletes included. History is not part of
    /// the read set: it is not re-validated at commit, so do not base writes on it alone.
    fn get_history_for_key(&mut self, key: &str) -> Result<Vec<KeyModification>, ContractError>;

    /// Transient input by name: data the client sent with the proposal that never reaches the ledger or the
    /// orderer (use it for secrets and PHI headed for private data).
    fn transient(&self, key: &str) -> Option<&[u8]>;

    /// The verified identity that submitted the proposal.
    fn caller(&self) -> &Caller;

    /// Transaction id, channel and timestamp.
    fn tx(&self) -> &TxInfo;

    /// Sets the transaction's chaincode event, delivered to listeners only if the transaction commits as
    /// valid. A transaction has one event: a second call replaces the first. `BadRequest` for an empty name.
    fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), ContractError>;

    /// Sets (`Some`) or removes (`None`) the key-level endorsement policy of `key`: once committed, changes to
    /// `key` need endorsements from every org in the policy. `BadRequest` for an empty key or a policy that
    /// fails [`KeyEndorsement::validate`]. The policy is metadata of the key's value, as in Fabric: it
    /// survives later value updates, is dropped when the key is deleted, and has no effect on a key that does
    /// not exist when the transaction commits. Setting it changes the key's version.
    fn set_key_endorsement(
        &mut self,
        key: &str,
        policy: Option<&KeyEndorsement>,
    ) -> Result<(), ContractError>;

    /// The committed key-level endorsement policy of `key`, if any. Records a read of `key` (Fabric reads the
    /// metadata with the value). Does not see a policy set earlier in this transaction.
    fn key_endorsement(&mut self, key: &str) -> Result<Option<KeyEndorsement>, ContractError>;

    /// The committed value of `key` in private data collection `collection`. Only peers of the
    /// collection's member organizations hold private data: elsewhere this is `Forbidden`. Records a
    /// (hashed) read; does not see this transaction's own private writes. `BadRequest` for a collection the
    /// chaincode definition does not declare.
    fn get_private_data(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ContractError>;

    /// Writes private data. The value reaches only member peers; the ledger carries its SHA-256 hash. Pass
    /// PHI through [`Context::transient`] rather than arguments, which are recorded in the block.
    fn put_private_data(&mut self, collection: &str, key: &str, value: &[u8]) -> Result<(), ContractError>;

    /// Deletes private data (the hash of the deletion is recorded; history remains on member peers).
    fn del_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError>;

    /// Purges private data: the current value and every historical version disappear from every member
    /// peer when the transaction commits, while the hashes stay on the ledger (Fabric 2.5 semantics).
    fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError>;

    /// SHA-256 of the committed private value, available on every peer of the channel (members or not),
    /// so anyone can check a value against the ledger.
    fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ContractError>;

    /// Private keys in `[start, end)` of `collection` ("" end: no upper bound), ascending, committed values
    /// only. Member peers only.
    fn get_private_data_by_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError>;
}

/// The argument rules every [`Context`] implementation applies, with Fabric's wording where Fabric has one.
pub mod checks {
    use crate::{ContractError, KeyEndorsement};

    /// A key that is written, deleted or given a policy must not be empty.
    pub fn key(key: &str) -> Result<(), ContractError> {
        if key.is_empty() {
            return Err(ContractError::BadRequest(
                "key must not be an empty string".into(),
            ));
        }
        Ok(())
    }

    /// A written value must not be empty: Fabric records an empty write as a delete, which would surprise.
    pub fn value(key: &str, value: &[u8]) -> Result<(), ContractError> {
        if value.is_empty() {
            return Err(ContractError::BadRequest(format!(
                "value for key {key:?} must not be empty; use del_state to delete a key"
            )));
        }
        Ok(())
    }

    /// An event needs a name (Fabric drops unnamed events).
    pub fn event_name(name: &str) -> Result<(), ContractError> {
        if name.is_empty() {
            return Err(ContractError::BadRequest(
                "event name can not be empty string".into(),
            ));
        }
        Ok(())
    }

    /// A key-level policy needs a key and, when set, must be enforceable.
    pub fn key_endorsement(key: &str, policy: Option<&KeyEndorsement>) -> Result<(), ContractError> {
        self::key(key)?;
        match policy {
            Some(policy) => policy.validate().map_err(|e| {
                ContractError::BadRequest(format!(
                    "cannot set endorsement policy of key {key:?}: {}",
                    e.message()
                ))
            }),
            None => Ok(()),
        }
    }
}
