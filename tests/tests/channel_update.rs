//! Consortium membership changes on a running network, done the way channel administrators do them:
//! `carechain channel update` computes a config update from the orderer's current configuration, each
//! admin adds a signature with `channel sign-update`, `channel submit-update` hands it to the ordering
//! service, and every orderer and peer checks it against the mod policies before applying it.
//!
//! 1. A channel of a hospital and an insurer. A second hospital's peer runs but is not a member: it is
//!    refused the channel's blocks, queries and endorsements, and cannot join. Adding the hospital with
//!    one admin signature is refused (the Application group's Admins policy is MAJORITY); with both it is
//!    committed, the new peer joins with the genesis block plus the latest config block, catches up to
//!    the same blocks and state, and its clients submit. A new sequence of the contract's definition
//!    with a policy naming all three orgs then takes effect.
//! 2. Three Raft orderers. A fourth is added as consenter and joins from the latest config block; one of
//!    the original three is removed and stops ordering. With a second original orderer killed, the new
//!    one and the last original still form a quorum: ordering goes on, and no chain forks.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{Block, Status as FabricStatus};
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use carechain_tests::cli::{carechain, ok, refused};
use carechain_tests::probe::{endorser_msps, hash};
use carechain_tests::{NetSpec, TestNet, args};
use prost::Message;

const WAIT: Duration = Duration::from_secs(40);

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn org_dir(net: &TestNet, domain: &str) -> PathBuf {
    net.root.path().join("crypto/peerOrganizations").join(domain)
}

/// An identity of the not-yet-member hospital: its `User1`, or its peer's own identity.
fn hospital_b(net: &TestNet, peer: bool) -> SigningIdentity {
    let dir = org_dir(net, "hospitalb.test.local");
    let msp = if peer {
        dir.join("peers/peer0.hospitalb.test.local/msp")
    } else {
        dir.join("users/User1@hospitalb.test.local/msp")
    };
    SigningIdentity::load(&msp, "HospitalBMSP").unwrap()
}

/// Asks peer `i`'s Deliver service for block 0 as `who`; returns the status it ends with and the
/// number of blocks it sent.
async fn deliver_as(net: &TestNet, i: usize, who: &SigningIdentity) -> (i32, usize) {
    let n = net.node("peer", i);
    let ch = carechain_transport::connect(&n.address.to_string(), &net.client_tls("peer", i).unwrap())
        .await
        .unwrap();
    let req = peer_core::txbuild::seek_envelope(who, &net.spec.channel, 0, Some(0), false);
    let mut stream = DeliverClient::new(ch)
        .deliver(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let mut blocks = 0;
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.r#type {
            Some(DeliverType::Status(st)) => return (st, blocks),
            Some(_) => blocks += 1,
            None => {}
        }
    }
    panic!("peer {i}'s deliver stream ended without a status");
}

/// A peer of an org that is not on the channel gets nothing from it, and its peer cannot join.
async fn outsider_is_refused(net: &TestNet) {
    let (status, blocks) = deliver_as(net, 0, &hospital_b(net, true)).await;
    assert_eq!(status, FabricStatus::Forbidden as i32, "deliver to a non-member");
    assert_eq!(blocks, 0, "no block reaches a non-member");
    let gw = net.gateway_as(0, hospital_b(net, false)).await.unwrap();
    let ch = &net.spec.channel;
    let e = gw
        .evaluate(ch, "basic", &args(&["GetAllAssets"]), &BTreeMap::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("HospitalBMSP"), "query by a non-member: {e}");
    let call = args(&["CreateAsset", "outsider", "red", "1", "Synthetic", "1"]);
    let e = gw
        .endorse(ch, &gw.proposal(ch, "basic", &call, &BTreeMap::new()), &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("HospitalBMSP"), "endorsement for a non-member: {e}");
    let e = net
        .admin("extra-peer", 0)
        .await
        .unwrap()
        .join(net.genesis.clone(), None)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("not a member"), "{e:#}");
}

