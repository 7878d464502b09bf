//! `AtomicBroadcast.Broadcast`: where transactions enter ordering in endorse → order → validate. The
//! gateway (or any Fabric SDK) streams signed envelopes; each gets exactly one `BroadcastResponse`, in
//! order, and a refused envelope never ends the stream or touches the others.
//!
//! Checks, cheapest first: the headers decode (BAD_REQUEST naming the part), the channel is served
//! (NOT_FOUND), payload + signature fit the channel's `AbsoluteMaxBytes` (REQUEST_ENTITY_TOO_LARGE),
//! the header type is ENDORSER_TRANSACTION or CONFIG_UPDATE (BAD_REQUEST otherwise), the timestamp is
//! within 15 minutes (BAD_REQUEST), the creator is a valid channel identity whose signature verifies
//! and who satisfies `/Channel/Writers` (FORBIDDEN, with the MSP or policy error). A CONFIG_UPDATE is
//! then authorized against the current configuration — BAD_REQUEST for a stale or malformed update,
//! FORBIDDEN naming the policy that failed and who signed — and becomes a CONFIG transaction signed by
//! this orderer ([`crate::msgprocessor`]). Last, consensus takes it (SERVICE_UNAVAILABLE otherwise, or
//! when this orderer is not a consenter of the channel). Checks of several envelopes of one stream run
//! in parallel on the blocking pool; submission to consensus keeps the stream's order.

use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use carechain_proto::common::{Envelope, HeaderType, Status};
use carechain_proto::orderer::BroadcastResponse;
use futures::{Stream, StreamExt};
use prost::Message;
use tokio::sync::watch;

use crate::OrdererError;
use crate::envelope::SignedEnvelope;
use crate::handle::ChannelHandle;
use crate::msgprocessor::{Submitted, check_normal, config_update};
use crate::registry::Registry;

/// Envelopes of one stream being verified at once.
const VERIFY_AHEAD: usize = 16;

/// The response stream of one Broadcast call.
pub type BroadcastStream = Pin<Box<dyn Stream<Item = Result<BroadcastResponse, tonic::Status>> + Send>>;

/// Broadcast for all channels of the node.
#[derive(Clone)]
pub struct Broadcast {
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
}

impl Broadcast {
    /// A handler over the node's channels; streams end when `shutdown` turns true.
    pub fn new(registry: Arc<Registry>, shutdown: watch::Receiver<bool>) -> Broadcast {
        Broadcast { registry, shutdown }
    }

    /// Answers a stream of envelopes with one response each, in order.
    pub fn handle<S>(&self, inbound: S) -> BroadcastStream
    where
        S: Stream<Item = Result<Envelope, tonic::Status>> + Send + 'static,
    {
        let mut shutdown = self.shutdown.clone();
        let stopping = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        let check = self.clone();
        let responses = inbound
            .take_until(stopping)
            // A receive error (an undecodable message, one over the size limit, the client gone) is the
            // stream's last item: the client gets it as the call's status after the responses to the
            // envelopes before it, as Fabric's handler returns its Recv error.
            .scan(false, |failed, r| {
                let item = (!*failed).then_some(r);
                *failed = item.as_ref().is_none_or(Result::is_err);
                std::future::ready(item)
            })
            .map(move |r| {
                let check = check.clone();
                async move {
                    match r {
                        Ok(envelope) => Ok(check.check(envelope).await),
                        Err(status) => Err(status),
                    }
                }
            })
            .buffered(VERIFY_AHEAD)
            .then(|checked| async move {
                let outcome = match checked? {
                    Ok((channel, envelope)) => match channel.consensus() {
                        Ok(consensus) => consensus.submit(envelope).await,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                Ok(response(outcome))
            });
        Box::pin(responses)
    }

    /// Everything but the submission: returns the channel and what to order.
    async fn check(&self, envelope: Envelope) -> Result<(Arc<ChannelHandle>, Submitted), OrdererError> {
        let parsed = SignedEnvelope::parse(&envelope)?;
        let channel = self
            .registry
            .get(parsed.channel_id())
            .ok_or_else(|| OrdererError::ChannelNotFound(parsed.channel_id().to_string()))?;
        let config = channel.config();
        let size = envelope.payload.len() + envelope.signature.len();
        let max = config.orderer.batch_size.absolute_max_bytes;
        if size > max as usize {
            return Err(OrdererError::TooLarge {
                channel: channel.id().to_string(),
                size,
                max,
            });
        }
        let is_config = match parsed.header_type()? {
            HeaderType::EndorserTransaction => false,
            HeaderType::ConfigUpdate => true,
            other => {
                return Err(OrdererError::BadRequest(format!(
                    "header type {} cannot be broadcast: the orderer orders ENDORSER_TRANSACTION and CONFIG_UPDATE envelopes (it creates CONFIG transactions itself)",
                    other.as_str_name()
                )));
            }
        };
        let now = SystemTime::now();
        parsed.check_timestamp(now)?;
        let seq = config.sequence;
        let signer = self.registry.signer().clone();
        let checked = tokio::task::spawn_blocking(move || {
            if is_config {
                config_update(&config, &parsed, &signer, now)
            } else {
                // The signature covers `payload`, kept byte for byte; the envelope around it is two
                // bytes fields, whose encoding is canonical.
                check_normal(&config, &parsed).map(|()| envelope.encode_to_vec().into())
            }
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("signature check task failed: {e}")))??;
        let submitted = Submitted {
            envelope: checked,
            config_seq: seq,
            is_config,
        };
        Ok((channel, submitted))
    }
}

fn response(outcome: Result<(), OrdererError>) -> BroadcastResponse {
    match outcome {
        Ok(()) => BroadcastResponse {
            status: Status::Success as i32,
            info: String::new(),
        },
        Err(e) => {
            tracing::debug!(error = %e, "broadcast refused");
            BroadcastResponse {
                status: e.fabric_status() as i32,
                info: e.to_string(),
            }
        }
    }
}
