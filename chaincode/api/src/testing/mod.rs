//! `MockContext`: an in-memory ledger for testing contracts without a peer.
//!
//! Contract tests are the first of the project's three test layers: pure, fast and in memory. `MockContext`
//! plays both the endorser's simulator and the committer, with the same rules as the real simulator in
//! `peer-core`, so a contract that passes here behaves the same on a network:
//!
//! * **Reads see committed state only.** Within a transaction, `get_state` after `put_state` returns the
//!   committed value, not the one just written (Fabric semantics); range queries and history likewise.
//! * A transaction's writes, deletes, key-level policies and event are buffered in a [`TxRecord`] until
//!   [`MockContext::commit`] applies them (one mock block per commit; a key's version is the height of the
//!   block that last changed it) or [`MockContext::discard`] drops them.
//! * [`MockContext::submit`] runs one invocation as a whole transaction: commit on success, discard on error,
//!   like a Fabric client whose proposal failed endorsement. [`MockContext::evaluate`] always discards, like a
//!   query. Multi-step tests therefore see earlier steps' results exactly as later transactions would.
//! * After a commit or discard the next transaction gets a fresh id (`mock-tx-N`), a timestamp one second
//!   later and no transient data; the accessors (`writes()`, `reads()`, `event()`, …) keep describing the
//!   finished transaction until the next one touches the context.
//!
//! It is always compiled (not `cfg(test)`) so every contract crate's tests can use it.

mod private;
mod record;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Bound;

pub use record::{Event, RangeRead, TxRecord, TxStatus};

use crate::context::checks;
use crate::{
    Call, Caller, Context, Contract, ContractError, KeyEndorsement, KeyModification, Page, Role, Timestamp,
    TxInfo,
};

/// Default timestamp of the first mock transaction: 2024-01-01T00:00:00Z.
const DEFAULT_TIMESTAMP: Timestamp = Timestamp::new(1_704_067_200, 0);

/// A synthetic identity for tests: `subject` of `msp_id` with `role`, with an id derived from all three (so
/// different users never share an id).
pub fn synthetic_caller(msp_id: &str, role: Role, subject: &str) -> Caller {
    Caller::new(
        msp_id,
        role,
        format!("x509::CN={subject},OU={role}::CN=Synthetic CA,O={msp_id}"),
        subject,
    )
}

/// A committed value with its version and key-level policy.
#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    version: u64,
    policy: Option<KeyEndorsement>,
}

/// In-memory [`Context`] with committed state, versions, history and per-transaction read/write sets.
#[derive(Debug, Clone)]
pub struct MockContext {
    state: BTreeMap<String, Entry>,
    /// Per key, oldest change first.
    history: BTreeMap<String, Vec<KeyModification>>,
    height: u64,
    caller: Caller,
    tx: TxInfo,
    tx_seq: u64,
    transient: BTreeMap<String, Vec<u8>>,
    record: TxRecord,
    private: private::PrivateStore,
}

impl Default for MockContext {
    fn default() -> Self {
        MockContext::new()
    }
}

impl MockContext {
    /// An empty ledger on channel "mychannel"; caller "Synthetic User 1", a client of Org1MSP; first
    /// transaction `mock-tx-1` at 2024-01-01T00:00:00Z.
    pub fn new() -> MockContext {
        let tx_id = "mock-tx-1";
        MockContext {
            state: BTreeMap::new(),
            history: BTreeMap::new(),
            height: 0,
            caller: synthetic_caller("Org1MSP", Role::Client, "Synthetic User 1"),
            tx: TxInfo {
                tx_id: tx_id.into(),
                channel_id: "mychannel".into(),
                timestamp: DEFAULT_TIMESTAMP,
            },
            tx_seq: 1,
            transient: BTreeMap::new(),
            record: TxRecord::open(tx_id),
            private: private::PrivateStore::default(),
        }
    }

    /// Declares a private data collection; `member`: whether this mock peer's org is a member.
    pub fn with_collection(mut self, name: &str, member: bool) -> MockContext {
        self.private.collections.insert(name.to_string(), member);
        self
    }

