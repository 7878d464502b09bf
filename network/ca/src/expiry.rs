//! Certificate expiry, made visible before it bites: scans a crypto tree (every `*.pem` / `*.crt`) or a
//! CA registry for certificates that expire within a window.
//!
//! An expired CA, peer, orderer or admin certificate stops endorse → order → validate as surely as a
//! crash (it is the most common cause of Fabric outages), but weeks of warning are available in the
//! certificates themselves. `carechain ca expiring --within 30d` prints them and exits non-zero, so a
//! cron job or CI step can gate on it. Pure file reading; no network.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use crate::registry::Registry;

/// A certificate expiring within the window (or already expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// Where it was found (a file, or `registry:<enrollment id>`).
    pub location: String,
    /// Subject DN.
    pub subject: String,
    /// Serial, hex.
    pub serial: String,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whole days left (negative: already expired).
    pub days_left: i64,
}

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    /// A directory could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        reason: String,
    },
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w`, `1y` (365 days).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("duration {s:?} must be a number followed by s, m, h, d, w or y (e.g. 30d)"))?;
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        "y" => Duration::days(n.saturating_mul(365)),
        _ => {
            return Err(format!(
                "duration {s:?} must be a number followed by s, m, h, d, w or y (e.g. 30d)"
            ));
        }
    };
    Ok(d)
}

/// The current time (UTC).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// RFC 3339, for printing.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// RFC 3339 of a Unix time, for printing.
pub fn format_unix(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds).map_or_else(|_| seconds.to_string(), rfc3339)
}

/// Whole days from now until a Unix time (negative once past).
pub fn days_until(seconds: i64) -> i64 {
    (seconds - OffsetDateTime::now_utc().unix_timestamp()).div_euclid(86_400)
}

fn expiring(location: String, der: &[u8], deadline: OffsetDateTime, now: OffsetDateTime) -> Option<Expiring> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.to_datetime();
    (not_after <= deadline).then(|| Expiring {
        location,
        subject: cert.subject().to_string(),
        serial: hex::encode(cert.raw_serial()),
        not_after,
        days_left: (not_after - now).whole_days(),
    })
}

/// Every certificate in `*.pem` / `*.crt` files under `root` expiring by `now + within`, soonest first,
/// and the number of certificates examined. Files without certificates (keys, CRLs) are skipped;
/// symbolic links to directories are not followed.
pub fn scan_tree(
    root: &Path,
    within: Duration,
    now: OffsetDateTime,
) -> Result<(Vec<Expiring>, usize), ExpiryError> {
    let deadline = now + within;
    let mut files = Vec::new();
    collect(root, &mut files, 0)?;
    files.sort();
    let mut found = Vec::new();
    let mut seen = 0;
    for file in files {
        let Ok(data) = std::fs::read(&file) else { continue };
        let Ok(certs) = carechain_crypto::pem::certificates(&data) else {
            continue;
        };
        for der in certs {
            seen += 1;
            found.extend(expiring(file.display().to_string(), &der, deadline, now));
        }
    }
    found.sort_by(|a, b| a.not_after.cmp(&b.not_after).then(a.location.cmp(&b.location)));
    Ok((found, seen))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), ExpiryError> {
    let io = |e: std::io::Error| ExpiryError::Io {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    if depth > 32 {
        return Ok(());
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    if meta.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            collect(&path, out, depth + 1)?;
        } else if (kind.is_file() || kind.is_symlink())
            && path.extension().is_some_and(|e| e == "pem" || e == "crt")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Scans crypto trees and CA homes (`<home>/registry.json`); returns what expires by `now + within`,
/// soonest first, and how many certificates were examined.
pub fn scan_all(
    trees: &[PathBuf],
    ca_homes: &[PathBuf],
    within: Duration,
    now: OffsetDateTime,
) -> Result<(Vec<Expiring>, usize), ExpiryError> {
    let mut found = Vec::new();
    let mut scanned = 0;
    for t in trees {
        let (f, n) = scan_tree(t, within, now)?;
        found.extend(f);
        scanned += n;
    }
    for home in ca_homes {
        let reg = crate::registry::RegistryStore::new(home.join("registry.json"))
            .load()
            .map_err(|e| ExpiryError::Io {
                path: home.display().to_string(),
                reason: e.to_string(),
            })?;
        scanned += reg.certificates.len();
        found.extend(scan_registry(&reg, within, now));
    }
    found.sort_by(|a, b| a.not_after.cmp(&b.not_after).then(a.location.cmp(&b.location)));
    Ok((found, scanned))
}

impl Expiring {
    /// One line: where, subject, serial, expiry, days left.
    pub fn describe(&self) -> String {
        format!(
            "{}  {}  serial {}  not after {}  ({} days left)",
            self.location,
            self.subject,
            self.serial,
            rfc3339(self.not_after),
            self.days_left
        )
    }
}

/// Unrevoked certificates in a CA registry expiring by `now + within`, soonest first.
pub fn scan_registry(reg: &Registry, within: Duration, now: OffsetDateTime) -> Vec<Expiring> {
    let deadline = now + within;
    let mut found: Vec<Expiring> = reg
        .certificates
        .iter()
        .filter(|c| c.revoked.is_none())
        .filter_map(|c| {
            let der = carechain_crypto::pem::first_certificate(c.pem.as_bytes()).ok()?;
            expiring(format!("registry:{}", c.enrollment_id), &der, deadline, now)
        })
        .collect();
    found.sort_by_key(|e| e.not_after);
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use carechain_crypto::{CertificateAuthority, LeafRequest, Subject, Validity};

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("1y"), Ok(Duration::days(365)));
        assert_eq!(parse_duration("2w"), Ok(Duration::days(14)));
        for bad in ["", "30", "d", "30 days", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_only_certificates_inside_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let ca = CertificateAuthority::new_root(&Subject::new("ca.x.test", "x.test"), Validity::default())
            .unwrap();
        let mut soon = LeafRequest::signing(Subject::new("soon", "x.test"));
        soon.validity = Validity::between(now - Duration::days(1), now + Duration::days(10));
        let mut gone = LeafRequest::signing(Subject::new("gone", "x.test"));
        gone.validity = Validity::between(now - Duration::days(10), now - Duration::days(1));
        let (soon, key) = ca.issue_leaf(&soon).unwrap();
        let (gone, _) = ca.issue_leaf(&gone).unwrap();
        std::fs::create_dir_all(dir.path().join("a/signcerts")).unwrap();
        std::fs::write(dir.path().join("a/signcerts/cert.pem"), &soon.pem).unwrap();
        std::fs::write(dir.path().join("old.crt"), &gone.pem).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(dir.path().join("priv_sk.pem"), key.to_pkcs8_pem()).unwrap();
        std::fs::write(dir.path().join("notes.txt"), &soon.pem).unwrap();

        let (found, seen) = scan_tree(dir.path(), Duration::days(30), now).unwrap();
        assert_eq!(
            seen, 3,
            "the CA, the two leaves; keys and other extensions skipped"
        );
        let names: Vec<_> = found.iter().map(|e| e.subject.clone()).collect();
        assert_eq!(found.len(), 2, "{names:?}");
        assert!(found[0].subject.contains("CN=gone") && found[0].days_left < 0);
        assert!(found[1].subject.contains("CN=soon") && (9..=10).contains(&found[1].days_left));
        assert!(found[1].location.ends_with("cert.pem"));
        let (none, _) = scan_tree(dir.path(), Duration::days(5), now + Duration::days(0)).unwrap();
        assert_eq!(none.len(), 1, "only the expired one within 5 days");
        assert!(scan_tree(&dir.path().join("missing"), Duration::days(1), now).is_err());
    }
}
