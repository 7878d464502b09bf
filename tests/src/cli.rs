//! Running the `carechain` binary as an operator would, for tests of the CLI-driven workflows (CA,
//! channel updates): run a command, require success or a refusal that names what went wrong, and the
//! flags that point a command at one of the test network's nodes as some org's admin.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use crate::TestNet;

/// Runs `carechain` with `args` (logging at warn) and returns what it printed.
pub fn carechain<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let bin = crate::net::binary().unwrap_or_else(|e| panic!("carechain binary: {e}"));
    Command::new(bin)
        .args(args)
        .env("CARECHAIN_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("running carechain: {e}"))
}

/// The command succeeded; returns its stdout.
pub fn ok(o: &Output, what: &str) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{what} failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The command failed; returns its stderr, which must name every needle.
pub fn refused(o: &Output, what: &str, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success(),
        "{what} should have been refused:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "{what}: error does not name {n:?}:\n{err}");
    }
    eprintln!("{what}: {}", err.trim());
    err
}

impl TestNet {
    /// The client flags (`--address`, `--msp-dir`, `--msp-id`, `--tls-ca`, `--server-name`) that point
    /// a command at node `i` of `kind` as the identity in `msp_dir` of `msp_id`.
    pub fn node_flags(&self, kind: &str, i: usize, msp_dir: &Path, msp_id: &str) -> Vec<String> {
        let n = self.node(kind, i);
        vec![
            "--address".into(),
            n.address.to_string(),
            "--msp-dir".into(),
            msp_dir.display().to_string(),
            "--msp-id".into(),
            msp_id.into(),
            "--tls-ca".into(),
            n.tls_ca.display().to_string(),
            "--server-name".into(),
            "127.0.0.1".into(),
        ]
    }

    /// The orderer organization's admin MSP directory (it signs consenter changes).
    pub fn orderer_admin_msp(&self) -> std::path::PathBuf {
        self.root
            .path()
            .join("crypto/ordererOrganizations/orderer.test.local/users/Admin@orderer.test.local/msp")
    }

    /// The TLS certificate (server and client) of orderer `name` (e.g. `orderer3.orderer.test.local`).
    pub fn orderer_tls_cert(&self, name: &str) -> std::path::PathBuf {
        self.root
            .path()
            .join("crypto/ordererOrganizations/orderer.test.local/orderers")
            .join(name)
            .join("tls/server.crt")
    }
}
