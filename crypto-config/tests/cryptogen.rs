//! cryptogen end to end: the demo consortium's tree in Fabric's layout, every certificate checked
//! by our MSP code and by the real `openssl` binary.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use carechain_crypto::cryptogen::{self, CryptogenError, OrgKind, Summary};
use carechain_crypto::msp::{self, MspManager, Role, SigningIdentity};
use carechain_crypto::spec::CryptoConfig;

fn default_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crypto-config.yaml")
}

/// Runs openssl; returns (success, stdout + stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .output()
        .expect("openssl binary at /usr/bin/openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_openssl_verifies(ca: &Path, untrusted: Option<&Path>, cert: &Path, purpose: Option<&str>) {
    let mut args = vec!["verify", "-CAfile", s(ca)];
    if let Some(u) = untrusted {
        args.extend(["-untrusted", s(u)]);
    }
    if let Some(p) = purpose {
        args.extend(["-purpose", p]);
    }
    args.push(s(cert));
    let (ok, text) = openssl(&args);
    assert!(
        ok && text.contains(": OK"),
        "openssl verify {}: {text}",
        cert.display()
    );
}

fn generate_default(out: &Path) -> Summary {
    cryptogen::generate(&default_spec(), out, false).unwrap()
}

fn manager(summary: &Summary) -> MspManager {
    MspManager::new(
        summary
            .orgs
            .iter()
            .map(|o| msp::load_msp(&o.msp_dir, &o.msp_id).unwrap()),
    )
    .unwrap()
}

#[test]
fn default_spec_generates_fabric_layout_that_validates() {
    let out = tempfile::tempdir().unwrap();
    let summary = generate_default(out.path());
    let names: Vec<_> = summary.orgs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Orderer",
            "HospitalA",
            "HospitalB",
            "Insurer",
            "Lab",
            "Manufacturer",
            "Distributor",
            "Research"
        ]
    );
    let orderer = summary.org("Orderer").unwrap();
    assert_eq!(
        orderer.dir,
        out.path().join("ordererOrganizations/orderer.carechain.local")
    );
    assert_eq!(
        orderer.nodes,
        [
            "orderer0.orderer.carechain.local",
            "orderer1.orderer.carechain.local",
            "orderer2.orderer.carechain.local"
        ]
    );
    let mgr = manager(&summary);
    assert_eq!(mgr.msp_ids().count(), 8);

    for org in &summary.orgs {
        let d = &org.domain;
        for f in [
            format!("ca/ca.{d}-cert.pem"),
            "ca/priv_sk".into(),
            format!("tlsca/tlsca.{d}-cert.pem"),
            "tlsca/priv_sk".into(),
            format!("msp/cacerts/ca.{d}-cert.pem"),
            format!("msp/tlscacerts/tlsca.{d}-cert.pem"),
            "msp/config.yaml".into(),
        ] {
            assert!(
                org.dir.join(&f).is_file(),
                "{} missing",
                org.dir.join(&f).display()
            );
        }
        assert!(
            !org.dir.join("msp/admincerts").exists(),
            "NodeOUs on: no admincerts"
        );
        let (node_dir, node_role) = match org.kind {
            OrgKind::Orderer => ("orderers", Role::Orderer),
            OrgKind::Peer => ("peers", Role::Peer),
        };
        for node in &org.nodes {
            let home = org.dir.join(node_dir).join(node);
            check_member(&mgr, &org.msp_id, &home, node, node_role);
            assert!(home.join("msp/config.yaml").is_file() && home.join("msp/tlscacerts").is_dir());
            check_tls(org.dir.as_path(), &home, "server", d);
        }
        for user in &org.users {
            let home = org.dir.join("users").join(user);
            let role = if user.starts_with("Admin@") || user.starts_with("labadmin@") {
                Role::Admin
            } else {
                Role::Client
            };
            check_member(&mgr, &org.msp_id, &home, user, role);
            check_tls(org.dir.as_path(), &home, "client", d);
        }
    }

    let hospital = summary.org("HospitalA").unwrap();
    assert_eq!(
        hospital.users,
        [
            "Admin@hospitala.carechain.local",
            "User1@hospitala.carechain.local",
            "drsmith@hospitala.carechain.local",
            "nurse.jones@hospitala.carechain.local",
            "patient0001@hospitala.carechain.local",
            "compliance@hospitala.carechain.local",
            "billing@hospitala.carechain.local",
            "pharmacist@hospitala.carechain.local"
        ]
    );
    let roles = [
        ("drsmith", "doctor"),
        ("nurse.jones", "nurse"),
        ("patient0001", "patient"),
        ("compliance", "compliance_officer"),
    ];
    for (user, role) in roles {
        let signer = SigningIdentity::load(
            &hospital
                .dir
                .join(format!("users/{user}@hospitala.carechain.local/msp")),
            "HospitalAMSP",
        )
        .unwrap();
        assert_eq!(
            mgr.deserialize_identity(signer.serialize())
                .unwrap()
                .attribute("role"),
            Some(role)
        );
    }
    let config_yaml = std::fs::read_to_string(hospital.dir.join("msp/config.yaml")).unwrap();
    assert!(config_yaml.contains("  PeerOUIdentifier:\n    Certificate: cacerts/ca.hospitala.carechain.local-cert.pem\n    OrganizationalUnitIdentifier: peer\n"), "{config_yaml}");
    assert!(
        std::fs::read_to_string(hospital.dir.join("ca/priv_sk"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
}

/// The local MSP loads, signs, validates against the channel MSPs and has the expected role.
fn check_member(mgr: &MspManager, msp_id: &str, home: &Path, cn: &str, role: Role) {
    let msp_dir = home.join("msp");
    for f in [format!("signcerts/{cn}-cert.pem"), "keystore/priv_sk".into()] {
        assert!(
            msp_dir.join(&f).is_file(),
            "{} missing",
            msp_dir.join(&f).display()
        );
    }
    let signer = SigningIdentity::load(&msp_dir, msp_id).unwrap();
    let id = mgr
        .verify_signature(signer.serialize(), cn.as_bytes(), &signer.sign(cn.as_bytes()))
        .unwrap();
    assert_eq!(id.role(), role, "{cn}");
    assert_eq!(id.common_name(), cn);
    // The node's own MSP directory is a complete verifying MSP too.
    let local = MspManager::new([msp::load_msp(&msp_dir, msp_id).unwrap()]).unwrap();
    local.deserialize_identity(signer.serialize()).unwrap();
}

fn check_tls(org_dir: &Path, home: &Path, stem: &str, domain: &str) {
    let tls = home.join("tls");
    let ca = std::fs::read(tls.join("ca.crt")).unwrap();
    assert_eq!(
        ca,
        std::fs::read(org_dir.join(format!("tlsca/tlsca.{domain}-cert.pem"))).unwrap()
    );
    let cert_der =
        carechain_crypto::pem::first_certificate(&std::fs::read(tls.join(format!("{stem}.crt"))).unwrap())
            .unwrap();
    let ca_der = carechain_crypto::pem::first_certificate(&ca).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).unwrap();
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    cert.verify_signature(Some(ca.public_key())).unwrap();
    let key = carechain_crypto::SigningKey::load(&tls.join(format!("{stem}.key"))).unwrap();
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        key.public_key()
    );
}

