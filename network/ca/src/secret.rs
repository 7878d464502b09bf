//! Enrollment secrets: generated when the registrar gives none, stored only as a salted PBKDF2-HMAC-
//! SHA256 hash, checked in constant time.
//!
//! The secret is the one credential that turns a registration into a certificate, and so into an
//! identity that can endorse and submit; a copy of the registry must not reveal it. Pure (ring only).

use std::num::NonZeroU32;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// PBKDF2 iterations for new secrets (the stored hash records its own count).
pub const DEFAULT_ITERATIONS: u32 = 100_000;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// Why a secret could not be generated or hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The system random generator failed.
    #[error("system random generator unavailable")]
    Rng,
    /// A secret that is empty or too long.
    #[error("enrollment secret must be 1 to 256 characters")]
    BadLength,
}

/// A stored secret: `pbkdf2-sha256`, iteration count, salt and derived key, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretHash {
    /// Always `pbkdf2-sha256`.
    pub alg: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Random salt, hex.
    pub salt: String,
    /// Derived key, hex.
    pub hash: String,
}

impl SecretHash {
    /// Hashes `secret` with a fresh random salt.
    pub fn new(secret: &str, iterations: u32) -> Result<Self, SecretError> {
        if secret.is_empty() || secret.len() > 256 {
            return Err(SecretError::BadLength);
        }
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| SecretError::Rng)?;
        let iterations = iterations.max(1);
        let mut out = [0u8; HASH_LEN];
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN),
            &salt,
            secret.as_bytes(),
            &mut out,
        );
        Ok(Self {
            alg: "pbkdf2-sha256".into(),
            iterations,
            salt: hex::encode(salt),
            hash: hex::encode(out),
        })
    }

    /// Whether `secret` is the hashed one. The comparison runs in constant time (ring's verify); a
    /// malformed stored hash never matches.
    pub fn matches(&self, secret: &str) -> bool {
        let (Ok(salt), Ok(hash), Some(iterations)) = (
            hex::decode(&self.salt),
            hex::decode(&self.hash),
            NonZeroU32::new(self.iterations),
        ) else {
            return false;
        };
        self.alg == "pbkdf2-sha256"
            && ring::pbkdf2::verify(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                iterations,
                &salt,
                secret.as_bytes(),
                &hash,
            )
            .is_ok()
    }
}

/// Burns the same work as checking a secret, for unknown enrollment ids: a caller cannot tell an
/// unregistered id from a wrong secret by the response time.
pub fn dummy_check(secret: &str, iterations: u32) {
    let mut out = [0u8; HASH_LEN];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN),
        &[0u8; SALT_LEN],
        secret.as_bytes(),
        &mut out,
    );
}

/// A random secret: 128 bits, URL-safe base64-like alphabet (22 characters).
pub fn generate() -> Result<String, SecretError> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 22];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SecretError::Rng)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_right_secret_matches_and_nothing_else() {
        let h = SecretHash::new("doctorpw", 1000).unwrap();
        assert!(h.matches("doctorpw"));
        assert!(!h.matches("doctorpw "));
        assert!(!h.matches(""));
        assert!(!h.hash.contains("doctorpw"));
    }

    #[test]
    fn salts_differ_so_equal_secrets_hash_differently() {
        let a = SecretHash::new("same", 1000).unwrap();
        let b = SecretHash::new("same", 1000).unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn a_tampered_record_never_matches() {
        let mut h = SecretHash::new("pw", 1000).unwrap();
        h.alg = "plain".into();
        assert!(!h.matches("pw"));
        let mut h = SecretHash::new("pw", 1000).unwrap();
        h.salt = "zz".into();
        assert!(!h.matches("pw"));
        let mut h = SecretHash::new("pw", 1000).unwrap();
        h.iterations = 0;
        assert!(!h.matches("pw"));
    }

    #[test]
    fn empty_or_huge_secrets_are_refused() {
        assert_eq!(SecretHash::new("", 1000), Err(SecretError::BadLength));
        assert_eq!(
            SecretHash::new(&"x".repeat(257), 1000),
            Err(SecretError::BadLength)
        );
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, generate().unwrap());
    }
}
