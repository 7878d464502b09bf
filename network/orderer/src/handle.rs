//! One served channel as Broadcast, Deliver, Admin and the cluster service see it: its configuration
//! in force, its block store, and — while this orderer is one of its consenters — its Raft consensus and
//! chain. In endorse → order → validate it is the per-channel state of the ordering stage.
//!
//! The configuration is a watch the chain updates when a config block is appended, so every request
//! uses the configuration of the blocks it can read. [`follow_config`] acts on each new configuration:
//! it refreshes the node's TLS trust, gives Raft and the cluster client the new consenter set, and,
//! when the configuration removed this orderer, lets Raft carry out the removal and then stops the
//! channel's Raft node and chain. The channel then stays served read-only ("inactive"): Deliver serves
//! the blocks this orderer has, Broadcast refuses, ChannelInfo reports it is not a consenter.

use std::sync::{Arc, Weak};
use std::time::Duration;

use carechain_channel::ChannelConfig;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::OrdererError;
use crate::consensus::Consensus;
use crate::raft::RaftConsensus;
use crate::raft::grpc::GrpcCluster;
use crate::raft::settings::{Members, is_consenter};
use crate::registry::Registry;
use crate::store::BlockStore;

/// The role ChannelInfo reports for a channel this orderer serves without being a consenter.
pub const INACTIVE: &str = "inactive";

/// A channel's consensus while this orderer is one of its consenters.
pub(crate) struct Consenting {
    pub(crate) raft: Arc<RaftConsensus>,
    pub(crate) cluster: Arc<GrpcCluster>,
}

/// One served channel: its configuration, chain and consensus.
pub struct ChannelHandle {
    id: String,
    config: watch::Receiver<Arc<ChannelConfig>>,
    store: Arc<BlockStore>,
    height: watch::Receiver<u64>,
    consenting: RwLock<Option<Consenting>>,
    /// Stops the chain actor (node shutdown, or this orderer left the consenters).
    stop_chain: watch::Sender<bool>,
    chain: Mutex<Option<JoinHandle<()>>>,
    follower: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandle")
            .field("channel", &self.id)
            .field("height", &*self.height.borrow())
            .finish_non_exhaustive()
    }
}

/// What a handle is made of (see [`ChannelHandle`]).
pub(crate) struct HandleParts {
    pub(crate) config: watch::Receiver<Arc<ChannelConfig>>,
    pub(crate) store: Arc<BlockStore>,
    pub(crate) height: watch::Receiver<u64>,
    pub(crate) consenting: Option<Consenting>,
    pub(crate) stop_chain: watch::Sender<bool>,
    pub(crate) chain: Option<JoinHandle<()>>,
}

impl ChannelHandle {
    pub(crate) fn new(p: HandleParts) -> ChannelHandle {
        let id = p.config.borrow().channel_id.clone();
        ChannelHandle {
            id,
            config: p.config,
            store: p.store,
            height: p.height,
            consenting: RwLock::new(p.consenting),
            stop_chain: p.stop_chain,
            chain: Mutex::new(p.chain),
            follower: Mutex::new(None),
        }
    }

    /// A channel served read-only: this orderer is not among its consenters.
    pub(crate) fn inactive(config: ChannelConfig, store: Arc<BlockStore>) -> ChannelHandle {
        // The senders are dropped: the configuration and height stay as they are, and Deliver streams
        // waiting for a new block end at once.
        let (_, config) = watch::channel(Arc::new(config));
        let (_, height) = watch::channel(store.height());
        ChannelHandle::new(HandleParts {
            config,
            store,
            height,
            consenting: None,
            stop_chain: watch::Sender::new(true),
            chain: None,
        })
    }

    /// The channel name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configuration in force (that of the last config block appended here).
    pub fn config(&self) -> Arc<ChannelConfig> {
        self.config.borrow().clone()
    }

    /// The block store (read side for Deliver and ChannelInfo).
    pub fn store(&self) -> &Arc<BlockStore> {
        &self.store
    }

    /// The channel's consensus, or SERVICE_UNAVAILABLE when this orderer is not a consenter.
    pub fn consensus(&self) -> Result<Arc<dyn Consensus>, OrdererError> {
        match self.raft() {
            Some(raft) => Ok(raft),
            None => Err(self.not_a_consenter()),
        }
    }

