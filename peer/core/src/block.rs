//! Validating a whole block: per-transaction checks in parallel, then duplicate tx ids and MVCC in
//! block order, producing the validation code of every transaction and the [`BlockUpdates`] the
//! ledger commits. Invalid transactions stay in the block (their codes go into the
//! TRANSACTIONS_FILTER metadata) and change nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use carechain_proto::rwset::TxPvtReadWriteSet;

use crate::collection::{self, CollectionConfig};
use crate::pvtapply::{CollInfo, apply_private};

use carechain_channel::ChannelConfig;
use carechain_proto::protos::{ChaincodeEvent, TxValidationCode as Code};
use rayon::prelude::*;

use crate::mvcc::{self, MvccOutcome, ValidTx};
use crate::state::{BlockUpdates, StateError, StateView, TxLocation, Version, VersionedValue};
use crate::txcheck::{self, Checked, EndorserTx, Invalid};

/// What validation decided for one transaction.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    /// The validation code.
    pub code: Code,
    /// Transaction id, when readable.
    pub tx_id: Option<String>,
    /// Why it is invalid (empty when valid).
    pub reason: String,
    /// The event of a valid transaction.
    pub event: Option<ChaincodeEvent>,
    /// Whether this is a config transaction.
    pub is_config: bool,
}

/// The result of validating a block.
#[derive(Debug, Clone, Default)]
pub struct ValidatedBlock {
    /// One outcome per envelope, in block order.
    pub outcomes: Vec<TxOutcome>,
    /// State, history and tx-index changes to commit.
    pub updates: BlockUpdates,
    /// The configuration a valid config block installs.
    pub new_config: Option<carechain_proto::common::Config>,
}

impl ValidatedBlock {
    /// The TRANSACTIONS_FILTER metadata: one validation code byte per transaction.
    pub fn filter(&self) -> Vec<u8> {
        self.outcomes.iter().map(|o| o.code as i32 as u8).collect()
    }
}

/// What the committing peer brings for private data: its organization, and the plaintext private write
/// sets it holds in its transient store for transactions of this block, by tx id.
#[derive(Debug, Default)]
pub struct PvtInput {
    /// MSP id of the committing peer.
    pub local_msp: String,
    /// Private write sets received from endorsers (or endorsed locally).
    pub plaintext: HashMap<String, TxPvtReadWriteSet>,
}

/// Validates the envelopes of block `number` of `channel` against `view` (state as of block
/// `number - 1`).
pub fn validate_block(
    number: u64,
    envelopes: &[bytes::Bytes],
    channel: &ChannelConfig,
    view: &(dyn StateView + Sync),
    pvt: &PvtInput,
) -> Result<ValidatedBlock, StateError> {
    let checked: Vec<Result<Checked, Invalid>> = envelopes
        .par_iter()
        .map(|raw| txcheck::check_envelope(raw, channel, view))
        .collect();
    let mut out = ValidatedBlock::default();
    let mut seen: HashSet<String> = HashSet::new();
    let infos = CollInfos::new(view, &pvt.local_msp);
    for (i, result) in checked.into_iter().enumerate() {
        let outcome = match result {
            Err(inv) => TxOutcome {
                code: inv.code,
                tx_id: inv.tx_id,
                reason: inv.reason,
                event: None,
                is_config: false,
            },
            // A config transaction must be alone in its block (the ordering service cuts it so).
            Ok(Checked::Config { tx_id, .. }) if envelopes.len() != 1 => TxOutcome {
                code: Code::InvalidConfigTransaction,
                tx_id: Some(tx_id),
                reason: "a config transaction must be the only transaction of its block".into(),
                event: None,
                is_config: true,
            },
            Ok(Checked::Config { tx_id, config }) => {
                out.new_config = Some(*config);
                TxOutcome {
                    code: Code::Valid,
                    tx_id: Some(tx_id),
                    reason: String::new(),
                    event: None,
                    is_config: true,
                }
            }
            Ok(Checked::Endorser(tx)) => {
                let outcome = sequential(number, i as u64, &tx, channel, view, &mut out.updates, &seen)?;
                if outcome.code == Code::Valid {
                    let version = Version::new(number, i as u64);
                    let info = |ns: &str, coll: &str| infos.get(ns, coll);
                    let plaintext = pvt.plaintext.get(&tx.tx_id);
                    apply_private(&mut out.updates, i as u64, version, &tx.rwset, plaintext, &info);
                }
                outcome
            }
        };
        if let Some(id) = &outcome.tx_id
            && !id.is_empty()
            && outcome.code != Code::DuplicateTxid
            && seen.insert(id.clone())
        {
            out.updates.tx_index.push((
                id.clone(),
                TxLocation {
                    block: number,
                    tx: i as u64,
                    code: outcome.code as i32,
                },
            ));
        }
        out.outcomes.push(outcome);
    }
    Ok(out)
}

