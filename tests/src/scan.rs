//! Canary scanning: the proof that private data stays where it belongs. A test writes unique marked
//! strings (canaries) through private channels, then looks for them everywhere a non-member could read
//! them: blocks as delivered (raw and decoded down to read/write sets, events and responses), every key
//! and value of every RocksDB database a node holds (all column families, read through RocksDB so LZ4
//! compression cannot hide anything, with serialized blocks decoded), the raw bytes of every file (write-
//! ahead logs, SST files, RocksDB's own LOG) and the nodes' log files.
//!
//! A canary is looked for in every form a store might keep it in: as is, hex (lower and upper case) and
//! base64 (standard and URL-safe, at each of the three alignments it can have inside a longer encoded
//! string). Scanning that finds nothing proves something only if it would have found a canary that was
//! there, so tests plant one on purpose (a public write, a member's store) and check it is found.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use carechain_proto::common::{Block, ChannelHeader, Envelope, Payload};
use carechain_proto::kvrwset::{HashedRwSet, KvrwSet};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, ProposalResponsePayload, Transaction,
};
use carechain_proto::rwset::{TxPvtReadWriteSet, TxReadWriteSet};
use prost::Message;

/// A canary found somewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Where: a block part, a database entry (path, column family, key) or a file, and the encoding.
    pub place: String,
    /// The canary found.
    pub canary: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.canary, self.place)
    }
}

/// Every byte pattern `canary` may be stored as, with the encoding's name.
fn needles(canary: &str) -> Vec<(&'static str, Vec<u8>)> {
    let raw = canary.as_bytes();
    let mut out = vec![
        ("raw", raw.to_vec()),
        ("hex", hex::encode(raw).into_bytes()),
        ("HEX", hex::encode_upper(raw).into_bytes()),
    ];
    let engines = [
        ("base64", base64::engine::general_purpose::STANDARD_NO_PAD),
        ("base64url", base64::engine::general_purpose::URL_SAFE_NO_PAD),
    ];
    for (name, engine) in engines {
        for align in 0..3usize {
            // Inside a longer base64 string the canary starts `align` bytes into a 3-byte group; keep
            // only the characters that depend on the canary's bits alone.
            let mut padded = vec![0u8; align];
            padded.extend_from_slice(raw);
            let enc = engine.encode(&padded);
            let (from, to) = ((8 * align).div_ceil(6), 8 * (align + raw.len()) / 6);
            if to > from + 8 {
                out.push((name, enc.as_bytes()[from..to].to_vec()));
            }
        }
    }
    out
}

/// Canaries (in any encoding) found in `bytes`, reported at `place`.
pub fn scan_bytes(place: &str, bytes: &[u8], canaries: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in canaries {
        for (enc, needle) in needles(c) {
            if memchr::memmem::find(bytes, &needle).is_some() {
                out.push(Finding {
                    place: format!("{place} ({enc})"),
                    canary: c.clone(),
                });
            }
        }
    }
    out
}

/// Canaries found in a text (a log, a command's output, a query result).
pub fn scan_text(place: &str, text: &str, canaries: &[String]) -> Vec<Finding> {
    scan_bytes(place, text.as_bytes(), canaries)
}

/// Blocks as delivered, raw and decoded (envelopes, payloads, proposal inputs, read/write sets with
/// their collection hashes, chaincode events and responses, endorsements, metadata).
pub fn scan_blocks(blocks: &[Block], canaries: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in blocks {
        let n = b.header.as_ref().map_or(u64::MAX, |h| h.number);
        out.extend(scan_bytes(
            &format!("block {n} (whole)"),
            &b.encode_to_vec(),
            canaries,
        ));
        for (part, bytes) in block_parts(b) {
            out.extend(scan_bytes(&format!("block {n} {part}"), &bytes, canaries));
        }
    }
    out
}

