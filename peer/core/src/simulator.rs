//! The transaction simulator: the endorse step's implementation of the chaincode [`Context`].
//!
//! A contract runs against a [`StateView`] snapshot; the simulator answers its reads from committed
//! state (a transaction never reads its own writes, as in Fabric), records each read with its version
//! and each range scan with the keys it returned, and buffers writes, key-level policies and the event.
//! The result is the read/write set the endorser signs and validation later re-checks.

use std::collections::BTreeMap;

use carechain_channel::SignaturePolicy;
use carechain_crypto::msp::{Principal, Role as MspRole};
use carechain_proto::common::SignaturePolicyEnvelope;
use chaincode_api::checks;
use chaincode_api::{
    Caller, Context, ContractError, KeyEndorsement, KeyModification, Page, Role, Timestamp, TxInfo,
};
use prost::Message;

use crate::collection::{self, CollectionConfig};
use crate::pvtrwset;
use crate::rwset::{RwSetBuilder, VALIDATION_PARAMETER, kv_read, range_info};
use crate::state::{StateView, VersionedValue};

/// What a simulation may do with private data: the chaincode's collections and the endorsing peer's
/// organization (only peers of member organizations hold plaintext).
#[derive(Debug, Clone, Default)]
pub struct PrivateAccess {
    /// Collections declared by the chaincode definition.
    pub collections: Vec<CollectionConfig>,
    /// MSP id of the endorsing peer.
    pub local_msp: String,
}

/// One contract invocation's view of the ledger.
pub struct Simulator<'a> {
    view: &'a dyn StateView,
    ns: String,
    rw: RwSetBuilder,
    caller: Caller,
    tx: TxInfo,
    transient: &'a BTreeMap<String, Vec<u8>>,
    event: Option<(String, Vec<u8>)>,
    private: &'a PrivateAccess,
}

impl<'a> Simulator<'a> {
    /// A simulator for chaincode `ns` over `view`.
    pub fn new(
        view: &'a dyn StateView,
        ns: &str,
        caller: Caller,
        tx: TxInfo,
        transient: &'a BTreeMap<String, Vec<u8>>,
        private: &'a PrivateAccess,
    ) -> Self {
        Simulator {
            view,
            ns: ns.to_string(),
            rw: RwSetBuilder::new(),
            caller,
            tx,
            transient,
            event: None,
            private,
        }
    }

    /// The recorded read/write set and the event, consuming the simulator.
    pub fn finish(self) -> (RwSetBuilder, Option<(String, Vec<u8>)>) {
        (self.rw, self.event)
    }

    fn read(&mut self, key: &str) -> Result<Option<VersionedValue>, ContractError> {
        let v = self.view.get(&self.ns, key).map_err(state_err)?;
        self.rw.add_read(&self.ns, key, v.as_ref().map(|v| v.version));
        Ok(v)
    }
}

/// What a private data call needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Plaintext: the peer must hold it, and (memberOnlyRead) the client must be a member.
    Read,
    /// A write: (memberOnlyWrite) the client must be a member.
    Write,
    /// Only the hash, which every peer holds.
    Hash,
}

impl Simulator<'_> {
    /// The collection, if declared and accessible for `need`.
    fn collection(&self, name: &str, need: Need) -> Result<CollectionConfig, ContractError> {
        let c = collection::find(&self.private.collections, name).ok_or_else(|| {
            ContractError::BadRequest(format!(
                "collection {name} is not defined for chaincode {}",
                self.ns
            ))
        })?;
        let client = &self.caller.msp_id;
        let denied = |what: &str| {
            ContractError::Forbidden(format!(
                "{client} is not a member of collection {name}: {what} is reserved to its members"
            ))
        };
        match need {
            Need::Read if c.member_only_read && !c.is_member(client) => return Err(denied("reading")),
            Need::Write if c.member_only_write && !c.is_member(client) => return Err(denied("writing")),
            Need::Read if !c.is_member(&self.private.local_msp) => {
                return Err(ContractError::Forbidden(format!(
                    "this peer ({}) is not a member of collection {name} and holds none of its private data",
                    self.private.local_msp
                )));
            }
            _ => {}
        }
        Ok(c)
    }

    fn hashed_version(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<crate::state::Version>, ContractError> {
        Ok(self
            .view
            .get_private_hash(&self.ns, collection, &pvtrwset::hash(key.as_bytes()))
            .map_err(state_err)?
            .map(|h| h.version))
    }
}

