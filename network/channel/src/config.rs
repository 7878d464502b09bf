//! The parsed channel configuration every node validates with: the channel's MSPs, its policies by
//! path (`/Channel/Application/Writers`, `/Channel/Application/HospitalA/Endorsement`, ...), the member
//! organizations with their anchor peers, and the ordering parameters. Built from the latest config
//! block; "validation uses this configuration and nothing else".

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_crypto::msp::{Msp, MspManager};
use carechain_proto::common::{
    Block, ChannelHeader, Config, ConfigEnvelope, ConfigGroup, Envelope, HeaderType, ImplicitMetaPolicy,
    OrdererAddresses, Payload, SignaturePolicyEnvelope, implicit_meta_policy, policy::PolicyType,
};
use carechain_proto::etcdraft;
use carechain_proto::msp::MspConfig;
use carechain_proto::orderer::{BatchSize, BatchTimeout, ConsensusType};
use carechain_proto::protos::AnchorPeers;
use prost::Message;

use crate::policy::{PolicyError, SignaturePolicy, Subject};
use crate::{ConfigError, keys};

/// A policy node of the configuration tree.
#[derive(Debug, Clone)]
pub enum PolicyNode {
    /// Explicit signatures.
    Signature(SignaturePolicy),
    /// A rule over the same-named policy of every sub-group.
    ImplicitMeta {
        /// The sub-group policy name, e.g. `Writers`.
        sub_policy: String,
        /// ANY, ALL or MAJORITY.
        rule: implicit_meta_policy::Rule,
        /// Paths of the sub-policies, one per sub-group.
        children: Vec<String>,
    },
}

/// An organization of the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgInfo {
    /// Group name (e.g. `HospitalA`).
    pub name: String,
    /// MSP id (e.g. `HospitalAMSP`).
    pub msp_id: String,
    /// Anchor peers (`host`, `port`) of an application org.
    pub anchor_peers: Vec<(String, u16)>,
    /// Orderer endpoints of an orderer org.
    pub endpoints: Vec<String>,
}

/// Raft options in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftOptions {
    /// Tick interval.
    pub tick_interval: Duration,
    /// Election timeout in ticks.
    pub election_tick: u32,
    /// Heartbeat interval in ticks.
    pub heartbeat_tick: u32,
    /// Maximum blocks in flight.
    pub max_inflight_blocks: u32,
    /// Bytes between snapshots.
    pub snapshot_interval_size: u32,
}

/// The ordering section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdererParams {
    /// Consensus type (`etcdraft`).
    pub consensus_type: String,
    /// Batch size limits.
    pub batch_size: BatchSize,
    /// Batch timeout.
    pub batch_timeout: Duration,
    /// Raft consenters.
    pub consenters: Vec<etcdraft::Consenter>,
    /// Raft options.
    pub raft: RaftOptions,
}

/// One channel's configuration, parsed and ready for policy checks.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Channel name.
    pub channel_id: String,
    /// Config sequence (0 for genesis, +1 per update).
    pub sequence: u64,
    /// The raw tree, for computing and checking config updates.
    pub config: Config,
    /// All MSPs of the channel (application and orderer orgs).
    pub msps: MspManager,
    /// Application organizations by group name.
    pub application_orgs: BTreeMap<String, OrgInfo>,
    /// Orderer organizations by group name.
    pub orderer_orgs: BTreeMap<String, OrgInfo>,
    /// Ordering parameters.
    pub orderer: OrdererParams,
    policies: BTreeMap<String, PolicyNode>,
}

impl ChannelConfig {
    /// Parses a configuration tree.
    pub fn from_config(channel_id: &str, config: &Config) -> Result<ChannelConfig, ConfigError> {
        let root = config
            .channel_group
            .as_ref()
            .ok_or_else(|| ConfigError::Invalid("configuration has no channel group".into()))?;
        let mut policies = BTreeMap::new();
        collect_policies(root, "/Channel", &mut policies)?;
        let app = group(root, keys::APPLICATION, "/Channel")?;
        let ord = group(root, keys::ORDERER, "/Channel")?;
        let mut msps = Vec::new();
        let application_orgs = orgs(app, "/Channel/Application", &mut msps)?;
        let orderer_orgs = orgs(ord, "/Channel/Orderer", &mut msps)?;
        let msps = MspManager::new(msps).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(ChannelConfig {
            channel_id: channel_id.to_string(),
            sequence: config.sequence,
            config: config.clone(),
            msps,
            application_orgs,
            orderer_orgs,
            orderer: orderer_params(ord)?,
            policies,
        })
    }

    /// Parses the configuration carried by a config block (the genesis block or a later config block).
    pub fn from_block(block: &Block) -> Result<ChannelConfig, ConfigError> {
        let (channel_id, env) = config_envelope(block)?;
        let config = env
            .config
            .ok_or_else(|| ConfigError::Invalid("config block carries no configuration".into()))?;
        ChannelConfig::from_config(&channel_id, &config)
    }

    /// The policy at `path` (absolute, e.g. `/Channel/Application/Writers`).
    pub fn policy(&self, path: &str) -> Option<&PolicyNode> {
        self.policies.get(path)
    }