/// Private write sets (as DeliverWithPrivateData returns them), raw and decoded down to keys and values.
pub fn scan_pvt(place: &str, pvt: &TxPvtReadWriteSet, canaries: &[String]) -> Vec<Finding> {
    let mut out = scan_bytes(place, &pvt.encode_to_vec(), canaries);
    for ns in &pvt.ns_pvt_rwset {
        for c in &ns.collection_pvt_rwset {
            let at = format!("{place} {}/{}", ns.namespace, c.collection_name);
            if let Ok(kv) = KvrwSet::decode(c.rwset.as_ref()) {
                for (part, bytes) in kv_parts(&kv) {
                    out.extend(scan_bytes(&format!("{at} {part}"), &bytes, canaries));
                }
            }
        }
    }
    out
}

/// A block taken apart: (name, bytes) of every layer a value can hide in.
pub fn block_parts(block: &Block) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Some(m) = &block.metadata {
        for (i, slot) in m.metadata.iter().enumerate() {
            out.push((format!("metadata[{i}]"), slot.to_vec()));
        }
    }
    let data = block.data.as_ref().map(|d| d.data.as_slice()).unwrap_or_default();
    for (i, raw) in data.iter().enumerate() {
        let at = format!("tx {i}");
        out.push((format!("{at} envelope"), raw.to_vec()));
        let Ok(env) = Envelope::decode(raw.as_ref()) else {
            continue;
        };
        let Ok(payload) = Payload::decode(env.payload.as_ref()) else {
            continue;
        };
        if let Some(h) = &payload.header {
            out.push((format!("{at} signature header"), h.signature_header.to_vec()));
            if let Ok(ch) = ChannelHeader::decode(h.channel_header.as_ref()) {
                out.push((format!("{at} channel header"), ch.encode_to_vec()));
            }
        }
        out.push((format!("{at} payload data"), payload.data.to_vec()));
        let Ok(tx) = Transaction::decode(payload.data.as_ref()) else {
            continue;
        };
        for (j, action) in tx.actions.iter().enumerate() {
            out.extend(
                action_parts(&action.payload)
                    .into_iter()
                    .map(|(p, b)| (format!("{at} action {j} {p}"), b)),
            );
        }
    }
    out
}

fn action_parts(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(cap) = ChaincodeActionPayload::decode(raw) else {
        return out;
    };
    if let Ok(cpp) = ChaincodeProposalPayload::decode(cap.chaincode_proposal_payload.as_ref()) {
        for (k, v) in &cpp.transient_map {
            out.push((format!("transient {k}"), v.to_vec()));
        }
        if let Ok(spec) = ChaincodeInvocationSpec::decode(cpp.input.as_ref()) {
            let args = spec.chaincode_spec.and_then(|s| s.input).map(|i| i.args);
            for (i, a) in args.unwrap_or_default().iter().enumerate() {
                out.push((format!("arg {i}"), a.to_vec()));
            }
        }
    }
    let Some(action) = cap.action else { return out };
    for (i, e) in action.endorsements.iter().enumerate() {
        out.push((format!("endorsement {i}"), e.encode_to_vec()));
    }
    let Ok(prp) = ProposalResponsePayload::decode(action.proposal_response_payload.as_ref()) else {
        return out;
    };
    let Ok(cc) = ChaincodeAction::decode(prp.extension.as_ref()) else {
        return out;
    };
    if let Some(r) = &cc.response {
        out.push(("response payload".into(), r.payload.to_vec()));
        out.push(("response message".into(), r.message.clone().into_bytes()));
    }
    if let Ok(ev) = ChaincodeEvent::decode(cc.events.as_ref()) {
        out.push((format!("event {}", ev.event_name), ev.payload.to_vec()));
    }
    if let Ok(rw) = TxReadWriteSet::decode(cc.results.as_ref()) {
        for ns in &rw.ns_rwset {
            if let Ok(kv) = KvrwSet::decode(ns.rwset.as_ref()) {
                out.extend(
                    kv_parts(&kv)
                        .into_iter()
                        .map(|(p, b)| (format!("rwset {} {p}", ns.namespace), b)),
                );
            }
            for c in &ns.collection_hashed_rwset {
                let at = format!("rwset {}/{} hashed", ns.namespace, c.collection_name);
                out.push((format!("{at} pvt_rwset_hash"), c.pvt_rwset_hash.to_vec()));
                if let Ok(h) = HashedRwSet::decode(c.hashed_rwset.as_ref()) {
                    for w in &h.hashed_writes {
                        out.push((
                            format!("{at} write"),
                            [&w.key_hash[..], &w.value_hash[..]].concat(),
                        ));
                    }
                    for m in &h.metadata_writes {
                        out.push((format!("{at} metadata"), m.encode_to_vec()));
                    }
                }
            }
        }
    }
    out
}

