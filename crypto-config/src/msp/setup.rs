//! Building a verifying MSP's trust anchors from `FabricMSPConfig`: parsing and checking root
//! and intermediate CAs, verifying CRL signatures, resolving NodeOU certificates.
//!
//! This runs once per channel-configuration load on every peer and orderer, so that validating
//! the creators and endorsers of endorse → order → validate never re-checks the CAs themselves.

use carechain_proto::msp::{FabricMspConfig, FabricOuIdentifier};

use super::cert::{CertInfo, display_name, strip_zeros};
use super::error::MspError;
use super::role::NodeOu;
use super::verifier::{CaCert, Crl, OuRule};
use crate::pem;
/// Parses a certificate given as PEM (Fabric's form in MSP configs) or bare DER.
pub(crate) fn parse_cert(bytes: &[u8]) -> Result<CertInfo, String> {
    let der = if bytes.starts_with(b"-----") || bytes.windows(10).any(|w| w == b"-----BEGIN") {
        pem::first_certificate(bytes).map_err(|e| e.to_string())?
    } else {
        bytes.to_vec()
    };
    CertInfo::parse(der)
}

pub(super) fn load_cas(id: &str, config: &FabricMspConfig) -> Result<Vec<CaCert>, MspError> {
    if config.root_certs.is_empty() {
        return Err(MspError::config(id, "no root CA certificates"));
    }
    let mut cas = Vec::new();
    for (i, root) in config.root_certs.iter().enumerate() {
        let info =
            parse_cert(root).map_err(|e| MspError::config(id, format!("root certificate #{i}: {e}")))?;
        if !info.is_ca {
            return Err(MspError::config(
                id,
                format!("root certificate {} is not a CA certificate", info.name),
            ));
        }
        cas.push(CaCert { info, parent: None });
    }
    let mut pending = Vec::new();
    for (i, ica) in config.intermediate_certs.iter().enumerate() {
        let info = parse_cert(ica)
            .map_err(|e| MspError::config(id, format!("intermediate certificate #{i}: {e}")))?;
        if !info.is_ca {
            return Err(MspError::config(
                id,
                format!("intermediate certificate {} is not a CA certificate", info.name),
            ));
        }
        pending.push(info);
    }
    // Intermediates may be listed in any order: link whichever has a linked parent until done.
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for info in pending {
            let parent = cas
                .iter()
                .position(|ca| ca.info.subject_raw == info.issuer_raw && info.is_signed_by(&ca.info));
            match parent {
                Some(p) => cas.push(CaCert {
                    info,
                    parent: Some(p),
                }),
                None => rest.push(info),
            }
        }
        if rest.len() == before {
            return Err(MspError::config(
                id,
                format!(
                    "intermediate certificate {} (issuer {}) does not chain to a CA of the MSP",
                    rest[0].name, rest[0].issuer_name
                ),
            ));
        }
        pending = rest;
    }
    Ok(cas)
}

pub(super) fn load_crl(id: &str, cas: &[CaCert], index: usize, bytes: &[u8]) -> Result<Crl, MspError> {
    let der = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        pem::decode_all(bytes)
            .map_err(|e| MspError::config(id, format!("CRL #{index}: {e}")))?
            .into_iter()
            .next()
            .map(|b| b.contents)
            .ok_or_else(|| MspError::config(id, format!("CRL #{index}: no PEM block")))?
    } else {
        bytes.to_vec()
    };
    let (_, crl) = x509_parser::parse_x509_crl(&der)
        .map_err(|e| MspError::config(id, format!("CRL #{index} does not parse: {e}")))?;
    let issuer_raw = crl.issuer().as_raw();
    let issuer = cas
        .iter()
        .enumerate()
        .filter(|(_, ca)| ca.info.subject_raw == issuer_raw)
        .find(|(_, ca)| {
            x509_parser::parse_x509_certificate(&ca.info.der)
                .is_ok_and(|(_, c)| crl.verify_signature(c.public_key()).is_ok())
        })
        .map(|(i, _)| i)
        .ok_or_else(|| {
            MspError::config(
                id,
                format!(
                    "CRL #{index} issued by {} is not signed by any CA of the MSP",
                    display_name(crl.issuer())
                ),
            )
        })?;
    let revoked = crl
        .iter_revoked_certificates()
        .map(|r| strip_zeros(r.raw_serial()))
        .collect();
    Ok(Crl { issuer, revoked })
}

pub(super) fn ou_rule(id: &str, cas: &[CaCert], ou: &FabricOuIdentifier) -> Result<OuRule, MspError> {
    if ou.organizational_unit_identifier.is_empty() {
        return Err(MspError::config(
            id,
            "an OU identifier has an empty OrganizationalUnitIdentifier",
        ));
    }
    let ca = if ou.certificate.is_empty() {
        None
    } else {
        let info = parse_cert(&ou.certificate).map_err(|e| {
            MspError::config(
                id,
                format!("certificate of OU {}: {e}", ou.organizational_unit_identifier),
            )
        })?;
        if !cas.iter().any(|ca| ca.info.der == info.der) {
            return Err(MspError::config(
                id,
                format!(
                    "certificate {} of OU {} is not a root or intermediate CA of the MSP",
                    info.name, ou.organizational_unit_identifier
                ),
            ));
        }
        Some(info.der)
    };
    Ok(OuRule {
        ou: ou.organizational_unit_identifier.clone(),
        ca,
    })
}

pub(super) fn node_ou_rules(
    id: &str,
    cas: &[CaCert],
    n: &carechain_proto::msp::FabricNodeOUs,
) -> Result<Vec<(NodeOu, OuRule)>, MspError> {
    let slots = [
        (NodeOu::Client, &n.client_ou_identifier),
        (NodeOu::Peer, &n.peer_ou_identifier),
        (NodeOu::Admin, &n.admin_ou_identifier),
        (NodeOu::Orderer, &n.orderer_ou_identifier),
    ];
    let mut rules = Vec::new();
    for (ou, slot) in slots {
        if let Some(ident) = slot {
            rules.push((ou, ou_rule(id, cas, ident)?));
        }
    }
    if rules.is_empty() {
        return Err(MspError::config(
            id,
            "NodeOUs are enabled but no NodeOU identifier is configured",
        ));
    }
    Ok(rules)
}
