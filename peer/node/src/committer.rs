//! The committer: one actor per channel that turns delivered blocks into committed state (the
//! validate step). For each block in order: check the hash chain and the orderer's signature, validate
//! every transaction (in parallel where possible, MVCC in order), record the validation codes in the
//! block's TRANSACTIONS_FILTER, commit block and state atomically, then publish the block's summary to
//! commit-status waiters and event streams.

use std::sync::Arc;

use carechain_channel::{ChannelConfig, block};
use carechain_proto::common::{Block, BlockMetadataIndex};
use carechain_proto::rwset::TxPvtReadWriteSet;
use peer_core::block::{PvtInput, validate_block};
use peer_core::blocksig::check_delivered_block;
use peer_core::summary::BlockSummary;
use prost::Message;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::channel::Channel;
use crate::error::PeerError;
use crate::peer::Peer;

/// Starts the committer of `ch`; blocks arrive on `rx`. When a block cannot be used, `refetch` asks the
/// puller to fetch again from the ledger height (from another orderer).
pub fn spawn(
    peer: Arc<Peer>,
    ch: Arc<Channel>,
    mut rx: mpsc::Receiver<Block>,
    refetch: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(block) = rx.recv().await {
            let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
            let height = ch.ledger.height();
            if number < height {
                continue;
            }
            if number > height {
                tracing::warn!(channel = %ch.id, number, height, "block out of order; refetching");
                refetch.notify_one();
                continue;
            }
            let c = ch.clone();
            let started = std::time::Instant::now();
            let msp = peer.config.msp_id.clone();
            match tokio::task::spawn_blocking(move || commit(&c, block, &msp)).await {
                Ok(Ok((summary, new_config))) => {
                    peer.metrics.committed(&ch.id, &summary, started.elapsed());
                    if let Some(cfg) = new_config {
                        tracing::info!(channel = %ch.id, number, sequence = cfg.sequence, "channel configuration updated");
                        ch.set_config(cfg);
                        if let Err(e) = peer.refresh_trust() {
                            tracing::error!(channel = %ch.id, error = %e, "cannot refresh TLS trust after a config update");
                        }
                    }
                    let valid = summary
                        .txs
                        .iter()
                        .filter(|t| t.code == carechain_proto::protos::TxValidationCode::Valid)
                        .count();
                    tracing::debug!(channel = %ch.id, number, txs = summary.txs.len(), valid, "committed block");
                    ch.publish(summary);
                }
                Ok(Err(e)) => {
                    tracing::error!(channel = %ch.id, number, error = %e, "block rejected; refetching from another orderer");
                    refetch.notify_one();
                }
                Err(e) => {
                    tracing::error!(channel = %ch.id, number, error = %e, "committer task failed");
                    refetch.notify_one();
                }
            }
        }
    })
}

/// Validates and commits one block (the next one), returning its summary and, for a config block, the
/// configuration it installs. Blocking: runs on the blocking pool.
pub fn commit(
    ch: &Channel,
    mut block: Block,
    local_msp: &str,
) -> Result<(BlockSummary, Option<ChannelConfig>), PeerError> {
    let config = ch.config();
    let tip = ch.ledger.tip_hash();
    check_delivered_block(&block, tip.as_ref(), &config).map_err(|e| PeerError::BadRequest(e.to_string()))?;
    let header = block
        .header
        .clone()
        .ok_or_else(|| PeerError::BadRequest("block has no header".into()))?;
    let envelopes = block.data.as_ref().map(|d| d.data.clone()).unwrap_or_default();
    let validated = {
        let snap = ch.ledger.snapshot();
        let pvt = private_input(ch, &envelopes, local_msp)?;
        validate_block(header.number, &envelopes, &config, &snap, &pvt)?
    };
    for (i, o) in validated.outcomes.iter().enumerate() {
        if o.code != carechain_proto::protos::TxValidationCode::Valid {
            tracing::info!(channel = %ch.id, block = header.number, tx = i, tx_id = o.tx_id.as_deref().unwrap_or(""), code = o.code.as_str_name(), reason = %o.reason, "invalid transaction");
        }
    }
    // Parse before committing (validation already checked that it parses).
    let new_config = match &validated.new_config {
        Some(c) => {
            Some(ChannelConfig::from_config(&ch.id, c).map_err(|e| PeerError::Corrupt(e.to_string()))?)
        }
        None => None,
    };
    block::set_slot(
        &mut block,
        BlockMetadataIndex::TransactionsFilter,
        validated.filter().into(),
    );
    ch.ledger.commit(
        header.number,
        &block.encode_to_vec(),
        block::header_hash(&header),
        &validated.updates,
    )?;
    Ok((
        BlockSummary::from_validated(header.number, &validated),
        new_config,
    ))
}

/// The plaintext private write sets this peer holds (transient store) for the block's transactions.
fn private_input(ch: &Channel, envelopes: &[bytes::Bytes], local_msp: &str) -> Result<PvtInput, PeerError> {
    let mut plaintext = std::collections::HashMap::new();
    for raw in envelopes {
        let Some(tx_id) = tx_id_of(raw) else { continue };
        if let Some(bytes) = ch.ledger.get_transient(&tx_id)?
            && let Ok(p) = TxPvtReadWriteSet::decode(bytes.as_slice())
        {
            plaintext.insert(tx_id, p);
        }
    }
    Ok(PvtInput {
        local_msp: local_msp.to_string(),
        plaintext,
    })
}

fn tx_id_of(raw: &[u8]) -> Option<String> {
    use carechain_proto::common::{ChannelHeader, Envelope, Payload};
    let env = Envelope::decode(raw).ok()?;
    let payload = Payload::decode(env.payload.as_ref()).ok()?;
    let ch = ChannelHeader::decode(payload.header?.channel_header.as_ref()).ok()?;
    Some(ch.tx_id)
}
