//! The fields of an X.509 certificate that MSP validation and policy evaluation need, extracted
//! once into owned data.
//!
//! `x509-parser` borrows from the DER buffer, which does not fit a cache of validated identities
//! shared across threads; so a certificate is parsed here once, its names, validity, key,
//! key usage and Fabric attributes copied out, and the DER kept for chain signature checks.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::x509::X509Name;

use crate::issue::ATTRIBUTE_OID_STR;

/// `CN=<common name>` when the name has one, otherwise the whole name: short and unambiguous
/// enough for error messages.
pub(crate) fn display_name(name: &X509Name<'_>) -> String {
    match name.iter_common_name().next().and_then(|cn| cn.as_str().ok()) {
        Some(cn) => format!("CN={cn}"),
        None => name.to_string(),
    }
}

/// Owned view of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    pub(crate) der: Vec<u8>,
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) issuer_raw: Vec<u8>,
    /// `CN=...` of the subject.
    pub(crate) name: String,
    /// `CN=...` of the issuer.
    pub(crate) issuer_name: String,
    /// The full subject DN, e.g. `C=US, ST=California, ..., CN=peer0...`.
    pub(crate) subject: String,
    pub(crate) common_name: String,
    pub(crate) ous: Vec<String>,
    /// Big-endian serial without leading zero bytes.
    pub(crate) serial: Vec<u8>,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) is_ca: bool,
    /// `None` when the certificate has no keyUsage extension (any use allowed).
    pub(crate) digital_signature: Option<bool>,
    /// Uncompressed SEC1 point when the key is ECDSA P-256.
    pub(crate) p256_key: Option<Vec<u8>>,
    /// Fabric attributes, or the reason the extension could not be read.
    pub(crate) attributes: Result<BTreeMap<String, String>, String>,
}

impl CertInfo {
    /// Parses a DER certificate; the error is x509-parser's explanation.
    pub(crate) fn parse(der: Vec<u8>) -> Result<Self, String> {
        let (rest, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err("trailing bytes after the certificate".into());
        }
        let info = Self::extract(&cert)?;
        Ok(Self { der, ..info })
    }

    fn extract(cert: &X509Certificate<'_>) -> Result<Self, String> {
        let subject = cert.subject();
        let strings = |iter: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
            iter.filter_map(|a| a.as_str().ok().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let digital_signature = cert
            .key_usage()
            .map_err(|e| format!("bad keyUsage: {e}"))?
            .map(|ku| ku.value.digital_signature());
        Ok(Self {
            der: Vec::new(),
            subject_raw: subject.as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            name: display_name(subject),
            issuer_name: display_name(cert.issuer()),
            subject: subject.to_string(),
            common_name: strings(&mut subject.iter_common_name())
                .into_iter()
                .next()
                .unwrap_or_default(),
            ous: strings(&mut subject.iter_organizational_unit()),
            serial: strip_zeros(cert.raw_serial()),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            is_ca: cert.is_ca(),
            digital_signature,
            p256_key: p256_key(cert),
            attributes: attributes(cert),
        })
    }

    /// Whether `issuer`'s key made this certificate's signature.
    pub(crate) fn is_signed_by(&self, issuer: &CertInfo) -> bool {
        let (Ok((_, child)), Ok((_, parent))) = (
            x509_parser::parse_x509_certificate(&self.der),
            x509_parser::parse_x509_certificate(&issuer.der),
        ) else {
            return false;
        };
        child.verify_signature(Some(parent.public_key())).is_ok()
    }

    /// Serial as lowercase hex, for messages.
    pub(crate) fn serial_hex(&self) -> String {
        hex::encode(&self.serial)
    }
}

/// Canonical big-endian integer bytes: DER may add a 0x00 to keep the value positive.
pub(crate) fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

fn p256_key(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    let spki = cert.public_key();
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return None;
    }
    let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
    if curve != OID_EC_P256 {
        return None;
    }
    let point = spki.subject_public_key.data.as_ref();
    (point.len() == crate::sign::PUBLIC_KEY_LEN && point[0] == 0x04).then(|| point.to_vec())
}

fn attributes(cert: &X509Certificate<'_>) -> Result<BTreeMap<String, String>, String> {
    let found = cert
        .extensions()
        .iter()
        .find(|ext| ext.oid.to_id_string() == ATTRIBUTE_OID_STR);
    match found {
        None => Ok(BTreeMap::new()),
        Some(ext) => parse_attributes(ext.value),
    }
}

/// Parses fabric-ca's attribute extension value: the JSON `{"attrs":{"name":"value",...}}`.
/// Non-string JSON values are kept in their JSON text form.
pub fn parse_attributes(value: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let json: serde_json::Value = serde_json::from_slice(value).map_err(|e| format!("not JSON: {e}"))?;
    let attrs = match json.get("attrs") {
        None | Some(serde_json::Value::Null) => return Ok(BTreeMap::new()),
        Some(serde_json::Value::Object(map)) => map,
        Some(_) => return Err("\"attrs\" is not a JSON object".into()),
    };
    Ok(attrs
        .iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_fabric_ca_attribute_json() {
        let attrs = parse_attributes(
            br#"{"attrs":{"hf.Affiliation":"","hf.EnrollmentID":"drsmith","role":"doctor","level":3}}"#,
        )
        .unwrap();
        assert_eq!(attrs["role"], "doctor");
        assert_eq!(attrs["hf.EnrollmentID"], "drsmith");
        assert_eq!(attrs["level"], "3");
        assert_eq!(parse_attributes(b"{}").unwrap().len(), 0);
        assert!(parse_attributes(b"role=doctor").is_err());
        assert!(parse_attributes(br#"{"attrs":["role"]}"#).is_err());
    }

    #[test]
    fn strips_der_sign_padding() {
        assert_eq!(strip_zeros(&[0, 0x80, 1]), vec![0x80, 1]);
        assert_eq!(strip_zeros(&[0]), Vec::<u8>::new());
    }
}