fn kv_parts(kv: &KvrwSet) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for r in &kv.reads {
        out.push(("read key".into(), r.key.clone().into_bytes()));
    }
    for q in &kv.range_queries_info {
        out.push(("range".into(), q.encode_to_vec()));
    }
    for w in &kv.writes {
        out.push((
            format!("write {}", printable(w.key.as_bytes())),
            w.key.clone().into_bytes(),
        ));
        out.push((
            format!("value of {}", printable(w.key.as_bytes())),
            w.value.to_vec(),
        ));
    }
    for m in &kv.metadata_writes {
        out.push(("metadata write".into(), m.encode_to_vec()));
    }
    out
}

/// Every RocksDB database under `dir` (all column families, every key and value, decoded where values
/// are serialized blocks) and every other file (raw bytes, logs). `dir` may also be a single file.
pub fn scan_dir(dir: &Path, canaries: &[String]) -> anyhow::Result<Vec<Finding>> {
    let mut out = scan_databases(dir, canaries)?;
    out.extend(scan_files(dir, canaries)?);
    Ok(out)
}

/// What the databases under `dir` hold now (a logical read: deleted entries are not seen even while
/// their bytes linger in files until compaction; [`scan_files`] sees those).
pub fn scan_databases(dir: &Path, canaries: &[String]) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    for db in databases(dir)? {
        for_each_entry(&db, |cf, key, value| {
            let at = format!("db {} cf={cf} key={}", db.display(), printable(key));
            out.extend(scan_bytes(&format!("{at} (key)"), key, canaries));
            out.extend(scan_bytes(&at, value, canaries));
            if let Some(block) = embedded_block(value) {
                out.extend(
                    scan_blocks(std::slice::from_ref(&block), canaries)
                        .into_iter()
                        .map(|f| Finding {
                            place: format!("{at} → {}", f.place),
                            canary: f.canary,
                        }),
                );
            }
        })?;
    }
    Ok(out)
}

/// The raw bytes of every file under `dir` (or of `dir` itself if it is a file).
pub fn scan_files(dir: &Path, canaries: &[String]) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    for f in files(dir)? {
        let bytes = std::fs::read(&f)?;
        out.extend(scan_bytes(&format!("file {}", f.display()), &bytes, canaries));
    }
    Ok(out)
}

/// Every regular file under `dir`, recursively (just `dir` if it is a file).
pub fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Directories under `dir` holding a RocksDB database (a `CURRENT` file naming a manifest).
pub fn databases(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(files(dir)?
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "CURRENT"))
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .filter(|d| {
            std::fs::read_dir(d).is_ok_and(|mut es| {
                es.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("MANIFEST-")))
            })
        })
        .collect())
}

/// Calls `f(column family, key, value)` for every entry of every column family of the database at
/// `path`, opened read-only (the owning process should be stopped: a read-only open replays the
/// write-ahead log, so nothing acknowledged is missed).
pub fn for_each_entry(path: &Path, mut f: impl FnMut(&str, &[u8], &[u8])) -> anyhow::Result<usize> {
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, path)?;
    let db = rocksdb::DB::open_cf_for_read_only(&opts, path, &cfs, false)?;
    let mut n = 0;
    for name in &cfs {
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| anyhow::anyhow!("column family {name} of {} not opened", path.display()))?;
        for item in db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (k, v) = item?;
            f(name, &k, &v);
            n += 1;
        }
    }
    Ok(n)
}

