use super::*;
use crate::model::Attribute;

fn a(name: &str, value: &str) -> Attribute {
    Attribute::ecert(name, value)
}

fn ward_admin() -> Vec<Attribute> {
    vec![
        Attribute::internal(REGISTRAR_ROLES, "client"),
        Attribute::internal(REGISTRAR_ATTRIBUTES, "role=nurse|patient,department,ward.*"),
    ]
}

#[test]
fn the_bootstrap_admin_may_register_anything() {
    let attrs = bootstrap_privileges();
    let r = Registrar::new("admin", "", &attrs);
    for t in IdentityType::ALL {
        r.check_register(t, "hospitala.cardiology", &[a("role", "doctor")])
            .unwrap();
    }
    r.check_register(
        IdentityType::Admin,
        "",
        &[
            a(REGISTRAR_ROLES, "client,peer"),
            a(REVOKER, "true"),
            a(GEN_CRL, "true"),
            a(REGISTRAR_ATTRIBUTES, "role=nurse"),
        ],
    )
    .unwrap();
    r.check_revoke("doctor1", IdentityType::Client, "x").unwrap();
    r.check_gen_crl().unwrap();
}

#[test]
fn a_non_registrar_is_refused_by_name() {
    let attrs = vec![a("role", "doctor")];
    let r = Registrar::new("doctor1", "", &attrs);
    let e = r.check_register(IdentityType::Client, "", &[]).unwrap_err();
    assert_eq!(
        e,
        Denied::NotRegistrar {
            caller: "doctor1".into()
        }
    );
    assert!(e.to_string().contains("doctor1 is not a registrar"));
    assert!(matches!(
        r.check_revoke("x", IdentityType::Client, ""),
        Err(Denied::NotRevoker { .. })
    ));
    assert!(matches!(r.check_gen_crl(), Err(Denied::NotCrlIssuer { .. })));
}

#[test]
fn a_delegated_registrar_is_limited_to_its_types_and_attributes() {
    let attrs = ward_admin();
    let r = Registrar::new("wardadmin", "hospitala.ward3", &attrs);
    r.check_register(
        IdentityType::Client,
        "hospitala.ward3",
        &[
            a("role", "nurse"),
            a("department", "oncology"),
            a("ward.bed", "12"),
        ],
    )
    .unwrap();
    let e = r
        .check_register(IdentityType::Peer, "hospitala.ward3", &[])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Denied::Type {
                wanted: IdentityType::Peer,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("hf.Registrar.Roles is \"client\""), "{e}");
    let e = r
        .check_register(IdentityType::Client, "hospitala.ward3", &[a("role", "doctor")])
        .unwrap_err();
    assert!(matches!(e, Denied::Attribute { .. }), "{e}");
    assert!(e.to_string().contains("role=doctor"), "{e}");
    let e = r
        .check_register(IdentityType::Client, "hospitala.ward3", &[a("licence", "L-1")])
        .unwrap_err();
    assert!(matches!(e, Denied::Attribute { .. }), "{e}");
}

#[test]
fn affiliations_bound_registrars_to_their_subtree() {
    let attrs = ward_admin();
    let r = Registrar::new("wardadmin", "hospitala.ward3", &attrs);
    r.check_register(IdentityType::Client, "hospitala.ward3.night", &[])
        .unwrap();
    for outside in ["hospitala", "hospitala.ward30", "", "hospitalb.ward3"] {
        let e = r.check_register(IdentityType::Client, outside, &[]).unwrap_err();
        assert!(matches!(e, Denied::Affiliation { .. }), "{outside}: {e}");
    }
}

