//! Principals: the "who" of endorsement and channel policies (`HospitalAMSP.peer`,
//! `InsurerMSP.member`, one exact certificate, or an OU), converted from Fabric's `MSPPrincipal`.
//!
//! Policy evaluation (in the peer's validation step and the orderer's config checks) asks
//! [`super::Identity::satisfies`] for each signer and principal; this module only gives the
//! question a typed form.

use std::fmt;

use carechain_proto::common::msp_principal::Classification;
use carechain_proto::common::{MspPrincipal, MspRole, OrganizationUnit};
use carechain_proto::msp::SerializedIdentity;
use prost::Message;

use super::error::MspError;
use super::role::Role;
use crate::pem;

/// Something an identity may or may not be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An `MSPRole`: member, admin, client, peer or orderer of an MSP.
    Role {
        /// The MSP id.
        msp_id: String,
        /// The role.
        role: Role,
    },
    /// Exactly one certificate of an MSP.
    Identity {
        /// The MSP id.
        msp_id: String,
        /// DER of the certificate.
        certificate_der: Vec<u8>,
    },
    /// Any identity of an MSP carrying an OU (optionally under one CA chain).
    OrganizationUnit {
        /// The MSP id.
        msp_id: String,
        /// The OU value.
        ou: String,
        /// Fabric certifiers identifier (SHA-256 of the issuing chain); empty matches any chain.
        certifiers_id: Vec<u8>,
    },
}

impl Principal {
    /// `msp_id.role`.
    pub fn role(msp_id: impl Into<String>, role: Role) -> Self {
        Principal::Role {
            msp_id: msp_id.into(),
            role,
        }
    }

    /// The MSP the principal refers to.
    pub fn msp_id(&self) -> &str {
        match self {
            Principal::Role { msp_id, .. }
            | Principal::Identity { msp_id, .. }
            | Principal::OrganizationUnit { msp_id, .. } => msp_id,
        }
    }

    /// Converts Fabric's `MSPPrincipal` (ROLE, IDENTITY or ORGANIZATION_UNIT).
    pub fn from_proto(principal: &MspPrincipal) -> Result<Self, MspError> {
        let bad = |what: &str, e: prost::DecodeError| {
            MspError::BadPrincipal(format!("{what} payload does not decode: {e}"))
        };
        match Classification::try_from(principal.principal_classification) {
            Ok(Classification::Role) => {
                let r = MspRole::decode(principal.principal.as_ref()).map_err(|e| bad("ROLE", e))?;
                let role = Role::from_proto(r.role)
                    .ok_or_else(|| MspError::BadPrincipal(format!("unknown MSPRole type {}", r.role)))?;
                Ok(Principal::Role {
                    msp_id: r.msp_identifier,
                    role,
                })
            }
            Ok(Classification::Identity) => {
                let id = SerializedIdentity::decode(principal.principal.as_ref())
                    .map_err(|e| bad("IDENTITY", e))?;
                let certificate_der = pem::first_certificate(&id.id_bytes).map_err(|e| {
                    MspError::BadPrincipal(format!("IDENTITY principal of MSP {}: {e}", id.mspid))
                })?;
                Ok(Principal::Identity {
                    msp_id: id.mspid,
                    certificate_der,
                })
            }
            Ok(Classification::OrganizationUnit) => {
                let ou = OrganizationUnit::decode(principal.principal.as_ref())
                    .map_err(|e| bad("ORGANIZATION_UNIT", e))?;
                Ok(Principal::OrganizationUnit {
                    msp_id: ou.msp_identifier,
                    ou: ou.organizational_unit_identifier,
                    certifiers_id: ou.certifiers_identifier.to_vec(),
                })
            }
            Ok(other) => Err(MspError::BadPrincipal(format!(
                "principal classification {} is not supported",
                other.as_str_name()
            ))),
            Err(_) => Err(MspError::BadPrincipal(format!(
                "unknown principal classification {}",
                principal.principal_classification
            ))),
        }
    }

    /// Converts back to Fabric's `MSPPrincipal`.
    pub fn to_proto(&self) -> MspPrincipal {
        let (classification, payload) = match self {
            Principal::Role { msp_id, role } => (
                Classification::Role,
                MspRole {
                    msp_identifier: msp_id.clone(),
                    role: role.to_proto() as i32,
                }
                .encode_to_vec(),
            ),
            Principal::Identity {
                msp_id,
                certificate_der,
            } => (
                Classification::Identity,
                SerializedIdentity {
                    mspid: msp_id.clone(),
                    id_bytes: pem::encode_certificate(certificate_der).into_bytes().into(),
                }
                .encode_to_vec(),
            ),
            Principal::OrganizationUnit {
                msp_id,
                ou,
                certifiers_id,
            } => (
                Classification::OrganizationUnit,
                OrganizationUnit {
                    msp_identifier: msp_id.clone(),
                    organizational_unit_identifier: ou.clone(),
                    certifiers_identifier: certifiers_id.clone().into(),
                }
                .encode_to_vec(),
            ),
        };
        MspPrincipal {
            principal_classification: classification as i32,
            principal: payload.into(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Role { msp_id, role } => write!(f, "{msp_id}.{role}"),
            Principal::Identity {
                msp_id,
                certificate_der,
            } => {
                let digest = hex::encode(crate::sign::sha256(certificate_der));
                write!(f, "{msp_id} identity {}", &digest[..16])
            }
            Principal::OrganizationUnit { msp_id, ou, .. } => write!(f, "{msp_id} OU={ou}"),
        }
    }
}
