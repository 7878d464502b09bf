//! Prices stay between the two trading orgs (issue 11): a manufacturer ships a pack to a distributor with a
//! trade document (price) in transient data; the document lands only in their pair's collection
//! `trade_DistributorMSP_ManufacturerMSP`.
//!
//! Shown on a real four-org supply network: only the pair's peers endorse the shipment; both parties read
//! the document; a third org (HospitalB) sees the public custody record with the trade reference and the
//! collection name but no price, finds no document whichever peer it asks, and gets no private data from
//! DeliverWithPrivateData even from a member peer; the block itself carries only hashes; and a peer
//! outside the pair (HospitalA's) never received the plaintext. All data is synthetic.

#![allow(clippy::unwrap_used)]

mod supply_net;

use std::collections::BTreeMap;

use carechain_tests::probe::{endorser_msps, tx_ids};
use chaincode_supply::story;
use prost::Message;
use supply_net::*;

/// A price that appears nowhere else.
const PRICE: &str = "4321.09";
const REF: &str = "PO-SYN-PRIV-0001";
const PAIR: &str = "trade_DistributorMSP_ManufacturerMSP";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trade_document_is_readable_by_the_trading_pair_only() {
    let net = start().await;
    let expiry = story::expiry_after(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    for step in story::drug_story(&orgs(), &expiry).iter().take(2) {
        assert!(
            matches!(play(&net, step).await, Outcome::Committed(..)),
            "{}",
            step.title
        );
    }
    let manufacturer = net.gateway(MANUFACTURER, "User1").await.unwrap();
    let plant = story::gln(1);
    let serials = r#"["SYN0000001","SYN0000002"]"#;
    submit(
        &net,
        &manufacturer,
        &[
            "CommissionPacks",
            &story::gtin(),
            "SYNLOT-001",
            &expiry,
            serials,
            &plant,
        ],
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    let pack = story::pack(1);
    let doc = format!(r#"{{"unitPrice":"{PRICE}","currency":"USD","quantity":1,"invoice":"SYN-INV-77"}}"#);
    let ship = submit(
        &net,
        &manufacturer,
        &["Ship", &pack, "DistributorMSP", REF, &plant],
        &BTreeMap::from([("trade".to_string(), doc.into_bytes())]),
    )
    .await
    .unwrap();

    // Only the pair endorsed: the gateway sends a private write to collection members only.
    let block = net
        .deliver(HOSPITAL_B, ship.block, ship.block)
        .await
        .unwrap()
        .remove(0);
    let i = tx_ids(&block).iter().position(|t| *t == ship.tx_id).unwrap();
    let mut endorsers = endorser_msps(&block)[i].clone();
    endorsers.sort();
    assert_eq!(endorsers, ["DistributorMSP", "ManufacturerMSP"]);
    // The block every org receives carries the document's hash, not the document.
    assert!(
        !contains(&block.encode_to_vec(), PRICE),
        "the block leaks the price"
    );

    // Both parties read it, each through its own peer.
    let distributor = net.gateway(DISTRIBUTOR, "User1").await.unwrap();
    for (gw, counterparty) in [
        (&distributor, "ManufacturerMSP"),
        (&manufacturer, "DistributorMSP"),
    ] {
        let docs = query(gw, &["GetTrade", REF, counterparty]).await.unwrap();
        assert_eq!(docs[0]["document"]["unitPrice"], PRICE);
        assert_eq!(docs[0]["from"], "ManufacturerMSP");
    }

    // The third org sees the public custody record: reference and collection name, no price.
    let third = net.gateway(HOSPITAL_B, "User1").await.unwrap();
    let verdict = query(&third, &["Verify", &pack]).await.unwrap();
    assert_eq!(verdict["transfer"]["tradeDocRef"], REF);
    assert_eq!(verdict["transfer"]["tradeCollection"], PAIR);
    assert!(!verdict.to_string().contains(PRICE));
    // It finds no document, through its own peer or a member's: the contract opens only the caller's pair.
    let third_via_member = net
        .gateway_as(DISTRIBUTOR, net.user(HOSPITAL_B, "User1").unwrap())
        .await
        .unwrap();
    let no_doc = format!("404, no trade document {REF} in collection");
    let cases = [
        (
            &third,
            "its own peer",
            "ManufacturerMSP",
            [no_doc.as_str(), "trade_HospitalBMSP_ManufacturerMSP"],
        ),
        (
            &third,
            "its own peer",
            "DistributorMSP",
            [no_doc.as_str(), "trade_DistributorMSP_HospitalBMSP"],
        ),
        (
            &third_via_member,
            "the distributor's peer",
            "ManufacturerMSP",
            [
                "403",
                "not a member of collection trade_HospitalBMSP_ManufacturerMSP",
            ],
        ),
        (
            &third_via_member,
            "the distributor's peer",
            "DistributorMSP",
            [no_doc.as_str(), "trade_DistributorMSP_HospitalBMSP"],
        ),
    ];
    for (gw, via, counterparty, says) in cases {
        let text = refused(
            query(gw, &["GetTrade", REF, counterparty]).await,
            &says,
            &format!("HospitalB asks {via} for the document with {counterparty}"),
        );
        assert!(!text.contains(PRICE));
    }

    // DeliverWithPrivateData hands out the plaintext to the pair only, and only members hold it.
    let who = |org: usize| net.user(org, "User1").unwrap();
    let cases = [
        (DISTRIBUTOR, DISTRIBUTOR, true, "the distributor from its peer"),
        (MANUFACTURER, MANUFACTURER, true, "the manufacturer from its peer"),
        (
            HOSPITAL_B,
            DISTRIBUTOR,
            false,
            "HospitalB from the distributor's peer",
        ),
        (HOSPITAL_B, HOSPITAL_B, false, "HospitalB from its own peer"),
        (
            DISTRIBUTOR,
            HOSPITAL_A,
            false,
            "the distributor from HospitalA's peer (not a member)",
        ),
    ];
    for (user_org, peer, sees, what) in cases {
        let b = block_with_private_data(&net, peer, &who(user_org), ship.block).await;
        let private: Vec<u8> = b
            .private_data_map
            .values()
            .flat_map(|p| p.encode_to_vec())
            .collect();
        assert_eq!(contains(&private, PRICE), sees, "{what}");
        assert_eq!(!b.private_data_map.is_empty(), sees, "{what}");
    }
}
