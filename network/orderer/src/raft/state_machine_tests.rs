//! Which entry becomes which block: the pure rule, deterministic (no tokio).

use carechain_channel::block::new_block;

use super::*;

fn tip_after(block: &Block) -> ChainTip {
    let h = block.header.as_ref().unwrap();
    ChainTip {
        height: h.number + 1,
        hash: header_hash(h),
    }
}

#[test]
fn only_the_block_that_extends_the_chain_is_appended() {
    let genesis = new_block(0, &[], vec![Bytes::from_static(b"synthetic genesis")]);
    let tip = tip_after(&genesis);
    let next = new_block(1, &tip.hash, vec![Bytes::from_static(b"tx")]);
    assert_eq!(classify(&tip, &next), Apply::Append(tip_after(&next)));
    // A deposed leader's proposal for a number already taken, one past a gap, and one chained on a
    // block that never committed are all skipped.
    let taken = new_block(0, &[], vec![Bytes::from_static(b"other")]);
    assert!(
        matches!(classify(&tip, &taken), Apply::Skip(m) if m.contains("does not follow the chain's height 1"))
    );
    let gap = new_block(2, &tip.hash, vec![]);
    assert!(matches!(classify(&tip, &gap), Apply::Skip(_)));
    let orphan = new_block(1, &[9; 32], vec![]);
    assert!(matches!(classify(&tip, &orphan), Apply::Skip(m) if m.contains("block 1")));
    let mut tampered = next.clone();
    tampered
        .data
        .as_mut()
        .unwrap()
        .data
        .push(Bytes::from_static(b"forged"));
    assert!(matches!(classify(&tip, &tampered), Apply::Skip(_)));
    assert!(matches!(classify(&tip, &Block::default()), Apply::Skip(m) if m.contains("no header")));
    // The empty chain takes block 0 with no previous hash.
    assert_eq!(classify(&ChainTip::default(), &genesis), Apply::Append(tip));
}
