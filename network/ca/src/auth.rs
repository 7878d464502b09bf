//! Signed CA requests: building them (client) and authenticating them (server).
//!
//! Register, re-enroll, revoke, gencrl and list are signed like carechain's admin requests: a
//! `CaRequest` carrying the caller's serialized identity and a timestamp, signed over its exact bytes.
//! The CA accepts the signer only if the certificate validates against the CA's own MSP (chain to this
//! CA, not expired, NodeOU), the signature verifies over the bytes received, the timestamp is within 15
//! minutes, and the same signed request was not seen before. Whether the certificate is one the CA
//! issued to a still-active identity is then checked against the registry (see `authority`).

use std::collections::HashMap;
use std::time::Duration;

use carechain_crypto::Msp;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::carechain::ca::{CaRequest, SignedCaRequest, ca_request::Body};
use carechain_proto::msp::SerializedIdentity;
use parking_lot::Mutex;
use prost::Message;
use time::OffsetDateTime;

/// How far a request's timestamp may be from the CA's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a signed request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request bytes do not decode, or carry no body.
    #[error("malformed CA request: {0}")]
    Malformed(String),
    /// The timestamp is missing or too far from the CA's clock.
    #[error("CA request timestamp is missing or more than 15 minutes from the CA's clock")]
    Stale,
    /// The signer claims another organization's MSP.
    #[error("CA request signed by an identity of MSP {claimed}; this CA serves {expected}")]
    WrongMsp {
        /// The MSP id claimed.
        claimed: String,
        /// The CA's MSP id.
        expected: String,
    },
    /// The certificate does not validate against the CA's MSP.
    #[error("CA request signer rejected: {0}")]
    Certificate(String),
    /// The signature does not verify.
    #[error("CA request signature does not verify for {0}")]
    Signature(String),
    /// The same signed request was already processed.
    #[error("CA request replayed: this exact signed request was already processed")]
    Replayed,
    /// The certificate is valid but the registry does not know it (or it is revoked).
    #[error("CA request signer {id} (certificate serial {serial}): {reason}")]
    NotIssued {
        /// The CN.
        id: String,
        /// The serial, hex.
        serial: String,
        /// Why.
        reason: String,
    },
}

/// A request whose signature and certificate were verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The decoded request.
    pub request: CaRequest,
    /// Its body.
    pub body: Body,
    /// The signer's enrollment id (certificate CN).
    pub enrollment_id: String,
    /// The signer's certificate serial (lowercase hex).
    pub serial: String,
}

/// Signs `body` as `signer`, timestamped now.
pub fn sign_request(signer: &SigningIdentity, body: Body) -> SignedCaRequest {
    let now = OffsetDateTime::now_utc();
    let request = CaRequest {
        identity: signer.serialize().to_vec().into(),
        timestamp: Some(prost_types::Timestamp {
            seconds: now.unix_timestamp(),
            nanos: i32::try_from(now.nanosecond()).unwrap_or(0),
        }),
        body: Some(body),
    }
    .encode_to_vec();
    SignedCaRequest {
        signature: signer.sign(&request).into(),
        request: request.into(),
    }
}

