//! The CA's rules end to end, without a network: a fresh root in a temporary home, requests signed by
//! identities the CA enrolled.

use carechain_crypto::msp::SigningIdentity;
use carechain_crypto::{Msp, NodeOu};
use carechain_proto::carechain::ca::ca_request::Body;
use carechain_proto::carechain::ca::{
    Attribute as WireAttribute, GenCrlRequest, ListIdentitiesRequest, RegisterRequest, RevokeRequest,
};

use super::*;
use crate::auth::sign_request;
use crate::config::{CaServerConfig, open};
use crate::delegation::Denied;

struct Bench {
    _dir: tempfile::TempDir,
    home: PathBuf,
    ca: Ca,
    admin: SigningIdentity,
}

fn config(home: &Path, max: i32) -> CaServerConfig {
    CaServerConfig {
        home: home.to_path_buf(),
        msp_id: "HospitalAMSP".into(),
        organization: Some("hospitala.test".into()),
        bootstrap_admin: Some("admin:adminpw".into()),
        secret_iterations: Some(10),
        max_enrollments: max,
        ..CaServerConfig::default()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn csr(key: &carechain_crypto::SigningKey, cn: &str) -> String {
    crate::csr::build(key, cn).unwrap()
}

fn enroll_req(id: &str, secret: &str, key: &carechain_crypto::SigningKey) -> EnrollRequest {
    EnrollRequest {
        enrollment_id: id.into(),
        secret: secret.into(),
        csr_pem: csr(key, id),
        ..Default::default()
    }
}

impl Bench {
    fn new(max: i32) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("ca");
        let ca = open(&config(&home, max)).unwrap();
        let mut b = Bench {
            _dir: dir,
            home,
            ca,
            admin: dummy_identity(),
        };
        b.admin = b.enroll("admin", "adminpw").unwrap();
        b
    }

    fn enroll(&self, id: &str, secret: &str) -> Result<SigningIdentity, CaError> {
        let key = carechain_crypto::SigningKey::generate().unwrap();
        let r = self.ca.enroll(&enroll_req(id, secret, &key), now())?;
        Ok(SigningIdentity::new("HospitalAMSP", &r.cert_pem, key).unwrap())
    }

    fn register(&self, as_: &SigningIdentity, req: RegisterRequest) -> Result<String, CaError> {
        Ok(self
            .ca
            .register(&sign_request(as_, Body::Register(req)), now())?
            .secret)
    }

    fn msp(&self) -> Msp {
        Msp::from_config(&self.ca.info().msp_config.unwrap()).unwrap()
    }
}

fn dummy_identity() -> SigningIdentity {
    let ca = carechain_crypto::CertificateAuthority::new_root(
        &carechain_crypto::Subject::new("x", "x"),
        Validity::default(),
    )
    .unwrap();
    let (c, k) = ca
        .issue_leaf(&LeafRequest::signing(carechain_crypto::Subject::new("x", "x")))
        .unwrap();
    SigningIdentity::new("X", c.pem.as_bytes(), k).unwrap()
}

fn doctor(max: i32) -> RegisterRequest {
    RegisterRequest {
        enrollment_id: "doctor1".into(),
        secret: "doctorpw".into(),
        r#type: "client".into(),
        affiliation: "hospitala.cardiology".into(),
        attributes: vec![
            WireAttribute {
                name: "role".into(),
                value: "doctor".into(),
                ecert: true,
            },
            WireAttribute {
                name: "licence".into(),
                value: "SYNTH-MD-0001".into(),
                ecert: false,
            },
        ],
        max_enrollments: max,
    }
}

#[test]
fn a_registered_doctor_enrolls_with_nodeou_and_attributes() {
    let b = Bench::new(-1);
    let admin = b
        .msp()
        .validate_identity(b.admin.certificate_pem(), now())
        .unwrap();
    assert_eq!(admin.node_ou(), Some(NodeOu::Admin));
    assert_eq!(admin.attribute("hf.EnrollmentID"), Some("admin"));
    assert_eq!(
        admin.attribute("hf.Registrar.Roles"),
        None,
        "privileges stay in the registry"
    );

    assert_eq!(b.register(&b.admin, doctor(2)).unwrap(), "doctorpw");
    let d = b.enroll("doctor1", "doctorpw").unwrap();
    let id = b.msp().validate_identity(d.certificate_pem(), now()).unwrap();
    assert_eq!(id.node_ou(), Some(NodeOu::Client));
    assert_eq!(id.common_name(), "doctor1");
    assert_eq!(id.attribute("role"), Some("doctor"));
    assert_eq!(id.attribute("hf.Type"), Some("client"));
    assert_eq!(id.attribute("hf.Affiliation"), Some("hospitala.cardiology"));
    assert_eq!(id.attribute("licence"), None, "not an ecert attribute");
    assert!(id.subject().contains("O=hospitala.test"));
    let rec = b.ca.registry().identities["doctor1"].clone();
    assert_eq!(rec.enrollments, 1);
    assert_eq!(rec.registered_by, "admin");
}

#[test]
fn a_generated_secret_works_and_is_not_stored() {
    let b = Bench::new(-1);
    let mut req = doctor(0);
    req.secret.clear();
    let secret = b.register(&b.admin, req).unwrap();
    assert!(secret.len() >= 20);
    b.enroll("doctor1", &secret).unwrap();
    let text = std::fs::read_to_string(b.home.join("registry.json")).unwrap();
    assert!(!text.contains(&secret));
}

#[test]
fn a_non_registrar_cannot_register_and_nothing_changes() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(-1)).unwrap();
    let d = b.enroll("doctor1", "doctorpw").unwrap();
    let before = b.ca.registry();
    let mut req = doctor(1);
    req.enrollment_id = "fake".into();
    let e = b.register(&d, req).unwrap_err();
    assert!(matches!(e, CaError::Denied(Denied::NotRegistrar { .. })), "{e}");
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert!(e.to_string().contains("doctor1 is not a registrar"), "{e}");
    assert_eq!(b.ca.registry(), before);
}

