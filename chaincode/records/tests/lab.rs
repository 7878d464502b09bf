//! Dual-signed lab reports: preliminary with the lab admin's signature, final only with the hospital admin's
//! countersignature, enforced by signer checks and by the key-level policy AND(lab, hospital). Synthetic data.

mod common;

use chaincode_api::Role;
use chaincode_api::testing::synthetic_caller;
use chaincode_records::hashing::canonical_json;
use common::*;
use serde_json::{Value, json};

const COLLECTION: &str = "labreports_LabMSP_HospitalAMSP";

fn create(
    net: &mut Net,
    by: chaincode_api::Caller,
    report: &Value,
) -> Result<Value, chaincode_api::ContractError> {
    net.submit(
        by,
        &["CreateLabReport", P1, L1],
        &[("resource", &report.to_string()), ("salt", SALT3)],
    )
}

fn created() -> (Net, String) {
    let mut net = registered();
    let meta = create(&mut net, lab_admin(), &lab_report()).expect("lab admin creates");
    (net, meta["hash"].as_str().expect("hash").to_string())
}

#[test]
fn one_signature_leaves_the_report_preliminary() {
    let (net, hash) = created();
    let meta = net.public(&composite(&["record", L1])).expect("public metadata");
    assert_eq!(meta["issuer"], LAB);
    assert_eq!(meta["labReport"]["hospital"], HOSPITAL_A);
    assert_eq!(meta["labReport"]["status"], "preliminary");
    assert_eq!(meta["labReport"]["signedHash"], hash.as_str());
    let provenance = &meta["labReport"]["provenance"];
    assert_eq!(provenance["resourceType"], "Provenance");
    assert_eq!(
        provenance["target"][0]["reference"],
        format!("DiagnosticReport/{L1}")
    );
    let signatures = provenance["signature"].as_array().expect("signatures");
    assert_eq!(signatures.len(), 1);
    assert_eq!(
        signatures[0]["type"][0],
        json!({"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1", "display": "Author's Signature"})
    );
    assert_eq!(signatures[0]["who"]["identifier"]["value"], lab_admin().id);
    assert_eq!(signatures[0]["onBehalfOf"]["reference"], "Organization/LabMSP");
    let policy = net
        .ctx
        .committed_endorsement(&composite(&["record", L1]))
        .expect("key-level policy");
    assert_eq!(
        policy.orgs,
        [HOSPITAL_A, LAB],
        "neither org can change the report alone"
    );
    assert_eq!(policy.role, Role::Peer);
    let stored = net
        .private(COLLECTION, &composite(&["record", L1]))
        .expect("report in the lab-hospital collection");
    assert_eq!(stored["resource"]["status"], "preliminary");
    assert_eq!(
        hash,
        salted(SALT3, canonical_json(&stored["resource"]).as_bytes())
    );
    assert!(
        net.private("records_HospitalAMSP", &composite(&["record", L1]))
            .is_none()
    );
    assert_eq!(net.last_event().0, "LabReportCreated");
    net.assert_clean(PHI);
}

