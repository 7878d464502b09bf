//! The benchmark's peer: an insurer's peer (`carechain_peer::peer::Peer`, the struct the `carechain peer`
//! process runs) joined to a channel with a RocksDB ledger holding `claims` claims, loaded without network
//! transactions.
//!
//! Loading goes through the same steps a claim takes on a real network, minus signatures on endorsements
//! and ordering: a billing clerk's signed proposal is parsed and checked like any proposal, the contract
//! runs in peer-core's simulator against a ledger snapshot (`endorse::simulate`), the read/write set is
//! MVCC-checked and folded into the block's updates exactly as validation does (`mvcc::apply_valid_tx`,
//! `pvtapply::apply_private`), and the ledger commits 1,000 claims per block. Identities come from
//! cryptogen. All data is synthetic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::{build_config, genesis_block};
use carechain_crypto::msp::SigningIdentity;
use carechain_peer::channel::Channel;
use carechain_peer::peer::Peer;
use carechain_peer::{PeerConfig, TlsFiles};
use carechain_proto::common::{Block, BlockHeader};
use peer_core::collection::CollectionConfig;
use peer_core::lifecycle::{ChaincodeDefinition, LIFECYCLE, PolicySpec, definition_key};
use peer_core::mvcc::{self, MvccOutcome, ValidTx};
use peer_core::pvtapply::{CollInfo, apply_private};
use peer_core::rwset::TxRwSet;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{BlockUpdates, KeyUpdate, TxLocation, Version};
use peer_core::{endorse, proposal, txbuild};
use prost::Message;
use serde_json::json;

/// The channel.
pub const CHANNEL: &str = "care";
/// Claims per block while loading.
const PER_BLOCK: usize = 1000;
/// Patients (each with a coverage); claim `n` bills patient `n % PATIENTS`.
const PATIENTS: usize = 100;

/// A loaded peer and the identities that use it.
pub struct Fixture {
    /// The insurer's peer.
    pub peer: Peer,
    /// Its channel.
    pub channel: Arc<Channel>,
    /// The insurer's claims adjuster (`role=claims_adjuster`).
    pub adjuster: SigningIdentity,
    /// Keeps the crypto material and the ledger.
    _dir: tempfile::TempDir,
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write fixture file");
}

const CRYPTO: &str = "OrdererOrgs:
  - Name: Orderer
    Domain: orderer.bench.local
    Specs:
      - Hostname: orderer0
PeerOrgs:
  - Name: HospitalA
    Domain: hospitala.bench.local
    MSPID: HospitalAMSP
    Template: {Count: 1}
    Users:
      Count: 1
      Named:
        - {Name: billing, Attrs: {role: billing}}
  - Name: Insurer
    Domain: insurer.bench.local
    MSPID: InsurerMSP
    Template: {Count: 1}
    Users:
      Count: 1
      Named:
        - {Name: adjuster, Attrs: {role: claims_adjuster}}
";

fn configtx() -> String {
    let o = "crypto/ordererOrganizations/orderer.bench.local";
    let cert = format!("{o}/orderers/orderer0.orderer.bench.local/tls/server.crt");
    format!(
        "Organizations:
  - {{Name: Orderer, ID: OrdererMSP, MSPDir: {o}/msp}}
  - {{Name: HospitalA, ID: HospitalAMSP, MSPDir: crypto/peerOrganizations/hospitala.bench.local/msp}}
  - {{Name: Insurer, ID: InsurerMSP, MSPDir: crypto/peerOrganizations/insurer.bench.local/msp}}
Profiles:
  P:
    Orderer:
      EtcdRaft:
        Consenters:
          - {{Host: 127.0.0.1, Port: 7050, ClientTLSCert: {cert}, ServerTLSCert: {cert}}}
      Organizations: [Orderer]
    Application:
      Organizations: [HospitalA, Insurer]
"
    )
}

