//! The ordering service's one error type, and the one place it becomes a wire status.
//!
//! Everything that can go wrong between an envelope arriving at Broadcast and a block leaving through
//! Deliver is a variant here. Broadcast and Deliver answer with Fabric's `common.Status` inside the
//! stream (a refused envelope must not end the stream), the Admin service answers with a gRPC status;
//! [`OrdererError::fabric_status`] and `From<OrdererError> for tonic::Status` are the only mappings.

use carechain_proto::common::Status;

/// What went wrong, with a message naming the channel, identity, policy or file at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrdererError {
    /// The node configuration is unusable.
    #[error("invalid orderer configuration: {0}")]
    Config(String),
    /// A file of the node's identity, TLS material or data directory could not be loaded.
    #[error("cannot load {what} from {path}: {detail}")]
    Load {
        /// What was being loaded (e.g. "signing identity").
        what: &'static str,
        /// The file or directory.
        path: String,
        /// Why it failed.
        detail: String,
    },
    /// Binding a port, TLS setup or serving failed.
    #[error("network: {0}")]
    Network(String),
    /// The block store of a channel failed or is inconsistent.
    #[error("block store of channel {channel}: {detail}")]
    Store {
        /// The channel.
        channel: String,
        /// What failed.
        detail: String,
    },
    /// A request is malformed or of a kind this orderer does not accept.
    #[error("{0}")]
    BadRequest(String),
    /// The signer is not a valid identity of the channel, its signature does not verify, or it does
    /// not satisfy the channel policy.
    #[error("{0}")]
    Forbidden(String),
    /// The channel is not served by this orderer.
    #[error("channel {0} does not exist on this orderer")]
    ChannelNotFound(String),
    /// A block beyond the chain's height was asked for with FAIL_IF_NOT_READY.
    #[error("{0}")]
    NotReady(String),
    /// The envelope exceeds the channel's `AbsoluteMaxBytes`.
    #[error("envelope of {size} bytes exceeds the AbsoluteMaxBytes of {max} bytes of channel {channel}")]
    TooLarge {
        /// The channel.
        channel: String,
        /// Payload plus signature bytes.
        size: usize,
        /// The channel's limit.
        max: u32,
    },
    /// Consensus cannot take envelopes now (no leader, chain stopped, node shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// An Admin request is not signed by an admin of this orderer's organization, or is stale.
    #[error("{0}")]
    PermissionDenied(String),
    /// JoinChannel for a channel this orderer already serves.
    #[error("channel {0} is already joined")]
    AlreadyJoined(String),
    /// A valid request this orderer refuses in its current state (e.g. it is not a consenter).
    #[error("{0}")]
    Refused(String),
    /// A request the node has no implementation for in this process.
    #[error("{0}")]
    Unimplemented(String),
    /// A broken invariant (a bug, or a task that died).
    #[error("internal error: {0}")]
    Internal(String),
}

impl OrdererError {
    /// The Fabric status Broadcast and Deliver answer with.
    pub fn fabric_status(&self) -> Status {
        match self {
            OrdererError::BadRequest(_) => Status::BadRequest,
            OrdererError::Forbidden(_) | OrdererError::PermissionDenied(_) => Status::Forbidden,
            OrdererError::ChannelNotFound(_) | OrdererError::NotReady(_) => Status::NotFound,
            OrdererError::TooLarge { .. } => Status::RequestEntityTooLarge,
            OrdererError::Unavailable(_) => Status::ServiceUnavailable,
            OrdererError::Unimplemented(_) => Status::NotImplemented,
            OrdererError::Config(_)
            | OrdererError::Load { .. }
            | OrdererError::Network(_)
            | OrdererError::Store { .. }
            | OrdererError::AlreadyJoined(_)
            | OrdererError::Refused(_)
            | OrdererError::Internal(_) => Status::InternalServerError,
        }
    }

    pub(crate) fn store(channel: &str, detail: impl std::fmt::Display) -> OrdererError {
        OrdererError::Store {
            channel: channel.to_string(),
            detail: detail.to_string(),
        }
    }
}

impl From<OrdererError> for tonic::Status {
    fn from(e: OrdererError) -> tonic::Status {
        let msg = e.to_string();
        match e {
            OrdererError::BadRequest(_) => tonic::Status::invalid_argument(msg),
            OrdererError::Forbidden(_) | OrdererError::PermissionDenied(_) => {
                tonic::Status::permission_denied(msg)
            }
            OrdererError::ChannelNotFound(_) | OrdererError::NotReady(_) => tonic::Status::not_found(msg),
            OrdererError::TooLarge { .. } => tonic::Status::resource_exhausted(msg),
            OrdererError::Unavailable(_) => tonic::Status::unavailable(msg),
            OrdererError::AlreadyJoined(_) => tonic::Status::already_exists(msg),
            OrdererError::Refused(_) => tonic::Status::failed_precondition(msg),
            OrdererError::Unimplemented(_) => tonic::Status::unimplemented(msg),
            OrdererError::Config(_)
            | OrdererError::Load { .. }
            | OrdererError::Network(_)
            | OrdererError::Store { .. }
            | OrdererError::Internal(_) => tonic::Status::internal(msg),
        }
    }
}

impl From<carechain_transport::TransportError> for OrdererError {
    fn from(e: carechain_transport::TransportError) -> OrdererError {
        OrdererError::Network(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_fabric_and_grpc_conventions() {
        let too_large = OrdererError::TooLarge {
            channel: "care".into(),
            size: 20,
            max: 10,
        };
        assert_eq!(too_large.fabric_status(), Status::RequestEntityTooLarge);
        assert!(too_large.to_string().contains("channel care"));
        assert_eq!(
            OrdererError::ChannelNotFound("x".into()).fabric_status(),
            Status::NotFound
        );
        let s: tonic::Status = OrdererError::PermissionDenied("no".into()).into();
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        let s: tonic::Status = OrdererError::AlreadyJoined("care".into()).into();
        assert_eq!(s.code(), tonic::Code::AlreadyExists);
        let s: tonic::Status = OrdererError::Refused("not a consenter".into()).into();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
    }
}
