//! The one place gateway failures become gRPC statuses. Codes follow Fabric's gateway (InvalidArgument,
//! PermissionDenied, NotFound, FailedPrecondition, Aborted for endorsement collection, Unknown for a
//! chaincode error, Unavailable when no orderer accepts, DeadlineExceeded) and every status carries
//! `gateway.ErrorDetail` entries in `grpc-status-details-bin`, which the Fabric SDKs decode.

use bytes::Bytes;
use carechain_proto::gateway::ErrorDetail;
use carechain_proto::google::rpc::Status as RpcStatus;
use prost::Message;
use tonic::{Code, Status};

/// A gateway failure.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum GatewayError {
    /// The request is malformed or inconsistent.
    #[error("{0}")]
    InvalidArgument(String),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The channel (or transaction) does not exist here.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served in the current state (no endorsement plan, channel not joined).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Endorsement could not be completed; details name each endpoint's failure.
    #[error("{message}")]
    Aborted {
        /// Summary.
        message: String,
        /// Per-endpoint failures.
        details: Vec<ErrorDetail>,
    },
    /// The chaincode returned an error status.
    #[error("{message}")]
    Chaincode {
        /// Summary, e.g. `chaincode response 404, the asset x does not exist`.
        message: String,
        /// Where it happened.
        details: Vec<ErrorDetail>,
    },
    /// No orderer (or endorser) could be reached.
    #[error("{message}")]
    Unavailable {
        /// Summary.
        message: String,
        /// Per-endpoint failures.
        details: Vec<ErrorDetail>,
    },
    /// A deadline passed.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// A local failure (storage).
    #[error("{0}")]
    Internal(String),
}

impl GatewayError {
    fn parts(&self) -> (Code, &[ErrorDetail]) {
        match self {
            GatewayError::InvalidArgument(_) => (Code::InvalidArgument, &[]),
            GatewayError::PermissionDenied(_) => (Code::PermissionDenied, &[]),
            GatewayError::NotFound(_) => (Code::NotFound, &[]),
            GatewayError::FailedPrecondition(_) => (Code::FailedPrecondition, &[]),
            GatewayError::Aborted { details, .. } => (Code::Aborted, details),
            GatewayError::Chaincode { details, .. } => (Code::Unknown, details),
            GatewayError::Unavailable { details, .. } => (Code::Unavailable, details),
            GatewayError::DeadlineExceeded(_) => (Code::DeadlineExceeded, &[]),
            GatewayError::Internal(_) => (Code::Internal, &[]),
        }
    }
}

/// One `ErrorDetail`.
pub fn detail(
    address: impl Into<String>,
    msp_id: impl Into<String>,
    message: impl Into<String>,
) -> ErrorDetail {
    ErrorDetail {
        address: address.into(),
        msp_id: msp_id.into(),
        message: message.into(),
    }
}

impl From<GatewayError> for Status {
    fn from(e: GatewayError) -> Status {
        let (code, details) = e.parts();
        let message = e.to_string();
        let rich = RpcStatus {
            code: code as i32,
            message: message.clone(),
            details: details
                .iter()
                .map(|d| prost_types::Any {
                    type_url: carechain_proto::ERROR_DETAIL_TYPE_URL.to_string(),
                    value: d.encode_to_vec(),
                })
                .collect(),
        };
        Status::with_details(code, message, Bytes::from(rich.encode_to_vec()))
    }
}

/// The `ErrorDetail`s carried by a status received from a gateway (for clients and tests).
pub fn details_of(status: &Status) -> Vec<ErrorDetail> {
    RpcStatus::decode(status.details())
        .map(|s| {
            s.details
                .into_iter()
                .filter_map(|a| ErrorDetail::decode(a.value.as_slice()).ok())
                .collect()
        })
        .unwrap_or_default()
}
