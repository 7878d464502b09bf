//! The X.509 profiles of carechain certificates, as rcgen parameters: CA (keyCertSign, cRLSign,
//! basicConstraints CA), signing leaf (digitalSignature) and TLS leaf (serverAuth + clientAuth,
//! SANs), with fabric-ca's attribute extension.
//!
//! Kept apart from [`super::CertificateAuthority`] so the profile every identity in
//! endorse → order → validate carries can be read in one place.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType, SerialNumber,
};
use ring::rand::SecureRandom;

use super::{ATTRIBUTE_OID, CertUsage, IssueError, LeafRequest, Subject, Validity};
use crate::sign::KeyError;

/// A P-256 public key given as raw SEC1 bytes, certified without its private key.
pub(super) struct RawP256Key<'a>(pub(super) &'a [u8]);

impl rcgen::PublicKeyData for RawP256Key<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

pub(super) fn ca_params(
    subject: &Subject,
    validity: Validity,
    constraints: BasicConstraints,
) -> Result<CertificateParams, IssueError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.to_dn();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

pub(super) fn leaf_params(req: &LeafRequest) -> Result<(CertificateParams, Vec<u8>), IssueError> {
    let serial = random_serial()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = req.subject.to_dn();
    params.not_before = req.validity.not_before;
    params.not_after = req.validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.subject_alt_names = req.sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
    match req.usage {
        CertUsage::Signing => params.key_usages = vec![KeyUsagePurpose::DigitalSignature],
        CertUsage::Tls => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
    }
    if !req.attributes.is_empty() {
        params.custom_extensions.push(CustomExtension::from_oid_content(
            ATTRIBUTE_OID,
            attributes_json(&req.attributes),
        ));
    }
    Ok((params, serial))
}

/// The attribute extension's value exactly as fabric-ca writes it: `{"attrs":{"k":"v",...}}`.
pub fn attributes_json(attributes: &BTreeMap<String, String>) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Attrs<'a> {
        attrs: &'a BTreeMap<String, String>,
    }
    // Serializing string maps cannot fail.
    serde_json::to_vec(&Attrs { attrs: attributes }).unwrap_or_default()
}

fn san(value: &str) -> Result<SanType, IssueError> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    value
        .to_string()
        .try_into()
        .map(SanType::DnsName)
        .map_err(|_| IssueError::BadSan(value.to_string()))
}

/// 128 random bits, positive and without a leading zero byte, like Go's cryptogen serials.
pub(super) fn random_serial() -> Result<Vec<u8>, IssueError> {
    let mut serial = vec![0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| KeyError::Rng)?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(serial)
}

pub(super) fn rcgen_err(cn: &str, e: rcgen::Error) -> IssueError {
    IssueError::Rcgen {
        what: format!("certificate CN={cn}"),
        reason: e.to_string(),
    }
}
