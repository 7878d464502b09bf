//! The CA's registry: registered identities (type, affiliation, attributes, secret hash, enrollment
//! count, state) and every certificate issued (serial, validity, revocation), persisted as one JSON
//! file under the CA's home, replaced atomically on every change.
//!
//! It is the CA's memory of who may hold which identity in endorse → order → validate: enrollments
//! are counted against it, re-enrollment and signed requests are checked against the certificates it
//! recorded, and CRLs are generated from its revocations. A CA serves hundreds to thousands of
//! identities, so a single JSON document (read at start, rewritten on each change) is enough and can
//! be inspected and backed up with ordinary tools.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Attribute, IdentityType, Profile, RevocationReason};
use crate::secret::SecretHash;

/// Format version written into the file.
pub const REGISTRY_VERSION: u32 = 1;

/// Whether an identity may still enroll and authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IdentityState {
    /// May enroll (within its maximum), re-enroll and sign requests.
    #[default]
    Active,
    /// Revoked: every certificate revoked, no further enrollment.
    Revoked,
}

impl IdentityState {
    /// `active` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
        }
    }
}

/// One registered identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// Enrollment id (the certificate CN).
    pub id: String,
    /// Type (the certificate NodeOU).
    #[serde(rename = "type")]
    pub id_type: IdentityType,
    /// Affiliation, e.g. `hospitala.cardiology` (empty = root).
    pub affiliation: String,
    /// Attributes, including the CA-set `hf.EnrollmentID`, `hf.Type`, `hf.Affiliation`.
    pub attributes: Vec<Attribute>,
    /// Maximum enrollments with the secret: -1 unlimited, otherwise at least 1.
    pub max_enrollments: i32,
    /// Enrollments so far (re-enrollments are not counted, as in fabric-ca).
    pub enrollments: u32,
    /// Active or revoked.
    pub state: IdentityState,
    /// Salted hash of the enrollment secret.
    pub secret: SecretHash,
    /// Who registered it.
    pub registered_by: String,
    /// When (Unix seconds).
    pub registered_at: i64,
}

impl IdentityRecord {
    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Whether another enrollment with the secret is within the maximum.
    pub fn may_enroll_again(&self) -> bool {
        self.max_enrollments < 0 || i64::from(self.enrollments) < i64::from(self.max_enrollments)
    }
}

/// A revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When (Unix seconds).
    pub at: i64,
    /// Why.
    pub reason: RevocationReason,
    /// Who revoked it.
    pub by: String,
}

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRecord {
    /// Serial, lowercase hex without leading zeros (as MSP errors print it).
    pub serial: String,
    /// Whose it is.
    pub enrollment_id: String,
    /// Signing or TLS.
    pub profile: Profile,
    /// Validity start (Unix seconds).
    pub not_before: i64,
    /// Validity end (Unix seconds).
    pub not_after: i64,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// The certificate, PEM.
    pub pem: String,
    /// Set once revoked.
    pub revoked: Option<Revocation>,
}

impl CertRecord {
    /// `valid`, `expired` or `revoked` at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked.is_some() {
            "revoked"
        } else if now > self.not_after {
            "expired"
        } else {
            "valid"
        }
    }
}

/// The whole registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Format version.
    pub version: u32,
    /// Number of the last CRL issued.
    pub crl_number: u64,
    /// Identities by enrollment id.
    pub identities: BTreeMap<String, IdentityRecord>,
    /// Certificates in issuance order.
    pub certificates: Vec<CertRecord>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            version: REGISTRY_VERSION,
            crl_number: 0,
            identities: BTreeMap::new(),
            certificates: Vec::new(),
        }
    }
}

impl Registry {
    /// The certificate with this serial (hex, any case, leading zeros ignored).
    pub fn certificate(&self, serial: &str) -> Option<&CertRecord> {
        let want = normalize_serial(serial);
        self.certificates.iter().find(|c| c.serial == want)
    }

    /// Certificates of one identity.
    pub fn certificates_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a CertRecord> + 'a {
        self.certificates.iter().filter(move |c| c.enrollment_id == id)
    }

    /// Revokes every unrevoked certificate of `id`; returns their serials.
    pub fn revoke_certificates_of(&mut self, id: &str, revocation: &Revocation) -> Vec<String> {
        let mut serials = Vec::new();
        for c in self.certificates.iter_mut().filter(|c| c.enrollment_id == id) {
            if c.revoked.is_none() {
                c.revoked = Some(revocation.clone());
                serials.push(c.serial.clone());
            }
        }
        serials
    }

    /// Revoked certificates not yet expired at `now`: what a CRL must list.
    pub fn revoked_unexpired(&self, now: i64) -> impl Iterator<Item = (&CertRecord, &Revocation)> {
        self.certificates
            .iter()
            .filter(move |c| c.not_after >= now)
            .filter_map(|c| c.revoked.as_ref().map(|r| (c, r)))
    }
}

