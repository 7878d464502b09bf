//! `CreateAsset`: where each part of an asset is stored, the transient input it requires and validates with
//! the Go sample's messages, and who may create on which peer. All data is synthetic.

mod common;

use chaincode_api::Role;
use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_private::PrivateContract;
use common::*;

#[test]
fn create_stores_shared_details_and_appraised_value_in_separate_collections() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    let props = asset_properties("asset1", "green", 20, 100);
    let payload = submit_as(&mut ctx, &org1, &["CreateAsset"], &[("asset_properties", &props)]);
    assert_eq!(payload.expect("create"), "");

    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1)),
        "shared details, owned by the submitting client, without the appraised value"
    );
    assert_eq!(
        private(&ctx, ORG1_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#)
    );
    assert_eq!(private(&ctx, ORG2_PRIVATE, "asset1"), None);
    assert_public_state_empty(&ctx);
}

#[test]
fn create_requires_the_asset_properties_transient_field() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    let props = asset_properties("asset1", "green", 20, 100);
    let height = ctx.height();

    assert_err(
        submit_as(&mut ctx, &org1, &["CreateAsset"], &[]),
        400,
        "asset not found in the transient map input",
    );
    // Properties passed as arguments (which would put them in the block) are not accepted instead.
    assert_err(
        submit_as(
            &mut ctx,
            &org1,
            &["CreateAsset", &props],
            &[("asset_value", &props)],
        ),
        400,
        "asset not found in the transient map input",
    );
    assert_eq!(ctx.height(), height);
    assert_eq!(private(&ctx, ASSETS, "asset1"), None);
}

#[test]
fn create_validates_the_transient_input_like_go() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    let cases: &[(&str, &str)] = &[
        ("null", "objectType field must be a non-empty string"),
        (
            r#"{"assetID":"a1","color":"green","size":20,"appraisedValue":100}"#,
            "objectType field must be a non-empty string",
        ),
        (
            r#"{"objectType":"T","color":"green","size":20,"appraisedValue":100}"#,
            "assetID field must be a non-empty string",
        ),
        (
            r#"{"objectType":"T","assetID":"a1","color":"","size":20,"appraisedValue":100}"#,
            "color field must be a non-empty string",
        ),
        (
            r#"{"objectType":"T","assetID":"a1","color":"green","size":0,"appraisedValue":100}"#,
            "size field must be a positive integer",
        ),
        (
            r#"{"objectType":"T","assetID":"a1","color":"green","size":20,"appraisedValue":-5}"#,
            "appraisedValue field must be a positive integer",
        ),
        (
            r#"{"objectType":"T","assetID":"a1","color":"green","size":"20","appraisedValue":100}"#,
            "failed to unmarshal JSON: json: cannot unmarshal string into Go struct field \
             assetTransientInput.size of type int",
        ),
        (
            r#"{"objectType":"T","assetID":"a1","color":"green","size":20.5,"appraisedValue":100}"#,
            "failed to unmarshal JSON: json: cannot unmarshal number 20.5 into Go struct field \
             assetTransientInput.size of type int",
        ),
        (
            r#"["T","a1"]"#,
            "failed to unmarshal JSON: json: cannot unmarshal array into Go value of type \
             chaincode.assetTransientInput",
        ),
    ];
    for (input, message) in cases {
        assert_err(
            submit_as(&mut ctx, &org1, &["CreateAsset"], &[("asset_properties", input)]),
            400,
            message,
        );
    }
    let err = submit_as(
        &mut ctx,
        &org1,
        &["CreateAsset"],
        &[("asset_properties", "{not json")],
    )
    .expect_err("not JSON");
    assert_eq!(err.status(), 400);
    assert!(err.message().starts_with("failed to unmarshal JSON: "), "{err}");
    assert_eq!(ctx.height(), 0, "no bad input committed anything");
}

#[test]
fn create_accepts_what_go_accepts_case_insensitive_keys_and_extra_fields() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    let props = r#"{"ObjectType":"ValuableAsset","ASSETID":"asset1","Color":"green","size":20,
        "appraisedvalue":100,"comment":"ignored"}"#;
    submit_as(
        &mut ctx,
        &org1,
        &["createAsset", "extra argument"],
        &[("asset_properties", props)],
    )
    .expect("create");
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1))
    );
    assert_eq!(
        private(&ctx, ORG1_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#),
        "stored in canonical Go form, whatever the input's shape"
    );
}

#[test]
fn create_refuses_an_existing_asset_and_changes_nothing() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let height = ctx.height();
    let props = asset_properties("asset1", "red", 5, 999);
    assert_err(
        submit_as(&mut ctx, &org1, &["CreateAsset"], &[("asset_properties", &props)]),
        409,
        "this asset already exists: asset1",
    );
    assert_eq!(ctx.height(), height);
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1))
    );
    assert_eq!(
        private(&ctx, ORG1_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#)
    );
}

#[test]
fn a_client_of_another_org_is_refused_on_this_peer() {
    // Fabric's verifyClientOrgMatchesPeerOrg: an Org2 client talking to an Org1 peer.
    let org2 = org2_user();
    let mut ctx = peer_of(ORG1, org2.clone());
    let props = asset_properties("asset1", "green", 20, 100);
    assert_err_contains(
        submit_on_this_peer(&mut ctx, &org2, &["CreateAsset"], &[("asset_properties", &props)]),
        403,
        &[
            "CreateAsset cannot be performed: Error client from org Org2MSP is not authorized to read or write \
             private data from this peer: ",
            "not a member of collection Org2MSPPrivateCollection",
        ],
    );
    assert_eq!(ctx.height(), 0);
    assert_eq!(private(&ctx, ASSETS, "asset1"), None);
    assert_eq!(private(&ctx, ORG2_PRIVATE, "asset1"), None);
}

#[test]
fn an_org_without_a_private_collection_cannot_create() {
    let org3 = synthetic_caller("Org3MSP", Role::Client, "Synthetic User 0003");
    let mut ctx = peer_of(ORG1, org3.clone());
    let props = asset_properties("asset1", "green", 20, 100);
    assert_err_contains(
        submit_on_this_peer(&mut ctx, &org3, &["CreateAsset"], &[("asset_properties", &props)]),
        403,
        &[
            "client from org Org3MSP",
            "Org3MSPPrivateCollection is not defined",
        ],
    );
    assert_eq!(private(&ctx, ASSETS, "asset1"), None);
}

#[test]
fn a_peer_outside_the_asset_collection_cannot_create() {
    let org1 = org1_user();
    let mut ctx = MockContext::new()
        .with_collection(ASSETS, false)
        .with_collection(ORG1_PRIVATE, true)
        .with_collection(ORG2_PRIVATE, false)
        .with_caller(org1)
        .with_transient(
            "asset_properties",
            asset_properties("asset1", "green", 20, 100).as_bytes(),
        );
    let err = ctx
        .submit(&PrivateContract, &["CreateAsset"])
        .expect_err("not a member");
    assert_eq!(err.status(), 403);
    assert!(
        err.message().starts_with("failed to get asset: ") && err.message().contains("assetCollection"),
        "{err}"
    );
    assert_eq!(ctx.height(), 0);
}
