//! The channel configuration as the Raft group sees it: Fabric's `EtcdRaft` options mapped onto
//! openraft's timers, and the consenter set turned into node ids and TLS identities. Both come from
//! the channel's config block, so every orderer of the channel derives the same values. Pure: no I/O.
//!
//! A consenter's node id is derived from its TLS server certificate ([`node_id`]), not from its
//! position in `Orderer.EtcdRaft.Consenters`: removing a consenter must not renumber the others (Raft
//! identifies members by id), and an orderer joining from a later config block must compute the same
//! ids as the orderers that followed every change. Fabric keeps a consenter-id table in block metadata
//! for this; a hash of the certificate needs no table. An orderer finds its own id by its TLS server
//! certificate, and recognises a calling orderer by the client certificate of its TLS session.
//! Replacing a consenter's certificate therefore makes it a new member (remove, then add).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use carechain_channel::config::OrdererParams;
use carechain_proto::etcdraft;
use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use super::NodeId;
use crate::OrdererError;

/// Fabric's `SnapshotIntervalSize` default, used when the channel leaves it at 0.
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 16 * 1024 * 1024;

/// Bytes of blocks one AppendEntries message may carry at most.
pub const APPEND_BUDGET: u64 = 8 * 1024 * 1024;

/// Log entries kept behind a snapshot, so a follower that lags by a few blocks still catches up from
/// the log (Fabric's `SnapshotCatchUpEntries` is 4; we keep a few more, entries are blocks).
pub const LOG_KEPT_AFTER_SNAPSHOT: u64 = 16;

/// Timing and sizes of one channel's Raft group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftSettings {
    /// Fabric's `TickInterval`.
    pub tick: Duration,
    /// Ticks without a heartbeat before a follower campaigns (`ElectionTick`).
    pub election_tick: u32,
    /// Ticks between the leader's heartbeats (`HeartbeatTick`).
    pub heartbeat_tick: u32,
    /// Bytes of blocks between snapshots (`SnapshotIntervalSize`).
    pub snapshot_interval: u64,
    /// Entries (blocks) per AppendEntries message, so one message stays under the gRPC size limit.
    pub max_payload_entries: u64,
}

impl RaftSettings {
    /// The settings of a channel whose orderers accept messages up to `max_message_size` bytes.
    pub fn from_channel(params: &OrdererParams, max_message_size: usize) -> RaftSettings {
        let o = &params.raft;
        let block_max = u64::from(
            params
                .batch_size
                .absolute_max_bytes
                .max(params.batch_size.preferred_max_bytes)
                .max(1),
        );
        // One AppendEntries must fit the message limit and, on a LAN, a heartbeat interval (openraft
        // uses the heartbeat interval as its timeout).
        let budget = (max_message_size as u64 / 2).min(APPEND_BUDGET);
        let per_message = budget / block_max;
        RaftSettings {
            tick: o.tick_interval.max(Duration::from_millis(1)),
            election_tick: o.election_tick.max(2),
            heartbeat_tick: o.heartbeat_tick.max(1),
            snapshot_interval: match o.snapshot_interval_size {
                0 => DEFAULT_SNAPSHOT_INTERVAL,
                n => u64::from(n),
            },
            max_payload_entries: per_message.clamp(1, 64),
        }
    }

    /// How long followers wait for a heartbeat before campaigning (the lower bound; openraft picks
    /// each timeout at random up to twice this, as etcd/raft does).
    pub fn election_timeout(&self) -> Duration {
        self.tick * self.election_tick
    }

    /// The leader's heartbeat interval (also openraft's timeout for one AppendEntries call).
    pub fn heartbeat(&self) -> Duration {
        self.tick * self.heartbeat_tick
    }

    /// openraft's configuration for the channel `channel`.
    pub fn openraft_config(&self, channel: &str) -> Result<openraft::Config, OrdererError> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let election = ms(self.election_timeout());
        let heartbeat = ms(self.heartbeat());
        if heartbeat >= election {
            return Err(OrdererError::Config(format!(
                "channel {channel}: HeartbeatTick ({}) must be below ElectionTick ({})",
                self.heartbeat_tick, self.election_tick
            )));
        }
        let config = openraft::Config {
            cluster_name: channel.to_string(),
            heartbeat_interval: heartbeat,
            election_timeout_min: election,
            election_timeout_max: election * 2,
            // A snapshot's last chunk is answered only after the follower pulled the missing blocks.
            install_snapshot_timeout: 60_000,
            max_payload_entries: self.max_payload_entries,
            // Snapshots are cut by bytes of blocks (Fabric's rule), triggered by the state machine.
            snapshot_policy: openraft::SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: LOG_KEPT_AFTER_SNAPSHOT,
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| OrdererError::Config(format!("channel {channel}: Raft options: {e}")))
    }
}

