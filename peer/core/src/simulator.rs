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

use crate::rwset::{RwSetBuilder, VALIDATION_PARAMETER, kv_read, range_info};
use crate::state::{StateView, VersionedValue};

/// One contract invocation's view of the ledger.
pub struct Simulator<'a> {
    view: &'a dyn StateView,
    ns: String,
    rw: RwSetBuilder,
    caller: Caller,
    tx: TxInfo,
    transient: &'a BTreeMap<String, Vec<u8>>,
    event: Option<(String, Vec<u8>)>,
}

impl<'a> Simulator<'a> {
    /// A simulator for chaincode `ns` over `view`.
    pub fn new(
        view: &'a dyn StateView,
        ns: &str,
        caller: Caller,
        tx: TxInfo,
        transient: &'a BTreeMap<String, Vec<u8>>,
    ) -> Self {
        Simulator {
            view,
            ns: ns.to_string(),
            rw: RwSetBuilder::new(),
            caller,
            tx,
            transient,
            event: None,
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

impl Simulator<'_> {
    /// Chaincode definitions do not declare collections yet, so every collection is undefined.
    fn no_collection(&self, collection: &str) -> ContractError {
        ContractError::BadRequest(format!(
            "collection {collection} is not defined for chaincode {}",
            self.ns
        ))
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

    fn get_private_data(&mut self, collection: &str, _key: &str) -> Result<Option<Vec<u8>>, ContractError> {
        Err(self.no_collection(collection))
    }

    fn put_private_data(&mut self, collection: &str, _key: &str, _value: &[u8]) -> Result<(), ContractError> {
        Err(self.no_collection(collection))
    }

    fn del_private_data(&mut self, collection: &str, _key: &str) -> Result<(), ContractError> {
        Err(self.no_collection(collection))
    }

    fn purge_private_data(&mut self, collection: &str, _key: &str) -> Result<(), ContractError> {
        Err(self.no_collection(collection))
    }

    fn get_private_data_hash(
        &mut self,
        collection: &str,
        _key: &str,
    ) -> Result<Option<Vec<u8>>, ContractError> {
        Err(self.no_collection(collection))
    }

    fn get_private_data_by_range(
        &mut self,
        collection: &str,
        _start: &str,
        _end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        Err(self.no_collection(collection))
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
