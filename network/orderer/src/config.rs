//! The ordering node's own configuration: who it is (MSP and TLS material in Fabric's layout), where it
//! listens and where it keeps its chains. Channel-level ordering parameters (batch size, timeout,
//! consenters) are not here: they come from each channel's configuration block, so every orderer of a
//! channel cuts the same blocks.
//!
//! The struct deserializes from the `orderer` section of a YAML file (field names in snake_case, every
//! field optional with the defaults below), which is how the `carechain orderer start` command and its
//! `CARECHAIN_*` environment overrides fill it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::OrdererError;

/// Fabric's default gRPC message limit for orderers, and ours.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// TLS files of the node in Fabric's layout (`tls/server.crt`, `tls/server.key`, `tls/ca.crt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFiles {
    /// Server certificate (PEM), also the certificate a channel's consenter entry must carry.
    pub cert: PathBuf,
    /// Private key of the certificate (PKCS#8 PEM).
    pub key: PathBuf,
    /// The org's TLS CA (PEM): trusted for client certificates from the start, before any channel is
    /// joined, so the org's own admins can connect with mutual TLS.
    pub ca: PathBuf,
}

impl Default for TlsFiles {
    fn default() -> Self {
        TlsFiles::in_dir(Path::new("tls"))
    }
}

impl TlsFiles {
    /// `server.crt`, `server.key` and `ca.crt` in `dir`.
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            ca: dir.join("ca.crt"),
        }
    }
}

/// Configuration of one ordering node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdererConfig {
    /// Node name, used in logs and as its identity in the cluster (e.g.
    /// `orderer0.orderer.carechain.local`). Raft ids are per channel and come from the consenter set.
    pub name: String,
    /// MSP id of the node's organization (e.g. `OrdererMSP`).
    pub msp_id: String,
    /// The node's local MSP directory (`signcerts/`, `keystore/`, `cacerts/`, `config.yaml`): its block
    /// signing identity, and the MSP that decides who is an admin of this node.
    pub msp_dir: PathBuf,
    /// TLS server identity and the org's TLS CA.
    pub tls: TlsFiles,
    /// Broadcast, Deliver and Admin for clients, peers and operators (TLS, client certificates
    /// optional). Port 0 picks a free port; [`crate::RunningOrderer::client_address`] reports it.
    pub listen_address: SocketAddr,
    /// Orderer-to-orderer traffic (Raft), mutual TLS required. `None` disables the cluster port, which
    /// only single-consenter channels can do without.
    pub cluster_listen_address: Option<SocketAddr>,
    /// `/healthz` and `/metrics`. Served by the `carechain` binary, not by this library: it is carried
    /// here so one config file describes the node.
    pub operations_listen_address: Option<SocketAddr>,
    /// Root of the node's data; chains live in `<data_dir>/chains/<channel>/`.
    pub data_dir: PathBuf,
    /// Largest gRPC message accepted or sent, in bytes (a block must fit).
    pub max_message_size: usize,
}

impl Default for OrdererConfig {
    fn default() -> Self {
        OrdererConfig {
            name: "orderer0".into(),
            msp_id: "OrdererMSP".into(),
            msp_dir: PathBuf::from("msp"),
            tls: TlsFiles::default(),
            listen_address: SocketAddr::from(([0, 0, 0, 0], 7050)),
            cluster_listen_address: Some(SocketAddr::from(([0, 0, 0, 0], 7052))),
            operations_listen_address: Some(SocketAddr::from(([127, 0, 0, 1], 9443))),
            data_dir: PathBuf::from(".carechain/orderer"),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

impl OrdererConfig {
    /// A node whose crypto material is a cryptogen node directory (`<home>/msp`, `<home>/tls`),
    /// listening on 127.0.0.1 with OS-chosen ports: what tests and local networks start from.
    pub fn for_node_home(name: &str, msp_id: &str, home: &Path, data_dir: &Path) -> OrdererConfig {
        OrdererConfig {
            name: name.to_string(),
            msp_id: msp_id.to_string(),
            msp_dir: home.join("msp"),
            tls: TlsFiles::in_dir(&home.join("tls")),
            listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            cluster_listen_address: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            operations_listen_address: None,
            data_dir: data_dir.to_path_buf(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// Where the chains of all joined channels live.
    pub fn chains_dir(&self) -> PathBuf {
        self.data_dir.join("chains")
    }

    /// Where the Raft logs of all joined channels live.
    pub fn raft_dir(&self) -> PathBuf {
        self.data_dir.join("raft")
    }

    /// Checks what can be checked without touching the files.
    pub fn validate(&self) -> Result<(), OrdererError> {
        let bad = |m: String| Err(OrdererError::Config(m));
        if self.name.trim().is_empty() {
            return bad("name must not be empty".into());
        }
        if self.msp_id.trim().is_empty() {
            return bad("msp_id must not be empty".into());
        }
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir must not be empty".into());
        }
        if self.max_message_size < 1024 {
            return bad(format!(
                "max_message_size {} is below 1 KiB; blocks would not fit",
                self.max_message_size
            ));
        }
        if Some(self.listen_address) == self.cluster_listen_address && self.listen_address.port() != 0 {
            return bad(format!(
                "listen_address and cluster_listen_address are both {}; the cluster port requires client certificates and needs its own port",
                self.listen_address
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_fills_missing_fields_with_defaults() {
        let cfg: OrdererConfig = serde_json::from_str(
            r#"{"name":"orderer1.orderer.carechain.local","listen_address":"0.0.0.0:8050","cluster_listen_address":null}"#,
        )
        .unwrap();
        assert_eq!(cfg.name, "orderer1.orderer.carechain.local");
        assert_eq!(cfg.listen_address.port(), 8050);
        assert_eq!(cfg.cluster_listen_address, None);
        assert_eq!(cfg.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(cfg.tls.cert, PathBuf::from("tls/server.crt"));
        assert!(cfg.validate().is_ok());
        assert!(serde_json::from_str::<OrdererConfig>(r#"{"nmae":"typo"}"#).is_err());
    }

    #[test]
    fn node_home_layout_and_validation() {
        let cfg = OrdererConfig::for_node_home("o0", "OrdererMSP", Path::new("/h"), Path::new("/d"));
        assert_eq!(cfg.tls.key, PathBuf::from("/h/tls/server.key"));
        assert_eq!(cfg.msp_dir, PathBuf::from("/h/msp"));
        assert_eq!(cfg.chains_dir(), PathBuf::from("/d/chains"));
        assert!(cfg.validate().is_ok());
        let same = OrdererConfig {
            cluster_listen_address: Some(SocketAddr::from(([0, 0, 0, 0], 7050))),
            ..OrdererConfig::default()
        };
        assert!(matches!(same.validate(), Err(OrdererError::Config(m)) if m.contains("own port")));
        let empty = OrdererConfig {
            msp_id: String::new(),
            ..OrdererConfig::default()
        };
        assert!(empty.validate().is_err());
    }
}
