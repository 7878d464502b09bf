//! Wire compatibility with Hyperledger Fabric's own client: the official `@hyperledger/fabric-gateway`
//! 1.11 SDK for Node, unmodified (`tests/interop/gateway/interop.js`), against a running carechain
//! network of one orderer and two peers of two orgs, connected to Org1's peer as Org1's `User1`.
//!
//! It proves that a Fabric application works against carechain as against Fabric: evaluate, submit
//! (sync and async with commit status), the chaincode result, chaincode events from a start block,
//! chaincode errors surfacing with their message, and ENDORSEMENT_POLICY_FAILURE and MVCC_READ_CONFLICT
//! reported as the SDK's `CommitError` codes. Each check prints `PASS <name>`; every expected line must be
//! present and the script must exit 0.
//!
//! Needs Node.js and `npm ci --prefix tests/interop/gateway`; without them the test fails saying so.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use carechain_tests::{NetSpec, TestNet};

/// Every check of `interop.js`, in order.
const EXPECTED: &[&str] = &[
    "evaluate GetAllAssets returns a JSON array",
    "submit CreateAsset commits VALID and is readable",
    "submitTransaction returns the chaincode result (TransferAsset old owner)",
    "submitAsync + getStatus",
    "chaincode events from a start block",
    "a failing chaincode call surfaces the chaincode error",
    "ENDORSEMENT_POLICY_FAILURE is reported as a CommitError",
    "MVCC_READ_CONFLICT for two transactions endorsed on the same state",
];

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/gateway")
}

fn only_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "expected one file in {}", dir.display());
    files.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_fabric_gateway_sdk_works_unmodified() {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/@hyperledger/fabric-gateway/package.json")
            .exists(),
        "the Fabric Gateway SDK is not installed: run `npm ci --prefix tests/interop/gateway` \
         (scripts/setup.sh does it)"
    );
    let net = TestNet::start(NetSpec::default()).await.expect("network starts");
    let msp = net.user_msp(0, "User1");
    let settings = serde_json::json!({
        "peerEndpoint": net.peers[0].address.to_string(),
        "hostAlias": "127.0.0.1",
        "tlsCaPath": net.peers[0].tls_ca,
        "mspId": "Org1MSP",
        "certPath": only_file(&msp.join("signcerts")),
        "keyPath": msp.join("keystore/priv_sk"),
        "channel": net.spec.channel,
        "chaincode": "basic",
    });
    let path = net.root.path().join("interop-settings.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();

    let child = tokio::process::Command::new("node")
        .arg(dir.join("interop.js"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js 18 or later"));
    let out = tokio::time::timeout(Duration::from_secs(50), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("interop.js did not finish within 50 s\n{}", net.logs()))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = || format!("stdout:\n{stdout}\nstderr:\n{stderr}\nnode logs:{}", net.logs());
    assert!(
        out.status.success(),
        "interop.js exited with {}\n{}",
        out.status,
        report()
    );
    let passed: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("PASS ")).collect();
    assert_eq!(passed, EXPECTED, "PASS lines\n{}", report());
}
