//! Channel configuration updates, Fabric's way: an update names the elements it read (`read_set`, with
//! the versions it saw) and the elements it writes (`write_set`, each changed element at version + 1),
//! and is signed by enough admins to satisfy each changed element's modification policy. Orderers check
//! an update before ordering it and peers check it again before applying the resulting configuration,
//! so a configuration change takes effect on every node only if it was properly authorized.
//!
//! - [`compute_update`] turns (current, desired) into a `ConfigUpdate` (what `configtxlator
//!   compute_update` does for Fabric operators).
//! - [`authorize`] checks a `ConfigUpdateEnvelope` against the current configuration and returns the new
//!   `Config` (sequence + 1).
//!
//! Rules: read-set versions must equal current versions (a stale update is refused); a changed element
//! carries exactly its current version + 1 (a new one version 0); adding or removing children of a group
//! requires bumping that group's version; each changed element must satisfy its current `mod_policy`,
//! resolved relative to the group holding it (a group's own `mod_policy` relative to the group itself).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use carechain_crypto::msp::Identity;
use carechain_proto::common::{
    Config, ConfigGroup, ConfigPolicy, ConfigSignature, ConfigUpdate, ConfigUpdateEnvelope, ConfigValue,
    SignatureHeader,
};
use prost::Message;
use time::OffsetDateTime;

use crate::{ChannelConfig, ConfigError};

/// Computes the update that turns `current` into `desired`.
pub fn compute_update(
    channel_id: &str,
    current: &Config,
    desired: &Config,
) -> Result<ConfigUpdate, ConfigError> {
    let (Some(cur), Some(des)) = (&current.channel_group, &desired.channel_group) else {
        return Err(ConfigError::Invalid("configuration has no channel group".into()));
    };
    let (read_set, write_set, changed) = diff_group(cur, des);
    if !changed {
        return Err(ConfigError::Invalid(
            "the desired configuration equals the current one: nothing to update".into(),
        ));
    }
    Ok(ConfigUpdate {
        channel_id: channel_id.to_string(),
        read_set: Some(read_set),
        write_set: Some(write_set),
        isolated_data: HashMap::new(),
    })
}

fn stub(g: &ConfigGroup) -> ConfigGroup {
    ConfigGroup {
        version: g.version,
        ..Default::default()
    }
}

/// (read, write, changed) for one group.
fn diff_group(cur: &ConfigGroup, des: &ConfigGroup) -> (ConfigGroup, ConfigGroup, bool) {
    let membership = cur.groups.keys().collect::<BTreeSet<_>>() != des.groups.keys().collect::<BTreeSet<_>>()
        || cur.values.keys().collect::<BTreeSet<_>>() != des.values.keys().collect::<BTreeSet<_>>()
        || cur.policies.keys().collect::<BTreeSet<_>>() != des.policies.keys().collect::<BTreeSet<_>>()
        || cur.mod_policy != des.mod_policy;
    let mut read = stub(cur);
    let mut write = stub(cur);
    let mut changed = membership;
    for (k, dv) in &des.values {
        match cur.values.get(k) {
            Some(cv) if cv.value == dv.value && cv.mod_policy == dv.mod_policy => {
                if membership {
                    write.values.insert(
                        k.clone(),
                        ConfigValue {
                            version: cv.version,
                            ..Default::default()
                        },
                    );
                }
            }
            Some(cv) => {
                changed = true;
                write.values.insert(
                    k.clone(),
                    ConfigValue {
                        version: cv.version + 1,
                        ..dv.clone()
                    },
                );
            }
            None => {
                write.values.insert(
                    k.clone(),
                    ConfigValue {
                        version: 0,
                        ..dv.clone()
                    },
                );
            }
        }
    }
    for (k, dp) in &des.policies {
        match cur.policies.get(k) {
            Some(cp) if cp.policy == dp.policy && cp.mod_policy == dp.mod_policy => {
                if membership {
                    write.policies.insert(
                        k.clone(),
                        ConfigPolicy {
                            version: cp.version,
                            ..Default::default()
                        },
                    );
                }
            }
            Some(cp) => {
                changed = true;
                write.policies.insert(
                    k.clone(),
                    ConfigPolicy {
                        version: cp.version + 1,
                        ..dp.clone()
                    },
                );
            }
            None => {
                write.policies.insert(
                    k.clone(),
                    ConfigPolicy {
                        version: 0,
                        ..dp.clone()
                    },
                );
            }
        }
    }
    for (k, dg) in &des.groups {
        match cur.groups.get(k) {
            Some(cg) => {
                let (r, w, c) = diff_group(cg, dg);
                if c {
                    changed = true;
                    read.groups.insert(k.clone(), r);
                    write.groups.insert(k.clone(), w);
                } else if membership {
                    write.groups.insert(k.clone(), stub(cg));
                }
            }
            None => {
                write.groups.insert(k.clone(), zero_versions(dg));
            }
        }
    }
    if membership {
        write.version = cur.version + 1;
        write.mod_policy = des.mod_policy.clone();
    }
    (read, write, changed)
}

