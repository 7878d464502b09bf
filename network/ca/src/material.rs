//! The CA's own key material: its signing certificate and key (the org's CA from crypto-config, a
//! fresh root, or a fresh intermediate signed by the org root), the chain up to the root, and the MSP
//! that identities it issues belong to.
//!
//! Peers and orderers accept an enrolled identity in endorse → order → validate only if its chain ends
//! at a root CA of the org's MSP in channel configuration and its NodeOU is classified under the
//! configured CA; this module builds that MSP next to the issuer and proves at start-up, with a
//! throwaway certificate, that what the CA issues validates against it.

use std::path::Path;

use bytes::Bytes;
use carechain_crypto::{CertificateAuthority, LeafRequest, Msp, NodeOu, Subject, Validity};
use carechain_proto::msp::{FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use crate::error::CaError;

/// Subject fields of the CA certificate, copied into every leaf it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTemplate {
    /// O (cryptogen: the org domain).
    pub organization: String,
    /// C.
    pub country: String,
    /// ST.
    pub province: String,
    /// L.
    pub locality: String,
}

impl SubjectTemplate {
    /// A leaf subject: `CN=<id>, OU=<nodeou>` plus the CA's O, C, ST, L.
    pub fn leaf(&self, common_name: &str, ou: NodeOu) -> Subject {
        Subject {
            common_name: common_name.into(),
            organization: self.organization.clone(),
            organizational_unit: Some(ou.as_str().into()),
            country: self.country.clone(),
            province: self.province.clone(),
            locality: self.locality.clone(),
        }
    }
}

/// The issuing CA and its chain.
#[derive(Debug)]
pub struct CaMaterial {
    /// Issues certificates and CRLs.
    pub issuer: CertificateAuthority,
    /// PEM certificates from the issuing CA (first) to the root (last).
    pub chain: Vec<String>,
    /// Subject fields for leaves.
    pub subject: SubjectTemplate,
    /// The earliest `notAfter` in the chain: no certificate can outlive it.
    pub not_after: OffsetDateTime,
}

fn parse(pem: &str) -> Result<Vec<u8>, CaError> {
    carechain_crypto::pem::first_certificate(pem.as_bytes())
        .map_err(|e| CaError::Setup(format!("CA chain certificate: {e}")))
}

