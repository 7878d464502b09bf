//! The MSPs of one channel, and the cache that makes identity validation nearly free.
//!
//! Every signed message in endorse → order → validate carries its creator as a
//! `SerializedIdentity`; the same few hundred certificates sign millions of messages. The manager
//! validates each distinct serialized identity once (chain, CRLs, NodeOUs, key usage) and keeps
//! the result, so the hot path is a hash lookup, a validity-window check (time is the one thing
//! that changes) and one ECDSA verify. A manager is immutable: a channel configuration update
//! builds a new one, which also starts a fresh cache, so CRL or CA changes take effect at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use carechain_proto::msp::{FabricMspConfig, SerializedIdentity};
use parking_lot::RwLock;
use prost::Message;
use time::OffsetDateTime;

use super::error::MspError;
use super::identity::Identity;
use super::verifier::Msp;

/// Default number of validated identities kept per manager.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// The MSPs of a channel keyed by MSP id, with a validated-identity cache. Cheap to clone
/// (`Arc` inside), `Send + Sync`.
#[derive(Clone)]
pub struct MspManager {
    inner: Arc<Inner>,
}

struct Inner {
    msps: BTreeMap<String, Msp>,
    cache: RwLock<HashMap<Vec<u8>, Arc<Identity>>>,
    capacity: usize,
}

impl std::fmt::Debug for MspManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MspManager")
            .field("msps", &self.msp_ids().collect::<Vec<_>>())
            .field("cached", &self.cached_identities())
            .finish()
    }
}

impl MspManager {
    /// A manager over `msps`; MSP ids must be unique.
    pub fn new(msps: impl IntoIterator<Item = Msp>) -> Result<Self, MspError> {
        Self::with_capacity(msps, DEFAULT_CACHE_CAPACITY)
    }

