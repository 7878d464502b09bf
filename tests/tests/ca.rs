//! The organization CA end to end, as operators and members use it: `carechain ca start` as its own
//! process over real TLS next to a real network, every step through the `carechain` CLI.
//!
//! 1. Org1's CA runs with the org's CA key from cryptogen; its bootstrap admin enrolls and registers a
//!    doctor (`role=doctor`) and an insurer clerk; a non-registrar's register, a wrong secret and an
//!    enrollment past the maximum are refused with clear errors; `openssl verify` accepts the enrolled
//!    certificates against the org's CA.
//! 2. The doctor transacts; the `claims` contract sees `role=doctor` (and refuses it what only
//!    `role=insurer` may do, which the insurer clerk then does).
//! 3. The doctor's first certificate is revoked and the CRL put into channel configuration: a config
//!    update computed from the orderer's config and signed by both orgs' admins (Org1's is the
//!    CA-enrolled admin), submitted to the orderer. The certificate is then refused by both peers'
//!    gateways and by the orderer; the re-enrolled certificate keeps working; the revoked one can no
//!    longer re-enroll.
//! 4. A second CA runs as an intermediate signed by a root, delegates registration to a ward admin who
//!    may register nurses but not doctors, survives a restart, and issues TLS certificates.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use carechain_crypto::msp::SigningIdentity;
use carechain_crypto::{CertificateAuthority, NodeOu, Subject, Validity};
use carechain_proto::common::Status as FabricStatus;
use carechain_tests::cli::{carechain, ok, refused};
use carechain_tests::tamper::with_creator;
use carechain_tests::{NetSpec, TestNet, args};

mod ca_support;

