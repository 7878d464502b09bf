//! Peer errors, and the one place they become gRPC statuses (for the Endorser, Deliver and Admin
//! services) or gateway errors (for the local gateway).

use carechain_gateway::GatewayError;
use tonic::Status;

/// A peer-side failure.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Configuration or local files are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Identity material could not be loaded.
    #[error(transparent)]
    Msp(#[from] carechain_crypto::MspError),
    /// TLS setup failed.
    #[error(transparent)]
    Transport(#[from] carechain_transport::TransportError),
    /// Storage failed.
    #[error(transparent)]
    Ledger(#[from] carechain_ledger::LedgerError),
    /// Reading state failed.
    #[error(transparent)]
    State(#[from] peer_core::state::StateError),
    /// Stored data does not decode.
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    /// A proposal is malformed.
    #[error("{0}")]
    BadProposal(String),
    /// A request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The channel is not joined.
    #[error("channel {0} is not joined by this peer")]
    ChannelNotJoined(String),
    /// The channel is already joined.
    #[error("channel {0} is already joined")]
    AlreadyJoined(String),
    /// The transaction id was already used.
    #[error("duplicate transaction id {0}: a transaction with this id is already in the ledger")]
    Duplicate(String),
    /// Private data could not be disseminated to enough member peers: the endorsement fails.
    #[error("endorsement failed: {0}")]
    Dissemination(String),
    /// A background task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<PeerError> for Status {
    fn from(e: PeerError) -> Status {
        let msg = e.to_string();
        match e {
            PeerError::BadProposal(_) | PeerError::BadRequest(_) => Status::invalid_argument(msg),
            PeerError::Forbidden(_) => Status::permission_denied(msg),
            PeerError::ChannelNotJoined(_) => Status::not_found(msg),
            PeerError::AlreadyJoined(_) | PeerError::Duplicate(_) => Status::already_exists(msg),
            PeerError::Dissemination(_) => Status::unavailable(msg),
            _ => Status::internal(msg),
        }
    }
}

impl From<PeerError> for GatewayError {
    fn from(e: PeerError) -> GatewayError {
        let msg = e.to_string();
        match e {
            PeerError::BadProposal(_) | PeerError::BadRequest(_) | PeerError::Duplicate(_) => {
                GatewayError::InvalidArgument(msg)
            }
            PeerError::Forbidden(_) => GatewayError::PermissionDenied(msg),
            PeerError::ChannelNotJoined(_) => GatewayError::FailedPrecondition(msg),
            PeerError::Dissemination(_) => GatewayError::Aborted {
                message: msg,
                details: Vec::new(),
            },
            _ => GatewayError::Internal(msg),
        }
    }
}
