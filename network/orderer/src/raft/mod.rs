//! Raft consensus for the ordering service: one openraft group per channel among the channel's
//! consenters, so that every orderer of a channel holds the identical chain. In endorse → order →
//! validate it is what makes "order" survive the loss of an orderer: the leader cuts blocks and each
//! block is one Raft log entry; a block exists once a quorum has its entry.
//!
//! # How it fits
//!
//! ```text
//!  Broadcast ─submit─▶ RaftConsensus ──(follower: Cluster.Forward)──▶ leader's RaftConsensus
//!                         │ tx_ordered (leader)                          │
//!                         ▼                                              ▼
//!                 Chain: cutter → BlockCreator ──propose──▶ proposer ──client_write──▶ openraft
//!                                                                           │ replicate (Cluster.AppendEntries)
//!                 Chain: check, sign, append ◀──Committed── StateMachine::apply (every orderer)
//! ```
//!
//! - [`node::RaftConsensus`] implements [`crate::consensus::Consensus`]: it forwards Broadcast to the
//!   leader, feeds the leader's chain, proposes blocks and reports leadership to the chain only once
//!   every earlier entry has been applied (so the leader chains on the true tip).
//! - [`state_machine`]: applying an entry hands its block to the chain and waits until the block store
//!   has it; the block store *is* the state, so `last_applied` is recovered from it after a restart.
//!   Entries that do not extend the chain (a stale proposal of a deposed leader) are skipped the same
//!   way on every orderer. Snapshots record only (last log id, height, tip hash): an orderer
//!   installing one pulls the missing blocks from the other consenters, as Fabric's etcdraft does.
//! - [`log_store`]: the Raft log, vote and state-machine bookkeeping in one RocksDB per channel.
//! - [`network`] and [`grpc`]: the cluster transport behind a small [`network::ClusterClient`] trait,
//!   gRPC with mutual TLS in production, an in-memory network that drops, delays and reorders messages
//!   in the deterministic tests.
//! - [`settings`]: Fabric's channel options (tick, election and heartbeat ticks, snapshot interval)
//!   mapped onto openraft, and the consenter set (node ids from TLS certificates).
//! - [`reconfig`]: consenter changes from config blocks become openraft membership changes; a
//!   removed orderer leaves the group.
//!
//! openraft 0.9 (not raft-rs) because it is the maintained crates.io release of the two, is
//! tokio/tracing-native and needs no protobuf dependency of its own (see the crate README).

use std::io::Cursor;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub mod grpc;
mod handlers;
pub mod log_store;
pub mod network;
pub mod node;
pub mod reconfig;
pub mod settings;
pub mod state_machine;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod sim_tests;

pub use node::{RaftConsensus, RaftParams};
pub use settings::{Members, RaftSettings};

/// A Raft node id: derived from the consenter's TLS server certificate ([`settings::node_id`]).
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// openraft's types for a channel's ordering group: entries carry blocks, nodes are consenters.
    pub TypeConfig:
        D = Proposal,
        R = (),
        NodeId = NodeId,
        Node = openraft::BasicNode,
);

/// The openraft handle of one channel's group.
pub type ChannelRaft = openraft::Raft<TypeConfig>;

/// A log entry of the ordering service.
pub type Entry = openraft::Entry<TypeConfig>;

/// The log id of an entry (leader term and node, index).
pub type LogId = openraft::LogId<NodeId>;

/// The payload of a normal Raft entry: one block as the leader created it (protobuf bytes, unsigned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal(pub Bytes);

// Serialized as a byte string (not a sequence of numbers) so postcard stores blocks compactly.
impl Serialize for Proposal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = Proposal;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("block bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Proposal, E> {
                Ok(Proposal(Bytes::copy_from_slice(v)))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Proposal, E> {
                Ok(Proposal(Bytes::from(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Proposal, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Proposal(Bytes::from(out)))
            }
        }
        d.deserialize_byte_buf(BytesVisitor)
    }
}

/// A value that could not be encoded or decoded with the cluster codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cluster codec: {0}")]
pub struct CodecError(String);

/// Encodes a Raft message, log entry or bookkeeping value (postcard: compact, no schema on the wire;
/// both ends run the same openraft version, pinned in the workspace).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_stdvec(value).map_err(|e| CodecError(e.to_string()))
}

