//! A validated identity: the certificate of a proposal creator, endorser, orderer or client,
//! already checked against its MSP, with the facts policies and contracts ask about.
//!
//! Identities are produced by [`super::MspManager`] (cached) or [`super::Msp::validate_identity`]
//! and then used for the signature check itself ([`Identity::verify`]), for endorsement and
//! channel policies ([`Identity::satisfies`]), and by chaincode for ABAC (`role=doctor`).

use std::collections::BTreeMap;
use std::fmt;

use carechain_proto::msp::SerializedIdentity;
use time::OffsetDateTime;

use super::cert::CertInfo;
use super::error::MspError;
use super::principal::Principal;
use super::role::{NodeOu, Role};
use super::verifier::Validated;
use crate::sign::{self, SignatureError};

/// A certificate that passed MSP validation.
#[derive(Debug, Clone)]
pub struct Identity {
    msp_id: String,
    id_bytes: Vec<u8>,
    cert: CertInfo,
    key: Vec<u8>,
    id: String,
    attributes: BTreeMap<String, String>,
    validated: Validated,
}

impl Identity {
    pub(crate) fn new(
        msp_id: String,
        id_bytes: &[u8],
        cert: CertInfo,
        validated: Validated,
    ) -> Result<Self, MspError> {
        let key = cert.p256_key.clone().ok_or_else(|| MspError::UnsupportedKey {
            cert: cert.name.clone(),
            msp: msp_id.clone(),
        })?;
        let attributes = cert.attributes.clone().unwrap_or_default();
        Ok(Self {
            id: hex::encode(sign::sha256(&cert.der)),
            msp_id,
            id_bytes: id_bytes.to_vec(),
            cert,
            key,
            attributes,
            validated,
        })
    }

    /// The MSP the identity belongs to.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// Stable identifier: lowercase hex SHA-256 of the certificate DER.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Subject common name, e.g. `drsmith@hospitala.carechain.local`.
    pub fn common_name(&self) -> &str {
        &self.cert.common_name
    }

    /// The full subject DN (`C=US, ST=California, L=San Francisco, O=..., OU=client, CN=...`).
    pub fn subject(&self) -> &str {
        &self.cert.subject
    }

    /// Subject OUs, in certificate order.
    pub fn organizational_units(&self) -> &[String] {
        &self.cert.ous
    }

    /// Serial number as lowercase hex (no leading zeros).
    pub fn serial_hex(&self) -> String {
        self.cert.serial_hex()
    }

