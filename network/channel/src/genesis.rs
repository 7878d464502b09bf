//! Building a channel's configuration tree from a configtx profile, and wrapping it into the genesis
//! block (block 0 of every channel's chain) that orderers and peers join with.

use std::collections::HashMap;

use bytes::Bytes;
use carechain_crypto::msp::load_msp_config;
use carechain_proto::common::{
    BlockDataHashingStructure, Capabilities, Capability, ChannelHeader, Config, ConfigEnvelope, ConfigGroup,
    ConfigPolicy, ConfigValue, Envelope, HashingAlgorithm, Header, HeaderType, ImplicitMetaPolicy,
    OrdererAddresses, Payload, Policy, SignatureHeader, implicit_meta_policy, policy::PolicyType,
};
use carechain_proto::msp::MspConfig;
use carechain_proto::orderer::{BatchSize, BatchTimeout, ConsensusType};
use carechain_proto::protos::{AnchorPeer, AnchorPeers};
use carechain_proto::{common::Block, etcdraft};
use prost::Message;

use crate::configtx::{ConfigTx, OrgSpec, PolicySpec};
use crate::{ConfigError, block, dsl, keys};

/// Which section an org sits in: its default policies and values differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OrgKind {
    Application,
    Orderer,
}

/// Builds the configuration of channel `channel_id` from `profile`.
pub fn build_config(tx: &ConfigTx, profile: &str, channel_id: &str) -> Result<Config, ConfigError> {
    crate::check_channel_id(channel_id)?;
    let p = tx.profile(profile)?;
    let mut orderer_orgs = Vec::new();
    for r in &p.orderer.organizations {
        orderer_orgs.push(tx.org(r)?);
    }
    let mut app_orgs = Vec::new();
    for r in &p.application.organizations {
        app_orgs.push(tx.org(r)?);
    }
    if p.orderer.orderer_type != "etcdraft" {
        return Err(ConfigError::Invalid(format!(
            "OrdererType {:?} is not supported: carechain orders with etcdraft (Raft)",
            p.orderer.orderer_type
        )));
    }
    let mut orderer = ConfigGroup {
        mod_policy: keys::ADMINS.into(),
        ..Default::default()
    };
    for o in &orderer_orgs {
        orderer
            .groups
            .insert(o.name.clone(), org_group(tx, o, OrgKind::Orderer)?);
    }
    let consenters = p
        .orderer
        .etcd_raft
        .consenters
        .iter()
        .map(|c| {
            let read = |f: &std::path::Path| {
                std::fs::read(tx.resolve(f)).map_err(|e| {
                    ConfigError::Io(format!("consenter {}:{} {}: {e}", c.host, c.port, f.display()))
                })
            };
            Ok(etcdraft::Consenter {
                host: c.host.clone(),
                port: u32::from(c.port),
                client_tls_cert: read(&c.client_tls_cert)?.into(),
                server_tls_cert: read(&c.server_tls_cert)?.into(),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let opts = &p.orderer.etcd_raft.options;
    crate::parse_duration(&opts.tick_interval)?;
    crate::parse_duration(&p.orderer.batch_timeout)?;
    let metadata = etcdraft::ConfigMetadata {
        consenters,
        options: Some(etcdraft::Options {
            tick_interval: opts.tick_interval.clone(),
            election_tick: opts.election_tick,
            heartbeat_tick: opts.heartbeat_tick,
            max_inflight_blocks: opts.max_inflight_blocks,
            snapshot_interval_size: opts.snapshot_interval_size.0,
        }),
    };
    let bs = &p.orderer.batch_size;
    put_value(
        &mut orderer,
        keys::CONSENSUS_TYPE,
        &ConsensusType {
            r#type: "etcdraft".into(),
            metadata: metadata.encode_to_vec().into(),
            state: 0,
        },
    );
    put_value(
        &mut orderer,
        keys::BATCH_SIZE,
        &BatchSize {
            max_message_count: bs.max_message_count,
            absolute_max_bytes: bs.absolute_max_bytes.0,
            preferred_max_bytes: bs.preferred_max_bytes.0,
        },
    );
    put_value(
        &mut orderer,
        keys::BATCH_TIMEOUT,
        &BatchTimeout {
            timeout: p.orderer.batch_timeout.clone(),
        },
    );
    put_value(&mut orderer, keys::CAPABILITIES, &capabilities("V2_0"));
    let orderer_defaults = [
        (keys::READERS, "ImplicitMeta", "ANY Readers"),
        (keys::WRITERS, "ImplicitMeta", "ANY Writers"),
        (keys::ADMINS, "ImplicitMeta", "MAJORITY Admins"),
        (keys::BLOCK_VALIDATION, "ImplicitMeta", "ANY Writers"),
    ];
    put_policies(&mut orderer, &p.orderer.policies, &orderer_defaults)?;

    let mut application = ConfigGroup {
        mod_policy: keys::ADMINS.into(),
        ..Default::default()
    };
    for o in &app_orgs {
        if application.groups.contains_key(&o.name) {
            return Err(ConfigError::Invalid(format!(
                "organization {} listed twice",
                o.name
            )));
        }
        application
            .groups
            .insert(o.name.clone(), org_group(tx, o, OrgKind::Application)?);
    }
    put_value(&mut application, keys::CAPABILITIES, &capabilities("V2_5"));
    let app_defaults = [
        (keys::READERS, "ImplicitMeta", "ANY Readers"),
        (keys::WRITERS, "ImplicitMeta", "ANY Writers"),
        (keys::ADMINS, "ImplicitMeta", "MAJORITY Admins"),
        (
            keys::LIFECYCLE_ENDORSEMENT,
            "ImplicitMeta",
            "MAJORITY Endorsement",
        ),
        (keys::ENDORSEMENT, "ImplicitMeta", "MAJORITY Endorsement"),
    ];
    put_policies(&mut application, &p.application.policies, &app_defaults)?;

    let mut channel = ConfigGroup {
        mod_policy: keys::ADMINS.into(),
        ..Default::default()
    };
    channel.groups.insert(keys::ORDERER.into(), orderer);
    channel.groups.insert(keys::APPLICATION.into(), application);
    put_value(
        &mut channel,
        keys::HASHING_ALGORITHM,
        &HashingAlgorithm {
            name: "SHA256".into(),
        },
    );
    put_value(
        &mut channel,
        keys::BLOCK_DATA_HASHING_STRUCTURE,
        &BlockDataHashingStructure { width: u32::MAX },
    );
    let addresses = orderer_orgs
        .iter()
        .flat_map(|o| o.orderer_endpoints.clone())
        .collect();
    put_value(
        &mut channel,
        keys::ORDERER_ADDRESSES,
        &OrdererAddresses { addresses },
    );
    put_value(&mut channel, keys::CAPABILITIES, &capabilities("V3_0"));
    let channel_defaults = [
        (keys::READERS, "ImplicitMeta", "ANY Readers"),
        (keys::WRITERS, "ImplicitMeta", "ANY Writers"),
        (keys::ADMINS, "ImplicitMeta", "MAJORITY Admins"),
    ];
    put_policies(&mut channel, &p.policies, &channel_defaults)?;
    let config = Config {
        sequence: 0,
        channel_group: Some(channel),
    };
    // Fail now, not at join time, if the tree does not parse as a channel configuration.
    crate::ChannelConfig::from_config(channel_id, &config)?;
    Ok(config)
}

/// The configuration group of an application organization, as a profile would create it (used to add
/// an organization to an existing channel).
pub fn application_org_group(o: &OrgSpec, msp_dir: &std::path::Path) -> Result<ConfigGroup, ConfigError> {
    org_group_at(o, msp_dir, OrgKind::Application)
}

fn org_group(tx: &ConfigTx, o: &OrgSpec, kind: OrgKind) -> Result<ConfigGroup, ConfigError> {
    org_group_at(o, &tx.resolve(&o.msp_dir), kind)
}

fn org_group_at(o: &OrgSpec, dir: &std::path::Path, kind: OrgKind) -> Result<ConfigGroup, ConfigError> {
    let dir = dir.to_path_buf();
    let fabric = load_msp_config(&dir, &o.id)
        .map_err(|e| ConfigError::Invalid(format!("organization {} ({}): {e}", o.name, dir.display())))?;
    let mut g = ConfigGroup {
        mod_policy: keys::ADMINS.into(),
        ..Default::default()
    };
    put_value(
        &mut g,
        keys::MSP,
        &MspConfig {
            r#type: 0,
            config: fabric.encode_to_vec().into(),
        },
    );
    let id = &o.id;
    let defaults: Vec<(&str, &str, String)> = match kind {
        OrgKind::Application => {
            let anchors = AnchorPeers {
                anchor_peers: o
                    .anchor_peers
                    .iter()
                    .map(|a| AnchorPeer {
                        host: a.host.clone(),
                        port: i32::from(a.port),
                    })
                    .collect(),
            };
            put_value(&mut g, keys::ANCHOR_PEERS, &anchors);
            vec![
                (
                    keys::READERS,
                    "Signature",
                    format!("OR('{id}.admin', '{id}.peer', '{id}.client')"),
                ),
                (
                    keys::WRITERS,
                    "Signature",
                    format!("OR('{id}.admin', '{id}.client')"),
                ),
                (keys::ADMINS, "Signature", format!("OR('{id}.admin')")),
                (keys::ENDORSEMENT, "Signature", format!("OR('{id}.peer')")),
            ]
        }
        OrgKind::Orderer => {
            put_value(
                &mut g,
                keys::ENDPOINTS,
                &OrdererAddresses {
                    addresses: o.orderer_endpoints.clone(),
                },
            );
            vec![
                (keys::READERS, "Signature", format!("OR('{id}.member')")),
                (keys::WRITERS, "Signature", format!("OR('{id}.member')")),
                (keys::ADMINS, "Signature", format!("OR('{id}.admin')")),
            ]
        }
    };
    let defaults: Vec<(&str, &str, &str)> = defaults.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
    put_policies(&mut g, &o.policies, &defaults)?;
    Ok(g)
}

fn capabilities(name: &str) -> Capabilities {
    Capabilities {
        capabilities: HashMap::from([(name.to_string(), Capability {})]),
    }
}

/// Sets a value of a group (version 0; config updates bump versions when they compute the update).
pub fn put_value<M: Message>(g: &mut ConfigGroup, key: &str, m: &M) {
    g.values.insert(
        key.to_string(),
        ConfigValue {
            version: 0,
            value: m.encode_to_vec().into(),
            mod_policy: keys::ADMINS.into(),
        },
    );
}

fn put_policies(
    g: &mut ConfigGroup,
    given: &std::collections::BTreeMap<String, PolicySpec>,
    defaults: &[(&str, &str, &str)],
) -> Result<(), ConfigError> {
    for (name, kind, rule) in defaults {
        if !given.contains_key(*name) {
            g.policies.insert(name.to_string(), config_policy(kind, rule)?);
        }
    }
    for (name, spec) in given {
        g.policies
            .insert(name.clone(), config_policy(&spec.kind, &spec.rule)?);
    }
    Ok(())
}

/// Encodes one YAML policy (`Signature` DSL or `ImplicitMeta` "RULE SubPolicy").
pub fn config_policy(kind: &str, rule: &str) -> Result<ConfigPolicy, ConfigError> {
    let policy = match kind {
        "Signature" => Policy {
            r#type: PolicyType::Signature as i32,
            value: dsl::parse(rule)?.to_proto().encode_to_vec().into(),
        },
        "ImplicitMeta" => {
            let mut parts = rule.split_whitespace();
            let (Some(r), Some(sub), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(ConfigError::Invalid(format!(
                    "ImplicitMeta rule {rule:?} must be \"ANY|ALL|MAJORITY SubPolicy\""
                )));
            };
            let r = implicit_meta_policy::Rule::from_str_name(&r.to_ascii_uppercase()).ok_or_else(|| {
                ConfigError::Invalid(format!("ImplicitMeta rule {r:?} is not ANY, ALL or MAJORITY"))
            })?;
            Policy {
                r#type: PolicyType::ImplicitMeta as i32,
                value: ImplicitMetaPolicy {
                    sub_policy: sub.to_string(),
                    rule: r as i32,
                }
                .encode_to_vec()
                .into(),
            }
        }
        other => {
            return Err(ConfigError::Invalid(format!(
                "policy type {other:?} is not Signature or ImplicitMeta"
            )));
        }
    };
    Ok(ConfigPolicy {
        version: 0,
        policy: Some(policy),
        mod_policy: keys::ADMINS.into(),
    })
}

/// Wraps a configuration into the genesis block of `channel_id`.
pub fn genesis_block(channel_id: &str, config: Config) -> Block {
    let channel_header = ChannelHeader {
        r#type: HeaderType::Config as i32,
        channel_id: channel_id.to_string(),
        timestamp: Some(crate::now_timestamp()),
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec().into(),
            signature_header: SignatureHeader::default().encode_to_vec().into(),
        }),
        data: ConfigEnvelope {
            config: Some(config),
            last_update: None,
        }
        .encode_to_vec()
        .into(),
    };
    let envelope = Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    };
    let mut b = block::new_block(0, &[], vec![envelope.encode_to_vec().into()]);
    let md = carechain_proto::common::Metadata {
        value: block::orderer_metadata_value(0, Bytes::new()).into(),
        signatures: Vec::new(),
    };
    block::set_slot(
        &mut b,
        carechain_proto::common::BlockMetadataIndex::Signatures,
        md.encode_to_vec().into(),
    );
    b
}
