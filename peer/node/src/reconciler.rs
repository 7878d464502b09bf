//! The reconciler: one task per channel that fetches private data this peer's organization is entitled
//! to but did not receive at commit (an endorser could not reach it, it was down). It asks other member
//! peers, checks what they send against the hashes in the block, and applies it; until then the data is
//! listed as missing (`carechain peer pvtdata missing`, metric `carechain_peer_pvtdata_missing`). Private
//! data is never silently missing.

use std::sync::Arc;
use std::time::Duration;

use carechain_proto::carechain::pvtdata::Fetch;
use peer_core::pvtrwset::verified_writes;
use peer_core::state::Version;
use peer_core::{collection, lifecycle, summary};

use crate::channel::Channel;
use crate::peer::{Peer, read_block};
use crate::pvtdata;

/// How often missing data is retried.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Starts the reconciler of `ch`.
pub fn spawn(peer: Arc<Peer>, ch: Arc<Channel>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            if peer.channel(&ch.id).is_none() {
                return;
            }
            match round(&peer, &ch).await {
                Ok((left, fixed)) => {
                    if fixed > 0 {
                        tracing::info!(channel = %ch.id, fixed, left, "reconciled private data");
                    }
                    let labels = vec![("channel".to_string(), ch.id.clone())];
                    peer.metrics.pvt_missing.get_or_create(&labels).set(left as i64);
                }
                Err(e) => tracing::warn!(channel = %ch.id, error = %e, "private data reconciliation failed"),
            }
        }
    })
}

/// One pass over the missing list: (still missing, fixed now).
async fn round(peer: &Arc<Peer>, ch: &Arc<Channel>) -> Result<(usize, usize), crate::PeerError> {
    let missing = ch.ledger.missing_private_data()?;
    let mut fixed = 0;
    for m in missing.iter().take(200) {
        let members = {
            let snap = ch.ledger.snapshot();
            let defs = lifecycle::definition(&snap, &m.ns)?
                .map(|d| d.collections)
                .unwrap_or_default();
            match collection::find(&defs, &m.collection).and_then(|c| c.members().ok()) {
                Some(ms) => ms.into_iter().collect::<Vec<_>>(),
                None => continue,
            }
        };
        let block = read_block(&ch.ledger, m.block)?;
        let Some(raw) = block.data.as_ref().and_then(|d| d.data.get(m.tx as usize)) else {
            continue;
        };
        let Some(rw) = summary::rwset_of_envelope(raw) else {
            continue;
        };
        let Some(coll) = rw
            .namespaces
            .iter()
            .find(|n| n.namespace == m.ns)
            .and_then(|n| n.collections.iter().find(|c| c.name == m.collection))
        else {
            continue;
        };
        for (addr, _, ca) in pvtdata::member_peers(peer, &ch.id, &members) {
            let f = Fetch {
                block: m.block,
                tx: m.tx,
                namespace: m.ns.clone(),
                collection: m.collection.clone(),
            };
            let Ok(Some(bytes)) = pvtdata::fetch(peer, &addr, &ca, &ch.id, f).await else {
                continue;
            };
            let Some(writes) = verified_writes(coll, &bytes) else {
                tracing::warn!(channel = %ch.id, peer = %addr, "fetched private data does not match the block's hashes");
                continue;
            };
            let with_hashes: Vec<(Vec<u8>, String, Option<Vec<u8>>)> = writes
                .into_iter()
                .zip(&coll.writes)
                .map(|((k, v), w)| (w.key_hash.clone(), k, v))
                .collect();
            // `false`: no longer missing (purged or expired meanwhile); nothing to count.
            if ch.ledger.apply_reconciled(
                Version::new(m.block, m.tx),
                &m.ns,
                &m.collection,
                &bytes,
                &with_hashes,
            )? {
                fixed += 1;
            }
            break;
        }
    }
    Ok((missing.len() - fixed, fixed))
}
