//! The channel configuration as the Raft group sees it: Fabric's `EtcdRaft` options mapped onto
//! openraft's timers, and the consenter set turned into node ids and TLS identities. Both come from
//! the channel's config block, so every orderer of the channel derives the same values. Pure: no I/O.
//!
//! Node ids are per channel, as in Fabric: consenter `i` of `Orderer.EtcdRaft.Consenters` is node
//! `i + 1`. An orderer finds its own id by its TLS server certificate, and recognises a calling orderer
//! by the client certificate of its TLS session.

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_channel::config::OrdererParams;
use carechain_proto::etcdraft;

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

/// A channel's consenters and which of them this orderer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Members {
    me: NodeId,
    consenters: Vec<Consenter>,
}

impl Members {
    /// The consenters of a channel, identifying this orderer by `own_tls_cert` (DER). Refuses sets in
    /// which a certificate does not parse, a certificate appears twice, or this orderer is absent.
    pub fn from_config(
        channel: &str,
        consenters: &[etcdraft::Consenter],
        own_tls_cert: &[u8],
    ) -> Result<Members, OrdererError> {
        let mut out: Vec<Consenter> = Vec::with_capacity(consenters.len());
        for (i, c) in consenters.iter().enumerate() {
            let endpoint = format!("{}:{}", c.host, c.port);
            let der = |pem: &[u8], what: &str| {
                carechain_crypto::pem::first_certificate(pem).map_err(|e| {
                    OrdererError::BadRequest(format!(
                        "channel {channel}: consenter {endpoint} has no usable {what}: {e}"
                    ))
                })
            };
            let consenter = Consenter {
                id: i as NodeId + 1,
                host: c.host.clone(),
                endpoint: endpoint.clone(),
                client_cert: der(&c.client_tls_cert, "ClientTLSCert")?,
                server_cert: der(&c.server_tls_cert, "ServerTLSCert")?,
            };
            if let Some(dup) = out
                .iter()
                .find(|o| o.client_cert == consenter.client_cert || o.server_cert == consenter.server_cert)
            {
                return Err(OrdererError::BadRequest(format!(
                    "channel {channel}: consenters {} and {endpoint} share a TLS certificate",
                    dup.endpoint
                )));
            }
            out.push(consenter);
        }
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
        Ok(Members { me, consenters: out })
    }

    /// This orderer's node id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Number of consenters.
    pub fn len(&self) -> usize {
        self.consenters.len()
    }

    /// Whether the set is empty (never, for a set built by [`Members::from_config`]).
    pub fn is_empty(&self) -> bool {
        self.consenters.is_empty()
    }

    /// Consenter `id`.
    pub fn get(&self, id: NodeId) -> Option<&Consenter> {
        self.consenters.iter().find(|c| c.id == id)
    }

    /// Every consenter but this orderer.
    pub fn others(&self) -> impl Iterator<Item = &Consenter> {
        self.consenters.iter().filter(move |c| c.id != self.me)
    }

    /// The consenter whose client certificate is `der`.
    pub fn by_client_cert(&self, der: &[u8]) -> Option<NodeId> {
        self.consenters
            .iter()
            .find(|c| c.client_cert == der)
            .map(|c| c.id)
    }

    /// The endpoint of node `id`, for logs and ChannelInfo (`node <id>` if unknown).
    pub fn name(&self, id: NodeId) -> String {
        self.get(id)
            .map_or_else(|| format!("node {id}"), |c| c.endpoint.clone())
    }

    /// The voters of the group, as openraft's initial membership.
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
        assert_eq!((m.me(), m.len()), (2, 3));
        assert_eq!(m.by_client_cert(&c2), Some(3));
        assert_eq!(m.by_client_cert(&cert("stranger")), None);
        assert_eq!(m.others().map(|c| c.id).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(m.name(1), "o0:7052");
        assert_eq!(m.nodes().keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);

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
    }
}
