//! The channels this orderer serves: joining (from a genesis block, or from a later config block for
//! an orderer added to a running channel), reopening them at startup, and wiring each one's pipeline.
//! It is where the ordering stage of endorse → order → validate is assembled per channel — block
//! store, Raft consensus, chain actor — in `Registry::start_channel`, which reads like the diagram in
//! [`crate::consensus`].
//!
//! A channel is joined when its block 0 is in `<data>/chains/<channel>/`; nothing else records
//! membership, so a restart finds exactly the channels whose genesis block was durably written (a join
//! from a later config block leaves a `<channel>.onboarding` marker until every block up to that config
//! block is stored; a marked directory is an interrupted join and is removed). Its Raft log lives in
//! `<data>/raft/<channel>/` and belongs to the chain: a Raft directory without a joined chain is a
//! leftover of an interrupted join and is removed. A channel whose current configuration does not list
//! this orderer as a consenter is served read-only (see [`crate::handle`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_channel::block::last_config_index;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use carechain_transport::{TlsIdentity, TrustStore};
use parking_lot::RwLock;
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};

use crate::OrdererError;
use crate::chain::{Chain, ChainParams};
use crate::consensus::{ChainLink, Consensus};
use crate::handle::{ChannelHandle, Consenting, HandleParts, follow_config};
use crate::join::{JoinPlan, onboard, validate_join};
use crate::raft::grpc::{GrpcCluster, GrpcClusterParams, RaftChannels};
use crate::raft::log_store::RaftDb;
use crate::raft::network::ConsenterBlocks;
use crate::raft::settings::is_consenter;
use crate::raft::{Members, RaftConsensus, RaftParams, RaftSettings};
use crate::store::BlockStore;

/// Envelopes queued between consensus and the cutter; Broadcast waits when it is full.
const ORDERED_QUEUE: usize = 1024;

