//! Why a CA operation was refused or failed. Each refusal names the identity, certificate or
//! privilege at fault, and maps to one gRPC code, so the CLI can print it as is.

use carechain_crypto::issue::IssueError;

use crate::auth::AuthError;
use crate::delegation::Denied;
use crate::registry::StoreError;
use crate::secret::SecretError;

/// A refused or failed CA operation.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Malformed input: a bad enrollment id, type, attribute, affiliation, profile...
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The CSR is malformed, its signature fails, its key is not P-256, or it names someone else.
    #[error("certificate signing request rejected: {0}")]
    BadCsr(String),
    /// Unknown enrollment id or wrong secret (deliberately indistinguishable).
    #[error(
        "enrollment of {id:?} refused: the enrollment id is not registered with this CA or the secret is wrong"
    )]
    BadCredentials {
        /// The enrollment id given.
        id: String,
    },
    /// The identity used up its enrollments.
    #[error(
        "identity {id} has already enrolled {enrollments} time(s), its maximum of {max}; re-enroll with its current certificate, or ask a registrar for a new identity"
    )]
    MaxEnrollments {
        /// The identity.
        id: String,
        /// Enrollments so far.
        enrollments: u32,
        /// Its maximum.
        max: i32,
    },
    /// The CA's `max_enrollments` is 0.
    #[error("enrollment is disabled on this CA (its max_enrollments is 0)")]
    EnrollmentDisabled,
    /// The identity was revoked.
    #[error("identity {0} is revoked: it can no longer enroll, re-enroll or sign CA requests")]
    IdentityRevoked(String),
    /// Register of an id that exists.
    #[error("identity {0} is already registered with this CA")]
    AlreadyRegistered(String),
    /// An enrollment id the registry does not hold.
    #[error("identity {0} is not registered with this CA")]
    UnknownIdentity(String),
    /// A serial the registry does not hold.
    #[error("no certificate with serial {0} was issued by this CA")]
    UnknownSerial(String),
    /// Revoking what is already revoked.
    #[error("certificate {0} is already revoked")]
    AlreadyRevoked(String),
    /// An enrollment asked for an attribute the identity lacks.
    #[error(
        "identity {id} has no attribute {name}, which the enrollment requires (mark it optional to skip it)"
    )]
    MissingAttribute {
        /// The identity.
        id: String,
        /// The attribute asked for.
        name: String,
    },
    /// The registrar's delegation does not allow it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A signed request failed authentication.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Issuing a certificate or CRL failed.
    #[error("cannot issue: {0}")]
    Issue(#[from] IssueError),
    /// The registry could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Secret generation or hashing failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The CA cannot start with this configuration.
    #[error("CA set-up: {0}")]
    Setup(String),
}

impl CaError {
    /// The gRPC code a client sees.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::Invalid(_) | Self::BadCsr(_) | Self::MissingAttribute { .. } => Code::InvalidArgument,
            Self::BadCredentials { .. } | Self::Auth(_) => Code::Unauthenticated,
            Self::MaxEnrollments { .. }
            | Self::EnrollmentDisabled
            | Self::IdentityRevoked(_)
            | Self::Denied(_) => Code::PermissionDenied,
            Self::AlreadyRegistered(_) | Self::AlreadyRevoked(_) => Code::AlreadyExists,
            Self::UnknownIdentity(_) | Self::UnknownSerial(_) => Code::NotFound,
            Self::Issue(_) | Self::Store(_) | Self::Secret(_) | Self::Setup(_) => Code::Internal,
        }
    }

    /// As a gRPC status.
    pub fn to_status(&self) -> tonic::Status {
        tonic::Status::new(self.code(), self.to_string())
    }
}
