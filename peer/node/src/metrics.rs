//! The peer's Prometheus metrics: committed transactions by channel and validation code, committed
//! blocks and height per channel, endorsement and commit latency, and the expiry of the peer's own
//! certificates. Served on the operations endpoint.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn latency() -> Histogram {
    // 0.5 ms .. ~8 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Every metric of a peer.
pub struct PeerMetrics {
    /// `carechain_peer_transactions_total{channel, code}`.
    pub transactions: Family<Labels, Counter>,
    /// `carechain_peer_blocks_total{channel}`.
    pub blocks: Family<Labels, Counter>,
    /// `carechain_peer_ledger_height{channel}`.
    pub height: Family<Labels, Gauge>,
    /// `carechain_peer_endorsement_seconds`.
    pub endorsement: Histogram,
    /// `carechain_peer_pvtdata_missing{channel}`: private write sets this member should hold but does not.
    pub pvt_missing: Family<Labels, Gauge>,
    /// `carechain_peer_commit_seconds{channel}` (validate + commit of one block).
    pub commit: Family<Labels, Histogram, fn() -> Histogram>,
}

impl PeerMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Arc<PeerMetrics> {
        let m = PeerMetrics {
            transactions: Family::default(),
            blocks: Family::default(),
            height: Family::default(),
            pvt_missing: Family::default(),
            endorsement: latency(),
            commit: Family::new_with_constructor(latency as fn() -> Histogram),
        };
        registry.register(
            "carechain_peer_transactions",
            "Transactions committed, by channel and validation code",
            m.transactions.clone(),
        );
        registry.register(
            "carechain_peer_blocks",
            "Blocks committed, by channel",
            m.blocks.clone(),
        );
        registry.register(
            "carechain_peer_ledger_height",
            "Ledger height, by channel",
            m.height.clone(),
        );
        registry.register(
            "carechain_peer_pvtdata_missing",
            "Private write sets this member peer should hold but does not (being reconciled)",
            m.pvt_missing.clone(),
        );
        registry.register(
            "carechain_peer_endorsement_seconds",
            "Time to check, simulate and endorse one proposal",
            m.endorsement.clone(),
        );
        registry.register(
            "carechain_peer_commit_seconds",
            "Time to validate and commit one block",
            m.commit.clone(),
        );
        Arc::new(m)
    }

    /// Records a committed block.
    pub fn committed(&self, channel: &str, summary: &peer_core::summary::BlockSummary, took: Duration) {
        let ch = vec![("channel".to_string(), channel.to_string())];
        for t in &summary.txs {
            let labels = vec![
                ("channel".to_string(), channel.to_string()),
                ("code".to_string(), t.code.as_str_name().to_string()),
            ];
            self.transactions.get_or_create(&labels).inc();
        }
        self.blocks.get_or_create(&ch).inc();
        self.height.get_or_create(&ch).set(summary.number as i64 + 1);
        self.commit.get_or_create(&ch).observe(took.as_secs_f64());
    }
}
