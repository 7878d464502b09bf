//! Random tokens and the linking key: how the store recognizes a patient's later entries and revocation
//! without keeping anything that links its rows to the ledger.
//!
//! Rows and patients are keyed by fresh random tokens (`entry`, `subject`). The only way from a research
//! token (which is on the ledger, in the event) to a subject is `subject_link.token_key` =
//! HMAC-SHA256(linking key, token). The linking key lives in a file of the sync operator, never in the
//! database, so someone who reads the whole database and the whole chain still cannot tell which subject
//! is which research token. The database keeps an HMAC of a fixed label ([`LinkKey::check`]) to refuse a
//! sync started with another key, which would silently stop matching revocations.

use std::path::Path;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of a random token (shown as hex).
const TOKEN_BYTES: usize = 16;

/// The secret key of `token_key`.
pub struct LinkKey(hmac::Key);

/// Failures of the key file or the random source.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The key file cannot be read or written.
    #[error("linking key file {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error("linking key file {0} does not hold 64 hex digits")]
    Malformed(String),
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
}

impl LinkKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> LinkKey {
        LinkKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh random key when `create` and absent.
    pub fn load_or_create(path: &Path, create: bool) -> Result<LinkKey, LinkError> {
        let io = |source| LinkError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| LinkError::Malformed(path.display().to_string()))?;
                Ok(LinkKey::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| LinkError::Random)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_private(path, format!("{}\n", hex::encode(bytes)).as_bytes()).map_err(io)?;
                Ok(LinkKey::from_bytes(&bytes))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The lookup key of a research token.
    pub fn token_key(&self, token: &str) -> String {
        let mut msg = b"carechain-analytics/token\0".to_vec();
        msg.extend_from_slice(token.as_bytes());
        hex::encode(hmac::sign(&self.0, &msg).as_ref())
    }

    /// What the database keeps to recognize this key.
    pub fn check(&self) -> String {
        hex::encode(hmac::sign(&self.0, b"carechain-analytics/key-check").as_ref())
    }
}

/// A fresh random token (32 hex digits).
pub fn random_token() -> Result<String, LinkError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| LinkError::Random)?;
    Ok(hex::encode(bytes))
}

/// Writes a file only its owner can read (the key, the SQLite store).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn token_keys_depend_on_the_key() {
        let a = LinkKey::from_bytes(&[1; 32]);
        let b = LinkKey::from_bytes(&[2; 32]);
        let t = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";
        assert_eq!(a.token_key(t), a.token_key(t));
        assert_ne!(a.token_key(t), b.token_key(t));
        assert_ne!(a.token_key(t), a.token_key("5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"));
        assert_ne!(a.check(), b.check());
        assert!(!a.token_key(t).contains(t));
    }

    #[test]
    fn the_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/care.key");
        assert!(LinkKey::load_or_create(&path, false).is_err(), "absent");
        let k1 = LinkKey::load_or_create(&path, true).unwrap();
        let k2 = LinkKey::load_or_create(&path, true).unwrap();
        assert_eq!(k1.check(), k2.check());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert!(matches!(
            LinkKey::load_or_create(&path, true),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn random_tokens_differ() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_token().unwrap());
    }
}
