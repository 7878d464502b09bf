//! Dialing TLS gRPC endpoints as a node (with its client certificate) or as an application.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{TlsIdentity, TransportError};

/// How to dial one endpoint over TLS.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// CA certificates (PEM, concatenated) the server's certificate must chain to.
    pub ca_pem: Vec<u8>,
    /// Client certificate for mutual TLS; `None` for a plain TLS client.
    pub identity: Option<TlsIdentity>,
    /// Name to verify in the server certificate (the SAN), e.g. `peer0.hospitala.carechain.local`.
    pub server_name: Option<String>,
    /// Largest message in either direction.
    pub max_message_bytes: usize,
}

fn endpoint(address: &str, tls: &ClientTls) -> Result<Endpoint, TransportError> {
    let uri = if address.contains("://") {
        address.replace("grpcs://", "https://")
    } else {
        format!("https://{address}")
    };
    let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem));
    if let Some(id) = &tls.identity {
        cfg = cfg.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    if let Some(name) = &tls.server_name {
        cfg = cfg.domain_name(name.clone());
    }
    let ep = Endpoint::from_shared(uri)
        .map_err(|_| TransportError::Endpoint(address.to_string()))?
        .tls_config(cfg)?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(ep)
}

/// Connects now, failing if the endpoint is unreachable.
pub async fn connect(address: &str, tls: &ClientTls) -> Result<Channel, TransportError> {
    Ok(endpoint(address, tls)?.connect().await?)
}

/// A channel that connects on first use and reconnects after failures.
pub fn connect_lazy(address: &str, tls: &ClientTls) -> Result<Channel, TransportError> {
    Ok(endpoint(address, tls)?.connect_lazy())
}