fn sequential(
    number: u64,
    index: u64,
    tx: &EndorserTx,
    channel: &ChannelConfig,
    view: &(dyn StateView + Sync),
    pending: &mut BlockUpdates,
    seen: &HashSet<String>,
) -> Result<TxOutcome, StateError> {
    let invalid = |code: Code, reason: String, tx: &EndorserTx| TxOutcome {
        code,
        tx_id: Some(tx.tx_id.clone()),
        reason,
        event: None,
        is_config: false,
    };
    if seen.contains(&tx.tx_id) || view.tx_exists(&tx.tx_id)? {
        return Ok(invalid(
            Code::DuplicateTxid,
            format!("transaction {} was already submitted", tx.tx_id),
            tx,
        ));
    }
    match mvcc::check(view, pending, &tx.rwset)? {
        MvccOutcome::Valid => {}
        MvccOutcome::ReadConflict { ns, key } => {
            return Ok(invalid(
                Code::MvccReadConflict,
                format!("{ns}/{key:?} changed since endorsement"),
                tx,
            ));
        }
        MvccOutcome::Phantom { ns, start, end } => {
            return Ok(invalid(
                Code::PhantomReadConflict,
                format!("range {ns}/[{start:?}, {end:?}] changed since endorsement"),
                tx,
            ));
        }
    }
    // A blind write to a key whose policy an earlier transaction of this block just changed must meet
    // the new policy.
    if writes_pending_key(tx, pending) {
        let overlay = Overlay { base: view, pending };
        if let Err(inv) = txcheck::check_policies(tx, channel, &overlay) {
            return Ok(invalid(inv.code, inv.reason, tx));
        }
    }
    let vt = ValidTx {
        tx_id: &tx.tx_id,
        version: Version::new(number, index),
        timestamp: tx.timestamp,
    };
    mvcc::apply_valid_tx(view, pending, &vt, &tx.rwset)?;
    Ok(TxOutcome {
        code: Code::Valid,
        tx_id: Some(tx.tx_id.clone()),
        reason: String::new(),
        event: tx.event.clone(),
        is_config: false,
    })
}

fn writes_pending_key(tx: &EndorserTx, pending: &BlockUpdates) -> bool {
    tx.rwset.namespaces.iter().any(|ns| {
        ns.writes
            .iter()
            .map(|(k, _)| k)
            .chain(ns.metadata_writes.iter().map(|(k, _)| k))
            .any(|k| pending.state.contains_key(&(ns.namespace.clone(), k.clone())))
    })
}

/// Collection membership and block-to-live of this peer, per (namespace, collection), read from the
/// chaincode definitions once per block.
struct CollInfos<'a> {
    view: &'a dyn StateView,
    local_msp: &'a str,
    defs: Mutex<HashMap<String, Vec<CollectionConfig>>>,
}

impl<'a> CollInfos<'a> {
    fn new(view: &'a dyn StateView, local_msp: &'a str) -> Self {
        CollInfos {
            view,
            local_msp,
            defs: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, ns: &str, coll: &str) -> Option<CollInfo> {
        let mut defs = self.defs.lock().ok()?;
        let colls = defs.entry(ns.to_string()).or_insert_with(|| {
            crate::lifecycle::definition(self.view, ns)
                .ok()
                .flatten()
                .map(|d| d.collections)
                .unwrap_or_default()
        });
        collection::find(colls, coll).map(|c| CollInfo {
            member: c.is_member(self.local_msp),
            block_to_live: c.block_to_live,
        })
    }
}

/// Committed state with the block's earlier valid writes laid over it.
struct Overlay<'a> {
    base: &'a dyn StateView,
    pending: &'a BlockUpdates,
}

impl StateView for Overlay<'_> {
    fn get(&self, ns: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        match self.pending.state.get(&(ns.to_string(), key.to_string())) {
            Some(u) => Ok(u.value.as_ref().map(|v| VersionedValue {
                value: v.clone(),
                version: u.version,
                metadata: u.metadata.clone(),
            })),
            None => self.base.get(ns, key),
        }
    }

    fn range(
        &self,
        ns: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        self.base.range(ns, start, end, limit)
    }

    fn history(&self, ns: &str, key: &str) -> Result<Vec<crate::state::HistoryEntry>, StateError> {
        self.base.history(ns, key)
    }

    fn tx_exists(&self, tx_id: &str) -> Result<bool, StateError> {
        self.base.tx_exists(tx_id)
    }

    fn height(&self) -> u64 {
        self.base.height()
    }

    fn get_private_hash(
        &self,
        ns: &str,
        coll: &str,
        key_hash: &[u8],
    ) -> Result<Option<crate::state::HashedValue>, StateError> {
        let k = (ns.to_string(), coll.to_string(), key_hash.to_vec());
        match self.pending.private.hashed.get(&k) {
            Some(u) => Ok(u.value_hash.as_ref().map(|h| crate::state::HashedValue {
                value_hash: h.clone(),
                version: u.version,
            })),
            None => self.base.get_private_hash(ns, coll, key_hash),
        }
    }

    fn get_private(&self, ns: &str, coll: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        self.base.get_private(ns, coll, key)
    }

    fn private_range(
        &self,
        ns: &str,
        coll: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        self.base.private_range(ns, coll, start, end, limit)
    }
}
