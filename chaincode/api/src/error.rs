//! The one error type a contract returns, and how it becomes a chaincode response status.
//!
//! A contract runs inside the endorser's simulation (endorse → order → validate). Fabric's endorser only signs
//! responses with 200 ≤ status < 400, so every `ContractError` (status ≥ 400) means "not endorsed": nothing
//! the transaction wrote reaches the orderer. The variants exist so the gateway and clients can tell a bad
//! argument (400) from a missing record (404) or a ledger failure (500) without parsing messages; the message
//! itself is what the client sees, so it names the key, identity or argument at fault.

use thiserror::Error;

/// Status of a successful chaincode response (Fabric's `shim.OK`).
pub const STATUS_OK: i32 = 200;

/// Lowest status Fabric treats as an error (`shim.ERRORTHRESHOLD`); the endorser refuses to sign responses at
/// or above it.
pub const STATUS_ERROR_THRESHOLD: i32 = 400;

/// Why an invocation failed. The payload is the human-readable message returned to the client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContractError {
    /// The caller's input is wrong: unknown function, missing or malformed argument, empty key. Status 400.
    #[error("{0}")]
    BadRequest(String),
    /// The caller is not allowed to do this (wrong org, role or attribute). Status 403.
    #[error("{0}")]
    Forbidden(String),
    /// The record the caller named does not exist. Status 404.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts current state, e.g. creating a record that already exists. Status 409.
    #[error("{0}")]
    Conflict(String),
    /// A bug or an unexpected condition inside the contract (e.g. stored data that no longer parses). Status 500.
    #[error("{0}")]
    Internal(String),
    /// The simulator could not read the ledger (snapshot gone, storage error). Raised by `Context`
    /// implementations, never by contract logic. Status 500.
    #[error("{0}")]
    State(String),
}

impl ContractError {
    /// The chaincode response status for this error: 400, 403, 404, 409 or 500.
    pub fn status(&self) -> i32 {
        match self {
            ContractError::BadRequest(_) => 400,
            ContractError::Forbidden(_) => 403,
            ContractError::NotFound(_) => 404,
            ContractError::Conflict(_) => 409,
            ContractError::Internal(_) | ContractError::State(_) => 500,
        }
    }

    /// The message carried in the chaincode response (`Response.message`).
    pub fn message(&self) -> &str {
        match self {
            ContractError::BadRequest(m)
            | ContractError::Forbidden(m)
            | ContractError::NotFound(m)
            | ContractError::Conflict(m)
            | ContractError::Internal(m)
            | ContractError::State(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_at_or_above_the_endorsement_threshold() {
        let all = [
            (ContractError::BadRequest("b".into()), 400),
            (ContractError::Forbidden("f".into()), 403),
            (ContractError::NotFound("n".into()), 404),
            (ContractError::Conflict("c".into()), 409),
            (ContractError::Internal("i".into()), 500),
            (ContractError::State("s".into()), 500),
        ];
        for (err, status) in all {
            assert_eq!(err.status(), status, "{err:?}");
            assert!(err.status() >= STATUS_ERROR_THRESHOLD);
        }
    }

    #[test]
    fn message_and_display_are_the_bare_text() {
        let err = ContractError::NotFound("the asset asset9 does not exist".into());
        assert_eq!(err.message(), "the asset asset9 does not exist");
        assert_eq!(err.to_string(), "the asset asset9 does not exist");
    }
}
