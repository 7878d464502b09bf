//! [`TestNet`]: build and run a consortium network for one test.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carechain::admin::NodeAdmin;
use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::{build_config, genesis_block};
use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::GatewayClient;
use carechain_peer::{PeerConfig, TlsFiles};
use carechain_proto::common::Block;
use carechain_transport::ClientTls;
use prost::Message;

use crate::layout::{domain, free_port, node, orderer_node, write_configtx, write_crypto_spec};

/// What network to build.
#[derive(Clone, Debug)]
pub struct NetSpec {
    /// Application org names (`Org1`, `Org2`, ...); each gets one peer, an admin and `User1`.
    pub orgs: Vec<String>,
    /// Number of orderers.
    pub orderers: usize,
    /// Channel name.
    pub channel: String,
    /// Batch size.
    pub max_message_count: u32,
    /// Batch timeout, e.g. `200ms`.
    pub batch_timeout: String,
    /// Absolute max bytes of one envelope.
    pub absolute_max_bytes: u32,
    /// Extra profile YAML for the Application section (e.g. custom policies), indented 6 spaces.
    pub application_extra: String,
    /// The channel's `EtcdRaft.Options` (name, value). Short ticks by default, so an election takes
    /// about a second (Fabric's defaults, 500ms / 10 / 1, make it 5 to 10 s).
    pub raft_options: Vec<(String, String)>,
    /// Named users with ABAC attributes, issued by their org's CA: (org, name, OU `client`|`admin`,
    /// attributes). Their MSP is `users/<name>@<domain>/msp`; [`TestNet::user`] loads them by name.
    pub users: Vec<NamedUser>,
    /// Application orgs whose crypto material and peer exist (the peer runs) but which are not in the
    /// channel's genesis configuration: candidates for a config update ([`TestNet::extra_peers`]).
    pub extra_orgs: Vec<String>,
    /// Orderers whose crypto material and process configuration exist (orderer `n..n+k` of the orderer
    /// org; the process runs) but which are not consenters nor listed endpoints of the channel
    /// ([`TestNet::extra_orderers`]).
    pub extra_orderers: usize,
}

/// A named user of the test network's crypto material.
#[derive(Clone, Debug)]
pub struct NamedUser {
    /// Org name (as in [`NetSpec::orgs`]).
    pub org: String,
    /// User name, e.g. `drsmith`.
    pub name: String,
    /// `client` or `admin`.
    pub ou: String,
    /// Attributes, e.g. `[("role", "doctor")]`.
    pub attrs: Vec<(String, String)>,
}

