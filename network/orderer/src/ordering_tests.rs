//! Deterministic tests of block numbering, chaining, cutting decisions and leadership (no tokio).

use bytes::Bytes;
use carechain_channel::block::{
    header_hash, last_config_index, orderer_metadata_value, signatures, signed_bytes,
};
use carechain_crypto::issue::{CertificateAuthority, LeafRequest, Subject, Validity};
use carechain_proto::common::SignatureHeader;
use prost::Message;

use super::*;

fn batch(count: u32, preferred: u32) -> BatchConfig {
    BatchConfig {
        max_message_count: count,
        absolute_max_bytes: 1000,
        preferred_max_bytes: preferred,
        timeout: Duration::from_millis(100),
    }
}

fn env(s: &str) -> Bytes {
    Bytes::from(s.to_string())
}

fn genesis_tip() -> (Block, ChainTip) {
    let g = new_block(0, &[], vec![env("synthetic genesis")]);
    let tip = ChainTip {
        height: 1,
        hash: header_hash(g.header.as_ref().unwrap()),
    };
    (g, tip)
}

fn leader(count: u32, max_in_flight: u32) -> OrderingCore {
    let (_, tip) = genesis_tip();
    let mut core = OrderingCore::new(batch(count, 100), tip, 0, max_in_flight);
    core.become_leader();
    core
}

fn number(b: &Block) -> u64 {
    b.header.as_ref().unwrap().number
}

#[test]
fn creator_numbers_and_links_blocks() {
    let mut c = BlockCreator::new(ChainTip::default());
    let b0 = c.create(vec![env("a")]);
    assert_eq!(number(&b0), 0);
    assert!(b0.header.as_ref().unwrap().previous_hash.is_empty());
    let b1 = c.create(vec![env("b")]);
    let b2 = c.create(vec![env("c"), env("d")]);
    assert_eq!((number(&b1), number(&b2)), (1, 2));
    assert_eq!(
        b1.header.as_ref().unwrap().previous_hash.as_ref(),
        header_hash(b0.header.as_ref().unwrap())
    );
    assert_eq!(
        b2.header.as_ref().unwrap().previous_hash.as_ref(),
        header_hash(b1.header.as_ref().unwrap())
    );
    assert_eq!(b2.data.as_ref().unwrap().data, vec![env("c"), env("d")]);
    assert_eq!(c.next().height, 3);
}

#[test]
fn leader_cuts_by_count_and_reports_timer_actions() {
    let mut core = leader(2, 10);
    let first = core.ordered(env("tx1"), false).unwrap();
    assert_eq!(
        first,
        Step {
            blocks: vec![],
            timer: Timer::Ensure
        }
    );
    let second = core.ordered(env("tx2"), false).unwrap();
    assert_eq!(second.timer, Timer::Stop);
    assert_eq!(second.blocks.len(), 1);
    assert_eq!(number(&second.blocks[0]), 1);
    assert_eq!(
        second.blocks[0].data.as_ref().unwrap().data,
        vec![env("tx1"), env("tx2")]
    );
}

#[test]
fn overflow_restarts_the_timer_for_the_new_pending_envelope() {
    let (_, tip) = genesis_tip();
    let mut core = OrderingCore::new(batch(10, 10), tip, 0, 10);
    core.become_leader();
    assert_eq!(core.ordered(env("123456"), false).unwrap().timer, Timer::Ensure);
    let step = core.ordered(env("abcdef"), false).unwrap();
    assert_eq!(step.blocks.len(), 1);
    assert_eq!(step.timer, Timer::Restart);
}

#[test]
fn timeout_cuts_pending_into_one_block_and_nothing_otherwise() {
    let mut core = leader(10, 10);
    assert!(core.timeout().blocks.is_empty());
    core.ordered(env("tx1"), false).unwrap();
    core.ordered(env("tx2"), false).unwrap();
    let step = core.timeout();
    assert_eq!(step.timer, Timer::Stop);
    assert_eq!(step.blocks.len(), 1);
    assert_eq!(step.blocks[0].data.as_ref().unwrap().data.len(), 2);
    assert!(core.timeout().blocks.is_empty());
}

#[test]
fn followers_order_nothing_and_losing_leadership_drops_the_pending_batch() {
    let (_, tip) = genesis_tip();
    let mut core = OrderingCore::new(batch(10, 100), tip, 0, 5);
    assert!(!core.is_leader() && !core.accepting());
    assert!(matches!(
        core.ordered(env("tx"), false),
        Err(OrdererError::Unavailable(_))
    ));
    core.become_leader();
    core.ordered(env("tx1"), false).unwrap();
    core.ordered(env("tx2"), false).unwrap();
    assert_eq!(core.become_follower(), 2);
    core.become_leader();
    assert!(core.timeout().blocks.is_empty());
}