fn zero_versions(g: &ConfigGroup) -> ConfigGroup {
    let mut g = g.clone();
    g.version = 0;
    for v in g.values.values_mut() {
        v.version = 0;
    }
    for p in g.policies.values_mut() {
        p.version = 0;
    }
    g.groups = g
        .groups
        .iter()
        .map(|(k, c)| (k.clone(), zero_versions(c)))
        .collect();
    g
}

/// The bytes an admin signs for a config update: `signature_header ‖ config_update`.
pub fn signed_bytes(signature_header: &[u8], config_update: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(signature_header.len() + config_update.len());
    m.extend_from_slice(signature_header);
    m.extend_from_slice(config_update);
    m
}

/// Adds `signer`'s signature to an update envelope (an admin approving the change).
pub fn sign(env: &mut ConfigUpdateEnvelope, signer: &carechain_crypto::msp::SigningIdentity) {
    let mut nonce = [0u8; 24];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce);
    let sh = SignatureHeader {
        creator: bytes::Bytes::copy_from_slice(signer.serialize()),
        nonce: bytes::Bytes::copy_from_slice(&nonce),
    }
    .encode_to_vec();
    let signature = signer.sign(&signed_bytes(&sh, &env.config_update));
    env.signatures.push(ConfigSignature {
        signature_header: sh.into(),
        signature: signature.into(),
    });
}

/// Checks `env` against `current` at time `now` and returns the resulting configuration.
pub fn authorize(
    current: &ChannelConfig,
    env: &ConfigUpdateEnvelope,
    now: OffsetDateTime,
) -> Result<Config, ConfigError> {
    let update = ConfigUpdate::decode(env.config_update.as_ref())
        .map_err(|e| ConfigError::Invalid(format!("config update does not decode: {e}")))?;
    if update.channel_id != current.channel_id {
        return Err(ConfigError::Invalid(format!(
            "config update is for channel {:?}, not {:?}",
            update.channel_id, current.channel_id
        )));
    }
    let signers = signers(current, &env.signatures, &env.config_update, now)?;
    let cur = current
        .config
        .channel_group
        .as_ref()
        .ok_or_else(|| ConfigError::Invalid("current configuration has no channel group".into()))?;
    let read = update.read_set.unwrap_or_default();
    let write = update
        .write_set
        .ok_or_else(|| ConfigError::Invalid("config update has no write set".into()))?;
    check_read(cur, &read, "/Channel")?;
    let mut ctx = Check {
        config: current,
        signers: &signers,
        changes: 0,
    };
    let merged = ctx.merge(Some(cur), &write, "/Channel")?;
    if ctx.changes == 0 {
        return Err(ConfigError::Invalid("config update changes nothing".into()));
    }
    let next = Config {
        sequence: current.config.sequence + 1,
        channel_group: Some(merged),
    };
    // The result must still be a well-formed channel configuration.
    ChannelConfig::from_config(&current.channel_id, &next)?;
    Ok(next)
}

