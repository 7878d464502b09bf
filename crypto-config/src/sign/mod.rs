//! ECDSA P-256 / SHA-256 signatures, DER-encoded and always low-S, exactly as Fabric signs.
//!
//! This is the one signing and verifying primitive of carechain: clients sign proposals and
//! envelopes, peers sign endorsements, orderers sign blocks, and the committer verifies all of
//! them. Both directions use `ring` (about 25k verifies per second per core, and the same provider
//! rustls uses); `p256` is only a fallback for decoding private-key files `ring` is too strict
//! about. Keys are stored as PKCS#8 PEM, the format of a Fabric keystore's `priv_sk`.

mod der;
mod verified;

pub use verified::forget_all as forget_verified_signatures;

use std::fmt;
use std::path::Path;

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
};
use sha2::Digest;

use crate::pem;

/// Length of an uncompressed SEC1 P-256 public key (`0x04 ‖ x ‖ y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// SHA-256 of `data`, the hash under every signature and transaction id.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Why a signature was rejected. Each cause is its own variant so callers can report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The bytes are not a strict DER `SEQUENCE { r, s }` with scalars in range.
    #[error("malformed DER signature: {0}")]
    MalformedDer(&'static str),
    /// A valid-looking signature whose `s` is in the upper half of the group order.
    #[error("high-S signature rejected (signatures must be low-S, as in Fabric)")]
    HighS,
    /// The public key is not an uncompressed SEC1 P-256 point.
    #[error("public key is not an uncompressed P-256 point ({len} bytes)")]
    InvalidPublicKey {
        /// Length of the key that was given.
        len: usize,
    },
    /// Well-formed, low-S, but not made by this key over these bytes.
    #[error("signature does not verify against the public key and message")]
    Mismatch,
}

/// Why a private key could not be created, read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random generator failed.
    #[error("key generation failed: system random generator unavailable")]
    Rng,
    /// The input holds no usable private-key PEM block.
    #[error("no private key found: {0}")]
    NoKey(String),
    /// The key material is not a P-256 private key.
    #[error("invalid P-256 private key ({format}): {reason}")]
    Invalid {
        /// Which encoding was being decoded (PKCS#8, SEC1).
        format: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// Reading or writing a key file failed.
    #[error("key file {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
}

/// A P-256 private key that signs Fabric-style: SHA-256, DER, low-S.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key from the system random generator.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).map_err(|_| KeyError::Rng)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Decodes a PKCS#8 DER private key. Keys without the optional embedded public key (which
    /// `ring` insists on) are re-encoded canonically through `p256`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng) {
            return Ok(Self {
                pair,
                pkcs8: der.to_vec(),
            });
        }
        use p256::pkcs8::DecodePrivateKey;
        let secret = p256::SecretKey::from_pkcs8_der(der).map_err(|e| KeyError::Invalid {
            format: "PKCS#8",
            reason: e.to_string(),
        })?;
        Self::from_p256(&secret)
    }

    /// Decodes a PEM private key: PKCS#8 (`PRIVATE KEY`, Fabric's keystore format) or SEC1
    /// (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes).
    pub fn from_pem(pem_text: &str) -> Result<Self, KeyError> {
        let blocks = pem::decode_all(pem_text.as_bytes()).map_err(|e| KeyError::NoKey(e.to_string()))?;
        for block in blocks {
            match block.label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&block.contents),
                "EC PRIVATE KEY" => {
                    let secret =
                        p256::SecretKey::from_sec1_der(&block.contents).map_err(|e| KeyError::Invalid {
                            format: "SEC1",
                            reason: e.to_string(),
                        })?;
                    return Self::from_p256(&secret);
                }
                _ => {}
            }
        }
        Err(KeyError::NoKey(
            "expected a PEM block labelled PRIVATE KEY or EC PRIVATE KEY".into(),
        ))
    }

    fn from_p256(secret: &p256::SecretKey) -> Result<Self, KeyError> {
        use p256::pkcs8::EncodePrivateKey;
        let doc = secret.to_pkcs8_der().map_err(|e| KeyError::Invalid {
            format: "PKCS#8",
            reason: e.to_string(),
        })?;
        let rng = SystemRandom::new();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_bytes(), &rng).map_err(|e| {
                KeyError::Invalid {
                    format: "PKCS#8",
                    reason: e.to_string(),
                }
            })?;
        Ok(Self {
            pair,
            pkcs8: doc.as_bytes().to_vec(),
        })
    }

    /// Reads a PEM key file (e.g. `keystore/priv_sk`).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_pem(&text).map_err(|e| match e {
            KeyError::NoKey(reason) => KeyError::NoKey(format!("{}: {reason}", path.display())),
            other => other,
        })
    }

    /// Writes the key as PKCS#8 PEM, readable only by the owner on Unix.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io_err = |e: std::io::Error| KeyError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_err)?;
        std::io::Write::write_all(&mut file, self.to_pkcs8_pem().as_bytes()).map_err(io_err)
    }

    /// The PKCS#8 DER encoding of this key.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The PKCS#8 PEM encoding of this key (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    /// The public key as an uncompressed SEC1 point (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Signs SHA-256(`msg`) and returns a DER signature with low S.
    ///
    /// # Panics
    /// Only if the operating system's random generator fails, which leaves no safe way to sign.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self.try_sign(msg) {
            Ok(sig) => sig,
            Err(e) => panic!("ECDSA signing failed: {e}"),
        }
    }

    /// Like [`SigningKey::sign`], but reports a random-generator failure instead of panicking.
    pub fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let sig = self.pair.sign(&rng, msg).map_err(|_| KeyError::Rng)?;
        // ring emits valid DER; only the S half needs attention (about half of its outputs are high).
        let sig = match der::parse(sig.as_ref()) {
            Ok(raw) if raw.is_high_s() => raw.to_low_s().to_der(),
            _ => sig.as_ref().to_vec(),
        };
        // This process will meet its own signature again (a peer validates its endorsements in every
        // block); it is good by construction.
        verified::remember(self.pair.public_key().as_ref(), msg, &sig);
        Ok(sig)
    }
}

