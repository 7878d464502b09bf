//! What the sync shows while it runs: Prometheus gauges and counters on the optional operations address
//! (`/metrics`, `/healthz`, through `carechain-ops`), and a progress bar while it catches up.
//!
//! | metric | meaning |
//! |---|---|
//! | `carechain_analytics_lag_blocks` | blocks the peer has that the store has not applied (peer height − next block) |
//! | `carechain_analytics_next_block` | the next block the store needs |
//! | `carechain_analytics_peer_height` | the peer's height, polled every second |
//! | `carechain_analytics_entries_added` | rows added since the sync started |
//! | `carechain_analytics_entries_removed` | rows removed by revocations since the sync started |
//! | `carechain_analytics_events_skipped` | events not kept (not de-identified enough to store) |

use std::net::SocketAddr;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::sync::Progress;

/// The sync's gauges.
#[derive(Clone, Default)]
pub struct SyncMetrics {
    lag: Gauge,
    next: Gauge,
    height: Gauge,
    added: Gauge,
    removed: Gauge,
    skipped: Gauge,
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SyncMetrics {
    /// Fresh gauges.
    pub fn new() -> Self {
        SyncMetrics::default()
    }

    /// A registry with every gauge.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::default();
        let gauges = [
            (
                "carechain_analytics_lag_blocks",
                "Blocks behind the peer",
                &self.lag,
            ),
            (
                "carechain_analytics_next_block",
                "Next block the store needs",
                &self.next,
            ),
            (
                "carechain_analytics_peer_height",
                "Height of the followed peer",
                &self.height,
            ),
            (
                "carechain_analytics_entries_added",
                "Rows added since start",
                &self.added,
            ),
            (
                "carechain_analytics_entries_removed",
                "Rows removed by revocations since start",
                &self.removed,
            ),
            (
                "carechain_analytics_events_skipped",
                "De-identified events not kept",
                &self.skipped,
            ),
        ];
        for (name, help, g) in gauges {
            r.register(name, help, g.clone());
        }
        r
    }

    /// Serves `/metrics` and `/healthz` on `addr`.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let ops = carechain_ops::Ops::new(
            self.registry(),
            Arc::new(|| vec![("analytics_sync".to_string(), Ok(()))]),
            Arc::new(|| {}),
            None,
        );
        let bound = ops.serve(addr).await?;
        tracing::info!(%bound, "analytics operations endpoint");
        Ok(bound)
    }

    /// The store needs `next`; the peer is at `height`.
    pub fn observe(&self, next: u64, height: u64) {
        self.next.set(clamp(next));
        self.height.set(clamp(height));
        self.lag.set(clamp(height.saturating_sub(next)));
    }

    /// Totals of this run.
    pub fn applied(&self, p: &Progress) {
        self.added.set(clamp(p.entries));
        self.removed.set(clamp(p.removed));
        self.skipped.set(clamp(p.skipped));
    }

    /// The current lag (for tests and status lines).
    pub fn lag(&self) -> i64 {
        self.lag.get()
    }
}

/// A bar from `next` to `height` on stderr, hidden when `show` is false or stderr is not a terminal.
pub fn progress_bar(show: bool, next: u64, height: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(height), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("catching up {bar:40} block {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(next);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_peer_height_minus_the_next_block() {
        let m = SyncMetrics::new();
        m.observe(7, 10);
        assert_eq!(m.lag(), 3);
        m.observe(10, 10);
        assert_eq!(m.lag(), 0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &m.registry()).unwrap_or_default();
        assert!(text.contains("carechain_analytics_lag_blocks 0"), "{text}");
        assert!(text.contains("carechain_analytics_peer_height 10"), "{text}");
    }
}
