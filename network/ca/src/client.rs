//! A client of the CA, used by `carechain ca ...` and the tests: enrolls with a key generated here
//! (only the CSR travels), signs registrar requests, and writes what it receives as a Fabric MSP
//! directory (`signcerts/cert.pem`, `keystore/priv_sk`, `cacerts/`, `intermediatecerts/`,
//! `tlscacerts/`, `config.yaml`) that `SigningIdentity::load` and every peer accept.
//!
//! An enrolled MSP directory is what a member then uses to sign proposals and transactions in
//! endorse → order → validate.

use std::path::{Path, PathBuf};

use carechain_crypto::SigningKey;
use carechain_crypto::msp::{MspError, SigningIdentity};
use carechain_crypto::sign::KeyError;
use carechain_proto::carechain::ca::ca_request::Body;
use carechain_proto::carechain::ca::certificate_authority_client::CertificateAuthorityClient;
use carechain_proto::carechain::ca::{
    Attribute, AttributeRequest, CaInfo, EnrollRequest, EnrollResponse, GenCrlRequest, GenCrlResponse,
    GetCaInfoRequest, IdentityInfo, ListIdentitiesRequest, ListIdentitiesResponse, ReenrollRequest,
    RegisterRequest, RegisterResponse, RevokeRequest, RevokeResponse,
};
use carechain_transport::{ClientTls, TransportError};
use tonic::transport::Channel;

use crate::auth::sign_request;
use crate::model::Profile;
use crate::server::MAX_MESSAGE_BYTES;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not connect.
    #[error("cannot reach the CA: {0}")]
    Transport(TransportError),
    /// The CA refused or failed; the message is the CA's.
    #[error("{} ({:?})", .0.message(), .0.code())]
    Status(tonic::Status),
    /// Key generation or storage failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The CSR could not be built.
    #[error("{0}")]
    Csr(String),
    /// The CA's answer is incomplete or does not fit the key.
    #[error("unusable CA response: {0}")]
    Response(String),
    /// Writing the MSP directory failed.
    #[error(transparent)]
    Msp(#[from] MspError),
    /// Filesystem error.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        reason: String,
    },
}

// Not `#[from]`: the message already says everything, and a source would repeat it in `{:#}`.
impl From<TransportError> for ClientError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

impl From<tonic::Status> for ClientError {
    fn from(s: tonic::Status) -> Self {
        Self::Status(s)
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> ClientError {
    ClientError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// What to ask for when enrolling.
#[derive(Debug, Clone, Default)]
pub struct EnrollOptions {
    /// Signing (MSP) or TLS certificate.
    pub profile: Profile,
    /// Attributes to include (empty: the identity's ecert attributes).
    pub attr_reqs: Vec<AttributeRequest>,
    /// SANs (TLS profile).
    pub hosts: Vec<String>,
}

/// An enrollment result: the locally generated key and what the CA issued for it.
#[derive(Debug)]
pub struct Enrollment {
    /// The private key (never sent to the CA).
    pub key: SigningKey,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its serial, hex.
    pub serial: String,
    /// Its expiry (Unix seconds).
    pub not_after: i64,
    /// The CA's chain and MSP.
    pub ca: CaInfo,
}

impl Enrollment {
    fn from_response(key: SigningKey, r: EnrollResponse) -> Result<Self, ClientError> {
        let cert_pem = String::from_utf8(r.cert_pem.to_vec())
            .map_err(|_| ClientError::Response("certificate is not PEM text".into()))?;
        let ca =
            r.ca.ok_or_else(|| ClientError::Response("no CA information".into()))?;
        let e = Self {
            key,
            cert_pem,
            serial: r.serial,
            not_after: r.not_after.map_or(0, |t| t.seconds),
            ca,
        };
        e.check_key()?;
        Ok(e)
    }

    fn check_key(&self) -> Result<(), ClientError> {
        let der = carechain_crypto::pem::first_certificate(self.cert_pem.as_bytes())
            .map_err(|e| ClientError::Response(e.to_string()))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| ClientError::Response(e.to_string()))?;
        if cert.public_key().subject_public_key.data.as_ref() != self.key.public_key() {
            return Err(ClientError::Response(
                "the certificate is not for the key sent in the CSR".into(),
            ));
        }
        Ok(())
    }

    /// The signing identity (certificate + key) under the CA's MSP id.
    pub fn signing_identity(&self) -> Result<SigningIdentity, ClientError> {
        let key = SigningKey::from_pem(&self.key.to_pkcs8_pem())?;
        Ok(SigningIdentity::new(
            self.ca.msp_id.clone(),
            self.cert_pem.as_bytes(),
            key,
        )?)
    }

    /// Writes a Fabric MSP directory at `dir`, replacing any previous content (built next to it
    /// first, then swapped in, so a failure leaves the old directory intact).
    pub fn write_msp_dir(&self, dir: &Path) -> Result<(), ClientError> {
        let cfg = self
            .ca
            .msp_config
            .as_ref()
            .ok_or_else(|| ClientError::Response("no MSP configuration".into()))?;
        replace_dir(dir, |tmp| {
            carechain_crypto::msp::write_msp_dir(cfg, tmp)?;
            write(&tmp.join("signcerts/cert.pem"), self.cert_pem.as_bytes())?;
            create_dir(&tmp.join("keystore"))?;
            self.key.save(&tmp.join("keystore/priv_sk"))?;
            Ok(())
        })
    }

    /// Writes a TLS directory in Fabric's node layout: `server.crt`, `server.key`, `ca.crt` (the CA
    /// chain's root).
    pub fn write_tls_dir(&self, dir: &Path) -> Result<(), ClientError> {
        let root = self
            .ca
            .ca_chain
            .last()
            .ok_or_else(|| ClientError::Response("empty CA chain".into()))?;
        replace_dir(dir, |tmp| {
            let chain: Vec<u8> = self
                .ca
                .ca_chain
                .iter()
                .take(self.ca.ca_chain.len().saturating_sub(1))
                .fold(self.cert_pem.clone().into_bytes(), |mut acc, c| {
                    acc.extend_from_slice(c);
                    acc
                });
            write(&tmp.join("server.crt"), &chain)?;
            self.key.save(&tmp.join("server.key"))?;
            write(&tmp.join("ca.crt"), root)
        })
    }
}

fn create_dir(path: &Path) -> Result<(), ClientError> {
    std::fs::create_dir_all(path).map_err(|e| io_err(path, e))
}

fn write(path: &Path, data: &[u8]) -> Result<(), ClientError> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    std::fs::write(path, data).map_err(|e| io_err(path, e))
}

fn sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "msp".into());
    dir.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

