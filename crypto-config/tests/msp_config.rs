//! MSPs travel as `FabricMSPConfig` in channel configuration and live as Fabric directories on
//! disk; both forms must round-trip, and principals must convert from Fabric's `MSPPrincipal`.
#![allow(clippy::unwrap_used)]

mod common;

use carechain_crypto::msp::{self, Msp, MspError, MspManager, NodeOu, Principal, Role, SigningIdentity};
use carechain_proto::common::msp_principal::Classification;
use carechain_proto::common::{MspPrincipal, MspRole, msp_role::MspRoleType};
use carechain_proto::msp::{FabricMspConfig, MspConfig};
use common::TestOrg;
use prost::Message;

#[test]
fn verifier_works_from_encoded_channel_config_alone() {
    let a = TestOrg::with_intermediate("Insurer");
    let user = a.user("claims", NodeOu::Client, &[("role", "insurer")]);
    let wire = a.msp().to_msp_config().encode_to_vec();
    // A peer receiving channel configuration: bytes in, MSP out, no filesystem.
    let msp = Msp::from_msp_config(&MspConfig::decode(wire.as_slice()).unwrap()).unwrap();
    assert_eq!(msp.id(), "InsurerMSP");
    assert!(msp.node_ous_enabled());
    let mgr = MspManager::new([msp]).unwrap();
    let id = mgr
        .verify_signature(user.serialize(), b"m", &user.sign(b"m"))
        .unwrap();
    assert_eq!(id.attribute("role"), Some("insurer"));

    let wrong_type = MspConfig {
        r#type: 1,
        config: Default::default(),
    };
    assert!(matches!(
        Msp::from_msp_config(&wrong_type),
        Err(MspError::InvalidConfig { .. })
    ));
    let empty = FabricMspConfig {
        name: "EmptyMSP".into(),
        ..Default::default()
    };
    assert!(
        Msp::from_config(&empty)
            .unwrap_err()
            .to_string()
            .contains("no root CA certificates")
    );
}

#[test]
fn directory_round_trip_keeps_the_msp() {
    let a = TestOrg::with_intermediate("HospitalA");
    let mut config = a.config.clone();
    config.tls_root_certs.push(a.root.cert_pem().to_string().into());
    let dir = tempfile::tempdir().unwrap();
    msp::write_msp_dir(&config, dir.path()).unwrap();
    let yaml = std::fs::read_to_string(dir.path().join("config.yaml")).unwrap();
    assert!(yaml.contains("NodeOUs:\n  Enable: true\n  ClientOUIdentifier:\n    Certificate: intermediatecerts/ica.hospitala.carechain.test-cert.pem\n    OrganizationalUnitIdentifier: client\n"), "{yaml}");
    assert!(
        dir.path()
            .join("cacerts/ca.hospitala.carechain.test-cert.pem")
            .is_file()
    );
    let loaded = msp::load_msp_config(dir.path(), "HospitalAMSP").unwrap();
    assert_eq!(loaded.root_certs, config.root_certs);
    assert_eq!(loaded.intermediate_certs, config.intermediate_certs);
    assert_eq!(loaded.tls_root_certs, config.tls_root_certs);
    assert_eq!(loaded.fabric_node_ous, config.fabric_node_ous);
    let user = a.user("u", NodeOu::Peer, &[]);
    let mgr = MspManager::new([msp::load_msp(dir.path(), "HospitalAMSP").unwrap()]).unwrap();
    assert_eq!(
        mgr.deserialize_identity(user.serialize()).unwrap().role(),
        Role::Peer
    );
}

#[test]
fn certificates_sharing_a_cn_are_all_written() {
    let a = TestOrg::new("HospitalA");
    let renewed = TestOrg::new("HospitalA");
    let mut config = a.config.clone();
    config.root_certs.push(renewed.root.cert_pem().to_string().into());
    let dir = tempfile::tempdir().unwrap();
    msp::write_msp_dir(&config, dir.path()).unwrap();
    assert!(
        dir.path()
            .join("cacerts/ca.hospitala.carechain.test-2-cert.pem")
            .is_file()
    );
    let loaded = msp::load_msp_config(dir.path(), "HospitalAMSP").unwrap();
    assert_eq!(loaded.root_certs.len(), 2);
    // Both CAs are trusted; NodeOUs stay tied to the first one.
    let mgr = MspManager::new([Msp::from_config(&loaded).unwrap()]).unwrap();
    mgr.deserialize_identity(a.user("u", NodeOu::Client, &[]).serialize())
        .unwrap();
}