fn signers(
    current: &ChannelConfig,
    sigs: &[ConfigSignature],
    update: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<Arc<Identity>>, ConfigError> {
    let mut out: Vec<Arc<Identity>> = Vec::new();
    for s in sigs {
        let sh = SignatureHeader::decode(s.signature_header.as_ref())
            .map_err(|e| ConfigError::Invalid(format!("config signature header does not decode: {e}")))?;
        let id = current
            .msps
            .verify_signature_at(
                &sh.creator,
                &signed_bytes(&s.signature_header, update),
                &s.signature,
                now,
            )
            .map_err(|e| ConfigError::Forbidden(format!("config update signature rejected: {e}")))?;
        if !out.iter().any(|o| o.id() == id.id()) {
            out.push(id);
        }
    }
    Ok(out)
}

fn check_read(cur: &ConfigGroup, read: &ConfigGroup, path: &str) -> Result<(), ConfigError> {
    let stale = |what: &str, want: u64, have: u64| {
        ConfigError::Invalid(format!(
            "config update is stale: it read {what} at version {want}, the channel has version {have}; fetch the configuration again"
        ))
    };
    if read.version != cur.version {
        return Err(stale(path, read.version, cur.version));
    }
    for (k, rv) in &read.values {
        let cv = cur
            .values
            .get(k)
            .ok_or_else(|| stale(&format!("{path}/{k}"), rv.version, 0))?;
        if cv.version != rv.version {
            return Err(stale(&format!("{path}/{k}"), rv.version, cv.version));
        }
    }
    for (k, rp) in &read.policies {
        let cp = cur
            .policies
            .get(k)
            .ok_or_else(|| stale(&format!("{path}/{k}"), rp.version, 0))?;
        if cp.version != rp.version {
            return Err(stale(&format!("{path}/{k}"), rp.version, cp.version));
        }
    }
    for (k, rg) in &read.groups {
        let cg = cur.groups.get(k).ok_or_else(|| {
            ConfigError::Invalid(format!("config update read {path}/{k}, which does not exist"))
        })?;
        check_read(cg, rg, &format!("{path}/{k}"))?;
    }
    Ok(())
}

struct Check<'a> {
    config: &'a ChannelConfig,
    signers: &'a [Arc<Identity>],
    changes: usize,
}

