//! PEM encoding and decoding for certificates, CRLs and keys.
//!
//! Fabric carries certificates as PEM everywhere: in `SerializedIdentity.id_bytes` (the creator of
//! every proposal and transaction), in `FabricMSPConfig` inside channel configuration, and in the
//! MSP directories on disk. This module is the single place that turns those bytes into DER and
//! back, so every other module works on DER.

use base64::Engine;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    pub label: String,
    /// The base64-decoded contents (DER).
    pub contents: Vec<u8>,
}

/// Why PEM text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// A block is present but broken (bad base64, missing END line...).
    #[error("invalid PEM block: {0}")]
    Invalid(String),
    /// No block with the wanted label.
    #[error("no PEM block labelled {0}")]
    Missing(&'static str),
}

/// Encodes DER as PEM with 64-column lines and a trailing newline.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes every PEM block in `data`; text between blocks is ignored.
pub fn decode_all(data: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    x509_parser::pem::Pem::iter_from_buffer(data)
        .map(|block| {
            block
                .map(|p| PemBlock {
                    label: p.label,
                    contents: p.contents,
                })
                .map_err(|e| PemError::Invalid(e.to_string()))
        })
        .collect()
}

/// The DER of every `CERTIFICATE` block in `data`, in order.
pub fn certificates(data: &[u8]) -> Result<Vec<Vec<u8>>, PemError> {
    Ok(decode_all(data)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| b.contents)
        .collect())
}

/// The DER of the first `CERTIFICATE` block in `data`.
pub fn first_certificate(data: &[u8]) -> Result<Vec<u8>, PemError> {
    certificates(data)?
        .into_iter()
        .next()
        .ok_or(PemError::Missing("CERTIFICATE"))
}

/// PEM-encodes a DER certificate.
pub fn encode_certificate(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_wraps_lines() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(first_certificate(text.as_bytes()), Ok(der.clone()));
        let two = format!("comment\n{text}{}", encode("X509 CRL", &der[..3]));
        let blocks = decode_all(two.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].label, "X509 CRL");
    }

    #[test]
    fn reports_missing_and_broken_blocks() {
        assert_eq!(
            first_certificate(b"nothing here"),
            Err(PemError::Missing("CERTIFICATE"))
        );
        assert!(matches!(
            decode_all(b"-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n"),
            Err(PemError::Invalid(_))
        ));
    }
}