/// Verifies signatures of requests to one CA and remembers recent ones to refuse replays.
#[derive(Debug)]
pub struct Verifier {
    msp: Msp,
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

impl Verifier {
    /// A verifier for identities of `msp` (the CA's own MSP).
    pub fn new(msp: Msp) -> Self {
        Self {
            msp,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticates `signed` at `now`.
    pub fn verify(&self, signed: &SignedCaRequest, now: OffsetDateTime) -> Result<Verified, AuthError> {
        let request =
            CaRequest::decode(signed.request.as_ref()).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let ts = request.timestamp.as_ref().ok_or(AuthError::Stale)?;
        let skew = now.unix_timestamp().abs_diff(ts.seconds);
        if skew > MAX_SKEW.as_secs() {
            return Err(AuthError::Stale);
        }
        let sid = SerializedIdentity::decode(request.identity.as_ref())
            .map_err(|e| AuthError::Malformed(format!("identity: {e}")))?;
        if sid.mspid != self.msp.id() {
            return Err(AuthError::WrongMsp {
                claimed: sid.mspid,
                expected: self.msp.id().into(),
            });
        }
        let identity = self
            .msp
            .validate_identity(&sid.id_bytes, now)
            .map_err(|e| AuthError::Certificate(e.to_string()))?;
        identity
            .verify(&signed.request, &signed.signature)
            .map_err(|_| AuthError::Signature(identity.describe()))?;
        let body = request
            .body
            .clone()
            .ok_or_else(|| AuthError::Malformed("the request has no body".into()))?;
        self.remember(&signed.request, now)?;
        Ok(Verified {
            request,
            body,
            enrollment_id: identity.common_name().to_string(),
            serial: identity.serial_hex(),
        })
    }

    /// Records the request's hash until it could no longer pass the timestamp check.
    fn remember(&self, request: &[u8], now: OffsetDateTime) -> Result<(), AuthError> {
        let key = carechain_crypto::sha256(request);
        let now = now.unix_timestamp();
        let horizon = i64::try_from(2 * MAX_SKEW.as_secs()).unwrap_or(i64::MAX);
        let mut seen = self.seen.lock();
        seen.retain(|_, at| now - *at <= horizon);
        if seen.insert(key, now).is_some() {
            return Err(AuthError::Replayed);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use carechain_crypto::{CertificateAuthority, LeafRequest, NodeOu, Subject, Validity};
    use carechain_proto::carechain::ca::{GenCrlRequest, ListIdentitiesRequest};

    use super::*;
    use crate::material::{CaMaterial, msp_config};

    fn setup() -> (Verifier, SigningIdentity, CertificateAuthority) {
        let ca = CertificateAuthority::new_root(&Subject::new("ca.a.test", "a.test"), Validity::default())
            .unwrap();
        let pem = ca.cert_pem().to_string();
        let key = carechain_crypto::SigningKey::from_pem(&ca.key().to_pkcs8_pem()).unwrap();
        let m = CaMaterial::new(CertificateAuthority::from_pem(&pem, key).unwrap(), &[]).unwrap();
        let msp = Msp::from_config(&msp_config(None, "AMSP", &m)).unwrap();
        let (cert, key) = ca
            .issue_leaf(&LeafRequest::signing(m.subject.leaf("admin", NodeOu::Admin)))
            .unwrap();
        let signer = SigningIdentity::new("AMSP", cert.pem.as_bytes(), key).unwrap();
        (Verifier::new(msp), signer, ca)
    }

    fn list() -> Body {
        Body::ListIdentities(ListIdentitiesRequest::default())
    }

    #[test]
    fn a_signed_request_verifies_once() {
        let (v, signer, _) = setup();
        let req = sign_request(&signer, list());
        let ok = v.verify(&req, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(ok.enrollment_id, "admin");
        assert_eq!(
            v.verify(&req, OffsetDateTime::now_utc()).unwrap_err(),
            AuthError::Replayed
        );
        v.verify(&sign_request(&signer, list()), OffsetDateTime::now_utc())
            .unwrap();
    }

    #[test]
    fn stale_tampered_and_foreign_requests_are_refused() {
        let (v, signer, _) = setup();
        let req = sign_request(&signer, Body::GenCrl(GenCrlRequest {}));
        let later = OffsetDateTime::now_utc() + time::Duration::minutes(16);
        assert_eq!(v.verify(&req, later).unwrap_err(), AuthError::Stale);
        let mut bad = req.clone();
        let mut sig = bad.signature.to_vec();
        let last = sig.len() - 1;
        sig[last] ^= 1;
        bad.signature = sig.into();
        assert!(matches!(
            v.verify(&bad, OffsetDateTime::now_utc()),
            Err(AuthError::Signature(_))
        ));
        let (_, stranger, _) = setup();
        let e = v
            .verify(&sign_request(&stranger, list()), OffsetDateTime::now_utc())
            .unwrap_err();
        assert!(matches!(e, AuthError::Certificate(_)), "{e}");
        let garbage = SignedCaRequest {
            request: bytes::Bytes::from_static(b"\x0f\xde\xad"),
            signature: Default::default(),
        };
        assert!(matches!(
            v.verify(&garbage, OffsetDateTime::now_utc()),
            Err(AuthError::Malformed(_))
        ));
    }
}
