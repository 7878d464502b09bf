//! Private data collections for [`super::MockContext`]: declared collections, whether the mock peer is a
//! member, committed values, and one transaction's pending private writes and purges, with the same
//! semantics as the peer (no read-your-writes, hashes visible to non-members, purges drop history).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::ContractError;

/// Collections known to the mock and their data.
#[derive(Debug, Clone, Default)]
pub struct PrivateStore {
    /// Collection name → whether this (mock) peer's organization is a member.
    pub collections: BTreeMap<String, bool>,
    /// Committed values by (collection, key).
    pub committed: BTreeMap<(String, String), Vec<u8>>,
    /// This transaction's private writes (`None`: delete).
    pub writes: BTreeMap<(String, String), Option<Vec<u8>>>,
    /// This transaction's purges.
    pub purges: Vec<(String, String)>,
    /// Keys purged so far (tests check purges happened).
    pub purged: Vec<(String, String)>,
}

impl PrivateStore {
    /// Refuses collections the mock was not told about, as a peer refuses undeclared collections.
    pub fn check(&self, collection: &str, need_member: bool) -> Result<(), ContractError> {
        match self.collections.get(collection) {
            None => Err(ContractError::BadRequest(format!(
                "collection {collection} is not defined for this chaincode"
            ))),
            Some(false) if need_member => Err(ContractError::Forbidden(format!(
                "this peer's organization is not a member of collection {collection}: private data is not available here"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Committed value.
    pub fn get(&self, collection: &str, key: &str) -> Option<&Vec<u8>> {
        self.committed.get(&(collection.to_string(), key.to_string()))
    }

    /// SHA-256 of the committed value.
    pub fn hash(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
        self.get(collection, key).map(|v| Sha256::digest(v).to_vec())
    }

    /// Committed keys of a collection in [start, end).
    pub fn range(&self, collection: &str, start: &str, end: &str) -> Vec<(String, Vec<u8>)> {
        self.committed
            .iter()
            .filter(|((c, k), _)| {
                c == collection && k.as_str() >= start && (end.is_empty() || k.as_str() < end)
            })
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Applies the transaction's private writes and purges.
    pub fn commit(&mut self) {
        for (k, w) in std::mem::take(&mut self.writes) {
            match w {
                Some(v) => {
                    self.committed.insert(k, v);
                }
                None => {
                    self.committed.remove(&k);
                }
            }
        }
        for k in std::mem::take(&mut self.purges) {
            self.committed.remove(&k);
            self.purged.push(k);
        }
    }

    /// Drops the transaction's private writes.
    pub fn discard(&mut self) {
        self.writes.clear();
        self.purges.clear();
    }
}