#[test]
fn wrong_secrets_and_unknown_ids_are_refused_alike() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(-1)).unwrap();
    let wrong = b.enroll("doctor1", "nope").unwrap_err();
    let unknown = b.enroll("nobody", "doctorpw").unwrap_err();
    assert!(matches!(wrong, CaError::BadCredentials { .. }));
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
    assert_eq!(
        wrong.to_string().replace("doctor1", "X"),
        unknown.to_string().replace("nobody", "X")
    );
    assert_eq!(b.ca.registry().identities["doctor1"].enrollments, 0);
    let audit = crate::audit::read(&b.home.join("audit.log"));
    assert!(
        audit
            .iter()
            .any(|l| l["op"] == "enroll" && l["result"] == "refused")
    );
}

#[test]
fn enrollments_past_the_maximum_are_refused_but_reenroll_is_free() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(1)).unwrap();
    let d = b.enroll("doctor1", "doctorpw").unwrap();
    let e = b.enroll("doctor1", "doctorpw").unwrap_err();
    assert!(
        matches!(
            e,
            CaError::MaxEnrollments {
                max: 1,
                enrollments: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(b.ca.registry().identities["doctor1"].enrollments, 1);

    let key = carechain_crypto::SigningKey::generate().unwrap();
    let req = sign_request(
        &d,
        Body::Reenroll(ReenrollRequest {
            csr_pem: csr(&key, "doctor1"),
            ..Default::default()
        }),
    );
    let r = b.ca.reenroll(&req, now()).unwrap();
    let renewed = SigningIdentity::new("HospitalAMSP", &r.cert_pem, key).unwrap();
    assert_eq!(
        b.msp()
            .validate_identity(renewed.certificate_pem(), now())
            .unwrap()
            .attribute("role"),
        Some("doctor")
    );
    let rec = &b.ca.registry().identities["doctor1"];
    assert_eq!(rec.enrollments, 1, "re-enrollment is not counted");
    assert_eq!(b.ca.registry().certificates_of("doctor1").count(), 2);
}

#[test]
fn max_enrollments_follow_the_ca_limit() {
    let b = Bench::new(2);
    let e = b.register(&b.admin, doctor(-1)).unwrap_err();
    assert!(e.to_string().contains("unlimited"), "{e}");
    let e = b.register(&b.admin, doctor(3)).unwrap_err();
    assert!(e.to_string().contains("exceeds this CA's limit of 2"), "{e}");
    b.register(&b.admin, doctor(0)).unwrap();
    assert_eq!(b.ca.registry().identities["doctor1"].max_enrollments, 2);
}

#[test]
fn enrollment_can_be_disabled_ca_wide() {
    let dir = tempfile::tempdir().unwrap();
    let ca = open(&config(dir.path(), 0)).unwrap();
    let key = carechain_crypto::SigningKey::generate().unwrap();
    let e = ca
        .enroll(&enroll_req("admin", "adminpw", &key), now())
        .unwrap_err();
    assert!(matches!(e, CaError::EnrollmentDisabled), "{e}");
}

#[test]
fn bad_csrs_are_refused_before_anything_is_recorded() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(-1)).unwrap();
    let key = carechain_crypto::SigningKey::generate().unwrap();
    let mut req = enroll_req("doctor1", "doctorpw", &key);
    req.csr_pem = csr(&key, "admin");
    let e = b.ca.enroll(&req, now()).unwrap_err();
    assert!(matches!(e, CaError::BadCsr(_)), "{e}");
    req.csr_pem = "garbage".into();
    assert!(matches!(b.ca.enroll(&req, now()), Err(CaError::BadCsr(_))));
    assert_eq!(b.ca.registry().identities["doctor1"].enrollments, 0);
    assert_eq!(b.ca.registry().certificates_of("doctor1").count(), 0);
}

