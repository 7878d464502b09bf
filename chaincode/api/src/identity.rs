//! Who submitted the proposal, as a contract sees it.
//!
//! The endorser has already verified the creator's certificate against the channel's MSPs before the contract
//! runs (endorse step). What reaches the contract is the result: the org (MSP id), the NodeOU role, a stable id
//! and the certificate's subject CN, plus the fabric-ca attributes embedded in the certificate. Contracts use it
//! for attribute-based access control (e.g. only a `role=physician` may read a consent), and errors name the
//! caller and what was missing so the client knows why it was refused.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ContractError;

/// An identity's role, from its certificate's NodeOU (Fabric's `MSPRole` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An application user (`OU=client`).
    Client,
    /// A peer node (`OU=peer`).
    Peer,
    /// An org administrator (`OU=admin`).
    Admin,
    /// An ordering node (`OU=orderer`).
    Orderer,
    /// Any valid identity of the org; as a caller's role it means no NodeOU matched.
    Member,
}

impl Role {
    /// The lowercase name Fabric uses in policies (`Org1MSP.peer`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Peer => "peer",
            Role::Admin => "admin",
            Role::Orderer => "orderer",
            Role::Member => "member",
        }
    }

    /// Whether an identity with this role meets a requirement for `required` (every role is a member).
    pub fn satisfies(&self, required: Role) -> bool {
        required == Role::Member || *self == required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified creator of the transaction proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The MSP (org) that issued the identity, e.g. "Org1MSP".
    pub msp_id: String,
    /// The NodeOU role of the identity.
    pub role: Role,
    /// A stable id for the identity, unique across the channel (same certificate subject and issuer → same
    /// id); use it as an owner key rather than the subject, which two CAs could both issue.
    pub id: String,
    /// The certificate subject's common name (CN), for messages and display.
    pub subject: String,
    /// fabric-ca attributes from the certificate (e.g. "role" → "physician"), by name.
    pub attrs: BTreeMap<String, String>,
}

impl Caller {
    /// A caller without attributes.
    pub fn new(
        msp_id: impl Into<String>,
        role: Role,
        id: impl Into<String>,
        subject: impl Into<String>,
    ) -> Caller {
        Caller {
            msp_id: msp_id.into(),
            role,
            id: id.into(),
            subject: subject.into(),
            attrs: BTreeMap::new(),
        }
    }

    /// This caller with one more attribute (builder style, for tests and the simulator).
    pub fn with_attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Caller {
        self.attrs.insert(name.into(), value.into());
        self
    }

    /// The value of attribute `name`, if the certificate carries it.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// Whether attribute `name` is present with exactly `value`.
    pub fn has_attr(&self, name: &str, value: &str) -> bool {
        self.attr(name) == Some(value)
    }

    /// `Forbidden` unless attribute `name` equals `value`; the message names the caller, the requirement and
    /// what the caller has instead.
    pub fn require_attr(&self, name: &str, value: &str) -> Result<(), ContractError> {
        match self.attr(name) {
            Some(actual) if actual == value => Ok(()),
            Some(actual) => {
                Err(self.forbidden(format!("needs attribute {name}={value}, has {name}={actual}")))
            }
            None => Err(self.forbidden(format!("needs attribute {name}={value}, has no {name} attribute"))),
        }
    }

    /// `Forbidden` unless the caller belongs to org `msp_id`.
    pub fn require_msp(&self, msp_id: &str) -> Result<(), ContractError> {
        if self.msp_id == msp_id {
            return Ok(());
        }
        Err(self.forbidden(format!("must belong to {msp_id}")))
    }

    /// `Forbidden` unless the caller's role satisfies `role` (see [`Role::satisfies`]).
    pub fn require_role(&self, role: Role) -> Result<(), ContractError> {
        if self.role.satisfies(role) {
            return Ok(());
        }
        Err(self.forbidden(format!("must have role {role}")))
    }

    fn forbidden(&self, why: String) -> ContractError {
        ContractError::Forbidden(format!("access denied: caller {self} {why}"))
    }
}

impl fmt::Display for Caller {
    /// `"Synthetic User 1" (Org1MSP client)`: enough to find the certificate without printing all of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({} {})", self.subject, self.msp_id, self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physician() -> Caller {
        Caller::new(
            "HospitalAMSP",
            Role::Client,
            "x509::CN=Synthetic Physician 0001::CN=ca.hospitala",
            "Synthetic Physician 0001",
        )
        .with_attr("role", "physician")
    }

    #[test]
    fn attributes_are_looked_up_by_name() {
        let caller = physician();
        assert_eq!(caller.attr("role"), Some("physician"));
        assert_eq!(caller.attr("dept"), None);
        assert!(caller.has_attr("role", "physician"));
        assert!(!caller.has_attr("role", "nurse"));
        assert!(caller.require_attr("role", "physician").is_ok());
    }

    #[test]
    fn require_attr_names_caller_requirement_and_actual_value() {
        let caller = physician();
        let err = caller.require_attr("role", "auditor").expect_err("wrong value");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.message(),
            "access denied: caller \"Synthetic Physician 0001\" (HospitalAMSP client) needs attribute \
             role=auditor, has role=physician"
        );
        let err = caller.require_attr("dept", "icu").expect_err("absent");
        assert!(
            err.message()
                .ends_with("needs attribute dept=icu, has no dept attribute"),
            "{err}"
        );
    }

    #[test]
    fn msp_and_role_requirements() {
        let caller = physician();
        assert!(caller.require_msp("HospitalAMSP").is_ok());
        let err = caller.require_msp("InsurerMSP").expect_err("other org");
        assert!(err.message().ends_with("must belong to InsurerMSP"), "{err}");
        assert!(caller.require_role(Role::Member).is_ok());
        assert!(caller.require_role(Role::Client).is_ok());
        assert!(matches!(
            caller.require_role(Role::Admin),
            Err(ContractError::Forbidden(_))
        ));
    }

    #[test]
    fn roles_serialize_in_lowercase() {
        assert_eq!(serde_json::to_string(&Role::Peer).expect("serialize"), "\"peer\"");
        let role: Role = serde_json::from_str("\"member\"").expect("deserialize");
        assert_eq!(role, Role::Member);
    }
}