    /// Start of the certificate's own validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.cert.not_before
    }

    /// End of the certificate's own validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.cert.not_after
    }

    /// ABAC attributes from the `1.2.3.4.5.6.7.8.1` extension (empty when absent).
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// One attribute, e.g. `attribute("role") == Some("doctor")`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// The NodeOU, when the MSP classifies by NodeOU.
    pub fn node_ou(&self) -> Option<NodeOu> {
        self.validated.node_ou
    }

    /// The most specific role: the NodeOU; without NodeOUs, admin if listed in admincerts,
    /// otherwise member.
    pub fn role(&self) -> Role {
        match self.validated.node_ou {
            Some(ou) => ou.into(),
            None if self.validated.is_admin_cert => Role::Admin,
            None => Role::Member,
        }
    }

    /// Whether the identity holds `role` in its MSP (Fabric `MSPRole` semantics).
    pub fn has_role(&self, role: Role) -> bool {
        self.role_mismatch(role).is_none()
    }

    /// Admin NodeOU or listed in the MSP's admincerts.
    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// The certificate DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert.der
    }

    /// The certificate bytes exactly as serialized by the identity (PEM).
    pub fn certificate_pem(&self) -> &[u8] {
        &self.id_bytes
    }

    /// The uncompressed SEC1 P-256 public key.
    pub fn public_key(&self) -> &[u8] {
        &self.key
    }

    /// Fabric's certifiers identifier: SHA-256 over the chain from issuing CA to root.
    pub fn certifiers_id(&self) -> &[u8; 32] {
        &self.validated.certifiers_id
    }

    /// The `SerializedIdentity` naming this identity (`id_bytes` as received).
    pub fn to_serialized(&self) -> SerializedIdentity {
        SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.id_bytes.clone().into(),
        }
    }

    /// `CN=... of MSP ...`, for messages.
    pub fn describe(&self) -> String {
        format!("{} of MSP {}", self.cert.name, self.msp_id)
    }

    /// Checks that the certificate and its chain are valid at `now` (cached identities must pass
    /// this on every use: validity is the one check that changes with time).
    pub fn check_valid_at(&self, now: OffsetDateTime) -> Result<(), MspError> {
        self.validated.window.check(&self.msp_id, now)
    }

    /// Verifies a DER ECDSA signature by this identity over `msg` (low-S required).
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> Result<(), MspError> {
        sign::verify(&self.key, msg, signature).map_err(|e| self.signature_error(e))
    }

    /// [`Identity::verify`], remembering a good signature for this process's next check of the same
    /// bytes (see `carechain_crypto::sign::verify_and_remember`).
    pub fn verify_and_remember(&self, msg: &[u8], signature: &[u8]) -> Result<(), MspError> {
        sign::verify_and_remember(&self.key, msg, signature).map_err(|e| self.signature_error(e))
    }

    fn signature_error(&self, e: SignatureError) -> MspError {
        let cert = || self.cert.name.clone();
        let msp = || self.msp_id.clone();
        match e {
            SignatureError::HighS => MspError::HighS {
                cert: cert(),
                msp: msp(),
            },
            SignatureError::MalformedDer(reason) => MspError::MalformedSignature {
                cert: cert(),
                msp: msp(),
                reason,
            },
            SignatureError::Mismatch | SignatureError::InvalidPublicKey { .. } => {
                MspError::SignatureMismatch {
                    cert: cert(),
                    msp: msp(),
                }
            }
        }
    }

    /// Whether the identity satisfies `principal`.
    pub fn satisfies(&self, principal: &Principal) -> bool {
        self.check_principal(principal).is_ok()
    }

    /// Like [`Identity::satisfies`], explaining a refusal.
    pub fn check_principal(&self, principal: &Principal) -> Result<(), MspError> {
        let refuse = |reason: String| MspError::PrincipalNotSatisfied {
            identity: self.describe(),
            principal: principal.to_string(),
            reason,
        };
        if principal.msp_id() != self.msp_id {
            return Err(refuse(format!(
                "the identity belongs to MSP {}, the principal requires MSP {}",
                self.msp_id,
                principal.msp_id()
            )));
        }
        match principal {
            Principal::Role { role, .. } => match self.role_mismatch(*role) {
                None => Ok(()),
                Some(reason) => Err(refuse(reason)),
            },
            Principal::Identity { certificate_der, .. } => {
                if *certificate_der == self.cert.der {
                    Ok(())
                } else {
                    Err(refuse("it is a different certificate".into()))
                }
            }
            Principal::OrganizationUnit {
                ou, certifiers_id, ..
            } => {
                if !self.cert.ous.contains(ou) {
                    return Err(refuse(format!("its OUs are [{}]", self.cert.ous.join(", "))));
                }
                if !certifiers_id.is_empty() && certifiers_id[..] != self.certifiers_id()[..] {
                    return Err(refuse("it was issued under a different CA chain".into()));
                }
                Ok(())
            }
        }
    }

    /// `None` when the identity has `role`, otherwise why not.
    fn role_mismatch(&self, role: Role) -> Option<String> {
        let node_ou = self.validated.node_ou;
        match role {
            Role::Member => None,
            Role::Admin if self.validated.is_admin_cert || node_ou == Some(NodeOu::Admin) => None,
            Role::Admin => Some(match node_ou {
                Some(ou) => format!("its NodeOU is {ou} and it is not listed in admincerts"),
                None => "it is not listed in the MSP's admincerts".into(),
            }),
            Role::Client | Role::Peer | Role::Orderer => match node_ou {
                None => Some(format!(
                    "NodeOUs are not enabled in MSP {}, so role {role} cannot be established",
                    self.msp_id
                )),
                Some(ou) if Role::from(ou) == role => None,
                Some(ou) => Some(format!("its NodeOU is {ou}")),
            },
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