/// Decodes what [`encode`] produced.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    postcard::from_bytes(bytes).map_err(|e| CodecError(e.to_string()))
}

/// A storage error for openraft, naming the channel.
pub(crate) fn storage_error(channel: &str, detail: impl std::fmt::Display) -> openraft::StorageError<NodeId> {
    let source = openraft::AnyError::error(format!("channel {channel}: {detail}"));
    openraft::StorageIOError::write(source).into()
}

/// The log id recorded in a block's consenter metadata, as bytes for `OrdererBlockMetadata`.
pub fn block_metadata(log_id: &LogId) -> Bytes {
    use prost::Message;
    carechain_proto::carechain::cluster::BlockMetadata {
        term: log_id.leader_id.term,
        leader: log_id.leader_id.node_id,
        index: log_id.index,
    }
    .encode_to_vec()
    .into()
}

/// The log id a stored block records (see [`block_metadata`]); `None` for blocks that did not come
/// through Raft (the genesis block) or carry no readable metadata.
pub fn block_log_id(block: &carechain_proto::common::Block) -> Option<LogId> {
    use prost::Message;
    let md = carechain_channel::block::signatures(block).ok().flatten()?;
    let orderer = carechain_proto::common::OrdererBlockMetadata::decode(md.value).ok()?;
    if orderer.consenter_metadata.is_empty() {
        return None;
    }
    let m = carechain_proto::carechain::cluster::BlockMetadata::decode(orderer.consenter_metadata).ok()?;
    Some(openraft::LogId::new(
        openraft::CommittedLeaderId::new(m.term, m.leader),
        m.index,
    ))
}

/// The consenter metadata bytes of a block another orderer signed (kept when a catching-up orderer
/// appends it, so its own copy records the same log id).
pub fn consenter_metadata(block: &carechain_proto::common::Block) -> Bytes {
    block_log_id(block)
        .map(|id| block_metadata(&id))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_and_entries_round_trip_compactly() {
        let block = Bytes::from(vec![7u8; 1000]);
        let entry = Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(3, 2), 41),
            payload: openraft::EntryPayload::Normal(Proposal(block.clone())),
        };
        let bytes = encode(&entry).unwrap();
        assert!(
            bytes.len() < 1020,
            "a 1000-byte block costs {} bytes",
            bytes.len()
        );
        let back: Entry = decode(&bytes).unwrap();
        assert_eq!(back.log_id, entry.log_id);
        assert!(matches!(back.payload, openraft::EntryPayload::Normal(Proposal(b)) if b == block));
        assert!(decode::<Entry>(&bytes[..10]).is_err());
        // JSON (self-describing) readers still get the bytes back.
        let json = serde_json::to_string(&Proposal(Bytes::from_static(b"ab"))).unwrap();
        assert_eq!(serde_json::from_str::<Proposal>(&json).unwrap().0.as_ref(), b"ab");
    }

    #[test]
    fn remote_errors_survive_the_codec() {
        use openraft::error::{Fatal, InstallSnapshotError, RaftError, SnapshotMismatch};
        let fatal: Result<(), RaftError<NodeId>> = Err(RaftError::Fatal(Fatal::Stopped));
        assert_eq!(
            decode::<Result<(), RaftError<NodeId>>>(&encode(&fatal).unwrap()).unwrap(),
            fatal
        );
        let mismatch: Result<(), RaftError<NodeId, InstallSnapshotError>> = Err(RaftError::APIError(
            InstallSnapshotError::SnapshotMismatch(SnapshotMismatch {
                expect: Default::default(),
                got: Default::default(),
            }),
        ));
        let back: Result<(), RaftError<NodeId, InstallSnapshotError>> =
            decode(&encode(&mismatch).unwrap()).unwrap();
        assert_eq!(back, mismatch);
        let storage: Result<(), RaftError<NodeId>> = Err(RaftError::Fatal(Fatal::StorageError(
            storage_error("care", "disk on fire"),
        )));
        let back: Result<(), RaftError<NodeId>> = decode(&encode(&storage).unwrap()).unwrap();
        assert!(format!("{:?}", back.unwrap_err()).contains("disk on fire"));
    }
}
