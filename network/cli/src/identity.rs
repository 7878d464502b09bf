//! How a CLI command acts as a user: which MSP directory signs, which node it talks to, and how TLS to
//! that node is verified. Every flag has a `CARECHAIN_*` environment variable, like Fabric's
//! `CORE_PEER_*` variables.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use carechain_crypto::msp::SigningIdentity;
use carechain_transport::ClientTls;
use clap::Args;

/// Identity and connection flags shared by client subcommands.
#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
    /// Node address (`host:port`).
    #[arg(long = "address", env = "CARECHAIN_ADDRESS")]
    pub address: String,
    /// MSP directory of the identity to act as (signcerts + keystore).
    #[arg(long, env = "CARECHAIN_MSP_DIR")]
    pub msp_dir: PathBuf,
    /// MSP id of that identity.
    #[arg(long, env = "CARECHAIN_MSP_ID")]
    pub msp_id: String,
    /// TLS CA certificate of the node's organization.
    #[arg(long, env = "CARECHAIN_TLS_CA")]
    pub tls_ca: PathBuf,
    /// Name to verify in the node's TLS certificate (default: the address's host).
    #[arg(long, env = "CARECHAIN_SERVER_NAME")]
    pub server_name: Option<String>,
    /// Client TLS certificate, for nodes that require mutual TLS.
    #[arg(long, env = "CARECHAIN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client TLS key.
    #[arg(long, env = "CARECHAIN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ClientArgs {
    /// The signing identity.
    pub fn signer(&self) -> anyhow::Result<Arc<SigningIdentity>> {
        let s = SigningIdentity::load(&self.msp_dir, self.msp_id.clone())
            .with_context(|| format!("loading identity from {}", self.msp_dir.display()))?;
        Ok(Arc::new(s))
    }

    /// TLS settings for the node.
    pub fn tls(&self) -> anyhow::Result<ClientTls> {
        let ca_pem =
            std::fs::read(&self.tls_ca).with_context(|| format!("reading {}", self.tls_ca.display()))?;
        let identity = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some(carechain_transport::TlsIdentity::from_files(c, k)?),
            _ => None,
        };
        let host = self
            .address
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| self.address.clone());
        Ok(ClientTls {
            ca_pem,
            identity,
            server_name: Some(self.server_name.clone().unwrap_or(host)),
            max_message_bytes: 100 * 1024 * 1024,
        })
    }
}

/// Just an identity (for offline signing).
#[derive(Args, Clone, Debug)]
pub struct SignerArgs {
    /// MSP directory of the identity.
    #[arg(long, env = "CARECHAIN_MSP_DIR")]
    pub msp_dir: PathBuf,
    /// Its MSP id.
    #[arg(long, env = "CARECHAIN_MSP_ID")]
    pub msp_id: String,
}

impl SignerArgs {
    /// The signing identity.
    pub fn signer(&self) -> anyhow::Result<Arc<SigningIdentity>> {
        let s = SigningIdentity::load(&self.msp_dir, self.msp_id.clone())
            .with_context(|| format!("loading identity from {}", self.msp_dir.display()))?;
        Ok(Arc::new(s))
    }
}