/// One consenter of a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consenter {
    /// Its Raft node id in this channel.
    pub id: NodeId,
    /// Cluster endpoint host (also the name its TLS server certificate must carry).
    pub host: String,
    /// Cluster endpoint `host:port`.
    pub endpoint: String,
    /// DER of its TLS client certificate: how it is recognised when it calls.
    pub client_cert: Vec<u8>,
    /// DER of its TLS server certificate: how an orderer finds itself in the list.
    pub server_cert: Vec<u8>,
}

/// The Raft node id of the consenter whose TLS server certificate is `server_cert` (DER): the first
/// 53 bits of its SHA-256 (never 0, which openraft uses as "nobody"; 53 bits stay exact in JSON).
pub fn node_id(server_cert: &[u8]) -> NodeId {
    let digest = Sha256::digest(server_cert);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) & ((1 << 53) - 1)).max(1)
}

/// Parses a channel's consenter list, in order. Refuses sets in which a certificate does not parse
/// or a certificate appears twice.
pub fn consenters(channel: &str, list: &[etcdraft::Consenter]) -> Result<Vec<Consenter>, OrdererError> {
    let mut out: Vec<Consenter> = Vec::with_capacity(list.len());
    for c in list {
        let endpoint = format!("{}:{}", c.host, c.port);
        let der = |pem: &[u8], what: &str| {
            carechain_crypto::pem::first_certificate(pem).map_err(|e| {
                OrdererError::BadRequest(format!(
                    "channel {channel}: consenter {endpoint} has no usable {what}: {e}"
                ))
            })
        };
        let server_cert = der(&c.server_tls_cert, "ServerTLSCert")?;
        let consenter = Consenter {
            id: node_id(&server_cert),
            host: c.host.clone(),
            endpoint: endpoint.clone(),
            client_cert: der(&c.client_tls_cert, "ClientTLSCert")?,
            server_cert,
        };
        if let Some(dup) = out.iter().find(|o| {
            o.client_cert == consenter.client_cert
                || o.server_cert == consenter.server_cert
                || o.id == consenter.id
        }) {
            return Err(OrdererError::BadRequest(format!(
                "channel {channel}: consenters {} and {endpoint} share a TLS certificate",
                dup.endpoint
            )));
        }
        out.push(consenter);
    }
    if out.is_empty() {
        return Err(OrdererError::BadRequest(format!(
            "channel {channel} has no consenters"
        )));
    }
    Ok(out)
}

/// Whether the orderer whose TLS server certificate is `own_tls_cert` is among `list`.
pub fn is_consenter(list: &[etcdraft::Consenter], own_tls_cert: &[u8]) -> bool {
    list.iter().any(|c| {
        carechain_crypto::pem::first_certificate(&c.server_tls_cert).is_ok_and(|der| der == own_tls_cert)
    })
}

/// A channel's consenters and which of them this orderer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Members {
    me: NodeId,
    consenters: Vec<Consenter>,
    /// Consenters the latest configuration removed that may still be in the Raft membership (the
    /// leader removing them is one of them, or has not committed the change yet): their Raft messages
    /// are still accepted, nothing else.
    retired: Vec<Consenter>,
}

/// The current consenter set of a channel, shared by its Raft consensus, its cluster client and its
/// block source, and replaced when a config block changes it.
pub type SharedMembers = Arc<RwLock<Arc<Members>>>;

impl Members {
    /// The consenters of a channel, identifying this orderer by `own_tls_cert` (DER). Refuses sets in
    /// which a certificate does not parse, a certificate appears twice, or this orderer is absent.
    pub fn from_config(
        channel: &str,
        list: &[etcdraft::Consenter],
        own_tls_cert: &[u8],
    ) -> Result<Members, OrdererError> {
        let out = consenters(channel, list)?;
        let me = out
            .iter()
            .find(|c| c.server_cert == own_tls_cert)
            .map(|c| c.id)
            .ok_or_else(|| {
                let listed: Vec<&str> = out.iter().map(|c| c.endpoint.as_str()).collect();
                OrdererError::Refused(format!(
                    "this orderer is not a consenter of channel {channel}: no consenter's ServerTLSCert is this node's TLS certificate (consenters: {})",
                    listed.join(", ")
                ))
            })?;
        Ok(Members {
            me,
            consenters: out,
            retired: Vec::new(),
        })
    }

    /// The consenters of `list` as seen by node `me`, which may not be among them (an orderer the
    /// configuration removed, carrying out or waiting for its removal).
    pub fn with_node(
        channel: &str,
        list: &[etcdraft::Consenter],
        me: NodeId,
    ) -> Result<Members, OrdererError> {
        Ok(Members {
            me,
            consenters: consenters(channel, list)?,
            retired: Vec::new(),
        })
    }

