//! `AtomicBroadcast.Deliver`: how ordered blocks leave the ordering service in endorse → order →
//! validate. Peers of every org pull blocks here (signing with their peer identity, a channel Reader)
//! and validate them; tools read blocks the same way.
//!
//! Each request on the stream is a signed DELIVER_SEEK_INFO envelope. The requester must satisfy
//! `/Channel/Readers` (FORBIDDEN otherwise). The blocks from `start` to `stop` are streamed, waiting for
//! new blocks (BLOCK_UNTIL_READY) or answering NOT_FOUND at the first missing one (FAIL_IF_NOT_READY),
//! then a SUCCESS status; the stream then takes the next request. A session stops serving an identity
//! whose certificate expires mid-stream, as Fabric does. On an orderer that is no longer a consenter of
//! the channel the blocks it has are served, and a request waiting for a later one ends with
//! SERVICE_UNAVAILABLE (Fabric's halted chain), so peers move to a consenter.

use std::sync::Arc;

use carechain_crypto::msp::Identity;
use carechain_proto::common::{Envelope, HeaderType, Status};
use carechain_proto::orderer::seek_info::{SeekBehavior, SeekContentType};
use carechain_proto::orderer::{DeliverResponse, SeekInfo, SeekPosition, deliver_response, seek_position};
use futures::{Stream, StreamExt};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::OrdererError;
use crate::envelope::{Access, SignedEnvelope, authenticate};
use crate::handle::ChannelHandle;
use crate::registry::Registry;

/// Responses buffered per stream before the session waits for the client to read.
const DELIVER_BUFFER: usize = 8;

/// The blocks one seek asks for, resolved against the chain height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekRange {
    /// First block.
    pub start: u64,
    /// Last block (inclusive; `u64::MAX` streams forever).
    pub stop: u64,
    /// NOT_FOUND at the first block beyond the height instead of waiting.
    pub fail_if_not_ready: bool,
    /// Send blocks without their data (HEADER_WITH_SIG).
    pub headers_only: bool,
}

/// Resolves a `SeekInfo` at chain height `height` (Fabric's rules: `newest` is the last block now,
/// `next_commit` the next one to be written, a stop of `oldest` means just the start block). A stop of
/// `newest` before a later start means just the start block, where Fabric would stream forever.
pub fn resolve_seek(seek: &SeekInfo, height: u64) -> Result<SeekRange, OrdererError> {
    let bad = |m: &str| OrdererError::BadRequest(format!("seek info {m}"));
    let position = |p: &Option<SeekPosition>, which: &str| {
        p.and_then(|p| p.r#type)
            .ok_or_else(|| bad(&format!("has no {which} position")))
    };
    let start_pos = position(&seek.start, "start")?;
    let stop_pos = position(&seek.stop, "stop")?;
    let newest = height.saturating_sub(1);
    let start = match start_pos {
        seek_position::Type::Oldest(_) => 0,
        seek_position::Type::Newest(_) => newest,
        seek_position::Type::Specified(s) => s.number,
        seek_position::Type::NextCommit(_) => height,
    };
    let stop = match stop_pos {
        seek_position::Type::Oldest(_) => start,
        seek_position::Type::Newest(_) => newest.max(start),
        seek_position::Type::Specified(s) => s.number,
        seek_position::Type::NextCommit(_) => height,
    };
    if stop < start {
        return Err(bad(&format!(
            "stops at block {stop}, before its start block {start}"
        )));
    }
    let behavior = SeekBehavior::try_from(seek.behavior)
        .map_err(|_| bad(&format!("has unknown behavior {}", seek.behavior)))?;
    let content = SeekContentType::try_from(seek.content_type)
        .map_err(|_| bad(&format!("has unknown content type {}", seek.content_type)))?;
    Ok(SeekRange {
        start,
        stop,
        fail_if_not_ready: behavior == SeekBehavior::FailIfNotReady,
        headers_only: content == SeekContentType::HeaderWithSig,
    })
}

/// Deliver for all channels of the node.
#[derive(Clone)]
pub struct Deliver {
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
    /// Drop guard held by every session; the node waits for all clones to drop at shutdown.
    _sessions: mpsc::Sender<()>,
}

/// Why a session stops serving the current request.
enum End {
    /// Answer with this error's status and take the next request.
    Refused(OrdererError),
    /// The client went away or the node is stopping: end the session.
    Closed,
}

impl From<OrdererError> for End {
    fn from(e: OrdererError) -> End {
        End::Refused(e)
    }
}

impl Deliver {
    /// A handler over the node's channels. `sessions` is a drop guard the node waits on at shutdown.
    pub fn new(
        registry: Arc<Registry>,
        shutdown: watch::Receiver<bool>,
        sessions: mpsc::Sender<()>,
    ) -> Deliver {
        Deliver {
            registry,
            shutdown,
            _sessions: sessions,
        }
    }

    /// Starts a session task for one Deliver stream and returns its responses.
    pub fn handle<S>(&self, inbound: S) -> ReceiverStream<Result<DeliverResponse, tonic::Status>>
    where
        S: Stream<Item = Result<Envelope, tonic::Status>> + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(DELIVER_BUFFER);
        let session = Session {
            deliver: self.clone(),
            tx,
        };
        tokio::spawn(session.run(inbound));
        ReceiverStream::new(rx)
    }
}

