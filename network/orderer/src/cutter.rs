//! The block cutter: the ordering service's decision of where one block ends and the next begins.
//!
//! It implements Fabric's batch contract exactly. Envelopes arrive in consensus order; the cutter
//! returns zero, one or two finished batches per envelope:
//! - an envelope larger than `preferred_max_bytes` is cut into a batch of its own, after whatever was
//!   pending;
//! - an envelope that would push the pending batch over `preferred_max_bytes` first cuts the pending
//!   batch;
//! - reaching `max_message_count` cuts;
//! - otherwise the envelope waits, and the caller's batch timer ([`BlockCutter::cut`]) cuts it after
//!   `timeout`. Envelopes larger than `absolute_max_bytes` never reach the cutter: Broadcast refuses them.
//!
//! No clocks or I/O here: the caller owns the timer, which keeps the logic deterministic for tests.

use std::time::Duration;

use bytes::Bytes;

/// Batch parameters, from the channel's `BatchSize` and `BatchTimeout` configuration values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Most envelopes in one block.
    pub max_message_count: u32,
    /// Hard upper bound on one envelope's size (enforced at Broadcast).
    pub absolute_max_bytes: u32,
    /// Soft bound on a block's total envelope bytes.
    pub preferred_max_bytes: u32,
    /// How long the first pending envelope may wait before a block is cut anyway.
    pub timeout: Duration,
}

impl Default for BatchConfig {
    /// Fabric's sample defaults: 500 messages, 10 MiB absolute, 2 MiB preferred, 2 s timeout.
    fn default() -> Self {
        BatchConfig {
            max_message_count: 500,
            absolute_max_bytes: 10 * 1024 * 1024,
            preferred_max_bytes: 2 * 1024 * 1024,
            timeout: Duration::from_secs(2),
        }
    }
}

/// What one envelope produced: finished batches, and whether envelopes are left pending (so the caller
/// knows to arm or keep its batch timer).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cut {
    /// Finished batches, in order.
    pub batches: Vec<Vec<Bytes>>,
    /// True when envelopes wait in the pending batch.
    pub pending: bool,
}

/// Accumulates envelopes into batches.
#[derive(Debug)]
pub struct BlockCutter {
    config: BatchConfig,
    pending: Vec<Bytes>,
    pending_bytes: usize,
}

impl BlockCutter {
    /// A cutter with the given parameters and nothing pending.
    pub fn new(config: BatchConfig) -> Self {
        BlockCutter {
            config,
            pending: Vec::new(),
            pending_bytes: 0,
        }
    }

    /// The parameters in force.
    pub fn config(&self) -> &BatchConfig {
        &self.config
    }

    /// Replaces the parameters (after a config update); pending envelopes stay pending.
    pub fn set_config(&mut self, config: BatchConfig) {
        self.config = config;
    }

    /// Adds the next ordered envelope.
    pub fn ordered(&mut self, envelope: Bytes) -> Cut {
        let size = envelope.len();
        let preferred = self.config.preferred_max_bytes as usize;
        let mut batches = Vec::new();
        if size > preferred {
            if !self.pending.is_empty() {
                batches.push(self.cut());
            }
            batches.push(vec![envelope]);
            return Cut {
                batches,
                pending: false,
            };
        }
        if self.pending_bytes + size > preferred && !self.pending.is_empty() {
            batches.push(self.cut());
        }
        self.pending.push(envelope);
        self.pending_bytes += size;
        if self.pending.len() >= self.config.max_message_count.max(1) as usize {
            batches.push(self.cut());
        }
        Cut {
            batches,
            pending: !self.pending.is_empty(),
        }
    }

    /// Cuts whatever is pending (the batch timer fired, or a config envelope must go alone).
    pub fn cut(&mut self) -> Vec<Bytes> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.pending)
    }

    /// Number of envelopes waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(count: u32, preferred: u32) -> BatchConfig {
        BatchConfig {
            max_message_count: count,
            absolute_max_bytes: 1000,
            preferred_max_bytes: preferred,
            timeout: Duration::from_millis(10),
        }
    }

    fn env(n: usize) -> Bytes {
        Bytes::from(vec![7u8; n])
    }

    #[test]
    fn cuts_at_max_message_count() {
        let mut c = BlockCutter::new(cfg(3, 100));
        assert_eq!(
            c.ordered(env(1)),
            Cut {
                batches: vec![],
                pending: true
            }
        );
        assert!(c.ordered(env(1)).batches.is_empty());
        let cut = c.ordered(env(1));
        assert_eq!(cut.batches.len(), 1);
        assert_eq!(cut.batches[0].len(), 3);
        assert!(!cut.pending);
    }

    #[test]
    fn oversized_envelope_goes_alone_after_pending() {
        let mut c = BlockCutter::new(cfg(10, 100));
        c.ordered(env(10));
        let cut = c.ordered(env(150));
        assert_eq!(cut.batches.len(), 2);
        assert_eq!(cut.batches[0].len(), 1);
        assert_eq!(cut.batches[1][0].len(), 150);
        assert!(!cut.pending);
        assert_eq!(c.pending_len(), 0);
    }

    #[test]
    fn overflowing_preferred_bytes_cuts_pending_first() {
        let mut c = BlockCutter::new(cfg(10, 100));
        c.ordered(env(60));
        let cut = c.ordered(env(60));
        assert_eq!(cut.batches, vec![vec![env(60)]]);
        assert!(cut.pending);
        assert_eq!(c.pending_len(), 1);
    }

    #[test]
    fn timer_cut_returns_pending_in_order() {
        let mut c = BlockCutter::new(cfg(10, 100));
        c.ordered(Bytes::from_static(b"a"));
        c.ordered(Bytes::from_static(b"b"));
        assert_eq!(c.cut(), vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert!(c.cut().is_empty());
    }
}
