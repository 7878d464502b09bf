//! Chaincode definitions, Fabric-lifecycle style: each organization approves a definition (name,
//! version, sequence, endorsement policy, collections); it is committed once approvals from enough
//! organizations satisfy the channel's `LifecycleEndorsement` policy; a contract runs on a channel only
//! after its definition is committed; a new sequence changes the definition.
//!
//! Definitions and approvals live in the world state under the reserved namespace `_lifecycle`, so
//! they are ordered, validated (MVCC) and committed like any other state:
//! - `namespaces/metadata/<name>`: the committed definition;
//! - `approvals/<name>/<sequence>/<msp>`: what `<msp>` approved (the whole definition, so a readiness
//!   check can say which field differs).
//!
//! Validation enforces who may write what (see [`crate::policy`]): an approval key only with an
//! endorsement of that org's peer, a definition only under `/Channel/Application/LifecycleEndorsement`.

use std::sync::Arc;

use carechain_channel::policy::OrgPeer;
use carechain_channel::{ChannelConfig, SignaturePolicy, dsl};
use chaincode_api::{Call, Context, ContextExt, Contract, ContractError, Role};
use serde::{Deserialize, Serialize};

use crate::policy::EndorsementPolicy;
use crate::state::{StateError, StateView};

/// The reserved namespace and chaincode name of the lifecycle.
pub const LIFECYCLE: &str = "_lifecycle";

/// The policy that governs committing definitions.
pub const LIFECYCLE_ENDORSEMENT: &str = "/Channel/Application/LifecycleEndorsement";

/// How a definition states its endorsement policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySpec {
    /// A signature policy in Fabric's language, e.g. `AND('HospitalAMSP.peer','InsurerMSP.peer')`
    /// (`signaturePolicy` in Fabric's collections_config.json).
    #[serde(alias = "signaturePolicy")]
    Signature(String),
    /// A channel configuration policy by path, e.g. `/Channel/Application/Endorsement`
    /// (`channelConfigPolicy` in Fabric's collections_config.json).
    #[serde(alias = "channelConfigPolicy")]
    ChannelReference(String),
}

impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec::ChannelReference(crate::policy::DEFAULT_ENDORSEMENT_POLICY.into())
    }
}

impl PolicySpec {
    /// The policy validation evaluates.
    pub fn resolve(&self) -> Result<EndorsementPolicy, String> {
        match self {
            PolicySpec::Signature(s) => dsl::parse(s)
                .map(EndorsementPolicy::Signature)
                .map_err(|e| e.to_string()),
            PolicySpec::ChannelReference(p) if p.starts_with("/Channel/") => {
                Ok(EndorsementPolicy::Channel(p.clone()))
            }
            PolicySpec::ChannelReference(p) => Err(format!(
                "channel policy reference {p:?} must start with /Channel/"
            )),
        }
    }
}

/// A chaincode definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaincodeDefinition {
    /// Chaincode name.
    pub name: String,
    /// Version label reported in endorsements.
    pub version: String,
    /// 1 for the first definition, +1 per change.
    pub sequence: u64,
    /// Endorsement policy.
    #[serde(default)]
    pub endorsement_policy: PolicySpec,
    /// Private data collections.
    #[serde(default)]
    pub collections: Vec<crate::collection::CollectionConfig>,
}

impl ChaincodeDefinition {
    /// Fields that differ from `other`, by name.
    pub fn differences(&self, other: &ChaincodeDefinition) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.name != other.name {
            d.push("name");
        }
        if self.version != other.version {
            d.push("version");
        }
        if self.sequence != other.sequence {
            d.push("sequence");
        }
        if self.endorsement_policy != other.endorsement_policy {
            d.push("endorsement_policy");
        }
        if self.collections != other.collections {
            d.push("collections");
        }
        d
    }

    fn check(&self) -> Result<(), ContractError> {
        if self.name.is_empty() || self.name.starts_with('_') || self.name.contains('/') {
            return Err(ContractError::BadRequest(format!(
                "invalid chaincode name {:?}",
                self.name
            )));
        }
        if self.version.is_empty() {
            return Err(ContractError::BadRequest("a version is required".into()));
        }
        if self.sequence == 0 {
            return Err(ContractError::BadRequest("sequence starts at 1".into()));
        }
        self.endorsement_policy
            .resolve()
            .map_err(|e| ContractError::BadRequest(format!("invalid endorsement policy: {e}")))?;
        let mut names = std::collections::BTreeSet::new();
        for c in &self.collections {
            c.check().map_err(ContractError::BadRequest)?;
            if !names.insert(&c.name) {
                return Err(ContractError::BadRequest(format!(
                    "collection {} is declared twice",
                    c.name
                )));
            }
        }
        Ok(())
    }
}

