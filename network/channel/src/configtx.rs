//! `configtx.yaml`: the operator's description of a channel, turned into Fabric's configuration tree
//! (`common.Config`) and the genesis block every orderer and peer of the channel starts from.
//!
//! The format follows Fabric's configtx.yaml (Organizations with Name, ID, MSPDir, Policies,
//! AnchorPeers, OrdererEndpoints; Profiles with Orderer and Application sections, EtcdRaft
//! consenters, BatchSize, BatchTimeout). Profiles may name organizations or embed them through YAML
//! aliases, as Fabric's samples do. Relative paths are relative to the YAML file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ConfigError;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigTx {
    /// Every organization that may appear in a profile.
    #[serde(default)]
    pub organizations: Vec<OrgSpec>,
    /// Named channel profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSpec>,
    /// Directory of the file, for resolving relative paths (not in the YAML).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// One organization.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrgSpec {
    /// Group name in the channel configuration.
    pub name: String,
    /// MSP id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Fabric-layout MSP directory (cacerts, tlscacerts, config.yaml, ...).
    #[serde(rename = "MSPDir")]
    pub msp_dir: PathBuf,
    /// Org policies; defaults follow Fabric's NodeOU-based samples.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Anchor peers: the endpoints other orgs' gateways use to reach this org's peers.
    #[serde(default)]
    pub anchor_peers: Vec<HostPort>,
    /// Orderer endpoints of an orderer org (`host:port`).
    #[serde(default)]
    pub orderer_endpoints: Vec<String>,
}

/// A `Host`/`Port` pair.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct HostPort {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A policy as written in YAML: `Type: Signature` with a DSL rule, or `Type: ImplicitMeta` with
/// `ANY|ALL|MAJORITY SubPolicy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySpec {
    /// `Signature` or `ImplicitMeta`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The rule text.
    pub rule: String,
}

/// An organization reference in a profile: a name, or the org itself (YAML alias).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OrgRef {
    /// `- HospitalA`
    Name(String),
    /// `- *HospitalA`
    Inline(Box<OrgSpec>),
}

/// A channel profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProfileSpec {
    /// Ordering section.
    pub orderer: OrdererSpec,
    /// Application section.
    pub application: ApplicationSpec,
    /// Channel-level policies; defaults ANY Readers / ANY Writers / MAJORITY Admins.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySpec>,
}

/// The Orderer section of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrdererSpec {
    /// Consensus type; only `etcdraft` is supported.
    #[serde(default = "default_orderer_type")]
    pub orderer_type: String,
    /// Batch timeout, e.g. `2s`, `250ms`.
    #[serde(default = "default_batch_timeout")]
    pub batch_timeout: String,
    /// Batch size limits.
    #[serde(default)]
    pub batch_size: BatchSizeSpec,
    /// Raft consenters and options.
    pub etcd_raft: EtcdRaftSpec,
    /// Orderer organizations.
    pub organizations: Vec<OrgRef>,
    /// Orderer group policies; defaults include BlockValidation = ANY Writers.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySpec>,
}

/// `BatchSize` with Fabric's human-readable byte sizes (`99 MB`, `512 KB`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSizeSpec {
    /// Most transactions per block.
    pub max_message_count: u32,
    /// Hard limit on one transaction.
    pub absolute_max_bytes: ByteSize,
    /// Soft limit on a block.
    pub preferred_max_bytes: ByteSize,
}

impl Default for BatchSizeSpec {
    fn default() -> Self {
        BatchSizeSpec {
            max_message_count: 500,
            absolute_max_bytes: ByteSize(10 * 1024 * 1024),
            preferred_max_bytes: ByteSize(2 * 1024 * 1024),
        }
    }
}

/// A byte count given as a number or as `N KB|MB|GB` (binary units, as Fabric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u32);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => parse_bytes(&s).map(ByteSize).map_err(serde::de::Error::custom),
        }
    }
}

