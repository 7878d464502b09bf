//! A process-wide memory of signatures already known to be good, so that one process never pays twice
//! for the same ECDSA check. In endorse → order → validate the same bytes are verified more than once
//! by one process: the gateway checks a client's envelope signature at Submit and its committer checks
//! it again in the block; a peer meets its own endorsement signature in every block it validates.
//! Verification is the committer's dominant cost (about 50 µs a signature).
//!
//! Each remembered signature is stored under SHA-256(public key ‖ signature) with the SHA-256 of the
//! message it signs. A lookup hashes the message only when the key and signature are known, so a miss
//! (most checks in a block) costs well under a microsecond, and a hit proves these exact bytes were
//! verified (or produced) with this key before. Identity checks (chain, validity, CRL) are separate
//! and not affected. Only the places that expect a repeat remember: signing, and verifications marked
//! so by their caller. Memory is bounded: two generations of [`GENERATION`] entries, the older dropped
//! whole when the newer fills (a few megabytes; many seconds of traffic at 1,500 tx/s).

use std::collections::HashMap;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Entries per generation.
pub const GENERATION: usize = 32 * 1024;

/// Two generations of remembered signatures; the older is dropped whole when the newer fills.
#[derive(Default)]
pub(crate) struct Generations {
    current: HashMap<[u8; 32], [u8; 32]>,
    previous: HashMap<[u8; 32], [u8; 32]>,
}

impl Generations {
    fn get(&self, key: &[u8; 32]) -> Option<[u8; 32]> {
        self.current.get(key).or_else(|| self.previous.get(key)).copied()
    }

    pub(crate) fn insert(&mut self, key: [u8; 32], msg_digest: [u8; 32], generation: usize) {
        if self.current.len() >= generation {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, msg_digest);
    }

    #[cfg(test)]
    pub(crate) fn knows(&self, key: &[u8; 32]) -> bool {
        self.get(key).is_some()
    }
}

static MEMORY: Mutex<Option<Generations>> = Mutex::new(None);

/// The lookup key of `signature` by `public_key` (the key's length is framed, so the concatenation is
/// unambiguous).
fn key(public_key: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((public_key.len() as u32).to_be_bytes());
    h.update(public_key);
    h.update(signature);
    h.finalize().into()
}

/// Whether `signature` by `public_key` over exactly `msg` was verified or made before.
pub(crate) fn known(public_key: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let k = key(public_key, signature);
    let Some(digest) = MEMORY.lock().as_ref().and_then(|g| g.get(&k)) else {
        return false;
    };
    <[u8; 32]>::from(Sha256::digest(msg)) == digest
}

/// Remembers a signature over `msg` that verified, or that this process made.
pub(crate) fn remember(public_key: &[u8], msg: &[u8], signature: &[u8]) {
    let k = key(public_key, signature);
    let digest = Sha256::digest(msg).into();
    MEMORY
        .lock()
        .get_or_insert_with(Generations::default)
        .insert(k, digest, GENERATION);
}

/// Forgets every remembered signature, so the next checks pay for full verification (benchmarks that
/// measure verification made their inputs in-process).
pub fn forget_all() {
    *MEMORY.lock() = None;
}