#[test]
fn attribute_requests_select_what_the_certificate_carries() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(-1)).unwrap();
    let key = carechain_crypto::SigningKey::generate().unwrap();
    let mut req = enroll_req("doctor1", "doctorpw", &key);
    req.attr_reqs = vec![
        AttributeRequest {
            name: "licence".into(),
            optional: false,
        },
        AttributeRequest {
            name: "shift".into(),
            optional: true,
        },
    ];
    let r = b.ca.enroll(&req, now()).unwrap();
    let id = b.msp().validate_identity(&r.cert_pem, now()).unwrap();
    assert_eq!(id.attribute("licence"), Some("SYNTH-MD-0001"));
    assert_eq!(id.attribute("role"), None);
    req.attr_reqs[1].optional = false;
    req.csr_pem = csr(&key, "doctor1");
    let e = b.ca.enroll(&req, now()).unwrap_err();
    assert!(matches!(e, CaError::MissingAttribute { .. }), "{e}");
}

fn crl_serials(pem: &[u8]) -> (Vec<String>, Option<u64>) {
    let der = carechain_crypto::pem::decode_all(pem).unwrap()[0]
        .contents
        .clone();
    let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    let serials = crl
        .iter_revoked_certificates()
        .map(|r| normalize_serial(&hex::encode(r.raw_serial())))
        .collect();
    let number = crl.crl_number().and_then(|n| u64::try_from(n.clone()).ok());
    (serials, number)
}