fn state_err(e: crate::state::StateError) -> ContractError {
    ContractError::State(e.to_string())
}

impl Context for Simulator<'_> {
    fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, ContractError> {
        Ok(self.read(key)?.map(|v| v.value))
    }

    fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), ContractError> {
        checks::key(key)?;
        checks::value(key, value)?;
        self.rw.add_write(&self.ns, key, value.to_vec());
        Ok(())
    }

    fn del_state(&mut self, key: &str) -> Result<(), ContractError> {
        checks::key(key)?;
        self.rw.add_delete(&self.ns, key);
        Ok(())
    }

    fn get_state_by_range(
        &mut self,
        start: &str,
        end: &str,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page, ContractError> {
        // A raw range: an empty start includes composite keys; `ContextExt::get_simple_state_by_range`
        // gives Fabric's GetStateByRange behaviour on top of this.
        let from = if bookmark.is_empty() { start } else { bookmark };
        if from < start || (!end.is_empty() && from >= end && !bookmark.is_empty()) {
            return Err(ContractError::BadRequest(format!(
                "bookmark {bookmark:?} is outside the range [{start:?}, {end:?})"
            )));
        }
        let end_opt = (!end.is_empty()).then_some(end);
        let limit = if page_size == 0 {
            usize::MAX
        } else {
            page_size as usize + 1
        };
        let mut rows = self
            .view
            .range(&self.ns, from, end_opt, limit)
            .map_err(state_err)?;
        let mut next = String::new();
        if page_size > 0 && rows.len() > page_size as usize {
            next = rows[page_size as usize].0.clone();
            rows.truncate(page_size as usize);
        }
        let exhausted = next.is_empty();
        // A scan that stopped early is re-checked at validation only up to the last key it returned.
        let recorded_end = if exhausted {
            end.to_string()
        } else {
            rows.last().map(|(k, _)| k.clone()).unwrap_or_default()
        };
        let reads = rows.iter().map(|(k, v)| kv_read(k, Some(v.version))).collect();
        self.rw
            .add_range_query(&self.ns, range_info(from, &recorded_end, exhausted, reads));
        Ok(Page {
            items: rows.into_iter().map(|(k, v)| (k, v.value)).collect(),
            bookmark: next,
        })
    }

    fn get_history_for_key(&mut self, key: &str) -> Result<Vec<KeyModification>, ContractError> {
        checks::key(key)?;
        let h = self.view.history(&self.ns, key).map_err(state_err)?;
        Ok(h.into_iter()
            .map(|e| KeyModification {
                tx_id: e.tx_id,
                value: e.value,
                timestamp: Timestamp::new(e.timestamp.0, e.timestamp.1),
                is_delete: e.is_delete,
            })
            .collect())
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
        self.event = Some((name.to_string(), payload.to_vec()));
        Ok(())
    }

    fn set_key_endorsement(
        &mut self,
        key: &str,
        policy: Option<&KeyEndorsement>,
    ) -> Result<(), ContractError> {
        checks::key_endorsement(key, policy)?;
        let current = self.read(key)?;
        let mut meta = current.map(|v| v.metadata).unwrap_or_default();
        match policy {
            Some(p) => {
                meta.insert(VALIDATION_PARAMETER.to_string(), key_policy_bytes(p));
            }
            None => {
                meta.remove(VALIDATION_PARAMETER);
            }
        }
        self.rw.add_metadata_write(&self.ns, key, meta);
        Ok(())
    }

    fn key_endorsement(&mut self, key: &str) -> Result<Option<KeyEndorsement>, ContractError> {
        checks::key(key)?;
        let Some(v) = self.read(key)? else {
            return Ok(None);
        };
        match v.metadata.get(VALIDATION_PARAMETER) {
            Some(bytes) => key_policy_from_bytes(bytes).map(Some),
            None => Ok(None),
        }
    }

    fn get_private_data(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ContractError> {
        self.collection(collection, Need::Read)?;
        let v = self
            .view
            .get_private(&self.ns, collection, key)
            .map_err(state_err)?;
        let version = self.hashed_version(collection, key)?;
        self.rw.collection(&self.ns, collection).read(key, version);
        Ok(v.map(|v| v.value))
    }

    fn put_private_data(&mut self, collection: &str, key: &str, value: &[u8]) -> Result<(), ContractError> {
        checks::key(key)?;
        checks::value(key, value)?;
        self.collection(collection, Need::Write)?;
        self.rw
            .collection(&self.ns, collection)
            .write(key, Some(value.to_vec()));
        Ok(())
    }

    fn del_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError> {
        checks::key(key)?;
        self.collection(collection, Need::Write)?;
        self.rw.collection(&self.ns, collection).write(key, None);
        Ok(())
    }

    fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), ContractError> {
        checks::key(key)?;
        self.collection(collection, Need::Write)?;
        self.rw.collection(&self.ns, collection).purge(key);
        Ok(())
    }

    fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ContractError> {
        self.collection(collection, Need::Hash)?;
        let h = self
            .view
            .get_private_hash(&self.ns, collection, &pvtrwset::hash(key.as_bytes()))
            .map_err(state_err)?;
        self.rw
            .collection(&self.ns, collection)
            .read(key, h.as_ref().map(|h| h.version));
        Ok(h.map(|h| h.value_hash))
    }

    fn get_private_data_by_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        self.collection(collection, Need::Read)?;
        let end = (!end.is_empty()).then_some(end);
        let rows = self
            .view
            .private_range(&self.ns, collection, start, end, usize::MAX)
            .map_err(state_err)?;
        // Keys returned are recorded as hashed reads: a changed value conflicts at validation. (Keys added
        // to the range later are not detected: private ranges have no phantom check, as in Fabric.)
        for (k, v) in &rows {
            self.rw.collection(&self.ns, collection).read(k, Some(v.version));
        }
        Ok(rows.into_iter().map(|(k, v)| (k, v.value)).collect())
    }
}