    /// These members after a configuration change to `next`: consenters no longer listed become
    /// retired (see [`Members::retire_departed`]); this orderer keeps its id.
    pub fn succeeded_by(&self, next: Members) -> Members {
        let mut retired: Vec<Consenter> = self
            .consenters
            .iter()
            .chain(&self.retired)
            .filter(|c| next.get(c.id).is_none())
            .cloned()
            .collect();
        retired.dedup_by_key(|c| c.id);
        Members { retired, ..next }
    }

    /// Forgets retired consenters that `in_raft` says have left the Raft membership.
    pub fn retire_departed(&self, in_raft: impl Fn(NodeId) -> bool) -> Option<Members> {
        if self.retired.iter().all(|c| in_raft(c.id)) {
            return None;
        }
        let mut next = self.clone();
        next.retired.retain(|c| in_raft(c.id));
        Some(next)
    }

    /// This orderer's node id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// The first consenter of the list: the one that forms a new group.
    pub fn first(&self) -> NodeId {
        self.consenters.first().map_or(self.me, |c| c.id)
    }

    /// Number of consenters.
    pub fn len(&self) -> usize {
        self.consenters.len()
    }

    /// Whether the set is empty (never, for a set built by [`Members::from_config`]).
    pub fn is_empty(&self) -> bool {
        self.consenters.is_empty()
    }

    /// Consenter `id` (retired ones included).
    pub fn get(&self, id: NodeId) -> Option<&Consenter> {
        self.consenters.iter().find(|c| c.id == id)
    }

    /// Every consenter but this orderer.
    pub fn others(&self) -> impl Iterator<Item = &Consenter> {
        self.consenters.iter().filter(move |c| c.id != self.me)
    }

    /// Every orderer this one may have to call: the other consenters and the retired ones.
    pub fn peers(&self) -> impl Iterator<Item = &Consenter> {
        self.others().chain(self.retired.iter())
    }

    /// The consenter (or retired consenter) whose client certificate is `der`.
    pub fn by_client_cert(&self, der: &[u8]) -> Option<NodeId> {
        self.consenters
            .iter()
            .chain(&self.retired)
            .find(|c| c.client_cert == der)
            .map(|c| c.id)
    }

    /// Whether `id` is a current consenter (not a retired one).
    pub fn is_consenter(&self, id: NodeId) -> bool {
        self.get(id).is_some()
    }

    /// The endpoint of node `id`, for logs and ChannelInfo (`node <id>` if unknown).
    pub fn name(&self, id: NodeId) -> String {
        self.consenters
            .iter()
            .chain(&self.retired)
            .find(|c| c.id == id)
            .map_or_else(|| format!("node {id}"), |c| c.endpoint.clone())
    }

    /// Node ids of the consenters.
    pub fn ids(&self) -> BTreeSet<NodeId> {
        self.consenters.iter().map(|c| c.id).collect()
    }

