//! The in-memory multi-orderer harness of the Raft tests: several complete ordering pipelines (Raft
//! consensus, chain actor, RocksDB block store and Raft log in temporary directories) in one process,
//! connected by an in-memory network that drops, delays and reorders messages, partitions nodes, and
//! crashes and restarts them. It exercises the same code as a real orderer minus gRPC and TLS; the
//! fault schedule comes from a seeded RNG so a failing seed can be replayed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use carechain_channel::block::new_block;
use carechain_crypto::issue::{CertificateAuthority, LeafRequest, Subject, Validity};
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use carechain_proto::etcdraft;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::log_store::RaftDb;
use super::network::{ClusterClient, ClusterError, RaftKind};
use super::{Members, NodeId, RaftConsensus, RaftParams, RaftSettings};
use crate::chain::{Chain, ChainParams};
use crate::consensus::{ChainLink, Consensus};
use crate::cutter::BatchConfig;
use crate::store::BlockStore;

/// What the network does to Raft messages (forwards and block pulls only see partitions).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Probability that a request is lost (the caller times out).
    pub drop_request: f64,
    /// Probability that the answer is lost after the request was handled.
    pub drop_reply: f64,
    /// Each message waits a random time up to this, so concurrent messages overtake each other.
    pub max_delay: Duration,
}

struct NetState {
    nodes: HashMap<NodeId, Arc<RaftConsensus>>,
    isolated: HashSet<NodeId>,
    faults: Faults,
    rng: StdRng,
}

/// The in-memory network.
#[derive(Clone)]
pub struct SimNet {
    state: Arc<Mutex<NetState>>,
}

/// How one message fares.
struct Fate {
    node: Arc<RaftConsensus>,
    delay: Duration,
    drop_request: bool,
    drop_reply: bool,
}

impl SimNet {
    fn new(seed: u64) -> SimNet {
        SimNet {
            state: Arc::new(Mutex::new(NetState {
                nodes: HashMap::new(),
                isolated: HashSet::new(),
                faults: Faults::default(),
                rng: StdRng::seed_from_u64(seed),
            })),
        }
    }

    fn fate(&self, from: NodeId, to: NodeId, raft: bool) -> Result<Fate, ClusterError> {
        let mut s = self.state.lock();
        let unreachable = |detail: &str| ClusterError::Unreachable {
            node: format!("node {to}"),
            detail: detail.into(),
        };
        if s.isolated.contains(&from) || s.isolated.contains(&to) {
            return Err(unreachable("partitioned"));
        }
        let node = s.nodes.get(&to).cloned().ok_or_else(|| unreachable("down"))?;
        let f = if raft { s.faults } else { Faults::default() };
        let max = f.max_delay.as_micros() as u64;
        Ok(Fate {
            node,
            delay: Duration::from_micros(if max == 0 { 0 } else { s.rng.random_range(0..=max) }),
            drop_request: s.rng.random_bool(f.drop_request),
            drop_reply: s.rng.random_bool(f.drop_reply),
        })
    }
}

struct SimClient {
    from: NodeId,
    net: SimNet,
}

fn failed(to: NodeId, detail: impl std::fmt::Display) -> ClusterError {
    ClusterError::Failed {
        node: format!("node {to}"),
        detail: detail.to_string(),
    }
}

impl ClusterClient for SimClient {
    fn raft(
        &self,
        to: NodeId,
        kind: RaftKind,
        payload: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Bytes, ClusterError>> {
        Box::pin(async move {
            let fate = self.net.fate(self.from, to, true)?;
            let call = async {
                tokio::time::sleep(fate.delay).await;
                if fate.drop_request {
                    futures::future::pending::<()>().await;
                }
                let reply = fate.node.handle_raft(self.from, kind, &payload).await;
                if fate.drop_reply {
                    futures::future::pending::<()>().await;
                }
                reply.map(Bytes::from).map_err(|e| failed(to, e))
            };
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| Err(failed(to, "timed out")))
        })
    }

    fn forward(
        &self,
        to: NodeId,
        envelope: Bytes,
        config_seq: u64,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            let fate = self.net.fate(self.from, to, false)?;
            fate.node
                .accept_forwarded(self.from, envelope, config_seq)
                .await
                .map_err(|e| failed(to, e))
        })
    }

    fn pull_blocks(
        &self,
        to: NodeId,
        start: u64,
        end: u64,
    ) -> BoxFuture<'_, Result<Vec<Block>, ClusterError>> {
        Box::pin(async move {
            let fate = self.net.fate(self.from, to, false)?;
            let (blocks, _) = fate
                .node
                .serve_blocks(start, end)
                .await
                .map_err(|e| failed(to, e))?;
            Ok(blocks)
        })
    }
}

/// A self-signed certificate (DER) for a synthetic consenter.
pub fn test_cert(name: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
    params.self_signed(&key).expect("certificate").der().to_vec()
}

