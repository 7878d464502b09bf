//! The peer's shared state and its two central operations: processing a proposal (the endorse step,
//! used by the Endorser service and by the local gateway) and joining a channel.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use carechain_channel::{ChannelConfig, block};
use carechain_crypto::msp::{MspManager, SigningIdentity};
use carechain_ledger::{Ledger, LedgerOptions};
use carechain_proto::common::{Block, BlockMetadataIndex};
use carechain_proto::protos::{ProposalResponse, SignedProposal};
use carechain_transport::{TlsIdentity, TrustStore};
use parking_lot::RwLock;
use peer_core::collection::CollectionConfig;
use peer_core::endorse;
use peer_core::lifecycle;
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{BlockUpdates, StateView};
use prost::Message;
use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;

use crate::chaincodes::Chaincodes;
use crate::channel::Channel;
use crate::config::PeerConfig;
use crate::error::PeerError;

/// Version reported for the lifecycle system contract.
const LIFECYCLE_VERSION: &str = "syscc";

/// A contract to run, the version to endorse with, and its collections.
type ContractFor = (Arc<dyn chaincode_api::Contract>, String, Vec<CollectionConfig>);

/// The result of processing a proposal.
#[derive(Debug)]
pub struct Endorsed {
    /// The proposal response (signed when endorsed).
    pub response: ProposalResponse,
    /// Private data to disseminate before the endorsement may be returned.
    pub private: Option<PendingPrivate>,
}

/// Private write sets of an endorsed proposal, awaiting dissemination.
#[derive(Debug)]
pub struct PendingPrivate {
    /// Channel.
    pub channel: String,
    /// Transaction id.
    pub tx_id: String,
    /// Ledger height at endorsement (transient store bookkeeping).
    pub height: u64,
    /// The plaintext write sets.
    pub pvt: carechain_proto::rwset::TxPvtReadWriteSet,
    /// Collection configurations by namespace.
    pub collections: std::collections::BTreeMap<String, Vec<CollectionConfig>>,
}

/// State shared by every service of one peer.
pub struct Peer {
    /// Configuration.
    pub config: PeerConfig,
    /// The peer's signing identity (endorsements, Deliver requests).
    pub signer: Arc<SigningIdentity>,
    /// The peer's own MSP, for authenticating admin requests.
    pub local_msp: MspManager,
    /// TLS identity for outgoing connections.
    pub tls: TlsIdentity,
    /// The org's own TLS CA (PEM), always trusted.
    pub own_tls_ca: Vec<u8>,
    /// Trusted TLS CAs for client certificates (all joined channels' orgs).
    pub trust: TrustStore,
    /// Built-in contracts.
    pub chaincodes: Chaincodes,
    /// Metrics.
    pub metrics: Arc<crate::metrics::PeerMetrics>,
    /// Connections to other peers' PrivateData service, by address: reused, so dissemination does not
    /// pay a mutual-TLS handshake per transaction.
    pub pvt_connections: parking_lot::Mutex<BTreeMap<String, tonic::transport::Channel>>,
    channels: RwLock<BTreeMap<String, Arc<Channel>>>,
}

impl Peer {
    /// Loads identity and TLS material.
    pub fn new(config: PeerConfig, metrics: Arc<crate::metrics::PeerMetrics>) -> Result<Peer, PeerError> {
        let signer = SigningIdentity::load(&config.msp_dir, config.msp_id.clone())?;
        let local_msp = MspManager::new([carechain_crypto::msp::load_msp(&config.msp_dir, &config.msp_id)?])?;
        let tls = TlsIdentity::from_files(&config.tls.cert, &config.tls.key)?;
        let own_tls_ca = std::fs::read(&config.tls.ca)
            .map_err(|e| PeerError::Config(format!("{}: {e}", config.tls.ca.display())))?;
        let trust = TrustStore::new(carechain_transport::certs_from_pem(&own_tls_ca, "TLS CA")?)?;
        Ok(Peer {
            config,
            signer: Arc::new(signer),
            local_msp,
            tls,
            own_tls_ca,
            trust,
            chaincodes: Chaincodes::builtin(),
            metrics,
            pvt_connections: parking_lot::Mutex::new(BTreeMap::new()),
            channels: RwLock::new(BTreeMap::new()),
        })
    }