/// Lowercase hex of the serial's bytes without leading zero bytes (how MSP errors print it): the one
/// spelling of a serial in the registry. Accepts `0x`, colons (openssl's form) and any case.
pub fn normalize_serial(serial: &str) -> String {
    let lower: String = serial
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    if trimmed.len() % 2 == 1 {
        format!("0{trimmed}")
    } else if trimmed.is_empty() {
        "00".into()
    } else {
        trimmed.into()
    }
}

/// Why the registry file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O on the file.
    #[error("registry {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The file is not a registry.
    #[error("registry {path} is not valid: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// The parse error.
        reason: String,
    },
}

/// The registry file: `<home>/registry.json`.
#[derive(Debug, Clone)]
pub struct RegistryStore {
    path: PathBuf,
}

impl RegistryStore {
    /// A store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// Reads the registry; a missing file is an empty registry.
    pub fn load(&self) -> Result<Registry, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
            Err(e) => return Err(self.io(e)),
        };
        let reg: Registry = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        if reg.version != REGISTRY_VERSION {
            return Err(StoreError::Corrupt {
                path: self.path.display().to_string(),
                reason: format!("format version {} (expected {REGISTRY_VERSION})", reg.version),
            });
        }
        Ok(reg)
    }

    /// Writes the registry atomically: a temporary file in the same directory, fsync, rename, fsync
    /// of the directory. A crash leaves either the old or the new registry, never a mix. The file is
    /// readable only by its owner (it holds secret hashes).
    pub fn save(&self, reg: &Registry) -> Result<(), StoreError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let json = serde_json::to_vec_pretty(reg).map_err(|e| self.io(e))?;
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp).map_err(|e| self.io(e))?;
            f.write_all(&json).map_err(|e| self.io(e))?;
            f.sync_all().map_err(|e| self.io(e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Directory fsync makes the rename durable; some filesystems refuse it, which is harmless.
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(id: &str, max: i32, enrollments: u32) -> IdentityRecord {
        IdentityRecord {
            id: id.into(),
            id_type: IdentityType::Client,
            affiliation: String::new(),
            attributes: vec![Attribute::ecert("role", "doctor")],
            max_enrollments: max,
            enrollments,
            state: IdentityState::Active,
            secret: SecretHash::new("pw", 10).unwrap(),
            registered_by: "admin".into(),
            registered_at: 0,
        }
    }

    fn cert(serial: &str, id: &str, not_after: i64) -> CertRecord {
        CertRecord {
            serial: serial.into(),
            enrollment_id: id.into(),
            profile: Profile::Signing,
            not_before: 0,
            not_after,
            issued_at: 0,
            pem: String::new(),
            revoked: None,
        }
    }

    #[test]
    fn enrollment_limits() {
        assert!(record("a", -1, 1000).may_enroll_again());
        assert!(record("a", 2, 1).may_enroll_again());
        assert!(!record("a", 2, 2).may_enroll_again());
        assert_eq!(record("a", 1, 0).attribute("role"), Some("doctor"));
    }

    #[test]
    fn serials_have_one_spelling() {
        assert_eq!(normalize_serial("00AB"), "ab");
        assert_eq!(normalize_serial("0x0ab"), "ab");
        assert_eq!(normalize_serial("0A:B1"), "0ab1");
        assert_eq!(normalize_serial("000"), "00");
    }

    #[test]
    fn revocation_marks_only_that_identitys_live_certificates() {
        let mut reg = Registry {
            certificates: vec![cert("01", "a", 100), cert("02", "b", 100), cert("03", "a", 5)],
            ..Registry::default()
        };
        let r = Revocation {
            at: 10,
            reason: RevocationReason::KeyCompromise,
            by: "admin".into(),
        };
        assert_eq!(reg.revoke_certificates_of("a", &r), vec!["01", "03"]);
        assert!(reg.revoke_certificates_of("a", &r).is_empty());
        let listed: Vec<_> = reg
            .revoked_unexpired(10)
            .map(|(c, _)| c.serial.as_str())
            .collect();
        assert_eq!(listed, vec!["01"], "expired certificates need no CRL entry");
        assert_eq!(reg.certificate("1").unwrap().status(10), "revoked");
        assert_eq!(reg.certificate("0x02").unwrap().status(10), "valid");
        assert_eq!(reg.certificate("02").unwrap().status(101), "expired");
    }

    #[test]
    fn the_store_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = RegistryStore::new(dir.path().join("registry.json"));
        assert_eq!(store.load().unwrap(), Registry::default());
        let mut reg = Registry::default();
        reg.identities.insert("a".into(), record("a", 1, 0));
        reg.certificates.push(cert("01", "a", 100));
        reg.crl_number = 3;
        store.save(&reg).unwrap();
        assert_eq!(store.load().unwrap(), reg);
        assert!(!dir.path().join("registry.json.tmp").exists());
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("\"pw\""), "the secret is stored only as a hash");
        std::fs::write(store.path(), "{not json").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
    }
}