#[test]
fn openssl_verifies_chains_and_shows_ous_sans_and_attributes() {
    let out = tempfile::tempdir().unwrap();
    let summary = generate_default(out.path());
    for org in &summary.orgs {
        let cacert = org.msp_dir.join(format!("cacerts/ca.{}-cert.pem", org.domain));
        let tlscacert = org
            .msp_dir
            .join(format!("tlscacerts/tlsca.{}-cert.pem", org.domain));
        let node_dir = if org.kind == OrgKind::Orderer {
            "orderers"
        } else {
            "peers"
        };
        let homes = org
            .nodes
            .iter()
            .map(|n| (org.dir.join(node_dir).join(n), n, "server"))
            .chain(
                org.users
                    .iter()
                    .map(|u| (org.dir.join("users").join(u), u, "client")),
            );
        for (home, cn, stem) in homes {
            assert_openssl_verifies(
                &cacert,
                None,
                &home.join(format!("msp/signcerts/{cn}-cert.pem")),
                None,
            );
            let tls_cert = home.join(format!("tls/{stem}.crt"));
            assert_openssl_verifies(&tlscacert, None, &tls_cert, Some("sslserver"));
            assert_openssl_verifies(&tlscacert, None, &tls_cert, Some("sslclient"));
            // A signing certificate must not chain to the TLS CA, and vice versa.
            let (ok, _) = openssl(&[
                "verify",
                "-CAfile",
                s(&tlscacert),
                s(&home.join(format!("msp/signcerts/{cn}-cert.pem"))),
            ]);
            assert!(!ok, "{cn} signcert must not verify against the TLS CA");
            let (ok, text) = openssl(&[
                "pkey",
                "-in",
                s(&home.join("msp/keystore/priv_sk")),
                "-noout",
                "-text",
            ]);
            assert!(ok && text.contains("P-256"), "{text}");
        }
    }

    let hospital = summary.org("HospitalA").unwrap();
    let peer = hospital.dir.join("peers/peer0.hospitala.carechain.local");
    let text = x509_text(&peer.join("msp/signcerts/peer0.hospitala.carechain.local-cert.pem"));
    assert!(text.contains("Subject: C = US, ST = California, L = San Francisco, O = hospitala.carechain.local, OU = peer, CN = peer0.hospitala.carechain.local"), "{text}");
    assert!(
        text.contains("Digital Signature") && text.contains("CA:FALSE"),
        "{text}"
    );
    let tls = x509_text(&peer.join("tls/server.crt"));
    assert!(
        tls.contains("DNS:peer0.hospitala.carechain.local, DNS:peer0, DNS:localhost, IP Address:127.0.0.1"),
        "{tls}"
    );
    assert!(
        tls.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{tls}"
    );
    let ca = x509_text(&hospital.dir.join("ca/ca.hospitala.carechain.local-cert.pem"));
    assert!(
        ca.contains("CA:TRUE") && ca.contains("Certificate Sign, CRL Sign"),
        "{ca}"
    );
    let orderer = summary.org("Orderer").unwrap();
    let otext = x509_text(&orderer.dir.join(
        "orderers/orderer1.orderer.carechain.local/msp/signcerts/orderer1.orderer.carechain.local-cert.pem",
    ));
    assert!(otext.contains("OU = orderer"), "{otext}");
    let admin = x509_text(&hospital.dir.join(
        "users/Admin@hospitala.carechain.local/msp/signcerts/Admin@hospitala.carechain.local-cert.pem",
    ));
    assert!(admin.contains("OU = admin"), "{admin}");
    let doctor = x509_text(&hospital.dir.join(
        "users/drsmith@hospitala.carechain.local/msp/signcerts/drsmith@hospitala.carechain.local-cert.pem",
    ));
    assert!(doctor.contains("OU = client"), "{doctor}");
    assert!(doctor.contains("1.2.3.4.5.6.7.8.1:"), "{doctor}");
    assert!(doctor.contains(r#"{"attrs":{"role":"doctor"}}"#), "{doctor}");
}

fn x509_text(path: &Path) -> String {
    let (ok, text) = openssl(&["x509", "-in", s(path), "-noout", "-text"]);
    assert!(ok, "{text}");
    text
}

#[test]
fn existing_org_dirs_are_not_overwritten_unless_asked() {
    let out = tempfile::tempdir().unwrap();
    let spec = CryptoConfig::from_yaml(
        "PeerOrgs: [{Name: Clinic, Domain: clinic.carechain.local, Template: {Count: 1}}]",
    )
    .unwrap();
    let summary = cryptogen::generate_from_spec(&spec, out.path(), false).unwrap();
    let ca_file = summary.orgs[0].dir.join("ca/ca.clinic.carechain.local-cert.pem");
    let before = std::fs::read(&ca_file).unwrap();
    let err = cryptogen::generate_from_spec(&spec, out.path(), false).unwrap_err();
    assert!(matches!(err, CryptogenError::OrgExists { .. }));
    assert!(
        err.to_string()
            .contains("already exists; refusing to overwrite it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&ca_file).unwrap(),
        before,
        "refusal changes nothing"
    );
    cryptogen::generate_from_spec(&spec, out.path(), true).unwrap();
    assert_ne!(
        std::fs::read(&ca_file).unwrap(),
        before,
        "overwrite regenerates the CA"
    );
    let bad = cryptogen::generate(&out.path().join("missing.yaml"), out.path(), false).unwrap_err();
    assert!(bad.to_string().contains("missing.yaml"), "{bad}");
}

#[test]
fn intermediate_ca_and_legacy_admincerts_orgs() {
    let out = tempfile::tempdir().unwrap();
    let spec = CryptoConfig::from_yaml(
        "PeerOrgs:\n  - {Name: Research, Domain: research.carechain.local, IntermediateCA: true, Template: {Count: 1}, Users: {Named: [{Name: analyst1, Attrs: {role: analyst}}]}}\n  - {Name: Legacy, Domain: legacy.carechain.local, EnableNodeOUs: false, Template: {Count: 1}, Users: {Count: 1}}\n",
    )
    .unwrap();
    let summary = cryptogen::generate_from_spec(&spec, out.path(), false).unwrap();
    let mgr = manager(&summary);

    let research = summary.org("Research").unwrap();
    let root = research
        .dir
        .join("msp/cacerts/ca.research.carechain.local-cert.pem");
    let ica = research
        .dir
        .join("msp/intermediatecerts/ica.research.carechain.local-cert.pem");
    assert!(research.dir.join("ica/priv_sk").is_file());
    let yaml = std::fs::read_to_string(research.dir.join("msp/config.yaml")).unwrap();
    assert!(
        yaml.contains("Certificate: intermediatecerts/ica.research.carechain.local-cert.pem"),
        "{yaml}"
    );
    let home = research.dir.join("users/analyst1@research.carechain.local");
    let cert = home.join("msp/signcerts/analyst1@research.carechain.local-cert.pem");
    assert_openssl_verifies(&root, Some(&ica), &cert, None);
    let (ok, _) = openssl(&["verify", "-CAfile", s(&root), s(&cert)]);
    assert!(!ok, "the leaf needs the intermediate");
    check_member(
        &mgr,
        "ResearchMSP",
        &home,
        "analyst1@research.carechain.local",
        Role::Client,
    );

    let legacy = summary.org("Legacy").unwrap();
    assert!(
        legacy
            .dir
            .join("msp/admincerts/Admin@legacy.carechain.local-cert.pem")
            .is_file()
    );
    assert!(!legacy.dir.join("msp/config.yaml").exists());
    let peer = legacy.dir.join("peers/peer0.legacy.carechain.local");
    assert!(
        peer.join("msp/admincerts/Admin@legacy.carechain.local-cert.pem")
            .is_file()
    );
    check_member(
        &mgr,
        "LegacyMSP",
        &peer,
        "peer0.legacy.carechain.local",
        Role::Member,
    );
    check_member(
        &mgr,
        "LegacyMSP",
        &legacy.dir.join("users/Admin@legacy.carechain.local"),
        "Admin@legacy.carechain.local",
        Role::Admin,
    );
    check_member(
        &mgr,
        "LegacyMSP",
        &legacy.dir.join("users/User1@legacy.carechain.local"),
        "User1@legacy.carechain.local",
        Role::Member,
    );
    let text = x509_text(&peer.join("msp/signcerts/peer0.legacy.carechain.local-cert.pem"));
    assert!(!text.contains("OU ="), "no NodeOU without EnableNodeOUs: {text}");
}

#[test]
fn keys_and_signatures_interoperate_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (ok, t) = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        s(&p("pkcs8.pem")),
    ]);
    assert!(ok, "{t}");
    let (ok, t) = openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        s(&p("sec1.pem")),
    ]);
    assert!(ok, "{t}");
    let msg = b"synthetic lab result hash for Synthetic Patient 0001";
    std::fs::write(p("msg"), msg).unwrap();
    for file in ["pkcs8.pem", "sec1.pem"] {
        let key = carechain_crypto::SigningKey::load(&p(file)).unwrap();
        let (ok, t) = openssl(&["pkey", "-in", s(&p(file)), "-pubout", "-out", s(&p("pub.pem"))]);
        assert!(ok, "{t}");
        // Ours → openssl.
        std::fs::write(p("sig.der"), key.sign(msg)).unwrap();
        let (ok, t) = openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            s(&p("pub.pem")),
            "-signature",
            s(&p("sig.der")),
            s(&p("msg")),
        ]);
        assert!(ok && t.contains("Verified OK"), "{file}: {t}");
        // openssl → ours: openssl does not normalize S, so high-S ones are refused until flipped.
        for _ in 0..8 {
            let (ok, t) = openssl(&[
                "dgst",
                "-sha256",
                "-sign",
                s(&p(file)),
                "-out",
                s(&p("osig.der")),
                s(&p("msg")),
            ]);
            assert!(ok, "{t}");
            let sig = std::fs::read(p("osig.der")).unwrap();
            match carechain_crypto::sign::is_low_s(&sig).unwrap() {
                true => carechain_crypto::verify(key.public_key(), msg, &sig).unwrap(),
                false => {
                    assert_eq!(
                        carechain_crypto::verify(key.public_key(), msg, &sig),
                        Err(carechain_crypto::SignatureError::HighS)
                    );
                    let low = carechain_crypto::sign::malleate(&sig).unwrap();
                    carechain_crypto::verify(key.public_key(), msg, &low).unwrap();
                }
            }
        }
    }
}
