//! Authenticating node administration requests (`carechain.admin.Admin`): the request is signed by an
//! admin of the node's own organization, validated against the node's local MSP, and fresh (its
//! timestamp within [`MAX_SKEW`] of the node's clock), so a captured request cannot be replayed later.

use std::sync::Arc;
use std::time::Duration;

use carechain_crypto::msp::{Identity, MspManager, Role};
use carechain_proto::carechain::admin::{AdminRequest, SignedAdminRequest};
use prost::Message;
use time::OffsetDateTime;

/// How far a request's timestamp may be from the node's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Why an admin request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdminAuthError {
    /// The request bytes do not decode.
    #[error("malformed admin request: {0}")]
    Malformed(String),
    /// The signer is not a valid identity of the node's organization, or the signature is bad.
    #[error("admin request signer rejected: {0}")]
    Signer(String),
    /// The signer is valid but not an admin.
    #[error("{0} is not an admin of {1}: node administration needs an admin identity (NodeOU admin)")]
    NotAdmin(String, String),
    /// The timestamp is missing or too far from now.
    #[error("admin request timestamp is missing or more than 15 minutes from this node's clock")]
    Stale,
}

/// Verifies a signed admin request for a node of `local_msp_id`, returning the request and its signer.
pub fn verify_admin_request(
    signed: &SignedAdminRequest,
    local: &MspManager,
    local_msp_id: &str,
    now: OffsetDateTime,
) -> Result<(AdminRequest, Arc<Identity>), AdminAuthError> {
    let req = AdminRequest::decode(signed.request.as_ref())
        .map_err(|e| AdminAuthError::Malformed(e.to_string()))?;
    let id = local
        .verify_signature_at(&req.identity, &signed.request, &signed.signature, now)
        .map_err(|e| AdminAuthError::Signer(e.to_string()))?;
    if id.msp_id() != local_msp_id || !id.has_role(Role::Admin) {
        return Err(AdminAuthError::NotAdmin(id.describe(), local_msp_id.to_string()));
    }
    let ts = req.timestamp.as_ref().ok_or(AdminAuthError::Stale)?;
    let skew = (now.unix_timestamp() - ts.seconds).unsigned_abs();
    if skew > MAX_SKEW.as_secs() {
        return Err(AdminAuthError::Stale);
    }
    Ok((req, id))
}
