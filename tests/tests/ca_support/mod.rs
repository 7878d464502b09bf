//! Shared pieces of the CA tests: a `carechain ca start` process (killed on drop) and its CLI, `openssl
//! verify`, identity validation against an org's MSP, and the two network steps the tests take as a
//! member would: submitting a transaction, and putting a CRL into the channel configuration.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use carechain_crypto::msp::{Identity, MspManager, SigningIdentity, load_msp};
use carechain_tests::cli::{carechain, ok};
use carechain_tests::{TestNet, args};

pub const CH: &str = "testchannel";

/// A `carechain ca start` process, killed on drop.
pub struct CaProcess {
    child: Option<Child>,
    pub address: SocketAddr,
    pub home: PathBuf,
    log: PathBuf,
    args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl CaProcess {
    pub fn start(home: &Path, extra: &[&str]) -> CaProcess {
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut args: Vec<String> = ["ca", "start", "--home"].map(String::from).to_vec();
        args.push(home.display().to_string());
        args.extend(["--listen".into(), address.to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut p = CaProcess {
            child: None,
            address,
            home: home.to_path_buf(),
            log: home.with_extension("log"),
            args,
        };
        p.spawn();
        p
    }

    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(carechain_tests::net::binary().unwrap())
            .args(&self.args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.address).is_err() {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap().is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "CA did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `--url`, `--tls-ca` and `--server-name` for CLI commands against this CA.
    pub fn conn(&self) -> Vec<String> {
        vec![
            "--url".into(),
            self.address.to_string(),
            "--tls-ca".into(),
            self.home.join("tls-ca.pem").display().to_string(),
        ]
    }

    /// Runs `carechain ca <sub> <conn> <rest>`.
    pub fn cli(&self, sub: &str, rest: &[&str]) -> Output {
        let mut a: Vec<String> = vec!["ca".into(), sub.into()];
        a.extend(self.conn());
        a.extend(rest.iter().map(|s| s.to_string()));
        carechain(&a)
    }
}

impl Drop for CaProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn openssl_verify(cafile: &Path, untrusted: Option<&Path>, cert: &Path, purpose: Option<&str>) {
    let mut c = Command::new("openssl");
    c.arg("verify").arg("-CAfile").arg(cafile);
    if let Some(u) = untrusted {
        c.arg("-untrusted").arg(u);
    }
    if let Some(p) = purpose {
        c.args(["-purpose", p]);
    }
    let o = c.arg(cert).output().expect("openssl is installed");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains(": OK"),
        "openssl verify {}: {out}{}",
        cert.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}: {files:?}", dir.display());
    files[0].clone()
}

/// The identity in `user_msp` as validated (now) by the MSP in `org_msp`.
pub fn validated(org_msp: &Path, msp_id: &str, user_msp: &Path) -> Arc<Identity> {
    let manager = MspManager::new([load_msp(org_msp, msp_id).unwrap()]).unwrap();
    let signer = SigningIdentity::load(user_msp, msp_id).unwrap();
    manager.deserialize_identity(signer.serialize()).unwrap()
}

pub async fn submit_asset(
    net: &TestNet,
    ch: &str,
    peer: usize,
    who: SigningIdentity,
    id: &str,
) -> Result<(), String> {
    let gw = net.gateway_as(peer, who).await.map_err(|e| e.to_string())?;
    gw.submit_transaction(
        ch,
        "basic",
        &args(&["CreateAsset", id, "white", "1", "Synthetic Patient 0001", "1"]),
        &BTreeMap::new(),
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Makes Org1's CRL part of the channel's configuration, the Fabric way: a config update computed from
/// the orderer's current config, signed by Org1's CA-enrolled admin and Org2's admin, submitted to the
/// orderer; returns once every peer has committed it.
pub async fn put_crl_in_channel(net: &TestNet, admin_msp: &str, crl: &Path) -> String {
    let s = |p: &Path| p.display().to_string();
    let update = net.root.path().join("crl-update.pb");
    let flags = net.node_flags("orderer", 0, Path::new(admin_msp), "Org1MSP");
    let mut a: Vec<String> = ["channel", "update", "--channel", CH, "--output", &s(&update)]
        .map(String::from)
        .to_vec();
    a.extend(flags.iter().cloned());
    a.extend(["crl", "--org", "Org1", "--crl", &s(crl)].map(String::from));
    ok(&carechain(&a), "channel update crl");
    for (dir, id) in [
        (admin_msp.to_string(), "Org1MSP"),
        (s(&net.node("peer", 1).admin_msp), "Org2MSP"),
    ] {
        let a = [
            "channel",
            "sign-update",
            "--file",
            &s(&update),
            "--msp-dir",
            &dir,
            "--msp-id",
            id,
        ];
        assert!(ok(&carechain(&a), "sign-update").contains("signatures"));
    }
    let mut a: Vec<String> = ["channel", "submit-update", "--file", &s(&update)]
        .map(String::from)
        .to_vec();
    a.extend(flags);
    let height = net.height(0).await.unwrap();
    ok(&carechain(&a), "submit-update");
    net.wait_height(height + 1, Duration::from_secs(20))
        .await
        .unwrap();
    CH.to_string()
}