/// PEM of a DER certificate, as channel configurations carry them.
pub fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n").into_bytes()
}

/// A real channel configuration (MSPs from cryptogen) with the harness's batch rules: the chain takes
/// its batch settings and in-flight limit from the configuration.
fn sim_config(batch: BatchConfig) -> Arc<carechain_channel::ChannelConfig> {
    static BASE: std::sync::OnceLock<carechain_channel::ChannelConfig> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        let crypto = "OrdererOrgs:\n  - Name: Orderer\n    Domain: o.sim\n    Specs:\n      - Hostname: orderer0\nPeerOrgs:\n  - Name: HospitalA\n    Domain: a.sim\n    Template: {Count: 1}\n";
        std::fs::write(p.join("crypto.yaml"), crypto).expect("crypto spec");
        carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false).expect("cryptogen");
        let tls = "crypto/ordererOrganizations/o.sim/orderers/orderer0.o.sim/tls/server.crt";
        let configtx = format!(
            "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/o.sim/msp\n  - Name: HospitalA\n    ID: HospitalAMSP\n    MSPDir: crypto/peerOrganizations/a.sim/msp\nProfiles:\n  Sim:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: o0, Port: 7052, ClientTLSCert: {tls}, ServerTLSCert: {tls}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [HospitalA]\n"
        );
        std::fs::write(p.join("configtx.yaml"), configtx).expect("configtx");
        let tx = carechain_channel::configtx::ConfigTx::load(&p.join("configtx.yaml")).expect("configtx loads");
        let config = carechain_channel::genesis::build_config(&tx, "Sim", "sim").expect("config");
        carechain_channel::ChannelConfig::from_config("sim", &config).expect("config parses")
    });
    let mut config = base.clone();
    config.orderer.batch_size.max_message_count = batch.max_message_count;
    config.orderer.batch_size.absolute_max_bytes = batch.absolute_max_bytes;
    config.orderer.batch_size.preferred_max_bytes = batch.preferred_max_bytes;
    config.orderer.batch_timeout = batch.timeout;
    config.orderer.raft.max_inflight_blocks = 5;
    Arc::new(config)
}

/// One running orderer of the cluster.
struct SimNode {
    consensus: Arc<RaftConsensus>,
    store: Arc<BlockStore>,
    chain: JoinHandle<()>,
    _shutdown: watch::Sender<bool>,
}

/// Several orderers of one channel on the in-memory network.
pub struct SimCluster {
    net: SimNet,
    dirs: Vec<tempfile::TempDir>,
    nodes: Vec<Option<SimNode>>,
    consenters: Vec<etcdraft::Consenter>,
    certs: Vec<Vec<u8>>,
    /// Node id of each orderer.
    ids: Vec<NodeId>,
    genesis: Block,
    signer: Arc<SigningIdentity>,
    /// Raft timing and sizes.
    pub settings: RaftSettings,
    /// Batch rules of the channel.
    pub batch: BatchConfig,
}

/// A synthetic orderer signing identity.
pub fn test_signer() -> SigningIdentity {
    let ca = CertificateAuthority::new_root(
        &Subject::new("ca.orderer.synthetic", "orderer.synthetic"),
        Validity::default(),
    )
    .expect("CA");
    let (cert, key) = ca
        .issue_leaf(&LeafRequest::signing(
            Subject::new("orderer.synthetic", "orderer.synthetic").with_ou("orderer"),
        ))
        .expect("leaf");
    SigningIdentity::new("OrdererMSP", cert.pem.as_bytes(), key).expect("signer")
}

impl SimCluster {
    /// `n` orderers, not started yet.
    pub fn new(n: usize, seed: u64, settings: RaftSettings, batch: BatchConfig) -> SimCluster {
        let certs: Vec<Vec<u8>> = (0..n).map(|i| test_cert(&format!("orderer{i}"))).collect();
        let consenters = certs
            .iter()
            .enumerate()
            .map(|(i, c)| etcdraft::Consenter {
                host: format!("orderer{i}"),
                port: 7052,
                client_tls_cert: pem(c).into(),
                server_tls_cert: pem(c).into(),
            })
            .collect();
        let ids = certs.iter().map(|c| super::settings::node_id(c)).collect();
        SimCluster {
            ids,
            net: SimNet::new(seed),
            dirs: (0..n).map(|_| tempfile::tempdir().expect("tempdir")).collect(),
            nodes: (0..n).map(|_| None).collect(),
            consenters,
            certs,
            genesis: new_block(0, &[], vec![Bytes::from_static(b"synthetic genesis")]),
            signer: Arc::new(test_signer()),
            settings,
            batch,
        }
    }

