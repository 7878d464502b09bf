//! The channels this orderer serves: joining (from a genesis block), reopening them at startup, and
//! wiring each one's pipeline. It is where the ordering stage of endorse → order → validate is
//! assembled per channel — block store, Raft consensus, chain actor — in `Registry::start_channel`,
//! which reads like the diagram in [`crate::consensus`].
//!
//! A channel is joined when its block 0 is in `<data>/chains/<channel>/`; nothing else records
//! membership, so a restart finds exactly the channels whose genesis block was durably written. Its
//! Raft log lives in `<data>/raft/<channel>/` and belongs to the chain: a Raft directory without a
//! joined chain is a leftover of an interrupted join and is removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_channel::block::{check_chain, last_config_index};
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use carechain_transport::{TlsIdentity, TrustStore};
use parking_lot::{Mutex, RwLock};
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::OrdererError;
use crate::chain::{Chain, ChainParams};
use crate::consensus::{ChainLink, Consensus};
use crate::ordering::batch_config;
use crate::raft::grpc::{GrpcCluster, GrpcClusterParams, RaftChannels};
use crate::raft::log_store::RaftDb;
use crate::raft::{Members, RaftConsensus, RaftParams, RaftSettings};
use crate::store::BlockStore;

/// Envelopes queued between consensus and the cutter; Broadcast waits when it is full.
const ORDERED_QUEUE: usize = 1024;

/// How long starting a single-consenter channel waits for it to lead (it elects itself at once).
const SOLE_LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One served channel: its configuration, chain and consensus.
pub struct ChannelHandle {
    config: Arc<ChannelConfig>,
    store: Arc<BlockStore>,
    consensus: Arc<dyn Consensus>,
    raft: Arc<RaftConsensus>,
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