    /// A joined channel.
    pub fn channel(&self, id: &str) -> Option<Arc<Channel>> {
        self.channels.read().get(id).cloned()
    }

    /// Names of joined channels.
    pub fn channel_ids(&self) -> Vec<String> {
        self.channels.read().keys().cloned().collect()
    }

    fn ledger_dir(&self, channel: &str) -> PathBuf {
        self.config.data_dir.join("ledgers").join(channel)
    }

    /// Checks, simulates and (when `sign`) endorses a proposal. A function the contract declares
    /// evaluate-only is never endorsed: its response comes back unsigned, as for an evaluate. CPU-bound:
    /// call from a blocking context.
    pub fn process_proposal(&self, signed: &SignedProposal, sign: bool) -> Result<Endorsed, PeerError> {
        let prop = proposal::parse(signed).map_err(|e| PeerError::BadProposal(e.to_string()))?;
        let ch = self
            .channel(prop.channel_id())
            .ok_or_else(|| PeerError::ChannelNotJoined(prop.channel_id().to_string()))?;
        let config = ch.config();
        let checked = proposal::check(prop, &config.msps, OffsetDateTime::now_utc())
            .map_err(|e| PeerError::Forbidden(e.to_string()))?;
        config
            .evaluate(
                "/Channel/Application/Writers",
                std::slice::from_ref(&checked.creator),
            )
            .map_err(|e| {
                PeerError::Forbidden(format!("proposal creator may not write to the channel: {e}"))
            })?;
        let snap = ch.ledger.snapshot();
        if snap.tx_exists(checked.proposal.tx_id())? {
            return Err(PeerError::Duplicate(checked.proposal.tx_id().to_string()));
        }
        let (contract, version, collections) =
            self.contract_for(&snap, &checked.proposal.chaincode, &config)?;
        // Whatever a submitted transaction returns is written into the block: a function the contract
        // declares evaluate-only is answered but never signed, so no transaction can be built from it.
        let evaluate_only = evaluate_only_function(contract.as_ref(), &checked.proposal.args);
        if let (true, Some(f)) = (sign, &evaluate_only) {
            tracing::debug!(function = %f, tx_id = checked.proposal.tx_id(), "evaluate-only: not endorsed");
        }
        let sign = sign && evaluate_only.is_none();
        let access = PrivateAccess {
            collections: collections.clone(),
            local_msp: self.config.msp_id.clone(),
        };
        let sim = endorse::simulate(&snap, contract.as_ref(), &checked, &access);
        if !sign {
            return Ok(Endorsed {
                response: ProposalResponse {
                    version: 1,
                    response: Some(sim.response),
                    ..Default::default()
                },
                private: None,
            });
        }
        let response = endorse::endorse(&checked, &sim, &version, &self.signer);
        let private = match (&sim.private, sim.endorsable()) {
            (Some(pvt), true) => {
                let colls =
                    std::collections::BTreeMap::from([(checked.proposal.chaincode.clone(), collections)]);
                let mine = crate::pvtdata::filter_for(pvt, &colls, &self.config.msp_id);
                let height = ch.ledger.height();
                if !mine.ns_pvt_rwset.is_empty() {
                    ch.ledger
                        .put_transient(checked.proposal.tx_id(), height, &mine.encode_to_vec())?;
                }
                Some(PendingPrivate {
                    channel: ch.id.clone(),
                    tx_id: checked.proposal.tx_id().to_string(),
                    height,
                    pvt: pvt.clone(),
                    collections: colls,
                })
            }
            _ => None,
        };
        Ok(Endorsed { response, private })
    }