    /// Changes what the network does to Raft messages from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.net.state.lock().faults = faults;
    }

    /// Cuts node `i` off from every other node (or reconnects it).
    pub fn isolate(&self, i: usize, isolated: bool) {
        let id = self.ids[i];
        let mut s = self.net.state.lock();
        if isolated {
            s.isolated.insert(id);
        } else {
            s.isolated.remove(&id);
        }
    }

    /// Starts (or restarts) orderer `i` from whatever its directories hold.
    pub async fn start(&mut self, i: usize) {
        let dir = self.dirs[i].path().to_path_buf();
        let store = Arc::new(open_retrying(|| BlockStore::open(&dir.join("chain"), "sim")).await);
        if store.height() == 0 {
            store.append(&self.genesis).expect("genesis");
        }
        let db = open_retrying(|| RaftDb::open(&dir.join("raft"), "sim")).await;
        let (tx_ordered, rx_ordered) = mpsc::channel(1024);
        let (tx_events, rx_events) = mpsc::unbounded_channel();
        let (tx_height, height) = watch::channel(store.height());
        let members = Members::from_config("sim", &self.consenters, &self.certs[i]).expect("members");
        let id = members.me();
        let consensus = RaftConsensus::start(RaftParams {
            channel_id: "sim".into(),
            members,
            settings: self.settings.clone(),
            db,
            store: store.clone(),
            link: ChainLink {
                tx_ordered,
                tx_events,
            },
            height,
            client: Arc::new(SimClient {
                from: id,
                net: self.net.clone(),
            }),
            pull_limit: 64 * 1024,
        })
        .await
        .expect("consensus starts");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let config = sim_config(self.batch);
        let (tx_config, _) = watch::channel(config.clone());
        let chain = Chain::spawn(ChainParams {
            channel_id: "sim".into(),
            store: store.clone(),
            signer: self.signer.clone(),
            config,
            last_config: 0,
            consensus: consensus.clone(),
            rx_ordered,
            rx_events,
            tx_height,
            tx_config,
            shutdown: shutdown_rx,
        });
        self.net.state.lock().nodes.insert(id, consensus.clone());
        self.nodes[i] = Some(SimNode {
            consensus,
            store,
            chain,
            _shutdown: shutdown,
        });
    }

    /// Stops orderer `i` abruptly: no draining, unsynced state as a killed process leaves it.
    pub async fn crash(&mut self, i: usize) {
        let Some(node) = self.nodes[i].take() else { return };
        self.net.state.lock().nodes.remove(&self.ids[i]);
        node.chain.abort();
        let _ = node.chain.await;
        node.consensus.shutdown().await;
    }

    /// The running orderer `i`'s consensus.
    pub fn consensus(&self, i: usize) -> &Arc<RaftConsensus> {
        &self.nodes[i].as_ref().expect("node is running").consensus
    }

    /// Whether orderer `i` runs.
    pub fn running(&self, i: usize) -> bool {
        self.nodes[i].is_some()
    }

    /// The orderer whose chain creates blocks, if exactly one does.
    pub fn leader(&self) -> Option<usize> {
        let leaders: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.running(*i) && self.consensus(*i).role() == crate::consensus::Role::Leader)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// Waits for a leader among the running orderers; `None` after `timeout`.
    pub async fn wait_leader(&self, timeout: Duration) -> Option<usize> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Some(l) = self.leader() {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Orderer `i`'s chain height.
    pub fn height(&self, i: usize) -> u64 {
        self.nodes[i].as_ref().expect("node is running").store.height()
    }

    /// Waits until every running orderer has at least `height` blocks.
    pub async fn wait_height(&self, height: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let done = (0..self.nodes.len())
                .filter(|i| self.running(*i))
                .all(|i| self.height(i) >= height);
            if done {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Orderer `i`'s blocks without their (per-orderer) signatures: identical across orderers.
    pub fn chain(&self, i: usize) -> Vec<Block> {
        let store = &self.nodes[i].as_ref().expect("node is running").store;
        (0..store.height())
            .map(|n| {
                let mut b = store.block(n).expect("read").expect("block");
                b.metadata = None;
                b
            })
            .collect()
    }

    /// Every envelope ordered on orderer `i`, in chain order (genesis excluded).
    pub fn ordered(&self, i: usize) -> Vec<Bytes> {
        self.chain(i)
            .into_iter()
            .skip(1)
            .flat_map(|b| b.data.map(|d| d.data).unwrap_or_default())
            .collect()
    }

    /// Stops every orderer.
    pub async fn stop(&mut self) {
        for i in 0..self.nodes.len() {
            self.crash(i).await;
        }
    }
}

/// Opens a database, waiting while a crashed node's last handles are still being dropped.
async fn open_retrying<T>(open: impl Fn() -> Result<T, crate::OrdererError>) -> T {
    for _ in 0..200 {
        match open() {
            Ok(x) => return x,
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
    open().expect("database opens")
}
