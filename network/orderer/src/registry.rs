//! The channels this orderer serves: joining (from a genesis block), reopening them at startup, and
//! wiring each one's pipeline. It is where the ordering stage of endorse → order → validate is
//! assembled per channel — store, consensus, chain actor — in `Registry::start_channel`, which reads
//! like the diagram in [`crate::consensus`].
//!
//! A channel is joined when its block 0 is in `<data>/chains/<channel>/`; nothing else records
//! membership, so a restart finds exactly the channels whose genesis block was durably written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_channel::block::{check_chain, last_config_index};
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use carechain_transport::TrustStore;
use parking_lot::{Mutex, RwLock};
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::OrdererError;
use crate::chain::{Chain, ChainParams};
use crate::consensus::{ChainLink, Consensus, Solo};
use crate::ordering::batch_config;
use crate::store::BlockStore;

/// Envelopes queued between consensus and the cutter; Broadcast waits when it is full.
const ORDERED_QUEUE: usize = 1024;

/// One served channel: its configuration, chain and consensus.
pub struct ChannelHandle {
    config: Arc<ChannelConfig>,
    store: Arc<BlockStore>,
    consensus: Arc<dyn Consensus>,
    height: watch::Receiver<u64>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandle")
            .field("channel", &self.config.channel_id)
            .field("height", &*self.height.borrow())
            .finish_non_exhaustive()
    }
}

impl ChannelHandle {
    /// The channel name.
    pub fn id(&self) -> &str {
        &self.config.channel_id
    }

    /// The configuration in force.
    pub fn config(&self) -> &Arc<ChannelConfig> {
        &self.config
    }

    /// The block store (read side for Deliver and ChannelInfo).
    pub fn store(&self) -> &Arc<BlockStore> {
        &self.store
    }

    /// The channel's consensus.
    pub fn consensus(&self) -> &Arc<dyn Consensus> {
        &self.consensus
    }

    /// A receiver of the height after every append; errors once the chain has stopped.
    pub fn height_watch(&self) -> watch::Receiver<u64> {
        self.height.clone()
    }
}

/// What the registry needs from the node.
pub struct RegistryParams {
    /// `<data>/chains`.
    pub chains_dir: PathBuf,
    /// Block-signing identity.
    pub signer: Arc<SigningIdentity>,
    /// DER of this node's TLS server certificate: how it recognises itself among the consenters.
    pub tls_cert_der: Vec<u8>,
    /// The client-certificate trust of the node's TLS ports.
    pub trust: TrustStore,
    /// TLS CAs trusted regardless of channels (the node's own org), DER.
    pub base_trust: Vec<Vec<u8>>,
    /// Node shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// The served channels.
pub struct Registry {
    params: RegistryParams,
    channels: RwLock<BTreeMap<String, Arc<ChannelHandle>>>,
    join_lock: tokio::sync::Mutex<()>,
}

impl Registry {
    /// Creates the chains directory if needed and restarts every channel found in it.
    pub async fn open(params: RegistryParams) -> Result<Arc<Registry>, OrdererError> {
        let dir = params.chains_dir.clone();
        let found = tokio::task::spawn_blocking(move || reopen_all(&dir))
            .await
            .map_err(|e| OrdererError::Internal(format!("reopening channels: {e}")))??;
        let registry = Arc::new(Registry {
            params,
            channels: RwLock::new(BTreeMap::new()),
            join_lock: tokio::sync::Mutex::new(()),
        });
        for (config, store) in found {
            registry.start_channel(config, store)?;
        }
        registry.refresh_trust()?;
        Ok(registry)
    }

    /// The channel named `id`.
    pub fn get(&self, id: &str) -> Option<Arc<ChannelHandle>> {
        self.channels.read().get(id).cloned()
    }

    /// Names of the served channels, sorted.
    pub fn channel_ids(&self) -> Vec<String> {
        self.channels.read().keys().cloned().collect()
    }

    /// Joins a channel from its genesis block: validates it, stores it as block 0, starts the chain and
    /// trusts the channel's TLS CAs.
    pub async fn join(&self, genesis: Block) -> Result<Arc<ChannelHandle>, OrdererError> {
        let _one_at_a_time = self.join_lock.lock().await;
        let config = validate_genesis(&genesis, &self.params.tls_cert_der)?;
        let id = config.channel_id.clone();
        if self.get(&id).is_some() {
            return Err(OrdererError::AlreadyJoined(id));
        }
        let dir = self.params.chains_dir.join(&id);
        let store = tokio::task::spawn_blocking(move || create_chain(&dir, &id, &genesis))
            .await
            .map_err(|e| OrdererError::Internal(format!("creating the chain: {e}")))??;
        let handle = self.start_channel(config, store)?;
        self.refresh_trust()?;
        tracing::info!(channel = handle.id(), "joined channel");
        Ok(handle)
    }