    /// The committed private value of `key` in `collection` (not recorded as a read).
    pub fn private_state(&self, collection: &str, key: &str) -> Option<&[u8]> {
        self.private.get(collection, key).map(Vec::as_slice)
    }

    /// Every (collection, key) purged so far.
    pub fn purged(&self) -> &[(String, String)] {
        &self.private.purged
    }

    /// Replaces the caller.
    pub fn with_caller(mut self, caller: Caller) -> MockContext {
        self.set_caller(caller);
        self
    }

    /// Makes the caller a `role` of `msp_id`, keeping its subject and attributes (the id follows).
    pub fn with_msp(mut self, msp_id: &str, role: Role) -> MockContext {
        let attrs = std::mem::take(&mut self.caller.attrs);
        self.caller = synthetic_caller(msp_id, role, &self.caller.subject);
        self.caller.attrs = attrs;
        self
    }

    /// Adds a certificate attribute to the caller.
    pub fn with_attr(mut self, name: &str, value: &str) -> MockContext {
        self.caller.attrs.insert(name.into(), value.into());
        self
    }

    /// Adds transient input for the next transaction.
    pub fn with_transient(mut self, key: &str, value: &[u8]) -> MockContext {
        self.set_transient(key, value);
        self
    }

    /// Sets the id of the next transaction.
    pub fn with_tx_id(mut self, tx_id: &str) -> MockContext {
        self.set_tx_id(tx_id);
        self
    }

    /// Sets the timestamp of the next transaction (later ones add one second each).
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> MockContext {
        self.set_timestamp(timestamp);
        self
    }

    /// Sets the channel id.
    pub fn with_channel(mut self, channel_id: &str) -> MockContext {
        self.tx.channel_id = channel_id.into();
        self
    }

    /// Seeds committed state at version 0, as if written by transaction "mock-seed". Bypasses the key/value
    /// checks on purpose, so tests can plant data a contract could not write (e.g. malformed JSON).
    pub fn with_state(mut self, key: &str, value: &[u8]) -> MockContext {
        let entry = Entry {
            value: value.to_vec(),
            version: 0,
            policy: None,
        };
        self.state.insert(key.into(), entry);
        self.history.entry(key.into()).or_default().push(KeyModification {
            tx_id: "mock-seed".into(),
            value: value.to_vec(),
            timestamp: self.tx.timestamp,
            is_delete: false,
        });
        self
    }

    /// Switches the caller between transactions of a multi-user test.
    pub fn set_caller(&mut self, caller: Caller) {
        self.caller = caller;
    }

    /// Adds transient input for the current/next transaction (cleared when it ends).
    pub fn set_transient(&mut self, key: &str, value: &[u8]) {
        self.transient.insert(key.into(), value.to_vec());
    }

    /// Sets the id of the current/next transaction.
    pub fn set_tx_id(&mut self, tx_id: &str) {
        self.tx.tx_id = tx_id.into();
        if self.record.status == TxStatus::Open {
            self.record.tx_id = tx_id.into();
        }
    }

    /// Sets the timestamp of the current/next transaction.
    pub fn set_timestamp(&mut self, timestamp: Timestamp) {
        self.tx.timestamp = timestamp;
    }

    /// Runs `args` (Fabric's args: function first) as one transaction: commits if the contract succeeds,
    /// discards otherwise. Returns the contract's payload or error.
    pub fn submit<A: AsRef<[u8]>>(
        &mut self,
        contract: &dyn Contract,
        args: &[A],
    ) -> Result<Vec<u8>, ContractError> {
        let result = self.run(contract, args);
        if result.is_ok() {
            self.commit();
        } else {
            self.discard();
        }
        result
    }

    /// Runs `args` as a query: the result is returned and every write is discarded.
    pub fn evaluate<A: AsRef<[u8]>>(
        &mut self,
        contract: &dyn Contract,
        args: &[A],
    ) -> Result<Vec<u8>, ContractError> {
        let result = self.run(contract, args);
        self.discard();
        result
    }