/// State key of a committed definition.
pub fn definition_key(name: &str) -> String {
    format!("namespaces/metadata/{name}")
}

/// State key of an org's approval.
pub fn approval_key(name: &str, sequence: u64, msp: &str) -> String {
    format!("approvals/{name}/{sequence}/{msp}")
}

/// The MSP an approval key belongs to, if `key` is one.
pub fn approval_owner(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("approvals/")?;
    let mut parts = rest.rsplitn(2, '/');
    let msp = parts.next()?;
    parts.next().map(|_| msp)
}

/// The committed definition of `name`, read directly (validation and endorsement setup).
pub fn definition(view: &dyn StateView, name: &str) -> Result<Option<ChaincodeDefinition>, StateError> {
    match view.get(LIFECYCLE, &definition_key(name))? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v.value)
            .map(Some)
            .map_err(|e| StateError(format!("stored definition of {name} does not decode: {e}"))),
    }
}

/// The `_lifecycle` system contract, bound to the channel configuration in force.
pub struct Lifecycle {
    /// The channel configuration (orgs and LifecycleEndorsement).
    pub channel: Arc<ChannelConfig>,
}

fn parse_def(call: &Call<'_>) -> Result<ChaincodeDefinition, ContractError> {
    let d: ChaincodeDefinition = call.json_arg(0)?;
    d.check()?;
    Ok(d)
}

impl Lifecycle {
    fn current_sequence(ctx: &mut dyn Context, name: &str) -> Result<u64, ContractError> {
        Ok(ctx
            .get_json::<ChaincodeDefinition>(&definition_key(name))?
            .map_or(0, |d| d.sequence))
    }

    fn require_next(ctx: &mut dyn Context, d: &ChaincodeDefinition) -> Result<(), ContractError> {
        let cur = Self::current_sequence(ctx, &d.name)?;
        if d.sequence != cur + 1 {
            return Err(ContractError::Conflict(format!(
                "chaincode {} is at sequence {cur}: the next definition must have sequence {}, not {}",
                d.name,
                cur + 1,
                d.sequence
            )));
        }
        Ok(())
    }

    /// Approvals follow Fabric: the next sequence, or the committed one again with exactly the committed
    /// parameters (an org that joined the channel later, or skipped the approval, catches up that way).
    fn require_approvable(ctx: &mut dyn Context, d: &ChaincodeDefinition) -> Result<(), ContractError> {
        let committed = ctx.get_json::<ChaincodeDefinition>(&definition_key(&d.name))?;
        match committed {
            Some(c) if c.sequence == d.sequence && &c == d => Ok(()),
            Some(c) if c.sequence == d.sequence => Err(ContractError::Conflict(format!(
                "chaincode {} is committed at sequence {} with different parameters ({}): approve it as \
                 committed, or propose sequence {}",
                d.name,
                c.sequence,
                c.differences(d).join(", "),
                c.sequence + 1
            ))),
            _ => Self::require_next(ctx, d),
        }
    }

    /// Which orgs approved exactly `d`, and what differs for orgs that approved something else.
    fn approvals(&self, ctx: &mut dyn Context, d: &ChaincodeDefinition) -> Result<Readiness, ContractError> {
        let mut r = Readiness::default();
        for org in self.channel.application_orgs.values() {
            let approved: Option<ChaincodeDefinition> =
                ctx.get_json(&approval_key(&d.name, d.sequence, &org.msp_id))?;
            let ok = approved.as_ref() == Some(d);
            r.approvals.insert(org.msp_id.clone(), ok);
            if let Some(a) = approved.filter(|_| !ok) {
                r.mismatches.insert(
                    org.msp_id.clone(),
                    a.differences(d).iter().map(|s| s.to_string()).collect(),
                );
            }
        }
        let approving: Vec<OrgPeer> = r
            .approvals
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(m, _)| OrgPeer(m.clone()))
            .collect();
        r.ready = self.channel.evaluate(LIFECYCLE_ENDORSEMENT, &approving).is_ok();
        Ok(r)
    }
}

