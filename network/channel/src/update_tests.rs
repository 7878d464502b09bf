use std::path::Path;

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::ConfigUpdateEnvelope;
use prost::Message;

use super::*;
use crate::configtx::ConfigTx;
use crate::genesis::build_config;

struct Fx {
    dir: tempfile::TempDir,
    two: ChannelConfig,
    three: Config,
}

fn w(p: &Path, n: &str, t: &str) {
    std::fs::write(p.join(n), t).unwrap();
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    w(
        p,
        "crypto.yaml",
        "OrdererOrgs:\n  - Name: Orderer\n    Domain: o.u.local\n    Specs:\n      - Hostname: orderer0\nPeerOrgs:\n  - Name: HospitalA\n    Domain: a.u.local\n    Template: {Count: 1}\n  - Name: Insurer\n    Domain: i.u.local\n    Template: {Count: 1}\n  - Name: HospitalB\n    Domain: b.u.local\n    Template: {Count: 1}\n",
    );
    carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false).unwrap();
    let c = "crypto/ordererOrganizations/o.u.local/orderers/orderer0.o.u.local/tls/server.crt";
    let org = |n: &str, d: &str| {
        format!(
            "  - Name: {n}\n    ID: {n}MSP\n    MSPDir: crypto/peerOrganizations/{d}/msp\n    AnchorPeers: [{{Host: 127.0.0.1, Port: 7051}}]\n"
        )
    };
    let mut y = String::from(
        "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/o.u.local/msp\n",
    );
    y += &org("HospitalA", "a.u.local");
    y += &org("Insurer", "i.u.local");
    y += &org("HospitalB", "b.u.local");
    y += &format!(
        "Profiles:\n  Two:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: 127.0.0.1, Port: 7050, ClientTLSCert: {c}, ServerTLSCert: {c}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [HospitalA, Insurer]\n  Three:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: 127.0.0.1, Port: 7050, ClientTLSCert: {c}, ServerTLSCert: {c}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [HospitalA, Insurer, HospitalB]\n"
    );
    w(p, "configtx.yaml", &y);
    let tx = ConfigTx::load(&p.join("configtx.yaml")).unwrap();
    let two = ChannelConfig::from_config("care", &build_config(&tx, "Two", "care").unwrap()).unwrap();
    let three = build_config(&tx, "Three", "care").unwrap();
    Fx { dir, two, three }
}

fn admin(f: &Fx, d: &str, msp: &str) -> SigningIdentity {
    let path = f
        .dir
        .path()
        .join(format!("crypto/peerOrganizations/{d}/users/Admin@{d}/msp"));
    SigningIdentity::load(&path, msp).unwrap()
}

/// The "add HospitalB" change: the three-org Application group grafted onto the two-org config.
fn add_hospital_b(f: &Fx) -> Config {
    let mut desired = f.two.config.clone();
    let app3 = f.three.channel_group.as_ref().unwrap().groups["Application"].groups["HospitalB"].clone();
    desired
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
        .groups
        .insert("HospitalB".into(), app3);
    desired
}

