//! Byte layouts of the ledger's column families. Fixed-width big-endian numbers keep RocksDB's
//! lexicographic order equal to (namespace, key, block, tx) order, which range queries and history
//! scans rely on.

use std::collections::BTreeMap;

use peer_core::state::{HistoryEntry, TxLocation, Version, VersionedValue};

use crate::LedgerError;

/// `ns \0 key`: namespaces never contain NUL, so one namespace's keys are one contiguous range.
pub(crate) fn state_key(ns: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + 1 + key.len());
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The first byte string after every key of namespace `ns`.
pub(crate) fn ns_end(ns: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + 1);
    k.extend_from_slice(ns.as_bytes());
    k.push(1);
    k
}

/// `ns \0 len(key) key`: the length prefix stops a key from matching the history of a longer key
/// that begins with it (composite keys contain NUL bytes).
pub(crate) fn history_prefix(ns: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + 5 + key.len() + 16);
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key.as_bytes());
    k
}

pub(crate) fn history_key(ns: &str, key: &str, v: Version) -> Vec<u8> {
    let mut k = history_prefix(ns, key);
    k.extend_from_slice(&v.block.to_be_bytes());
    k.extend_from_slice(&v.tx.to_be_bytes());
    k
}

pub(crate) fn encode_value(value: &[u8], version: Version, meta: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + value.len());
    out.extend_from_slice(&version.block.to_be_bytes());
    out.extend_from_slice(&version.tx.to_be_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
    for (name, v) in meta {
        put_chunk(&mut out, name.as_bytes());
        put_chunk(&mut out, v);
    }
    out.extend_from_slice(value);
    out
}

pub(crate) fn decode_value(raw: &[u8]) -> Result<VersionedValue, LedgerError> {
    let mut r = Reader::new(raw);
    let version = Version::new(r.u64()?, r.u64()?);
    let n = r.u32()?;
    let mut metadata = BTreeMap::new();
    for _ in 0..n {
        let name = String::from_utf8(r.chunk()?.to_vec()).map_err(|_| corrupt("metadata name"))?;
        metadata.insert(name, r.chunk()?.to_vec());
    }
    Ok(VersionedValue {
        value: r.rest().to_vec(),
        version,
        metadata,
    })
}

pub(crate) fn encode_history(e: &HistoryEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + e.tx_id.len() + e.value.len());
    put_chunk(&mut out, e.tx_id.as_bytes());
    out.extend_from_slice(&e.timestamp.0.to_be_bytes());
    out.extend_from_slice(&e.timestamp.1.to_be_bytes());
    out.push(u8::from(e.is_delete));
    out.extend_from_slice(&e.value);
    out
}

pub(crate) fn decode_history(key: &[u8], raw: &[u8]) -> Result<HistoryEntry, LedgerError> {
    if key.len() < 16 {
        return Err(corrupt("history key"));
    }
    let mut kr = Reader::new(&key[key.len() - 16..]);
    let version = Version::new(kr.u64()?, kr.u64()?);
    let mut r = Reader::new(raw);
    let tx_id = String::from_utf8(r.chunk()?.to_vec()).map_err(|_| corrupt("history tx id"))?;
    let secs = i64::from_be_bytes(r.array()?);
    let nanos = i32::from_be_bytes(r.array()?);
    let is_delete = r.array::<1>()?[0] != 0;
    Ok(HistoryEntry {
        tx_id,
        version,
        timestamp: (secs, nanos),
        is_delete,
        value: r.rest().to_vec(),
    })
}

pub(crate) fn encode_location(l: &TxLocation) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..8].copy_from_slice(&l.block.to_be_bytes());
    out[8..16].copy_from_slice(&l.tx.to_be_bytes());
    out[16..].copy_from_slice(&l.code.to_be_bytes());
    out
}

pub(crate) fn decode_location(raw: &[u8]) -> Result<TxLocation, LedgerError> {
    let mut r = Reader::new(raw);
    Ok(TxLocation {
        block: r.u64()?,
        tx: r.u64()?,
        code: i32::from_be_bytes(r.array()?),
    })
}

fn put_chunk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

pub(crate) fn corrupt(what: &str) -> LedgerError {
    LedgerError::Corrupt(format!("malformed {what}"))
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], LedgerError> {
        let (head, tail) = self.buf.split_at_checked(N).ok_or_else(|| corrupt("record"))?;
        self.buf = tail;
        head.try_into().map_err(|_| corrupt("record"))
    }
    fn u64(&mut self) -> Result<u64, LedgerError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, LedgerError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn chunk(&mut self) -> Result<&'a [u8], LedgerError> {
        let n = self.u32()? as usize;
        let (head, tail) = self.buf.split_at_checked(n).ok_or_else(|| corrupt("record"))?;
        self.buf = tail;
        Ok(head)
    }
    fn rest(self) -> &'a [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_roundtrip_with_metadata() {
        let mut meta = BTreeMap::new();
        meta.insert("VALIDATION_PARAMETER".to_string(), vec![1, 2, 3]);
        let raw = encode_value(b"hello", Version::new(7, 3), &meta);
        let v = decode_value(&raw).unwrap();
        assert_eq!(v.value, b"hello");
        assert_eq!(v.version, Version::new(7, 3));
        assert_eq!(v.metadata, meta);
        assert!(decode_value(&raw[..10]).is_err());
    }

    #[test]
    fn history_keys_do_not_collide_for_prefix_keys() {
        let a = history_key("cc", "k", Version::new(1, 0));
        let b = history_key("cc", "k\0x", Version::new(1, 0));
        assert!(!b.starts_with(&history_prefix("cc", "k")));
        assert!(a.starts_with(&history_prefix("cc", "k")));
    }

    #[test]
    fn history_roundtrip() {
        let e = HistoryEntry {
            tx_id: "abc".into(),
            version: Version::new(4, 2),
            timestamp: (1700000000, 5),
            is_delete: false,
            value: b"v".to_vec(),
        };
        let k = history_key("cc", "k", e.version);
        assert_eq!(decode_history(&k, &encode_history(&e)).unwrap(), e);
    }
}