use ca_support::{CH, CaProcess, only_file, openssl_verify, put_crl_in_channel, submit_asset, validated};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_registered_by_the_hospital_ca_transacts_until_revoked() {
    let net = TestNet::start(NetSpec::default()).await.expect("network starts");
    net.deploy("claims", 1, None).await.unwrap();
    let root = net.root.path();
    let org1 = root.join("crypto/peerOrganizations/org1.test.local");
    let org1_msp = org1.join("msp");
    let ca = CaProcess::start(
        &root.join("ca-org1"),
        &[
            "--msp-id",
            "Org1MSP",
            "--org-msp-dir",
            org1_msp.to_str().unwrap(),
            "--ca-cert",
            org1.join("ca/ca.org1.test.local-cert.pem").to_str().unwrap(),
            "--ca-key",
            org1.join("ca/priv_sk").to_str().unwrap(),
            "--bootstrap-admin",
            "admin:adminpw",
        ],
    );
    let users = root.join("ca-users");
    let msp = |name: &str| users.join(name).join("msp");
    let s = |p: PathBuf| p.display().to_string();
    let admin_msp = s(msp("admin"));

    // The bootstrap admin enrolls, then registers a doctor and an insurer clerk.
    ok(
        &ca.cli(
            "enroll",
            &["--id", "admin", "--secret", "adminpw", "--output", &admin_msp],
        ),
        "admin enroll",
    );
    let reg = ca.cli(
        "register",
        &[
            "--msp-dir",
            &admin_msp,
            "--id",
            "doctor1",
            "--secret",
            "doctorpw",
            "--type",
            "client",
            "--affiliation",
            "org1.cardiology",
            "--attr",
            "role=doctor",
            "--attr",
            "department=cardiology",
            "--attr",
            "licence=SYNTH-MD-0001",
            "--max-enrollments",
            "2",
        ],
    );
    assert!(ok(&reg, "register doctor").contains("secret: doctorpw"));
    let reg = ca.cli(
        "register",
        &[
            "--msp-dir",
            &admin_msp,
            "--id",
            "clerk1",
            "--attr",
            "role=insurer",
        ],
    );
    let clerk_secret = ok(&reg, "register clerk")
        .lines()
        .find_map(|l| l.strip_prefix("secret: ").map(str::to_string))
        .unwrap();

    // Refusals: wrong secret, a non-registrar's register, enrolling past the maximum.
    refused(
        &ca.cli(
            "enroll",
            &["--id", "doctor1", "--secret", "wrong", "--output", &s(msp("x"))],
        ),
        "enroll with a wrong secret",
        &[
            "not registered with this CA or the secret is wrong",
            "Unauthenticated",
        ],
    );
    assert!(!msp("x").exists(), "a refused enrollment writes nothing");
    ok(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "doctor1",
                "--secret",
                "doctorpw",
                "--output",
                &s(msp("doctor-a")),
            ],
        ),
        "doctor enroll",
    );
    refused(
        &ca.cli(
            "register",
            &[
                "--msp-dir",
                &s(msp("doctor-a")),
                "--id",
                "fake",
                "--attr",
                "role=doctor",
            ],
        ),
        "register by a non-registrar",
        &["doctor1 is not a registrar", "PermissionDenied"],
    );
    ok(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "doctor1",
                "--secret",
                "doctorpw",
                "--output",
                &s(msp("doctor-b")),
            ],
        ),
        "second enroll",
    );
    refused(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "doctor1",
                "--secret",
                "doctorpw",
                "--output",
                &s(msp("doctor-c")),
            ],
        ),
        "third enroll",
        &[
            "doctor1 has already enrolled 2 time(s), its maximum of 2",
            "PermissionDenied",
        ],
    );
    ok(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "clerk1",
                "--secret",
                &clerk_secret,
                "--output",
                &s(msp("clerk")),
            ],
        ),
        "clerk enroll",
    );

    // openssl accepts the enrolled certificates against the org's CA; the MSP layout is Fabric's.
    let cafile = org1_msp.join("cacerts/ca.org1.test.local-cert.pem");
    for who in ["admin", "doctor-a", "doctor-b", "clerk"] {
        openssl_verify(&cafile, None, &msp(who).join("signcerts/cert.pem"), None);
        assert!(msp(who).join("keystore/priv_sk").exists());
        assert!(msp(who).join("config.yaml").exists());
        assert_eq!(
            only_file(&msp(who).join("cacerts")).file_name(),
            cafile.file_name()
        );
    }
    let doctor_a = || SigningIdentity::load(&msp("doctor-a"), "Org1MSP").unwrap();
    let doctor_id = validated(&org1_msp, "Org1MSP", &msp("doctor-a"));
    assert_eq!(doctor_id.node_ou(), Some(NodeOu::Client));
    assert_eq!(doctor_id.attribute("role"), Some("doctor"));
    assert_eq!(doctor_id.attribute("hf.Affiliation"), Some("org1.cardiology"));

    // The doctor transacts, and the claims contract sees role=doctor.
    submit_asset(&net, CH, 0, doctor_a(), "ca-asset-1").await.unwrap();
    let coverage = args(&[
        "RegisterCoverage",
        "cov-0001",
        "synthetic-patient-0001",
        "2025-01-01",
    ]);
    let e = net
        .gateway_as(0, doctor_a())
        .await
        .unwrap()
        .submit_transaction(CH, "claims", &coverage, &BTreeMap::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("has role=doctor") && e.contains("role=insurer"), "{e}");
    let clerk = SigningIdentity::load(&msp("clerk"), "Org1MSP").unwrap();
    let done = net
        .gateway_as(0, clerk)
        .await
        .unwrap()
        .submit_transaction(CH, "claims", &coverage, &BTreeMap::new())
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&done.result).contains("cov-0001"));

    // Re-enroll doctor-b with a new key: a working certificate, not counted against the maximum.
    let old_key = std::fs::read(msp("doctor-b").join("keystore/priv_sk")).unwrap();
    ok(
        &ca.cli("reenroll", &["--msp-dir", &s(msp("doctor-b"))]),
        "reenroll",
    );
    assert_ne!(
        std::fs::read(msp("doctor-b").join("keystore/priv_sk")).unwrap(),
        old_key
    );
    openssl_verify(&cafile, None, &msp("doctor-b").join("signcerts/cert.pem"), None);
    let doctor_b = || SigningIdentity::load(&msp("doctor-b"), "Org1MSP").unwrap();
    submit_asset(&net, CH, 1, doctor_b(), "ca-asset-2").await.unwrap();

    // Revoke doctor-a's certificate, put the CRL into the channel (Org1's CA admin + Org2's admin sign).
    let serial = validated(&org1_msp, "Org1MSP", &msp("doctor-a")).serial_hex();
    let crl = root.join("org1.crl.pem");
    let out = ok(
        &ca.cli(
            "revoke",
            &[
                "--msp-dir",
                &admin_msp,
                "--serial",
                &serial,
                "--reason",
                "keycompromise",
                "--crl-output",
                &s(crl.clone()),
            ],
        ),
        "revoke",
    );
    assert!(out.contains(&serial), "{out}");
    let o = Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(&crl)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .to_lowercase()
            .contains(&serial),
        "openssl crl lists {serial}"
    );
    let ch = put_crl_in_channel(&net, &admin_msp, &crl).await;

    // Refused everywhere: both gateways, and the orderer (a transaction endorsed for doctor-b, re-signed
    // with the revoked certificate as its creator).
    for peer in 0..2 {
        let e = submit_asset(&net, &ch, peer, doctor_a(), &format!("ca-revoked-{peer}"))
            .await
            .unwrap_err();
        assert!(
            e.contains("PermissionDenied") && e.contains("revoked"),
            "peer {peer}: {e}"
        );
    }
    let gw_b = net.gateway_as(0, doctor_b()).await.unwrap();
    let call = args(&["CreateAsset", "ca-late", "x", "1", "Synthetic Patient 0002", "1"]);
    let prepared = gw_b
        .endorse(&ch, &gw_b.proposal(&ch, "basic", &call, &BTreeMap::new()), &[])
        .await
        .unwrap();
    let env = with_creator(&prepared.envelope, &doctor_a()).unwrap();
    let mut bc = net.broadcast_client(0).await.unwrap();
    let mut resp = bc
        .broadcast(futures::stream::iter(vec![env]))
        .await
        .unwrap()
        .into_inner();
    let r = tokio::time::timeout(Duration::from_secs(10), resp.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r.status, FabricStatus::Forbidden as i32, "{r:?}");
    assert!(r.info.contains("revoked"), "{r:?}");
    // The re-enrolled certificate works; the revoked one can no longer re-enroll.
    submit_asset(&net, &ch, 0, doctor_b(), "ca-asset-3")
        .await
        .unwrap();
    refused(
        &ca.cli("reenroll", &["--msp-dir", &s(msp("doctor-a"))]),
        "reenroll with a revoked certificate",
        &["revoked"],
    );

    // The registry shows it; expiry checks pass for 30 days and flag everything within 400.
    let list = ok(
        &ca.cli("list", &["--msp-dir", &admin_msp, "--id", "doctor1"]),
        "list",
    );
    assert!(
        list.contains("enrollments=2/2") && list.contains("revoked") && list.contains("keycompromise"),
        "{list}"
    );
    let home = s(ca.home.clone());
    let o = carechain(&[
        "ca",
        "expiring",
        "--within",
        "30d",
        "--msp-tree",
        &s(users.clone()),
        "--ca-home",
        &home,
    ]);
    assert!(ok(&o, "expiring 30d").contains("no certificate expires"));
    let o = carechain(&["ca", "expiring", "--within", "400d", "--ca-home", &home]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        !o.status.success() && text.contains("registry:doctor1") && text.contains("registry:clerk1"),
        "{text}"
    );
    let audit = std::fs::read_to_string(ca.home.join("audit.log")).unwrap();
    for op in [
        "\"op\":\"register\"",
        "\"op\":\"enroll\"",
        "\"op\":\"reenroll\"",
        "\"op\":\"revoke\"",
        "\"result\":\"refused\"",
    ] {
        assert!(audit.contains(op), "audit log lacks {op}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_ca_delegates_registration_and_survives_a_restart() {
    carechain_transport::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let root_ca = CertificateAuthority::new_root(
        &Subject::new("ca.hospitalc.test", "hospitalc.test"),
        Validity::default(),
    )
    .unwrap();
    root_ca.save(dir.path(), "ca.hospitalc.test-cert.pem").unwrap();
    let root_pem = dir.path().join("ca.hospitalc.test-cert.pem");
    let mut ca = CaProcess::start(
        &dir.path().join("ica"),
        &[
            "--msp-id",
            "HospitalCMSP",
            "--intermediate",
            "--parent-cert",
            root_pem.to_str().unwrap(),
            "--parent-key",
            dir.path().join("priv_sk").to_str().unwrap(),
            "--bootstrap-admin",
            "admin:adminpw",
            "--validity",
            "90d",
        ],
    );
    let msp = |n: &str| dir.path().join(n).display().to_string();
    ok(
        &ca.cli(
            "enroll",
            &["--id", "admin", "--secret", "adminpw", "--output", &msp("admin")],
        ),
        "admin enroll",
    );
    ok(
        &ca.cli(
            "register",
            &[
                "--msp-dir",
                &msp("admin"),
                "--id",
                "wardadmin",
                "--secret",
                "wardpw",
                "--type",
                "admin",
                "--affiliation",
                "hospitalc.ward3",
                "--attr",
                "hf.Registrar.Roles=client",
                "--attr",
                "hf.Registrar.Attributes=role=nurse|patient,department",
            ],
        ),
        "register ward admin",
    );
    ok(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "wardadmin",
                "--secret",
                "wardpw",
                "--output",
                &msp("ward"),
            ],
        ),
        "ward enroll",
    );
    ok(
        &ca.cli(
            "register",
            &[
                "--msp-dir",
                &msp("ward"),
                "--id",
                "nurse1",
                "--secret",
                "nursepw",
                "--attr",
                "role=nurse",
            ],
        ),
        "ward admin registers a nurse",
    );
    refused(
        &ca.cli(
            "register",
            &[
                "--msp-dir",
                &msp("ward"),
                "--id",
                "doctor7",
                "--attr",
                "role=doctor",
            ],
        ),
        "ward admin registers a doctor",
        &[
            "wardadmin may not register attribute role=doctor",
            "role=nurse|patient",
        ],
    );
    refused(
        &ca.cli(
            "register",
            &["--msp-dir", &msp("ward"), "--id", "peer7", "--type", "peer"],
        ),
        "ward admin registers a peer",
        &["may not register identities of type peer"],
    );

    // The CA restarts on its registry, chain and key.
    ca.stop();
    ca.spawn();
    ok(
        &ca.cli(
            "enroll",
            &["--id", "nurse1", "--secret", "nursepw", "--output", &msp("nurse")],
        ),
        "nurse enroll after restart",
    );
    let nurse = Path::new(&msp("nurse")).to_path_buf();
    let ica = only_file(&nurse.join("intermediatecerts"));
    openssl_verify(&root_pem, Some(&ica), &nurse.join("signcerts/cert.pem"), None);
    let id = validated(&nurse, "HospitalCMSP", &nurse);
    assert_eq!(
        (id.node_ou(), id.attribute("role")),
        (Some(NodeOu::Client), Some("nurse"))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        id.not_after().unix_timestamp() - now <= 90 * 86_400,
        "--validity 90d"
    );
    let list = ok(&ca.cli("list", &["--msp-dir", &msp("ward")]), "ward list");
    assert!(
        list.contains("nurse1") && !list.lines().any(|l| l.starts_with("admin ")),
        "{list}"
    );

    // A TLS certificate for a node, verified for TLS server use.
    ok(
        &ca.cli(
            "register",
            &[
                "--msp-dir",
                &msp("admin"),
                "--id",
                "peer0",
                "--secret",
                "peerpw",
                "--type",
                "peer",
            ],
        ),
        "register peer",
    );
    ok(
        &ca.cli(
            "enroll",
            &[
                "--id",
                "peer0",
                "--secret",
                "peerpw",
                "--output",
                &msp("peer0-tls"),
                "--profile",
                "tls",
                "--host",
                "peer0.hospitalc.test",
                "--host",
                "127.0.0.1",
            ],
        ),
        "tls enroll",
    );
    let tls = Path::new(&msp("peer0-tls")).to_path_buf();
    openssl_verify(
        &tls.join("ca.crt"),
        Some(&tls.join("server.crt")),
        &tls.join("server.crt"),
        Some("sslserver"),
    );
    let o = carechain(&["ca", "expiring", "--within", "100d", "--msp-tree", &msp("nurse")]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stdout).contains("CN=nurse1"));
}
