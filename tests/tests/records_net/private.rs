//! Where a peer keeps private data, looked at from outside: the private write sets a member peer serves
//! with its blocks (`DeliverWithPrivateData`, as a member org's user) while it runs, and, once the peer
//! is stopped, its private state and stored write sets read straight from its RocksDB ledger.

use carechain_ledger::{Ledger, LedgerOptions};
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use carechain_tests::TestNet;
use peer_core::state::StateView;
use prost::Message;

use super::{CC, CH};

/// Whether `haystack` holds `needle` verbatim.
pub fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The private write sets peer `i` serves with blocks `0..height`, each encoded, as `user` of its org.
pub async fn served(net: &TestNet, i: usize, user: &str) -> Vec<Vec<u8>> {
    let height = net.height(i).await.unwrap();
    let ch = carechain_transport::connect(
        &net.peers[i].address.to_string(),
        &net.client_tls("peer", i).unwrap(),
    )
    .await
    .unwrap();
    let mut client = DeliverClient::new(ch).max_decoding_message_size(100 * 1024 * 1024);
    let req = peer_core::txbuild::seek_envelope(&net.user(i, user).unwrap(), CH, 0, Some(height - 1), false);
    let mut stream = client
        .deliver_with_private_data(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.r#type {
            Some(DeliverType::BlockAndPrivateData(b)) => {
                out.extend(b.private_data_map.values().map(Message::encode_to_vec));
            }
            Some(DeliverType::Status(_)) => break,
            other => panic!("unexpected deliver response {other:?}"),
        }
    }
    out
}

/// What a stopped peer's ledger holds privately: `(collection, key, value)` of every private key of the
/// records chaincode in `collections`, and every stored private write set.
pub struct PrivateStore {
    /// Current private state.
    pub state: Vec<(String, String, Vec<u8>)>,
    /// Stored write sets (reconciliation, delivery with private data).
    pub write_sets: Vec<Vec<u8>>,
}

impl PrivateStore {
    /// Reads peer `i`'s ledger; the peer must be stopped (RocksDB allows one process).
    pub fn read(net: &TestNet, i: usize, collections: &[String]) -> PrivateStore {
        let dir = net
            .root
            .path()
            .join("data")
            .join(&net.peers[i].name)
            .join("ledgers")
            .join(CH);
        let ledger = Ledger::open(&dir, &LedgerOptions::default()).unwrap();
        let snap = ledger.snapshot();
        let mut state = Vec::new();
        for c in collections {
            for (key, v) in snap.private_range(CC, c, "", None, usize::MAX).unwrap() {
                state.push((c.clone(), key, v.value));
            }
        }
        let mut write_sets = Vec::new();
        for n in 0..ledger.height() {
            for (_, _, _, bytes) in ledger.private_write_sets_of_block(n).unwrap() {
                write_sets.push(bytes);
            }
        }
        PrivateStore { state, write_sets }
    }

    /// Whether any private value or write set holds `needle`.
    pub fn holds(&self, needle: &str) -> bool {
        self.state.iter().any(|(_, _, v)| holds(v, needle))
            || self.write_sets.iter().any(|w| holds(w, needle))
    }

    /// Whether `key` is in the private state of `collection`.
    pub fn has_key(&self, collection: &str, key: &str) -> bool {
        self.state.iter().any(|(c, k, _)| c == collection && k == key)
    }
}

/// Polls until peer `i` serves private data holding every needle (dissemination or reconciliation).
pub async fn wait_served(net: &TestNet, i: usize, needles: &[&str]) {
    let deadline = std::time::Instant::now() + super::WAIT;
    loop {
        let sets = served(net, i, "User1").await;
        let all = needles.iter().all(|n| sets.iter().any(|s| holds(s, n)));
        if all {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "peer {i} never served {needles:?}\n{}",
            net.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