impl NamedUser {
    /// A client of `org` with `attrs`.
    pub fn client(org: &str, name: &str, attrs: &[(&str, &str)]) -> NamedUser {
        NamedUser {
            org: org.into(),
            name: name.into(),
            ou: "client".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Default for NetSpec {
    fn default() -> Self {
        NetSpec {
            orgs: vec!["Org1".into(), "Org2".into()],
            orderers: 1,
            channel: "testchannel".into(),
            max_message_count: 100,
            batch_timeout: "200ms".into(),
            absolute_max_bytes: 1024 * 1024,
            application_extra: String::new(),
            raft_options: [
                ("TickInterval", "100ms"),
                ("ElectionTick", "10"),
                ("HeartbeatTick", "2"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec(),
            users: Vec::new(),
            extra_orgs: Vec::new(),
            extra_orderers: 0,
        }
    }
}

/// One node process.
pub struct Node {
    /// Node name.
    pub name: String,
    /// `orderer` or `peer`.
    pub kind: &'static str,
    /// Client address.
    pub address: SocketAddr,
    /// Config file.
    pub config: PathBuf,
    /// Log file.
    pub log: PathBuf,
    /// MSP id of its org.
    pub msp_id: String,
    /// Org's admin MSP dir.
    pub admin_msp: PathBuf,
    /// Org's TLS CA.
    pub tls_ca: PathBuf,
    /// An orderer's cluster (orderer-to-orderer) address.
    pub cluster: Option<SocketAddr>,
    pub(crate) child: Option<Child>,
}

impl Node {
    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

/// A running test network.
pub struct TestNet {
    /// Everything lives here (removed on drop).
    pub root: tempfile::TempDir,
    /// The spec it was built from.
    pub spec: NetSpec,
    /// Orderers.
    pub orderers: Vec<Node>,
    /// Peers, one per org, in `spec.orgs` order.
    pub peers: Vec<Node>,
    /// The channel's genesis block.
    pub genesis: Block,
    /// Peers of [`NetSpec::extra_orgs`], running but not joined (see [`TestNet::promote_peer`]).
    pub extra_peers: Vec<Node>,
    /// Orderers of [`NetSpec::extra_orderers`], running but not joined.
    pub extra_orderers: Vec<Node>,
}

/// The `carechain` binary next to the test executable (`target/<profile>/carechain`).
pub fn binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable has no parent dir")?;
    let bin = dir.join("carechain");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --bin carechain)",
            bin.display()
        );
    }
    Ok(bin)
}

impl TestNet {
    /// Generates material, starts every node, joins the channel and waits until peers hold block 0.
    /// Ports are picked free and then bound by the node processes, so another test can take one in
    /// between: a start that fails is retried with new ports (a real fault fails every attempt).
    pub async fn start(spec: NetSpec) -> anyhow::Result<TestNet> {
        let mut attempt = 1;
        loop {
            match Self::start_once(spec.clone()).await {
                Ok(net) => return Ok(net),
                Err(e) if attempt < 3 => {
                    eprintln!("test network start attempt {attempt} failed, retrying: {e:#}");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn start_once(spec: NetSpec) -> anyhow::Result<TestNet> {
        carechain_transport::install_crypto_provider();
        let root = tempfile::tempdir()?;
        let dir = root.path().to_path_buf();
        write_crypto_spec(&dir, &spec)?;
        carechain_crypto::cryptogen::generate(&dir.join("crypto-config.yaml"), &dir.join("crypto"), false)?;
        let mut orderers = Vec::new();
        let mut cluster_ports = Vec::new();
        for i in 0..spec.orderers {
            let (n, port, home) = orderer_node(&dir, i)?;
            cluster_ports.push((port, home));
            orderers.push(n);
        }
        let mut extra_orderers = Vec::new();
        for i in spec.orderers..spec.orderers + spec.extra_orderers {
            extra_orderers.push(orderer_node(&dir, i)?.0);
        }
        let mut peers = Vec::new();
        let mut extra_peers = Vec::new();
        for (k, org) in spec.orgs.iter().chain(&spec.extra_orgs).enumerate() {
            let d = domain(org);
            let name = format!("peer0.{d}");
            let home = dir
                .join("crypto/peerOrganizations")
                .join(&d)
                .join("peers")
                .join(&name);
            let cfg = PeerConfig {
                name: name.clone(),
                msp_id: format!("{org}MSP"),
                msp_dir: home.join("msp"),
                tls: TlsFiles {
                    cert: home.join("tls/server.crt"),
                    key: home.join("tls/server.key"),
                    ca: home.join("tls/ca.crt"),
                },
                listen_address: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
                data_dir: dir.join("data").join(&name),
                max_message_size: 100 * 1024 * 1024,
                sync_writes: true,
                endorsement_timeout_ms: 10_000,
                broadcast_timeout_ms: 10_000,
                operations_listen_address: None,
            };
            let path = dir.join(format!("{name}.yaml"));
            std::fs::write(&path, serde_yaml_ng::to_string(&cfg)?)?;
            let n = node(
                &dir,
                &name,
                "peer",
                cfg.listen_address,
                path,
                &format!("{org}MSP"),
                &d,
                false,
            );
            if k < spec.orgs.len() {
                peers.push(n);
            } else {
                extra_peers.push(n);
            }
        }
        write_configtx(&dir, &spec, &orderers, &peers, &cluster_ports)?;
        let tx = ConfigTx::load(&dir.join("configtx.yaml"))?;
        let genesis = genesis_block(&spec.channel, build_config(&tx, "Test", &spec.channel)?);
        std::fs::write(dir.join("genesis.block"), genesis.encode_to_vec())?;
        let mut net = TestNet {
            root,
            spec,
            orderers,
            peers,
            genesis,
            extra_peers,
            extra_orderers,
        };
        for i in 0..net.orderers.len() {
            net.start_node("orderer", i)?;
        }
        for i in 0..net.peers.len() {
            net.start_node("peer", i)?;
        }
        for i in 0..net.extra_orderers.len() {
            net.start_node("extra-orderer", i)?;
        }
        for i in 0..net.extra_peers.len() {
            net.start_node("extra-peer", i)?;
        }
        for i in 0..net.orderers.len() {
            net.admin("orderer", i)
                .await?
                .join(net.genesis.clone(), None)
                .await?;
        }
        for i in 0..net.peers.len() {
            net.admin("peer", i)
                .await?
                .join(net.genesis.clone(), None)
                .await?;
        }
        net.wait_height(1, Duration::from_secs(20)).await?;
        net.wait_orderer_leader(Duration::from_secs(30)).await?;
        net.deploy("basic", 1, None).await?;
        Ok(net)
    }

    fn nodes(&mut self, kind: &str) -> &mut Vec<Node> {
        match kind {
            "orderer" => &mut self.orderers,
            "extra-orderer" => &mut self.extra_orderers,
            "extra-peer" => &mut self.extra_peers,
            _ => &mut self.peers,
        }
    }

    /// Makes extra peer `j` (its org now in the channel, its peer joined) a regular member: it moves to
    /// [`TestNet::peers`] and its org to `spec.orgs`; returns its new index.
    pub fn promote_peer(&mut self, j: usize) -> usize {
        let n = self.extra_peers.remove(j);
        let org = self.spec.extra_orgs.remove(j);
        self.peers.push(n);
        self.spec.orgs.push(org);
        self.peers.len() - 1
    }

    /// Makes extra orderer `j` (now a consenter, joined) a regular orderer; returns its new index.
    pub fn promote_orderer(&mut self, j: usize) -> usize {
        let n = self.extra_orderers.remove(j);
        self.orderers.push(n);
        self.spec.extra_orderers -= 1;
        self.spec.orderers += 1;
        self.orderers.len() - 1
    }

    /// Starts (or restarts) a node process and waits until its port accepts connections.
    pub fn start_node(&mut self, kind: &str, i: usize) -> anyhow::Result<()> {
        let bin = binary()?;
        let n = &mut self.nodes(kind)[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&n.log)?;
        let child = Command::new(bin)
            .args([n.kind, "start", "--config"])
            .arg(&n.config)
            .env("CARECHAIN_LOG", "info")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", n.name))?;
        n.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready when this process says it listens (the port alone could be another test's node that
        // took it between `free_port` and our bind) and the port accepts connections.
        let listening = format!("listening on {}", n.address);
        let said_so = |n: &Node| std::fs::read_to_string(&n.log).is_ok_and(|l| l.contains(&listening));
        while !said_so(n) || TcpStream::connect(n.address).is_err() {
            if Instant::now() > deadline || !n.is_running() {
                bail!(
                    "{} did not start; log:\n{}",
                    n.name,
                    std::fs::read_to_string(&n.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// kill -9.
    pub fn kill9(&mut self, kind: &str, i: usize) {
        if let Some(mut c) = self.nodes(kind)[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Node `i` of `kind` (`orderer`, `peer`, `extra-orderer` or `extra-peer`).
    pub fn node(&self, kind: &str, i: usize) -> &Node {
        match kind {
            "orderer" => &self.orderers[i],
            "extra-orderer" => &self.extra_orderers[i],
            "extra-peer" => &self.extra_peers[i],
            _ => &self.peers[i],
        }
    }

    /// TLS settings of a client of node `i` of `kind` (server-authenticated TLS, no client certificate).
    pub fn client_tls(&self, kind: &str, i: usize) -> anyhow::Result<ClientTls> {
        tls_to(self.node(kind, i))
    }

    /// An admin session with a node, as its org's admin.
    pub async fn admin(&self, kind: &str, i: usize) -> anyhow::Result<NodeAdmin> {
        let n = self.node(kind, i);
        let signer = Arc::new(SigningIdentity::load(&n.admin_msp, n.msp_id.clone())?);
        NodeAdmin::connect(&n.address.to_string(), &tls_to(n)?, signer).await
    }

    /// A gateway client on org `i`'s peer acting as `user` (e.g. `User1`, `Admin`).
    pub async fn gateway(&self, i: usize, user: &str) -> anyhow::Result<GatewayClient> {
        self.gateway_as(i, self.user(i, user)?).await
    }

    /// A gateway client on peer `i` acting as any identity (e.g. one the channel does not know).
    pub async fn gateway_as(&self, i: usize, signer: SigningIdentity) -> anyhow::Result<GatewayClient> {
        let n = &self.peers[i];
        Ok(GatewayClient::connect(&n.address.to_string(), &tls_to(n)?, Arc::new(signer)).await?)
    }

    /// A user's signing identity from org `i`.
    pub fn user(&self, i: usize, user: &str) -> anyhow::Result<SigningIdentity> {
        Ok(SigningIdentity::load(
            &self.user_msp(i, user),
            format!("{}MSP", self.spec.orgs[i]),
        )?)
    }

    /// A user's MSP directory (`signcerts/`, `keystore/priv_sk`, ...) in org `i`.
    pub fn user_msp(&self, i: usize, user: &str) -> PathBuf {
        let d = domain(&self.spec.orgs[i]);
        self.root
            .path()
            .join("crypto/peerOrganizations")
            .join(&d)
            .join("users")
            .join(format!("{user}@{d}"))
            .join("msp")
    }

    /// The committed height of the channel on peer `i` (through its admin service).
    pub async fn height(&self, i: usize) -> anyhow::Result<u64> {
        let info = self.admin("peer", i).await?.info(&self.spec.channel).await?;
        Ok(info.info.map_or(0, |x| x.height))
    }

    /// Waits until every running peer reaches at least `height`.
    pub async fn wait_height(&self, height: u64, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        for i in 0..self.peers.len() {
            loop {
                if self.height(i).await.unwrap_or(0) >= height {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("peer {i} did not reach height {height}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// The role (`leader` / `follower`) orderer `i` reports for the channel (Admin ChannelInfo).
    pub async fn orderer_role(&self, i: usize) -> anyhow::Result<String> {
        Ok(self
            .admin("orderer", i)
            .await?
            .info(&self.spec.channel)
            .await?
            .role)
    }

    /// Waits until one of the orderers reports it leads the channel's Raft group; returns its index.
    pub async fn wait_orderer_leader(&self, timeout: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            for i in 0..self.orderers.len() {
                if self.orderer_role(i).await.is_ok_and(|r| r == "leader") {
                    return Ok(i);
                }
            }
            if Instant::now() > deadline {
                bail!("no orderer leads channel {} after {timeout:?}", self.spec.channel);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A node's log so far.
    pub fn log(&self, kind: &str, i: usize) -> String {
        std::fs::read_to_string(&self.node(kind, i).log).unwrap_or_default()
    }

    /// Every node's log, labelled, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let kinds = [
            ("orderer", self.orderers.len()),
            ("peer", self.peers.len()),
            ("extra-orderer", self.extra_orderers.len()),
            ("extra-peer", self.extra_peers.len()),
        ];
        for (kind, n) in kinds {
            for i in 0..n {
                out.push_str(&format!(
                    "\n===== {} =====\n{}",
                    self.node(kind, i).name,
                    self.log(kind, i)
                ));
            }
        }
        out
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        let all = self.orderers.iter_mut().chain(self.peers.iter_mut());
        for n in all
            .chain(self.extra_orderers.iter_mut())
            .chain(self.extra_peers.iter_mut())
        {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn tls_to(n: &Node) -> anyhow::Result<ClientTls> {
    Ok(ClientTls {
        ca_pem: std::fs::read(&n.tls_ca)?,
        identity: None,
        server_name: Some("127.0.0.1".into()),
        max_message_bytes: 100 * 1024 * 1024,
    })
}
