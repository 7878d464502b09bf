//! Identity validation against MSPs: every rejection has its own error variant.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use carechain_crypto::issue::{CertificateAuthority, Revocation, Subject, Validity};
use carechain_crypto::msp::{Msp, MspError, MspManager, NodeOu, Principal, Role};
use carechain_crypto::sign;
use carechain_proto::msp::SerializedIdentity;
use common::TestOrg;
use prost::Message;
use time::{Duration, OffsetDateTime};

const MSG: &[u8] = b"synthetic proposal: consent grant for Synthetic Patient 0001";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn manager(orgs: &[&TestOrg]) -> MspManager {
    MspManager::new(orgs.iter().map(|o| o.msp())).unwrap()
}

#[test]
fn valid_identity_is_accepted_with_its_facts() {
    let a = TestOrg::new("HospitalA");
    let doctor = a.user("drsmith", NodeOu::Client, &[("role", "doctor")]);
    let mgr = manager(&[&a]);
    let sig = doctor.sign(MSG);
    let id = mgr.verify_signature(doctor.serialize(), MSG, &sig).unwrap();
    assert_eq!(id.msp_id(), "HospitalAMSP");
    assert_eq!(id.common_name(), "drsmith@hospitala.carechain.test");
    assert_eq!(id.organizational_units(), ["client"]);
    assert_eq!(id.attribute("role"), Some("doctor"));
    assert_eq!(id.role(), Role::Client);
    assert_eq!(id.id(), hex::encode(sign::sha256(doctor.certificate_der())));
    assert_eq!(id.public_key(), doctor.public_key());
    assert!(id.not_after() > now() + Duration::days(365 * 9));
    assert!(!id.serial_hex().is_empty());
    assert!(id.subject().contains("OU=client"));
    assert_eq!(id.to_serialized().encode_to_vec(), doctor.serialize());
}