struct Session {
    deliver: Deliver,
    tx: mpsc::Sender<Result<DeliverResponse, tonic::Status>>,
}

impl Session {
    async fn run<S>(self, mut inbound: S)
    where
        S: Stream<Item = Result<Envelope, tonic::Status>> + Send + Unpin + 'static,
    {
        let mut shutdown = self.deliver.shutdown.clone();
        loop {
            let request = tokio::select! {
                _ = crate::stop_requested(&mut shutdown) => break,
                r = inbound.next() => r,
            };
            let Some(Ok(envelope)) = request else { break };
            let status = match self.serve(envelope).await {
                Ok(()) => Status::Success,
                Err(End::Refused(e)) => {
                    tracing::debug!(error = %e, "deliver request refused");
                    e.fabric_status()
                }
                Err(End::Closed) => break,
            };
            if self
                .send(deliver_response::Type::Status(status as i32))
                .await
                .is_err()
            {
                break;
            }
        }
    }

    async fn serve(&self, envelope: Envelope) -> Result<(), End> {
        let parsed = SignedEnvelope::parse(&envelope)?;
        if parsed.header_type()? != HeaderType::DeliverSeekInfo {
            return Err(OrdererError::BadRequest("Deliver takes DELIVER_SEEK_INFO envelopes".into()).into());
        }
        let channel = self
            .deliver
            .registry
            .get(parsed.channel_id())
            .ok_or_else(|| OrdererError::ChannelNotFound(parsed.channel_id().to_string()))?;
        let seek = SeekInfo::decode(parsed.data.clone()).map_err(|e| {
            OrdererError::BadRequest(format!("envelope data is not an orderer.SeekInfo: {e}"))
        })?;
        let config = channel.config();
        let identity = tokio::task::spawn_blocking(move || authenticate(&config, &parsed, Access::Read))
            .await
            .map_err(|e| OrdererError::Internal(format!("signature check task failed: {e}")))??;
        let range = resolve_seek(&seek, channel.store().height())?;
        self.stream_blocks(&channel, range, &identity).await
    }

