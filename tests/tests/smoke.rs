//! The spine end to end: a real orderer and two peers of two orgs as processes, a transaction submitted
//! through one peer's gateway, endorsed by both orgs (the channel's default MAJORITY policy), ordered,
//! validated and committed by both peers.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_tests::{NetSpec, TestNet};

fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_commits_on_both_peers() {
    let net = TestNet::start(NetSpec::default()).await.expect("network starts");
    net.wait_height(1, Duration::from_secs(10)).await.unwrap();
    let gw = net.gateway(0, "User1").await.unwrap();
    let none = BTreeMap::new();
    let c = gw
        .submit_transaction(
            "testchannel",
            "basic",
            &args(&["CreateAsset", "a1", "blue", "5", "Synthetic Owner", "100"]),
            &none,
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "submit failed: {e}\norderer log:\n{}\npeer0 log:\n{}",
                net.log("orderer", 0),
                net.log("peer", 0)
            )
        });
    assert!(c.block >= 1);
    for i in 0..2 {
        let gw = net.gateway(i, "User1").await.unwrap();
        let v = gw
            .evaluate("testchannel", "basic", &args(&["ReadAsset", "a1"]), &none)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#"{"AppraisedValue":100,"Color":"blue","ID":"a1","Owner":"Synthetic Owner","Size":5}"#
        );
    }
}
