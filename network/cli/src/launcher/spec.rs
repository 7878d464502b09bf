//! The network description `carechain network up` reads (`network/network.yaml` by default): which
//! cryptogen spec to use, which organizations form which channels, which contracts each channel runs,
//! batch and Raft settings, and optional fixed ports. [`Topology`] derives every node, its ports and
//! its files from it, deterministically, so repeated `up` runs agree with each other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use carechain_crypto::spec::CryptoConfig;
use serde::Deserialize;

/// The description file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Network name (shown in the summary and connection profiles).
    pub name: String,
    /// cryptogen spec, relative to this file.
    pub crypto_config: PathBuf,
    /// Address nodes listen on and advertise.
    #[serde(default = "default_host")]
    pub host: String,
    /// First port handed out to nodes without fixed ports (orderers take two: client and cluster).
    #[serde(default = "default_port_base")]
    pub port_base: u16,
    /// First operations (`/healthz`, `/metrics`) port.
    #[serde(default = "default_ops_base")]
    pub operations_port_base: u16,
    /// Fixed ports by node name (e.g. `peer0.org1.example.com: {port: 7051, operations_port: 9444}`).
    #[serde(default)]
    pub nodes: BTreeMap<String, NodePorts>,
    /// Channels.
    pub channels: Vec<ChannelSpec>,
    /// Batch timeout of every channel.
    #[serde(default = "default_batch_timeout")]
    pub batch_timeout: String,
    /// MaxMessageCount of every channel.
    #[serde(default = "default_max_messages")]
    pub max_message_count: u32,
    /// Raft tick interval.
    #[serde(default = "default_tick")]
    pub raft_tick_interval: String,
    /// Raft election timeout in ticks.
    #[serde(default = "default_election")]
    pub raft_election_tick: u32,
    /// Directory of this file (not in YAML).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Fixed ports of one node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePorts {
    /// Client port.
    pub port: Option<u16>,
    /// Orderer cluster (Raft) port.
    pub cluster_port: Option<u16>,
    /// Operations port.
    pub operations_port: Option<u16>,
}

/// One channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Channel name.
    pub name: String,
    /// Member organizations (names from the cryptogen spec).
    pub orgs: Vec<String>,
    /// Contracts to define on the channel.
    #[serde(default)]
    pub chaincodes: Vec<ChaincodeSpec>,
}

/// A contract definition to approve and commit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaincodeSpec {
    /// Chaincode name (a contract built into the peer).
    pub name: String,
    /// Version label.
    #[serde(default = "default_version")]
    pub version: String,
    /// Sequence.
    #[serde(default = "default_sequence")]
    pub sequence: u64,
    /// Signature policy; default the channel's MAJORITY Endorsement.
    #[serde(default)]
    pub policy: Option<String>,
    /// Private data collections: a Fabric `collections_config.json`, relative to the description file.
    #[serde(default)]
    pub collections: Option<PathBuf>,
}

impl ChaincodeSpec {
    /// The definition JSON to approve and commit.
    pub fn definition(&self, spec_dir: &Path) -> anyhow::Result<String> {
        let collections: serde_json::Value = match &self.collections {
            Some(p) => {
                let path = spec_dir.join(p);
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?
            }
            None => serde_json::json!([]),
        };
        Ok(serde_json::json!({
            "name": self.name,
            "version": self.version,
            "sequence": self.sequence,
            "endorsement_policy": match &self.policy {
                Some(p) => serde_json::json!({"signature": p}),
                None => serde_json::json!({"channel_reference": "/Channel/Application/Endorsement"}),
            },
            "collections": collections,
        })
        .to_string())
    }
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port_base() -> u16 {
    7050
}
fn default_ops_base() -> u16 {
    9443
}
fn default_batch_timeout() -> String {
    "250ms".into()
}
fn default_max_messages() -> u32 {
    500
}
fn default_tick() -> String {
    "100ms".into()
}
fn default_election() -> u32 {
    10
}
fn default_version() -> String {
    "1.0".into()
}
fn default_sequence() -> u64 {
    1
}

impl NetworkSpec {
    /// Reads a description file.
    pub fn load(path: &Path) -> anyhow::Result<NetworkSpec> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut s: NetworkSpec = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("invalid network description {}", path.display()))?;
        s.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(s)
    }

    /// The cryptogen spec file.
    pub fn crypto_path(&self) -> PathBuf {
        self.dir.join(&self.crypto_config)
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ordering node.
    Orderer,
    /// A peer.
    Peer,
}

impl Kind {
    /// `orderer` or `peer` (CLI subcommand and directory names).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Orderer => "orderer",
            Kind::Peer => "peer",
        }
    }
}

/// An organization of the network.
#[derive(Debug, Clone)]
pub struct Org {
    /// Name.
    pub name: String,
    /// MSP id.
    pub msp_id: String,
    /// Domain.
    pub domain: String,
    /// Orderer or peer org.
    pub kind: Kind,
}