/// Builds an update with `carechain channel update` against orderer `via` as `(msp_dir, msp_id)`.
fn build_update(net: &TestNet, via: usize, admin: (&Path, &str), file: &Path, kind: &[&str]) {
    let mut a = vec!["channel".to_string(), "update".into(), "--channel".into()];
    a.extend([net.spec.channel.clone(), "--output".into(), s(file)]);
    a.extend(net.node_flags("orderer", via, admin.0, admin.1));
    a.extend(kind.iter().map(|k| k.to_string()));
    ok(&carechain(&a), "channel update");
}

fn sign_update(file: &Path, admin: (&Path, &str)) {
    let a = [
        "channel",
        "sign-update",
        "--file",
        &s(file),
        "--msp-dir",
        &s(admin.0),
        "--msp-id",
        admin.1,
    ];
    assert!(ok(&carechain(&a), "sign-update").contains("signatures"));
}

fn submit_update(net: &TestNet, via: usize, admin: (&Path, &str), file: &Path) -> std::process::Output {
    let mut a = vec![
        "channel".to_string(),
        "submit-update".into(),
        "--file".into(),
        s(file),
    ];
    a.extend(net.node_flags("orderer", via, admin.0, admin.1));
    carechain(&a)
}

/// The channel's latest config block, fetched with `carechain channel fetch --config`.
fn fetch_config(net: &TestNet, admin: (&Path, &str), name: &str) -> Block {
    let dir = net.root.path().join(name);
    let mut a = vec!["channel".to_string(), "fetch".into(), "--channel".into()];
    a.extend([
        net.spec.channel.clone(),
        "--output".into(),
        s(&dir),
        "--config".into(),
    ]);
    a.extend(net.node_flags("orderer", 0, admin.0, admin.1));
    ok(&carechain(&a), "channel fetch --config");
    Block::decode(std::fs::read(dir.join("config.block")).unwrap().as_slice()).unwrap()
}

/// Submits a `CreateAsset` through peer `i`'s gateway as that org's `User1`; returns its block.
async fn create_asset(net: &TestNet, i: usize, id: &str) -> u64 {
    let call = args(&["CreateAsset", id, "green", "3", "Synthetic Patient 0042", "10"]);
    net.gateway(i, "User1")
        .await
        .unwrap()
        .submit_transaction(&net.spec.channel, "basic", &call, &BTreeMap::new())
        .await
        .unwrap_or_else(|e| panic!("submit {id} through peer {i}: {e}\n{}", net.logs()))
        .block
}