fn envelope(f: &Fx, desired: &Config) -> ConfigUpdateEnvelope {
    let u = compute_update("care", &f.two.config, desired).unwrap();
    ConfigUpdateEnvelope {
        config_update: u.encode_to_vec().into(),
        signatures: vec![],
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn adding_an_org_needs_a_majority_of_admins() {
    let f = fx();
    let desired = add_hospital_b(&f);
    let u = compute_update("care", &f.two.config, &desired).unwrap();
    let w = u.write_set.as_ref().unwrap();
    assert_eq!(
        w.groups["Application"].version, 1,
        "membership change bumps the Application group"
    );
    assert_eq!(w.groups["Application"].groups["HospitalB"].version, 0);
    let mut env = envelope(&f, &desired);
    sign(&mut env, &admin(&f, "a.u.local", "HospitalAMSP"));
    let err = authorize(&f.two, &env, now()).unwrap_err();
    assert!(matches!(err, ConfigError::Forbidden(_)), "{err:?}");
    let e = err.to_string();
    assert!(e.contains("/Channel/Application/Admins"), "{e}");
    assert!(e.contains("HospitalAMSP"), "the message names who signed: {e}");
    sign(&mut env, &admin(&f, "i.u.local", "InsurerMSP"));
    let next = authorize(&f.two, &env, now()).unwrap();
    assert_eq!(next.sequence, 1);
    let cc = ChannelConfig::from_config("care", &next).unwrap();
    assert!(cc.application_org_by_msp("HospitalBMSP").is_some());
    assert_eq!(cc.application_orgs.len(), 3);
}

#[test]
fn the_same_admin_twice_counts_once() {
    let f = fx();
    let mut env = envelope(&f, &add_hospital_b(&f));
    let a = admin(&f, "a.u.local", "HospitalAMSP");
    sign(&mut env, &a);
    sign(&mut env, &a);
    assert!(authorize(&f.two, &env, now()).is_err());
}

#[test]
fn an_org_value_needs_only_that_orgs_admin() {
    let f = fx();
    let mut desired = f.two.config.clone();
    let anchors = carechain_proto::protos::AnchorPeers {
        anchor_peers: vec![carechain_proto::protos::AnchorPeer {
            host: "127.0.0.1".into(),
            port: 9051,
        }],
    };
    desired
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
        .groups
        .get_mut("Insurer")
        .unwrap()
        .values
        .get_mut("AnchorPeers")
        .unwrap()
        .value = anchors.encode_to_vec().into();
    let mut by_a = envelope(&f, &desired);
    sign(&mut by_a, &admin(&f, "a.u.local", "HospitalAMSP"));
    assert!(
        authorize(&f.two, &by_a, now())
            .unwrap_err()
            .to_string()
            .contains("Insurer/Admins")
    );
    let mut by_insurer = envelope(&f, &desired);
    sign(&mut by_insurer, &admin(&f, "i.u.local", "InsurerMSP"));
    let next = ChannelConfig::from_config("care", &authorize(&f.two, &by_insurer, now()).unwrap()).unwrap();
    assert_eq!(
        next.application_orgs["Insurer"].anchor_peers,
        vec![("127.0.0.1".to_string(), 9051)]
    );
    // Everything else is untouched.
    assert_eq!(
        next.application_orgs["HospitalA"],
        f.two.application_orgs["HospitalA"]
    );
}

#[test]
fn stale_tampered_and_foreign_updates_are_refused() {
    let f = fx();
    let desired = add_hospital_b(&f);
    let (a, i) = (
        admin(&f, "a.u.local", "HospitalAMSP"),
        admin(&f, "i.u.local", "InsurerMSP"),
    );
    let mut env = envelope(&f, &desired);
    sign(&mut env, &a);
    sign(&mut env, &i);
    let next = ChannelConfig::from_config("care", &authorize(&f.two, &env, now()).unwrap()).unwrap();
    // Applying the same update again on top of its own result: the read set is stale.
    assert!(
        authorize(&next, &env, now())
            .unwrap_err()
            .to_string()
            .contains("stale")
    );
    // A signature over different bytes does not verify.
    let mut tampered = env.clone();
    tampered.signatures[1].signature = tampered.signatures[0].signature.clone();
    assert!(
        authorize(&f.two, &tampered, now())
            .unwrap_err()
            .to_string()
            .contains("rejected")
    );
    // HospitalB's admin is not a member yet: its signature cannot count.
    let mut foreign = envelope(&f, &desired);
    sign(&mut foreign, &admin(&f, "b.u.local", "HospitalBMSP"));
    assert!(authorize(&f.two, &foreign, now()).is_err());
    // A version that skips ahead is refused.
    let mut u = compute_update("care", &f.two.config, &desired).unwrap();
    u.write_set
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
        .version = 5;
    let mut skip = ConfigUpdateEnvelope {
        config_update: u.encode_to_vec().into(),
        signatures: vec![],
    };
    sign(&mut skip, &a);
    sign(&mut skip, &i);
    assert!(
        authorize(&f.two, &skip, now())
            .unwrap_err()
            .to_string()
            .contains("version")
    );
}

#[test]
fn no_change_is_not_an_update() {
    let f = fx();
    assert!(compute_update("care", &f.two.config, &f.two.config).is_err());
}