#[test]
fn revocation_and_crls() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(-1)).unwrap();
    let d1 = b.enroll("doctor1", "doctorpw").unwrap();
    let d2 = b.enroll("doctor1", "doctorpw").unwrap();
    let s1 = b
        .msp()
        .validate_identity(d1.certificate_pem(), now())
        .unwrap()
        .serial_hex();
    let s2 = b
        .msp()
        .validate_identity(d2.certificate_pem(), now())
        .unwrap()
        .serial_hex();

    let revoke =
        |who: &SigningIdentity, req: RevokeRequest| b.ca.revoke(&sign_request(who, Body::Revoke(req)), now());
    let e = revoke(
        &d2,
        RevokeRequest {
            serial: s1.clone(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, CaError::Denied(Denied::NotRevoker { .. })), "{e}");
    let r = revoke(
        &b.admin,
        RevokeRequest {
            serial: s1.clone(),
            reason: "keycompromise".into(),
            gen_crl: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.revoked_serials, vec![normalize_serial(&s1)]);
    let (listed, number) = crl_serials(&r.crl_pem);
    assert_eq!(listed, vec![normalize_serial(&s1)]);
    assert_eq!(number, Some(1));
    assert!(b.home.join("crl.pem").exists());

    // The CRL in an MSP makes the certificate invalid; the other one still works.
    let mut cfg = b.ca.info().msp_config.unwrap();
    cfg.revocation_list = vec![r.crl_pem.clone()];
    let msp = Msp::from_config(&cfg).unwrap();
    let err = msp.validate_identity(d1.certificate_pem(), now()).unwrap_err();
    assert!(err.to_string().contains("revoked"), "{err}");
    msp.validate_identity(d2.certificate_pem(), now()).unwrap();

    // A revoked certificate no longer authenticates CA requests.
    let key = carechain_crypto::SigningKey::generate().unwrap();
    let re = sign_request(
        &d1,
        Body::Reenroll(ReenrollRequest {
            csr_pem: csr(&key, "doctor1"),
            ..Default::default()
        }),
    );
    let e = b.ca.reenroll(&re, now()).unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    let e = revoke(
        &b.admin,
        RevokeRequest {
            serial: s1.clone(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, CaError::AlreadyRevoked(_)), "{e}");

    // Revoking the identity revokes the rest and stops enrollment.
    let r = revoke(
        &b.admin,
        RevokeRequest {
            enrollment_id: "doctor1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.revoked_serials, vec![normalize_serial(&s2)]);
    assert!(matches!(
        b.enroll("doctor1", "doctorpw"),
        Err(CaError::IdentityRevoked(_))
    ));
    let crl =
        b.ca.gen_crl(&sign_request(&b.admin, Body::GenCrl(GenCrlRequest {})), now())
            .unwrap();
    let (mut listed, number) = crl_serials(&crl.crl_pem);
    listed.sort();
    let mut want = vec![normalize_serial(&s1), normalize_serial(&s2)];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(number, Some(2));
    assert_eq!(crl.revoked, 2);
}

#[test]
fn a_delegated_ward_admin_registers_nurses_but_not_doctors_or_peers() {
    let b = Bench::new(-1);
    let attr = |n: &str, v: &str| WireAttribute {
        name: n.into(),
        value: v.into(),
        ecert: false,
    };
    b.register(
        &b.admin,
        RegisterRequest {
            enrollment_id: "wardadmin".into(),
            secret: "wardpw".into(),
            r#type: "admin".into(),
            affiliation: "hospitala.ward3".into(),
            attributes: vec![
                attr("hf.Registrar.Roles", "client"),
                attr("hf.Registrar.Attributes", "role=nurse|patient,department"),
                attr("hf.Revoker", "true"),
            ],
            max_enrollments: -1,
        },
    )
    .unwrap();
    let w = b.enroll("wardadmin", "wardpw").unwrap();
    let nurse = RegisterRequest {
        enrollment_id: "nurse1".into(),
        secret: "nursepw".into(),
        r#type: "client".into(),
        attributes: vec![attr("role", "nurse"), attr("department", "oncology")],
        ..Default::default()
    };
    b.register(&w, nurse.clone()).unwrap();
    assert_eq!(
        b.ca.registry().identities["nurse1"].affiliation,
        "hospitala.ward3"
    );

    let mut as_doctor = nurse.clone();
    as_doctor.enrollment_id = "doctor9".into();
    as_doctor.attributes = vec![attr("role", "doctor")];
    let e = b.register(&w, as_doctor).unwrap_err();
    assert!(
        e.to_string().contains("may not register attribute role=doctor"),
        "{e}"
    );
    let mut peer = nurse.clone();
    peer.enrollment_id = "peer9".into();
    peer.r#type = "peer".into();
    peer.attributes.clear();
    assert!(
        b.register(&w, peer)
            .unwrap_err()
            .to_string()
            .contains("type peer")
    );
    let mut escalate = nurse;
    escalate.enrollment_id = "sub".into();
    escalate.attributes = vec![attr("hf.GenCRL", "true")];
    assert!(b.register(&w, escalate).is_err());

    // It sees the nurse and itself, not the bootstrap admin.
    let list =
        b.ca.list(
            &sign_request(&w, Body::ListIdentities(ListIdentitiesRequest::default())),
            now(),
        )
        .unwrap();
    let ids: Vec<_> = list.identities.iter().map(|i| i.enrollment_id.as_str()).collect();
    assert_eq!(ids, vec!["nurse1", "wardadmin"]);
    let e =
        b.ca.gen_crl(&sign_request(&w, Body::GenCrl(GenCrlRequest {})), now())
            .unwrap_err();
    assert!(matches!(e, CaError::Denied(Denied::NotCrlIssuer { .. })), "{e}");
}

#[test]
fn only_certificates_this_ca_issued_to_registered_identities_authenticate() {
    let b = Bench::new(-1);
    // Same CA key, certificate never recorded (as cryptogen would have issued it).
    let issuer = &b.ca.material().issuer;
    let (cert, key) = issuer
        .issue_leaf(&LeafRequest::signing(
            b.ca.material().subject.leaf("admin", NodeOu::Admin),
        ))
        .unwrap();
    let unrecorded = SigningIdentity::new("HospitalAMSP", cert.pem.as_bytes(), key).unwrap();
    let e = b.register(&unrecorded, doctor(1)).unwrap_err();
    assert!(e.to_string().contains("did not issue that certificate"), "{e}");
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let e = b.register(&dummy_identity(), doctor(1)).unwrap_err();
    assert!(e.to_string().contains("this CA serves HospitalAMSP"), "{e}");
}

#[test]
fn the_registry_survives_a_restart() {
    let b = Bench::new(-1);
    b.register(&b.admin, doctor(3)).unwrap();
    b.enroll("doctor1", "doctorpw").unwrap();
    let reopened = open(&config(&b.home, -1)).unwrap();
    let reg = reopened.registry();
    assert_eq!(reg.identities["doctor1"].enrollments, 1);
    assert_eq!(reg.certificates.len(), 2);
    assert!(
        !reopened.bootstrap("admin", "other").unwrap(),
        "bootstrap is ignored once registered"
    );
}

#[test]
fn bad_registrations_change_nothing() {
    let b = Bench::new(-1);
    let before = b.ca.registry();
    let cases: Vec<(RegisterRequest, &str)> = vec![
        (
            RegisterRequest {
                enrollment_id: "a b".into(),
                r#type: "client".into(),
                ..Default::default()
            },
            "enrollment id",
        ),
        (
            RegisterRequest {
                enrollment_id: "x".into(),
                r#type: "user".into(),
                ..Default::default()
            },
            "identity type",
        ),
        (
            RegisterRequest {
                enrollment_id: "x".into(),
                r#type: "client".into(),
                affiliation: "a..b".into(),
                ..Default::default()
            },
            "affiliation",
        ),
        (
            RegisterRequest {
                enrollment_id: "x".into(),
                r#type: "client".into(),
                attributes: vec![WireAttribute {
                    name: "hf.Type".into(),
                    value: "admin".into(),
                    ecert: true,
                }],
                ..Default::default()
            },
            "set by the CA",
        ),
        (
            RegisterRequest {
                enrollment_id: "admin".into(),
                r#type: "client".into(),
                ..Default::default()
            },
            "already registered",
        ),
    ];
    for (req, needle) in cases {
        let e = b.register(&b.admin, req).unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    assert_eq!(b.ca.registry(), before);
}
