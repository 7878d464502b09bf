//! A Rust client of the Fabric Gateway protocol: what the `carechain` CLI, the benchmark and the tests
//! use to act as an application. It follows the official SDK's flow exactly: sign a proposal, Endorse,
//! sign the prepared transaction, Submit, then CommitStatus; Evaluate for queries; ChaincodeEvents for
//! event streams.

use std::collections::BTreeMap;
use std::sync::Arc;

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{Envelope, Payload};
use carechain_proto::gateway::gateway_client::GatewayClient as RawClient;
use carechain_proto::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, CommitStatusRequest, EndorseRequest, EvaluateRequest,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest,
};
use carechain_proto::orderer::{SeekNextCommit, SeekPosition, SeekSpecified, seek_position};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ProposalResponsePayload, Transaction, TxValidationCode,
};
use carechain_transport::{ClientTls, connect};
use peer_core::txbuild::{self, NewProposal};
use prost::Message;
use tonic::Status;
use tonic::transport::Channel;

use crate::error::details_of;

/// How long [`GatewayClient::commit_status`] waits for a transaction to commit.
pub const COMMIT_STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not connect.
    #[error("cannot connect to the gateway: {0}")]
    Connect(String),
    /// The gateway answered with an error status.
    #[error("{} ({:?}){}", .0.message(), .0.code(), fmt_details(.0))]
    Status(Status),
    /// The transaction was ordered but committed as invalid.
    #[error("transaction {tx_id} failed to commit with status code {} ({})", *code as i32, code.as_str_name())]
    Commit {
        /// Transaction id.
        tx_id: String,
        /// Its validation code.
        code: TxValidationCode,
        /// Block it landed in.
        block: u64,
    },
    /// A response did not have the expected shape.
    #[error("malformed response: {0}")]
    Malformed(String),
}

fn fmt_details(s: &Status) -> String {
    let d = details_of(s);
    if d.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = d
        .iter()
        .map(|x| format!("{} {}: {}", x.msp_id, x.address, x.message))
        .collect();
    format!(" [{}]", parts.join("; "))
}

impl From<Status> for ClientError {
    fn from(s: Status) -> Self {
        ClientError::Status(s)
    }
}

/// An endorsed transaction, ready to sign and submit.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Transaction id.
    pub tx_id: String,
    /// Channel.
    pub channel: String,
    /// The unsigned envelope from the gateway.
    pub envelope: Envelope,
    /// The chaincode's result, read from the envelope as the Fabric SDK does.
    pub result: Vec<u8>,
}

/// A committed transaction.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Transaction id.
    pub tx_id: String,
    /// Chaincode result.
    pub result: Vec<u8>,
    /// Block number.
    pub block: u64,
}

/// A connection to one peer's gateway, acting as one identity.
#[derive(Clone)]
pub struct GatewayClient {
    raw: RawClient<Channel>,
    signer: Arc<SigningIdentity>,
}

impl GatewayClient {
    /// Connects to `address` over TLS as `signer`.
    pub async fn connect(
        address: &str,
        tls: &ClientTls,
        signer: Arc<SigningIdentity>,
    ) -> Result<Self, ClientError> {
        let ch = connect(address, tls)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(Self::from_channel(ch, signer, tls.max_message_bytes))
    }