/// Every peer has the same blocks (by header hash) and the same world state.
async fn peers_agree(net: &TestNet) {
    let height = net.height(0).await.unwrap();
    net.wait_height(height, WAIT).await.unwrap();
    let chain = |blocks: Vec<Block>| blocks.iter().map(hash).collect::<Vec<_>>();
    let first = chain(net.blocks(0).await.unwrap());
    for i in 1..net.peers.len() {
        assert_eq!(chain(net.blocks(i).await.unwrap()), first, "peer {i}'s chain");
    }
    let snap = net.snapshot().await.unwrap();
    assert!(snap.assets.windows(2).all(|w| w[0] == w[1]), "{snap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_hospital_is_added_by_a_majority_of_admins_and_its_peer_catches_up() {
    let spec = NetSpec {
        orgs: vec!["HospitalA".into(), "Insurer".into()],
        extra_orgs: vec!["HospitalB".into()],
        ..NetSpec::default()
    };
    let mut net = TestNet::start(spec).await.expect("network starts");
    create_asset(&net, 0, "before-1").await;
    create_asset(&net, 1, "before-2").await;
    outsider_is_refused(&net).await;

    let a_admin = net.node("peer", 0).admin_msp.clone();
    let i_admin = net.node("peer", 1).admin_msp.clone();
    let a = (a_admin.as_path(), "HospitalAMSP");
    let file = net.root.path().join("add-hospitalb.pb");
    let anchor = format!("127.0.0.1:{}", net.node("extra-peer", 0).address.port());
    let hb_msp = s(&org_dir(&net, "hospitalb.test.local").join("msp"));
    let kind = ["add-org", "--name", "HospitalB", "--msp-id-new", "HospitalBMSP"];
    build_update(
        &net,
        0,
        a,
        &file,
        &[&kind[..], &["--org-msp-dir", &hb_msp, "--anchor", &anchor]].concat(),
    );

    // One admin of two is not a majority: refused, and no node moves.
    sign_update(&file, a);
    let before = net.height(0).await.unwrap();
    refused(
        &submit_update(&net, 0, a, &file),
        "add-org with one signature",
        &["requires", "Admins"],
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(net.height(0).await.unwrap(), before);
    assert_eq!(net.height(1).await.unwrap(), before);

    // The insurer's admin signs too: committed on every peer.
    sign_update(&file, (i_admin.as_path(), "InsurerMSP"));
    ok(&submit_update(&net, 0, a, &file), "add-org with a majority");
    net.wait_height(before + 1, WAIT).await.unwrap();
    let info = net
        .admin("peer", 0)
        .await
        .unwrap()
        .info(&net.spec.channel)
        .await
        .unwrap();
    assert!(
        info.member_msp_ids.contains(&"HospitalBMSP".to_string()),
        "{info:?}"
    );

    // The new hospital's peer joins with the genesis block and the latest config block.
    let config = fetch_config(&net, a, "fetched-config");
    net.admin("extra-peer", 0)
        .await
        .unwrap()
        .join(net.genesis.clone(), Some(config))
        .await
        .unwrap();
    let b = net.promote_peer(0);
    net.wait_peer_height(b, before + 1, WAIT).await.unwrap();
    peers_agree(&net).await;
    assert!(net.all_assets(b).await.unwrap().contains("before-2"));

    // Its admin approves the contract's definition, as a Fabric org joining later does; then its
    // clients submit, endorsed under the channel's MAJORITY policy now over three orgs.
    let def = r#"{"name":"basic","version":"1.0","sequence":1,"endorsement_policy":{"channel_reference":"/Channel/Application/Endorsement"},"collections":[]}"#;
    let approve = vec![
        b"ApproveChaincodeDefinitionForMyOrg".to_vec(),
        def.as_bytes().to_vec(),
    ];
    let gw = net.gateway(b, "Admin").await.unwrap();
    gw.submit_transaction(&net.spec.channel, "_lifecycle", &approve, &BTreeMap::new())
        .await
        .unwrap();
    create_asset(&net, b, "from-hospital-b").await;
    create_asset(&net, 0, "after-1").await;
    peers_agree(&net).await;
    assert!(net.all_assets(0).await.unwrap().contains("from-hospital-b"));

    // A new sequence of the definition with another policy takes effect: every org endorses now.
    let all = "AND('HospitalAMSP.peer', 'InsurerMSP.peer', 'HospitalBMSP.peer')";
    net.deploy("basic", 2, Some(all)).await.unwrap();
    let n = create_asset(&net, 1, "three-endorsers").await;
    let block = net.deliver(0, n, n).await.unwrap().remove(0);
    let mut endorsers = endorser_msps(&block).remove(0);
    endorsers.sort();
    assert_eq!(endorsers, ["HospitalAMSP", "HospitalBMSP", "InsurerMSP"]);
    peers_agree(&net).await;
}

/// Height and tip hash of the channel on orderer `kind`/`i`, with its Raft role.
async fn orderer_tip(net: &TestNet, kind: &str, i: usize) -> (u64, Vec<u8>, String) {
    let info = net
        .admin(kind, i)
        .await
        .unwrap()
        .info(&net.spec.channel)
        .await
        .unwrap();
    let bi = info.info.unwrap_or_default();
    (bi.height, bi.current_block_hash.to_vec(), info.role)
}

/// Waits until orderer `kind`/`i` reports the channel at `height` or more with role `pred`.
async fn wait_orderer(net: &TestNet, kind: &str, i: usize, height: u64, pred: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = net.admin(kind, i).await.unwrap().info(&net.spec.channel).await;
        if let Ok(info) = &got
            && info.info.as_ref().is_some_and(|b| b.height >= height)
            && pred(&info.role)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "orderer {kind} {i}: {got:?}\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A consenter update (`add` or `remove`) for orderer `kind`/`i`, signed by the orderer org's admin
/// and submitted through orderer `via`; waits for every peer to commit it.
async fn change_consenter(net: &TestNet, action: &str, kind: &str, i: usize, via: usize) {
    let n = net.node(kind, i);
    let port = n.cluster.unwrap().port().to_string();
    let cert = s(&net.orderer_tls_cert(&n.name));
    let admin_msp = net.orderer_admin_msp();
    let admin = (admin_msp.as_path(), "OrdererMSP");
    let file = net.root.path().join(format!("consenter-{action}-{i}.pb"));
    let kind = [
        "consenter",
        action,
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--tls-cert",
        &cert,
    ];
    build_update(net, via, admin, &file, &kind);
    sign_update(&file, admin);
    let before = net.height(0).await.unwrap();
    ok(
        &submit_update(net, via, admin, &file),
        &format!("consenter {action}"),
    );
    net.wait_height(before + 1, WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_orderer_is_added_as_consenter_and_an_original_one_removed() {
    let spec = NetSpec {
        orderers: 3,
        extra_orderers: 1,
        ..NetSpec::default()
    };
    let mut net = TestNet::start(spec).await.expect("network starts");
    create_asset(&net, 0, "r-1").await;

    // Add orderer3 as a consenter; it joins from the latest config block and catches up.
    change_consenter(&net, "add", "extra-orderer", 0, 0).await;
    let admin_msp = net.orderer_admin_msp();
    let config = fetch_config(&net, (admin_msp.as_path(), "OrdererMSP"), "consenter-config");
    net.admin("extra-orderer", 0)
        .await
        .unwrap()
        .join(net.genesis.clone(), Some(config))
        .await
        .unwrap();
    let new = net.promote_orderer(0);
    let height = create_asset(&net, 1, "r-2").await + 1;
    wait_orderer(&net, "orderer", new, height, |r| r == "leader" || r == "follower").await;
    let tips: Vec<_> = futures::future::join_all((0..4).map(|i| orderer_tip(&net, "orderer", i))).await;
    assert!(
        tips.windows(2).all(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1),
        "{tips:?}"
    );

    // Remove orderer0: it stops ordering the channel and refuses broadcasts.
    change_consenter(&net, "remove", "orderer", 0, 1).await;
    let h = net.height(0).await.unwrap();
    wait_orderer(&net, "orderer", 0, h, |r| r == "inactive").await;
    let env = probe_envelope(&net).await;
    let mut bc = net.broadcast_client(0).await.unwrap();
    let mut resp = bc
        .broadcast(futures::stream::iter(vec![env]))
        .await
        .unwrap()
        .into_inner();
    let r = resp.message().await.unwrap().unwrap();
    assert_eq!(r.status, FabricStatus::ServiceUnavailable as i32, "{r:?}");
    assert!(r.info.contains("not a consenter"), "{r:?}");

    // Kill orderer1 once the three remaining consenters have a leader: orderer2 and the new orderer3
    // are two of three, a quorum, so they (re-)elect a leader and order; had orderer3 stayed a learner,
    // nothing could be ordered now.
    net.wait_orderer_leader(WAIT).await.unwrap();
    net.kill9("orderer", 1);
    let leader = net.wait_orderer_leader(WAIT).await.unwrap();
    assert!(leader == 2 || leader == new, "orderer {leader} leads");
    create_asset(&net, 0, "r-3").await;
    let last = create_asset(&net, 1, "r-4").await + 1;
    wait_orderer(&net, "orderer", 2, last, |_| true).await;
    wait_orderer(&net, "orderer", new, last, |_| true).await;
    let (a, b) = (
        orderer_tip(&net, "orderer", 2).await,
        orderer_tip(&net, "orderer", new).await,
    );
    assert_eq!((a.0, &a.1), (b.0, &b.1), "the two live consenters agree");
    peers_agree(&net).await;
    assert!(net.all_assets(0).await.unwrap().contains("r-4"));
}

/// An endorsed `CreateAsset` envelope signed by its creator, ready for Broadcast.
async fn probe_envelope(net: &TestNet) -> carechain_proto::common::Envelope {
    let gw = net.gateway(0, "User1").await.unwrap();
    let ch = &net.spec.channel;
    let call = args(&["CreateAsset", "to-removed", "x", "1", "Synthetic", "1"]);
    let prepared = gw
        .endorse(ch, &gw.proposal(ch, "basic", &call, &BTreeMap::new()), &[])
        .await
        .unwrap();
    peer_core::txbuild::sign_envelope(prepared.envelope, gw.signer())
}
