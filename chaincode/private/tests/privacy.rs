//! What the contract promises about privacy: private values never reach public state or events, each
//! transaction's public write set stays empty, and the collection config shipped with the crate matches the
//! names the contract uses and gives each org collection exactly one member org. The client-org check
//! relies on that. All data is synthetic.

mod common;

use chaincode_api::ContractError;
use chaincode_api::testing::MockContext;
use chaincode_private::{ASSET_COLLECTION, CHAINCODE_NAME, COLLECTIONS_CONFIG, FUNCTIONS, org_collection};
use common::*;
use serde_json::Value;

/// Runs one committed step and checks it left public state, the public write set and the event empty.
fn step(ctx: &mut MockContext, run: impl FnOnce(&mut MockContext) -> Result<String, ContractError>) {
    let height = ctx.height();
    run(ctx).expect("step succeeds");
    assert_eq!(ctx.height(), height + 1, "each step commits one transaction");
    assert_public_state_empty(ctx);
}

#[test]
fn no_transaction_writes_public_state_or_events() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    let props = asset_properties("asset1", "green", 20, 100);
    step(&mut ctx, |c| {
        submit_as(c, &org1, &["CreateAsset"], &[("asset_properties", &props)])
    });
    let props = asset_properties("asset2", "blue", 35, 727);
    step(&mut ctx, |c| {
        submit_as(c, &org1, &["CreateAsset"], &[("asset_properties", &props)])
    });
    step(&mut ctx, |c| agree(c, &org2, "asset1", 100));
    step(&mut ctx, |c| transfer(c, &org1, "asset1", ORG2));
    step(&mut ctx, |c| {
        by_id(c, &org1, "DeleteAsset", "asset_delete", "asset2")
    });
    step(&mut ctx, |c| {
        by_id(c, &org1, "PurgeAsset", "asset_purge", "asset2")
    });
    // The private values are where they belong, and only there.
    assert_eq!(
        private(&ctx, ORG2_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#)
    );
    assert!(
        !private(&ctx, ASSETS, "asset1")
            .expect("asset")
            .contains("appraisedValue")
    );
}

#[test]
fn reads_do_not_write_anything() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let height = ctx.height();
    for args in [
        vec!["ReadAsset", "asset1"],
        vec!["ReadAssetPrivateDetails", ORG1_PRIVATE, "asset1"],
        vec!["ReadTransferAgreement", "asset1"],
        vec!["GetAssetByRange", "", ""],
    ] {
        on_peer(&mut ctx, ORG1);
        ctx.set_caller(org1.clone());
        ctx.submit(&chaincode_private::PrivateContract, &args)
            .expect("read as a submitted transaction");
        assert_public_state_empty(&ctx);
    }
    assert_eq!(ctx.height(), height + 4);
    assert_eq!(
        private(&ctx, ORG1_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#)
    );
}

#[test]
fn the_contract_is_named_like_the_sample_deployment() {
    assert_eq!(CHAINCODE_NAME, "private");
    assert_eq!(FUNCTIONS.len(), 12);
    assert!(
        FUNCTIONS.contains(&"DeleteTranferAgreement"),
        "the sample's spelling"
    );
}

#[test]
fn collections_config_matches_the_contract_and_fabrics_format() {
    let config: Vec<Value> = serde_json::from_str(COLLECTIONS_CONFIG).expect("Fabric collection JSON");
    let names: Vec<&str> = config.iter().map(|c| c["name"].as_str().expect("name")).collect();
    assert_eq!(
        names,
        [
            ASSET_COLLECTION.to_string(),
            org_collection(ORG1),
            org_collection(ORG2)
        ]
    );
    let fields = [
        "name",
        "policy",
        "requiredPeerCount",
        "maxPeerCount",
        "blockToLive",
        "memberOnlyRead",
        "memberOnlyWrite",
        "endorsementPolicy",
    ];
    for c in &config {
        let keys: Vec<&str> = c
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), fields.len(), "{c}");
        assert!(fields.iter().all(|f| keys.contains(f)), "{c}");
        assert_eq!(c["memberOnlyRead"], true, "{c}");
        assert!(c["endorsementPolicy"]["signaturePolicy"].is_string(), "{c}");
    }
    assert_eq!(config[0]["policy"], "OR('Org1MSP.member', 'Org2MSP.member')");
    assert_eq!(config[0]["memberOnlyWrite"], true);
    // Each org collection has exactly its own org as member: the client-org check depends on it.
    for (c, org) in config[1..].iter().zip([ORG1, ORG2]) {
        assert_eq!(c["policy"], format!("OR('{org}.member')"));
        assert_eq!(
            c["endorsementPolicy"]["signaturePolicy"],
            format!("OR('{org}.member')")
        );
        assert_eq!(
            (c["requiredPeerCount"].as_u64(), c["blockToLive"].as_u64()),
            (Some(0), Some(3))
        );
        assert_eq!(c["memberOnlyWrite"], false);
    }
}