    /// Waits for every chain actor to end (call after signalling shutdown).
    pub async fn stop(&self) {
        let tasks: Vec<_> = self
            .channels
            .read()
            .values()
            .filter_map(|c| c.task.lock().take())
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Wires one channel: consensus between Broadcast and the chain actor, the actor over the store.
    fn start_channel(
        &self,
        config: ChannelConfig,
        store: Arc<BlockStore>,
    ) -> Result<Arc<ChannelHandle>, OrdererError> {
        let last = store
            .last_block()?
            .ok_or_else(|| OrdererError::store(&config.channel_id, "chain is empty"))?;
        let last_config = last_config_index(&last).map_err(|e| OrdererError::store(&config.channel_id, e))?;
        let (tx_ordered, rx_ordered) = mpsc::channel(ORDERED_QUEUE);
        let (tx_events, rx_events) = mpsc::unbounded_channel();
        let (tx_height, height) = watch::channel(store.height());
        let consensus: Arc<dyn Consensus> = Arc::new(Solo::new(ChainLink {
            tx_ordered,
            tx_events,
        }));
        let task = Chain::spawn(ChainParams {
            channel_id: config.channel_id.clone(),
            store: store.clone(),
            signer: self.params.signer.clone(),
            batch: batch_config(&config.orderer),
            max_in_flight: config.orderer.raft.max_inflight_blocks,
            last_config,
            consensus: consensus.clone(),
            rx_ordered,
            rx_events,
            tx_height,
            shutdown: self.params.shutdown.clone(),
        });
        let handle = Arc::new(ChannelHandle {
            config: Arc::new(config),
            store,
            consensus,
            height,
            task: Mutex::new(Some(task)),
        });
        self.channels
            .write()
            .insert(handle.id().to_string(), handle.clone());
        Ok(handle)
    }

    /// Trusts the node's own TLS CA plus every served channel's TLS CAs for client certificates.
    fn refresh_trust(&self) -> Result<(), OrdererError> {
        let mut certs: Vec<Vec<u8>> = self.params.base_trust.clone();
        for ch in self.channels.read().values() {
            certs.extend(ch.config.tls_ca_certs());
        }
        self.params
            .trust
            .replace(certs.into_iter().map(CertificateDer::from).collect())?;
        Ok(())
    }
}

/// Checks a JoinChannel block: block 0, intact, carrying a channel configuration that names this
/// orderer (by its TLS server certificate) as its only consenter.
pub fn validate_genesis(block: &Block, own_tls_cert_der: &[u8]) -> Result<ChannelConfig, OrdererError> {
    let bad = OrdererError::BadRequest;
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| bad("the join block has no header".into()))?;
    if header.number != 0 {
        return Err(bad(format!(
            "JoinChannel needs the channel's genesis block (number 0); got block {} (joining from a later config block is not supported yet)",
            header.number
        )));
    }
    check_chain(block, None).map_err(|e| bad(format!("the genesis block is damaged: {e}")))?;
    let config = ChannelConfig::from_block(block).map_err(|e| {
        bad(format!(
            "the genesis block does not carry a valid channel configuration: {e}"
        ))
    })?;
    carechain_channel::check_channel_id(&config.channel_id).map_err(|e| bad(e.to_string()))?;
    let channel = &config.channel_id;
    let consenters = &config.orderer.consenters;
    let is_me =
        |pem: &[u8]| carechain_crypto::pem::first_certificate(pem).is_ok_and(|der| der == own_tls_cert_der);
    if !consenters.iter().any(|c| is_me(&c.server_tls_cert)) {
        let listed: Vec<String> = consenters
            .iter()
            .map(|c| format!("{}:{}", c.host, c.port))
            .collect();
        return Err(OrdererError::Refused(format!(
            "this orderer is not a consenter of channel {channel}: no consenter's ServerTLSCert is this node's TLS certificate (consenters: {})",
            listed.join(", ")
        )));
    }
    if consenters.len() > 1 {
        return Err(OrdererError::Refused(format!(
            "channel {channel} has {} consenters; this orderer orders with solo consensus, which is only safe with exactly one consenter (multi-orderer Raft is not available yet)",
            consenters.len()
        )));
    }
    Ok(config)
}

/// Creates `<dir>` and writes the genesis block; a failure leaves no directory behind.
fn create_chain(dir: &Path, channel: &str, genesis: &Block) -> Result<Arc<BlockStore>, OrdererError> {
    if dir.exists() {
        return Err(OrdererError::store(
            channel,
            format!(
                "{} already exists but the channel is not served; move it away to re-join",
                dir.display()
            ),
        ));
    }
    let result = BlockStore::open(dir, channel).and_then(|store| store.append(genesis).map(|_| store));
    match result {
        Ok(store) => Ok(Arc::new(store)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir);
            Err(e)
        }
    }
}

/// Opens every chain under `chains_dir` and parses its current configuration.
fn reopen_all(chains_dir: &Path) -> Result<Vec<(ChannelConfig, Arc<BlockStore>)>, OrdererError> {
    let load = |detail: String| OrdererError::Load {
        what: "chains",
        path: chains_dir.display().to_string(),
        detail,
    };
    std::fs::create_dir_all(chains_dir).map_err(|e| load(e.to_string()))?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(chains_dir)
        .map_err(|e| load(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let store = BlockStore::open(&dir, &name)?;
        if store.height() == 0 {
            // A join that crashed before block 0 was durable: the channel was never joined.
            tracing::warn!(channel = %name, "removing an incomplete join");
            drop(store);
            std::fs::remove_dir_all(&dir).map_err(|e| load(format!("{}: {e}", dir.display())))?;
            continue;
        }
        let config = current_config(&store)?;
        if config.channel_id != name {
            return Err(OrdererError::store(
                &name,
                format!("its blocks belong to channel {}", config.channel_id),
            ));
        }
        out.push((config, Arc::new(store)));
    }
    Ok(out)
}

/// The configuration in the chain's last config block.
fn current_config(store: &BlockStore) -> Result<ChannelConfig, OrdererError> {
    let channel = store.channel();
    let last = store
        .last_block()?
        .ok_or_else(|| OrdererError::store(channel, "chain is empty"))?;
    let index = last_config_index(&last).map_err(|e| OrdererError::store(channel, e))?;
    let block = store
        .block(index)?
        .ok_or_else(|| OrdererError::store(channel, format!("last config block {index} is missing")))?;
    ChannelConfig::from_block(&block)
        .map_err(|e| OrdererError::store(channel, format!("config block {index}: {e}")))
}
