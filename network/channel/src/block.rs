//! Block format shared by the ordering service (which builds and signs blocks) and the peers (which
//! check the hash chain and the orderer's signature before validating).
//!
//! Hashes follow Fabric exactly so a block is the same object to a Fabric tool: the header hash is
//! SHA-256 over the ASN.1 DER `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING
//! data_hash }`, the data hash is SHA-256 over the concatenated envelopes, and the orderer signs
//! `metadata.value ‖ signature_header ‖ header DER` into `metadata[SIGNATURES]`.

use bytes::Bytes;
use carechain_proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, BlockMetadataIndex, LastConfig, Metadata,
    MetadataSignature, OrdererBlockMetadata,
};
use prost::Message;
use sha2::{Digest, Sha256};

/// Number of metadata slots in a block (SIGNATURES .. COMMIT_HASH).
pub const METADATA_SLOTS: usize = 5;

/// Structural problems of a block, found before any transaction is looked at.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    /// The block has no header, data or metadata section.
    #[error("block is missing its {0} section")]
    Missing(&'static str),
    /// The header's data hash does not match the envelopes.
    #[error("block {number}: data hash does not match its envelopes")]
    DataHash {
        /// Block number.
        number: u64,
    },
    /// The header's previous hash does not match the chain.
    #[error("block {number}: previous hash {got} does not match the hash of block {prev} ({want})")]
    PreviousHash {
        /// Block number.
        number: u64,
        /// Number of the preceding block.
        prev: u64,
        /// Hex of the hash in the header.
        got: String,
        /// Hex of the expected hash.
        want: String,
    },
    /// A metadata entry does not decode.
    #[error("block {number}: malformed {what} metadata")]
    Metadata {
        /// Block number.
        number: u64,
        /// Which entry.
        what: &'static str,
    },
}

/// DER encoding of the header: what the chain hashes and the orderer signs.
pub fn header_der(h: &BlockHeader) -> Vec<u8> {
    let mut body = Vec::with_capacity(80);
    der_uint(&mut body, h.number);
    der_octets(&mut body, &h.previous_hash);
    der_octets(&mut body, &h.data_hash);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    der_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// SHA-256 of [`header_der`]: a block's identity in the hash chain.
pub fn header_hash(h: &BlockHeader) -> [u8; 32] {
    Sha256::digest(header_der(h)).into()
}

/// SHA-256 over the concatenated envelopes of a block.
pub fn data_hash(data: &[Bytes]) -> [u8; 32] {
    let mut h = Sha256::new();
    for d in data {
        h.update(d);
    }
    h.finalize().into()
}

/// An unsigned block with empty metadata slots.
pub fn new_block(number: u64, previous_hash: &[u8], data: Vec<Bytes>) -> Block {
    let header = BlockHeader {
        number,
        previous_hash: Bytes::copy_from_slice(previous_hash),
        data_hash: Bytes::copy_from_slice(&data_hash(&data)),
    };
    Block {
        header: Some(header),
        data: Some(BlockData { data }),
        metadata: Some(BlockMetadata {
            metadata: vec![Bytes::new(); METADATA_SLOTS],
        }),
    }
}

/// The bytes the orderer signs for `block`: `value ‖ signature_header ‖ header DER`.
pub fn signed_bytes(value: &[u8], signature_header: &[u8], header: &BlockHeader) -> Vec<u8> {
    let hd = header_der(header);
    let mut msg = Vec::with_capacity(value.len() + signature_header.len() + hd.len());
    msg.extend_from_slice(value);
    msg.extend_from_slice(signature_header);
    msg.extend_from_slice(&hd);
    msg
}

/// The `OrdererBlockMetadata` value recorded in the SIGNATURES slot: the last config block's number and
/// the consensus metadata (the Raft index of the block, for Raft).
pub fn orderer_metadata_value(last_config: u64, consenter_metadata: Bytes) -> Vec<u8> {
    OrdererBlockMetadata {
        last_config: Some(LastConfig { index: last_config }),
        consenter_metadata,
    }
    .encode_to_vec()
}

/// Stores the orderer's signature in the SIGNATURES slot.
pub fn set_signature(block: &mut Block, value: Vec<u8>, signature_header: Vec<u8>, signature: Vec<u8>) {
    let md = Metadata {
        value: value.into(),
        signatures: vec![MetadataSignature {
            signature_header: signature_header.into(),
            signature: signature.into(),
            identifier_header: Bytes::new(),
        }],
    };
    set_slot(block, BlockMetadataIndex::Signatures, md.encode_to_vec().into());
}

/// Writes one metadata slot, growing the metadata list if an older block has fewer slots.
pub fn set_slot(block: &mut Block, slot: BlockMetadataIndex, value: Bytes) {
    let md = block.metadata.get_or_insert_with(Default::default);
    let i = slot as usize;
    if md.metadata.len() <= i {
        md.metadata.resize(METADATA_SLOTS.max(i + 1), Bytes::new());
    }
    md.metadata[i] = value;
}

/// One metadata slot's bytes (empty when absent).
pub fn slot(block: &Block, slot: BlockMetadataIndex) -> Bytes {
    block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(slot as usize).cloned())
        .unwrap_or_default()
}