/// Verifies a DER ECDSA P-256 / SHA-256 signature over `msg`, rejecting high-S as Fabric does.
pub fn verify(public_key_sec1: &[u8], msg: &[u8], der_sig: &[u8]) -> Result<(), SignatureError> {
    if public_key_sec1.len() != PUBLIC_KEY_LEN || public_key_sec1[0] != 0x04 {
        return Err(SignatureError::InvalidPublicKey {
            len: public_key_sec1.len(),
        });
    }
    let raw = der::parse(der_sig).map_err(SignatureError::MalformedDer)?;
    if raw.is_high_s() {
        return Err(SignatureError::HighS);
    }
    if verified::known(public_key_sec1, msg, der_sig) {
        return Ok(());
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key_sec1)
        .verify(msg, der_sig)
        .map_err(|_| SignatureError::Mismatch)
}

/// [`verify`], and remember the signature when it is good: for checks whose bytes this process will
/// verify again (the gateway's check of a transaction it then sees in a block).
pub fn verify_and_remember(public_key_sec1: &[u8], msg: &[u8], der_sig: &[u8]) -> Result<(), SignatureError> {
    verify(public_key_sec1, msg, der_sig)?;
    verified::remember(public_key_sec1, msg, der_sig);
    Ok(())
}

/// Whether a DER signature is low-S (`None` if it is not a well-formed signature).
pub fn is_low_s(der_sig: &[u8]) -> Option<bool> {
    der::parse(der_sig).ok().map(|raw| !raw.is_high_s())
}

/// Flips a well-formed signature to its other valid form (`s ↦ n - s`). Useful to test that a
/// verifier rejects malleated signatures; never needed to sign.
pub fn malleate(der_sig: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let raw = der::parse(der_sig).map_err(SignatureError::MalformedDer)?;
    let flipped = if raw.is_high_s() {
        raw.to_low_s()
    } else {
        der::RawSignature {
            r: raw.r,
            s: der::negate(&raw.s),
        }
    };
    Ok(flipped.to_der())
}

impl rcgen::PublicKeyData for SigningKey {
    fn der_bytes(&self) -> &[u8] {
        self.public_key()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// Lets rcgen sign certificates and CRLs with our key, so a CA key is the same type as any other.
impl rcgen::SigningKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.try_sign(msg).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