    async fn stream_blocks(
        &self,
        channel: &ChannelHandle,
        range: SeekRange,
        identity: &Identity,
    ) -> Result<(), End> {
        let mut height = channel.height_watch();
        let mut shutdown = self.deliver.shutdown.clone();
        let mut number = range.start;
        loop {
            if *height.borrow_and_update() <= number {
                if range.fail_if_not_ready {
                    return Err(OrdererError::NotReady(format!(
                        "block {number} of channel {} is not written yet",
                        channel.id()
                    ))
                    .into());
                }
                tokio::select! {
                    changed = height.wait_for(|h| *h > number) => {
                        if changed.is_err() {
                            // A removed consenter's chain ends: the requester moves to a consenter.
                            let e = match channel.raft() {
                                None => channel.not_a_consenter(),
                                Some(_) => OrdererError::Unavailable(format!("the chain of channel {} stopped", channel.id())),
                            };
                            return Err(e.into());
                        }
                    }
                    _ = crate::stop_requested(&mut shutdown) => return Err(End::Closed),
                    _ = self.tx.closed() => return Err(End::Closed),
                }
            }
            identity
                .check_valid_at(time::OffsetDateTime::now_utc())
                .map_err(|e| {
                    OrdererError::Forbidden(format!("deliver session of {} ended: {e}", identity.describe()))
                })?;
            let mut block = channel.store().block(number)?.ok_or_else(|| {
                OrdererError::store(
                    channel.id(),
                    format!("block {number} is below the height but missing"),
                )
            })?;
            if range.headers_only {
                block.data = None;
            }
            self.send(deliver_response::Type::Block(block))
                .await
                .map_err(|_| End::Closed)?;
            if number >= range.stop {
                return Ok(());
            }
            number += 1;
        }
    }

    async fn send(&self, r: deliver_response::Type) -> Result<(), ()> {
        let response = DeliverResponse { r#type: Some(r) };
        self.tx.send(Ok(response)).await.map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use carechain_proto::orderer::{SeekNewest, SeekNextCommit, SeekOldest, SeekSpecified};

    use super::*;

    fn pos(t: seek_position::Type) -> Option<SeekPosition> {
        Some(SeekPosition { r#type: Some(t) })
    }
    fn specified(n: u64) -> seek_position::Type {
        seek_position::Type::Specified(SeekSpecified { number: n })
    }
    fn seek(start: seek_position::Type, stop: seek_position::Type) -> SeekInfo {
        SeekInfo {
            start: pos(start),
            stop: pos(stop),
            ..Default::default()
        }
    }

    #[test]
    fn positions_resolve_like_fabric() {
        let oldest = seek_position::Type::Oldest(SeekOldest {});
        let newest = seek_position::Type::Newest(SeekNewest {});
        let next = seek_position::Type::NextCommit(SeekNextCommit {});
        let r = resolve_seek(&seek(oldest, newest), 5).unwrap();
        assert_eq!(
            (r.start, r.stop, r.fail_if_not_ready, r.headers_only),
            (0, 4, false, false)
        );
        assert_eq!(resolve_seek(&seek(newest, newest), 5).unwrap().start, 4);
        assert_eq!(resolve_seek(&seek(specified(2), oldest), 5).unwrap().stop, 2);
        let r = resolve_seek(&seek(next, next), 5).unwrap();
        assert_eq!((r.start, r.stop), (5, 5));
        let sdk = resolve_seek(&seek(specified(3), specified((1 << 53) - 1)), 5).unwrap();
        assert_eq!((sdk.start, sdk.stop), (3, (1 << 53) - 1));
        // Starting beyond the newest block with stop newest waits for the start block only.
        assert_eq!(resolve_seek(&seek(specified(9), newest), 5).unwrap().stop, 9);
    }

    #[test]
    fn malformed_seeks_are_bad_requests() {
        let stop_before_start = resolve_seek(&seek(specified(4), specified(2)), 5).unwrap_err();
        assert!(stop_before_start.to_string().contains("before its start"));
        let missing = SeekInfo {
            start: pos(specified(1)),
            ..Default::default()
        };
        assert!(matches!(resolve_seek(&missing, 5), Err(OrdererError::BadRequest(m)) if m.contains("stop")));
        let weird = SeekInfo {
            behavior: 7,
            ..seek(specified(1), specified(1))
        };
        assert!(resolve_seek(&weird, 5).is_err());
        let flags = SeekInfo {
            behavior: SeekBehavior::FailIfNotReady as i32,
            content_type: SeekContentType::HeaderWithSig as i32,
            ..seek(specified(1), specified(1))
        };
        let r = resolve_seek(&flags, 5).unwrap();
        assert!(r.fail_if_not_ready && r.headers_only);
    }
}