/// The answer of `CheckCommitReadiness`.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Readiness {
    /// Per org: approved exactly this definition.
    pub approvals: std::collections::BTreeMap<String, bool>,
    /// Per org that approved a different definition for this sequence: the fields that differ.
    pub mismatches: std::collections::BTreeMap<String, Vec<String>>,
    /// Whether the approvals satisfy LifecycleEndorsement.
    pub ready: bool,
}

impl Contract for Lifecycle {
    fn name(&self) -> &str {
        LIFECYCLE
    }

    fn functions(&self) -> &[&'static str] {
        &[
            "ApproveChaincodeDefinitionForMyOrg",
            "CommitChaincodeDefinition",
            "CheckCommitReadiness",
            "QueryApprovedChaincodeDefinition",
            "QueryChaincodeDefinition",
            "QueryChaincodeDefinitions",
        ]
    }

    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        match call.function {
            "ApproveChaincodeDefinitionForMyOrg" => {
                let d = parse_def(call)?;
                ctx.caller().require_role(Role::Admin)?;
                Self::require_approvable(ctx, &d)?;
                let msp = ctx.caller().msp_id.clone();
                ctx.put_json(&approval_key(&d.name, d.sequence, &msp), &d)?;
                ctx.set_event(
                    "ApproveChaincodeDefinitionForMyOrg",
                    format!("{} {} {msp}", d.name, d.sequence).as_bytes(),
                )?;
                Ok(Vec::new())
            }
            "CommitChaincodeDefinition" => {
                let d = parse_def(call)?;
                ctx.caller().require_role(Role::Admin)?;
                Self::require_next(ctx, &d)?;
                let r = self.approvals(ctx, &d)?;
                if !r.ready {
                    let who: Vec<&str> = r
                        .approvals
                        .iter()
                        .filter(|(_, ok)| **ok)
                        .map(|(m, _)| m.as_str())
                        .collect();
                    return Err(ContractError::Forbidden(format!(
                        "approvals of {} from [{}] do not satisfy {}",
                        d.name,
                        who.join(", "),
                        self.channel.describe(LIFECYCLE_ENDORSEMENT)
                    )));
                }
                ctx.put_json(&definition_key(&d.name), &d)?;
                ctx.set_event(
                    "CommitChaincodeDefinition",
                    format!("{} {}", d.name, d.sequence).as_bytes(),
                )?;
                Ok(Vec::new())
            }
            "CheckCommitReadiness" => {
                let d = parse_def(call)?;
                serde_json::to_vec(&self.approvals(ctx, &d)?)
                    .map_err(|e| ContractError::Internal(e.to_string()))
            }
            "QueryApprovedChaincodeDefinition" => {
                let name = call.str_arg(0)?;
                let seq = u64::try_from(call.int_arg(1)?)
                    .map_err(|_| ContractError::BadRequest("negative sequence".into()))?;
                let msp = ctx.caller().msp_id.clone();
                ctx.must_get(&approval_key(name, seq, &msp))
            }
            "QueryChaincodeDefinition" => ctx.must_get(&definition_key(call.str_arg(0)?)),
            "QueryChaincodeDefinitions" => {
                let page = ctx.get_state_by_range("namespaces/metadata/", "namespaces/metadata0", 0, "")?;
                let defs = page
                    .items
                    .iter()
                    .map(|(_, v)| serde_json::from_slice::<ChaincodeDefinition>(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ContractError::Internal(e.to_string()))?;
                serde_json::to_vec(&defs).map_err(|e| ContractError::Internal(e.to_string()))
            }
            other => Err(chaincode_api::unknown_function(self, other)),
        }
    }
}

/// The policy a write to `_lifecycle` key `key` must satisfy.
pub fn key_requirement(key: &str) -> Option<(String, EndorsementPolicy)> {
    if let Some(msp) = approval_owner(key) {
        let p = SignaturePolicy::signed_by(carechain_crypto::msp::Principal::role(
            msp,
            carechain_crypto::msp::Role::Peer,
        ));
        return Some((
            format!("approval by {msp} (its own peer must endorse)"),
            EndorsementPolicy::Signature(p),
        ));
    }
    if key.starts_with("namespaces/metadata/") {
        return Some((
            "committing a chaincode definition".into(),
            EndorsementPolicy::Channel(LIFECYCLE_ENDORSEMENT.into()),
        ));
    }
    None
}