fn replace_dir(dir: &Path, fill: impl FnOnce(&Path) -> Result<(), ClientError>) -> Result<(), ClientError> {
    let tmp = sibling(dir, "new");
    let old = sibling(dir, "old");
    let _ = std::fs::remove_dir_all(&tmp);
    create_dir(&tmp)?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(dir, &old).map_err(|e| io_err(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| io_err(dir, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// A connection to a CA.
#[derive(Debug, Clone)]
pub struct CaClient {
    inner: CertificateAuthorityClient<Channel>,
}

impl CaClient {
    /// Connects to the CA at `address` (`host:port`).
    pub async fn connect(address: &str, tls: &ClientTls) -> Result<Self, ClientError> {
        let ch = carechain_transport::connect(address, tls).await?;
        Ok(Self {
            inner: CertificateAuthorityClient::new(ch)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        })
    }

    /// The CA's chain and MSP.
    pub async fn info(&mut self) -> Result<CaInfo, ClientError> {
        Ok(self.inner.get_ca_info(GetCaInfoRequest {}).await?.into_inner())
    }

    /// Enrolls `id` with `secret`: generates a key here and sends only its CSR.
    pub async fn enroll(
        &mut self,
        id: &str,
        secret: &str,
        opts: &EnrollOptions,
    ) -> Result<Enrollment, ClientError> {
        let key = SigningKey::generate()?;
        let csr_pem = crate::csr::build(&key, id).map_err(ClientError::Csr)?;
        let r = self
            .inner
            .enroll(EnrollRequest {
                enrollment_id: id.into(),
                secret: secret.into(),
                csr_pem,
                profile: profile_wire(opts.profile),
                attr_reqs: opts.attr_reqs.clone(),
                hosts: opts.hosts.clone(),
            })
            .await?
            .into_inner();
        Enrollment::from_response(key, r)
    }

    /// Re-enrolls `signer` (its current certificate authenticates the request), with a new key or,
    /// with `reuse_key`, the same one.
    pub async fn reenroll(
        &mut self,
        signer: &SigningIdentity,
        opts: &EnrollOptions,
        reuse_key: bool,
    ) -> Result<Enrollment, ClientError> {
        let key = if reuse_key {
            SigningKey::from_pem(&signer.key().to_pkcs8_pem())?
        } else {
            SigningKey::generate()?
        };
        let csr_pem = crate::csr::build(&key, signer.common_name()).map_err(ClientError::Csr)?;
        let req = sign_request(
            signer,
            Body::Reenroll(ReenrollRequest {
                csr_pem,
                profile: profile_wire(opts.profile),
                attr_reqs: opts.attr_reqs.clone(),
                hosts: opts.hosts.clone(),
            }),
        );
        let r = self.inner.reenroll(req).await?.into_inner();
        Enrollment::from_response(key, r)
    }

    /// Registers an identity as `registrar`.
    pub async fn register(
        &mut self,
        registrar: &SigningIdentity,
        req: RegisterRequest,
    ) -> Result<RegisterResponse, ClientError> {
        let signed = sign_request(registrar, Body::Register(req));
        Ok(self.inner.register(signed).await?.into_inner())
    }

    /// Revokes an identity or a certificate as `revoker`.
    pub async fn revoke(
        &mut self,
        revoker: &SigningIdentity,
        req: RevokeRequest,
    ) -> Result<RevokeResponse, ClientError> {
        let signed = sign_request(revoker, Body::Revoke(req));
        Ok(self.inner.revoke(signed).await?.into_inner())
    }

    /// Generates a CRL as `caller`.
    pub async fn gen_crl(&mut self, caller: &SigningIdentity) -> Result<GenCrlResponse, ClientError> {
        let signed = sign_request(caller, Body::GenCrl(GenCrlRequest {}));
        Ok(self.inner.gen_crl(signed).await?.into_inner())
    }

    /// Lists identities visible to `caller` (`only`: one enrollment id).
    pub async fn list(
        &mut self,
        caller: &SigningIdentity,
        only: &str,
    ) -> Result<ListIdentitiesResponse, ClientError> {
        let signed = sign_request(
            caller,
            Body::ListIdentities(ListIdentitiesRequest {
                enrollment_id: only.into(),
            }),
        );
        Ok(self.inner.list_identities(signed).await?.into_inner())
    }
}

fn profile_wire(p: Profile) -> String {
    match p {
        Profile::Signing => String::new(),
        Profile::Tls => "tls".into(),
    }
}

/// Parses the CLI's `name=value[:ecert|:noecert]`. Without a suffix, ordinary attributes go into
/// enrollment certificates and `hf.*` privileges stay in the registry.
pub fn attribute_from_spec(spec: &str) -> Result<Attribute, String> {
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| format!("attribute {spec:?} is not name=value"))?;
    let (value, ecert) = if let Some(v) = rest.strip_suffix(":ecert") {
        (v, true)
    } else if let Some(v) = rest.strip_suffix(":noecert") {
        (v, false)
    } else {
        (rest, !name.starts_with("hf."))
    };
    Ok(Attribute {
        name: name.into(),
        value: value.into(),
        ecert,
    })
}

/// Human-readable lines for `carechain ca list`: one per identity, its attributes, one per
/// certificate with its expiry.
pub fn describe_identities(ids: &[IdentityInfo]) -> Vec<String> {
    let mut out = Vec::new();
    for i in ids {
        let attrs: Vec<String> = i
            .attributes
            .iter()
            .filter(|a| a.name != crate::model::ENROLLMENT_ID && a.name != crate::model::TYPE)
            .map(|a| {
                format!(
                    "{}={}{}",
                    a.name,
                    a.value,
                    if a.ecert { "" } else { " (registry only)" }
                )
            })
            .collect();
        out.push(format!(
            "{}  type={} affiliation={:?} state={} enrollments={}/{} registered_by={}",
            i.enrollment_id,
            i.r#type,
            i.affiliation,
            i.state,
            i.enrollments,
            crate::authority::max_text(i.max_enrollments),
            i.registered_by
        ));
        out.push(format!("    attributes: {}", attrs.join(", ")));
        for c in &i.certificates {
            let until = c.not_after.as_ref().map_or(0, |t| t.seconds);
            let reason = if c.reason.is_empty() {
                String::new()
            } else {
                format!(" reason {}", c.reason)
            };
            out.push(format!(
                "    certificate {} {} {} until {} ({} days){reason}",
                c.serial,
                c.profile,
                c.status,
                crate::expiry::format_unix(until),
                crate::expiry::days_until(until),
            ));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attribute_specs() {
        let a = attribute_from_spec("role=doctor").unwrap();
        assert_eq!(
            (a.name.as_str(), a.value.as_str(), a.ecert),
            ("role", "doctor", true)
        );
        let a = attribute_from_spec("licence=SYNTH:1:noecert").unwrap();
        assert_eq!((a.value.as_str(), a.ecert), ("SYNTH:1", false));
        let a = attribute_from_spec("hf.Registrar.Attributes=role=nurse|patient,department").unwrap();
        assert_eq!(a.value, "role=nurse|patient,department");
        assert!(!a.ecert);
        assert!(attribute_from_spec("hf.Revoker=true:ecert").unwrap().ecert);
        assert!(attribute_from_spec("role").is_err());
    }
}
