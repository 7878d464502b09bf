//! Private data collection configuration, as declared in a chaincode definition (Fabric's
//! `collections_config.json` field names): who may hold a collection's plaintext (the member orgs),
//! how widely an endorser must disseminate it before endorsing (`requiredPeerCount` /
//! `maxPeerCount`), how long members keep it (`blockToLive`), whether non-member clients may read or
//! write it, and an optional endorsement policy for writes to it. Every org also has an implicit
//! collection `_implicit_org_<MSPID>` whose only member is that org.

use std::collections::BTreeSet;

use carechain_channel::{SignaturePolicy, dsl};
use serde::{Deserialize, Serialize};

use crate::lifecycle::PolicySpec;

/// Prefix of implicit per-org collections.
pub const IMPLICIT_PREFIX: &str = "_implicit_org_";

/// One collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionConfig {
    /// Collection name.
    pub name: String,
    /// Member policy in Fabric's language; its MSPs are the member orgs, e.g.
    /// `OR('HospitalAMSP.member','InsurerMSP.member')`.
    pub policy: String,
    /// Peers (other than the endorser) that must receive the plaintext before an endorsement is returned.
    #[serde(default)]
    pub required_peer_count: u32,
    /// Most peers the endorser sends the plaintext to.
    #[serde(default = "one")]
    pub max_peer_count: u32,
    /// Blocks after which members purge a value written by a block (0: never).
    #[serde(default)]
    pub block_to_live: u64,
    /// Only clients of member orgs may read.
    #[serde(default = "yes")]
    pub member_only_read: bool,
    /// Only clients of member orgs may write.
    #[serde(default = "yes")]
    pub member_only_write: bool,
    /// Endorsement policy for writes to this collection, replacing the chaincode's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement_policy: Option<PolicySpec>,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

impl CollectionConfig {
    /// The implicit collection of `msp`.
    pub fn implicit(msp: &str) -> CollectionConfig {
        CollectionConfig {
            name: format!("{IMPLICIT_PREFIX}{msp}"),
            policy: format!("OR('{msp}.member')"),
            required_peer_count: 0,
            max_peer_count: 0,
            block_to_live: 0,
            member_only_read: true,
            member_only_write: false,
            endorsement_policy: Some(PolicySpec::Signature(format!("OR('{msp}.peer')"))),
        }
    }

    /// The member MSP ids.
    pub fn members(&self) -> Result<BTreeSet<String>, String> {
        Ok(self.member_policy()?.msp_ids())
    }

    /// The member policy, parsed.
    pub fn member_policy(&self) -> Result<SignaturePolicy, String> {
        dsl::parse(&self.policy).map_err(|e| format!("collection {}: {e}", self.name))
    }

    /// Whether `msp` is a member.
    pub fn is_member(&self, msp: &str) -> bool {
        self.members().is_ok_and(|m| m.contains(msp))
    }

    /// Checks the configuration.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.starts_with('_') || self.name.contains(['/', '\0']) {
            return Err(format!("invalid collection name {:?}", self.name));
        }
        if self.members()?.is_empty() {
            return Err(format!("collection {} has no member organization", self.name));
        }
        if self.max_peer_count < self.required_peer_count {
            return Err(format!(
                "collection {}: maxPeerCount {} is below requiredPeerCount {}",
                self.name, self.max_peer_count, self.required_peer_count
            ));
        }
        if let Some(p) = &self.endorsement_policy {
            p.resolve()
                .map_err(|e| format!("collection {}: {e}", self.name))?;
        }
        Ok(())
    }
}

/// Finds collection `name` among a definition's collections or the implicit ones.
pub fn find(collections: &[CollectionConfig], name: &str) -> Option<CollectionConfig> {
    if let Some(msp) = name.strip_prefix(IMPLICIT_PREFIX) {
        return (!msp.is_empty()).then(|| CollectionConfig::implicit(msp));
    }
    collections.iter().find(|c| c.name == name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fabric_collection_json_and_checks_it() {
        let json = r#"[{"name":"HospitalAPatients","policy":"OR('HospitalAMSP.member','InsurerMSP.member')",
            "requiredPeerCount":1,"maxPeerCount":2,"blockToLive":3,"memberOnlyRead":true,"memberOnlyWrite":true}]"#;
        let cs: Vec<CollectionConfig> = serde_json::from_str(json).unwrap();
        assert_eq!(cs[0].block_to_live, 3);
        assert!(cs[0].check().is_ok());
        assert!(cs[0].is_member("InsurerMSP") && !cs[0].is_member("LabMSP"));
        let bad = CollectionConfig {
            required_peer_count: 3,
            ..cs[0].clone()
        };
        assert!(bad.check().unwrap_err().contains("maxPeerCount"));
        assert_eq!(
            find(&cs, "_implicit_org_LabMSP")
                .unwrap()
                .members()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["LabMSP"]
        );
        assert!(find(&cs, "nope").is_none());
    }

    #[test]
    fn accepts_fabric_endorsement_policy_names() {
        let json = r#"{"name":"c","policy":"OR('A.member')","endorsementPolicy":{"signaturePolicy":"OR('A.peer')"}}"#;
        let c: CollectionConfig = serde_json::from_str(json).unwrap();
        assert_eq!(
            c.endorsement_policy,
            Some(PolicySpec::Signature("OR('A.peer')".into()))
        );
        assert!(c.member_only_read && c.member_only_write && c.max_peer_count == 1);
    }
}
