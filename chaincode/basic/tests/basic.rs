//! asset-transfer-basic behaves like Fabric's Go sample: payload bytes, error wording, argument handling, and
//! the read/write sets that decide MVCC conflicts. All data is the sample's synthetic demo data.

use chaincode_api::testing::MockContext;
use chaincode_api::{ContractError, create_composite_key};
use chaincode_basic::{BasicContract, FUNCTIONS};

const ASSET1: &str = r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#;

fn initialised() -> MockContext {
    let mut ctx = MockContext::new();
    let payload = ctx.submit(&BasicContract, &["InitLedger"]).expect("InitLedger");
    assert!(payload.is_empty());
    ctx
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf8 payload")
}

fn submit(ctx: &mut MockContext, args: &[&str]) -> Result<String, ContractError> {
    ctx.submit(&BasicContract, args).map(text)
}

fn assert_err(result: Result<String, ContractError>, status: i32, message: &str) {
    let err = result.expect_err("expected an error");
    assert_eq!((err.status(), err.message()), (status, message));
}

#[test]
fn init_ledger_writes_the_six_sample_assets() {
    let mut ctx = initialised();
    assert_eq!(
        ctx.keys(),
        ["asset1", "asset2", "asset3", "asset4", "asset5", "asset6"]
    );
    assert_eq!(ctx.state("asset1"), Some(ASSET1.as_bytes()));
    let all = submit(&mut ctx, &["GetAllAssets"]).expect("GetAllAssets");
    assert_eq!(
        all,
        concat!(
            r#"[{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5},"#,
            r#"{"AppraisedValue":400,"Color":"red","ID":"asset2","Owner":"Brad","Size":5},"#,
            r#"{"AppraisedValue":500,"Color":"green","ID":"asset3","Owner":"Jin Soo","Size":10},"#,
            r#"{"AppraisedValue":600,"Color":"yellow","ID":"asset4","Owner":"Max","Size":10},"#,
            r#"{"AppraisedValue":700,"Color":"black","ID":"asset5","Owner":"Adriana","Size":15},"#,
            r#"{"AppraisedValue":800,"Color":"white","ID":"asset6","Owner":"Michel","Size":15}]"#
        )
    );
}

#[test]
fn read_asset_returns_go_encoded_json() {
    let mut ctx = initialised();
    assert_eq!(submit(&mut ctx, &["ReadAsset", "asset1"]).expect("read"), ASSET1);
    assert_err(
        submit(&mut ctx, &["ReadAsset", "asset9"]),
        404,
        "the asset asset9 does not exist",
    );
}

#[test]
fn create_asset_then_read_it_back() {
    let mut ctx = initialised();
    let payload = submit(
        &mut ctx,
        &[
            "CreateAsset",
            "asset7",
            "purple",
            "20",
            "Synthetic Owner 7",
            "1300",
        ],
    );
    assert_eq!(payload.expect("create"), "");
    assert_eq!(
        ctx.reads().get("asset7"),
        Some(&None),
        "existence check is a recorded read"
    );
    assert_eq!(
        submit(&mut ctx, &["ReadAsset", "asset7"]).expect("read"),
        r#"{"AppraisedValue":1300,"Color":"purple","ID":"asset7","Owner":"Synthetic Owner 7","Size":20}"#
    );
}

#[test]
fn create_existing_asset_is_refused_and_writes_nothing() {
    let mut ctx = initialised();
    let height = ctx.height();
    assert_err(
        submit(&mut ctx, &["CreateAsset", "asset1", "pink", "1", "Someone", "1"]),
        409,
        "the asset asset1 already exists",
    );
    assert!(ctx.writes().is_empty());
    assert_eq!(ctx.height(), height);
    assert_eq!(ctx.state("asset1"), Some(ASSET1.as_bytes()));
}

#[test]
fn update_asset_overwrites_only_existing_assets() {
    let mut ctx = initialised();
    submit(&mut ctx, &["UpdateAsset", "asset1", "blue", "5", "Tomoko", "350"]).expect("update");
    assert_eq!(
        submit(&mut ctx, &["ReadAsset", "asset1"]).expect("read"),
        r#"{"AppraisedValue":350,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#
    );
    assert_err(
        submit(
            &mut ctx,
            &["UpdateAsset", "asset70", "blue", "5", "Tomas", "1300"],
        ),
        404,
        "the asset asset70 does not exist",
    );
    assert_eq!(ctx.state("asset70"), None);
}