fn user(dir: &Path, domain: &str, name: &str, msp: &str) -> SigningIdentity {
    let path = dir.join(format!(
        "crypto/peerOrganizations/{domain}/users/{name}@{domain}/msp"
    ));
    SigningIdentity::load(&path, msp).expect("identity")
}

/// The insurer's peer joined to the channel, with the claims definition committed.
fn insurer_peer(dir: &Path) -> (Peer, Arc<Channel>) {
    let tx = ConfigTx::load(&dir.join("configtx.yaml")).expect("configtx");
    let genesis = genesis_block(CHANNEL, build_config(&tx, "P", CHANNEL).expect("config"));
    let home = dir.join("crypto/peerOrganizations/insurer.bench.local/peers/peer0.insurer.bench.local");
    let config = PeerConfig {
        name: "peer0.insurer.bench.local".into(),
        msp_id: "InsurerMSP".into(),
        msp_dir: home.join("msp"),
        tls: TlsFiles {
            cert: home.join("tls/server.crt"),
            key: home.join("tls/server.key"),
            ca: home.join("tls/ca.crt"),
        },
        listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.join("peer"),
        max_message_size: 100 * 1024 * 1024,
        sync_writes: false,
        endorsement_timeout_ms: 10_000,
        broadcast_timeout_ms: 10_000,
        operations_listen_address: None,
    };
    let metrics = carechain_peer::metrics::PeerMetrics::register(&mut Default::default());
    let peer = Peer::new(config, metrics).expect("peer");
    let channel = peer.join(&genesis, None).expect("join");
    (peer, channel)
}

/// The collections of the default network (`chaincode/claims/collections_config.json`).
fn collections() -> Vec<CollectionConfig> {
    serde_json::from_str(include_str!("../../collections_config.json")).expect("collections JSON")
}

/// Builds the peer and loads `claims` claims (all `submitted`, billed to the insurer by HospitalA).
pub fn build(claims: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    write(p, "crypto.yaml", CRYPTO);
    write(p, "configtx.yaml", &configtx());
    carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false)
        .expect("cryptogen");
    let (peer, channel) = insurer_peer(p);
    let mut loader = Loader {
        channel: channel.clone(),
        collections: collections(),
    };
    loader.define();
    let adjuster = user(p, "insurer.bench.local", "adjuster", "InsurerMSP");
    let billing = user(p, "hospitala.bench.local", "billing", "HospitalAMSP");
    let coverages: Vec<Vec<String>> = (0..PATIENTS)
        .map(|i| {
            let patient = patient(i);
            [
                "RegisterCoverage",
                &coverage(i),
                &patient,
                "2024-01-01",
                "2024-12-31",
            ]
            .map(String::from)
            .to_vec()
        })
        .collect();
    loader.block(&adjuster, coverages.into_iter().map(|a| (a, None)).collect());
    for start in (0..claims).step_by(PER_BLOCK) {
        let batch = (start..claims.min(start + PER_BLOCK))
            .map(|n| {
                let args = [
                    "SubmitClaim",
                    &format!("CLM-{n:06}"),
                    "InsurerMSP",
                    &coverage(n % PATIENTS),
                    &patient(n % PATIENTS),
                ]
                .map(String::from)
                .to_vec();
                (args, Some(claim_details(n)))
            })
            .collect();
        loader.block(&billing, batch);
    }
    Fixture {
        peer,
        channel,
        adjuster,
        _dir: dir,
    }
}

fn patient(i: usize) -> String {
    format!("SYN-PSEUDO-{i:04}")
}

fn coverage(i: usize) -> String {
    format!("COV-{i:04}")
}

/// Claim `n`: one item with its own synthetic service code (no duplicates), 150.00 USD.
fn claim_details(n: usize) -> Vec<u8> {
    json!({
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.9"}]}}],
        "item": [{
            "sequence": 1,
            "diagnosisSequence": [1],
            "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": format!("SYN{n:06}")}]},
            "servicedDate": format!("2024-{:02}-{:02}", 1 + n % 12, 1 + n % 28),
            "net": {"value": "150.00", "currency": "USD"}
        }],
        "total": {"value": "150.00", "currency": "USD"}
    })
    .to_string()
    .into_bytes()
}