/// A serialized block at the start of `value` or after a short length-prefixed header (a Raft log
/// entry wraps the block in a postcard enum), recognised by decoding and re-encoding to the same bytes.
pub fn embedded_block(value: &[u8]) -> Option<Block> {
    let exact = |bytes: &[u8]| {
        Block::decode(bytes)
            .ok()
            .filter(|b| b.header.is_some() && b.data.is_some() && b.encoded_len() == bytes.len())
    };
    if let Some(b) = exact(value) {
        return Some(b);
    }
    for start in 0..value.len().min(48) {
        let mut rest = &value[start..];
        let Ok(len) = prost::encoding::decode_varint(&mut rest) else {
            continue;
        };
        let Some(slice) = usize::try_from(len).ok().and_then(|l| rest.get(..l)) else {
            continue;
        };
        if slice.len() > 16
            && let Some(b) = exact(slice)
        {
            return Some(b);
        }
    }
    None
}

/// Bytes as text for a report: printable ASCII kept, the rest escaped, cut at 96 characters.
pub fn printable(bytes: &[u8]) -> String {
    let mut s = String::new();
    for b in bytes.iter().take(96) {
        if b.is_ascii_graphic() || *b == b' ' {
            s.push(char::from(*b));
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    if bytes.len() > 96 {
        s.push('…');
    }
    s
}

/// A fresh canary: a marked synthetic string no real record contains, unique to this run.
pub fn canary(label: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "SYNTHETIC-PHI-CANARY-{label}-{:x}-{}-{}",
        nanos,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_encoding_and_nothing_else() {
        let c = vec![canary("unit")];
        let raw = c[0].as_bytes();
        assert!(!scan_bytes("x", raw, &c).is_empty());
        assert!(!scan_bytes("x", hex::encode(raw).as_bytes(), &c).is_empty());
        for prefix in ["", "a", "ab", "abc"] {
            let wrapped = [prefix.as_bytes(), raw, b"tail"].concat();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&wrapped);
            assert!(
                !scan_bytes("x", b64.as_bytes(), &c).is_empty(),
                "prefix {prefix:?}"
            );
        }
        assert!(scan_bytes("x", b"SYNTHETIC-PHI-CANARY-unit-0", &c).is_empty());
        assert!(scan_bytes("x", &raw[..raw.len() - 1], &c).is_empty());
    }

    #[test]
    fn finds_a_canary_in_a_compressed_database_and_in_an_embedded_block() {
        let dir = tempfile::tempdir().unwrap();
        let c = vec![canary("db")];
        let block = Block {
            header: Some(Default::default()),
            data: Some(carechain_proto::common::BlockData {
                data: vec![c[0].clone().into_bytes().into()],
            }),
            metadata: None,
        };
        {
            let mut opts = rocksdb::Options::default();
            opts.create_if_missing(true);
            opts.create_missing_column_families(true);
            opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
            let db = rocksdb::DB::open_cf(&opts, dir.path(), ["blocks"]).unwrap();
            let mut entry = vec![1u8];
            prost::encoding::encode_varint(block.encoded_len() as u64, &mut entry);
            entry.extend_from_slice(&block.encode_to_vec());
            db.put_cf(db.cf_handle("blocks").unwrap(), b"k", &entry).unwrap();
            db.flush_cf(db.cf_handle("blocks").unwrap()).unwrap();
        }
        let found = scan_databases(dir.path(), &c).unwrap();
        assert!(found.iter().any(|f| f.place.contains("cf=blocks")), "{found:?}");
        assert!(
            found.iter().any(|f| f.place.contains("tx 0 envelope")),
            "{found:?}"
        );
    }
}