fn with_cert<T>(der: &[u8], f: impl FnOnce(&X509Certificate<'_>) -> T) -> Result<T, CaError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CaError::Setup(format!("CA chain certificate does not parse: {e}")))?;
    Ok(f(&cert))
}

fn first(iter: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>) -> String {
    iter.next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl CaMaterial {
    /// Wraps an issuer; `parents` are candidate CA certificates (PEM; the org MSP's cacerts and
    /// intermediatecerts, a chain file) from which the chain to a self-signed root is built.
    pub fn new(issuer: CertificateAuthority, parents: &[String]) -> Result<Self, CaError> {
        let mut chain = vec![issuer.cert_pem().to_string()];
        let mut current = issuer.cert_der().to_vec();
        for _ in 0..8 {
            let self_signed = with_cert(&current, |c| {
                c.subject().as_raw() == c.issuer().as_raw() && c.verify_signature(None).is_ok()
            })?;
            if self_signed {
                break;
            }
            let parent = parents.iter().find_map(|p| {
                let der = parse(p).ok()?;
                let (_, pc) = x509_parser::parse_x509_certificate(&der).ok()?;
                let (_, cc) = x509_parser::parse_x509_certificate(&current).ok()?;
                (pc.subject().as_raw() == cc.issuer().as_raw()
                    && cc.verify_signature(Some(pc.public_key())).is_ok())
                .then_some(der)
            });
            let Some(parent) = parent else {
                let name = with_cert(&current, |c| c.issuer().to_string())?;
                return Err(CaError::Setup(format!(
                    "cannot build the chain of CA {}: no certificate of issuer {name} among the org MSP's cacerts/intermediatecerts or --ca-chain",
                    issuer.name()
                )));
            };
            chain.push(carechain_crypto::pem::encode_certificate(&parent));
            current = parent;
        }
        let mut not_after = OffsetDateTime::now_utc() + time::Duration::days(365 * 100);
        for pem in &chain {
            let end = with_cert(&parse(pem)?, |c| c.validity().not_after.to_datetime())?;
            not_after = not_after.min(end);
        }
        let subject = with_cert(issuer.cert_der(), |c| {
            let s = c.subject();
            SubjectTemplate {
                organization: first(&mut s.iter_organization()),
                country: first(&mut s.iter_country()),
                province: first(&mut s.iter_state_or_province()),
                locality: first(&mut s.iter_locality()),
            }
        })?;
        Ok(Self {
            issuer,
            chain,
            subject,
            not_after,
        })
    }

    /// Whether the issuing CA is an intermediate.
    pub fn is_intermediate(&self) -> bool {
        self.chain.len() > 1
    }

    /// The root certificate (PEM).
    pub fn root(&self) -> &str {
        self.chain.last().map_or("", String::as_str)
    }

    /// Writes the issuer as `<home>/ca-cert.pem` + `<home>/ca-key.pem` and its parents as
    /// `<home>/ca-chain.pem`, so a restart reuses them.
    pub fn save(&self, home: &Path) -> Result<(), CaError> {
        self.issuer
            .save(home, "ca-cert.pem")
            .map_err(|e| CaError::Setup(e.to_string()))?;
        std::fs::rename(home.join("priv_sk"), home.join("ca-key.pem"))
            .map_err(|e| CaError::Setup(format!("{}: {e}", home.display())))?;
        let parents: String = self.chain[1..].concat();
        std::fs::write(home.join("ca-chain.pem"), parents)
            .map_err(|e| CaError::Setup(format!("{}: {e}", home.display())))
    }
}

/// The MSP an enrolled identity belongs to: the org's MSP (from `--org-msp-dir`) or a synthesized one
/// (standard NodeOUs tied to the issuing CA), completed with this CA's chain. If NodeOUs name a CA that did not issue this CA's certificates
/// (an intermediate behind an org MSP whose NodeOUs name the root), they are pointed at the issuer,
/// as the org must also publish them.
pub fn msp_config(base: Option<FabricMspConfig>, msp_id: &str, material: &CaMaterial) -> FabricMspConfig {
    let issuer_pem = Bytes::from(material.chain[0].clone());
    let synthesized = base.is_none();
    let mut cfg = base.unwrap_or_else(|| FabricMspConfig {
        name: msp_id.into(),
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        ..Default::default()
    });
    cfg.name = msp_id.into();
    let der_of = |pem: &[u8]| carechain_crypto::pem::first_certificate(pem).ok();
    let root = Bytes::from(material.root().to_string());
    if !cfg.root_certs.iter().any(|c| der_of(c) == der_of(&root)) {
        cfg.root_certs.push(root);
    }
    for ica in material.chain[..material.chain.len() - 1].iter().rev() {
        let ica = Bytes::from(ica.clone());
        if !cfg.intermediate_certs.iter().any(|c| der_of(c) == der_of(&ica)) {
            cfg.intermediate_certs.push(ica);
        }
    }
    let ou = |o: NodeOu| {
        Some(FabricOuIdentifier {
            certificate: issuer_pem.clone(),
            organizational_unit_identifier: o.as_str().into(),
        })
    };
    match &mut cfg.fabric_node_ous {
        Some(n) if n.enable => {
            for slot in [
                &mut n.client_ou_identifier,
                &mut n.peer_ou_identifier,
                &mut n.admin_ou_identifier,
                &mut n.orderer_ou_identifier,
            ]
            .into_iter()
            .flatten()
            {
                if !slot.certificate.is_empty() && der_of(&slot.certificate) != der_of(&issuer_pem) {
                    tracing::warn!(
                        ou = %slot.organizational_unit_identifier,
                        issuer = %material.issuer.name(),
                        "the org MSP ties this NodeOU to another CA: enrolled MSPs name the issuing CA instead, and peers accept its certificates only once the channel's MSP does too (publish <home>/msp)"
                    );
                    slot.certificate = issuer_pem.clone();
                }
            }
        }
        // The org's own choice (NodeOUs off, admincerts) is kept; only a synthesized MSP gets them.
        _ if !synthesized => {}
        _ => {
            cfg.fabric_node_ous = Some(FabricNodeOUs {
                enable: true,
                client_ou_identifier: ou(NodeOu::Client),
                peer_ou_identifier: ou(NodeOu::Peer),
                admin_ou_identifier: ou(NodeOu::Admin),
                orderer_ou_identifier: ou(NodeOu::Orderer),
            });
        }
    }
    cfg
}

/// Builds the verifying MSP and proves a certificate this CA issues validates as each NodeOU type, so a
/// misconfigured chain or NodeOU setup stops the CA at start-up instead of at a member's first
/// transaction.
pub fn self_check(material: &CaMaterial, cfg: &FabricMspConfig) -> Result<Msp, CaError> {
    let msp = Msp::from_config(cfg).map_err(|e| CaError::Setup(format!("the CA's MSP is unusable: {e}")))?;
    let now = OffsetDateTime::now_utc();
    for ou in [NodeOu::Client, NodeOu::Admin] {
        let mut req = LeafRequest::signing(material.subject.leaf("carechain-ca-self-check", ou));
        req.validity = Validity::between(now - time::Duration::minutes(1), now + time::Duration::minutes(5));
        let (cert, _key) = material
            .issuer
            .issue_leaf(&req)
            .map_err(|e| CaError::Setup(format!("the CA cannot issue certificates: {e}")))?;
        let id = msp.validate_identity(cert.pem.as_bytes(), now).map_err(|e| {
            CaError::Setup(format!(
                "a {ou} certificate issued by {} would be rejected by MSP {}: {e}",
                material.issuer.name(),
                msp.id()
            ))
        })?;
        if msp.node_ous_enabled() && id.node_ou() != Some(ou) {
            return Err(CaError::Setup(format!(
                "MSP {} classifies a {ou} certificate of {} as {:?}",
                msp.id(),
                material.issuer.name(),
                id.node_ou()
            )));
        }
    }
    Ok(msp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn root() -> CertificateAuthority {
        let mut s = Subject::new("ca.hospitala.test", "hospitala.test");
        s.country = "NL".into();
        CertificateAuthority::new_root(&s, Validity::years_from_now(5)).unwrap()
    }

    #[test]
    fn a_root_is_its_own_chain_and_validates_its_leaves() {
        let m = CaMaterial::new(root(), &[]).unwrap();
        assert!(!m.is_intermediate());
        assert_eq!(m.subject.organization, "hospitala.test");
        assert_eq!(m.subject.country, "NL");
        let cfg = msp_config(None, "HospitalAMSP", &m);
        assert_eq!(cfg.root_certs.len(), 1);
        let msp = self_check(&m, &cfg).unwrap();
        assert!(msp.node_ous_enabled());
    }

    #[test]
    fn an_intermediate_chains_to_its_root_and_nodeous_point_at_it() {
        let r = root();
        let ica = r
            .new_intermediate(
                &Subject::new("ica.hospitala.test", "hospitala.test"),
                Validity::years_from_now(2),
            )
            .unwrap();
        let e = CaMaterial::new(
            CertificateAuthority::from_pem(
                ica.cert_pem(),
                SigningKey::from_pem(&ica.key().to_pkcs8_pem()).unwrap(),
            )
            .unwrap(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot build the chain"), "{e}");
        let m = CaMaterial::new(ica, &[r.cert_pem().to_string()]).unwrap();
        assert!(m.is_intermediate());
        assert_eq!(m.chain.len(), 2);
        // An org MSP whose NodeOUs name the root: re-pointed at the intermediate.
        let root_only = msp_config(
            None,
            "HospitalAMSP",
            &CaMaterial::new(root_from_pem(&r), &[]).unwrap(),
        );
        let cfg = msp_config(Some(root_only), "HospitalAMSP", &m);
        assert_eq!(cfg.intermediate_certs.len(), 1);
        self_check(&m, &cfg).unwrap();
    }

    use carechain_crypto::SigningKey;

    fn root_from_pem(r: &CertificateAuthority) -> CertificateAuthority {
        CertificateAuthority::from_pem(
            r.cert_pem(),
            SigningKey::from_pem(&r.key().to_pkcs8_pem()).unwrap(),
        )
        .unwrap()
    }
}
