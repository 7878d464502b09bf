use super::*;
use crate::dsl::parse;

fn peers(orgs: &[&str]) -> Vec<OrgPeer> {
    orgs.iter().map(|o| OrgPeer(o.to_string())).collect()
}

#[test]
fn and_or_outof_semantics() {
    let and = parse("AND('A.peer', 'B.peer')").unwrap();
    assert!(and.evaluate(&peers(&["A", "B"])));
    assert!(!and.evaluate(&peers(&["A"])));
    assert!(!and.evaluate(&peers(&["A", "A"])));
    let or = parse("OR('A.peer', 'B.peer')").unwrap();
    assert!(or.evaluate(&peers(&["B"])));
    assert!(!or.evaluate(&peers(&["C"])));
    let two = parse("OutOf(2, 'A.member', 'B.member', 'C.member')").unwrap();
    assert!(two.evaluate(&peers(&["C", "A"])));
    assert!(!two.evaluate(&peers(&["C"])));
}

#[test]
fn one_signer_cannot_satisfy_two_leaves() {
    // Fabric semantics: a signer is consumed by the first leaf it satisfies.
    let p = parse("AND('A.member', 'A.peer')").unwrap();
    assert!(!p.evaluate(&peers(&["A"])));
    assert!(p.evaluate(&peers(&["A", "A"])));
}

#[test]
fn proto_roundtrip_and_display() {
    let p = parse("and('A.peer', or('B.admin', \"C.client\"))").unwrap();
    let back = SignaturePolicy::from_proto(&p.to_proto()).unwrap();
    assert_eq!(p, back);
    assert_eq!(p.to_string(), "AND('A.peer', OR('B.admin', 'C.client'))");
    assert_eq!(p.msp_ids().len(), 3);
}

#[test]
fn bad_policies_are_rejected_with_reasons() {
    for bad in [
        "AND('A.peer'",
        "XOR('A.peer')",
        "'A.king'",
        "OutOf(3, 'A.peer', 'B.peer')",
        "'Apeer'",
        "AND('A.peer') junk",
    ] {
        assert!(
            matches!(parse(bad), Err(PolicyError::Parse { .. })),
            "{bad} should fail"
        );
    }
    let rule = Rule::SignedBy(3);
    assert!(SignaturePolicy::new(rule, vec![]).is_err());
}

#[test]
fn check_names_policy_and_signers() {
    let p = parse("AND('A.peer', 'B.peer')").unwrap();
    let e = p
        .check("basic endorsement", &peers(&["A"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("basic endorsement") && e.contains("a peer of A"),
        "{e}"
    );
}
