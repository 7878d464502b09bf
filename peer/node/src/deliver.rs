//! `protos.Deliver`: committed blocks (with their validation codes) or filtered blocks for clients that
//! follow a channel, such as the Fabric SDK's block events and the analytics sync. Each request is a
//! signed `DELIVER_SEEK_INFO` envelope from a channel reader; blocks stream until the stop position,
//! waiting for new commits when asked to.

use std::sync::Arc;

use carechain_proto::common::{
    ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader, Status as FStatus,
};
use carechain_proto::orderer::{SeekInfo, seek_info::SeekBehavior, seek_position::Type as Seek};
use carechain_proto::protos::deliver_server::Deliver;
use carechain_proto::protos::{
    BlockAndPrivateData, DeliverResponse, FilteredBlock, FilteredChaincodeAction, FilteredTransaction,
    FilteredTransactionActions, deliver_response::Type as Resp, filtered_transaction,
};
use peer_core::summary::BlockSummary;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::channel::Channel;
use crate::peer::{Peer, read_block};

/// The Deliver service of one peer.
pub struct DeliverService {
    /// The peer.
    pub peer: Arc<Peer>,
}

type Out = mpsc::Sender<Result<DeliverResponse, Status>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Full,
    Filtered,
    WithPrivateData,
}

impl DeliverService {
    fn serve(
        &self,
        mut input: Streaming<Envelope>,
        form: Form,
    ) -> ReceiverStream<Result<DeliverResponse, Status>> {
        let (tx, rx) = mpsc::channel(8);
        let peer = self.peer.clone();
        tokio::spawn(async move {
            while let Ok(Some(env)) = input.message().await {
                let status = match authorize(&peer, &env) {
                    Ok((ch, info, msp)) => stream_blocks(&ch, &info, form, &msp, &tx).await,
                    Err((status, why)) => {
                        tracing::debug!(reason = %why, "deliver request refused");
                        Some(status)
                    }
                };
                let Some(status) = status else { return };
                let msg = DeliverResponse {
                    r#type: Some(Resp::Status(status as i32)),
                };
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
        });
        ReceiverStream::new(rx)
    }
}

/// Checks the seek request: structure, channel, signature, Readers policy.
fn authorize(peer: &Peer, env: &Envelope) -> Result<(Arc<Channel>, SeekInfo, String), (FStatus, String)> {
    let bad = |w: &str| (FStatus::BadRequest, format!("malformed {w}"));
    let payload = Payload::decode(env.payload.as_ref()).map_err(|_| bad("payload"))?;
    let header = payload.header.ok_or_else(|| bad("header"))?;
    let chh = ChannelHeader::decode(header.channel_header.as_ref()).map_err(|_| bad("channel header"))?;
    if chh.r#type != HeaderType::DeliverSeekInfo as i32 {
        return Err((
            FStatus::BadRequest,
            format!("header type {} is not DELIVER_SEEK_INFO", chh.r#type),
        ));
    }
    let ch = peer.channel(&chh.channel_id).ok_or((
        FStatus::NotFound,
        format!("channel {} not joined", chh.channel_id),
    ))?;
    let sh =
        SignatureHeader::decode(header.signature_header.as_ref()).map_err(|_| bad("signature header"))?;
    let config = ch.config();
    let id = config
        .msps
        .verify_signature(&sh.creator, &env.payload, &env.signature)
        .map_err(|e| (FStatus::Forbidden, e.to_string()))?;
    let msp = id.msp_id().to_string();
    config
        .evaluate("/Channel/Application/Readers", &[id])
        .map_err(|e| (FStatus::Forbidden, e.to_string()))?;
    let info = SeekInfo::decode(payload.data.as_ref()).map_err(|_| bad("seek info"))?;
    Ok((ch, info, msp))
}

fn position(p: Option<&carechain_proto::orderer::SeekPosition>, height: u64, default: u64) -> u64 {
    match p.and_then(|p| p.r#type.as_ref()) {
        Some(Seek::Oldest(_)) => 0,
        Some(Seek::Newest(_)) => height.saturating_sub(1),
        Some(Seek::Specified(s)) => s.number,
        Some(Seek::NextCommit(_)) => height,
        None => default,
    }
}

/// Streams the requested blocks; returns the final status, or None when the client went away.
async fn stream_blocks(ch: &Channel, info: &SeekInfo, form: Form, msp: &str, tx: &Out) -> Option<FStatus> {
    let height = ch.ledger.height();
    let start = position(info.start.as_ref(), height, 0);
    let stop = position(info.stop.as_ref(), height, u64::MAX);
    if start > stop {
        return Some(FStatus::BadRequest);
    }
    let wait = info.behavior == SeekBehavior::BlockUntilReady as i32;
    let mut n = start;
    loop {
        let notified = ch.committed.notified();
        if n < ch.ledger.height() {
            let Ok(block) = read_block(&ch.ledger, n) else {
                return Some(FStatus::InternalServerError);
            };
            let r#type = match form {
                Form::Full => Resp::Block(block),
                Form::Filtered => Resp::FilteredBlock(filtered(&ch.id, &block)),
                Form::WithPrivateData => match with_private(ch, block, msp) {
                    Ok(b) => Resp::BlockAndPrivateData(b),
                    Err(_) => return Some(FStatus::InternalServerError),
                },
            };
            if tx
                .send(Ok(DeliverResponse { r#type: Some(r#type) }))
                .await
                .is_err()
            {
                return None;
            }
            if n == stop {
                return Some(FStatus::Success);
            }
            n += 1;
            continue;
        }
        if !wait {
            return Some(FStatus::NotFound);
        }
        tokio::select! {
            _ = notified => {}
            _ = tx.closed() => return None,
        }
    }
}

/// A block with the private write sets this peer holds for it, limited to collections whose member
/// policy includes the requester's organization.
fn with_private(
    ch: &Channel,
    block: carechain_proto::common::Block,
    msp: &str,
) -> Result<BlockAndPrivateData, crate::PeerError> {
    use carechain_proto::rwset::{CollectionPvtReadWriteSet, NsPvtReadWriteSet, TxPvtReadWriteSet};
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let snap = ch.ledger.snapshot();
    let mut map: std::collections::HashMap<u64, TxPvtReadWriteSet> = std::collections::HashMap::new();
    for (tx, ns, coll, bytes) in ch.ledger.private_write_sets_of_block(number)? {
        let defs = peer_core::lifecycle::definition(&snap, &ns)?
            .map(|d| d.collections)
            .unwrap_or_default();
        if !peer_core::collection::find(&defs, &coll).is_some_and(|c| c.is_member(msp)) {
            continue;
        }
        let entry = map.entry(tx).or_default();
        let set = CollectionPvtReadWriteSet {
            collection_name: coll,
            rwset: bytes.into(),
        };
        match entry.ns_pvt_rwset.iter_mut().find(|n| n.namespace == ns) {
            Some(n) => n.collection_pvt_rwset.push(set),
            None => entry.ns_pvt_rwset.push(NsPvtReadWriteSet {
                namespace: ns,
                collection_pvt_rwset: vec![set],
            }),
        }
    }
    Ok(BlockAndPrivateData {
        block: Some(block),
        private_data_map: map,
    })
}

fn filtered(channel: &str, block: &carechain_proto::common::Block) -> FilteredBlock {
    let summary = BlockSummary::from_block(block);
    FilteredBlock {
        channel_id: channel.to_string(),
        number: summary.number,
        filtered_transactions: summary
            .txs
            .iter()
            .map(|t| FilteredTransaction {
                txid: t.tx_id.clone(),
                r#type: HeaderType::EndorserTransaction as i32,
                tx_validation_code: t.code as i32,
                data: t.event.as_ref().map(|e| {
                    let mut ev = e.clone();
                    // Filtered blocks carry event names but not payloads, as in Fabric.
                    ev.payload = Default::default();
                    filtered_transaction::Data::TransactionActions(FilteredTransactionActions {
                        chaincode_actions: vec![FilteredChaincodeAction {
                            chaincode_event: Some(ev),
                        }],
                    })
                }),
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl Deliver for DeliverService {
    type DeliverStream = ReceiverStream<Result<DeliverResponse, Status>>;
    type DeliverFilteredStream = ReceiverStream<Result<DeliverResponse, Status>>;
    type DeliverWithPrivateDataStream = ReceiverStream<Result<DeliverResponse, Status>>;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        Ok(Response::new(self.serve(request.into_inner(), Form::Full)))
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverFilteredStream>, Status> {
        Ok(Response::new(self.serve(request.into_inner(), Form::Filtered)))
    }

    async fn deliver_with_private_data(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverWithPrivateDataStream>, Status> {
        Ok(Response::new(
            self.serve(request.into_inner(), Form::WithPrivateData),
        ))
    }
}