    /// The voters of the group, as openraft's membership.
    pub fn nodes(&self) -> BTreeMap<NodeId, openraft::BasicNode> {
        self.consenters
            .iter()
            .map(|c| (c.id, openraft::BasicNode::new(&c.endpoint)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use carechain_channel::config::{OrdererParams, RaftOptions};
    use carechain_proto::orderer::BatchSize;

    use super::*;
    use crate::raft::sim::{pem, test_cert as cert};

    fn params(tick_ms: u64, election: u32, heartbeat: u32, snapshot: u32) -> OrdererParams {
        OrdererParams {
            consensus_type: "etcdraft".into(),
            batch_size: BatchSize {
                max_message_count: 10,
                absolute_max_bytes: 1024 * 1024,
                preferred_max_bytes: 512 * 1024,
            },
            batch_timeout: Duration::from_secs(2),
            consenters: vec![],
            raft: RaftOptions {
                tick_interval: Duration::from_millis(tick_ms),
                election_tick: election,
                heartbeat_tick: heartbeat,
                max_inflight_blocks: 5,
                snapshot_interval_size: snapshot,
            },
        }
    }

    #[test]
    fn fabric_defaults_map_onto_openraft_timers() {
        let s = RaftSettings::from_channel(&params(500, 10, 1, 0), 100 * 1024 * 1024);
        assert_eq!(s.election_timeout(), Duration::from_secs(5));
        assert_eq!(s.heartbeat(), Duration::from_millis(500));
        assert_eq!(s.snapshot_interval, DEFAULT_SNAPSHOT_INTERVAL);
        assert_eq!(s.max_payload_entries, 8);
        let c = s.openraft_config("care").unwrap();
        assert_eq!(
            (
                c.heartbeat_interval,
                c.election_timeout_min,
                c.election_timeout_max
            ),
            (500, 5000, 10_000)
        );
        assert!(matches!(c.snapshot_policy, openraft::SnapshotPolicy::Never));
        let tiny = RaftSettings::from_channel(&params(100, 10, 1, 4096), 2 * 1024 * 1024);
        assert_eq!((tiny.snapshot_interval, tiny.max_payload_entries), (4096, 1));
    }

    #[test]
    fn heartbeat_must_be_shorter_than_the_election_timeout() {
        let s = RaftSettings::from_channel(&params(100, 3, 3, 0), 1 << 20);
        let err = s.openraft_config("care").unwrap_err();
        assert!(
            err.to_string()
                .contains("HeartbeatTick (3) must be below ElectionTick (3)"),
            "{err}"
        );
    }

    fn consenter(host: &str, client: &[u8], server: &[u8]) -> etcdraft::Consenter {
        etcdraft::Consenter {
            host: host.into(),
            port: 7052,
            client_tls_cert: pem(client).into(),
            server_tls_cert: pem(server).into(),
        }
    }

    #[test]
    fn node_ids_follow_the_consenter_list_and_certificates_identify_nodes() {
        let (c0, c1, c2) = (cert("o0"), cert("o1"), cert("o2"));
        let set = [
            consenter("o0", &c0, &c0),
            consenter("o1", &c1, &c1),
            consenter("o2", &c2, &c2),
        ];
        let m = Members::from_config("care", &set, &c1).unwrap();
        let (n0, n1, n2) = (node_id(&c0), node_id(&c1), node_id(&c2));
        assert_eq!((m.me(), m.len(), m.first()), (n1, 3, n0));
        assert_eq!(m.by_client_cert(&c2), Some(n2));
        assert_eq!(m.by_client_cert(&cert("stranger")), None);
        assert_eq!(m.others().map(|c| c.id).collect::<Vec<_>>(), vec![n0, n2]);
        assert_eq!(m.name(n0), "o0:7052");
        assert_eq!(m.ids(), BTreeSet::from([n0, n1, n2]));
        assert!(m.nodes().keys().all(|id| m.is_consenter(*id)));
        // Ids follow the certificate, not the position: removing o0 renumbers nobody.
        let without_first = Members::from_config("care", &set[1..], &c1).unwrap();
        assert_eq!(without_first.ids(), BTreeSet::from([n1, n2]));
        assert_eq!((without_first.me(), without_first.first()), (n1, n1));
        assert!(is_consenter(&set, &c2) && !is_consenter(&set[1..], &c0));

        let err = Members::from_config("care", &set, &cert("outsider")).unwrap_err();
        assert!(matches!(&err, OrdererError::Refused(m) if m.contains("not a consenter of channel care")));
        let dup = [consenter("o0", &c0, &c0), consenter("o1", &c0, &c1)];
        let err = Members::from_config("care", &dup, &c0).unwrap_err();
        assert!(
            err.to_string()
                .contains("o0:7052 and o1:7052 share a TLS certificate"),
            "{err}"
        );
        let mut broken = consenter("o9", &c0, &c0);
        broken.client_tls_cert = bytes::Bytes::from_static(b"not a pem");
        let err = Members::from_config("care", &[broken], &c0).unwrap_err();
        assert!(
            err.to_string().contains("o9:7052 has no usable ClientTLSCert"),
            "{err}"
        );
        assert!(Members::from_config("care", &[], &c0).is_err());
    }

    #[test]
    fn removed_consenters_stay_callers_until_they_leave_the_raft_membership() {
        let (c0, c1, c2) = (cert("o0"), cert("o1"), cert("o2"));
        let set = [
            consenter("o0", &c0, &c0),
            consenter("o1", &c1, &c1),
            consenter("o2", &c2, &c2),
        ];
        let before = Members::from_config("care", &set, &c1).unwrap();
        let after = before.succeeded_by(Members::from_config("care", &set[1..], &c1).unwrap());
        let n0 = node_id(&c0);
        assert!(!after.is_consenter(n0));
        assert_eq!(
            after.by_client_cert(&c0),
            Some(n0),
            "a retired leader still replicates"
        );
        assert_eq!(after.name(n0), "o0:7052");
        assert_eq!(after.peers().count(), 2);
        assert_eq!(after.retire_departed(|_| true), None);
        let gone = after.retire_departed(|id| id != n0).unwrap();
        assert_eq!(gone.by_client_cert(&c0), None);
        assert_eq!(node_id(&c0), node_id(&c0.clone()));
        assert_ne!(node_id(&c0), 0);
    }
}
