#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use carechain_channel::block::{new_block, set_slot};
use carechain_proto::common::{BlockMetadataIndex, ChannelHeader, Envelope, Header, HeaderType, Payload};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent,
    ProposalResponsePayload, Transaction, TransactionAction, TxValidationCode,
};
use prost::Message;
use serde_json::json;

use super::*;
use crate::safeharbor::DeidRow;

const TOKEN: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";
const OTHER: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// An endorser transaction whose chaincode action carries `event` from `chaincode`.
fn tx(n: usize, chaincode: &str, event: &str, payload: serde_json::Value) -> Bytes {
    let ev = ChaincodeEvent {
        chaincode_id: chaincode.into(),
        tx_id: format!("tx{n}"),
        event_name: event.into(),
        payload: payload.to_string().into_bytes().into(),
    };
    let action = ChaincodeAction {
        events: ev.encode_to_vec().into(),
        ..Default::default()
    };
    let prp = ProposalResponsePayload {
        proposal_hash: Bytes::new(),
        extension: action.encode_to_vec().into(),
    };
    let cap = ChaincodeActionPayload {
        chaincode_proposal_payload: Bytes::new(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: prp.encode_to_vec().into(),
            endorsements: Vec::new(),
        }),
    };
    let transaction = Transaction {
        actions: vec![TransactionAction {
            header: Bytes::new(),
            payload: cap.encode_to_vec().into(),
        }],
    };
    let ch = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        tx_id: format!("tx{n}"),
        channel_id: "care".into(),
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ch.encode_to_vec().into(),
            signature_header: Bytes::new(),
        }),
        data: transaction.encode_to_vec().into(),
    };
    Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    }
    .encode_to_vec()
    .into()
}

fn block(number: u64, txs: Vec<Bytes>, codes: &[TxValidationCode]) -> Block {
    let mut b = new_block(number, &[7; 32], txs);
    let filter: Vec<u8> = codes.iter().map(|c| *c as u8).collect();
    set_slot(&mut b, BlockMetadataIndex::TransactionsFilter, filter.into());
    b
}

fn entry(token: &str) -> serde_json::Value {
    json!({"category": "laboratory", "year": 2024, "ageBand": "90+", "sex": "female", "zip3": "000",
        "researchToken": token})
}

#[test]
fn only_valid_transactions_of_the_followed_chaincode_count() {
    use TxValidationCode::{MvccReadConflict, Valid};
    let b = block(
        5,
        vec![
            tx(0, "records", DEIDENTIFIED_ENTRY, entry(TOKEN)),
            tx(1, "records", DEIDENTIFIED_ENTRY, entry(OTHER)),
            tx(2, "other", DEIDENTIFIED_ENTRY, entry(OTHER)),
            tx(3, "records", "RecordAdded", json!({"id": "r"})),
            tx(
                4,
                "records",
                CONSENT_REVOKED,
                json!({"id": "c", "patient": "p", "status": "inactive",
                "researchToken": TOKEN}),
            ),
            tx(
                5,
                "records",
                CONSENT_REVOKED,
                json!({"id": "c2", "patient": "p", "status": "inactive"}),
            ),
        ],
        &[Valid, MvccReadConflict, Valid, Valid, Valid, Valid],
    );
    let fx = effects(&b, "records", &RestrictedZip3::hhs()).unwrap();
    assert_eq!(fx.number, 5);
    assert_eq!(fx.previous_hash, vec![7; 32]);
    assert_eq!(fx.config, None);
    assert_eq!(
        fx.ops,
        vec![
            Op::Entry(Sanitized {
                token: TOKEN.into(),
                row: DeidRow {
                    category: "laboratory".into(),
                    year: 2024,
                    age_band: "90+".into(),
                    birth_year: None,
                    sex: "female".into(),
                    zip3: "000".into(),
                },
                dropped: Vec::new(),
            }),
            Op::Revoke { token: TOKEN.into() },
        ]
    );
}

#[test]
fn unusable_entries_are_skipped_with_their_reason_and_the_rest_applies() {
    let mut bad = entry(TOKEN);
    bad["category"] = json!("Synthetic free text");
    let mut noisy = entry(OTHER);
    noisy["note"] = json!("Synthetic note");
    let b = block(
        1,
        vec![
            tx(0, "records", DEIDENTIFIED_ENTRY, bad),
            tx(1, "records", DEIDENTIFIED_ENTRY, noisy),
        ],
        &[TxValidationCode::Valid, TxValidationCode::Valid],
    );
    let fx = effects(&b, "records", &RestrictedZip3::hhs()).unwrap();
    assert_eq!(
        fx.skipped,
        vec![Skipped {
            tx: 0,
            reason: Rejected::Category
        }]
    );
    assert_eq!(fx.ops.len(), 1);
    assert_eq!(fx.dropped_fields, ["note"]);
}

#[test]
fn a_block_whose_data_does_not_match_its_header_is_refused() {
    let mut b = block(
        1,
        vec![tx(0, "records", DEIDENTIFIED_ENTRY, entry(TOKEN))],
        &[TxValidationCode::Valid],
    );
    b.data.as_mut().unwrap().data[0] = tx(0, "records", DEIDENTIFIED_ENTRY, entry(OTHER));
    assert!(matches!(
        effects(&b, "records", &RestrictedZip3::hhs()),
        Err(BlockDecodeError::Chain(_))
    ));
}

#[test]
fn the_hash_is_the_header_hash() {
    let b = block(3, Vec::new(), &[]);
    let fx = effects(&b, "records", &RestrictedZip3::hhs()).unwrap();
    assert_eq!(fx.hash, header_hash(b.header.as_ref().unwrap()));
    assert!(fx.ops.is_empty());
}