    fn run<A: AsRef<[u8]>>(&mut self, contract: &dyn Contract, args: &[A]) -> Result<Vec<u8>, ContractError> {
        self.begin();
        let input: Vec<Vec<u8>> = args.iter().map(|a| a.as_ref().to_vec()).collect();
        let call = Call::parse(&input)?;
        contract.invoke(self, &call)
    }

    /// Applies the open transaction as one block: writes (recording history), then key-level policies (kept
    /// on value updates, dropped with deletes, ignored for absent keys). No-op when no transaction is open.
    pub fn commit(&mut self) {
        if self.record.status != TxStatus::Open {
            return;
        }
        self.height += 1;
        let version = self.height;
        for (key, write) in &self.record.writes {
            match write {
                Some(value) => {
                    let policy = self.state.get(key).and_then(|e| e.policy.clone());
                    let entry = Entry {
                        value: value.clone(),
                        version,
                        policy,
                    };
                    self.state.insert(key.clone(), entry);
                }
                None => {
                    self.state.remove(key);
                }
            }
            self.history
                .entry(key.clone())
                .or_default()
                .push(KeyModification {
                    tx_id: self.record.tx_id.clone(),
                    value: write.clone().unwrap_or_default(),
                    timestamp: self.tx.timestamp,
                    is_delete: write.is_none(),
                });
        }
        for (key, policy) in &self.record.policy_writes {
            if let Some(entry) = self.state.get_mut(key) {
                entry.policy = policy.clone();
                entry.version = version;
            }
        }
        self.private.commit();
        self.record.status = TxStatus::Committed;
        self.next_tx();
    }

    /// Drops the open transaction's effects (as when its proposal is not endorsed). No-op when none is open.
    pub fn discard(&mut self) {
        if self.record.status != TxStatus::Open {
            return;
        }
        self.private.discard();
        self.record.status = TxStatus::Discarded;
        self.next_tx();
    }

    /// The committed value of `key` (not recorded as a read).
    pub fn state(&self, key: &str) -> Option<&[u8]> {
        self.state.get(key).map(|e| e.value.as_slice())
    }

    /// The committed version of `key`: the height of the mock block that last changed it (0 = seeded).
    pub fn version(&self, key: &str) -> Option<u64> {
        self.state.get(key).map(|e| e.version)
    }

    /// Every committed key, ascending.
    pub fn keys(&self) -> Vec<&str> {
        self.state.keys().map(String::as_str).collect()
    }

    /// The committed key-level endorsement policy of `key` (not recorded as a read).
    pub fn committed_endorsement(&self, key: &str) -> Option<&KeyEndorsement> {
        self.state.get(key).and_then(|e| e.policy.as_ref())
    }

    /// Number of mock blocks committed.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The latest transaction's record (open, or just committed/discarded).
    pub fn last_tx(&self) -> &TxRecord {
        &self.record
    }

    /// Keys the latest transaction read, with the versions it saw.
    pub fn reads(&self) -> &BTreeMap<String, Option<u64>> {
        &self.record.reads
    }

    /// The latest transaction's range queries.
    pub fn range_reads(&self) -> &[RangeRead] {
        &self.record.range_reads
    }

    /// The latest transaction's buffered writes (`None` = delete).
    pub fn writes(&self) -> &BTreeMap<String, Option<Vec<u8>>> {
        &self.record.writes
    }

    /// The latest transaction's event.
    pub fn event(&self) -> Option<&Event> {
        self.record.event.as_ref()
    }

    /// Starts a fresh record if the previous transaction has ended.
    fn begin(&mut self) {
        if self.record.status != TxStatus::Open {
            self.record = TxRecord::open(&self.tx.tx_id);
        }
    }

    fn next_tx(&mut self) {
        self.tx_seq += 1;
        self.tx.tx_id = format!("mock-tx-{}", self.tx_seq);
        self.tx.timestamp.seconds = self.tx.timestamp.seconds.saturating_add(1);
        self.transient.clear();
    }