    /// Like [`MspManager::new`] with an explicit cache capacity (0 disables caching).
    pub fn with_capacity(msps: impl IntoIterator<Item = Msp>, capacity: usize) -> Result<Self, MspError> {
        let mut map = BTreeMap::new();
        for msp in msps {
            let id = msp.id().to_string();
            if map.insert(id.clone(), msp).is_some() {
                return Err(MspError::DuplicateMsp(id));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                msps: map,
                cache: RwLock::new(HashMap::new()),
                capacity,
            }),
        })
    }

    /// Builds every MSP from its `FabricMSPConfig` (as found in channel configuration).
    pub fn from_configs<'a>(
        configs: impl IntoIterator<Item = &'a FabricMspConfig>,
    ) -> Result<Self, MspError> {
        let msps = configs
            .into_iter()
            .map(Msp::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(msps)
    }

    /// The MSP with this id.
    pub fn msp(&self, msp_id: &str) -> Option<&Msp> {
        self.inner.msps.get(msp_id)
    }

    /// All MSP ids, sorted.
    pub fn msp_ids(&self) -> impl Iterator<Item = &str> {
        self.inner.msps.keys().map(String::as_str)
    }

    /// Number of identities currently cached.
    pub fn cached_identities(&self) -> usize {
        self.inner.cache.read().len()
    }

    /// Decodes and validates serialized identity bytes (e.g. `SignatureHeader.creator`) now.
    pub fn deserialize_identity(&self, serialized: &[u8]) -> Result<Arc<Identity>, MspError> {
        self.deserialize_identity_at(serialized, OffsetDateTime::now_utc())
    }

    /// Decodes and validates serialized identity bytes at `now`, using the cache.
    pub fn deserialize_identity_at(
        &self,
        serialized: &[u8],
        now: OffsetDateTime,
    ) -> Result<Arc<Identity>, MspError> {
        if let Some(hit) = self.cached(serialized, now)? {
            return Ok(hit);
        }
        let id =
            SerializedIdentity::decode(serialized).map_err(|e| MspError::MalformedIdentity(e.to_string()))?;
        let identity = Arc::new(self.validate_uncached(&id, now)?);
        self.remember(serialized, &identity);
        Ok(identity)
    }

    /// Validates an already-decoded `SerializedIdentity` at `now`, using the cache.
    pub fn validate_identity_at(
        &self,
        id: &SerializedIdentity,
        now: OffsetDateTime,
    ) -> Result<Arc<Identity>, MspError> {
        // The cache is keyed by the wire bytes; prost's encoding of a two-field message is
        // canonical, so this finds entries made from the received bytes too.
        self.deserialize_identity_at(&id.encode_to_vec(), now)
    }

    /// Validates the creator and verifies its signature over `msg` now: the whole per-message
    /// identity check of endorser, orderer and committer.
    pub fn verify_signature(
        &self,
        serialized: &[u8],
        msg: &[u8],
        signature: &[u8],
    ) -> Result<Arc<Identity>, MspError> {
        self.verify_signature_at(serialized, msg, signature, OffsetDateTime::now_utc())
    }

    /// [`MspManager::verify_signature`] at `now`.
    pub fn verify_signature_at(
        &self,
        serialized: &[u8],
        msg: &[u8],
        signature: &[u8],
        now: OffsetDateTime,
    ) -> Result<Arc<Identity>, MspError> {
        let identity = self.deserialize_identity_at(serialized, now)?;
        identity.verify(msg, signature)?;
        Ok(identity)
    }

    /// [`MspManager::verify_signature`], remembering a good signature so that this process's next check
    /// of the same bytes (the committer validating the transaction the gateway checked at Submit) needs
    /// no second ECDSA verification.
    pub fn verify_signature_and_remember(
        &self,
        serialized: &[u8],
        msg: &[u8],
        signature: &[u8],
    ) -> Result<Arc<Identity>, MspError> {
        let identity = self.deserialize_identity_at(serialized, OffsetDateTime::now_utc())?;
        identity.verify_and_remember(msg, signature)?;
        Ok(identity)
    }

    fn validate_uncached(&self, id: &SerializedIdentity, now: OffsetDateTime) -> Result<Identity, MspError> {
        let msp = self
            .inner
            .msps
            .get(&id.mspid)
            .ok_or_else(|| MspError::UnknownMsp {
                msp: id.mspid.clone(),
                known: self.msp_ids().collect::<Vec<_>>().join(", "),
            })?;
        msp.validate_identity(&id.id_bytes, now)
    }

    fn cached(&self, serialized: &[u8], now: OffsetDateTime) -> Result<Option<Arc<Identity>>, MspError> {
        let hit = self.inner.cache.read().get(serialized).cloned();
        let Some(identity) = hit else {
            return Ok(None);
        };
        if let Err(e) = identity.check_valid_at(now) {
            // Expired for good (or clock moved back): drop it; a later call re-validates fully.
            self.inner.cache.write().remove(serialized);
            return Err(e);
        }
        Ok(Some(identity))
    }

    fn remember(&self, serialized: &[u8], identity: &Arc<Identity>) {
        if self.inner.capacity == 0 {
            return;
        }
        let mut cache = self.inner.cache.write();
        if cache.len() >= self.inner.capacity {
            // Rare in practice (a channel has far fewer signers); a full reset keeps this O(1)
            // without an LRU and only costs one re-validation per live identity.
            cache.clear();
        }
        cache.insert(serialized.to_vec(), Arc::clone(identity));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<MspManager>();
        assert_send_sync::<Arc<Identity>>();
    }

    #[test]
    fn unknown_msp_lists_the_channel_msps() {
        let manager = MspManager::new(Vec::new()).unwrap();
        let bytes = SerializedIdentity {
            mspid: "HospitalZMSP".into(),
            id_bytes: Default::default(),
        }
        .encode_to_vec();
        let err = manager.deserialize_identity(&bytes).unwrap_err();
        assert_eq!(
            err,
            MspError::UnknownMsp {
                msp: "HospitalZMSP".into(),
                known: String::new()
            }
        );
        assert!(matches!(
            manager.deserialize_identity(&[0xff, 0xff]),
            Err(MspError::MalformedIdentity(_))
        ));
    }
}