impl Check<'_> {
    /// Requires the signers to satisfy `mod_policy` as resolved in group `group_path`.
    fn authorize(&mut self, mod_policy: &str, group_path: &str, what: &str) -> Result<(), ConfigError> {
        self.changes += 1;
        if mod_policy.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{what} has no mod_policy and cannot be modified"
            )));
        }
        let path = if mod_policy.starts_with('/') {
            mod_policy.to_string()
        } else {
            format!("{group_path}/{mod_policy}")
        };
        self.config
            .evaluate(&path, self.signers)
            .map_err(|e| ConfigError::Forbidden(format!("modifying {what} requires {path}: {e}")))
    }

    fn merge(
        &mut self,
        cur: Option<&ConfigGroup>,
        w: &ConfigGroup,
        path: &str,
    ) -> Result<ConfigGroup, ConfigError> {
        let Some(cur) = cur else {
            if w.version != 0 {
                return Err(ConfigError::Invalid(format!(
                    "new group {path} must have version 0, has {}",
                    w.version
                )));
            }
            return Ok(w.clone());
        };
        let bumped = w.version != cur.version;
        if bumped {
            if w.version != cur.version + 1 {
                return Err(ConfigError::Invalid(format!(
                    "group {path} must move from version {} to {}, not {}",
                    cur.version,
                    cur.version + 1,
                    w.version
                )));
            }
            self.authorize(&cur.mod_policy, path, &format!("group {path}"))?;
        }
        let mut out = ConfigGroup {
            version: w.version,
            mod_policy: if bumped {
                w.mod_policy.clone()
            } else {
                cur.mod_policy.clone()
            },
            ..Default::default()
        };
        // An unbumped group keeps its membership: the write set may only name existing children.
        let keep = |keys: BTreeSet<&String>,
                    wkeys: BTreeSet<&String>,
                    kind: &str|
         -> Result<BTreeSet<String>, ConfigError> {
            if bumped {
                Ok(wkeys.into_iter().cloned().collect())
            } else if let Some(extra) = wkeys.difference(&keys).next() {
                Err(ConfigError::Invalid(format!(
                    "adding {kind} {path}/{extra} requires bumping the version of group {path}"
                )))
            } else {
                Ok(keys.into_iter().cloned().collect())
            }
        };
        for k in keep(cur.values.keys().collect(), w.values.keys().collect(), "value")? {
            let v = self.merge_value(cur.values.get(&k), w.values.get(&k), &format!("{path}/{k}"), path)?;
            out.values.insert(k, v);
        }
        for k in keep(
            cur.policies.keys().collect(),
            w.policies.keys().collect(),
            "policy",
        )? {
            let p = self.merge_policy(
                cur.policies.get(&k),
                w.policies.get(&k),
                &format!("{path}/{k}"),
                path,
            )?;
            out.policies.insert(k, p);
        }
        for k in keep(cur.groups.keys().collect(), w.groups.keys().collect(), "group")? {
            let sub = format!("{path}/{k}");
            let g = match w.groups.get(&k) {
                Some(wg) => self.merge(cur.groups.get(&k), wg, &sub)?,
                None => cur.groups.get(&k).cloned().unwrap_or_default(),
            };
            out.groups.insert(k, g);
        }
        Ok(out)
    }

    fn merge_value(
        &mut self,
        cur: Option<&ConfigValue>,
        w: Option<&ConfigValue>,
        what: &str,
        group: &str,
    ) -> Result<ConfigValue, ConfigError> {
        match (cur, w) {
            (Some(c), None) => Ok(c.clone()),
            (Some(c), Some(w)) if w.version == c.version => Ok(c.clone()),
            (Some(c), Some(w)) if w.version == c.version + 1 => {
                self.authorize(&c.mod_policy, group, &format!("value {what}"))?;
                Ok(w.clone())
            }
            (Some(c), Some(w)) => Err(ConfigError::Invalid(format!(
                "value {what} must move from version {} to {}, not {}",
                c.version,
                c.version + 1,
                w.version
            ))),
            (None, Some(w)) if w.version == 0 => Ok(w.clone()),
            (None, Some(w)) => Err(ConfigError::Invalid(format!(
                "new value {what} must have version 0, has {}",
                w.version
            ))),
            (None, None) => Err(ConfigError::Invalid(format!("value {what} vanished"))),
        }
    }

    fn merge_policy(
        &mut self,
        cur: Option<&ConfigPolicy>,
        w: Option<&ConfigPolicy>,
        what: &str,
        group: &str,
    ) -> Result<ConfigPolicy, ConfigError> {
        match (cur, w) {
            (Some(c), None) => Ok(c.clone()),
            (Some(c), Some(w)) if w.version == c.version => Ok(c.clone()),
            (Some(c), Some(w)) if w.version == c.version + 1 => {
                self.authorize(&c.mod_policy, group, &format!("policy {what}"))?;
                Ok(w.clone())
            }
            (Some(c), Some(w)) => Err(ConfigError::Invalid(format!(
                "policy {what} must move from version {} to {}, not {}",
                c.version,
                c.version + 1,
                w.version
            ))),
            (None, Some(w)) if w.version == 0 => Ok(w.clone()),
            (None, Some(w)) => Err(ConfigError::Invalid(format!(
                "new policy {what} must have version 0, has {}",
                w.version
            ))),
            (None, None) => Err(ConfigError::Invalid(format!("policy {what} vanished"))),
        }
    }
}

/// A summary of what an update changes, for operators reviewing it before signing.
pub fn describe(update: &ConfigUpdate) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(r), Some(w)) = (&update.read_set, &update.write_set) {
        describe_group(Some(r), w, "/Channel", &mut out);
    }
    out
}

fn describe_group(read: Option<&ConfigGroup>, w: &ConfigGroup, path: &str, out: &mut Vec<String>) {
    if read.is_none_or(|r| r.version != w.version) {
        out.push(format!("group {path} → version {}", w.version));
    }
    for (k, v) in &w.values {
        if !v.value.is_empty() {
            out.push(format!("value {path}/{k} → version {}", v.version));
        }
    }
    for (k, p) in &w.policies {
        if p.policy.is_some() {
            out.push(format!("policy {path}/{k} → version {}", p.version));
        }
    }
    for (k, g) in &w.groups {
        describe_group(read.and_then(|r| r.groups.get(k)), g, &format!("{path}/{k}"), out);
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