    /// The function `args` call on the built-in chaincode `chaincode`, if that contract declares it
    /// evaluate-only ([`chaincode_api::Contract::evaluate_only`]).
    pub fn evaluate_only_function(&self, chaincode: &str, args: &[Vec<u8>]) -> Option<String> {
        evaluate_only_function(self.chaincodes.get(chaincode)?.as_ref(), args)
    }

    /// The contract to run for `name` and the version to endorse with: the lifecycle system contract, or
    /// a built-in contract with a committed definition on the channel.
    fn contract_for(
        &self,
        view: &dyn StateView,
        name: &str,
        config: &Arc<ChannelConfig>,
    ) -> Result<ContractFor, PeerError> {
        if name == lifecycle::LIFECYCLE {
            let c: Arc<dyn chaincode_api::Contract> = Arc::new(lifecycle::Lifecycle {
                channel: config.clone(),
            });
            return Ok((c, LIFECYCLE_VERSION.into(), Vec::new()));
        }
        let def = lifecycle::definition(view, name)?.ok_or_else(|| {
            PeerError::BadProposal(format!(
                "chaincode {name} is not defined on channel {}: approve and commit a definition first",
                config.channel_id
            ))
        })?;
        let contract = self.chaincodes.get(name).ok_or_else(|| {
            PeerError::BadProposal(format!(
                "chaincode {name} is defined on the channel but not available on this peer (available: {})",
                self.chaincodes.names().join(", ")
            ))
        })?;
        Ok((contract, def.version, def.collections))
    }

    /// Joins a channel from its genesis block: creates the ledger, commits block 0 and registers the
    /// channel. The caller starts the channel's block puller and committer.
    ///
    /// An org added to the channel after its creation is not in the genesis configuration; it joins with
    /// the genesis block plus the channel's latest config block, which must name it and carry orderer
    /// signatures that satisfy the genesis block's BlockValidation policy. The peer then replays every
    /// block from 1, validating each against the configuration of its time, as any member does.
    pub fn join(&self, genesis: &Block, latest_config: Option<&Block>) -> Result<Arc<Channel>, PeerError> {
        let number = genesis.header.as_ref().map_or(u64::MAX, |h| h.number);
        if number != 0 {
            return Err(PeerError::BadRequest(format!(
                "a channel is joined with its genesis block (block 0), not block {number}"
            )));
        }
        let config = ChannelConfig::from_block(genesis).map_err(|e| PeerError::BadRequest(e.to_string()))?;
        let membership = match latest_config {
            Some(latest) => self.later_membership(&config, latest)?,
            None => config.clone(),
        };
        if membership.application_org_by_msp(&self.config.msp_id).is_none() {
            return Err(PeerError::Forbidden(not_member(&self.config.msp_id, &membership)));
        }
        if self.channel(&config.channel_id).is_some() {
            return Err(PeerError::AlreadyJoined(config.channel_id.clone()));
        }
        let ledger = Arc::new(Ledger::open(
            &self.ledger_dir(&config.channel_id),
            &self.ledger_options(),
        )?);
        if ledger.height() == 0 {
            let mut b = genesis.clone();
            block::set_slot(&mut b, BlockMetadataIndex::TransactionsFilter, vec![0u8].into());
            let hash = block::header_hash(
                b.header
                    .as_ref()
                    .ok_or(PeerError::BadRequest("no header".into()))?,
            );
            ledger.commit(0, &b.encode_to_vec(), hash, &BlockUpdates::default())?;
        }
        self.register(config, ledger)
    }

