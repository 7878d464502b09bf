//! The transfer protocol, run the way Fabric's sample application runs it: Org1 creates, Org2 agrees on its
//! own peer, Org1 transfers on its own peer using only the hash of Org2's agreed value. Also covers the
//! checks that stop a transfer, and withdrawing an agreement. All identities and assets are synthetic.

mod common;

use chaincode_api::Role;
use chaincode_api::testing::synthetic_caller;
use common::*;

/// The sample application's `main()`, step by step (`application-gateway-typescript/src/app.ts`).
#[test]
fn the_sample_application_flow_runs_unmodified() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    create(&mut ctx, &org1, "asset2", "blue", 35, 727);

    let range = evaluate_as(&mut ctx, &org1, &["GetAssetByRange", "asset1", "asset3"]).expect("range");
    assert_eq!(
        range,
        format!(
            "[{},{}]",
            asset_json("asset1", "green", 20, &org1),
            asset_json("asset2", "blue", 35, &org1)
        )
    );

    // "Attempt TransferAsset without prior AgreeToTransfer": expected to fail.
    assert_err(
        transfer(&mut ctx, &org1, "asset1", ORG2),
        404,
        "failed transfer verification: hash of appraised value for asset1 does not exist in collection \
         Org2MSPPrivateCollection. AgreeToTransfer must be called by the buyer first",
    );

    // As Org2: read the asset, then agree to its value.
    let read = evaluate_as(&mut ctx, &org2, &["ReadAsset", "asset1"]).expect("read");
    assert_eq!(read, asset_json("asset1", "green", 20, &org1));
    assert_eq!(agree(&mut ctx, &org2, "asset1", 100).expect("agree"), "");
    assert_eq!(
        private(&ctx, ORG2_PRIVATE, "asset1").as_deref(),
        Some(r#"{"assetID":"asset1","appraisedValue":100}"#)
    );

    // As Org1: read the agreement, transfer, read the asset again.
    let agreement = evaluate_as(&mut ctx, &org1, &["ReadTransferAgreement", "asset1"]).expect("agreement");
    assert_eq!(
        agreement,
        format!(r#"{{"assetID":"asset1","buyerID":"{}"}}"#, org2.id)
    );
    assert_eq!(transfer(&mut ctx, &org1, "asset1", ORG2).expect("transfer"), "");
    let read = evaluate_as(&mut ctx, &org1, &["ReadAsset", "asset1"]).expect("read");
    assert_eq!(
        read,
        asset_json("asset1", "green", 20, &org2),
        "the buyer now owns it"
    );

    // The transfer removed Org1's private details (empty payload, which the app treats as "no result").
    let org1_details = evaluate_as(
        &mut ctx,
        &org1,
        &["ReadAssetPrivateDetails", ORG1_PRIVATE, "asset1"],
    )
    .expect("read");
    assert_eq!(org1_details, "");
    assert_eq!(
        private(&ctx, ASSETS, &agreement_key("asset1")),
        None,
        "agreement consumed"
    );

    // As Org2: the new owner's org holds the private details.
    let org2_details = evaluate_as(
        &mut ctx,
        &org2,
        &["ReadAssetPrivateDetails", ORG2_PRIVATE, "asset1"],
    )
    .expect("read");
    assert_eq!(org2_details, r#"{"assetID":"asset1","appraisedValue":100}"#);

    // "Attempt DeleteAsset using non-owner organization": expected to fail.
    assert_err(
        by_id(&mut ctx, &org2, "DeleteAsset", "asset_delete", "asset2"),
        403,
        "asset not found in owner's private Collection Org2MSPPrivateCollection: asset2",
    );

    // As Org1: delete asset2, then purge it.
    by_id(&mut ctx, &org1, "DeleteAsset", "asset_delete", "asset2").expect("delete");
    assert_eq!(private(&ctx, ASSETS, "asset2"), None);
    assert_eq!(private(&ctx, ORG1_PRIVATE, "asset2"), None);
    by_id(&mut ctx, &org1, "PurgeAsset", "asset_purge", "asset2").expect("purge");
    assert_eq!(
        ctx.purged(),
        [
            (ASSETS.to_string(), "asset2".to_string()),
            (ORG1_PRIVATE.to_string(), "asset2".to_string())
        ]
    );
    assert_public_state_empty(&ctx);
}

#[test]
fn transfer_needs_the_buyer_to_agree_to_the_same_value() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    agree(&mut ctx, &org2, "asset1", 99).expect("agree to a lower value");
    let height = ctx.height();
    assert_err_contains(
        transfer(&mut ctx, &org1, "asset1", ORG2),
        409,
        &[
            "failed transfer verification: hash for appraised value for owner ",
            " does not value for seller ",
        ],
    );
    assert_eq!(ctx.height(), height);
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1))
    );
    assert!(private(&ctx, ORG1_PRIVATE, "asset1").is_some());
}

#[test]
fn the_agreed_bytes_must_equal_the_owners_not_just_the_value() {
    // Only hashes are compared, as in Fabric: the same value in another key order is a different agreement.
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let reordered = r#"{"appraisedValue":100,"assetID":"asset1"}"#;
    submit_as(
        &mut ctx,
        &org2,
        &["AgreeToTransfer"],
        &[("asset_value", reordered)],
    )
    .expect("agree");
    assert_eq!(
        private(&ctx, ORG2_PRIVATE, "asset1").as_deref(),
        Some(reordered),
        "stored as sent"
    );
    assert_err_contains(
        transfer(&mut ctx, &org1, "asset1", ORG2),
        409,
        &["does not value for seller"],
    );
}

