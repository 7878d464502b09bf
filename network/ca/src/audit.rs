//! The CA's audit trail: every operation (who, what, on whom, result) goes to `tracing` and is
//! appended as one JSON line to the audit log file.
//!
//! Identities decide who may endorse and submit in endorse → order → validate, so a consortium must be
//! able to answer "who registered this doctor, who revoked that certificate, and when" long after the
//! fact. Refusals are recorded as well as successes: a burst of wrong secrets is itself a finding.

use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::Serialize;
use time::OffsetDateTime;

/// One audit record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// RFC 3339 UTC time.
    pub time: String,
    /// `register`, `enroll`, `reenroll`, `revoke`, `gencrl`, `list`, `start`.
    pub op: String,
    /// The authenticated caller (or, for enroll, the enrollment id presented).
    pub caller: String,
    /// The identity or certificate acted on.
    pub target: String,
    /// `ok` or `refused`.
    pub result: String,
    /// What was done, or why it was refused.
    pub detail: String,
}

/// Appends audit records to a file; safe to share between request handlers.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    file: Mutex<()>,
}

impl AuditLog {
    /// A log appending to `path` (created if missing); `None` logs through `tracing` only.
    pub fn new(path: Option<&Path>) -> Self {
        Self {
            path: path.map(Path::to_path_buf),
            file: Mutex::new(()),
        }
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records one operation.
    pub fn record(&self, op: &str, caller: &str, target: &str, result: Result<String, String>) {
        let (result, detail) = match result {
            Ok(d) => ("ok", d),
            Err(d) => ("refused", d),
        };
        let event = AuditEvent {
            time: OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            op: op.into(),
            caller: caller.into(),
            target: target.into(),
            result: result.into(),
            detail,
        };
        if result == "ok" {
            tracing::info!(target: "carechain_ca::audit", op, caller, target, detail = %event.detail, "CA operation");
        } else {
            tracing::warn!(target: "carechain_ca::audit", op, caller, target, reason = %event.detail, "CA operation refused");
        }
        let Some(path) = &self.path else { return };
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return;
        };
        line.push(b'\n');
        let _guard = self.file.lock();
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(&line));
        if let Err(e) = written {
            // The operation itself already happened; losing its audit line must at least be loud.
            tracing::error!(path = %path.display(), error = %e, "cannot append to the CA audit log");
        }
    }
}

/// Reads an audit log back (for tests and tooling); unreadable lines are skipped.
pub fn read(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_are_json_lines_with_result() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::new(Some(&path));
        log.record("register", "admin", "doctor1", Ok("type client".into()));
        log.record("enroll", "doctor1", "doctor1", Err("wrong secret".into()));
        let lines = read(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["op"], "register");
        assert_eq!(lines[0]["result"], "ok");
        assert_eq!(lines[1]["result"], "refused");
        assert_eq!(lines[1]["detail"], "wrong secret");
    }
}
