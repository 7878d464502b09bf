//! The read functions: payloads (empty when absent, as the Go sample), member-only reads, range bounds, the
//! CouchDB-free rich queries, and the Go contract API's argument handling. All data is synthetic.

mod common;

use chaincode_api::testing::MockContext;
use chaincode_private::PrivateContract;
use common::*;

fn two_assets() -> MockContext {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    create(&mut ctx, &org1, "asset2", "blue", 35, 727);
    ctx
}

#[test]
fn read_asset_returns_go_json_or_an_empty_payload() {
    let org1 = org1_user();
    let mut ctx = two_assets();
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadAsset", "asset1"]).expect("read"),
        asset_json("asset1", "green", 20, &org1)
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadAsset", "asset9"]).expect("absent"),
        ""
    );
}

#[test]
fn a_peer_outside_the_asset_collection_cannot_answer_reads() {
    let org1 = org1_user();
    let mut ctx = two_assets();
    ctx = ctx.with_collection(ASSETS, false);
    ctx.set_caller(org1);
    let err = ctx
        .evaluate(&PrivateContract, &["ReadAsset", "asset1"])
        .expect_err("not a member");
    assert_eq!(err.status(), 403);
    assert!(err.message().starts_with("failed to read asset: "), "{err}");
    let err = ctx
        .evaluate(&PrivateContract, &["GetAssetByRange", "", ""])
        .expect_err("not a member");
    assert_eq!(err.status(), 403);
}

#[test]
fn read_asset_private_details_only_from_a_member_peer() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = two_assets();
    assert_eq!(
        evaluate_as(
            &mut ctx,
            &org1,
            &["ReadAssetPrivateDetails", ORG1_PRIVATE, "asset2"]
        )
        .expect("read"),
        r#"{"assetID":"asset2","appraisedValue":727}"#
    );
    assert_eq!(
        evaluate_as(
            &mut ctx,
            &org1,
            &["ReadAssetPrivateDetails", ORG1_PRIVATE, "asset9"]
        )
        .expect("absent"),
        ""
    );
    // Org2's peer does not hold Org1's collection.
    assert_err_contains(
        evaluate_as(
            &mut ctx,
            &org2,
            &["ReadAssetPrivateDetails", ORG1_PRIVATE, "asset2"],
        ),
        403,
        &["failed to read asset details: ", "Org1MSPPrivateCollection"],
    );
    assert_err(
        evaluate_as(&mut ctx, &org1, &["ReadAssetPrivateDetails", "", "asset2"]),
        400,
        "failed to read asset details: collection must not be an empty string",
    );
    assert_err_contains(
        evaluate_as(
            &mut ctx,
            &org1,
            &["ReadAssetPrivateDetails", "otherCollection", "asset2"],
        ),
        400,
        &["failed to read asset details: ", "otherCollection is not defined"],
    );
}

#[test]
fn read_transfer_agreement_is_empty_until_a_buyer_agrees() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = two_assets();
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadTransferAgreement", "asset1"]).expect("read"),
        ""
    );
    agree(&mut ctx, &org2, "asset1", 100).expect("agree");
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadTransferAgreement", "asset1"]).expect("read"),
        format!(r#"{{"assetID":"asset1","buyerID":"{}"}}"#, org2.id)
    );
}

#[test]
fn get_asset_by_range_returns_assets_never_agreements() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut empty = peer_of(ORG1, org1.clone());
    assert_eq!(
        evaluate_as(&mut empty, &org1, &["GetAssetByRange", "", ""]).expect("range"),
        "[]"
    );

    let mut ctx = two_assets();
    create(&mut ctx, &org1, "asset3", "red", 5, 1);
    agree(&mut ctx, &org2, "asset1", 100).expect("agree");
    let all = evaluate_as(&mut ctx, &org1, &["GetAssetByRange", "", ""]).expect("range");
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).expect("JSON array");
    let ids: Vec<&str> = all.iter().map(|a| a["assetID"].as_str().expect("id")).collect();
    assert_eq!(
        ids,
        ["asset1", "asset2", "asset3"],
        "the agreement's composite key is skipped"
    );

    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["GetAssetByRange", "asset2", "asset3"]).expect("range"),
        format!("[{}]", asset_json("asset2", "blue", 35, &org1)),
        "start inclusive, end exclusive"
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["GetAssetByRange", "asset3", "asset1"]).expect("range"),
        "[]"
    );
    assert_err(
        evaluate_as(
            &mut ctx,
            &org1,
            &["GetAssetByRange", "\u{0}transferAgreement", ""],
        ),
        400,
        "first character of the key [\u{0}transferAgreement] contains a null character which is not allowed",
    );
}

#[test]
fn query_asset_by_owner_filters_type_and_owner() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = two_assets();
    let other_type =
        r#"{"objectType":"OtherAsset","assetID":"asset3","color":"red","size":5,"appraisedValue":1}"#;
    submit_as(
        &mut ctx,
        &org1,
        &["CreateAsset"],
        &[("asset_properties", other_type)],
    )
    .expect("create");
    create(&mut ctx, &org2, "asset4", "white", 15, 800);

    let mine =
        evaluate_as(&mut ctx, &org1, &["QueryAssetByOwner", "ValuableAsset", &org1.id]).expect("query");
    assert_eq!(
        mine,
        format!(
            "[{},{}]",
            asset_json("asset1", "green", 20, &org1),
            asset_json("asset2", "blue", 35, &org1)
        )
    );
    let theirs =
        evaluate_as(&mut ctx, &org2, &["QueryAssetByOwner", "ValuableAsset", &org2.id]).expect("query");
    assert_eq!(theirs, format!("[{}]", asset_json("asset4", "white", 15, &org2)));
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["QueryAssetByOwner", "ValuableAsset", "nobody"]).expect("query"),
        "[]"
    );
}

#[test]
fn query_assets_evaluates_equality_selectors_and_refuses_the_rest() {
    let org1 = org1_user();
    let mut ctx = two_assets();
    let query = format!(
        r#"{{"selector":{{"objectType":"ValuableAsset","owner":"{}","size":{{"$eq":35}}}}}}"#,
        org1.id
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["QueryAssets", &query]).expect("query"),
        format!("[{}]", asset_json("asset2", "blue", 35, &org1))
    );
    assert_err_contains(
        evaluate_as(
            &mut ctx,
            &org1,
            &["QueryAssets", r#"{"selector":{"size":{"$gt":10}}}"#],
        ),
        400,
        &["QueryAssets: the condition on field \"size\" is not supported: carechain has no CouchDB"],
    );
}

#[test]
fn function_names_and_arguments_follow_the_go_contract_api() {
    let org1 = org1_user();
    let mut ctx = two_assets();
    let asset1 = asset_json("asset1", "green", 20, &org1);
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["readAsset", "asset1"]).expect("lower case"),
        asset1
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["SmartContract:ReadAsset", "asset1"]).expect("prefix"),
        asset1
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadAsset", "asset1", "extra"]).expect("extra ignored"),
        asset1
    );
    assert_err(
        evaluate_as(&mut ctx, &org1, &["ReadAssetPrivateDetails", ORG1_PRIVATE]),
        400,
        "incorrect number of params. Expected 2, received 1",
    );
    assert_err_contains(
        evaluate_as(&mut ctx, &org1, &["Other:ReadAsset", "asset1"]),
        400,
        &["Contract not found with name Other"],
    );
    assert_err_contains(
        evaluate_as(&mut ctx, &org1, &["InitLedger"]),
        400,
        &[
            "Function InitLedger not found in contract private",
            "DeleteTranferAgreement",
        ],
    );
}