/// Encodes a contract's key-level policy as the `SignaturePolicyEnvelope` validation evaluates: every
/// listed org must endorse, with the given role (Fabric's state-based endorsement helper).
pub fn key_policy_bytes(p: &KeyEndorsement) -> Vec<u8> {
    let role = match p.role {
        Role::Peer => MspRole::Peer,
        _ => MspRole::Member,
    };
    let principals = p.orgs.iter().map(|o| Principal::role(o.clone(), role)).collect();
    SignaturePolicy::n_of(p.orgs.len(), principals)
        .to_proto()
        .encode_to_vec()
}

fn key_policy_from_bytes(bytes: &[u8]) -> Result<KeyEndorsement, ContractError> {
    let bad = |e: String| ContractError::Internal(format!("stored key-level policy does not decode: {e}"));
    let env = SignaturePolicyEnvelope::decode(bytes).map_err(|e| bad(e.to_string()))?;
    let policy = SignaturePolicy::from_proto(&env).map_err(|e| bad(e.to_string()))?;
    let mut role = Role::Member;
    let mut orgs = Vec::new();
    for p in policy.principals() {
        if let Principal::Role { msp_id, role: r } = p {
            if *r == MspRole::Peer {
                role = Role::Peer;
            }
            orgs.push(msp_id.clone());
        }
    }
    KeyEndorsement::of(role, orgs)
}

#[cfg(test)]
mod tests;