#[test]
fn the_hospital_admin_countersigns_and_only_then_it_is_final() {
    let (mut net, hash) = created();
    let signed = net
        .submit(admin(HOSPITAL_A), &["SignLabReport", L1, &hash], &[])
        .expect("countersign");
    assert_eq!(signed["labReport"]["status"], "final");
    let signatures = signed["labReport"]["provenance"]["signature"]
        .as_array()
        .expect("signatures");
    let codes: Vec<&str> = signatures
        .iter()
        .map(|s| s["type"][0]["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["1.2.840.10065.1.12.1.1", "1.2.840.10065.1.12.1.5"]);
    assert_eq!(signatures[1]["who"]["identifier"]["value"], admin(HOSPITAL_A).id);
    let agents: Vec<&str> = signed["labReport"]["provenance"]["agent"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| a["type"]["coding"][0]["code"].as_str().expect("type"))
        .collect();
    assert_eq!(agents, ["author", "verifier"]);
    assert_eq!(
        signed["labReport"]["signedHash"],
        hash.as_str(),
        "both signatures attest the authored content"
    );
    let stored = net
        .private(COLLECTION, &composite(&["record", L1]))
        .expect("report");
    assert_eq!(stored["resource"]["status"], "final");
    assert_eq!(
        signed["hash"],
        salted(SALT3, canonical_json(&stored["resource"]).as_bytes())
    );
    assert_ne!(signed["hash"], hash.as_str());
    assert_eq!(net.public(&composite(&["record", L1])), Some(signed.clone()));
    assert_eq!(net.last_event().0, "LabReportFinalized");
    assert!(
        net.ctx
            .committed_endorsement(&composite(&["record", L1]))
            .is_some(),
        "the policy survives the update"
    );
    let new_hash = signed["hash"].as_str().expect("hash").to_string();
    assert_err(
        net.submit(admin(HOSPITAL_A), &["SignLabReport", L1, &new_hash], &[]),
        409,
        &["already final"],
    );
    net.assert_clean(PHI);
}

#[test]
fn wrong_signers_are_refused() {
    let (mut net, hash) = created();
    let cases = [
        (lab_admin(), "only an administrator of HospitalAMSP"),
        (admin(HOSPITAL_B), "only an administrator of HospitalAMSP"),
        (doctor(HOSPITAL_A), "administrator (NodeOU admin) of HospitalAMSP"),
        (
            synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Lab Liaison").with_attr("role", "admin"),
            "NodeOU admin",
        ),
    ];
    for (who, fragment) in cases {
        assert_err(
            net.submit(who, &["SignLabReport", L1, &hash], &[]),
            403,
            &[fragment],
        );
    }
    assert_err(
        net.submit(admin(HOSPITAL_A), &["SignLabReport", L1, &"0".repeat(64)], &[]),
        409,
        &["not the", "you verified"],
    );
    assert_err(
        net.submit(admin(HOSPITAL_A), &["SignLabReport", L1, "abc"], &[]),
        400,
        &["report hash"],
    );
    assert_eq!(
        net.public(&composite(&["record", L1])).expect("meta")["labReport"]["status"],
        "preliminary"
    );
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R1,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT1,
    )
    .expect("R1");
    assert_err(
        net.submit(admin(HOSPITAL_A), &["SignLabReport", R1, &hash], &[]),
        400,
        &["not a lab report"],
    );
}

#[test]
fn who_may_author_a_lab_report() {
    let mut net = registered();
    let lab_user =
        synthetic_caller(LAB, Role::Client, "Synthetic Lab Technician").with_attr("role", "doctor");
    assert_err(
        create(&mut net, lab_user, &lab_report()),
        403,
        &["lab administrator"],
    );
    assert_err(
        create(&mut net, admin(HOSPITAL_A), &lab_report()),
        403,
        &["two orgs"],
    );
    assert_err(
        create(&mut net, admin(HOSPITAL_B), &lab_report()),
        400,
        &["labreports_HospitalBMSP_HospitalAMSP"],
    );
    let mut final_report = lab_report();
    final_report["status"] = json!("final");
    assert_err(
        create(&mut net, lab_admin(), &final_report),
        400,
        &["preliminary until countersigned"],
    );
    assert_err(
        create(&mut net, lab_admin(), &observation("laboratory", "x")),
        400,
        &["resourceType DiagnosticReport"],
    );
    let mut no_status = lab_report();
    no_status.as_object_mut().expect("object").remove("status");
    create(&mut net, lab_admin(), &no_status).expect("status defaults to preliminary");
    assert_err(
        create(&mut net, lab_admin(), &lab_report()),
        409,
        &["already exists"],
    );
}

#[test]
fn a_final_lab_report_is_disclosed_through_the_audited_path() {
    let (mut net, hash) = created();
    net.submit(admin(HOSPITAL_A), &["SignLabReport", L1, &hash], &[])
        .expect("final");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), L1, "TREAT")["decision"],
        "deny"
    );
    grant(
        &mut net,
        P1,
        C1,
        &provision(
            practitioner(&doctor(HOSPITAL_B)),
            &["TREAT"],
            &["LAB"],
            "2024-01-01",
            None,
        ),
    )
    .expect("consent");
    let answer = request(&mut net, doctor(HOSPITAL_B), L1, "TREAT");
    let grant_id = answer["grant"].as_str().expect("grant").to_string();
    assert!(
        net.private(COLLECTION, &composite(&["grant", &grant_id]))
            .is_some(),
        "the grant lives with the report"
    );
    let read = net
        .evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, L1], &[])
        .expect("read");
    assert_eq!(read["resource"]["status"], "final");
    assert_eq!(
        read["resource"]["conclusion"],
        "Synthetic conclusion: within synthetic limits"
    );
    assert_eq!(
        request(&mut net, admin(HOSPITAL_A), L1, "TREAT")["decision"],
        "deny",
        "the countersigner never receives it"
    );
    assert_eq!(
        request(&mut net, lab_admin(), L1, "TREAT")["decision"],
        "deny",
        "nor does the author"
    );
    net.assert_clean(PHI);
}
