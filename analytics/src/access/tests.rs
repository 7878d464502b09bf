#![allow(clippy::unwrap_used)]

use std::path::Path;

use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::build_config;
use carechain_crypto::issue::Revocation;
use carechain_crypto::msp::SigningIdentity;
use carechain_crypto::{CertificateAuthority, Validity};

use super::*;

const CRYPTO: &str = "OrdererOrgs:
  - Name: Orderer
    Domain: orderer.a.local
    Specs:
      - Hostname: orderer0
PeerOrgs:
  - Name: Research
    Domain: research.a.local
    Template: {Count: 1}
    Users:
      Count: 1
      Named:
        - {Name: analyst1, OU: client, Attrs: {role: \"analyst\"}}
        - {Name: analyst2, OU: client, Attrs: {role: \"analyst\"}}
        - {Name: boss, OU: admin, Attrs: {role: \"analyst\"}}
  - Name: HospitalA
    Domain: hospitala.a.local
    Template: {Count: 1}
    Users:
      Count: 1
      Named:
        - {Name: drsmith, OU: client, Attrs: {role: \"doctor\"}}
";

struct Fixture {
    dir: tempfile::TempDir,
    config: ChannelConfig,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("crypto.yaml"), CRYPTO).unwrap();
        carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false).unwrap();
        let config = channel(p);
        Fixture { dir, config }
    }

    fn signer(&self, org: &str, user: &str) -> SigningIdentity {
        let d = format!("{}.a.local", org.to_lowercase());
        let msp = self
            .dir
            .path()
            .join(format!("crypto/peerOrganizations/{d}/users/{user}@{d}/msp"));
        SigningIdentity::load(&msp, format!("{org}MSP")).unwrap()
    }

    fn check(&self, who: &SigningIdentity) -> Result<Analyst, AccessError> {
        let challenge = b"carechain analytics challenge (synthetic)";
        authorize(
            &self.config,
            who.serialize(),
            challenge,
            &who.sign(challenge),
            OffsetDateTime::now_utc(),
        )
    }
}

/// The channel configuration (orderer org, Research, HospitalA) built from the MSP directories as they
/// are now (with any CRL written into `crls/`).
fn channel(p: &Path) -> ChannelConfig {
    let ocert =
        "crypto/ordererOrganizations/orderer.a.local/orderers/orderer0.orderer.a.local/tls/server.crt";
    let org = |name: &str| {
        format!(
            "  - Name: {name}\n    ID: {name}MSP\n    MSPDir: crypto/peerOrganizations/{}.a.local/msp\n",
            name.to_lowercase()
        )
    };
    let yaml = format!(
        "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/orderer.a.local/msp\n{}{}Profiles:\n  P:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: 127.0.0.1, Port: 7050, ClientTLSCert: {ocert}, ServerTLSCert: {ocert}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [Research, HospitalA]\n",
        org("Research"),
        org("HospitalA")
    );
    std::fs::write(p.join("configtx.yaml"), yaml).unwrap();
    let tx = ConfigTx::load(&p.join("configtx.yaml")).unwrap();
    ChannelConfig::from_config("care", &build_config(&tx, "P", "care").unwrap()).unwrap()
}

#[test]
fn an_analyst_of_a_member_org_is_allowed() {
    let f = Fixture::new();
    let a = f.check(&f.signer("Research", "analyst1")).unwrap();
    assert_eq!(a.msp_id, "ResearchMSP");
    assert_eq!(a.common_name, "analyst1@research.a.local");
}

#[test]
fn doctors_users_without_role_and_admins_are_refused() {
    let f = Fixture::new();
    let err = f.check(&f.signer("HospitalA", "drsmith")).unwrap_err();
    assert!(
        matches!(&err, AccessError::NotAnalyst { role, .. } if role == "doctor"),
        "{err}"
    );
    let err = f.check(&f.signer("Research", "User1")).unwrap_err();
    assert!(
        matches!(&err, AccessError::NotAnalyst { role, .. } if role == "(none)"),
        "{err}"
    );
    let err = f.check(&f.signer("Research", "boss")).unwrap_err();
    assert!(matches!(err, AccessError::NotClient { .. }), "{err}");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = Fixture::new();
    let analyst = f.signer("Research", "analyst1");
    let other = f.signer("Research", "analyst2");
    let challenge = b"challenge";
    let err = authorize(
        &f.config,
        analyst.serialize(),
        challenge,
        &other.sign(challenge),
        OffsetDateTime::now_utc(),
    )
    .unwrap_err();
    assert!(matches!(err, AccessError::BadSignature { .. }), "{err}");
}

#[test]
fn a_certificate_of_a_ca_outside_the_channel_is_refused() {
    let f = Fixture::new();
    let outsider = Fixture::new();
    // Same MSP id and name, different CA: it parses, but the channel's MSP does not vouch for it.
    let err = f.check(&outsider.signer("Research", "analyst1")).unwrap_err();
    assert!(matches!(err, AccessError::Invalid { .. }), "{err}");
}

#[test]
fn an_expired_certificate_is_refused() {
    let f = Fixture::new();
    let who = f.signer("Research", "analyst1");
    let later = OffsetDateTime::now_utc() + time::Duration::days(365 * 30);
    let err = authorize(&f.config, who.serialize(), b"c", &who.sign(b"c"), later).unwrap_err();
    assert!(matches!(err, AccessError::Invalid { .. }), "{err}");
}

#[test]
fn a_revoked_analyst_is_refused_once_the_channel_carries_the_crl() {
    let mut f = Fixture::new();
    let who = f.signer("Research", "analyst1");
    let serial = f
        .config
        .msps
        .deserialize_identity(who.serialize())
        .unwrap()
        .serial_hex();
    let org = f.dir.path().join("crypto/peerOrganizations/research.a.local");
    let ca = CertificateAuthority::load(
        &org.join("ca/ca.research.a.local-cert.pem"),
        &org.join("ca/priv_sk"),
    )
    .unwrap();
    let crl = ca
        .issue_crl(
            &[Revocation {
                serial: hex::decode(serial).unwrap(),
                revoked_at: OffsetDateTime::now_utc() - time::Duration::minutes(1),
            }],
            1,
            Validity::years_from_now(1),
        )
        .unwrap();
    std::fs::create_dir_all(org.join("msp/crls")).unwrap();
    std::fs::write(org.join("msp/crls/crl.pem"), crl).unwrap();
    assert!(f.check(&who).is_ok(), "the old configuration has no CRL yet");
    f.config = channel(f.dir.path());
    let err = f.check(&who).unwrap_err();
    assert!(matches!(err, AccessError::Invalid { .. }), "{err}");
    assert!(
        f.check(&f.signer("Research", "analyst2")).is_ok(),
        "others stay allowed"
    );
}