    /// Wraps an existing channel.
    pub fn from_channel(ch: Channel, signer: Arc<SigningIdentity>, max_message_bytes: usize) -> Self {
        let raw = RawClient::new(ch)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes);
        GatewayClient { raw, signer }
    }

    /// The identity requests are signed with.
    pub fn signer(&self) -> &SigningIdentity {
        &self.signer
    }

    /// A new signed proposal.
    pub fn proposal(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> NewProposal {
        txbuild::new_proposal(&self.signer, channel, chaincode, args, transient)
    }

    /// Evaluates (queries) and returns the chaincode result.
    pub async fn evaluate(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<u8>, ClientError> {
        self.evaluate_on(channel, chaincode, args, transient, &[]).await
    }

    /// Evaluates on a peer of the first of `orgs` (empty: the gateway's own peer), e.g. a query that
    /// reads a private data collection only that org's peers hold.
    pub async fn evaluate_on(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
        orgs: &[String],
    ) -> Result<Vec<u8>, ClientError> {
        let p = self.proposal(channel, chaincode, args, transient);
        let req = EvaluateRequest {
            transaction_id: p.tx_id.clone(),
            channel_id: channel.to_string(),
            proposed_transaction: Some(p.signed),
            target_organizations: orgs.to_vec(),
        };
        let resp = self.raw.clone().evaluate(req).await?.into_inner();
        Ok(resp.result.map(|r| r.payload.to_vec()).unwrap_or_default())
    }

    /// Endorses a proposal, optionally on named organizations only.
    pub async fn endorse(
        &self,
        channel: &str,
        p: &NewProposal,
        orgs: &[String],
    ) -> Result<Prepared, ClientError> {
        let req = EndorseRequest {
            transaction_id: p.tx_id.clone(),
            channel_id: channel.to_string(),
            proposed_transaction: Some(p.signed.clone()),
            endorsing_organizations: orgs.to_vec(),
        };
        let resp = self.raw.clone().endorse(req).await?.into_inner();
        let envelope = resp
            .prepared_transaction
            .ok_or_else(|| ClientError::Malformed("endorse response has no prepared transaction".into()))?;
        let result = result_of(&envelope)?;
        Ok(Prepared {
            tx_id: p.tx_id.clone(),
            channel: channel.to_string(),
            envelope,
            result,
        })
    }

    /// Signs and submits a prepared transaction.
    pub async fn submit(&self, prepared: &Prepared) -> Result<(), ClientError> {
        let env = txbuild::sign_envelope(prepared.envelope.clone(), &self.signer);
        self.submit_envelope(&prepared.channel, &prepared.tx_id, env)
            .await
    }

    /// Submits an envelope exactly as given (tests use this to send tampered transactions).
    pub async fn submit_envelope(
        &self,
        channel: &str,
        tx_id: &str,
        env: Envelope,
    ) -> Result<(), ClientError> {
        let req = SubmitRequest {
            transaction_id: tx_id.to_string(),
            channel_id: channel.to_string(),
            prepared_transaction: Some(env),
        };
        self.raw.clone().submit(req).await?;
        Ok(())
    }

    /// Waits for the transaction's commit: its validation code and block.
    pub async fn commit_status(
        &self,
        channel: &str,
        tx_id: &str,
    ) -> Result<(TxValidationCode, u64), ClientError> {
        let req = CommitStatusRequest {
            transaction_id: tx_id.to_string(),
            channel_id: channel.to_string(),
            identity: self.signer.serialize().to_vec().into(),
        }
        .encode_to_vec();
        let signed = SignedCommitStatusRequest {
            signature: self.signer.sign(&req).into(),
            request: req.into(),
        };
        // A transaction acknowledged by an orderer and then lost in a leader change never commits: wait
        // a bounded time, as Fabric's SDKs do, so callers can resubmit instead of hanging.
        let mut raw = self.raw.clone();
        let r = tokio::time::timeout(COMMIT_STATUS_TIMEOUT, raw.commit_status(signed))
            .await
            .map_err(|_| {
                ClientError::Status(Status::deadline_exceeded(format!(
                    "transaction {tx_id} did not commit within {} s",
                    COMMIT_STATUS_TIMEOUT.as_secs()
                )))
            })??
            .into_inner();
        let code = TxValidationCode::try_from(r.result).unwrap_or(TxValidationCode::InvalidOtherReason);
        Ok((code, r.block_number))
    }

    /// Endorse, submit and wait for commit; an invalid commit is an error.
    pub async fn submit_transaction(
        &self,
        channel: &str,
        chaincode: &str,
        args: &[Vec<u8>],
        transient: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Committed, ClientError> {
        let p = self.proposal(channel, chaincode, args, transient);
        let prepared = self.endorse(channel, &p, &[]).await?;
        self.submit(&prepared).await?;
        let (code, block) = self.commit_status(channel, &prepared.tx_id).await?;
        if code != TxValidationCode::Valid {
            return Err(ClientError::Commit {
                tx_id: prepared.tx_id,
                code,
                block,
            });
        }
        Ok(Committed {
            tx_id: prepared.tx_id,
            result: prepared.result,
            block,
        })
    }

    /// A stream of `chaincode`'s events from `start` (None: the next commit), after `after_tx` if given.
    pub async fn chaincode_events(
        &self,
        channel: &str,
        chaincode: &str,
        start: Option<u64>,
        after_tx: Option<&str>,
    ) -> Result<tonic::Streaming<ChaincodeEventsResponse>, ClientError> {
        let position = match start {
            Some(n) => seek_position::Type::Specified(SeekSpecified { number: n }),
            None => seek_position::Type::NextCommit(SeekNextCommit {}),
        };
        let req = ChaincodeEventsRequest {
            channel_id: channel.to_string(),
            chaincode_id: chaincode.to_string(),
            identity: self.signer.serialize().to_vec().into(),
            start_position: Some(SeekPosition {
                r#type: Some(position),
            }),
            after_transaction_id: after_tx.unwrap_or_default().to_string(),
        }
        .encode_to_vec();
        let signed = SignedChaincodeEventsRequest {
            signature: self.signer.sign(&req).into(),
            request: req.into(),
        };
        Ok(self.raw.clone().chaincode_events(signed).await?.into_inner())
    }
}

/// The chaincode result inside a prepared transaction (the Fabric SDK's parse path).
pub fn result_of(env: &Envelope) -> Result<Vec<u8>, ClientError> {
    let bad = |w: &str| ClientError::Malformed(format!("prepared transaction: {w}"));
    let payload = Payload::decode(env.payload.as_ref()).map_err(|_| bad("payload"))?;
    let tx = Transaction::decode(payload.data.as_ref()).map_err(|_| bad("transaction"))?;
    let action = tx.actions.first().ok_or_else(|| bad("no action"))?;
    let cap = ChaincodeActionPayload::decode(action.payload.as_ref()).map_err(|_| bad("action payload"))?;
    let ea = cap.action.ok_or_else(|| bad("no endorsed action"))?;
    let prp = ProposalResponsePayload::decode(ea.proposal_response_payload.as_ref())
        .map_err(|_| bad("response payload"))?;
    let ca = ChaincodeAction::decode(prp.extension.as_ref()).map_err(|_| bad("chaincode action"))?;
    Ok(ca.response.map(|r| r.payload.to_vec()).unwrap_or_default())
}