fn parse_bytes(s: &str) -> Result<u32, String> {
    let t = s.trim().to_ascii_uppercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("GB") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("MB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("KB") {
        (n, 1 << 10)
    } else {
        (t.as_str(), 1)
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a byte size: {s:?}"))?;
    u32::try_from(n * mult).map_err(|_| format!("byte size {s:?} exceeds 4 GiB"))
}

/// `EtcdRaft` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EtcdRaftSpec {
    /// The consenter set.
    pub consenters: Vec<ConsenterSpec>,
    /// Raft timing; Fabric's defaults when absent.
    #[serde(default)]
    pub options: RaftOptionsSpec,
}

/// One consenter: its cluster endpoint and TLS certificates (files).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsenterSpec {
    /// Cluster host.
    pub host: String,
    /// Cluster port.
    pub port: u16,
    /// Client TLS certificate file.
    #[serde(rename = "ClientTLSCert")]
    pub client_tls_cert: PathBuf,
    /// Server TLS certificate file.
    #[serde(rename = "ServerTLSCert")]
    pub server_tls_cert: PathBuf,
}

/// Raft options with Fabric's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RaftOptionsSpec {
    /// Tick interval, e.g. `500ms`.
    #[serde(default = "d_tick")]
    pub tick_interval: String,
    /// Ticks without a heartbeat before an election.
    #[serde(default = "d_election")]
    pub election_tick: u32,
    /// Ticks between heartbeats.
    #[serde(default = "d_heartbeat")]
    pub heartbeat_tick: u32,
    /// Blocks in flight before the leader waits.
    #[serde(default = "d_inflight")]
    pub max_inflight_blocks: u32,
    /// Bytes of blocks between snapshots.
    #[serde(default = "d_snapshot")]
    pub snapshot_interval_size: ByteSize,
}

impl Default for RaftOptionsSpec {
    fn default() -> Self {
        RaftOptionsSpec {
            tick_interval: d_tick(),
            election_tick: d_election(),
            heartbeat_tick: d_heartbeat(),
            max_inflight_blocks: d_inflight(),
            snapshot_interval_size: d_snapshot(),
        }
    }
}

fn d_tick() -> String {
    "500ms".into()
}
fn d_election() -> u32 {
    10
}
fn d_heartbeat() -> u32 {
    1
}
fn d_inflight() -> u32 {
    5
}
fn d_snapshot() -> ByteSize {
    ByteSize(16 * 1024 * 1024)
}
fn default_orderer_type() -> String {
    "etcdraft".into()
}
fn default_batch_timeout() -> String {
    "2s".into()
}

/// The Application section of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationSpec {
    /// Member organizations.
    pub organizations: Vec<OrgRef>,
    /// Application policies; defaults as Fabric's samples (MAJORITY Endorsement, ...).
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySpec>,
}

impl ConfigTx {
    /// Reads and parses a configtx.yaml file.
    pub fn load(path: &Path) -> Result<ConfigTx, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Io(format!("{}: {e}", path.display())))?;
        let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| ConfigError::Yaml(format!("{}: {e}", path.display())))?;
        value
            .apply_merge()
            .map_err(|e| ConfigError::Yaml(format!("{}: {e}", path.display())))?;
        let mut tx: ConfigTx = serde_yaml_ng::from_value(value)
            .map_err(|e| ConfigError::Yaml(format!("{}: {e}", path.display())))?;
        tx.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(tx)
    }

    /// A profile by name, with an error listing the profiles that exist.
    pub fn profile(&self, name: &str) -> Result<&ProfileSpec, ConfigError> {
        self.profiles.get(name).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "no profile {name:?} (profiles: {})",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Resolves an org reference against `Organizations`.
    pub fn org(&self, r: &OrgRef) -> Result<OrgSpec, ConfigError> {
        match r {
            OrgRef::Inline(o) => Ok((**o).clone()),
            OrgRef::Name(n) => self
                .organizations
                .iter()
                .find(|o| &o.name == n || &o.id == n)
                .cloned()
                .ok_or_else(|| ConfigError::Invalid(format!("profile names unknown organization {n:?}"))),
        }
    }

    /// A path from the file, made absolute against the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_like_fabric() {
        assert_eq!(parse_bytes("99 MB"), Ok(99 << 20));
        assert_eq!(parse_bytes("512 KB"), Ok(512 << 10));
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert!(parse_bytes("8 GB").is_err());
        assert!(parse_bytes("lots").is_err());
    }
}