    /// Evaluates the policy at `path` for de-duplicated, signature-checked signers.
    pub fn evaluate<S: Subject>(&self, path: &str, signers: &[S]) -> Result<(), PolicyError> {
        if self.eval(path, signers, 0)? {
            return Ok(());
        }
        let who: Vec<String> = signers.iter().map(Subject::describe).collect();
        Err(PolicyError::NotSatisfied {
            policy: self.describe(path),
            detail: if who.is_empty() {
                "no valid signatures".into()
            } else {
                format!("signed by {}", who.join(", "))
            },
        })
    }

    fn eval<S: Subject>(&self, path: &str, signers: &[S], depth: usize) -> Result<bool, PolicyError> {
        if depth > 8 {
            return Err(PolicyError::Invalid(format!("policy {path} recurses too deeply")));
        }
        match self.policies.get(path) {
            None => Err(PolicyError::Unknown(path.to_string())),
            Some(PolicyNode::Signature(p)) => Ok(p.evaluate(signers)),
            Some(PolicyNode::ImplicitMeta { rule, children, .. }) => {
                let mut met = 0;
                for c in children {
                    if self.eval(c, signers, depth + 1)? {
                        met += 1;
                    }
                }
                let n = children.len();
                // Fabric: with no sub-policies the threshold is zero.
                let threshold = match (n, rule) {
                    (0, _) => 0,
                    (_, implicit_meta_policy::Rule::Any) => 1,
                    (_, implicit_meta_policy::Rule::All) => n,
                    (_, implicit_meta_policy::Rule::Majority) => n / 2 + 1,
                };
                Ok(met >= threshold)
            }
        }
    }

    /// A human description of a policy for error messages, e.g. `/Channel/Application/Endorsement
    /// (MAJORITY Endorsement of HospitalA, Insurer)`.
    pub fn describe(&self, path: &str) -> String {
        match self.policies.get(path) {
            Some(PolicyNode::Signature(p)) => format!("{path} = {p}"),
            Some(PolicyNode::ImplicitMeta {
                sub_policy,
                rule,
                children,
            }) => {
                let groups: Vec<&str> = children.iter().filter_map(|c| c.rsplit('/').nth(1)).collect();
                format!(
                    "{path} ({} {sub_policy} of {})",
                    rule.as_str_name(),
                    groups.join(", ")
                )
            }
            None => format!("{path} (undefined)"),
        }
    }

    /// The application org whose MSP id is `msp_id`.
    pub fn application_org_by_msp(&self, msp_id: &str) -> Option<&OrgInfo> {
        self.application_orgs.values().find(|o| o.msp_id == msp_id)
    }

    /// Whether `msp_id` is an organization of this channel (application or orderer).
    pub fn has_msp(&self, msp_id: &str) -> bool {
        self.msps.msp(msp_id).is_some()
    }

    /// DER TLS root and intermediate certificates of every org: what a node trusts for TLS peers.
    pub fn tls_ca_certs(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for id in self.msps.msp_ids() {
            if let Some(m) = self.msps.msp(id) {
                let cfg = m.config();
                for pem in cfg.tls_root_certs.iter().chain(cfg.tls_intermediate_certs.iter()) {
                    if let Ok(ders) = carechain_crypto::pem::certificates(pem) {
                        out.extend(ders);
                    }
                }
            }
        }
        out
    }

    /// Orderer endpoints of all orderer orgs.
    pub fn orderer_endpoints(&self) -> Vec<String> {
        self.orderer_orgs
            .values()
            .flat_map(|o| o.endpoints.clone())
            .collect()
    }
}

/// The channel id and `ConfigEnvelope` of a config block.
pub fn config_envelope(block: &Block) -> Result<(String, ConfigEnvelope), ConfigError> {
    let data = block
        .data
        .as_ref()
        .and_then(|d| d.data.first())
        .ok_or_else(|| ConfigError::Invalid("config block has no transaction".into()))?;
    let bad = |what: &str| ConfigError::Invalid(format!("config block: malformed {what}"));
    let env = Envelope::decode(data.as_ref()).map_err(|_| bad("envelope"))?;
    let payload = Payload::decode(env.payload.as_ref()).map_err(|_| bad("payload"))?;
    let header = payload.header.ok_or_else(|| bad("header"))?;
    let ch = ChannelHeader::decode(header.channel_header.as_ref()).map_err(|_| bad("channel header"))?;
    if ch.r#type != HeaderType::Config as i32 {
        return Err(ConfigError::Invalid(format!(
            "block {} is not a config block (header type {})",
            block.header.as_ref().map_or(0, |h| h.number),
            ch.r#type
        )));
    }
    let ce = ConfigEnvelope::decode(payload.data.as_ref()).map_err(|_| bad("config envelope"))?;
    Ok((ch.channel_id, ce))
}

fn group<'a>(g: &'a ConfigGroup, name: &str, path: &str) -> Result<&'a ConfigGroup, ConfigError> {
    g.groups
        .get(name)
        .ok_or_else(|| ConfigError::Invalid(format!("configuration has no {path}/{name} group")))
}