    /// The configuration of `latest`, a later config block of the channel `genesis` created, once its
    /// orderer signatures satisfy the genesis BlockValidation policy.
    fn later_membership(&self, genesis: &ChannelConfig, latest: &Block) -> Result<ChannelConfig, PeerError> {
        let bad = |m: String| PeerError::BadRequest(format!("latest config block: {m}"));
        let later = ChannelConfig::from_block(latest).map_err(|e| bad(e.to_string()))?;
        if later.channel_id != genesis.channel_id {
            return Err(bad(format!(
                "it belongs to channel {}, the genesis block to {}",
                later.channel_id, genesis.channel_id
            )));
        }
        // No previous hash: the blocks in between are not known yet; they are checked on catch-up.
        peer_core::blocksig::check_signatures(latest, genesis)
            .map_err(|e| PeerError::Forbidden(format!("latest config block: {e}")))?;
        Ok(later)
    }

    fn ledger_options(&self) -> LedgerOptions {
        LedgerOptions {
            sync_writes: self.config.sync_writes,
            ..LedgerOptions::default()
        }
    }

    fn register(&self, config: ChannelConfig, ledger: Arc<Ledger>) -> Result<Arc<Channel>, PeerError> {
        let id = config.channel_id.clone();
        let ch = Arc::new(Channel::new(&id, ledger, config));
        self.channels.write().insert(id, ch.clone());
        self.refresh_trust()?;
        Ok(ch)
    }

    /// Re-opens every channel found in the data directory (after a restart).
    pub fn reopen_channels(&self) -> Result<Vec<Arc<Channel>>, PeerError> {
        let dir = self.config.data_dir.join("ledgers");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            let ledger = Arc::new(Ledger::open(&e.path(), &self.ledger_options())?);
            if ledger.height() == 0 {
                continue;
            }
            let config = latest_config(&ledger)?;
            out.push(self.register(config, ledger)?);
        }
        Ok(out)
    }

    /// Trusts the TLS CAs of every org of every joined channel (and our own).
    pub fn refresh_trust(&self) -> Result<(), PeerError> {
        let mut certs: Vec<CertificateDer<'static>> =
            carechain_transport::certs_from_pem(&self.own_tls_ca, "TLS CA")?;
        for ch in self.channels.read().values() {
            certs.extend(ch.config().tls_ca_certs().into_iter().map(CertificateDer::from));
        }
        self.trust.replace(certs)?;
        Ok(())
    }
}

/// The function `args` call, when `contract` declares it evaluate-only.
fn evaluate_only_function(contract: &dyn chaincode_api::Contract, args: &[Vec<u8>]) -> Option<String> {
    let call = chaincode_api::Call::parse(args).ok()?;
    contract
        .evaluate_only()
        .contains(&call.function)
        .then(|| call.function.to_string())
}

/// The configuration in force at the ledger's tip: the config block the last block points to.
pub fn latest_config(ledger: &Ledger) -> Result<ChannelConfig, PeerError> {
    let tip = read_block(ledger, ledger.height().saturating_sub(1))?;
    let idx = block::last_config_index(&tip).map_err(|e| PeerError::Corrupt(e.to_string()))?;
    let cfg_block = read_block(ledger, idx)?;
    ChannelConfig::from_block(&cfg_block).map_err(|e| PeerError::Corrupt(e.to_string()))
}

/// A committed block, decoded.
pub fn read_block(ledger: &Ledger, number: u64) -> Result<Block, PeerError> {
    let raw = ledger
        .block_bytes(number)?
        .ok_or_else(|| PeerError::Corrupt(format!("block {number} missing from the ledger")))?;
    Block::decode(raw.as_slice()).map_err(|e| PeerError::Corrupt(format!("block {number}: {e}")))
}

fn not_member(msp_id: &str, config: &ChannelConfig) -> String {
    let members: Vec<&str> = config
        .application_orgs
        .values()
        .map(|o| o.msp_id.as_str())
        .collect();
    format!(
        "{msp_id} is not a member of channel {} (members: {}); an org added later joins with the \
         channel's latest config block as well",
        config.channel_id,
        members.join(", ")
    )
}