struct Loader {
    channel: Arc<Channel>,
    collections: Vec<CollectionConfig>,
}

impl Loader {
    fn commit(&self, updates: &BlockUpdates) {
        let ledger = &self.channel.ledger;
        let number = ledger.height();
        let header = BlockHeader {
            number,
            previous_hash: ledger.tip_hash().unwrap_or_default().to_vec().into(),
            data_hash: Default::default(),
        };
        let hash = carechain_channel::block::header_hash(&header);
        let block = Block {
            header: Some(header),
            ..Default::default()
        };
        ledger
            .commit(number, &block.encode_to_vec(), hash, updates)
            .expect("commit");
    }

    /// Block 1: the committed definition of `claims`, as `_lifecycle` would have written it.
    fn define(&mut self) {
        let def = ChaincodeDefinition {
            name: "claims".into(),
            version: "1.0".into(),
            sequence: 1,
            endorsement_policy: PolicySpec::Signature("OR('HospitalAMSP.peer','InsurerMSP.peer')".into()),
            collections: self.collections.clone(),
        };
        let mut updates = BlockUpdates::default();
        updates.state.insert(
            (LIFECYCLE.to_string(), definition_key("claims")),
            KeyUpdate {
                value: Some(serde_json::to_vec(&def).expect("definition JSON")),
                metadata: BTreeMap::new(),
                version: Version::new(self.channel.ledger.height(), 0),
            },
        );
        self.commit(&updates);
    }

    /// One block of transactions by `signer`: each proposal checked, simulated on the snapshot of the
    /// previous block, MVCC-checked and applied as validation would.
    fn block(&mut self, signer: &SigningIdentity, txs: Vec<(Vec<String>, Option<Vec<u8>>)>) {
        let number = self.channel.ledger.height();
        let snap = self.channel.ledger.snapshot();
        let config = self.channel.config();
        let access = PrivateAccess {
            collections: self.collections.clone(),
            local_msp: "InsurerMSP".into(),
        };
        let contract = chaincode_claims::ClaimsContract;
        let mut updates = BlockUpdates::default();
        for (i, (args, details)) in txs.into_iter().enumerate() {
            let args: Vec<Vec<u8>> = args.into_iter().map(String::into_bytes).collect();
            let transient: BTreeMap<String, Vec<u8>> =
                details.map(|d| ("claim".to_string(), d)).into_iter().collect();
            let p = txbuild::new_proposal(signer, CHANNEL, "claims", &args, &transient);
            let parsed = proposal::parse(&p.signed).expect("parse");
            let checked =
                proposal::check(parsed, &config.msps, time::OffsetDateTime::now_utc()).expect("check");
            let sim = endorse::simulate(&snap, &contract, &checked, &access);
            assert_eq!(sim.response.status, 200, "{}", sim.response.message);
            let rw = TxRwSet::parse(&sim.rwset.encode_to_vec()).expect("rwset");
            assert_eq!(
                mvcc::check(&snap, &updates, &rw).expect("mvcc"),
                MvccOutcome::Valid
            );
            let version = Version::new(number, i as u64);
            let (secs, nanos) = checked.proposal.timestamp();
            let tx = ValidTx {
                tx_id: &p.tx_id,
                version,
                timestamp: (secs, nanos),
            };
            mvcc::apply_valid_tx(&snap, &mut updates, &tx, &rw).expect("apply");
            let member = |_: &str, _: &str| {
                Some(CollInfo {
                    member: true,
                    block_to_live: 0,
                })
            };
            apply_private(
                &mut updates,
                i as u64,
                version,
                &rw,
                sim.private.as_ref(),
                &member,
            );
            updates.tx_index.push((
                p.tx_id.clone(),
                TxLocation {
                    block: number,
                    tx: i as u64,
                    code: 0,
                },
            ));
        }
        drop(snap);
        self.commit(&updates);
    }
}
