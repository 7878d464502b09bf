//! Key-level endorsement policies (Fabric's state-based endorsement), as a contract writes them.
//!
//! Normally every write is validated against the chaincode's endorsement policy. A contract can attach a
//! stricter policy to one key, e.g. a patient's consent record that only the patient's hospital and insurer
//! may change. The contract sets it during simulation (endorse step); it travels as a metadata write in the
//! read/write set; at validation every later transaction that changes the key must carry endorsements from
//! all listed orgs. Like Fabric's `statebased` helper this is an AND of every listed org, all with one role.
//! The peer stores [`KeyEndorsement::to_bytes`] and converts it to a `SignaturePolicyEnvelope` itself.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ContractError, Role};

/// "Changes to this key need an endorsement from every org in `orgs`, signed by an identity with `role`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEndorsement {
    /// MSP ids whose endorsement is required, all of them; kept sorted and without duplicates by the helpers.
    pub orgs: Vec<String>,
    /// The role each endorser must have: [`Role::Peer`] or [`Role::Member`] (Fabric's `RoleTypePeer` /
    /// `RoleTypeMember`).
    pub role: Role,
}

impl KeyEndorsement {
    /// An empty policy for `role`; `BadRequest` unless `role` is `Peer` or `Member`. Add orgs before using it.
    pub fn new(role: Role) -> Result<KeyEndorsement, ContractError> {
        check_role(role)?;
        Ok(KeyEndorsement {
            orgs: Vec::new(),
            role,
        })
    }

    /// A policy requiring every org in `orgs` with `role`.
    pub fn of<I, S>(role: Role, orgs: I) -> Result<KeyEndorsement, ContractError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut policy = KeyEndorsement::new(role)?;
        policy.add_orgs(orgs);
        Ok(policy)
    }

    /// Adds orgs (Fabric's `AddOrgs`); orgs already listed are kept once.
    pub fn add_orgs<I, S>(&mut self, orgs: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.orgs.extend(orgs.into_iter().map(Into::into));
        self.normalise();
    }

    /// Removes orgs (Fabric's `DelOrgs`); orgs not listed are ignored.
    pub fn remove_orgs<I, S>(&mut self, orgs: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for org in orgs {
            self.orgs.retain(|listed| listed != org.as_ref());
        }
    }

    /// Whether `msp_id` is one of the required orgs.
    pub fn requires(&self, msp_id: &str) -> bool {
        self.orgs.iter().any(|org| org == msp_id)
    }

    /// Checks the policy can be enforced: role `Peer` or `Member`, at least one org, no empty MSP id. An empty
    /// policy is rejected rather than treated as "no endorsement needed"; remove a policy with `None` instead.
    pub fn validate(&self) -> Result<(), ContractError> {
        check_role(self.role)?;
        if self.orgs.is_empty() {
            return Err(ContractError::BadRequest(
                "key-level endorsement policy lists no orgs; pass None to remove a policy".into(),
            ));
        }
        if self.orgs.iter().any(String::is_empty) {
            return Err(ContractError::BadRequest(
                "key-level endorsement policy contains an empty MSP id".into(),
            ));
        }
        Ok(())
    }

    /// Canonical bytes for storage: JSON `{"orgs":[…sorted, unique…],"role":"peer"}`. Equal policies always
    /// give equal bytes, so every endorser writes the same metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let canonical = self.canonical();
        serde_json::json!({ "orgs": canonical.orgs, "role": canonical.role.as_str() })
            .to_string()
            .into_bytes()
    }

    /// Parses stored bytes written by [`KeyEndorsement::to_bytes`]; `Internal` if they are not a valid policy,
    /// since only the peer writes them.
    pub fn from_bytes(bytes: &[u8]) -> Result<KeyEndorsement, ContractError> {
        let mut policy: KeyEndorsement = serde_json::from_slice(bytes).map_err(|e| {
            ContractError::Internal(format!("stored key-level endorsement policy is not valid: {e}"))
        })?;
        policy.validate().map_err(|e| {
            ContractError::Internal(format!(
                "stored key-level endorsement policy is not valid: {}",
                e.message()
            ))
        })?;
        policy.normalise();
        Ok(policy)
    }

    /// This policy with orgs sorted and unique, as it is stored.
    pub(crate) fn canonical(&self) -> KeyEndorsement {
        let mut copy = self.clone();
        copy.normalise();
        copy
    }

    fn normalise(&mut self) {
        self.orgs.sort();
        self.orgs.dedup();
    }
}

impl fmt::Display for KeyEndorsement {
    /// Fabric's policy syntax, e.g. `AND('HospitalAMSP.peer', 'InsurerMSP.peer')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AND(")?;
        for (i, org) in self.orgs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "'{org}.{}'", self.role)?;
        }
        f.write_str(")")
    }
}

fn check_role(role: Role) -> Result<(), ContractError> {
    match role {
        Role::Peer | Role::Member => Ok(()),
        other => Err(ContractError::BadRequest(format!(
            "key-level endorsement role must be peer or member, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_keep_orgs_sorted_and_unique() {
        let mut policy =
            KeyEndorsement::of(Role::Peer, ["InsurerMSP", "HospitalAMSP", "InsurerMSP"]).expect("peer");
        assert_eq!(policy.orgs, ["HospitalAMSP", "InsurerMSP"]);
        policy.add_orgs(["HospitalBMSP"]);
        assert_eq!(policy.orgs, ["HospitalAMSP", "HospitalBMSP", "InsurerMSP"]);
        policy.remove_orgs(["HospitalAMSP", "UnknownMSP"]);
        assert_eq!(policy.orgs, ["HospitalBMSP", "InsurerMSP"]);
        assert!(policy.requires("InsurerMSP"));
        assert!(!policy.requires("HospitalAMSP"));
        assert_eq!(policy.to_string(), "AND('HospitalBMSP.peer', 'InsurerMSP.peer')");
    }

    #[test]
    fn only_peer_and_member_roles_are_accepted() {
        assert!(KeyEndorsement::new(Role::Member).is_ok());
        for role in [Role::Client, Role::Admin, Role::Orderer] {
            let err = KeyEndorsement::new(role).expect_err("unsupported role");
            assert!(err.message().contains("must be peer or member"), "{err}");
        }
    }

    #[test]
    fn empty_policies_do_not_validate() {
        let empty = KeyEndorsement::new(Role::Peer).expect("peer");
        assert!(matches!(empty.validate(), Err(ContractError::BadRequest(_))));
        let blank = KeyEndorsement::of(Role::Peer, [""]).expect("peer");
        assert!(blank.validate().is_err());
    }

    #[test]
    fn serialization_is_canonical_and_round_trips() {
        let a = KeyEndorsement {
            orgs: vec!["Org2MSP".into(), "Org1MSP".into(), "Org2MSP".into()],
            role: Role::Member,
        };
        let b = KeyEndorsement::of(Role::Member, ["Org1MSP", "Org2MSP"]).expect("member");
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(
            String::from_utf8(b.to_bytes()).expect("utf8"),
            r#"{"orgs":["Org1MSP","Org2MSP"],"role":"member"}"#
        );
        assert_eq!(KeyEndorsement::from_bytes(&a.to_bytes()).expect("parse"), b);
    }

    #[test]
    fn invalid_stored_bytes_are_internal_errors() {
        for bytes in [
            &b"not json"[..],
            br#"{"orgs":[],"role":"peer"}"#,
            br#"{"orgs":["O"],"role":"admin"}"#,
        ] {
            let err = KeyEndorsement::from_bytes(bytes).expect_err("invalid");
            assert_eq!(err.status(), 500, "{err}");
        }
    }
}
