//! One joined channel on this peer: its ledger, its current configuration, and the notification fan-out
//! of committed blocks (commit-status waiters, event streams and Deliver clients subscribe to it).

use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_ledger::Ledger;
use parking_lot::RwLock;
use peer_core::summary::BlockSummary;
use tokio::sync::{Notify, broadcast};

/// A joined channel.
pub struct Channel {
    /// Channel name.
    pub id: String,
    /// Its ledger.
    pub ledger: Arc<Ledger>,
    config: RwLock<Arc<ChannelConfig>>,
    commits: broadcast::Sender<Arc<BlockSummary>>,
    /// Signalled after every commit (Deliver streams waiting for new blocks).
    pub committed: Notify,
}

impl Channel {
    /// A channel over `ledger` with configuration `config`.
    pub fn new(id: &str, ledger: Arc<Ledger>, config: ChannelConfig) -> Self {
        let (commits, _) = broadcast::channel(1024);
        Channel {
            id: id.to_string(),
            ledger,
            config: RwLock::new(Arc::new(config)),
            commits,
            committed: Notify::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<ChannelConfig> {
        self.config.read().clone()
    }

    /// Replaces the configuration (after a config block commits).
    pub fn set_config(&self, config: ChannelConfig) {
        *self.config.write() = Arc::new(config);
    }

    /// Subscribes to committed-block summaries.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BlockSummary>> {
        self.commits.subscribe()
    }

    /// Publishes a committed block.
    pub fn publish(&self, summary: BlockSummary) {
        let _ = self.commits.send(Arc::new(summary));
        self.committed.notify_waiters();
    }
}
