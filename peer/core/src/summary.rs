//! What a committed block means to clients: each transaction's id, validation code and event. The
//! committer publishes one [`BlockSummary`] per block (commit-status waiters and chaincode-event streams
//! read it); [`BlockSummary::from_block`] rebuilds it from a stored block to replay events from the past.

use carechain_proto::common::{Block, BlockMetadataIndex, ChannelHeader, Envelope, HeaderType, Payload};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ProposalResponsePayload, Transaction,
    TxValidationCode as Code,
};
use prost::Message;

use crate::block::ValidatedBlock;

/// One transaction of a committed block.
#[derive(Debug, Clone, PartialEq)]
pub struct TxSummary {
    /// Transaction id (empty if unreadable).
    pub tx_id: String,
    /// Validation code.
    pub code: Code,
    /// Chaincode event of a valid transaction.
    pub event: Option<ChaincodeEvent>,
}

/// A committed block as clients see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockSummary {
    /// Block number.
    pub number: u64,
    /// Transactions in block order.
    pub txs: Vec<TxSummary>,
}

impl BlockSummary {
    /// Summary of a block just validated.
    pub fn from_validated(number: u64, v: &ValidatedBlock) -> Self {
        BlockSummary {
            number,
            txs: v
                .outcomes
                .iter()
                .map(|o| TxSummary {
                    tx_id: o.tx_id.clone().unwrap_or_default(),
                    code: o.code,
                    event: if o.code == Code::Valid {
                        o.event.clone()
                    } else {
                        None
                    },
                })
                .collect(),
        }
    }

    /// Summary of a committed block read back from the ledger (its TRANSACTIONS_FILTER holds the codes).
    pub fn from_block(block: &Block) -> Self {
        let number = block.header.as_ref().map_or(0, |h| h.number);
        let filter = block
            .metadata
            .as_ref()
            .and_then(|m| m.metadata.get(BlockMetadataIndex::TransactionsFilter as usize))
            .cloned()
            .unwrap_or_default();
        let envs = block.data.as_ref().map(|d| d.data.as_slice()).unwrap_or_default();
        let txs = envs
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let code = filter
                    .get(i)
                    .and_then(|c| Code::try_from(i32::from(*c)).ok())
                    .unwrap_or(Code::NotValidated);
                let (tx_id, event) = read_tx(raw, code == Code::Valid);
                TxSummary { tx_id, code, event }
            })
            .collect();
        BlockSummary { number, txs }
    }

    /// The valid events of `chaincode` in this block.
    pub fn events_for<'a>(&'a self, chaincode: &'a str) -> impl Iterator<Item = &'a ChaincodeEvent> + 'a {
        self.txs
            .iter()
            .filter(|t| t.code == Code::Valid)
            .filter_map(|t| t.event.as_ref())
            .filter(move |e| e.chaincode_id == chaincode && !e.event_name.is_empty() && !e.tx_id.is_empty())
    }
}

fn read_tx(raw: &[u8], want_event: bool) -> (String, Option<ChaincodeEvent>) {
    let Ok(env) = Envelope::decode(raw) else {
        return (String::new(), None);
    };
    let Ok(payload) = Payload::decode(env.payload.as_ref()) else {
        return (String::new(), None);
    };
    let Some(header) = payload.header.as_ref() else {
        return (String::new(), None);
    };
    let Ok(ch) = ChannelHeader::decode(header.channel_header.as_ref()) else {
        return (String::new(), None);
    };
    if !want_event || ch.r#type != HeaderType::EndorserTransaction as i32 {
        return (ch.tx_id, None);
    }
    let event = Transaction::decode(payload.data.as_ref())
        .ok()
        .and_then(|tx| tx.actions.into_iter().next())
        .and_then(|a| ChaincodeActionPayload::decode(a.payload.as_ref()).ok())
        .and_then(|cap| cap.action)
        .and_then(|ea| ProposalResponsePayload::decode(ea.proposal_response_payload.as_ref()).ok())
        .and_then(|prp| ChaincodeAction::decode(prp.extension.as_ref()).ok())
        .filter(|a| !a.events.is_empty())
        .and_then(|a| ChaincodeEvent::decode(a.events.as_ref()).ok());
    (ch.tx_id, event)
}

/// The read/write set of an endorser transaction envelope as stored in a block.
pub fn rwset_of_envelope(raw: &[u8]) -> Option<crate::rwset::TxRwSet> {
    let env = Envelope::decode(raw).ok()?;
    let payload = Payload::decode(env.payload.as_ref()).ok()?;
    let tx = Transaction::decode(payload.data.as_ref()).ok()?;
    let cap = ChaincodeActionPayload::decode(tx.actions.first()?.payload.as_ref()).ok()?;
    let prp = ProposalResponsePayload::decode(cap.action?.proposal_response_payload.as_ref()).ok()?;
    let action = ChaincodeAction::decode(prp.extension.as_ref()).ok()?;
    crate::rwset::TxRwSet::parse(&action.results).ok()
}