#[test]
fn in_flight_blocks_are_chained_and_bound_acceptance() {
    let mut core = leader(1, 2);
    let b1 = core.ordered(env("tx1"), false).unwrap().blocks.remove(0);
    assert!(core.accepting());
    let b2 = core.ordered(env("tx2"), false).unwrap().blocks.remove(0);
    assert_eq!(core.in_flight(), 2);
    assert!(!core.accepting());
    assert_eq!(
        b2.header.as_ref().unwrap().previous_hash.as_ref(),
        header_hash(b1.header.as_ref().unwrap())
    );
    assert!(matches!(core.committed(&b1).unwrap(), Commit::Append { tip: t, .. } if t.height == 2));
    assert!(core.accepting());
    assert!(matches!(core.committed(&b2).unwrap(), Commit::Append { tip: t, .. } if t.height == 3));
    assert_eq!(core.in_flight(), 0);
}

#[test]
fn committed_blocks_must_extend_the_tip() {
    let (g, tip) = genesis_tip();
    let mut core = OrderingCore::new(batch(1, 100), tip, 0, 5);
    assert_eq!(core.committed(&g).unwrap(), Commit::AlreadyStored(0));
    let gap = new_block(2, &tip.hash, vec![env("x")]);
    assert!(matches!(core.committed(&gap), Err(OrdererError::Internal(m)) if m.contains("next block is 1")));
    let fork = new_block(1, &[7; 32], vec![env("x")]);
    assert!(core.committed(&fork).is_err());
    assert_eq!(core.committed_tip(), tip);
    let good = new_block(1, &tip.hash, vec![env("x")]);
    assert!(
        matches!(core.committed(&good).unwrap(), Commit::Append { tip: t, .. } if t.hash == header_hash(good.header.as_ref().unwrap()))
    );
}

#[test]
fn a_leader_behind_the_committed_chain_restarts_from_it() {
    let (_, tip) = genesis_tip();
    let mut core = OrderingCore::new(batch(1, 100), tip, 0, 5);
    core.become_leader();
    // Another leader's block commits first (e.g. after a leadership change).
    let foreign = new_block(1, &tip.hash, vec![env("from the previous leader")]);
    core.committed(&foreign).unwrap();
    let next = core.ordered(env("tx"), false).unwrap().blocks.remove(0);
    assert_eq!(number(&next), 2);
    assert_eq!(
        next.header.as_ref().unwrap().previous_hash.as_ref(),
        header_hash(foreign.header.as_ref().unwrap())
    );
}

#[test]
fn a_leader_whose_block_lost_to_a_predecessors_restarts_from_the_committed_tip() {
    let mut core = leader(1, 5);
    let mine1 = core.ordered(env("mine 1"), false).unwrap().blocks.remove(0);
    let mine2 = core.ordered(env("mine 2"), false).unwrap().blocks.remove(0);
    assert_eq!(core.in_flight(), 2);
    // A deposed leader's block 1 commits before ours: ours, and block 2 chained on it, cannot link.
    let theirs = new_block(1, &genesis_tip().1.hash, vec![env("the predecessor's block 1")]);
    assert_ne!(theirs, mine1);
    core.committed(&theirs).unwrap();
    assert_eq!(core.in_flight(), 0);
    assert!(core.accepting());
    let next = core.ordered(env("tx"), false).unwrap().blocks.remove(0);
    assert_eq!(number(&next), 2);
    assert_ne!(next, mine2);
    assert_eq!(
        next.header.as_ref().unwrap().previous_hash.as_ref(),
        header_hash(theirs.header.as_ref().unwrap())
    );
    // Its own block committing leaves the creator alone.
    core.committed(&next).unwrap();
    let after = core.ordered(env("tx 2"), false).unwrap().blocks.remove(0);
    assert_eq!(number(&after), 3);
}