#[test]
fn delete_asset_removes_only_existing_assets() {
    let mut ctx = initialised();
    assert_eq!(submit(&mut ctx, &["DeleteAsset", "asset2"]).expect("delete"), "");
    assert_eq!(ctx.writes().get("asset2"), Some(&None));
    assert_eq!(ctx.state("asset2"), None);
    assert_err(
        submit(&mut ctx, &["DeleteAsset", "asset2"]),
        404,
        "the asset asset2 does not exist",
    );
}

#[test]
fn asset_exists_returns_json_booleans() {
    let mut ctx = initialised();
    assert_eq!(
        submit(&mut ctx, &["AssetExists", "asset3"]).expect("exists"),
        "true"
    );
    assert_eq!(
        submit(&mut ctx, &["AssetExists", "asset99"]).expect("exists"),
        "false"
    );
}

#[test]
fn transfer_asset_returns_the_old_owner_as_plain_text() {
    let mut ctx = initialised();
    assert_eq!(
        submit(&mut ctx, &["TransferAsset", "asset1", "Synthetic Buyer"]).expect("transfer"),
        "Tomoko"
    );
    assert_eq!(
        submit(&mut ctx, &["ReadAsset", "asset1"]).expect("read"),
        r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Synthetic Buyer","Size":5}"#
    );
    let history = {
        use chaincode_api::Context;
        ctx.get_history_for_key("asset1").expect("history")
    };
    assert_eq!(history.len(), 2, "InitLedger and the transfer");
    assert_err(
        submit(&mut ctx, &["TransferAsset", "asset9", "X"]),
        404,
        "the asset asset9 does not exist",
    );
}

#[test]
fn get_all_assets_is_ordered_by_key_bytes_and_skips_composite_keys() {
    let index = create_composite_key("color~id", &["blue", "asset1"]).expect("composite key");
    let mut ctx = MockContext::new().with_state(&index, b"\x00");
    assert_eq!(submit(&mut ctx, &["GetAllAssets"]).expect("empty"), "[]");
    for id in ["b", "asset10", "a", "asset2"] {
        submit(&mut ctx, &["CreateAsset", id, "c", "1", "o", "2"]).expect("create");
    }
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&submit(&mut ctx, &["GetAllAssets"]).expect("all")).expect("JSON array");
    let ids: Vec<&str> = all.iter().filter_map(|a| a["ID"].as_str()).collect();
    assert_eq!(ids, ["a", "asset10", "asset2", "b"]);
    let range = &ctx.range_reads()[0];
    assert_eq!(
        (range.start.as_str(), range.end.as_str(), range.exhausted),
        ("\u{1}", "", true)
    );
}

#[test]
fn missing_arguments_use_go_contract_api_wording() {
    let mut ctx = initialised();
    assert_err(
        submit(&mut ctx, &["CreateAsset", "asset7", "purple", "20", "Owner"]),
        400,
        "incorrect number of params. Expected 5, received 4",
    );
    assert_err(
        submit(&mut ctx, &["ReadAsset"]),
        400,
        "incorrect number of params. Expected 1, received 0",
    );
    assert_err(
        submit(&mut ctx, &["TransferAsset", "asset1"]),
        400,
        "incorrect number of params. Expected 2, received 1",
    );
    // Go's contract API ignores extra arguments.
    assert_eq!(
        submit(&mut ctx, &["ReadAsset", "asset1", "extra"]).expect("read"),
        ASSET1
    );
}

#[test]
fn integer_arguments_use_go_conversion_rules() {
    let mut ctx = initialised();
    assert_err(
        submit(
            &mut ctx,
            &["CreateAsset", "asset7", "purple", "big", "Owner", "10"],
        ),
        400,
        "error managing parameter param2. conversion error. cannot convert passed value big to int",
    );
    assert_err(
        submit(&mut ctx, &["UpdateAsset", "asset1", "blue", "5", "Tomoko", "3.5"]),
        400,
        "error managing parameter param4. conversion error. cannot convert passed value 3.5 to int",
    );
    assert_eq!(ctx.state("asset7"), None);
    submit(&mut ctx, &["CreateAsset", "asset8", "grey", "", "Owner", "-5"]).expect("empty int is 0");
    assert_eq!(
        submit(&mut ctx, &["ReadAsset", "asset8"]).expect("read"),
        r#"{"AppraisedValue":-5,"Color":"grey","ID":"asset8","Owner":"Owner","Size":0}"#
    );
}

