//! `DeleteAsset` and `PurgeAsset`: which records go, what input they need, who may call them on which peer.
//! All data is synthetic.

mod common;

use common::*;

#[test]
fn delete_removes_the_asset_and_the_owners_private_details() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    create(&mut ctx, &org1, "asset2", "blue", 35, 727);
    let payload = by_id(&mut ctx, &org1, "DeleteAsset", "asset_delete", "asset1");
    assert_eq!(payload.expect("delete"), "");
    assert_eq!(private(&ctx, ASSETS, "asset1"), None);
    assert_eq!(private(&ctx, ORG1_PRIVATE, "asset1"), None);
    assert!(ctx.purged().is_empty(), "a delete is not a purge");
    assert!(
        private(&ctx, ASSETS, "asset2").is_some(),
        "other assets untouched"
    );
    assert_eq!(
        evaluate_as(&mut ctx, &org1, &["ReadAsset", "asset1"]).expect("read"),
        ""
    );
    // The id is free again.
    create(&mut ctx, &org1, "asset1", "red", 1, 1);
    assert_public_state_empty(&ctx);
}

#[test]
fn delete_requires_input_an_existing_asset_and_the_callers_own_peer() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let height = ctx.height();
    assert_err(
        submit_as(&mut ctx, &org1, &["DeleteAsset", "asset1"], &[]),
        400,
        "asset to delete not found in the transient map",
    );
    assert_err(
        submit_as(
            &mut ctx,
            &org1,
            &["DeleteAsset"],
            &[("asset_delete", r#"{"assetID":""}"#)],
        ),
        400,
        "assetID field must be a non-empty string",
    );
    assert_err(
        by_id(&mut ctx, &org1, "DeleteAsset", "asset_delete", "asset9"),
        404,
        "asset not found: asset9",
    );

    on_peer(&mut ctx, ORG1);
    assert_err_contains(
        submit_on_this_peer(
            &mut ctx,
            &org2,
            &["DeleteAsset"],
            &[("asset_delete", r#"{"assetID":"asset1"}"#)],
        ),
        403,
        &["DeleteAsset cannot be performed: Error client from org Org2MSP"],
    );
    assert_eq!(ctx.height(), height);
    assert!(private(&ctx, ASSETS, "asset1").is_some());
    assert!(private(&ctx, ORG1_PRIVATE, "asset1").is_some());
}

#[test]
fn purge_removes_every_version_of_both_records() {
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    let payload = by_id(&mut ctx, &org1, "PurgeAsset", "asset_purge", "asset1");
    assert_eq!(payload.expect("purge"), "");
    assert_eq!(private(&ctx, ASSETS, "asset1"), None);
    assert_eq!(private(&ctx, ORG1_PRIVATE, "asset1"), None);
    assert_eq!(
        ctx.purged(),
        [
            (ASSETS.to_string(), "asset1".to_string()),
            (ORG1_PRIVATE.to_string(), "asset1".to_string())
        ]
    );
    assert_public_state_empty(&ctx);
}

#[test]
fn purge_needs_no_existing_asset_like_the_sample() {
    // The sample purges "irrespective of the result": the asset may have been deleted already.
    let org1 = org1_user();
    let mut ctx = peer_of(ORG1, org1.clone());
    by_id(&mut ctx, &org1, "PurgeAsset", "asset_purge", "asset9").expect("purge of an absent id");
    assert_eq!(ctx.purged().len(), 2);
}

#[test]
fn purge_requires_input_and_the_callers_own_peer() {
    let (org1, org2) = (org1_user(), org2_user());
    let mut ctx = peer_of(ORG1, org1.clone());
    create(&mut ctx, &org1, "asset1", "green", 20, 100);
    assert_err(
        by_id(&mut ctx, &org1, "PurgeAsset", "asset_delete", "asset1"),
        400,
        "asset to purge not found in the transient map",
    );
    assert_err(
        submit_as(&mut ctx, &org1, &["PurgeAsset"], &[("asset_purge", "null")]),
        400,
        "assetID field must be a non-empty string",
    );
    assert_err_contains(
        submit_as(
            &mut ctx,
            &org1,
            &["PurgeAsset"],
            &[("asset_purge", r#"{"assetID":["asset1"]}"#)],
        ),
        400,
        &["failed to unmarshal JSON: json: cannot unmarshal array into Go struct field assetPurge.assetID"],
    );
    on_peer(&mut ctx, ORG1);
    assert_err_contains(
        submit_on_this_peer(
            &mut ctx,
            &org2,
            &["PurgeAsset"],
            &[("asset_purge", r#"{"assetID":"asset1"}"#)],
        ),
        403,
        &["PurgeAsset cannot be performed: Error client from org Org2MSP"],
    );
    assert!(ctx.purged().is_empty());
    assert!(private(&ctx, ASSETS, "asset1").is_some());
}
