//! `carechain network up`, `demo`, `status` and `down` run as a user would: separate processes started
//! by the CLI, state under `CARECHAIN_HOME`, metrics read over HTTP. Proves the network comes up, the demo
//! passes, committed-transaction counters grow with use, `down` leaves no process behind, and a second
//! `up` restarts the network on its existing data. `up` records its network description, so `status`,
//! `down`, a second `up`, `demo` and `bench` in the same home work without `--config`; `bench` commits
//! only VALID transactions and accounts CPU per node.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};

fn carechain(home: &Path, args: &[&str]) -> Output {
    let bin = carechain_tests::net::binary().unwrap();
    Command::new(bin)
        .args(args)
        .env("CARECHAIN_HOME", home)
        .output()
        .unwrap()
}

fn ok(o: &Output, what: &str) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{what} failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn metric(ops: u16, name: &str) -> u64 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ops)).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains("code=\"VALID\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn pids(home: &Path) -> Vec<u32> {
    std::fs::read_dir(home.join("pids"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn up_demo_status_down_as_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Free, unusual ports so the test never collides with a network a developer is running.
    let base = 20000 + (std::process::id() % 2000) as u16 * 10;
    let spec = format!(
        "name: cli-test\ncrypto_config: {}\nport_base: {base}\noperations_port_base: {}\nbatch_timeout: 200ms\nchannels:\n  - name: mychannel\n    orgs: [Org1, Org2]\n    chaincodes:\n      - name: basic\n",
        repo.join("network/test-network-crypto.yaml").display(),
        base + 5
    );
    let cfg = dir.path().join("network.yaml");
    std::fs::write(&cfg, spec).unwrap();
    let cfg = cfg.to_str().unwrap();

    let up = ok(
        &carechain(&home, &["network", "up", "--config", cfg]),
        "network up",
    );
    assert!(
        up.contains("Network cli-test is up") && up.contains("mychannel/basic"),
        "{up}"
    );
    assert!(home.join("profiles/connection-org1.json").exists());
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("profiles/connection-org1.json")).unwrap())
            .unwrap();
    assert_eq!(profile["organizations"]["Org1"]["mspid"], "Org1MSP");
    // Orderer takes base (client) and base+1 (cluster); peers follow. Ops ports start at base+5.
    let peer_ops = base + 6;
    let before = metric(peer_ops, "carechain_peer_transactions_total");
    let demo = ok(&carechain(&home, &["demo", "--config", cfg]), "demo");
    assert!(demo.contains("behaved as expected"), "{demo}");
    let after = metric(peer_ops, "carechain_peer_transactions_total");
    assert!(
        after >= before + 2,
        "VALID counter did not grow: {before} -> {after}"
    );
    // `up` recorded its description: the other commands in this home find the network without it.
    let status = ok(&carechain(&home, &["network", "status"]), "network status");
    assert!(status.contains("mychannel="), "{status}");

    // `carechain bench` against it, as a user measures: every transaction VALID, accounted per node.
    let json = dir.path().join("bench.json");
    let bench = ok(
        &carechain(
            &home,
            &[
                "bench",
                "--channel",
                "mychannel",
                "--clients",
                "4",
                "--duration",
                "2",
                "--json",
                json.to_str().unwrap(),
            ],
        ),
        "bench",
    );
    assert!(bench.contains("throughput (VALID tx/s)"), "{bench}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let valid = report["codes"]["VALID"].as_u64().unwrap_or(0);
    assert!(
        valid > 0 && report["submitted"].as_u64() == Some(valid),
        "{report}"
    );
    assert!(
        report["node_cpu_ms_per_tx"]["peer0.org1.example.com"]
            .as_f64()
            .is_some(),
        "{report}"
    );

    let running = pids(&home);
    assert_eq!(running.len(), 3, "one process per node");
    ok(&carechain(&home, &["network", "down"]), "network down");
    for pid in &running {
        // An exited node may linger as a zombie until its adoptive parent reaps it; that is stopped.
        assert!(
            !carechain::launcher::home::alive(*pid),
            "pid {pid} still running after down"
        );
    }
    // A second `up` restarts the stopped network on its data: the definition is already there.
    let again = ok(&carechain(&home, &["network", "up"]), "second network up");
    assert!(again.contains("already defined"), "{again}");
    ok(&carechain(&home, &["demo"]), "demo after restart");
    ok(
        &carechain(&home, &["network", "down", "--config", cfg, "--clean"]),
        "network down --clean",
    );
    assert!(!home.exists());
}
