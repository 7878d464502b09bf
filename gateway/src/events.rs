//! `Gateway/ChaincodeEvents`: a stream of one chaincode's events from valid transactions, one response
//! per block that has any, starting at a seek position (default: the next commit) or just after a
//! given transaction. Past blocks are replayed from the ledger, then live commits follow, with no gap
//! and no repeat between the two.

use std::sync::Arc;

use carechain_proto::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, SignedChaincodeEventsRequest,
};
use carechain_proto::orderer::seek_position::Type as Seek;
use peer_core::summary::BlockSummary;
use prost::Message;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::{GatewayError, GatewayService, PeerContext};

/// The response stream type.
pub type EventStream = ReceiverStream<Result<ChaincodeEventsResponse, Status>>;

impl<P: PeerContext> GatewayService<P> {
    pub(crate) async fn do_chaincode_events(
        &self,
        signed: SignedChaincodeEventsRequest,
    ) -> Result<EventStream, GatewayError> {
        let req = ChaincodeEventsRequest::decode(signed.request.as_ref())
            .map_err(|e| GatewayError::InvalidArgument(format!("chaincode events request: {e}")))?;
        let channel = self.ctx.channel_config(&req.channel_id).ok_or_else(|| {
            GatewayError::NotFound(format!("channel {} is not joined by this peer", req.channel_id))
        })?;
        self.authorize_reader(&channel, &req.identity, &signed.request, &signed.signature)?;
        if req.chaincode_id.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "a chaincode name is required".into(),
            ));
        }
        let live = self
            .ctx
            .subscribe(&req.channel_id)
            .ok_or_else(|| GatewayError::NotFound(format!("channel {} is not joined", req.channel_id)))?;
        let height = self.ctx.height(&req.channel_id).unwrap_or(0);
        let mut start = match req.start_position.as_ref().and_then(|p| p.r#type.as_ref()) {
            None | Some(Seek::NextCommit(_)) => height,
            Some(Seek::Newest(_)) => height.saturating_sub(1),
            Some(Seek::Oldest(_)) => 0,
            Some(Seek::Specified(s)) => s.number,
        };
        let mut skip_until = None;
        if !req.after_transaction_id.is_empty()
            && let Some(loc) = self.ctx.tx_location(&req.channel_id, &req.after_transaction_id)?
        {
            start = loc.block;
            skip_until = Some(req.after_transaction_id.clone());
        }
        let (tx, rx) = mpsc::channel(16);
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let mut feed = Feed {
                chaincode: req.chaincode_id,
                channel: req.channel_id,
                next: start,
                skip_until,
                tx,
            };
            feed.run(ctx, live).await;
        });
        Ok(ReceiverStream::new(rx))
    }
}

struct Feed {
    chaincode: String,
    channel: String,
    next: u64,
    skip_until: Option<String>,
    tx: mpsc::Sender<Result<ChaincodeEventsResponse, Status>>,
}

impl Feed {
    async fn run<P: PeerContext>(
        &mut self,
        ctx: Arc<P>,
        mut live: tokio::sync::broadcast::Receiver<Arc<BlockSummary>>,
    ) {
        if !self.replay(&*ctx).await {
            return;
        }
        loop {
            match live.recv().await {
                Ok(b) => {
                    if b.number > self.next && !self.replay(&*ctx).await {
                        return;
                    }
                    if b.number == self.next && !self.send(&b).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if !self.replay(&*ctx).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Sends every committed block from `next` up to the current height; false when the client left.
    async fn replay<P: PeerContext>(&mut self, ctx: &P) -> bool {
        let height = ctx.height(&self.channel).unwrap_or(0);
        while self.next < height {
            match ctx.block_summary(&self.channel, self.next) {
                Ok(Some(b)) => {
                    if !self.send(&b).await {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    let _ = self.tx.send(Err(Status::from(e))).await;
                    return false;
                }
            }
        }
        true
    }

    async fn send(&mut self, b: &BlockSummary) -> bool {
        self.next = b.number + 1;
        let mut events: Vec<_> = b.events_for(&self.chaincode).cloned().collect();
        if let Some(after) = self.skip_until.take() {
            // Skip through the checkpoint transaction itself.
            if let Some(pos) = events.iter().position(|e| e.tx_id == after) {
                events.drain(..=pos);
            } else if b.txs.iter().any(|t| t.tx_id == after) {
                let idx = b.txs.iter().position(|t| t.tx_id == after).unwrap_or(0);
                let later: Vec<&str> = b.txs[idx + 1..].iter().map(|t| t.tx_id.as_str()).collect();
                events.retain(|e| later.contains(&e.tx_id.as_str()));
            }
        }
        if events.is_empty() {
            return !self.tx.is_closed();
        }
        self.tx
            .send(Ok(ChaincodeEventsResponse {
                events,
                block_number: b.number,
            }))
            .await
            .is_ok()
    }
}