#[test]
fn reads_fabric_style_config_yaml_and_reports_missing_pieces() {
    let a = TestOrg::new("Lab");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("cacerts");
    std::fs::create_dir_all(&ca).unwrap();
    std::fs::write(ca.join("ca.pem"), a.root.cert_pem()).unwrap();
    // Fabric's exact format, as cryptogen writes it (only two NodeOUs configured here).
    std::fs::write(
        dir.path().join("config.yaml"),
        "NodeOUs:\n  Enable: true\n  ClientOUIdentifier:\n    Certificate: cacerts/ca.pem\n    OrganizationalUnitIdentifier: client\n  PeerOUIdentifier:\n    Certificate: cacerts/ca.pem\n    OrganizationalUnitIdentifier: peer\n",
    )
    .unwrap();
    let msp = msp::load_msp(dir.path(), "LabMSP").unwrap();
    let mgr = MspManager::new([msp]).unwrap();
    assert_eq!(
        mgr.deserialize_identity(a.user("p", NodeOu::Peer, &[]).serialize())
            .unwrap()
            .role(),
        Role::Peer
    );
    // Admin NodeOU is not configured here, so an admin-OU certificate matches no NodeOU.
    assert!(matches!(
        mgr.deserialize_identity(a.user("x", NodeOu::Admin, &[]).serialize()),
        Err(MspError::NoNodeOu { .. })
    ));

    std::fs::write(dir.path().join("config.yaml"), "NodeOUs:\n  Enable: true\n  PeerOUIdentifier:\n    Certificate: cacerts/missing.pem\n    OrganizationalUnitIdentifier: peer\n").unwrap();
    let err = msp::load_msp(dir.path(), "LabMSP").unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    assert!(matches!(
        msp::load_msp(&dir.path().join("nope"), "LabMSP"),
        Err(MspError::Io { .. })
    ));
}

#[test]
fn signing_identity_loads_from_signcerts_and_keystore() {
    let a = TestOrg::new("HospitalB");
    let (cert, key) = a
        .issuer()
        .issue_leaf(&a.request("peer0", Some(NodeOu::Peer)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    msp::write_msp_dir(&a.config, dir.path()).unwrap();
    std::fs::create_dir_all(dir.path().join("signcerts")).unwrap();
    std::fs::create_dir_all(dir.path().join("keystore")).unwrap();
    std::fs::write(dir.path().join("signcerts/peer0-cert.pem"), &cert.pem).unwrap();
    // A foreign key first in name order: the loader must pick the matching one.
    carechain_crypto::SigningKey::generate()
        .unwrap()
        .save(&dir.path().join("keystore/a_sk"))
        .unwrap();
    key.save(&dir.path().join("keystore/priv_sk")).unwrap();
    let signer = SigningIdentity::load(dir.path(), "HospitalBMSP").unwrap();
    assert_eq!(signer.certificate_pem(), cert.pem.as_bytes());
    assert_eq!(signer.serialized_identity().encode_to_vec(), signer.serialize());
    let mgr = MspManager::new([msp::load_msp(dir.path(), "HospitalBMSP").unwrap()]).unwrap();
    mgr.verify_signature(signer.serialize(), b"block", &signer.sign(b"block"))
        .unwrap();

    std::fs::remove_file(dir.path().join("keystore/priv_sk")).unwrap();
    assert!(matches!(
        SigningIdentity::load(dir.path(), "HospitalBMSP"),
        Err(MspError::KeyNotFound { .. })
    ));
}

#[test]
fn principals_convert_from_and_to_fabric_msp_principal() {
    let role = MspPrincipal {
        principal_classification: Classification::Role as i32,
        principal: MspRole {
            msp_identifier: "HospitalAMSP".into(),
            role: MspRoleType::Peer as i32,
        }
        .encode_to_vec()
        .into(),
    };
    let p = Principal::from_proto(&role).unwrap();
    assert_eq!(p, Principal::role("HospitalAMSP", Role::Peer));
    assert_eq!(p.to_string(), "HospitalAMSP.peer");
    assert_eq!(p.to_proto(), role);

    let a = TestOrg::new("HospitalA");
    let user = a.user("u", NodeOu::Client, &[]);
    let identity = MspPrincipal {
        principal_classification: Classification::Identity as i32,
        principal: user.serialize().to_vec().into(),
    };
    let p = Principal::from_proto(&identity).unwrap();
    let mgr = MspManager::new([a.msp()]).unwrap();
    assert!(mgr.deserialize_identity(user.serialize()).unwrap().satisfies(&p));
    assert_eq!(Principal::from_proto(&p.to_proto()).unwrap(), p);

    let ou = Principal::OrganizationUnit {
        msp_id: "HospitalAMSP".into(),
        ou: "client".into(),
        certifiers_id: vec![],
    };
    assert_eq!(Principal::from_proto(&ou.to_proto()).unwrap(), ou);

    let combined = MspPrincipal {
        principal_classification: Classification::Combined as i32,
        principal: Default::default(),
    };
    assert!(
        Principal::from_proto(&combined)
            .unwrap_err()
            .to_string()
            .contains("COMBINED is not supported")
    );
    let bad_role = MspPrincipal {
        principal_classification: 0,
        principal: vec![0x10, 0x63].into(),
    };
    assert!(matches!(
        Principal::from_proto(&bad_role),
        Err(MspError::BadPrincipal(_))
    ));
}
