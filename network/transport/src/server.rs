//! Accepting TLS connections with a trust set that can change at runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use crate::{TlsIdentity, TransportError};

/// Whether a server port demands client certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// Client-facing: certificates are optional but verified when presented.
    Optional,
    /// Node-to-node: a certificate chaining to the trust store is required.
    Required,
}

/// The TLS CA certificates a node trusts for client certificates, replaceable at runtime.
#[derive(Clone, Default)]
pub struct TrustStore {
    inner: Arc<RwLock<Trust>>,
}

#[derive(Default)]
struct Trust {
    certs: Vec<CertificateDer<'static>>,
    optional: Option<Arc<dyn ClientCertVerifier>>,
    required: Option<Arc<dyn ClientCertVerifier>>,
}

impl TrustStore {
    /// A store trusting the given CA certificates.
    pub fn new(certs: Vec<CertificateDer<'static>>) -> Result<TrustStore, TransportError> {
        let s = TrustStore::default();
        s.replace(certs)?;
        Ok(s)
    }

    /// Replaces the trusted CAs (for instance after a channel config update added an org).
    pub fn replace(&self, mut certs: Vec<CertificateDer<'static>>) -> Result<(), TransportError> {
        certs.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certs.dedup();
        let mut roots = RootCertStore::empty();
        for c in &certs {
            roots.add(c.clone())?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let build = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, TransportError> {
            let b = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
            let b = if optional { b.allow_unauthenticated() } else { b };
            b.build()
                .map_err(|e| TransportError::Tls(rustls::Error::General(e.to_string())))
        };
        let (optional, required) = if certs.is_empty() {
            (None, None)
        } else {
            (Some(build(true)?), Some(build(false)?))
        };
        *self.inner.write() = Trust {
            certs,
            optional,
            required,
        };
        Ok(())
    }

    /// The CA certificates currently trusted.
    pub fn certs(&self) -> Vec<CertificateDer<'static>> {
        self.inner.read().certs.clone()
    }
}

#[derive(Debug)]
struct DynamicVerifier {
    store: TrustStore,
    mode: ClientAuth,
    schemes: Vec<SignatureScheme>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustStore({} CAs)", self.inner.read().certs.len())
    }
}

impl DynamicVerifier {
    fn current(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        let t = self.store.inner.read();
        match self.mode {
            ClientAuth::Optional => t.optional.clone(),
            ClientAuth::Required => t.required.clone(),
        }
    }
}

impl ClientCertVerifier for DynamicVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mode == ClientAuth::Required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Hints would have to borrow from the changing store; clients pick their only certificate anyway.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.current() {
            Some(v) => v.verify_client_cert(end_entity, intermediates, now),
            None => Err(rustls::Error::General(
                "no TLS CA is trusted yet: this node has joined no channel".into(),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// The stream of accepted TLS connections that `tonic::transport::Server::serve_with_incoming` takes.
pub type TlsIncoming = ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>>;

/// Binds `addr` and returns the bound address and a stream of TLS connections. Handshakes run in
/// their own tasks so a slow or hostile client cannot stall the accept loop.
pub async fn serve_tls(
    addr: SocketAddr,
    identity: &TlsIdentity,
    trust: TrustStore,
    auth: ClientAuth,
) -> Result<(SocketAddr, TlsIncoming), TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let schemes = provider.signature_verification_algorithms.supported_schemes();
    let verifier = Arc::new(DynamicVerifier {
        store: trust,
        mode: auth,
        schemes,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain()?, identity.key()?)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            // Stop accepting (and release the port) as soon as the server drops the stream.
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = tx.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await;
                match handshake {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    Ok((local, ReceiverStream::new(rx)))
}
