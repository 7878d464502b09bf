//! `carechain.ca.CertificateAuthority` over gRPC and TLS: the network face of [`Ca`].
//!
//! The CA serves members of one organization before they take any part in endorse → order → validate:
//! it listens with server-authenticated TLS (clients need no certificate: enrolling members have none
//! yet), runs each operation on a blocking thread (PBKDF2 and signing are CPU work), and maps refusals
//! to gRPC codes with the CA's own message.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use carechain_proto::carechain::ca::certificate_authority_server::{
    CertificateAuthority, CertificateAuthorityServer,
};
use carechain_proto::carechain::ca::{
    CaInfo, EnrollRequest, EnrollResponse, GenCrlResponse, GetCaInfoRequest, ListIdentitiesResponse,
    RegisterResponse, RevokeResponse, SignedCaRequest,
};
use carechain_transport::{ClientAuth, TlsIdentity, TransportError, TrustStore, serve_tls};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

use crate::authority::Ca;
use crate::error::CaError;

/// Largest request or response (a CRL of many thousands of serials fits).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct CaService {
    ca: Arc<Ca>,
}

impl CaService {
    /// Serves `ca`.
    pub fn new(ca: Arc<Ca>) -> Self {
        Self { ca }
    }

    async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Ca, OffsetDateTime) -> Result<T, CaError> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let ca = self.ca.clone();
        tokio::task::spawn_blocking(move || op(&ca, OffsetDateTime::now_utc()))
            .await
            .map_err(|e| Status::internal(format!("CA operation panicked: {e}")))?
            .map(Response::new)
            .map_err(|e| e.to_status())
    }
}

#[tonic::async_trait]
impl CertificateAuthority for CaService {
    async fn get_ca_info(&self, _request: Request<GetCaInfoRequest>) -> Result<Response<CaInfo>, Status> {
        Ok(Response::new(self.ca.info()))
    }

    async fn enroll(&self, request: Request<EnrollRequest>) -> Result<Response<EnrollResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.enroll(&req, now)).await
    }

    async fn reenroll(&self, request: Request<SignedCaRequest>) -> Result<Response<EnrollResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.reenroll(&req, now)).await
    }

    async fn register(
        &self,
        request: Request<SignedCaRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.register(&req, now)).await
    }

    async fn revoke(&self, request: Request<SignedCaRequest>) -> Result<Response<RevokeResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.revoke(&req, now)).await
    }

    async fn gen_crl(&self, request: Request<SignedCaRequest>) -> Result<Response<GenCrlResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.gen_crl(&req, now)).await
    }

    async fn list_identities(
        &self,
        request: Request<SignedCaRequest>,
    ) -> Result<Response<ListIdentitiesResponse>, Status> {
        let req = request.into_inner();
        self.run(move |ca, now| ca.list(&req, now)).await
    }
}

/// A CA listening on an address.
#[derive(Debug)]
pub struct RunningCa {
    /// The bound address.
    pub address: SocketAddr,
    /// The server task; ends when the shutdown future completes or the server fails.
    pub task: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// Binds `listen` with TLS identity `tls` and serves `ca` until `shutdown` completes.
pub async fn serve(
    ca: Arc<Ca>,
    listen: SocketAddr,
    tls: &TlsIdentity,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningCa, TransportError> {
    // Clients present no certificate; the trust store is only there to verify one if they do.
    let roots = carechain_transport::certs_from_pem(ca.material().root().as_bytes(), "CA root")?;
    let trust = TrustStore::new(roots)?;
    let (address, incoming) = serve_tls(listen, tls, trust, ClientAuth::Optional).await?;
    let service = CertificateAuthorityServer::new(CaService::new(ca))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, shutdown),
    );
    Ok(RunningCa { address, task })
}
