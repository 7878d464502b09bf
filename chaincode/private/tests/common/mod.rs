//! Shared fixtures: the sample's two orgs, peers modelled by collection membership, and helpers for
//! submitting with transient input. All identities and assets are synthetic.
//!
//! One `MockContext` models the channel's committed state. Which peer endorses is modelled by which
//! collections the mock is a member of. A real Org1 peer holds plaintext for `assetCollection` and
//! `Org1MSPPrivateCollection`, but only hashes for `Org2MSPPrivateCollection`. [`on_peer`] switches the
//! mock to that view before a step, so a multi-org flow runs each transaction on the org's own peer, as the
//! sample application does.

#![allow(dead_code)]

use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_api::{Caller, ContractError, Role};
use chaincode_private::PrivateContract;

pub const ORG1: &str = "Org1MSP";
pub const ORG2: &str = "Org2MSP";
pub const ASSETS: &str = "assetCollection";
pub const ORG1_PRIVATE: &str = "Org1MSPPrivateCollection";
pub const ORG2_PRIVATE: &str = "Org2MSPPrivateCollection";

/// The Org1 client that creates assets in the sample application.
pub fn org1_user() -> Caller {
    synthetic_caller(ORG1, Role::Client, "Synthetic User 0001")
}

/// The Org2 client that buys in the sample application.
pub fn org2_user() -> Caller {
    synthetic_caller(ORG2, Role::Client, "Synthetic User 0002")
}

/// A state with the sample's collections, seen from a peer of `org`, with `caller` submitting.
pub fn peer_of(org: &str, caller: Caller) -> MockContext {
    let mut ctx = MockContext::new();
    on_peer(&mut ctx, org);
    ctx.set_caller(caller);
    ctx
}

/// Makes the mock a peer of `org`: a member of `assetCollection` and of that org's collection only.
pub fn on_peer(ctx: &mut MockContext, org: &str) {
    *ctx = std::mem::take(ctx)
        .with_collection(ASSETS, true)
        .with_collection(ORG1_PRIVATE, org == ORG1)
        .with_collection(ORG2_PRIVATE, org == ORG2);
}

/// Runs `args` as `caller` on a peer of `caller`'s org, with the given transient fields; commits on success.
pub fn submit_as(
    ctx: &mut MockContext,
    caller: &Caller,
    args: &[&str],
    transient: &[(&str, &str)],
) -> Result<String, ContractError> {
    on_peer(ctx, &caller.msp_id);
    submit_on_this_peer(ctx, caller, args, transient)
}

/// Runs `args` as `caller` without changing which peer the mock is.
pub fn submit_on_this_peer(
    ctx: &mut MockContext,
    caller: &Caller,
    args: &[&str],
    transient: &[(&str, &str)],
) -> Result<String, ContractError> {
    ctx.set_caller(caller.clone());
    for (name, value) in transient {
        ctx.set_transient(name, value.as_bytes());
    }
    ctx.submit(&PrivateContract, args).map(text)
}

/// Evaluates `args` as `caller` on a peer of `caller`'s org (never commits).
pub fn evaluate_as(ctx: &mut MockContext, caller: &Caller, args: &[&str]) -> Result<String, ContractError> {
    on_peer(ctx, &caller.msp_id);
    ctx.set_caller(caller.clone());
    ctx.evaluate(&PrivateContract, args).map(text)
}

pub fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf8 payload")
}

/// The sample application's `asset_properties` for an asset.
pub fn asset_properties(id: &str, color: &str, size: i64, value: i64) -> String {
    format!(
        r#"{{"objectType":"ValuableAsset","assetID":"{id}","color":"{color}","size":{size},"appraisedValue":{value}}}"#
    )
}

/// Creates `id` as `caller` with the sample application's input.
pub fn create(ctx: &mut MockContext, caller: &Caller, id: &str, color: &str, size: i64, value: i64) {
    let props = asset_properties(id, color, size, value);
    submit_as(ctx, caller, &["CreateAsset"], &[("asset_properties", &props)]).expect("CreateAsset");
}

/// `AgreeToTransfer` with the bytes the sample application sends.
pub fn agree(ctx: &mut MockContext, caller: &Caller, id: &str, value: i64) -> Result<String, ContractError> {
    let json = format!(r#"{{"assetID":"{id}","appraisedValue":{value}}}"#);
    submit_as(ctx, caller, &["AgreeToTransfer"], &[("asset_value", &json)])
}

/// `TransferAsset` to `buyer_msp`.
pub fn transfer(
    ctx: &mut MockContext,
    caller: &Caller,
    id: &str,
    buyer_msp: &str,
) -> Result<String, ContractError> {
    let json = format!(r#"{{"assetID":"{id}","buyerMSP":"{buyer_msp}"}}"#);
    submit_as(ctx, caller, &["TransferAsset"], &[("asset_owner", &json)])
}

/// A transient `{"assetID": id}` under `field` for `function`.
pub fn by_id(
    ctx: &mut MockContext,
    caller: &Caller,
    function: &str,
    field: &str,
    id: &str,
) -> Result<String, ContractError> {
    let json = format!(r#"{{"assetID":"{id}"}}"#);
    submit_as(ctx, caller, &[function], &[(field, &json)])
}

/// The stored asset JSON of `id` owned by `owner`, as Go's json.Marshal writes it.
pub fn asset_json(id: &str, color: &str, size: i64, owner: &Caller) -> String {
    format!(
        r#"{{"objectType":"ValuableAsset","assetID":"{id}","color":"{color}","size":{size},"owner":"{}"}}"#,
        owner.id
    )
}

pub fn private(ctx: &MockContext, collection: &str, key: &str) -> Option<String> {
    ctx.private_state(collection, key)
        .map(|v| String::from_utf8(v.to_vec()).expect("utf8 private value"))
}

pub fn agreement_key(id: &str) -> String {
    format!("\u{0}transferAgreement\u{0}{id}\u{0}")
}

/// Asserts status and the exact message.
pub fn assert_err(result: Result<String, ContractError>, status: i32, message: &str) {
    let err = result.expect_err("expected an error");
    assert_eq!((err.status(), err.message()), (status, message));
}

/// Asserts status and that the message contains every part.
pub fn assert_err_contains(result: Result<String, ContractError>, status: i32, parts: &[&str]) {
    let err = result.expect_err("expected an error");
    assert_eq!(err.status(), status, "{err:?}");
    for part in parts {
        assert!(err.message().contains(part), "{:?} lacks {part:?}", err.message());
    }
}

/// Nothing, not even a key, was ever written to public state, and no event carried anything.
pub fn assert_public_state_empty(ctx: &MockContext) {
    assert!(ctx.keys().is_empty(), "public state: {:?}", ctx.keys());
    assert!(ctx.writes().is_empty(), "public writes: {:?}", ctx.writes());
    assert!(ctx.event().is_none(), "event: {:?}", ctx.event());
}