#[test]
fn only_the_owner_can_transfer() {
    let (org1, org2) = (org1_user(), org2_user());
    let colleague = synthetic_caller(ORG1, Role::Client, "Synthetic User 0003");
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    agree(&mut ctx, &org2, "asset1", 100).expect("agree");
    assert_err(
        transfer(&mut ctx, &colleague, "asset1", ORG2),
        403,
        "failed transfer verification: error: submitting client identity does not own asset",
    );
    assert_err_contains(
        transfer(&mut ctx, &org2, "asset1", ORG2),
        403,
        &["does not own asset"],
    );
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1))
    );
}

#[test]
fn transfer_input_is_required_and_validated() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    assert_err(
        submit_as(&mut ctx, &org1, &["TransferAsset"], &[]),
        400,
        "asset owner not found in the transient map",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org1,
            &["TransferAsset"],
            &[("asset_owner", r#"{"buyerMSP":"Org2MSP"}"#)],
        ),
        400,
        "assetID field must be a non-empty string",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org1,
            &["TransferAsset"],
            &[("asset_owner", r#"{"assetID":"asset1"}"#)],
        ),
        400,
        "buyerMSP field must be a non-empty string",
    );
    assert_err(
        transfer(&mut ctx, &org1, "asset9", ORG2),
        404,
        "asset9 does not exist",
    );
    assert_err_contains(
        transfer(&mut ctx, &org1, "asset1", "Org3MSP"),
        400,
        &[
            "failed transfer verification: failed to get hash of appraised value from buyer collection \
             Org3MSPPrivateCollection: ",
            "not defined",
        ],
    );
}

#[test]
fn agree_requires_input_an_existing_asset_and_the_buyers_own_peer() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let height = ctx.height();
    assert_err(
        submit_as(&mut ctx, &org2, &["AgreeToTransfer"], &[]),
        400,
        "asset_value key not found in the transient map",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org2,
            &["AgreeToTransfer"],
            &[("asset_value", r#"{"appraisedValue":100}"#)],
        ),
        400,
        "assetID field must be a non-empty string",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org2,
            &["AgreeToTransfer"],
            &[("asset_value", r#"{"assetID":"asset1"}"#)],
        ),
        400,
        "appraisedValue field must be a positive integer",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org2,
            &["AgreeToTransfer"],
            &[("asset_value", r#"{"assetID":1}"#)],
        ),
        400,
        "failed to unmarshal JSON: json: cannot unmarshal number into Go struct field \
         AssetPrivateDetails.assetID of type string",
    );
    assert_err(
        agree(&mut ctx, &org2, "asset9", 100),
        404,
        "asset9 does not exist",
    );

    // Org2's client sending its agreement to an Org1 peer is refused.
    on_peer(&mut ctx, ORG1);
    let json = r#"{"assetID":"asset1","appraisedValue":100}"#;
    assert_err_contains(
        submit_on_this_peer(&mut ctx, &org2, &["AgreeToTransfer"], &[("asset_value", json)]),
        403,
        &["AgreeToTransfer cannot be performed: Error client from org Org2MSP"],
    );
    assert_eq!(ctx.height(), height);
    assert_eq!(private(&ctx, ORG2_PRIVATE, "asset1"), None);
    assert_eq!(private(&ctx, ASSETS, &agreement_key("asset1")), None);
}

#[test]
fn a_later_agreement_replaces_an_earlier_one() {
    let (org1, org2) = (org1_user(), org2_user());
    let other_buyer = synthetic_caller(ORG2, Role::Client, "Synthetic User 0004");
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    agree(&mut ctx, &org2, "asset1", 100).expect("agree");
    agree(&mut ctx, &other_buyer, "asset1", 100).expect("agree again");
    transfer(&mut ctx, &org1, "asset1", ORG2).expect("transfer");
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &other_buyer))
    );
}

#[test]
fn delete_transfer_agreement_withdraws_the_buyers_value_and_record() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    assert_err(
        by_id(
            &mut ctx,
            &org2,
            "DeleteTranferAgreement",
            "asset_delete",
            "asset1",
        ),
        400,
        "asset to delete not found in the transient map",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org2,
            &["DeleteTranferAgreement"],
            &[("agreement_delete", "{}")],
        ),
        400,
        "transient input ID field must be a non-empty string",
    );
    assert_err(
        by_id(
            &mut ctx,
            &org2,
            "DeleteTranferAgreement",
            "agreement_delete",
            "asset1",
        ),
        404,
        "asset's transfer_agreement does not exist: asset1",
    );

    agree(&mut ctx, &org2, "asset1", 100).expect("agree");
    let payload = by_id(
        &mut ctx,
        &org2,
        "DeleteTranferAgreement",
        "agreement_delete",
        "asset1",
    );
    assert_eq!(payload.expect("withdraw"), "");
    assert_eq!(private(&ctx, ORG2_PRIVATE, "asset1"), None);
    assert_eq!(private(&ctx, ASSETS, &agreement_key("asset1")), None);
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadTransferAgreement", "asset1"]).expect("read"),
        ""
    );
    assert_err_contains(
        transfer(&mut ctx, &org1, "asset1", ORG2),
        404,
        &["AgreeToTransfer must be called"],
    );
    assert_eq!(
        private(&ctx, ASSETS, "asset1"),
        Some(asset_json("asset1", "green", 20, &org1))
    );
    assert_public_state_empty(&ctx);
}
