//! TLS for every carechain link: clients to the gateway, peers to peers, peers to orderers, orderers to
//! orderers. It sits under endorse → order → validate: every message of the pipeline crosses one of
//! these connections.
//!
//! Servers accept TLS with a client-certificate verifier backed by a [`TrustStore`] that is updated
//! when channel configurations change (a new org's TLS CA is trusted as soon as its config update
//! commits, without a restart). Client-facing ports accept connections without client certificates (the
//! Fabric SDKs and Caliper connect that way) but still verify any certificate that is presented;
//! node-to-node ports require one. ALPN is `h2`, which Node's gRPC client insists on.

mod client;
mod server;

pub use client::{ClientTls, connect, connect_lazy};
pub use server::{ClientAuth, TlsIncoming, TrustStore, serve_tls};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// TLS setup failures, naming the file or certificate at fault.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A PEM input holds no usable certificate or key.
    #[error("{what}: {detail}")]
    Pem {
        /// What was being read.
        what: String,
        /// Why it failed.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration rejected: {0}")]
    Tls(#[from] rustls::Error),
    /// Binding or accepting failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// tonic could not build the channel.
    #[error("gRPC channel error: {0}")]
    Channel(#[from] tonic::transport::Error),
    /// An endpoint string is not a valid URI.
    #[error("invalid endpoint {0}")]
    Endpoint(String),
}

/// A node's TLS identity: its certificate chain and private key, as PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Certificate (chain), PEM.
    pub cert_pem: Vec<u8>,
    /// PKCS#8 private key, PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Reads `server.crt`/`server.key` style files.
    pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsIdentity, TransportError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| TransportError::Pem {
                what: p.display().to_string(),
                detail: e.to_string(),
            })
        };
        Ok(TlsIdentity {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        })
    }

    fn chain(&self) -> Result<Vec<CertificateDer<'static>>, TransportError> {
        certs_from_pem(&self.cert_pem, "TLS certificate")
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, TransportError> {
        PrivateKeyDer::from_pem_slice(&self.key_pem).map_err(|e| TransportError::Pem {
            what: "TLS private key".into(),
            detail: e.to_string(),
        })
    }
}

/// All certificates in a PEM bundle; an empty bundle is an error naming `what`.
pub fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Pem {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TransportError::Pem {
            what: what.to_string(),
            detail: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Installs ring as the process-wide rustls crypto provider (idempotent). Call before any TLS use.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// SHA-256 of a DER certificate: how Fabric binds a TLS session to a client (`tls_cert_hash`).
pub fn cert_hash(der: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}