#[test]
fn blocks_are_signed_in_fabric_layout() {
    let ca = CertificateAuthority::new_root(
        &Subject::new("ca.orderer.synthetic", "orderer.synthetic"),
        Validity::default(),
    )
    .unwrap();
    let (cert, key) = ca
        .issue_leaf(&LeafRequest::signing(
            Subject::new("orderer0.orderer.synthetic", "orderer.synthetic").with_ou("orderer"),
        ))
        .unwrap();
    let signer = SigningIdentity::new("OrdererMSP", cert.pem.as_bytes(), key).unwrap();
    let mut block = new_block(4, &[3; 32], vec![env("tx")]);
    sign_block(&mut block, &signer, 2, Bytes::new()).unwrap();
    assert_eq!(last_config_index(&block).unwrap(), 2);
    let md = signatures(&block).unwrap().unwrap();
    assert_eq!(
        md.value.as_ref(),
        orderer_metadata_value(2, bytes::Bytes::new()).as_slice()
    );
    let sh = SignatureHeader::decode(md.signatures[0].signature_header.as_ref()).unwrap();
    assert_eq!(sh.creator.as_ref(), signer.serialize());
    assert_eq!(sh.nonce.len(), 24);
    let msg = signed_bytes(
        &md.value,
        &md.signatures[0].signature_header,
        block.header.as_ref().unwrap(),
    );
    carechain_crypto::verify(signer.public_key(), &msg, &md.signatures[0].signature).unwrap();
}

#[test]
fn batch_config_comes_from_channel_parameters() {
    use carechain_proto::orderer::BatchSize;
    let params = OrdererParams {
        consensus_type: "etcdraft".into(),
        batch_size: BatchSize {
            max_message_count: 7,
            absolute_max_bytes: 1000,
            preferred_max_bytes: 500,
        },
        batch_timeout: Duration::ZERO,
        consenters: vec![],
        raft: carechain_channel::config::RaftOptions {
            tick_interval: Duration::from_millis(500),
            election_tick: 10,
            heartbeat_tick: 1,
            max_inflight_blocks: 5,
            snapshot_interval_size: 0,
        },
    };
    let b = batch_config(&params);
    assert_eq!(
        (b.max_message_count, b.absolute_max_bytes, b.preferred_max_bytes),
        (7, 1000, 500)
    );
    assert_eq!(b.timeout, Duration::from_millis(1));
}

/// An envelope whose channel header says CONFIG (what the chain recognises a config block by).
fn config_env() -> Bytes {
    use carechain_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload};
    let payload = Payload {
        header: Some(Header {
            channel_header: ChannelHeader {
                r#type: HeaderType::Config as i32,
                channel_id: "care".into(),
                ..Default::default()
            }
            .encode_to_vec()
            .into(),
            signature_header: Bytes::new(),
        }),
        data: Bytes::from_static(b"synthetic config"),
    };
    Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    }
    .encode_to_vec()
    .into()
}

#[test]
fn a_config_transaction_gets_a_block_of_its_own_and_holds_the_leader_until_it_commits() {
    let mut core = leader(10, 5);
    core.reconfigure(batch(10, 100), 5);
    assert_eq!(core.ordered(env("tx1"), false).unwrap().timer, Timer::Ensure);
    let step = core.ordered(config_env(), true).unwrap();
    assert_eq!(step.timer, Timer::Stop, "nothing is pending after a config cut");
    let [pending, config] = step.blocks.as_slice() else {
        panic!(
            "expected the pending batch and the config block, got {:?}",
            step.blocks
        )
    };
    assert_eq!(pending.data.as_ref().unwrap().data, vec![env("tx1")]);
    assert_eq!(config.data.as_ref().unwrap().data, vec![config_env()]);
    assert_eq!((number(pending), number(config)), (1, 2));
    assert!(core.config_in_flight());
    assert!(
        !core.accepting(),
        "no envelope is cut behind an uncommitted config block"
    );
    assert!(matches!(
        core.committed(pending).unwrap(),
        Commit::Append { config: false, .. }
    ));
    assert!(!core.accepting());
    assert_eq!(core.last_config(), 0);
    assert!(matches!(
        core.committed(config).unwrap(),
        Commit::Append { config: true, tip } if tip.height == 3
    ));
    assert_eq!(core.last_config(), 2, "a config block is its own last config");
    assert!(core.accepting() && !core.config_in_flight());
    // Alone when nothing is pending; a follower never holds a config block in flight.
    let step = core.ordered(config_env(), true).unwrap();
    assert_eq!(step.blocks.len(), 1);
    assert_eq!(core.become_follower(), 0);
    assert!(!core.config_in_flight());
}

#[test]
fn batch_parameters_follow_the_configuration() {
    let mut core = leader(10, 5);
    core.reconfigure(batch(2, 100), 1);
    assert_eq!(core.batch().max_message_count, 2);
    assert!(core.ordered(env("a"), false).unwrap().blocks.is_empty());
    assert_eq!(core.ordered(env("b"), false).unwrap().blocks.len(), 1);
    assert!(!core.accepting(), "in-flight limit of 1 reached");
}