#[test]
fn function_names_and_contract_prefixes_follow_go_contract_api() {
    let mut ctx = initialised();
    assert_eq!(
        submit(&mut ctx, &["readAsset", "asset1"]).expect("lower-case first letter"),
        ASSET1
    );
    assert_eq!(
        submit(&mut ctx, &["SmartContract:ReadAsset", "asset1"]).expect("prefixed"),
        ASSET1
    );
    let err = submit(&mut ctx, &["Other:ReadAsset", "asset1"]).expect_err("unknown contract");
    assert_eq!(err.status(), 400);
    assert!(
        err.message().starts_with("Contract not found with name Other"),
        "{err}"
    );

    let err = submit(&mut ctx, &["MintAsset", "asset1"]).expect_err("unknown function");
    assert_eq!(err.status(), 400);
    assert!(
        err.message()
            .starts_with("Function MintAsset not found in contract basic"),
        "{err}"
    );
    for function in FUNCTIONS {
        assert!(err.message().contains(function), "{err} should list {function}");
    }
}

#[test]
fn bad_ids_are_rejected_without_writing() {
    let mut ctx = initialised();
    let height = ctx.height();
    assert_err(
        submit(&mut ctx, &["CreateAsset", "", "c", "1", "o", "1"]),
        400,
        "key must not be an empty string",
    );
    let args = vec![
        b"CreateAsset".to_vec(),
        vec![0xff],
        b"c".to_vec(),
        b"1".to_vec(),
        b"o".to_vec(),
        b"1".to_vec(),
    ];
    let err = ctx.submit(&BasicContract, &args).expect_err("non-UTF-8 id");
    assert_eq!(err.status(), 400);
    assert_eq!(ctx.height(), height);
}

#[test]
fn malformed_stored_assets_are_internal_errors() {
    let mut ctx = MockContext::new().with_state("broken", b"{not json");
    let err = submit(&mut ctx, &["ReadAsset", "broken"]).expect_err("malformed");
    assert_eq!(err.status(), 500);
    assert!(
        err.message()
            .starts_with("the value of broken is not a valid asset"),
        "{err}"
    );
    assert_eq!(
        submit(&mut ctx, &["GetAllAssets"])
            .expect_err("malformed")
            .status(),
        500
    );
}

#[test]
fn writes_emit_events_named_after_the_function_with_the_asset_json() {
    let mut ctx = initialised();
    submit(
        &mut ctx,
        &["CreateAsset", "asset9", "green", "3", "Synthetic Owner", "90"],
    )
    .unwrap();
    let ev = ctx.event().expect("CreateAsset emits an event");
    assert_eq!(ev.name, "CreateAsset");
    assert_eq!(
        text(ev.payload.clone()),
        r#"{"AppraisedValue":90,"Color":"green","ID":"asset9","Owner":"Synthetic Owner","Size":3}"#
    );
    submit(&mut ctx, &["TransferAsset", "asset9", "Someone Else"]).unwrap();
    assert_eq!(ctx.event().unwrap().name, "TransferAsset");
    submit(&mut ctx, &["DeleteAsset", "asset9"]).unwrap();
    assert_eq!(ctx.event().unwrap().name, "DeleteAsset");
    assert!(submit(&mut ctx, &["ReadAsset", "asset1"]).is_ok());
    assert!(ctx.event().is_none(), "reads emit nothing");
}

#[test]
fn asset_history_lists_every_committed_version_newest_first() {
    let mut ctx = initialised();
    submit(&mut ctx, &["TransferAsset", "asset1", "Second Owner"]).unwrap();
    submit(&mut ctx, &["DeleteAsset", "asset1"]).unwrap();
    let h: serde_json::Value =
        serde_json::from_str(&submit(&mut ctx, &["GetAssetHistory", "asset1"]).unwrap()).unwrap();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!(h[0]["isDelete"], true);
    assert!(h[0]["record"].is_null());
    assert_eq!(h[1]["record"]["Owner"], "Second Owner");
    assert_eq!(h[2]["record"]["Owner"], "Tomoko");
    assert!(
        h.iter()
            .all(|e| e["txId"].as_str().is_some_and(|t| !t.is_empty()))
    );
}