    fn scan(&self, start: &str, end: &str, page_size: u32, bookmark: &str) -> (Page, RangeRead) {
        let from = if bookmark > start { bookmark } else { start };
        let mut read = RangeRead {
            start: start.into(),
            end: end.into(),
            bookmark: bookmark.into(),
            page_size,
            keys: Vec::new(),
            exhausted: true,
        };
        if !end.is_empty() && from >= end {
            return (Page::default(), read);
        }
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(end)
        };
        let limit = match page_size {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let mut entries = self.state.range::<str, _>((Bound::Included(from), upper));
        let mut page = Page::default();
        for (key, entry) in entries.by_ref().take(limit) {
            page.items.push((key.clone(), entry.value.clone()));
            read.keys.push((key.clone(), entry.version));
        }
        if let Some((next, _)) = entries.next() {
            page.bookmark = next.clone();
            read.exhausted = false;
        }
        (page, read)
    }
}

impl Context for MockContext {
    fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, ContractError> {
        self.begin();
        let entry = self.state.get(key);
        self.record.reads.insert(key.into(), entry.map(|e| e.version));
        Ok(entry.map(|e| e.value.clone()))
    }

    fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), ContractError> {
        checks::key(key)?;
        checks::value(key, value)?;
        self.begin();
        self.record.writes.insert(key.into(), Some(value.to_vec()));
        Ok(())
    }

    fn del_state(&mut self, key: &str) -> Result<(), ContractError> {
        checks::key(key)?;
        self.begin();
        self.record.writes.insert(key.into(), None);
        Ok(())
    }

    fn get_state_by_range(
        &mut self,
        start: &str,
        end: &str,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page, ContractError> {
        self.begin();
        let (page, read) = self.scan(start, end, page_size, bookmark);
        self.record.range_reads.push(read);
        Ok(page)
    }

    fn get_history_for_key(&mut self, key: &str) -> Result<Vec<KeyModification>, ContractError> {
        self.begin();
        let mut changes = self.history.get(key).cloned().unwrap_or_default();
        changes.reverse();
        Ok(changes)
    }

    fn transient(&self, key: &str) -> Option<&[u8]> {
        self.transient.get(key).map(Vec::as_slice)
    }

    fn caller(&self) -> &Caller {
        &self.caller
    }

    fn tx(&self) -> &TxInfo {
        &self.tx
    }

    fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), ContractError> {
        checks::event_name(name)?;
        self.begin();
        self.record.event = Some(Event {
            name: name.into(),
            payload: payload.to_vec(),
        });
        Ok(())
    }

    fn set_key_endorsement(
        &mut self,
        key: &str,
        policy: Option<&KeyEndorsement>,
    ) -> Result<(), ContractError> {
        checks::key_endorsement(key, policy)?;
        self.begin();
        self.record
            .policy_writes
            .insert(key.into(), policy.map(KeyEndorsement::canonical));
        Ok(())
    }

    fn key_endorsement(&mut self, key: &str) -> Result<Option<KeyEndorsement>, ContractError> {
        self.begin();
        let entry = self.state.get(key);
        self.record.reads.insert(key.into(), entry.map(|e| e.version));
        Ok(entry.and_then(|e| e.policy.clone()))
    }

    fn get_private_data(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ContractError> {
        self.begin();
        self.private.check(collection, true)?;
        Ok(self.private.get(collection, key).cloned())
    }

    fn put_private_data(&mut self, collection: &str, key: &str, value: &[u8]) -> Result<(), ContractError> {
        self.begin();
        checks::key(key)?;
        checks::value(key, value)?;
        self.private.check(collection, false)?;
        self.private
            .writes
            .insert((collection.to_string(), key.to_string()), Some(value.to_vec()));
        Ok(())
    }

    fn del_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError> {
        self.begin();
        checks::key(key)?;
        self.private.check(collection, false)?;
        self.private
            .writes
            .insert((collection.to_string(), key.to_string()), None);
        Ok(())
    }

    fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError> {
        self.begin();
        checks::key(key)?;
        self.private.check(collection, false)?;
        self.private
            .purges
            .push((collection.to_string(), key.to_string()));
        Ok(())
    }

    fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ContractError> {
        self.begin();
        self.private.check(collection, false)?;
        Ok(self.private.hash(collection, key))
    }

    fn get_private_data_by_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        self.begin();
        self.private.check(collection, true)?;
        Ok(self.private.range(collection, start, end))
    }
}
