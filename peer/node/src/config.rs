//! Peer configuration: identity, TLS, addresses, storage and gateway tuning. The `carechain peer start`
//! command fills it from a YAML file with `CARECHAIN_PEER_*` environment overrides.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// TLS files of a node (Fabric layout: `tls/server.crt`, `tls/server.key`, `tls/ca.crt`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate.
    pub cert: PathBuf,
    /// PKCS#8 private key.
    pub key: PathBuf,
    /// The org's TLS CA certificate.
    pub ca: PathBuf,
}

/// Everything a peer needs to start.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerConfig {
    /// Node name, e.g. `peer0.hospitala.carechain.local` (logs, metrics).
    pub name: String,
    /// MSP id of the peer's organization.
    pub msp_id: String,
    /// The peer's MSP directory (signcerts, keystore, cacerts, config.yaml).
    pub msp_dir: PathBuf,
    /// TLS files.
    pub tls: TlsFiles,
    /// Address for clients and other nodes: Gateway, Endorser, Deliver, Admin.
    pub listen_address: SocketAddr,
    /// Where ledgers live (`<data_dir>/ledgers/<channel>`).
    pub data_dir: PathBuf,
    /// Largest gRPC message in either direction (default 100 MiB, as Fabric).
    #[serde(default = "default_max_message")]
    pub max_message_size: usize,
    /// fsync every block commit.
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// Gateway: timeout for one remote endorsement, in milliseconds.
    #[serde(default = "default_endorse_ms")]
    pub endorsement_timeout_ms: u64,
    /// Gateway: timeout for one Broadcast answer, in milliseconds.
    #[serde(default = "default_broadcast_ms")]
    pub broadcast_timeout_ms: u64,
    /// Operations endpoint (`/healthz`, `/metrics`), if any.
    #[serde(default)]
    pub operations_listen_address: Option<SocketAddr>,
}

fn default_max_message() -> usize {
    100 * 1024 * 1024
}
fn default_true() -> bool {
    true
}
fn default_endorse_ms() -> u64 {
    30_000
}
fn default_broadcast_ms() -> u64 {
    10_000
}

impl PeerConfig {
    /// Endorsement timeout.
    pub fn endorsement_timeout(&self) -> Duration {
        Duration::from_millis(self.endorsement_timeout_ms)
    }

    /// Broadcast timeout.
    pub fn broadcast_timeout(&self) -> Duration {
        Duration::from_millis(self.broadcast_timeout_ms)
    }
}
