//! Endorsement planning: which organizations the gateway must ask to endorse a transaction.
//!
//! Given every policy the transaction must satisfy (its chaincode's policy and the key-level policies
//! of the keys it writes, as learned from the local endorsement) and the organizations that have
//! reachable peers, [`plan`] returns the smallest set of organizations, the gateway's own first,
//! whose peers' endorsements satisfy them all. It evaluates the real policies with stand-in signers
//! ("some peer of org X"), so any policy shape works: AND, OR, OutOf, implicit MAJORITY. Pure: no I/O.

use std::collections::BTreeSet;

use carechain_channel::ChannelConfig;
use carechain_channel::policy::OrgPeer;
use peer_core::policy::EndorsementPolicy;

/// Largest number of candidate organizations searched exhaustively (2^16 subsets).
const MAX_CANDIDATES: usize = 16;

/// Whether endorsements from peers of `orgs` satisfy every policy.
pub fn satisfies(channel: &ChannelConfig, policies: &[EndorsementPolicy], orgs: &[String]) -> bool {
    let signers: Vec<OrgPeer> = orgs.iter().cloned().map(OrgPeer).collect();
    policies.iter().all(|p| match p {
        EndorsementPolicy::Signature(sp) => sp.evaluate(&signers),
        EndorsementPolicy::Channel(path) => channel.evaluate(path, &signers).is_ok(),
    })
}

/// The smallest set of organizations from `candidates` (in preference order; the first is the local
/// org) that satisfies `policies`, or `None` if no subset does. Among sets of equal size the one using
/// the most preferred orgs wins.
pub fn plan(
    channel: &ChannelConfig,
    policies: &[EndorsementPolicy],
    candidates: &[String],
) -> Option<Vec<String>> {
    let mut uniq: Vec<String> = Vec::new();
    for c in candidates {
        if !uniq.contains(c) {
            uniq.push(c.clone());
        }
    }
    uniq.truncate(MAX_CANDIDATES);
    let n = uniq.len();
    // (size, rank, mask): fewest orgs first, then lowest rank, where leaving out a more preferred
    // org (earlier in `candidates`) costs more.
    let mut best: Option<(u32, u64, u32)> = None;
    for mask in 1u32..(1u32 << n) {
        let size = mask.count_ones();
        if best.is_some_and(|(s, _, _)| size > s) {
            continue;
        }
        let orgs = pick(&uniq, mask);
        if !satisfies(channel, policies, &orgs) {
            continue;
        }
        let rank: u64 = (0..n)
            .filter(|i| mask & (1 << i) == 0)
            .map(|i| 1u64 << (n - i))
            .sum();
        if best.is_none_or(|(s, r, _)| size < s || (size == s && rank < r)) {
            best = Some((size, rank, mask));
        }
    }
    best.map(|(_, _, mask)| pick(&uniq, mask))
}

fn pick(orgs: &[String], mask: u32) -> Vec<String> {
    (0..orgs.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| orgs[i].clone())
        .collect()
}

/// The MSP ids of the channel's application organizations, local org first.
pub fn candidates(channel: &ChannelConfig, local_msp: &str, exclude: &BTreeSet<String>) -> Vec<String> {
    let mut out = vec![local_msp.to_string()];
    out.extend(channel.application_orgs.values().map(|o| o.msp_id.clone()));
    out.retain(|m| !exclude.contains(m) && channel.application_org_by_msp(m).is_some());
    out.dedup();
    out
}