    /// The channel's Raft group (the cluster service's side of it).
    pub fn raft(&self) -> &Arc<RaftConsensus> {
        &self.raft
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
    /// `<data>/raft`: one Raft database per channel.
    pub raft_dir: PathBuf,
    /// Block-signing identity.
    pub signer: Arc<SigningIdentity>,
    /// DER of this node's TLS server certificate: how it recognises itself among the consenters.
    pub tls_cert_der: Vec<u8>,
    /// The node's TLS identity, also its client certificate towards the other consenters.
    pub tls: TlsIdentity,
    /// Whether the cluster port is open (channels with several consenters need it).
    pub cluster_enabled: bool,
    /// gRPC message size limit (cluster calls and block catch-up).
    pub max_message_size: usize,
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
        let (dir, raft_dir) = (params.chains_dir.clone(), params.raft_dir.clone());
        let found = tokio::task::spawn_blocking(move || reopen_all(&dir, &raft_dir))
            .await
            .map_err(|e| OrdererError::Internal(format!("reopening channels: {e}")))??;
        let registry = Arc::new(Registry {
            params,
            channels: RwLock::new(BTreeMap::new()),
            join_lock: tokio::sync::Mutex::new(()),
        });
        for (config, store) in found {
            registry.start_channel(config, store).await?;
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
        if config.orderer.consenters.len() > 1 && !self.params.cluster_enabled {
            return Err(OrdererError::Refused(format!(
                "channel {id} has {} consenters but this orderer's cluster port is disabled (cluster_listen_address)",
                config.orderer.consenters.len()
            )));
        }
        let dir = self.params.chains_dir.join(&id);
        let raft_dir = self.params.raft_dir.join(&id);
        let store = tokio::task::spawn_blocking(move || create_chain(&dir, &raft_dir, &id, &genesis))
            .await
            .map_err(|e| OrdererError::Internal(format!("creating the chain: {e}")))??;
        let handle = self.start_channel(config, store).await?;
        self.refresh_trust()?;
        tracing::info!(channel = handle.id(), "joined channel");
        Ok(handle)
    }

    /// Waits for every chain actor to end (call after signalling shutdown), then stops Raft: a
    /// leader's chain still gets the blocks it proposed while it drains.
    pub async fn stop(&self) {
        let channels: Vec<_> = self.channels.read().values().cloned().collect();
        let tasks: Vec<_> = channels.iter().filter_map(|c| c.task.lock().take()).collect();
        for task in tasks {
            let _ = task.await;
        }
        for ch in channels {
            ch.raft.shutdown().await;
        }
    }

    /// Wires one channel: Raft consensus between Broadcast and the chain actor, the actor over the
    /// store. A single-consenter channel elects itself at once; starting waits until it leads.
    async fn start_channel(
        &self,
        config: ChannelConfig,
        store: Arc<BlockStore>,
    ) -> Result<Arc<ChannelHandle>, OrdererError> {
        let channel = config.channel_id.clone();
        let last = store
            .last_block()?
            .ok_or_else(|| OrdererError::store(&channel, "chain is empty"))?;
        let last_config = last_config_index(&last).map_err(|e| OrdererError::store(&channel, e))?;
        let (tx_ordered, rx_ordered) = mpsc::channel(ORDERED_QUEUE);
        let (tx_events, rx_events) = mpsc::unbounded_channel();
        let (tx_height, height) = watch::channel(store.height());
        let members = Members::from_config(&channel, &config.orderer.consenters, &self.params.tls_cert_der)?;
        let sole = members.len() == 1;
        let raft = RaftConsensus::start(RaftParams {
            channel_id: channel.clone(),
            settings: RaftSettings::from_channel(&config.orderer, self.params.max_message_size),
            client: Arc::new(self.cluster_client(&config, &members)?),
            members,
            db: self.open_raft_db(&channel).await?,
            store: store.clone(),
            link: ChainLink {
                tx_ordered,
                tx_events,
            },
            height: height.clone(),
            pull_limit: self.params.max_message_size / 2,
        })
        .await?;
        let consensus: Arc<dyn Consensus> = raft.clone();
        let task = Chain::spawn(ChainParams {
            channel_id: channel.clone(),
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
            raft,
            height,
            task: Mutex::new(Some(task)),
        });
        self.channels.write().insert(channel.clone(), handle.clone());
        if sole && !handle.raft.wait_leading(SOLE_LEADER_WAIT).await {
            tracing::warn!(%channel, "the channel's only consenter is not leading yet");
        }
        Ok(handle)
    }

    async fn open_raft_db(&self, channel: &str) -> Result<Arc<RaftDb>, OrdererError> {
        let (dir, name) = (self.params.raft_dir.join(channel), channel.to_string());
        tokio::task::spawn_blocking(move || RaftDb::open(&dir, &name))
            .await
            .map_err(|e| OrdererError::Internal(format!("opening the Raft log: {e}")))?
    }

    /// Mutual-TLS connections to the channel's other consenters, trusting its orderer orgs' TLS CAs.
    fn cluster_client(&self, config: &ChannelConfig, members: &Members) -> Result<GrpcCluster, OrdererError> {
        let mut ca_pem = Vec::new();
        for org in config.orderer_orgs.values() {
            if let Some(msp) = config.msps.msp(&org.msp_id) {
                for pem in msp.tls_root_certs() {
                    ca_pem.extend_from_slice(pem);
                    ca_pem.push(b'\n');
                }
            }
        }
        GrpcCluster::new(GrpcClusterParams {
            channel: &config.channel_id,
            members: Arc::new(members.clone()),
            identity: &self.params.tls,
            ca_pem,
            max_message_size: self.params.max_message_size,
        })
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

impl RaftChannels for Registry {
    fn raft(&self, channel: &str) -> Option<Arc<RaftConsensus>> {
        self.get(channel).map(|c| c.raft.clone())
    }
}

/// Checks a JoinChannel block: block 0, intact, carrying a channel configuration whose consenter set
/// is usable (certificates parse, none repeats) and names this orderer by its TLS server certificate.
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
    Members::from_config(&config.channel_id, &config.orderer.consenters, own_tls_cert_der)?;
    Ok(config)
}

/// Creates `<dir>` and writes the genesis block; a failure leaves no directory behind. A Raft
/// directory left by an interrupted join of the same channel is removed first.
fn create_chain(
    dir: &Path,
    raft_dir: &Path,
    channel: &str,
    genesis: &Block,
) -> Result<Arc<BlockStore>, OrdererError> {
    if raft_dir.exists() {
        tracing::warn!(%channel, "removing the Raft log of an incomplete join");
        std::fs::remove_dir_all(raft_dir)
            .map_err(|e| OrdererError::store(channel, format!("{}: {e}", raft_dir.display())))?;
    }
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
fn reopen_all(
    chains_dir: &Path,
    raft_dir: &Path,
) -> Result<Vec<(ChannelConfig, Arc<BlockStore>)>, OrdererError> {
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
            let raft = raft_dir.join(&name);
            if raft.exists() {
                std::fs::remove_dir_all(&raft).map_err(|e| load(format!("{}: {e}", raft.display())))?;
            }
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
