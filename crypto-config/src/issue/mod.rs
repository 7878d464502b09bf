//! X.509 issuance: organization CAs, node and user certificates with NodeOUs and ABAC attributes,
//! and certificate revocation lists.
//!
//! Every identity that endorses, orders or submits in carechain holds a certificate issued here
//! (by `cryptogen` for a static network, or later by a CA service from a CSR). The profiles follow
//! Fabric's cryptogen and fabric-ca so that Fabric tooling accepts them: the NodeOU (`client`,
//! `peer`, `admin`, `orderer`) sits in the subject OU, TLS certificates carry SANs and both TLS
//! EKUs, CA certificates may sign certificates and CRLs, and ABAC attributes (e.g. `role=doctor`)
//! travel in fabric-ca's extension `1.2.3.4.5.6.7.8.1` whose value is the raw JSON
//! `{"attrs":{...}}`.

mod profile;
mod request;

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateRevocationListParams, Issuer, KeyIdMethod, RevokedCertParams, SerialNumber,
};

use profile::{RawP256Key, ca_params, leaf_params, rcgen_err};

use crate::pem;
use crate::sign::{KeyError, SigningKey};

/// OID arcs of Fabric's attribute extension (fabric-ca `attrmgr.AttrOID`).
pub const ATTRIBUTE_OID: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 1];
/// Dotted form of [`ATTRIBUTE_OID`].
pub const ATTRIBUTE_OID_STR: &str = "1.2.3.4.5.6.7.8.1";

/// Why a certificate, CA or CRL could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// Key generation or decoding failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// rcgen refused the parameters (bad name, bad dates...).
    #[error("cannot issue {what}: {reason}")]
    Rcgen {
        /// What was being issued, e.g. `certificate CN=peer0.hospitala.carechain.local`.
        what: String,
        /// rcgen's explanation.
        reason: String,
    },
    /// The CA certificate cannot be parsed.
    #[error("CA certificate is unreadable: {0}")]
    BadCaCertificate(String),
    /// The certificate given as a CA lacks `basicConstraints CA:TRUE`.
    #[error("certificate {0} is not a CA certificate (basicConstraints CA is not set)")]
    NotCa(String),
    /// The CA key is not the key of the CA certificate.
    #[error("private key does not match the public key of CA certificate {0}")]
    KeyMismatch(String),
    /// A public key to certify is not an uncompressed P-256 point.
    #[error("public key to certify is not a valid uncompressed P-256 point")]
    InvalidPublicKey,
    /// A CSR is malformed, its self-signature fails, or its key is not P-256.
    #[error("certificate signing request rejected: {0}")]
    BadCsr(String),
    /// A SAN is neither an IP address nor an ASCII DNS name.
    #[error("subject alternative name {0:?} is not an IP address or ASCII DNS name")]
    BadSan(String),
    /// Reading or writing CA files failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
}

pub use profile::attributes_json;
pub use request::{CertUsage, IssuedCert, LeafRequest, Revocation, Subject, Validity};

/// A CA (root or intermediate) that can issue certificates and CRLs.
pub struct CertificateAuthority {
    issuer: Issuer<'static, SigningKey>,
    cert_der: Vec<u8>,
    cert_pem: String,
    name: String,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Creates a self-signed root CA with a fresh key.
    pub fn new_root(subject: &Subject, validity: Validity) -> Result<Self, IssueError> {
        Self::new_root_with_key(subject, validity, SigningKey::generate()?)
    }

