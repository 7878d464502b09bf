//! The local signing identity of a node or user: the certificate from `signcerts/` and the
//! matching key from `keystore/`.
//!
//! Clients sign proposals and transactions with it, peers sign endorsements, orderers sign
//! blocks. It serializes itself as `SerializedIdentity{mspid, id_bytes = PEM certificate}`, the
//! `creator` and `endorser` bytes every verifier feeds to [`super::MspManager`].

use std::path::Path;

use carechain_proto::msp::SerializedIdentity;
use prost::Message;

use super::cert::CertInfo;
use super::dir::list_files;
use super::error::MspError;
use crate::pem;
use crate::sign::SigningKey;

/// A certificate and its private key, under an MSP id.
#[derive(Debug)]
pub struct SigningIdentity {
    msp_id: String,
    cert_pem: Vec<u8>,
    cert: CertInfo,
    key: SigningKey,
    serialized: Vec<u8>,
}

impl SigningIdentity {
    /// Pairs a PEM certificate with its key; fails if the key is not the certificate's.
    pub fn new(msp_id: impl Into<String>, cert_pem: &[u8], key: SigningKey) -> Result<Self, MspError> {
        let msp_id = msp_id.into();
        let bad = |reason: String| MspError::BadCertificate {
            msp: msp_id.clone(),
            reason,
        };
        let der = pem::first_certificate(cert_pem).map_err(|e| bad(e.to_string()))?;
        let cert = CertInfo::parse(der).map_err(bad)?;
        if cert.p256_key.as_deref() != Some(key.public_key()) {
            return Err(MspError::KeyNotFound {
                keystore: "(given key)".into(),
                cert: cert.name,
            });
        }
        // Canonical PEM, byte-identical to Go's pem.EncodeToMemory as Fabric serializes it.
        let cert_pem = pem::encode_certificate(&cert.der).into_bytes();
        let serialized = SerializedIdentity {
            mspid: msp_id.clone(),
            id_bytes: cert_pem.clone().into(),
        }
        .encode_to_vec();
        Ok(Self {
            msp_id,
            cert_pem,
            cert,
            key,
            serialized,
        })
    }

    /// Loads `signcerts/` (first certificate) and the `keystore/` key matching it.
    pub fn load(msp_dir: &Path, msp_id: impl Into<String>) -> Result<Self, MspError> {
        let msp_id = msp_id.into();
        let signcerts = msp_dir.join("signcerts");
        let cert_file = list_files(&signcerts)?
            .into_iter()
            .next()
            .ok_or_else(|| MspError::io(&signcerts, "no signing certificate"))?;
        let cert_pem = std::fs::read(&cert_file).map_err(|e| MspError::io(&cert_file, e))?;
        let der = pem::first_certificate(&cert_pem).map_err(|e| MspError::io(&cert_file, e))?;
        let cert = CertInfo::parse(der).map_err(|e| MspError::io(&cert_file, e))?;
        let keystore = msp_dir.join("keystore");
        for file in list_files(&keystore)? {
            // Other files (foreign keys, notes) are skipped; only the matching key matters.
            if let Ok(key) = SigningKey::load(&file)
                && cert.p256_key.as_deref() == Some(key.public_key())
            {
                return Self::new(msp_id, &cert_pem, key);
            }
        }
        Err(MspError::KeyNotFound {
            keystore: keystore.display().to_string(),
            cert: cert.name,
        })
    }

    /// The MSP id.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// Subject common name.
    pub fn common_name(&self) -> &str {
        &self.cert.common_name
    }

    /// The certificate as canonical PEM (what goes into `id_bytes`).
    pub fn certificate_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The certificate DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert.der
    }

    /// The uncompressed SEC1 public key.
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key()
    }

    /// The private key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// `SerializedIdentity{mspid, id_bytes}` as a message.
    pub fn serialized_identity(&self) -> SerializedIdentity {
        SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.cert_pem.clone().into(),
        }
    }

    /// The encoded `SerializedIdentity` (the `creator` / `endorser` bytes).
    pub fn serialize(&self) -> &[u8] {
        &self.serialized
    }

    /// Signs SHA-256(`msg`): DER, low-S.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(msg)
    }
}