#[test]
fn certificate_from_a_foreign_ca_is_rejected() {
    let a = TestOrg::new("HospitalA");
    let b = TestOrg::new("HospitalB");
    let mgr = manager(&[&a, &b]);
    // A HospitalB certificate presented as HospitalA: B's CA is not a CA of A.
    let nurse_b = b.user("nurse", NodeOu::Client, &[]);
    let claimed = SerializedIdentity {
        mspid: a.msp_id.clone(),
        id_bytes: nurse_b.certificate_pem().to_vec().into(),
    };
    let err = mgr.deserialize_identity(&claimed.encode_to_vec()).unwrap_err();
    assert_eq!(
        err,
        MspError::UnknownIssuer {
            cert: "CN=nurse@hospitalb.carechain.test".into(),
            issuer: "CN=ca.hospitalb.carechain.test".into(),
            msp: "HospitalAMSP".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "certificate CN=nurse@hospitalb.carechain.test was issued by CN=ca.hospitalb.carechain.test, which is not a CA of MSP HospitalAMSP"
    );

    // A rogue CA that copies HospitalA's CA name but has its own key.
    let rogue = CertificateAuthority::new_root(
        &Subject::new("ca.hospitala.carechain.test", "hospitala.carechain.test"),
        Validity::default(),
    )
    .unwrap();
    let (cert, key) = rogue
        .issue_leaf(&a.request("mallory", Some(NodeOu::Admin)))
        .unwrap();
    let forged = carechain_crypto::SigningIdentity::new(&a.msp_id, cert.pem.as_bytes(), key).unwrap();
    assert!(matches!(
        mgr.deserialize_identity(forged.serialize()),
        Err(MspError::BadCertificateSignature { .. })
    ));
}

#[test]
fn unknown_msp_names_the_channel_msps() {
    let a = TestOrg::new("HospitalA");
    let b = TestOrg::new("HospitalB");
    let mgr = manager(&[&a, &b]);
    let user = a.user("u", NodeOu::Client, &[]);
    let claimed = SerializedIdentity {
        mspid: "HospitalZMSP".into(),
        id_bytes: user.certificate_pem().to_vec().into(),
    };
    let err = mgr.deserialize_identity(&claimed.encode_to_vec()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown MSP id HospitalZMSP (known MSPs: HospitalAMSP, HospitalBMSP)"
    );
}

#[test]
fn expired_and_not_yet_valid_certificates_are_rejected() {
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    let mut req = a.request("old", Some(NodeOu::Client));
    let expired_at = now() - Duration::days(1);
    req.validity = Validity::between(now() - Duration::days(30), expired_at);
    let old = a.identity_for(&req);
    match mgr.deserialize_identity(old.serialize()).unwrap_err() {
        MspError::Expired { cert, msp, not_after } => {
            assert_eq!(cert, "CN=old@hospitala.carechain.test");
            assert_eq!(msp, "HospitalAMSP");
            assert_eq!(not_after.unix_timestamp(), expired_at.unix_timestamp());
        }
        other => panic!("expected Expired, got {other:?}"),
    }

    let mut req = a.request("future", Some(NodeOu::Client));
    req.validity = Validity::between(now() + Duration::days(1), now() + Duration::days(30));
    let future = a.identity_for(&req);
    let err = mgr.deserialize_identity(future.serialize()).unwrap_err();
    assert!(matches!(err, MspError::NotYetValid { .. }), "{err:?}");
    assert!(err.to_string().contains("is not valid before"));
    // The same certificate is fine at an injected time inside its window.
    mgr.deserialize_identity_at(future.serialize(), now() + Duration::days(2))
        .unwrap();
}

#[test]
fn revoked_certificate_is_rejected_by_the_crl_of_its_ca() {
    let mut a = TestOrg::new("HospitalA");
    let victim = a.user("lost-laptop", NodeOu::Client, &[]);
    let other = a.user("fine", NodeOu::Client, &[]);
    let serial = victim.certificate_der().to_vec();
    let serial = x509_parser::parse_x509_certificate(&serial)
        .unwrap()
        .1
        .raw_serial()
        .to_vec();
    let crl = a
        .root
        .issue_crl(
            &[Revocation {
                serial,
                revoked_at: now(),
            }],
            1,
            Validity::between(now(), now() + Duration::days(7)),
        )
        .unwrap();
    a.config.revocation_list.push(crl.into_bytes().into());
    let mgr = manager(&[&a]);
    let err = mgr.deserialize_identity(victim.serialize()).unwrap_err();
    assert!(matches!(err, MspError::Revoked { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("certificate CN=lost-laptop@hospitala.carechain.test (serial 0x"),
        "{text}"
    );
    assert!(
        text.ends_with("revoked by CRL of CN=ca.hospitala.carechain.test in MSP HospitalAMSP"),
        "{text}"
    );
    mgr.deserialize_identity(other.serialize()).unwrap();
}

#[test]
fn crl_not_signed_by_an_msp_ca_is_a_config_error() {
    let mut a = TestOrg::new("HospitalA");
    let b = TestOrg::new("HospitalB");
    let crl = b
        .root
        .issue_crl(&[], 1, Validity::between(now(), now() + Duration::days(7)))
        .unwrap();
    a.config.revocation_list.push(crl.into_bytes().into());
    let err = Msp::from_config(&a.config).unwrap_err();
    assert!(matches!(err, MspError::InvalidConfig { .. }));
    assert!(
        err.to_string().contains("is not signed by any CA of the MSP"),
        "{err}"
    );
}

#[test]
fn high_s_tampered_and_malformed_signatures_are_rejected() {
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    let user = a.user("u", NodeOu::Client, &[]);
    let sig = user.sign(MSG);
    let high = sign::malleate(&sig).unwrap();
    assert!(matches!(
        mgr.verify_signature(user.serialize(), MSG, &high),
        Err(MspError::HighS { .. })
    ));
    let err = mgr
        .verify_signature(user.serialize(), b"tampered", &sig)
        .unwrap_err();
    assert!(matches!(err, MspError::SignatureMismatch { .. }));
    assert_eq!(
        err.to_string(),
        "signature does not verify for CN=u@hospitala.carechain.test of MSP HospitalAMSP"
    );
    assert!(matches!(
        mgr.verify_signature(user.serialize(), MSG, &sig[1..]),
        Err(MspError::MalformedSignature { .. })
    ));
    mgr.verify_signature(user.serialize(), MSG, &sig).unwrap();
}

#[test]
fn roles_follow_node_ous_and_principals_follow_fabric_semantics() {
    let a = TestOrg::new("HospitalA");
    let b = TestOrg::new("HospitalB");
    let mgr = manager(&[&a, &b]);
    let id = |ou| {
        mgr.deserialize_identity(a.user(&format!("{ou}"), ou, &[]).serialize())
            .unwrap()
    };
    let (client, peer, admin, orderer) = (
        id(NodeOu::Client),
        id(NodeOu::Peer),
        id(NodeOu::Admin),
        id(NodeOu::Orderer),
    );
    assert_eq!(
        [client.role(), peer.role(), admin.role(), orderer.role()],
        [Role::Client, Role::Peer, Role::Admin, Role::Orderer]
    );
    let p = |role| Principal::role("HospitalAMSP", role);
    for who in [&client, &peer, &admin, &orderer] {
        assert!(who.satisfies(&p(Role::Member)));
        assert!(!who.satisfies(&Principal::role("HospitalBMSP", Role::Member)));
    }
    assert!(
        peer.satisfies(&p(Role::Peer))
            && !peer.satisfies(&p(Role::Client))
            && !peer.satisfies(&p(Role::Admin))
    );
    assert!(admin.is_admin() && !client.is_admin());
    assert!(orderer.satisfies(&p(Role::Orderer)));
    let err = client.check_principal(&p(Role::Admin)).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not satisfy principal HospitalAMSP.admin: its NodeOU is client"),
        "{err}"
    );

    let exact = Principal::Identity {
        msp_id: "HospitalAMSP".into(),
        certificate_der: peer.certificate_der().to_vec(),
    };
    assert!(peer.satisfies(&exact) && !client.satisfies(&exact));
    let ou = Principal::OrganizationUnit {
        msp_id: "HospitalAMSP".into(),
        ou: "peer".into(),
        certifiers_id: peer.certifiers_id().to_vec(),
    };
    assert!(peer.satisfies(&ou) && !client.satisfies(&ou));
}

#[test]
fn identities_without_node_ous_are_rejected_when_node_ous_are_enabled() {
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    let plain = a.identity_for(&a.request("no-ou", None));
    assert!(matches!(
        mgr.deserialize_identity(plain.serialize()),
        Err(MspError::NoNodeOu { .. })
    ));
    let mut req = a.request("odd", None);
    req.subject.organizational_unit = Some("research".into());
    let odd = a.identity_for(&req);
    let err = mgr.deserialize_identity(odd.serialize()).unwrap_err();
    assert!(matches!(err, MspError::NoNodeOu { .. }));
    assert!(
        err.to_string()
            .contains("no NodeOU (client, peer, admin, orderer)"),
        "{err}"
    );
    assert!(err.to_string().contains("its OUs: [research]"), "{err}");
}

#[test]
fn without_node_ous_admin_comes_from_admincerts() {
    let mut a = TestOrg::without_node_ous("Lab");
    let admin = a.identity_for(&a.request("Admin", None));
    let member = a.identity_for(&a.request("tech", None));
    a.config.admins.push(admin.certificate_pem().to_vec().into());
    let mgr = manager(&[&a]);
    let admin = mgr.deserialize_identity(admin.serialize()).unwrap();
    let member = mgr.deserialize_identity(member.serialize()).unwrap();
    assert_eq!((admin.role(), member.role()), (Role::Admin, Role::Member));
    assert!(admin.satisfies(&Principal::role("LabMSP", Role::Admin)));
    assert!(!member.satisfies(&Principal::role("LabMSP", Role::Admin)));
    let err = member
        .check_principal(&Principal::role("LabMSP", Role::Peer))
        .unwrap_err();
    assert!(
        err.to_string().contains("NodeOUs are not enabled in MSP LabMSP"),
        "{err}"
    );
}

#[test]
fn intermediate_ca_chain_validates_and_reports_the_expired_link() {
    let a = TestOrg::with_intermediate("Research");
    let mgr = manager(&[&a]);
    let analyst = a.user("analyst1", NodeOu::Client, &[("role", "analyst")]);
    let id = mgr
        .verify_signature(analyst.serialize(), MSG, &analyst.sign(MSG))
        .unwrap();
    assert_eq!(id.attribute("role"), Some("analyst"));
    // Leaves straight from the root do not carry the NodeOU tied to the intermediate.
    let (cert, key) = a
        .root
        .issue_leaf(&a.request("direct", Some(NodeOu::Client)))
        .unwrap();
    let direct = carechain_crypto::SigningIdentity::new(&a.msp_id, cert.pem.as_bytes(), key).unwrap();
    assert!(matches!(
        mgr.deserialize_identity(direct.serialize()),
        Err(MspError::NoNodeOu { .. })
    ));
    // The chain is only as valid as its shortest-lived CA.
    let ica_end = x509_parser::parse_x509_certificate(a.ica.as_ref().unwrap().cert_der())
        .unwrap()
        .1
        .validity()
        .not_after
        .to_datetime();
    let mut req = a.request("long-lived", Some(NodeOu::Client));
    req.validity = Validity::between(now() - Duration::minutes(5), ica_end + Duration::days(400));
    let long = a.identity_for(&req);
    match mgr
        .deserialize_identity_at(long.serialize(), ica_end + Duration::days(1))
        .unwrap_err()
    {
        MspError::Expired { cert, .. } => assert_eq!(cert, "CN=ica.research.carechain.test"),
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[test]
fn intermediate_that_does_not_chain_is_a_config_error() {
    let mut a = TestOrg::new("HospitalA");
    let b = TestOrg::with_intermediate("HospitalB");
    a.config
        .intermediate_certs
        .push(b.ica.as_ref().unwrap().cert_pem().to_string().into());
    let err = Msp::from_config(&a.config).unwrap_err();
    assert!(
        err.to_string().contains("does not chain to a CA of the MSP"),
        "{err}"
    );
}

#[test]
fn cache_returns_the_same_identity_and_still_enforces_expiry() {
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    let mut req = a.request("shortlived", Some(NodeOu::Client));
    let end = now() + Duration::hours(1);
    req.validity = Validity::between(now() - Duration::minutes(5), end);
    let user = a.identity_for(&req);
    let first = mgr.deserialize_identity(user.serialize()).unwrap();
    let second = mgr.deserialize_identity(user.serialize()).unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "second lookup must be served from the cache"
    );
    assert_eq!(mgr.cached_identities(), 1);
    let clone = mgr.clone();
    assert!(Arc::ptr_eq(
        &first,
        &clone.deserialize_identity(user.serialize()).unwrap()
    ));
    let later = end + Duration::minutes(1);
    assert!(matches!(
        mgr.deserialize_identity_at(user.serialize(), later),
        Err(MspError::Expired { .. })
    ));
    assert_eq!(mgr.cached_identities(), 0, "expired entries leave the cache");
    assert!(matches!(
        mgr.verify_signature_at(user.serialize(), MSG, &user.sign(MSG), later),
        Err(MspError::Expired { .. })
    ));
}

#[test]
fn certificates_unfit_to_sign_are_rejected() {
    use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyUsagePurpose};
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    let issuer = Issuer::from_ca_cert_pem(a.root.cert_pem(), a.root.key()).unwrap();
    let make = |cn: &str, f: &dyn Fn(&mut CertificateParams)| {
        let key = carechain_crypto::SigningKey::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "client");
        f(&mut params);
        let cert = params.signed_by(&key, &issuer).unwrap();
        carechain_crypto::SigningIdentity::new("HospitalAMSP", cert.pem().as_bytes(), key).unwrap()
    };
    let no_sign = make("encrypt-only", &|p| {
        p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]
    });
    assert!(matches!(
        mgr.deserialize_identity(no_sign.serialize()),
        Err(MspError::KeyUsage { .. })
    ));
    let ca = make("sub-ca", &|p| {
        p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
    });
    assert!(matches!(
        mgr.deserialize_identity(ca.serialize()),
        Err(MspError::CaAsIdentity { .. })
    ));
    let two_ous = make("two-ous", &|p| {
        p.distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 11]), "peer")
    });
    let err = mgr.deserialize_identity(two_ous.serialize()).unwrap_err();
    assert!(matches!(err, MspError::MultipleNodeOus { .. }), "{err:?}");
    let bad_attrs = make("bad-attrs", &|p| {
        p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(
            &[1, 2, 3, 4, 5, 6, 7, 8, 1],
            b"role=doctor".to_vec(),
        ))
    });
    assert!(matches!(
        mgr.deserialize_identity(bad_attrs.serialize()),
        Err(MspError::BadAttributes { .. })
    ));
}

#[test]
fn garbage_identity_bytes_get_their_own_errors() {
    let a = TestOrg::new("HospitalA");
    let mgr = manager(&[&a]);
    assert!(matches!(
        mgr.deserialize_identity(&[0x0a, 0xff]),
        Err(MspError::MalformedIdentity(_))
    ));
    let not_pem = SerializedIdentity {
        mspid: a.msp_id.clone(),
        id_bytes: b"hello".to_vec().into(),
    };
    assert!(matches!(
        mgr.deserialize_identity(&not_pem.encode_to_vec()),
        Err(MspError::BadCertificate { .. })
    ));
    assert_eq!(mgr.cached_identities(), 0, "failures are not cached");
}

#[test]
fn duplicate_msp_ids_are_refused() {
    let a = TestOrg::new("HospitalA");
    assert_eq!(
        MspManager::new([a.msp(), a.msp()]).unwrap_err(),
        MspError::DuplicateMsp("HospitalAMSP".into())
    );
}