#[test]
fn privileges_are_delegated_only_as_held() {
    let attrs = vec![
        Attribute::internal(REGISTRAR_ROLES, "client,admin"),
        Attribute::internal(
            REGISTRAR_ATTRIBUTES,
            "hf.Registrar.*,hf.Revoker,role=nurse|patient",
        ),
        Attribute::internal(REVOKER, "false"),
    ];
    let r = Registrar::new("chief", "", &attrs);
    r.check_register(
        IdentityType::Admin,
        "",
        &[
            a(REGISTRAR_ROLES, "client"),
            a(REGISTRAR_ATTRIBUTES, "role=nurse"),
        ],
    )
    .unwrap();
    let refused = [
        a(REGISTRAR_ROLES, "client,peer"),
        a(REGISTRAR_ROLES, "*"),
        a(REGISTRAR_ATTRIBUTES, "role"),
        a(REGISTRAR_ATTRIBUTES, "role=nurse|doctor"),
        a(REGISTRAR_ATTRIBUTES, "*"),
        a(REVOKER, "true"),
        a(REVOKER, "yes"),
    ];
    for attr in refused {
        let e = r
            .check_register(IdentityType::Admin, "", std::slice::from_ref(&attr))
            .unwrap_err();
        assert!(
            matches!(e, Denied::Privilege { .. }),
            "{}={}: {e}",
            attr.name,
            attr.value
        );
    }
}

#[test]
fn ca_set_and_unknown_hf_attributes_are_refused() {
    let attrs = bootstrap_privileges();
    let r = Registrar::new("admin", "", &attrs);
    for name in ["hf.EnrollmentID", "hf.Type", "hf.Affiliation", "hf.Whatever"] {
        let e = r
            .check_register(IdentityType::Client, "", &[a(name, "x")])
            .unwrap_err();
        assert!(matches!(e, Denied::Privilege { .. }), "{name}: {e}");
    }
}

#[test]
fn delegate_roles_narrow_what_a_registrar_hands_on() {
    let attrs = vec![
        Attribute::internal(REGISTRAR_ROLES, "client,peer"),
        Attribute::internal(REGISTRAR_DELEGATE_ROLES, "client"),
        Attribute::internal(REGISTRAR_ATTRIBUTES, "hf.Registrar.Roles"),
    ];
    let r = Registrar::new("ops", "", &attrs);
    r.check_register(IdentityType::Peer, "", &[]).unwrap();
    r.check_register(IdentityType::Client, "", &[a(REGISTRAR_ROLES, "client")])
        .unwrap();
    assert!(
        r.check_register(IdentityType::Client, "", &[a(REGISTRAR_ROLES, "peer")])
            .is_err()
    );
}

#[test]
fn revokers_act_within_their_delegation_or_on_themselves() {
    let attrs = vec![
        Attribute::internal(REGISTRAR_ROLES, "client"),
        Attribute::internal(REVOKER, "true"),
    ];
    let r = Registrar::new("wardadmin", "hospitala.ward3", &attrs);
    r.check_revoke("nurse1", IdentityType::Client, "hospitala.ward3")
        .unwrap();
    r.check_revoke("wardadmin", IdentityType::Admin, "hospitala.ward3")
        .unwrap();
    assert!(
        r.check_revoke("peer0", IdentityType::Peer, "hospitala.ward3")
            .is_err()
    );
    assert!(r.check_revoke("x", IdentityType::Client, "hospitala").is_err());
    assert!(r.can_see("nurse1", IdentityType::Client, "hospitala.ward3"));
    assert!(r.can_see("wardadmin", IdentityType::Admin, "hospitala.ward3"));
    assert!(!r.can_see("admin", IdentityType::Admin, ""));
}

#[test]
fn pattern_syntax() {
    assert!(AttrPattern::parse_list("role=doctor|nurse, department ,lab.*,*").is_ok());
    assert!(AttrPattern::parse_list("lab.*=x").is_err());
    assert!(AttrPattern::parse_list("role=").is_err());
    assert!(AttrPattern::parse_list("bad name").is_err());
    assert_eq!(TypeSet::parse(" * "), Ok(TypeSet::All));
    assert!(TypeSet::parse("client,user").is_err());
}
