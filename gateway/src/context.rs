//! What the gateway needs from the peer that hosts it. The gateway is the client-facing half of the
//! endorse and order steps; everything about the ledger, local simulation and commits comes from the
//! peer through this trait, which keeps this crate free of storage and lets tests host it on anything.

use std::future::Future;
use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_proto::protos::{ProposalResponse, SignedProposal};
use peer_core::policy::EndorsementPolicy;
use peer_core::rwset::TxRwSet;
use peer_core::state::TxLocation;
use peer_core::summary::BlockSummary;
use tokio::sync::broadcast;

use crate::GatewayError;

/// The local peer, as seen by its gateway.
pub trait PeerContext: Send + Sync + 'static {
    /// MSP id of the peer's organization.
    fn local_msp_id(&self) -> &str;

    /// The address clients and other peers reach this peer at (for error details).
    fn local_address(&self) -> String;

    /// The current configuration of a joined channel.
    fn channel_config(&self, channel: &str) -> Option<Arc<ChannelConfig>>;

    /// Runs the proposal on this peer (checks, simulation and, when `sign` is true, endorsement).
    fn process_proposal(
        &self,
        signed: SignedProposal,
        sign: bool,
    ) -> impl Future<Output = Result<ProposalResponse, GatewayError>> + Send;

    /// The function `args` call on `chaincode` when the contract declares it evaluate-only (its response
    /// must never reach a block), so Endorse can refuse it. `None` for any other call.
    fn evaluate_only_function(&self, chaincode: &str, args: &[Vec<u8>]) -> Option<String> {
        let _ = (chaincode, args);
        None
    }

    /// Every endorsement policy a transaction with this read/write set must satisfy.
    fn endorsement_requirements(
        &self,
        channel: &str,
        chaincode: &str,
        rwset: &TxRwSet,
    ) -> Result<Vec<EndorsementPolicy>, GatewayError>;

    /// Member MSP ids of a private data collection of `chaincode` (`None`: no such collection).
    fn collection_members(
        &self,
        channel: &str,
        chaincode: &str,
        collection: &str,
    ) -> Result<Option<Vec<String>>, GatewayError>;

    /// Where a transaction was committed, if it was.
    fn tx_location(&self, channel: &str, tx_id: &str) -> Result<Option<TxLocation>, GatewayError>;

    /// Notifications of blocks committed from now on.
    fn subscribe(&self, channel: &str) -> Option<broadcast::Receiver<Arc<BlockSummary>>>;

    /// Committed height of a channel.
    fn height(&self, channel: &str) -> Option<u64>;

    /// The summary of committed block `number`.
    fn block_summary(&self, channel: &str, number: u64) -> Result<Option<BlockSummary>, GatewayError>;
}
