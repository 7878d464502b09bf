use super::*;

fn cfg(home: &Path) -> CaServerConfig {
    CaServerConfig {
        home: home.to_path_buf(),
        msp_id: "HospitalAMSP".into(),
        organization: Some("hospitala.test".into()),
        bootstrap_admin: Some("admin:adminpw".into()),
        secret_iterations: Some(10),
        ..CaServerConfig::default()
    }
}

#[test]
fn a_fresh_root_is_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    let ca = open(&c).unwrap();
    let first = ca.material().issuer.cert_pem().to_string();
    assert!(ca.material().issuer.name().contains("ca.hospitala.test"));
    assert!(ca.registry().identities.contains_key("admin"));
    drop(ca);
    let again = open(&c).unwrap();
    assert_eq!(
        again.material().issuer.cert_pem(),
        first,
        "restart reuses the saved CA"
    );
    let tls = tls_identity(&c, again.material()).unwrap();
    assert!(!tls.cert_pem.is_empty());
    assert!(dir.path().join("tls-ca.pem").exists());
}

#[test]
fn an_intermediate_is_signed_by_the_given_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = CertificateAuthority::new_root(
        &Subject::new("ca.hospitala.test", "hospitala.test"),
        Validity::default(),
    )
    .unwrap();
    root.save(dir.path(), "root.pem").unwrap();
    let mut c = cfg(&dir.path().join("home"));
    c.organization = None;
    c.intermediate = true;
    c.parent_cert = Some(dir.path().join("root.pem"));
    c.parent_key = Some(dir.path().join("priv_sk"));
    let ca = open(&c).unwrap();
    assert!(ca.material().is_intermediate());
    assert!(ca.material().issuer.name().contains("ica.hospitala.test"));
    assert_eq!(ca.material().root(), root.cert_pem());
    drop(ca);
    let again = open(&c).unwrap();
    assert!(again.material().is_intermediate(), "the saved chain is reused");
    // The MSP to publish names the intermediate for NodeOUs and holds the chain.
    let msp = carechain_crypto::msp::load_msp(&c.home.join("msp"), "HospitalAMSP").unwrap();
    assert!(msp.node_ous_enabled());
    assert_eq!(msp.config().intermediate_certs.len(), 1);
}

#[test]
fn bad_configurations_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.organization = None;
    let e = open(&c).unwrap_err().to_string();
    assert!(e.contains("no CA key"), "{e}");

    let mut c = cfg(dir.path());
    c.msp_id.clear();
    assert!(open(&c).unwrap_err().to_string().contains("MSP id"));

    let mut c = cfg(dir.path());
    c.bootstrap_admin = None;
    assert!(open(&c).unwrap_err().to_string().contains("--bootstrap-admin"));

    let mut c = cfg(dir.path());
    c.validity = "forever".into();
    assert!(open(&c).unwrap_err().to_string().contains("validity"));

    let mut c = cfg(dir.path());
    c.intermediate = true;
    c.organization = None;
    let other = tempfile::tempdir().unwrap();
    c.home = other.path().to_path_buf();
    assert!(open(&c).unwrap_err().to_string().contains("--parent-cert"));

    let yaml = "home: /x\nmsp_id: A\nunknown_key: 1\n";
    let f = dir.path().join("ca.yaml");
    std::fs::write(&f, yaml).unwrap();
    assert!(CaServerConfig::load(&f).is_err());
}
