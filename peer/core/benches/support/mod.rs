//! Real transactions for the benches of endorse → order → validate: cryptogen identities of two orgs
//! (the peer-core test fixture), the `basic` contract defined under the channel's MAJORITY policy, and
//! asset-transfer-basic `CreateAsset` calls simulated, endorsed by both orgs' peers and signed by the
//! client, exactly as the gateway assembles them. Shared by the peer-core and ledger benches.
#![allow(dead_code, clippy::unwrap_used)]

#[path = "../../tests/common/mod.rs"]
pub mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use chaincode_basic::BasicContract;
use common::Fixture;
use peer_core::endorse::{endorse, simulate};
use peer_core::lifecycle::{ChaincodeDefinition, LIFECYCLE, PolicySpec, definition_key};
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{MemState, StateView, Version};
use peer_core::txbuild::{NewProposal, assemble, new_proposal, sign_envelope};
use prost::Message;
use time::OffsetDateTime;

/// The identities and channel, plus a state in which `basic` is defined.
pub struct Bench {
    pub f: Fixture,
    pub view: MemState,
}

impl Bench {
    pub fn new() -> Bench {
        let mut view = MemState::new();
        let d = ChaincodeDefinition {
            name: "basic".into(),
            version: "1.0".into(),
            sequence: 1,
            endorsement_policy: PolicySpec::default(),
            collections: vec![],
        };
        view.put(
            LIFECYCLE,
            &definition_key("basic"),
            &serde_json::to_vec(&d).unwrap(),
            Version::new(0, 0),
        );
        Bench {
            f: common::fixture(),
            view,
        }
    }

    /// A signed `CreateAsset` proposal for asset `id` with a `payload`-byte owner field.
    pub fn proposal(&self, id: &str, payload: usize) -> NewProposal {
        let owner = "x".repeat(payload.max(1));
        let args: Vec<Vec<u8>> = ["CreateAsset", id, "blue", "5", &owner, "300"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        new_proposal(&self.f.user1, "ch", "basic", &args, &BTreeMap::new())
    }

    /// The envelope of `CreateAsset(id)`, endorsed by both orgs' peers on `view` and signed.
    pub fn transaction(&self, view: &dyn StateView, id: &str, payload: usize) -> Bytes {
        let p = self.proposal(id, payload);
        let checked = proposal::check(
            proposal::parse(&p.signed).unwrap(),
            &self.f.channel.msps,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let sim = simulate(view, &BasicContract, &checked, &PrivateAccess::default());
        assert_eq!(sim.response.status, 200, "{}", sim.response.message);
        let responses: Vec<_> = [&self.f.peer1, &self.f.peer2]
            .iter()
            .map(|peer| endorse(&checked, &sim, "1.0", peer))
            .collect();
        let env = sign_envelope(
            assemble(&p.signed.proposal_bytes, &responses).unwrap(),
            &self.f.user1,
        );
        env.encode_to_vec().into()
    }

    /// `n` transactions creating assets `{prefix}-0..n`, each endorsed by two orgs.
    pub fn block(&self, prefix: &str, n: usize, payload: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| self.transaction(&self.view, &format!("{prefix}-{i}"), payload))
            .collect()
    }
}

/// Forgets every signature this process made or verified, then verifies again what a gateway peer of
/// Org1 already checked before the block arrives: each envelope's creator signature (at Submit) and
/// its own endorsement (it made it). Validation then verifies only the other org's endorsement.
pub fn as_gateway_peer(b: &Bench, envs: &[Bytes]) {
    use carechain_proto::common::{Envelope, Payload, SignatureHeader};
    use carechain_proto::protos::{ChaincodeActionPayload, Transaction};
    carechain_crypto::sign::forget_verified_signatures();
    let own = b.f.peer1.serialize();
    for raw in envs {
        let env = Envelope::decode(raw.as_ref()).unwrap();
        let payload = Payload::decode(env.payload.as_ref()).unwrap();
        let header = payload.header.as_ref().unwrap();
        let sh = SignatureHeader::decode(header.signature_header.as_ref()).unwrap();
        b.f.channel
            .msps
            .verify_signature_and_remember(&sh.creator, &env.payload, &env.signature)
            .unwrap();
        let tx = Transaction::decode(payload.data.as_ref()).unwrap();
        let cap = ChaincodeActionPayload::decode(tx.actions[0].payload.as_ref()).unwrap();
        let action = cap.action.unwrap();
        for e in action.endorsements.iter().filter(|e| e.endorser.as_ref() == own) {
            let msg = [action.proposal_response_payload.as_ref(), e.endorser.as_ref()].concat();
            // It made this signature (SigningKey remembers what it signs); remembering stands in.
            b.f.channel
                .msps
                .verify_signature_and_remember(&e.endorser, &msg, &e.signature)
                .unwrap();
        }
    }
}
