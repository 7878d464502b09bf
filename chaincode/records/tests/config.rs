//! `collections_config.json` declares exactly the collections the contract uses for the demo orgs, with the
//! settings the README explains, and no PHI collection admits the insurer or the research org.

use chaincode_records::keys;
use serde_json::Value;

#[test]
fn the_collections_config_matches_the_contract() {
    let text = include_str!("../collections_config.json");
    let config: Vec<Value> = serde_json::from_str(text).expect("Fabric collection JSON");
    let names: Vec<&str> = config.iter().map(|c| c["name"].as_str().expect("name")).collect();
    let expected = [
        keys::records_collection("HospitalAMSP"),
        keys::records_collection("HospitalBMSP"),
        keys::lab_collection("LabMSP", "HospitalAMSP"),
        keys::lab_collection("LabMSP", "HospitalBMSP"),
    ];
    assert_eq!(names, expected);
    for c in &config {
        let name = c["name"].as_str().expect("name");
        let policy = c["policy"].as_str().expect("policy");
        let endorsement = c["endorsementPolicy"]["signaturePolicy"]
            .as_str()
            .expect("endorsement policy");
        let members: Vec<&str> = name.split('_').skip(1).collect();
        for m in &members {
            assert!(policy.contains(&format!("'{m}.member'")), "{name}: {policy}");
            assert!(
                endorsement.contains(&format!("'{m}.peer'")),
                "{name}: {endorsement}"
            );
        }
        assert_eq!(
            policy.matches(".member").count(),
            members.len(),
            "{name}: only its orgs are members"
        );
        for outsider in ["InsurerMSP", "ResearchMSP"] {
            assert!(
                !policy.contains(outsider) && !endorsement.contains(outsider),
                "{name}"
            );
        }
        assert_eq!(
            c["memberOnlyRead"], false,
            "{name}: other hospitals' caregivers read through ReadRecord"
        );
        assert_eq!(
            c["memberOnlyWrite"], false,
            "{name}: grants and erasure come from other orgs' clients"
        );
        assert_eq!(c["blockToLive"], 0, "{name}: kept until erasure purges it");
        assert!(c["requiredPeerCount"].as_u64() <= c["maxPeerCount"].as_u64());
    }
}

#[test]
fn the_contract_declares_its_evaluate_only_functions_to_the_platform() {
    use chaincode_api::Contract;
    use chaincode_records::{EVALUATE_ONLY, FUNCTIONS, RecordsContract};
    assert_eq!(RecordsContract.evaluate_only(), EVALUATE_ONLY);
    for f in EVALUATE_ONLY {
        assert!(FUNCTIONS.contains(f), "{f} is served");
    }
    for f in ["ReadRecord", "ListAccesses", "ListAccessesByOrg"] {
        assert!(EVALUATE_ONLY.contains(&f), "{f} returns PHI or access lists");
    }
    for f in ["RequestAccess", "GrantConsent", "ErasePatient", "SignLabReport"] {
        assert!(!EVALUATE_ONLY.contains(&f), "{f} must stay submittable");
    }
}
