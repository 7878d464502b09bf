//! Shared fixture for peer-core integration tests: cryptogen identities for two orgs and a foreign org,
//! and the channel configuration built from a configtx profile.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use carechain_channel::ChannelConfig;
use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::build_config;
use carechain_crypto::msp::SigningIdentity;
use peer_core::lifecycle::{ChaincodeDefinition, LIFECYCLE, PolicySpec, definition_key};
use peer_core::state::{MemState, Version};

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub channel: ChannelConfig,
    pub user1: SigningIdentity,
    pub peer1: SigningIdentity,
    pub peer2: SigningIdentity,
    pub foreign: SigningIdentity,
    pub admin1: SigningIdentity,
    pub admin2: SigningIdentity,
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "crypto.yaml",
        "OrdererOrgs:\n  - Name: Orderer\n    Domain: orderer.v.local\n    Specs:\n      - Hostname: orderer0\nPeerOrgs:\n  - Name: Org1\n    Domain: org1.v.local\n    Template: {Count: 1}\n    Users: {Count: 1}\n  - Name: Org2\n    Domain: org2.v.local\n    Template: {Count: 1}\n    Users: {Count: 1}\n",
    );
    write(
        p,
        "foreign.yaml",
        "PeerOrgs:\n  - Name: Org1\n    Domain: org1.v.local\n    Template: {Count: 1}\n    Users: {Count: 1}\n",
    );
    carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false).unwrap();
    carechain_crypto::cryptogen::generate(&p.join("foreign.yaml"), &p.join("foreign"), false).unwrap();
    let ocert =
        "crypto/ordererOrganizations/orderer.v.local/orderers/orderer0.orderer.v.local/tls/server.crt";
    write(
        p,
        "configtx.yaml",
        &format!(
            "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/orderer.v.local/msp\n  - Name: Org1\n    ID: Org1MSP\n    MSPDir: crypto/peerOrganizations/org1.v.local/msp\n  - Name: Org2\n    ID: Org2MSP\n    MSPDir: crypto/peerOrganizations/org2.v.local/msp\nProfiles:\n  P:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: 127.0.0.1, Port: 7050, ClientTLSCert: {ocert}, ServerTLSCert: {ocert}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [Org1, Org2]\n"
        ),
    );
    let tx = ConfigTx::load(&p.join("configtx.yaml")).unwrap();
    let channel = ChannelConfig::from_config("ch", &build_config(&tx, "P", "ch").unwrap()).unwrap();
    let id = |root: &str, org: &str, who: &str| {
        let d = format!("{org}.v.local");
        let path = if who.starts_with("peer") {
            format!("{root}/peerOrganizations/{d}/peers/{who}.{d}/msp")
        } else {
            format!("{root}/peerOrganizations/{d}/users/{who}@{d}/msp")
        };
        let msp = if org == "org1" { "Org1MSP" } else { "Org2MSP" };
        SigningIdentity::load(&p.join(path), msp).unwrap()
    };
    Fixture {
        channel,
        user1: id("crypto", "org1", "User1"),
        peer1: id("crypto", "org1", "peer0"),
        peer2: id("crypto", "org2", "peer0"),
        foreign: id("foreign", "org1", "User1"),
        admin1: id("crypto", "org1", "Admin"),
        admin2: id("crypto", "org2", "Admin"),
        _dir: dir,
    }
}

/// A state in which chaincode `kv` is defined (version 1.0) with `policy`.
pub fn defined_with(policy: PolicySpec) -> MemState {
    let mut s = MemState::new();
    let d = ChaincodeDefinition {
        name: "kv".into(),
        version: "1.0".into(),
        sequence: 1,
        endorsement_policy: policy,
        collections: vec![],
    };
    s.put(
        LIFECYCLE,
        &definition_key("kv"),
        &serde_json::to_vec(&d).unwrap(),
        Version::new(0, 0),
    );
    s
}

/// A state in which `kv` is defined with the channel's default policy.
pub fn defined() -> MemState {
    defined_with(PolicySpec::default())
}