    /// The channel's Raft group (the cluster service's side of it), while this orderer is a consenter.
    pub fn raft(&self) -> Option<Arc<RaftConsensus>> {
        self.consenting.read().as_ref().map(|c| c.raft.clone())
    }

    /// `leader`, `follower`, or [`INACTIVE`].
    pub fn role(&self) -> String {
        self.raft()
            .map_or_else(|| INACTIVE.to_string(), |r| r.role().as_str().to_string())
    }

    /// A receiver of the height after every append; errors once the chain has stopped.
    pub fn height_watch(&self) -> watch::Receiver<u64> {
        self.height.clone()
    }

    /// Why a request that needs consensus is refused on an inactive channel.
    pub fn not_a_consenter(&self) -> OrdererError {
        OrdererError::Unavailable(format!(
            "this orderer is not a consenter of channel {} (its chain ends at block {}); use one of the channel's consenters: {}",
            self.id,
            self.store.height().saturating_sub(1),
            self.config().orderer_endpoints().join(", ")
        ))
    }

    pub(crate) fn set_follower(&self, task: JoinHandle<()>) {
        *self.follower.lock() = Some(task);
    }

    /// Stops the chain (draining it) and then Raft: a leader's chain still gets the blocks it proposed.
    pub(crate) async fn stop(&self) {
        self.stop_chain.send_replace(true);
        let chain = self.chain.lock().take();
        if let Some(task) = chain {
            let _ = task.await;
        }
        let consenting = self.consenting.write().take();
        if let Some(c) = consenting {
            c.raft.shutdown().await;
        }
        let follower = self.follower.lock().take();
        if let Some(task) = follower {
            task.abort();
            let _ = task.await;
        }
    }

    /// This orderer left the consenters: Raft stops first (nothing more is applied), then the chain
    /// appends what was already committed and stops.
    async fn deactivate(&self) {
        let consenting = self.consenting.write().take();
        if let Some(c) = consenting {
            c.raft.shutdown().await;
        }
        self.stop_chain.send_replace(true);
        let chain = self.chain.lock().take();
        if let Some(task) = chain {
            let _ = task.await;
        }
    }
}

/// Acts on each configuration the chain of `handle` publishes (see the module docs); ends at node
/// shutdown or once this orderer left the consenters.
pub(crate) async fn follow_config(
    registry: Weak<Registry>,
    handle: Arc<ChannelHandle>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut config = handle.config.clone();
    loop {
        tokio::select! {
            _ = crate::stop_requested(&mut shutdown) => return,
            changed = config.changed() => if changed.is_err() { return },
        }
        let current = config.borrow_and_update().clone();
        let Some(registry) = registry.upgrade() else {
            return;
        };
        if let Err(e) = registry.refresh_trust() {
            tracing::error!(channel = %handle.id, error = %e, "cannot refresh TLS trust after a config update");
        }
        let Some((raft, cluster)) = handle
            .consenting
            .read()
            .as_ref()
            .map(|c| (c.raft.clone(), c.cluster.clone()))
        else {
            return;
        };
        let own = registry.own_tls_cert();
        let staying = is_consenter(&current.orderer.consenters, own);
        let members = match staying {
            true => Members::from_config(&handle.id, &current.orderer.consenters, own),
            false => Members::with_node(&handle.id, &current.orderer.consenters, raft.me()),
        };
        match members {
            Ok(members) => raft.set_members(members),
            Err(e) => {
                tracing::error!(channel = %handle.id, error = %e, "unusable consenter set; Raft membership unchanged");
                continue;
            }
        }
        if let Err(e) = cluster.reconfigure(raft.members(), registry.cluster_ca_pem(&current)) {
            tracing::error!(channel = %handle.id, error = %e, "cannot dial the new consenters");
        }
        if !staying {
            raft.evict();
            let patience = (raft.settings().election_timeout() * 20).max(Duration::from_secs(10));
            let left = tokio::select! {
                _ = crate::stop_requested(&mut shutdown) => return,
                left = raft.leave(patience) => left,
            };
            if !left {
                tracing::warn!(channel = %handle.id, "the Raft membership change removing this orderer was not seen in time; stopping anyway");
            }
            handle.deactivate().await;
            tracing::info!(channel = %handle.id, height = handle.store.height(), "no longer a consenter: Raft and the chain stopped; the blocks stay readable");
            return;
        }
    }
}