impl Org {
    /// `<crypto>/<kind>Organizations/<domain>`.
    pub fn dir(&self, crypto: &Path) -> PathBuf {
        let kind = match self.kind {
            Kind::Orderer => "ordererOrganizations",
            Kind::Peer => "peerOrganizations",
        };
        crypto.join(kind).join(&self.domain)
    }

    /// The admin's MSP directory.
    pub fn admin_msp(&self, crypto: &Path) -> PathBuf {
        self.user_msp(crypto, "Admin")
    }

    /// A user's MSP directory.
    pub fn user_msp(&self, crypto: &Path, user: &str) -> PathBuf {
        self.dir(crypto)
            .join("users")
            .join(format!("{user}@{}", self.domain))
            .join("msp")
    }

    /// The org's TLS CA certificate.
    pub fn tls_ca(&self, crypto: &Path) -> PathBuf {
        self.dir(crypto)
            .join("tlsca")
            .join(format!("tlsca.{}-cert.pem", self.domain))
    }
}

/// A node of the network.
#[derive(Debug, Clone)]
pub struct Node {
    /// Node name (certificate CN).
    pub name: String,
    /// Orderer or peer.
    pub kind: Kind,
    /// Index of its org in [`Topology::orgs`].
    pub org: usize,
    /// Client port.
    pub port: u16,
    /// Cluster port (orderers).
    pub cluster_port: Option<u16>,
    /// Operations port.
    pub operations_port: u16,
}

/// Every org and node of a network description.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The description.
    pub spec: NetworkSpec,
    /// Organizations, orderer orgs first.
    pub orgs: Vec<Org>,
    /// Orderers, then peers.
    pub nodes: Vec<Node>,
}

impl Topology {
    /// Derives the topology; peers of organizations in no channel are left out.
    pub fn new(spec: NetworkSpec) -> anyhow::Result<Topology> {
        let crypto = CryptoConfig::load(&spec.crypto_path())?;
        let in_channels: Vec<&String> = spec.channels.iter().flat_map(|c| c.orgs.iter()).collect();
        let mut orgs = Vec::new();
        let mut nodes = Vec::new();
        let mut next_port = spec.port_base;
        let mut next_ops = spec.operations_port_base;
        for (o, prefix) in crypto.orgs() {
            let kind = if prefix == "orderer" {
                Kind::Orderer
            } else {
                Kind::Peer
            };
            if kind == Kind::Peer && !in_channels.contains(&&o.name) {
                continue;
            }
            orgs.push(Org {
                name: o.name.clone(),
                msp_id: o.msp_id(),
                domain: o.domain.clone(),
                kind,
            });
            for n in o.nodes(prefix) {
                let fixed = spec.nodes.get(&n.common_name).cloned().unwrap_or_default();
                let mut take = |fixed: Option<u16>| {
                    fixed.unwrap_or_else(|| {
                        next_port += 1;
                        next_port - 1
                    })
                };
                let port = take(fixed.port);
                let cluster_port = (kind == Kind::Orderer).then(|| take(fixed.cluster_port));
                let operations_port = fixed.operations_port.unwrap_or_else(|| {
                    next_ops += 1;
                    next_ops - 1
                });
                nodes.push(Node {
                    name: n.common_name,
                    kind,
                    org: orgs.len() - 1,
                    port,
                    cluster_port,
                    operations_port,
                });
            }
        }
        for c in &spec.channels {
            carechain_channel::check_channel_id(&c.name)?;
            for o in &c.orgs {
                if !orgs.iter().any(|x| &x.name == o && x.kind == Kind::Peer) {
                    bail!(
                        "channel {} names {o}, which is not a peer organization of {}",
                        c.name,
                        spec.crypto_config.display()
                    );
                }
            }
        }
        if !nodes.iter().any(|n| n.kind == Kind::Orderer) {
            bail!("the cryptogen spec has no orderer");
        }
        Ok(Topology { spec, orgs, nodes })
    }

    /// The org of a node.
    pub fn org_of(&self, n: &Node) -> &Org {
        &self.orgs[n.org]
    }

    /// Orderers.
    pub fn orderers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind == Kind::Orderer)
    }

    /// Peers of an org (by name).
    pub fn peers_of<'a>(&'a self, org: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(move |n| n.kind == Kind::Peer && self.orgs[n.org].name == org)
    }

    /// An org by name.
    pub fn org(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// The client address of a node.
    pub fn address(&self, n: &Node) -> String {
        format!("{}:{}", self.spec.host, n.port)
    }

    /// A node's cryptogen directory (msp/ and tls/).
    pub fn node_home(&self, crypto: &Path, n: &Node) -> PathBuf {
        let org = self.org_of(n);
        let sub = match n.kind {
            Kind::Orderer => "orderers",
            Kind::Peer => "peers",
        };
        org.dir(crypto).join(sub).join(&n.name)
    }
}
