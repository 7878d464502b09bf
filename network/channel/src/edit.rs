//! Edits of a channel configuration that operators make through config updates: add an organization,
//! replace an org's CRLs (revocation everywhere), its anchor peers, the batch settings, or the Raft
//! consenter set. Each returns the desired configuration; [`crate::update::compute_update`] turns
//! (current, desired) into the update admins sign.

use carechain_proto::common::{Config, ConfigGroup};
use carechain_proto::etcdraft;
use carechain_proto::msp::{FabricMspConfig, MspConfig};
use carechain_proto::orderer::{BatchSize, BatchTimeout, ConsensusType};
use carechain_proto::protos::{AnchorPeer, AnchorPeers};
use prost::Message;

use crate::{ConfigError, keys};

fn group_mut<'a>(c: &'a mut Config, path: &[&str]) -> Result<&'a mut ConfigGroup, ConfigError> {
    let mut g = c
        .channel_group
        .as_mut()
        .ok_or_else(|| ConfigError::Invalid("configuration has no channel group".into()))?;
    for (i, p) in path.iter().enumerate() {
        g = g.groups.get_mut(*p).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "no group /Channel/{} in the configuration",
                path[..=i].join("/")
            ))
        })?;
    }
    Ok(g)
}

fn value<M: Message + Default>(g: &ConfigGroup, key: &str) -> Result<M, ConfigError> {
    let v = g
        .values
        .get(key)
        .ok_or_else(|| ConfigError::Invalid(format!("no {key} value")))?;
    M::decode(v.value.as_ref()).map_err(|e| ConfigError::Invalid(format!("{key}: {e}")))
}

fn set<M: Message>(g: &mut ConfigGroup, key: &str, m: &M) -> Result<(), ConfigError> {
    let v = g
        .values
        .get_mut(key)
        .ok_or_else(|| ConfigError::Invalid(format!("no {key} value")))?;
    v.value = m.encode_to_vec().into();
    Ok(())
}

/// Adds an application organization group (built with [`crate::genesis::application_org_group`]).
pub fn add_org(current: &Config, name: &str, group: ConfigGroup) -> Result<Config, ConfigError> {
    let mut c = current.clone();
    let app = group_mut(&mut c, &[keys::APPLICATION])?;
    if app.groups.contains_key(name) {
        return Err(ConfigError::Invalid(format!(
            "organization {name} is already a member of the channel"
        )));
    }
    app.groups.insert(name.to_string(), group);
    Ok(c)
}

/// Replaces the revocation lists (PEM CRLs) of an organization's MSP, in the application or orderer
/// section.
pub fn set_crls(current: &Config, org: &str, crls_pem: Vec<Vec<u8>>) -> Result<Config, ConfigError> {
    let mut c = current.clone();
    let g = org_group_mut(&mut c, org)?;
    let mut mc: MspConfig = value(g, keys::MSP)?;
    let mut f =
        FabricMspConfig::decode(mc.config.as_ref()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    f.revocation_list = crls_pem.into_iter().map(Into::into).collect();
    mc.config = f.encode_to_vec().into();
    set(g, keys::MSP, &mc)?;
    Ok(c)
}

fn org_group_mut<'a>(c: &'a mut Config, org: &str) -> Result<&'a mut ConfigGroup, ConfigError> {
    let in_app = c
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get(keys::APPLICATION))
        .is_some_and(|a| a.groups.contains_key(org));
    let section = if in_app { keys::APPLICATION } else { keys::ORDERER };
    group_mut(c, &[section, org])
}

/// Replaces an application organization's anchor peers.
pub fn set_anchor_peers(
    current: &Config,
    org: &str,
    anchors: &[(String, u16)],
) -> Result<Config, ConfigError> {
    let mut c = current.clone();
    let g = group_mut(&mut c, &[keys::APPLICATION, org])?;
    let a = AnchorPeers {
        anchor_peers: anchors
            .iter()
            .map(|(h, p)| AnchorPeer {
                host: h.clone(),
                port: i32::from(*p),
            })
            .collect(),
    };
    match g.values.get_mut(keys::ANCHOR_PEERS) {
        Some(_) => set(g, keys::ANCHOR_PEERS, &a)?,
        None => crate::genesis::put_value(g, keys::ANCHOR_PEERS, &a),
    }
    Ok(c)
}

/// Changes batch size and/or timeout.
pub fn set_batch(
    current: &Config,
    max_message_count: Option<u32>,
    timeout: Option<&str>,
) -> Result<Config, ConfigError> {
    let mut c = current.clone();
    let g = group_mut(&mut c, &[keys::ORDERER])?;
    if let Some(n) = max_message_count {
        let mut bs: BatchSize = value(g, keys::BATCH_SIZE)?;
        bs.max_message_count = n;
        set(g, keys::BATCH_SIZE, &bs)?;
    }
    if let Some(t) = timeout {
        crate::parse_duration(t)?;
        set(
            g,
            keys::BATCH_TIMEOUT,
            &BatchTimeout {
                timeout: t.to_string(),
            },
        )?;
    }
    Ok(c)
}

/// Adds (`add = true`) or removes a Raft consenter, identified by host, port and certificates.
pub fn change_consenter(
    current: &Config,
    consenter: etcdraft::Consenter,
    add: bool,
) -> Result<Config, ConfigError> {
    let mut c = current.clone();
    let g = group_mut(&mut c, &[keys::ORDERER])?;
    let mut ct: ConsensusType = value(g, keys::CONSENSUS_TYPE)?;
    let mut md = etcdraft::ConfigMetadata::decode(ct.metadata.as_ref())
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let same = |x: &etcdraft::Consenter| x.host == consenter.host && x.port == consenter.port;
    if add {
        if md.consenters.iter().any(same) {
            return Err(ConfigError::Invalid(format!(
                "{}:{} is already a consenter",
                consenter.host, consenter.port
            )));
        }
        md.consenters.push(consenter);
    } else {
        let before = md.consenters.len();
        md.consenters.retain(|x| !same(x));
        if md.consenters.len() == before {
            return Err(ConfigError::Invalid(format!(
                "{}:{} is not a consenter",
                consenter.host, consenter.port
            )));
        }
        if md.consenters.is_empty() {
            return Err(ConfigError::Invalid("cannot remove the last consenter".into()));
        }
    }
    ct.metadata = md.encode_to_vec().into();
    set(g, keys::CONSENSUS_TYPE, &ct)?;
    Ok(c)
}