/// The decoded SIGNATURES metadata (value and signatures), if present.
pub fn signatures(block: &Block) -> Result<Option<Metadata>, BlockError> {
    let raw = slot(block, BlockMetadataIndex::Signatures);
    if raw.is_empty() {
        return Ok(None);
    }
    let number = block.header.as_ref().map_or(0, |h| h.number);
    Metadata::decode(raw).map(Some).map_err(|_| BlockError::Metadata {
        number,
        what: "signatures",
    })
}

/// The last-config index the orderer recorded in a block's signature metadata.
pub fn last_config_index(block: &Block) -> Result<u64, BlockError> {
    let number = block.header.as_ref().map_or(0, |h| h.number);
    match signatures(block)? {
        Some(md) if !md.value.is_empty() => OrdererBlockMetadata::decode(md.value)
            .map(|m| m.last_config.map_or(0, |l| l.index))
            .map_err(|_| BlockError::Metadata {
                number,
                what: "orderer",
            }),
        _ => Ok(0),
    }
}

/// The header type of an envelope (`None` when it does not decode).
pub fn envelope_type(raw: &[u8]) -> Option<i32> {
    use carechain_proto::common::{ChannelHeader, Envelope, Payload};
    let env = Envelope::decode(raw).ok()?;
    let payload = Payload::decode(env.payload).ok()?;
    let ch = ChannelHeader::decode(payload.header?.channel_header).ok()?;
    Some(ch.r#type)
}

/// Whether `block` is a config block: exactly one envelope, of header type CONFIG (the ordering
/// service cuts config transactions into blocks of their own).
pub fn is_config_block(block: &Block) -> bool {
    let data = block.data.as_ref().map(|d| d.data.as_slice()).unwrap_or_default();
    matches!(data, [only] if envelope_type(only) == Some(carechain_proto::common::HeaderType::Config as i32))
}

/// Checks a block's own consistency (data hash) and its link to the previous block's header hash.
pub fn check_chain(block: &Block, prev_hash: Option<&[u8; 32]>) -> Result<(), BlockError> {
    let header = block.header.as_ref().ok_or(BlockError::Missing("header"))?;
    let data = block.data.as_ref().ok_or(BlockError::Missing("data"))?;
    if header.data_hash.as_ref() != data_hash(&data.data) {
        return Err(BlockError::DataHash {
            number: header.number,
        });
    }
    if let Some(prev) = prev_hash
        && header.previous_hash.as_ref() != prev
    {
        return Err(BlockError::PreviousHash {
            number: header.number,
            prev: header.number.saturating_sub(1),
            got: hex::encode(&header.previous_hash),
            want: hex::encode(prev),
        });
    }
    Ok(())
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_uint(out: &mut Vec<u8>, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut content = bytes[skip..].to_vec();
    // DER integers are two's complement: a leading 1 bit needs a zero pad to stay positive.
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    out.push(0x02);
    der_len(out, content.len());
    out.extend_from_slice(&content);
}

fn der_octets(out: &mut Vec<u8>, b: &[u8]) {
    out.push(0x04);
    der_len(out, b.len());
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_der_matches_fabric_encoding() {
        // Fabric (Go asn1.Marshal) encodes block 0 with empty hashes as 30 07 02 01 00 04 00 04 00... with
        // a 32-byte data hash: 30 27 02 01 00 04 00 04 20 <32 bytes>.
        let h = BlockHeader {
            number: 0,
            previous_hash: Bytes::new(),
            data_hash: Bytes::from(vec![0xab; 32]),
        };
        let der = header_der(&h);
        assert_eq!(&der[..9], &[0x30, 0x27, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x20]);
        let h2 = BlockHeader {
            number: 128,
            ..h.clone()
        };
        assert_eq!(&header_der(&h2)[2..6], &[0x02, 0x02, 0x00, 0x80]);
        let h3 = BlockHeader { number: 256, ..h };
        assert_eq!(&header_der(&h3)[2..6], &[0x02, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn chain_checks_detect_tampering() {
        let b0 = new_block(0, &[], vec![Bytes::from_static(b"genesis")]);
        let h0 = header_hash(b0.header.as_ref().unwrap());
        let b1 = new_block(1, &h0, vec![Bytes::from_static(b"tx")]);
        assert_eq!(check_chain(&b1, Some(&h0)), Ok(()));
        assert!(matches!(
            check_chain(&b1, Some(&[0; 32])),
            Err(BlockError::PreviousHash { .. })
        ));
        let mut bad = b1.clone();
        bad.data.as_mut().unwrap().data[0] = Bytes::from_static(b"forged");
        assert_eq!(
            check_chain(&bad, Some(&h0)),
            Err(BlockError::DataHash { number: 1 })
        );
    }

    #[test]
    fn config_blocks_are_recognised_by_their_only_envelope() {
        use carechain_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload};
        let env = |t: HeaderType| -> Bytes {
            let ch = ChannelHeader {
                r#type: t as i32,
                channel_id: "care".into(),
                ..Default::default()
            };
            let payload = Payload {
                header: Some(Header {
                    channel_header: ch.encode_to_vec().into(),
                    signature_header: Bytes::new(),
                }),
                data: Bytes::new(),
            };
            Envelope {
                payload: payload.encode_to_vec().into(),
                signature: Bytes::new(),
            }
            .encode_to_vec()
            .into()
        };
        assert!(is_config_block(&new_block(
            4,
            &[1; 32],
            vec![env(HeaderType::Config)]
        )));
        assert!(!is_config_block(&new_block(
            4,
            &[1; 32],
            vec![env(HeaderType::EndorserTransaction)]
        )));
        let two = vec![env(HeaderType::Config), env(HeaderType::Config)];
        assert!(!is_config_block(&new_block(4, &[1; 32], two)));
        assert!(!is_config_block(&new_block(
            4,
            &[1; 32],
            vec![Bytes::from_static(b"junk")]
        )));
        assert_eq!(envelope_type(b"junk"), None);
    }

    #[test]
    fn signature_metadata_roundtrips() {
        let mut b = new_block(3, &[1; 32], vec![]);
        set_signature(
            &mut b,
            orderer_metadata_value(2, Bytes::new()),
            b"sh".to_vec(),
            b"sig".to_vec(),
        );
        assert_eq!(last_config_index(&b).unwrap(), 2);
        let md = signatures(&b).unwrap().unwrap();
        assert_eq!(md.signatures[0].signature.as_ref(), b"sig");
    }
}