    /// Creates a self-signed root CA for an existing key.
    pub fn new_root_with_key(
        subject: &Subject,
        validity: Validity,
        key: SigningKey,
    ) -> Result<Self, IssueError> {
        let params = ca_params(subject, validity, BasicConstraints::Unconstrained)?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| rcgen_err(&subject.common_name, e))?;
        Self::from_der(cert.der().to_vec(), key)
    }

    /// Creates an intermediate CA, with a fresh key, signed by this CA. It may issue leaves only.
    pub fn new_intermediate(&self, subject: &Subject, validity: Validity) -> Result<Self, IssueError> {
        let key = SigningKey::generate()?;
        let params = ca_params(subject, validity, BasicConstraints::Constrained(0))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| rcgen_err(&subject.common_name, e))?;
        Self::from_der(cert.der().to_vec(), key)
    }

    /// Loads a CA from its PEM certificate and key (e.g. `ca/ca.<domain>-cert.pem` and `ca/priv_sk`).
    pub fn from_pem(cert_pem: &str, key: SigningKey) -> Result<Self, IssueError> {
        let der = pem::first_certificate(cert_pem.as_bytes())
            .map_err(|e| IssueError::BadCaCertificate(e.to_string()))?;
        Self::from_der(der, key)
    }

    /// Loads a CA from a certificate file and a key file.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, IssueError> {
        let text = std::fs::read_to_string(cert_path).map_err(|e| IssueError::Io {
            path: cert_path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_pem(&text, SigningKey::load(key_path)?)
    }

    fn from_der(cert_der: Vec<u8>, key: SigningKey) -> Result<Self, IssueError> {
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| IssueError::BadCaCertificate(e.to_string()))?;
        let name = crate::msp::display_name(cert.subject());
        if !cert.is_ca() {
            return Err(IssueError::NotCa(name));
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key() {
            return Err(IssueError::KeyMismatch(name));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key)
            .map_err(|e| IssueError::BadCaCertificate(e.to_string()))?;
        Ok(Self {
            issuer,
            cert_pem: pem::encode_certificate(&cert_der),
            cert_der,
            name,
        })
    }

    /// Writes `<dir>/<cert_file>` (PEM certificate) and `<dir>/priv_sk` (PKCS#8 key).
    pub fn save(&self, dir: &Path, cert_file: &str) -> Result<(), IssueError> {
        let path = dir.join(cert_file);
        std::fs::write(&path, &self.cert_pem).map_err(|e| IssueError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(self.key().save(&dir.join("priv_sk"))?)
    }

    /// The CA certificate as PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's signing key.
    pub fn key(&self) -> &SigningKey {
        self.issuer.key()
    }

    /// `CN=...` of the CA, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Issues a leaf certificate for a fresh key and returns both.
    pub fn issue_leaf(&self, req: &LeafRequest) -> Result<(IssuedCert, SigningKey), IssueError> {
        let key = SigningKey::generate()?;
        let cert = self.issue(req, &key)?;
        Ok((cert, key))
    }

    /// Issues a leaf certificate for the public half of `subject_key`.
    pub fn issue(&self, req: &LeafRequest, subject_key: &SigningKey) -> Result<IssuedCert, IssueError> {
        self.sign_leaf(req, subject_key)
    }

    /// Issues a leaf certificate for a bare public key (uncompressed SEC1 P-256 point).
    pub fn issue_for_public_key(
        &self,
        req: &LeafRequest,
        public_key_sec1: &[u8],
    ) -> Result<IssuedCert, IssueError> {
        p256::PublicKey::from_sec1_bytes(public_key_sec1).map_err(|_| IssueError::InvalidPublicKey)?;
        if public_key_sec1.first() != Some(&0x04) {
            return Err(IssueError::InvalidPublicKey);
        }
        self.sign_leaf(req, &RawP256Key(public_key_sec1))
    }

    /// Issues a leaf certificate for the key in a PEM CSR. The CSR's self-signature is checked;
    /// the subject and extensions come from `req` (the CA decides them, as fabric-ca does from the
    /// enrollment record), never from the CSR.
    pub fn issue_for_csr(&self, csr_pem: &str, req: &LeafRequest) -> Result<IssuedCert, IssueError> {
        let csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| IssueError::BadCsr(e.to_string()))?;
        if csr.public_key.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
            return Err(IssueError::BadCsr("key is not ECDSA P-256".into()));
        }
        self.issue_for_public_key(req, rcgen::PublicKeyData::der_bytes(&csr.public_key))
    }

    /// Issues a CRL (PEM, label `X509 CRL`) listing `revoked`, valid for `validity`.
    pub fn issue_crl(
        &self,
        revoked: &[Revocation],
        crl_number: u64,
        validity: Validity,
    ) -> Result<String, IssueError> {
        let params = CertificateRevocationListParams {
            this_update: validity.not_before,
            next_update: validity.not_after,
            crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|r| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&r.serial),
                    revocation_time: r.revoked_at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(|e| IssueError::Rcgen {
            what: format!("CRL of {}", self.name),
            reason: e.to_string(),
        })?;
        Ok(pem::encode("X509 CRL", crl.der()))
    }

    fn sign_leaf(
        &self,
        req: &LeafRequest,
        public_key: &impl rcgen::PublicKeyData,
    ) -> Result<IssuedCert, IssueError> {
        let (params, serial) = leaf_params(req)?;
        let cert = params
            .signed_by(public_key, &self.issuer)
            .map_err(|e| rcgen_err(&req.subject.common_name, e))?;
        let der = cert.der().to_vec();
        Ok(IssuedCert {
            pem: pem::encode_certificate(&der),
            der,
            serial,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