fn value<M: Message + Default>(g: &ConfigGroup, key: &str, path: &str) -> Result<M, ConfigError> {
    let v = g
        .values
        .get(key)
        .ok_or_else(|| ConfigError::Invalid(format!("{path} has no {key} value")))?;
    M::decode(v.value.as_ref()).map_err(|e| ConfigError::Invalid(format!("{path}/{key}: {e}")))
}

fn collect_policies(
    g: &ConfigGroup,
    path: &str,
    out: &mut BTreeMap<String, PolicyNode>,
) -> Result<(), ConfigError> {
    for (name, cp) in &g.policies {
        let p = cp
            .policy
            .as_ref()
            .ok_or_else(|| ConfigError::Invalid(format!("{path}/{name}: empty policy")))?;
        let full = format!("{path}/{name}");
        let node = if p.r#type == PolicyType::Signature as i32 {
            let env = SignaturePolicyEnvelope::decode(p.value.as_ref())
                .map_err(|e| ConfigError::Invalid(format!("{full}: {e}")))?;
            PolicyNode::Signature(SignaturePolicy::from_proto(&env)?)
        } else if p.r#type == PolicyType::ImplicitMeta as i32 {
            let m = ImplicitMetaPolicy::decode(p.value.as_ref())
                .map_err(|e| ConfigError::Invalid(format!("{full}: {e}")))?;
            let rule = implicit_meta_policy::Rule::try_from(m.rule)
                .map_err(|_| ConfigError::Invalid(format!("{full}: unknown rule {}", m.rule)))?;
            let children = g
                .groups
                .keys()
                .map(|sub| format!("{path}/{sub}/{}", m.sub_policy))
                .collect();
            PolicyNode::ImplicitMeta {
                sub_policy: m.sub_policy,
                rule,
                children,
            }
        } else {
            return Err(ConfigError::Invalid(format!(
                "{full}: unsupported policy type {}",
                p.r#type
            )));
        };
        out.insert(full, node);
    }
    for (name, sub) in &g.groups {
        collect_policies(sub, &format!("{path}/{name}"), out)?;
    }
    Ok(())
}

fn orgs(
    section: &ConfigGroup,
    path: &str,
    msps: &mut Vec<Msp>,
) -> Result<BTreeMap<String, OrgInfo>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, g) in &section.groups {
        let p = format!("{path}/{name}");
        let mc: MspConfig = value(g, keys::MSP, &p)?;
        let msp = Msp::from_msp_config(&mc).map_err(|e| ConfigError::Invalid(format!("{p}/MSP: {e}")))?;
        let anchor_peers = match g.values.get(keys::ANCHOR_PEERS) {
            Some(_) => value::<AnchorPeers>(g, keys::ANCHOR_PEERS, &p)?
                .anchor_peers
                .into_iter()
                .map(|a| (a.host, u16::try_from(a.port).unwrap_or(0)))
                .collect(),
            None => Vec::new(),
        };
        let endpoints = match g.values.get(keys::ENDPOINTS) {
            Some(_) => value::<OrdererAddresses>(g, keys::ENDPOINTS, &p)?.addresses,
            None => Vec::new(),
        };
        out.insert(
            name.clone(),
            OrgInfo {
                name: name.clone(),
                msp_id: msp.id().to_string(),
                anchor_peers,
                endpoints,
            },
        );
        msps.push(msp);
    }
    Ok(out)
}

fn orderer_params(ord: &ConfigGroup) -> Result<OrdererParams, ConfigError> {
    let path = "/Channel/Orderer";
    let ct: ConsensusType = value(ord, keys::CONSENSUS_TYPE, path)?;
    let md = etcdraft::ConfigMetadata::decode(ct.metadata.as_ref())
        .map_err(|e| ConfigError::Invalid(format!("{path}/ConsensusType metadata: {e}")))?;
    let o = md.options.unwrap_or_default();
    let bt: BatchTimeout = value(ord, keys::BATCH_TIMEOUT, path)?;
    let batch_size: BatchSize = value(ord, keys::BATCH_SIZE, path)?;
    if batch_size.max_message_count == 0 || batch_size.absolute_max_bytes == 0 {
        return Err(ConfigError::Invalid(format!(
            "{path}/BatchSize must allow at least one message"
        )));
    }
    Ok(OrdererParams {
        consensus_type: ct.r#type,
        batch_size,
        batch_timeout: crate::parse_duration(&bt.timeout)?,
        consenters: md.consenters,
        raft: RaftOptions {
            tick_interval: if o.tick_interval.is_empty() {
                Duration::from_millis(500)
            } else {
                crate::parse_duration(&o.tick_interval)?
            },
            election_tick: if o.election_tick == 0 { 10 } else { o.election_tick },
            heartbeat_tick: o.heartbeat_tick.max(1),
            max_inflight_blocks: if o.max_inflight_blocks == 0 {
                5
            } else {
                o.max_inflight_blocks
            },
            snapshot_interval_size: o.snapshot_interval_size,
        },
    })
}
