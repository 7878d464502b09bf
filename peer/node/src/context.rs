//! The peer as its gateway sees it: the [`PeerContext`] implementation wiring the gateway to local
//! endorsement, channel configuration, the ledger and commit notifications.

use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_gateway::{GatewayError, PeerContext};
use carechain_proto::protos::{ProposalResponse, SignedProposal};
use peer_core::policy::{EndorsementPolicy, endorsement_requirements};
use peer_core::rwset::TxRwSet;
use peer_core::state::TxLocation;
use peer_core::summary::BlockSummary;
use tokio::sync::broadcast;

use crate::endorser;
use crate::peer::{Peer, read_block};

/// The gateway's handle on this peer.
pub struct LocalPeer(pub Arc<Peer>);

impl LocalPeer {
    fn ch(&self, channel: &str) -> Result<Arc<crate::channel::Channel>, GatewayError> {
        self.0
            .channel(channel)
            .ok_or_else(|| GatewayError::NotFound(format!("channel {channel} is not joined by this peer")))
    }
}

impl PeerContext for LocalPeer {
    fn local_msp_id(&self) -> &str {
        &self.0.config.msp_id
    }

    fn local_address(&self) -> String {
        self.0.config.listen_address.to_string()
    }

    fn channel_config(&self, channel: &str) -> Option<Arc<ChannelConfig>> {
        self.0.channel(channel).map(|c| c.config())
    }

    async fn process_proposal(
        &self,
        signed: SignedProposal,
        sign: bool,
    ) -> Result<ProposalResponse, GatewayError> {
        Ok(endorser::process(self.0.clone(), signed, sign).await?)
    }

    fn evaluate_only_function(&self, chaincode: &str, args: &[Vec<u8>]) -> Option<String> {
        self.0.evaluate_only_function(chaincode, args)
    }

    fn endorsement_requirements(
        &self,
        channel: &str,
        chaincode: &str,
        rwset: &TxRwSet,
    ) -> Result<Vec<EndorsementPolicy>, GatewayError> {
        let ch = self.ch(channel)?;
        let snap = ch.ledger.snapshot();
        let reqs = endorsement_requirements(&snap, chaincode, rwset)
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        Ok(reqs.into_iter().map(|(_, p)| p).collect())
    }

    fn collection_members(
        &self,
        channel: &str,
        chaincode: &str,
        collection: &str,
    ) -> Result<Option<Vec<String>>, GatewayError> {
        let ch = self.ch(channel)?;
        let snap = ch.ledger.snapshot();
        let defs = peer_core::lifecycle::definition(&snap, chaincode)
            .map_err(|e| GatewayError::Internal(e.to_string()))?
            .map(|d| d.collections)
            .unwrap_or_default();
        Ok(peer_core::collection::find(&defs, collection)
            .and_then(|c| c.members().ok())
            .map(|m| m.into_iter().collect()))
    }

    fn tx_location(&self, channel: &str, tx_id: &str) -> Result<Option<TxLocation>, GatewayError> {
        let ch = self.ch(channel)?;
        ch.ledger
            .tx_location(tx_id)
            .map_err(|e| GatewayError::Internal(e.to_string()))
    }

    fn subscribe(&self, channel: &str) -> Option<broadcast::Receiver<Arc<BlockSummary>>> {
        self.0.channel(channel).map(|c| c.subscribe())
    }

    fn height(&self, channel: &str) -> Option<u64> {
        self.0.channel(channel).map(|c| c.ledger.height())
    }

    fn block_summary(&self, channel: &str, number: u64) -> Result<Option<BlockSummary>, GatewayError> {
        let ch = self.ch(channel)?;
        if number >= ch.ledger.height() {
            return Ok(None);
        }
        let b = read_block(&ch.ledger, number).map_err(|e| GatewayError::Internal(e.to_string()))?;
        Ok(Some(BlockSummary::from_block(&b)))
    }
}
