//! Fixture for the ordering-node tests: a synthetic consortium made with cryptogen in a tempdir (an
//! orderer org with one orderer, the application org HospitalA, an org outside the channel, and a rogue
//! CA that claims HospitalA's MSP id), a configtx.yaml with test profiles, and helpers that build
//! signed envelopes and admin requests the way Fabric SDKs and the carechain CLI do.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use carechain_channel::ChannelConfig;
use carechain_channel::block::{check_chain, header_hash, signatures, signed_bytes};
use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::{build_config, genesis_block};
use carechain_crypto::msp::SigningIdentity;
use carechain_orderer::{OrdererConfig, OrdererNode, RunningOrderer};
use carechain_proto::carechain::admin::admin_client::AdminClient;
use carechain_proto::carechain::admin::{AdminRequest, SignedAdminRequest, admin_request::Body};
use carechain_proto::common::{Block, ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use carechain_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use carechain_proto::orderer::{BroadcastResponse, SeekInfo, SeekPosition, deliver_response, seek_position};
use carechain_transport::{ClientTls, TlsIdentity};
use prost::Message;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tonic::transport::Channel;

pub const ORDERER_HOST: &str = "orderer0.orderer.carechain.test";

const CRYPTO_YAML: &str = r#"
OrdererOrgs:
  - Name: Orderer
    Domain: orderer.carechain.test
    MSPID: OrdererMSP
    Specs:
      - Hostname: orderer0
PeerOrgs:
  - Name: HospitalA
    Domain: hospitala.carechain.test
    MSPID: HospitalAMSP
    Template: {Count: 1}
    Users: {Count: 1}
  - Name: Outsider
    Domain: outsider.carechain.test
    MSPID: OutsiderMSP
    Template: {Count: 1}
    Users: {Count: 1}
"#;

const ROGUE_YAML: &str = r#"
PeerOrgs:
  - Name: Rogue
    Domain: rogue.carechain.test
    MSPID: HospitalAMSP
    Users: {Count: 1}
"#;

const ORDERER_TLS: &str = "crypto/ordererOrganizations/orderer.carechain.test/orderers/orderer0.orderer.carechain.test/tls/server.crt";
const PEER_TLS: &str =
    "crypto/peerOrganizations/hospitala.carechain.test/peers/peer0.hospitala.carechain.test/tls/server.crt";
const OUTSIDER_TLS: &str =
    "crypto/peerOrganizations/outsider.carechain.test/peers/peer0.outsider.carechain.test/tls/server.crt";

fn profile(timeout: &str, count: u32, consenters: &[&str]) -> String {
    let consenters: String = consenters
        .iter()
        .enumerate()
        .map(|(i, cert)| {
            format!(
                "          - {{Host: consenter{i}.carechain.test, Port: 7052, ClientTLSCert: {cert}, ServerTLSCert: {cert}}}\n"
            )
        })
        .collect();
    format!(
        r#"    Orderer:
      OrdererType: etcdraft
      BatchTimeout: {timeout}
      BatchSize: {{MaxMessageCount: {count}, AbsoluteMaxBytes: 32 KB, PreferredMaxBytes: 16 KB}}
      EtcdRaft:
        Consenters:
{consenters}      Organizations: [OrdererOrg]
    Application:
      Organizations: [HospitalA]
"#
    )
}

fn configtx_yaml() -> String {
    let mut y = String::from(
        r#"Organizations:
  - Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: crypto/ordererOrganizations/orderer.carechain.test/msp
    OrdererEndpoints: [orderer0.orderer.carechain.test:7050]
  - Name: HospitalA
    ID: HospitalAMSP
    MSPDir: crypto/peerOrganizations/hospitala.carechain.test/msp
    AnchorPeers: [{Host: peer0.hospitala.carechain.test, Port: 7051}]
Profiles:
"#,
    );
    // Cuts by count only (the timeout is far away), by timeout only, and two unjoinable profiles.
    y += &format!("  ByCount:\n{}", profile("10s", 3, &[ORDERER_TLS]));
    y += &format!("  ByTimeout:\n{}", profile("100ms", 100, &[ORDERER_TLS]));
    y += &format!("  NotMine:\n{}", profile("1s", 10, &[PEER_TLS]));
    y += &format!(
        "  ThreeConsenters:\n{}",
        profile("1s", 10, &[ORDERER_TLS, PEER_TLS, OUTSIDER_TLS])
    );
    y += &format!(
        "  SharedCert:\n{}",
        profile("1s", 10, &[ORDERER_TLS, ORDERER_TLS])
    );
    y
}

/// The synthetic consortium on disk.
pub struct Net {
    pub dir: TempDir,
    configtx: ConfigTx,
}

impl Net {
    pub fn new() -> Net {
        carechain_transport::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("crypto-config.yaml");
        std::fs::write(&spec, CRYPTO_YAML).unwrap();
        carechain_crypto::cryptogen::generate(&spec, &dir.path().join("crypto"), false).unwrap();
        let rogue = dir.path().join("rogue-config.yaml");
        std::fs::write(&rogue, ROGUE_YAML).unwrap();
        carechain_crypto::cryptogen::generate(&rogue, &dir.path().join("rogue"), false).unwrap();
        let configtx_path = dir.path().join("configtx.yaml");
        std::fs::write(&configtx_path, configtx_yaml()).unwrap();
        let configtx = ConfigTx::load(&configtx_path).unwrap();
        Net { dir, configtx }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn orderer_home(&self) -> PathBuf {
        self.path(
            "crypto/ordererOrganizations/orderer.carechain.test/orderers/orderer0.orderer.carechain.test",
        )
    }

    /// Node config on 127.0.0.1 with OS-chosen ports, data in `<tmp>/<data>`.
    pub fn orderer_config(&self, data: &str) -> OrdererConfig {
        OrdererConfig::for_node_home(ORDERER_HOST, "OrdererMSP", &self.orderer_home(), &self.path(data))
    }

    pub fn genesis(&self, profile: &str, channel: &str) -> Block {
        genesis_block(channel, build_config(&self.configtx, profile, channel).unwrap())
    }

    fn user(&self, org_dir: &str, domain: &str, user: &str, msp_id: &str) -> SigningIdentity {
        let msp = self.path(&format!("{org_dir}/{domain}/users/{user}@{domain}/msp"));
        SigningIdentity::load(&msp, msp_id).unwrap()
    }

    pub fn orderer_admin(&self) -> SigningIdentity {
        self.user(
            "crypto/ordererOrganizations",
            "orderer.carechain.test",
            "Admin",
            "OrdererMSP",
        )
    }
    /// The orderer's own node identity: a member of OrdererMSP, not an admin.
    pub fn orderer_node(&self) -> SigningIdentity {
        SigningIdentity::load(&self.orderer_home().join("msp"), "OrdererMSP").unwrap()
    }
    pub fn client(&self) -> SigningIdentity {
        self.user(
            "crypto/peerOrganizations",
            "hospitala.carechain.test",
            "User1",
            "HospitalAMSP",
        )
    }
    pub fn hospital_admin(&self) -> SigningIdentity {
        self.user(
            "crypto/peerOrganizations",
            "hospitala.carechain.test",
            "Admin",
            "HospitalAMSP",
        )
    }
    pub fn peer(&self) -> SigningIdentity {
        let msp = self.path(
            "crypto/peerOrganizations/hospitala.carechain.test/peers/peer0.hospitala.carechain.test/msp",
        );
        SigningIdentity::load(&msp, "HospitalAMSP").unwrap()
    }
    pub fn outsider(&self) -> SigningIdentity {
        self.user(
            "crypto/peerOrganizations",
            "outsider.carechain.test",
            "User1",
            "OutsiderMSP",
        )
    }
    /// Claims HospitalAMSP but was issued by a CA HospitalA does not have.
    pub fn rogue(&self) -> SigningIdentity {
        self.user(
            "rogue/peerOrganizations",
            "rogue.carechain.test",
            "User1",
            "HospitalAMSP",
        )
    }

    fn client_tls(&self, identity: Option<TlsIdentity>) -> ClientTls {
        ClientTls {
            ca_pem: std::fs::read(self.orderer_home().join("tls/ca.crt")).unwrap(),
            identity,
            server_name: Some(ORDERER_HOST.into()),
            max_message_bytes: 100 << 20,
        }
    }

    /// A TLS channel to `addr` without a client certificate.
    pub async fn connect(&self, addr: std::net::SocketAddr) -> Channel {
        carechain_transport::connect(&addr.to_string(), &self.client_tls(None))
            .await
            .unwrap()
    }

    /// A TLS channel presenting the orderer org admin's TLS client certificate.
    pub fn connect_as_admin_lazy(&self, addr: std::net::SocketAddr) -> Channel {
        let tls = self.path(
            "crypto/ordererOrganizations/orderer.carechain.test/users/Admin@orderer.carechain.test/tls",
        );
        let id = TlsIdentity::from_files(&tls.join("client.crt"), &tls.join("client.key")).unwrap();
        carechain_transport::connect_lazy(&addr.to_string(), &self.client_tls(Some(id))).unwrap()
    }

    pub fn channel_config(&self, genesis: &Block) -> ChannelConfig {
        ChannelConfig::from_block(genesis).unwrap()
    }
}

/// A started node with clients for its services.
pub struct Node {
    pub node: RunningOrderer,
    pub ab: AtomicBroadcastClient<Channel>,
    pub admin: AdminClient<Channel>,
}

impl Node {
    pub async fn start(net: &Net, data: &str) -> Node {
        let node = OrdererNode::start(net.orderer_config(data)).await.unwrap();
        let channel = net.connect(node.client_address()).await;
        Node {
            node,
            ab: AtomicBroadcastClient::new(channel.clone()),
            admin: AdminClient::new(channel),
        }
    }

    /// Joins `channel` from `profile` as the orderer org's admin.
    pub async fn join(&mut self, net: &Net, profile: &str, channel: &str) -> Block {
        let genesis = net.genesis(profile, channel);
        let req = admin_request(
            &net.orderer_admin(),
            Body::JoinChannel(join_body(&genesis)),
            now(),
        );
        self.admin.join_channel(req).await.unwrap();
        genesis
    }

    pub async fn broadcast(&mut self, envelopes: Vec<Envelope>) -> Vec<BroadcastResponse> {
        let n = envelopes.len();
        let mut stream = self
            .ab
            .broadcast(tokio_stream::iter(envelopes))
            .await
            .unwrap()
            .into_inner();
        let mut out = Vec::new();
        while let Some(r) = stream.message().await.unwrap() {
            out.push(r);
        }
        assert_eq!(out.len(), n, "one response per envelope");
        out
    }

    /// One Deliver request; returns the blocks and the final status.
    pub async fn deliver(&mut self, request: Envelope) -> (Vec<Block>, i32) {
        let mut stream = self
            .ab
            .deliver(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let mut blocks = Vec::new();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("deliver answered in time")
                .unwrap()
                .expect("deliver ends with a status");
            match msg.r#type {
                Some(deliver_response::Type::Block(b)) => blocks.push(b),
                Some(deliver_response::Type::Status(s)) => return (blocks, s),
                None => panic!("empty deliver response"),
            }
        }
    }
}

pub fn join_body(block: &Block) -> carechain_proto::carechain::admin::JoinChannel {
    carechain_proto::carechain::admin::JoinChannel {
        config_block: Some(block.clone()),
        latest_config_block: None,
    }
}

pub fn now() -> Timestamp {
    at(SystemTime::now())
}

pub fn at(t: SystemTime) -> Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap();
    Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

pub fn minutes_ago(m: u64) -> Timestamp {
    at(SystemTime::now() - Duration::from_secs(m * 60))
}

pub fn admin_request(signer: &SigningIdentity, body: Body, ts: Timestamp) -> SignedAdminRequest {
    let request = AdminRequest {
        identity: Bytes::copy_from_slice(signer.serialize()),
        timestamp: Some(ts),
        body: Some(body),
    }
    .encode_to_vec();
    SignedAdminRequest {
        signature: signer.sign(&request).into(),
        request: request.into(),
    }
}

/// A signed envelope as a Fabric client builds it (tx id = SHA-256(nonce ‖ creator)).
pub fn envelope_at(
    signer: &SigningIdentity,
    channel: &str,
    kind: HeaderType,
    data: Bytes,
    ts: Timestamp,
) -> Envelope {
    let nonce: [u8; 24] = rand::random();
    let creator = signer.serialize();
    let tx_id = hex::encode(Sha256::digest([&nonce[..], creator].concat()));
    let payload = Payload {
        header: Some(Header {
            channel_header: ChannelHeader {
                r#type: kind as i32,
                channel_id: channel.into(),
                tx_id,
                timestamp: Some(ts),
                ..Default::default()
            }
            .encode_to_vec()
            .into(),
            signature_header: SignatureHeader {
                creator: Bytes::copy_from_slice(creator),
                nonce: Bytes::copy_from_slice(&nonce),
            }
            .encode_to_vec()
            .into(),
        }),
        data,
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    }
}

/// An endorser transaction envelope with synthetic contents.
pub fn tx(signer: &SigningIdentity, channel: &str, n: usize) -> Envelope {
    let data = Bytes::from(format!("Synthetic Patient {n:04} consent granted"));
    envelope_at(signer, channel, HeaderType::EndorserTransaction, data, now())
}

pub fn position(t: seek_position::Type) -> Option<SeekPosition> {
    Some(SeekPosition { r#type: Some(t) })
}

pub fn specified(n: u64) -> seek_position::Type {
    seek_position::Type::Specified(carechain_proto::orderer::SeekSpecified { number: n })
}

pub fn seek(signer: &SigningIdentity, channel: &str, info: SeekInfo) -> Envelope {
    envelope_at(
        signer,
        channel,
        HeaderType::DeliverSeekInfo,
        info.encode_to_vec().into(),
        now(),
    )
}

pub fn seek_range(signer: &SigningIdentity, channel: &str, start: u64, stop: u64) -> Envelope {
    seek(
        signer,
        channel,
        SeekInfo {
            start: position(specified(start)),
            stop: position(specified(stop)),
            ..Default::default()
        },
    )
}

/// Checks hash links from block 0 and that every block after the genesis block carries a valid
/// orderer signature satisfying `/Channel/Orderer/BlockValidation`.
pub fn check_blocks(config: &ChannelConfig, blocks: &[Block]) {
    let mut prev: Option<[u8; 32]> = None;
    for (i, b) in blocks.iter().enumerate() {
        let header = b.header.as_ref().unwrap();
        assert_eq!(header.number, i as u64);
        check_chain(b, prev.as_ref()).unwrap();
        prev = Some(header_hash(header));
        if i == 0 {
            continue;
        }
        let md = signatures(b).unwrap().expect("signed block");
        assert_eq!(md.signatures.len(), 1);
        let sig = &md.signatures[0];
        let sh = SignatureHeader::decode(sig.signature_header.as_ref()).unwrap();
        let msg = signed_bytes(&md.value, &sig.signature_header, header);
        let id = config
            .msps
            .verify_signature(&sh.creator, &msg, &sig.signature)
            .unwrap();
        config
            .evaluate("/Channel/Orderer/BlockValidation", &[id])
            .unwrap();
    }
}

/// The envelopes carried by `block`.
pub fn envelopes(block: &Block) -> Vec<Envelope> {
    block
        .data
        .as_ref()
        .unwrap()
        .data
        .iter()
        .map(|d| Envelope::decode(d.as_ref()).unwrap())
        .collect()
}