/// How long starting a single-consenter channel waits for it to lead (it elects itself at once).
const SOLE_LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

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

    /// This orderer's block-signing identity (it also signs the CONFIG transactions it creates).
    pub fn signer(&self) -> &Arc<SigningIdentity> {
        &self.params.signer
    }

    /// DER of this orderer's TLS server certificate (how it finds itself among consenters).
    pub fn own_tls_cert(&self) -> &[u8] {
        &self.params.tls_cert_der
    }

    /// Joins a channel from its genesis block, or from a later config block that lists this orderer
    /// (`latest`, with `block` the genesis block; or `block` itself): validates it, stores the chain up
    /// to it (pulling the blocks before a later config block from the other consenters), starts the
    /// chain and trusts the channel's TLS CAs.
    pub async fn join(
        self: &Arc<Self>,
        block: Block,
        latest: Option<Block>,
    ) -> Result<Arc<ChannelHandle>, OrdererError> {
        let _one_at_a_time = self.join_lock.lock().await;
        let plan = validate_join(&block, latest.as_ref(), &self.params.tls_cert_der)?;
        let id = plan.config.channel_id.clone();
        if self.get(&id).is_some() {
            return Err(OrdererError::AlreadyJoined(id));
        }
        let consenters = plan.config.orderer.consenters.len();
        if consenters > 1 && !self.params.cluster_enabled {
            return Err(OrdererError::Refused(format!(
                "channel {id} has {consenters} consenters but this orderer's cluster port is disabled (cluster_listen_address)"
            )));
        }
        let dir = self.params.chains_dir.join(&id);
        let raft_dir = self.params.raft_dir.join(&id);
        let marker = onboarding_marker(&self.params.chains_dir, &id);
        let onboarding = plan.onboarding();
        let (name, first) = (id.clone(), plan.genesis.clone().filter(|_| !onboarding));
        let store = tokio::task::spawn_blocking(move || {
            create_chain(
                &dir,
                &raft_dir,
                &name,
                first.as_ref(),
                onboarding.then_some(marker.as_path()),
            )
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("creating the chain: {e}")))??;
        if onboarding && let Err(e) = self.onboard(&plan, store.clone()).await {
            let (dir, marker) = (
                self.params.chains_dir.join(&id),
                onboarding_marker(&self.params.chains_dir, &id),
            );
            drop(store);
            let _ = tokio::task::spawn_blocking(move || remove_chain(&dir, &marker)).await;
            return Err(e);
        }
        let handle = self.start_channel(plan.config, store).await?;
        if onboarding {
            let marker = onboarding_marker(&self.params.chains_dir, &id);
            std::fs::remove_file(&marker)
                .map_err(|e| OrdererError::store(&id, format!("{}: {e}", marker.display())))?;
        }
        self.refresh_trust()?;
        tracing::info!(
            channel = handle.id(),
            height = handle.store().height(),
            "joined channel"
        );
        Ok(handle)
    }

    /// Pulls the chain up to a later config block from the consenters it lists.
    async fn onboard(&self, plan: &JoinPlan, store: Arc<BlockStore>) -> Result<(), OrdererError> {
        let config = &plan.config;
        let members = Members::from_config(
            &config.channel_id,
            &config.orderer.consenters,
            &self.params.tls_cert_der,
        )?;
        if members.others().next().is_none() {
            return Err(OrdererError::BadRequest(format!(
                "channel {} has no other consenter to pull its blocks from; join with its genesis block",
                config.channel_id
            )));
        }
        // The consenters must trust this orderer's TLS CA (they do once they applied the update that
        // added it) and this orderer theirs.
        self.refresh_trust_with(Some(config))?;
        let members = Arc::new(members);
        let cluster = Arc::new(self.cluster_client(config, &members)?);
        let source = ConsenterBlocks::new(&config.channel_id, cluster, Arc::new(RwLock::new(members)));
        onboard(plan, store, &source, self.params.signer.clone()).await
    }

    /// Stops every channel (call after signalling shutdown): each chain drains, then its Raft node
    /// stops, so a leader's chain still gets the blocks it proposed.
    pub async fn stop(&self) {
        let channels: Vec<_> = self.channels.read().values().cloned().collect();
        for ch in channels {
            ch.stop().await;
        }
    }

    /// Wires one channel: Raft consensus between Broadcast and the chain actor, the actor over the
    /// store. A single-consenter channel elects itself at once; starting waits until it leads. A
    /// channel that does not list this orderer as a consenter is served read-only.
    async fn start_channel(
        self: &Arc<Self>,
        config: ChannelConfig,
        store: Arc<BlockStore>,
    ) -> Result<Arc<ChannelHandle>, OrdererError> {
        let channel = config.channel_id.clone();
        if !is_consenter(&config.orderer.consenters, &self.params.tls_cert_der) {
            tracing::info!(%channel, height = store.height(), "not a consenter of this channel: serving its blocks read-only");
            let handle = Arc::new(ChannelHandle::inactive(config, store));
            self.channels.write().insert(channel, handle.clone());
            return Ok(handle);
        }
        let last = store
            .last_block()?
            .ok_or_else(|| OrdererError::store(&channel, "chain is empty"))?;
        let last_config = last_config_index(&last).map_err(|e| OrdererError::store(&channel, e))?;
        let (tx_ordered, rx_ordered) = mpsc::channel(ORDERED_QUEUE);
        let (tx_events, rx_events) = mpsc::unbounded_channel();
        let (tx_height, height) = watch::channel(store.height());
        let config = Arc::new(config);
        let (tx_config, config_rx) = watch::channel(config.clone());
        let (stop_chain, chain_stop) = watch::channel(false);
        let members = Members::from_config(&channel, &config.orderer.consenters, &self.params.tls_cert_der)?;
        let sole = members.len() == 1;
        let cluster = Arc::new(self.cluster_client(&config, &Arc::new(members.clone()))?);
        let raft = RaftConsensus::start(RaftParams {
            channel_id: channel.clone(),
            settings: RaftSettings::from_channel(&config.orderer, self.params.max_message_size),
            client: cluster.clone(),
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
        let chain = Chain::spawn(ChainParams {
            channel_id: channel.clone(),
            store: store.clone(),
            signer: self.params.signer.clone(),
            config,
            last_config,
            consensus,
            rx_ordered,
            rx_events,
            tx_height,
            tx_config,
            shutdown: chain_stop,
        });
        let handle = Arc::new(ChannelHandle::new(HandleParts {
            config: config_rx,
            store,
            height,
            consenting: Some(Consenting {
                raft: raft.clone(),
                cluster,
            }),
            stop_chain,
            chain: Some(chain),
        }));
        let follower = follow_config(Arc::downgrade(self), handle.clone(), self.params.shutdown.clone());
        handle.set_follower(tokio::spawn(follower));
        self.channels.write().insert(channel.clone(), handle.clone());
        if sole && !raft.wait_leading(SOLE_LEADER_WAIT).await {
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

    /// The TLS CAs (PEM) of the channel's orderer orgs: what consenters' server certificates chain to.
    pub fn cluster_ca_pem(&self, config: &ChannelConfig) -> Vec<u8> {
        let mut ca_pem = Vec::new();
        for org in config.orderer_orgs.values() {
            if let Some(msp) = config.msps.msp(&org.msp_id) {
                for pem in msp.tls_root_certs() {
                    ca_pem.extend_from_slice(pem);
                    ca_pem.push(b'\n');
                }
            }
        }
        ca_pem
    }

    /// Mutual-TLS connections to the channel's other consenters, trusting its orderer orgs' TLS CAs.
    fn cluster_client(
        &self,
        config: &ChannelConfig,
        members: &Arc<Members>,
    ) -> Result<GrpcCluster, OrdererError> {
        GrpcCluster::new(GrpcClusterParams {
            channel: &config.channel_id,
            members: members.clone(),
            identity: &self.params.tls,
            ca_pem: self.cluster_ca_pem(config),
            max_message_size: self.params.max_message_size,
        })
    }

    /// Trusts the node's own TLS CA plus every served channel's TLS CAs (of its configuration in
    /// force) for client certificates.
    pub fn refresh_trust(&self) -> Result<(), OrdererError> {
        self.refresh_trust_with(None)
    }

    fn refresh_trust_with(&self, extra: Option<&ChannelConfig>) -> Result<(), OrdererError> {
        let mut certs: Vec<Vec<u8>> = self.params.base_trust.clone();
        for ch in self.channels.read().values() {
            certs.extend(ch.config().tls_ca_certs());
        }
        if let Some(config) = extra {
            certs.extend(config.tls_ca_certs());
        }
        self.params
            .trust
            .replace(certs.into_iter().map(CertificateDer::from).collect())?;
        Ok(())
    }
}

impl RaftChannels for Registry {
    fn raft(&self, channel: &str) -> Option<Arc<RaftConsensus>> {
        self.get(channel).and_then(|c| c.raft())
    }
}

fn onboarding_marker(chains_dir: &Path, channel: &str) -> PathBuf {
    chains_dir.join(format!("{channel}.onboarding"))
}

fn remove_chain(dir: &Path, marker: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the chain of a failed join");
    }
    let _ = std::fs::remove_file(marker);
}

/// Creates `<dir>` and writes `genesis` (when given; an orderer joining from a later config block
/// fills the store itself, behind the `onboarding` marker written first). A failure leaves no
/// directory behind. A Raft directory left by an interrupted join of the same channel is removed first.
fn create_chain(
    dir: &Path,
    raft_dir: &Path,
    channel: &str,
    genesis: Option<&Block>,
    onboarding: Option<&Path>,
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
    if let Some(marker) = onboarding {
        std::fs::write(marker, b"joining from a later config block\n")
            .map_err(|e| OrdererError::store(channel, format!("{}: {e}", marker.display())))?;
    }
    let result = BlockStore::open(dir, channel).and_then(|store| match genesis {
        Some(g) => store.append(g).map(|_| store),
        None => Ok(store),
    });
    match result {
        Ok(store) => Ok(Arc::new(store)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir);
            if let Some(marker) = onboarding {
                let _ = std::fs::remove_file(marker);
            }
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
        let marker = onboarding_marker(chains_dir, &name);
        if marker.exists() {
            // A join from a later config block that did not finish pulling the chain.
            tracing::warn!(channel = %name, "removing an incomplete join from a config block");
            std::fs::remove_dir_all(&dir).map_err(|e| load(format!("{}: {e}", dir.display())))?;
            let raft = raft_dir.join(&name);
            if raft.exists() {
                std::fs::remove_dir_all(&raft).map_err(|e| load(format!("{}: {e}", raft.display())))?;
            }
            std::fs::remove_file(&marker).map_err(|e| load(format!("{}: {e}", marker.display())))?;
            continue;
        }
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
