use std::collections::BTreeMap;

use rcgen::CertificateParams;
use time::{Duration, OffsetDateTime};

use super::*;
use x509_parser::extensions::{GeneralName, ParsedExtension};

fn root() -> CertificateAuthority {
    CertificateAuthority::new_root(
        &Subject::new("ca.synthetic.local", "synthetic.local"),
        Validity::default(),
    )
    .unwrap()
}

fn parse(der: &[u8]) -> x509_parser::certificate::X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).unwrap().1
}

#[test]
fn root_ca_is_a_ca_that_signs_certs_and_crls() {
    let ca = root();
    let cert = parse(ca.cert_der());
    assert!(cert.is_ca());
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
    assert_eq!(
        cert.subject().to_string(),
        "C=US, ST=California, L=San Francisco, O=synthetic.local, CN=ca.synthetic.local"
    );
    cert.verify_signature(None).unwrap();
    assert_eq!(ca.name(), "CN=ca.synthetic.local");
}

#[test]
fn signing_leaf_has_node_ou_key_usage_and_attribute_json() {
    let ca = root();
    let mut req =
        LeafRequest::signing(Subject::new("drsmith@synthetic.local", "synthetic.local").with_ou("client"));
    req.attributes.insert("role".into(), "doctor".into());
    let (issued, key) = ca.issue_leaf(&req).unwrap();
    let cert = parse(&issued.der);
    cert.verify_signature(Some(parse(ca.cert_der()).public_key()))
        .unwrap();
    assert!(!cert.is_ca());
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        key.public_key()
    );
    let ou: Vec<_> = cert
        .subject()
        .iter_organizational_unit()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(ou, ["client"]);
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ATTRIBUTE_OID_STR)
        .unwrap();
    assert_eq!(ext.value, br#"{"attrs":{"role":"doctor"}}"#);
    assert!(!ext.critical);
    assert_eq!(issued.serial, cert.raw_serial());
}

#[test]
fn tls_leaf_has_sans_and_both_ekus() {
    let ca = root();
    let req = LeafRequest::tls(
        Subject::new("peer0.synthetic.local", "synthetic.local"),
        vec![
            "peer0.synthetic.local".into(),
            "localhost".into(),
            "127.0.0.1".into(),
        ],
    );
    let (issued, _) = ca.issue_leaf(&req).unwrap();
    let cert = parse(&issued.der);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    assert!(san.general_names.contains(&GeneralName::DNSName("localhost")));
    assert!(
        san.general_names
            .contains(&GeneralName::IPAddress(&[127, 0, 0, 1]))
    );
    assert!(
        cert.extensions()
            .iter()
            .all(|e| e.oid.to_id_string() != ATTRIBUTE_OID_STR)
    );
}

#[test]
fn intermediate_chains_to_root() {
    let ca = root();
    let ica = ca
        .new_intermediate(
            &Subject::new("ica.synthetic.local", "synthetic.local"),
            Validity::default(),
        )
        .unwrap();
    let ica_cert = parse(ica.cert_der());
    ica_cert
        .verify_signature(Some(parse(ca.cert_der()).public_key()))
        .unwrap();
    let bc = ica_cert.basic_constraints().unwrap().unwrap().value;
    assert_eq!((bc.ca, bc.path_len_constraint), (true, Some(0)));
    let (leaf, _) = ica
        .issue_leaf(&LeafRequest::signing(Subject::new(
            "u@synthetic.local",
            "synthetic.local",
        )))
        .unwrap();
    parse(&leaf.der)
        .verify_signature(Some(ica_cert.public_key()))
        .unwrap();
}

#[test]
fn reloaded_ca_issues_for_public_keys_and_csrs() {
    let ca = root();
    let reloaded = CertificateAuthority::from_pem(
        ca.cert_pem(),
        SigningKey::from_pem(&ca.key().to_pkcs8_pem()).unwrap(),
    )
    .unwrap();
    let subject_key = SigningKey::generate().unwrap();
    let req = LeafRequest::signing(Subject::new("lab@synthetic.local", "synthetic.local").with_ou("client"));
    let by_key = reloaded
        .issue_for_public_key(&req, subject_key.public_key())
        .unwrap();
    let ca_cert = parse(ca.cert_der());
    parse(&by_key.der)
        .verify_signature(Some(ca_cert.public_key()))
        .unwrap();
    assert_eq!(parse(&by_key.der).issuer().as_raw(), ca_cert.subject().as_raw());

    let csr = CertificateParams::default()
        .serialize_request(&subject_key)
        .unwrap()
        .pem()
        .unwrap();
    let by_csr = reloaded.issue_for_csr(&csr, &req).unwrap();
    let cert = parse(&by_csr.der);
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        subject_key.public_key()
    );
    assert_eq!(
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "lab@synthetic.local"
    );

    assert_eq!(
        reloaded.issue_for_public_key(&req, &[4u8; 65]),
        Err(IssueError::InvalidPublicKey)
    );
    assert!(matches!(
        reloaded.issue_for_csr("garbage", &req),
        Err(IssueError::BadCsr(_))
    ));
}

#[test]
fn refuses_non_ca_and_wrong_key() {
    let ca = root();
    let (leaf, leaf_key) = ca
        .issue_leaf(&LeafRequest::signing(Subject::new("x", "synthetic.local")))
        .unwrap();
    assert_eq!(
        CertificateAuthority::from_pem(&leaf.pem, leaf_key).unwrap_err(),
        IssueError::NotCa("CN=x".into())
    );
    assert_eq!(
        CertificateAuthority::from_pem(ca.cert_pem(), SigningKey::generate().unwrap()).unwrap_err(),
        IssueError::KeyMismatch("CN=ca.synthetic.local".into())
    );
}

#[test]
fn crl_lists_revoked_serials_and_is_signed_by_the_ca() {
    let ca = root();
    let (leaf, _) = ca
        .issue_leaf(&LeafRequest::signing(Subject::new("x", "synthetic.local")))
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let crl_pem = ca
        .issue_crl(
            &[Revocation {
                serial: leaf.serial.clone(),
                revoked_at: now,
            }],
            1,
            Validity::between(now, now + Duration::days(7)),
        )
        .unwrap();
    let der = &crate::pem::decode_all(crl_pem.as_bytes()).unwrap()[0];
    assert_eq!(der.label, "X509 CRL");
    let (_, crl) = x509_parser::parse_x509_crl(&der.contents).unwrap();
    crl.verify_signature(parse(ca.cert_der()).public_key()).unwrap();
    let serials: Vec<_> = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().to_vec())
        .collect();
    assert_eq!(serials, [leaf.serial]);
    assert!(
        crl.extensions()
            .iter()
            .any(|e| matches!(e.parsed_extension(), ParsedExtension::CRLNumber(_)))
    );
}

#[test]
fn attribute_json_matches_fabric_ca() {
    let attrs = BTreeMap::from([
        ("role".to_string(), "patient".to_string()),
        ("a".to_string(), "1".to_string()),
    ]);
    assert_eq!(
        attributes_json(&attrs),
        br#"{"attrs":{"a":"1","role":"patient"}}"#
    );
}
