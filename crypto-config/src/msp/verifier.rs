//! One organization's verifying MSP, built from `FabricMSPConfig` alone (no filesystem): its
//! root and intermediate CAs, CRLs, admin certificates and NodeOU configuration.
//!
//! This is what a peer or orderer learns about each organization from channel configuration, and
//! the question it answers sits under every signature check in endorse → order → validate: "is
//! this certificate a currently valid, unrevoked identity of organization X, and in which role?".
//! All CA-side checks (CA flags, intermediate chains, CRL signatures) run once, here, when the
//! channel configuration is loaded; per-identity work is then one chain walk over trusted CAs.

use carechain_proto::msp::{FabricMspConfig, MspConfig};
use prost::Message;
use time::OffsetDateTime;

use super::cert::CertInfo;
use super::error::MspError;
use super::identity::Identity;
use super::role::NodeOu;
use super::setup::{load_cas, load_crl, node_ou_rules, ou_rule, parse_cert};
use crate::pem;

/// `MSPConfig.type` of an X.509 (Fabric) MSP.
pub const FABRIC_MSP_TYPE: i32 = 0;

/// A CA certificate of the MSP and the CA that signed it (`None` for roots).
#[derive(Debug, Clone)]
pub(crate) struct CaCert {
    pub(crate) info: CertInfo,
    pub(crate) parent: Option<usize>,
}

/// A CRL whose signature was verified against CA `issuer`.
#[derive(Debug, Clone)]
pub(crate) struct Crl {
    pub(crate) issuer: usize,
    pub(crate) revoked: Vec<Vec<u8>>,
}

/// An OU value, optionally tied to the CA that must have issued the certificate.
#[derive(Debug, Clone)]
pub(crate) struct OuRule {
    pub(crate) ou: String,
    /// DER of the required issuing CA; `None` accepts any CA of the MSP.
    pub(crate) ca: Option<Vec<u8>>,
}

/// The time span in which a certificate and its whole chain are valid, and which certificate
/// bounds each end (for the error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) from: OffsetDateTime,
    pub(crate) from_cert: String,
    pub(crate) until: OffsetDateTime,
    pub(crate) until_cert: String,
}

impl Window {
    pub(crate) fn check(&self, msp: &str, now: OffsetDateTime) -> Result<(), MspError> {
        if now > self.until {
            return Err(MspError::Expired {
                cert: self.until_cert.clone(),
                msp: msp.to_string(),
                not_after: self.until,
            });
        }
        if now < self.from {
            return Err(MspError::NotYetValid {
                cert: self.from_cert.clone(),
                msp: msp.to_string(),
                not_before: self.from,
            });
        }
        Ok(())
    }
}

/// The outcome of validating a leaf certificate against the MSP.
#[derive(Debug, Clone)]
pub(crate) struct Validated {
    pub(crate) window: Window,
    pub(crate) node_ou: Option<NodeOu>,
    pub(crate) is_admin_cert: bool,
    /// SHA-256 over the DER of the chain from issuer to root (Fabric's certifiers identifier).
    pub(crate) certifiers_id: [u8; 32],
}

/// A verifying MSP: everything needed to validate identities of one organization.
#[derive(Debug, Clone)]
pub struct Msp {
    id: String,
    cas: Vec<CaCert>,
    admins: Vec<Vec<u8>>,
    crls: Vec<Crl>,
    node_ous: Option<Vec<(NodeOu, OuRule)>>,
    allowed_ous: Vec<OuRule>,
    config: FabricMspConfig,
}

impl Msp {
    /// Builds the MSP from a channel-configuration `MSPConfig` (type 0 = Fabric X.509).
    pub fn from_msp_config(config: &MspConfig) -> Result<Self, MspError> {
        if config.r#type != FABRIC_MSP_TYPE {
            return Err(MspError::config(
                "?",
                format!("MSP type {} is not supported (only 0, X.509)", config.r#type),
            ));
        }
        let fabric = FabricMspConfig::decode(config.config.as_ref())
            .map_err(|e| MspError::config("?", format!("FabricMSPConfig does not decode: {e}")))?;
        Self::from_config(&fabric)
    }

    /// Builds and checks the MSP: roots must be CAs, intermediates must chain to them, CRLs must
    /// be signed by one of them, NodeOU certificates must be among them.
    pub fn from_config(config: &FabricMspConfig) -> Result<Self, MspError> {
        let id = config.name.clone();
        if id.is_empty() {
            return Err(MspError::config("", "the MSP name (MSP id) is empty"));
        }
        let cas = load_cas(&id, config)?;
        let crls = config
            .revocation_list
            .iter()
            .enumerate()
            .map(|(i, crl)| load_crl(&id, &cas, i, crl))
            .collect::<Result<Vec<_>, _>>()?;
        let admins = config
            .admins
            .iter()
            .map(|a| parse_cert(a).map(|c| c.der))
            .map(|r| r.map_err(|e| MspError::config(&id, format!("admin certificate: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, tls) in config
            .tls_root_certs
            .iter()
            .chain(&config.tls_intermediate_certs)
            .enumerate()
        {
            parse_cert(tls).map_err(|e| MspError::config(&id, format!("TLS CA certificate #{i}: {e}")))?;
        }
        let node_ous = match &config.fabric_node_ous {
            Some(n) if n.enable => Some(node_ou_rules(&id, &cas, n)?),
            _ => None,
        };
        let allowed_ous = config
            .organizational_unit_identifiers
            .iter()
            .map(|ou| ou_rule(&id, &cas, ou))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id,
            cas,
            admins,
            crls,
            node_ous,
            allowed_ous,
            config: config.clone(),
        })
    }

    /// The MSP id (e.g. `HospitalAMSP`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configuration this MSP was built from.
    pub fn config(&self) -> &FabricMspConfig {
        &self.config
    }

    /// The configuration wrapped as channel configuration carries it.
    pub fn to_msp_config(&self) -> MspConfig {
        MspConfig {
            r#type: FABRIC_MSP_TYPE,
            config: self.config.encode_to_vec().into(),
        }
    }

    /// Whether identities are classified by NodeOU.
    pub fn node_ous_enabled(&self) -> bool {
        self.node_ous.is_some()
    }

    /// PEM certificates of the TLS root CAs (for building a TLS trust store).
    pub fn tls_root_certs(&self) -> impl Iterator<Item = &[u8]> {
        self.config.tls_root_certs.iter().map(|c| c.as_ref())
    }

    /// Validates the PEM certificate of an identity claiming this MSP, at `now`.
    pub fn validate_identity(&self, id_bytes: &[u8], now: OffsetDateTime) -> Result<Identity, MspError> {
        let bad = |reason: String| MspError::BadCertificate {
            msp: self.id.clone(),
            reason,
        };
        let der = pem::first_certificate(id_bytes).map_err(|e| bad(e.to_string()))?;
        let cert = CertInfo::parse(der).map_err(bad)?;
        let validated = self.validate_cert(&cert, now)?;
        Identity::new(self.id.clone(), id_bytes, cert, validated)
    }

    pub(crate) fn validate_cert(&self, cert: &CertInfo, now: OffsetDateTime) -> Result<Validated, MspError> {
        let msp = || self.id.clone();
        if cert.is_ca {
            return Err(MspError::CaAsIdentity {
                cert: cert.name.clone(),
                msp: msp(),
            });
        }
        let issuer = self.find_issuer(cert)?;
        let chain = self.chain_from(issuer);
        let window = self.window(cert, &chain);
        window.check(&self.id, now)?;
        self.check_revocation(cert, issuer)?;
        for pair in chain.windows(2) {
            self.check_revocation(&self.cas[pair[0]].info, pair[1])?;
        }
        if cert.digital_signature == Some(false) {
            return Err(MspError::KeyUsage {
                cert: cert.name.clone(),
                msp: msp(),
            });
        }
        if cert.p256_key.is_none() {
            return Err(MspError::UnsupportedKey {
                cert: cert.name.clone(),
                msp: msp(),
            });
        }
        if let Err(reason) = &cert.attributes {
            return Err(MspError::BadAttributes {
                cert: cert.name.clone(),
                msp: msp(),
                reason: reason.clone(),
            });
        }
        let node_ou = self.classify(cert, issuer)?;
        self.check_allowed_ous(cert, issuer)?;
        let mut certifiers = Vec::new();
        for &ca in &chain {
            certifiers.extend_from_slice(&self.cas[ca].info.der);
        }
        Ok(Validated {
            window,
            node_ou,
            is_admin_cert: self.admins.contains(&cert.der),
            certifiers_id: crate::sign::sha256(&certifiers),
        })
    }

    /// The CA that signed `cert`: same name as its issuer and a verifying signature.
    fn find_issuer(&self, cert: &CertInfo) -> Result<usize, MspError> {
        let mut named = self
            .cas
            .iter()
            .enumerate()
            .filter(|(_, ca)| ca.info.subject_raw == cert.issuer_raw)
            .peekable();
        if named.peek().is_none() {
            return Err(MspError::UnknownIssuer {
                cert: cert.name.clone(),
                issuer: cert.issuer_name.clone(),
                msp: self.id.clone(),
            });
        }
        named
            .find(|(_, ca)| cert.is_signed_by(&ca.info))
            .map(|(i, _)| i)
            .ok_or_else(|| MspError::BadCertificateSignature {
                cert: cert.name.clone(),
                issuer: cert.issuer_name.clone(),
                msp: self.id.clone(),
            })
    }

    /// CA indexes from `issuer` up to its root.
    fn chain_from(&self, issuer: usize) -> Vec<usize> {
        let mut chain = vec![issuer];
        let mut at = issuer;
        // Parents were linked acyclically at setup; the bound is belt and braces.
        while let Some(parent) = self.cas[at].parent {
            if chain.len() > self.cas.len() {
                break;
            }
            chain.push(parent);
            at = parent;
        }
        chain
    }

    fn window(&self, cert: &CertInfo, chain: &[usize]) -> Window {
        let mut window = Window {
            from: cert.not_before,
            from_cert: cert.name.clone(),
            until: cert.not_after,
            until_cert: cert.name.clone(),
        };
        for &i in chain {
            let ca = &self.cas[i].info;
            if ca.not_after < window.until {
                window.until = ca.not_after;
                window.until_cert = ca.name.clone();
            }
            if ca.not_before > window.from {
                window.from = ca.not_before;
                window.from_cert = ca.name.clone();
            }
        }
        window
    }

    fn check_revocation(&self, cert: &CertInfo, issuer: usize) -> Result<(), MspError> {
        let revoked = self
            .crls
            .iter()
            .any(|crl| crl.issuer == issuer && crl.revoked.contains(&cert.serial));
        if revoked {
            return Err(MspError::Revoked {
                cert: cert.name.clone(),
                serial: cert.serial_hex(),
                crl_issuer: self.cas[issuer].info.name.clone(),
                msp: self.id.clone(),
            });
        }
        Ok(())
    }

    fn rule_matches(&self, rule: &OuRule, cert: &CertInfo, issuer: usize) -> bool {
        cert.ous.contains(&rule.ou) && rule.ca.as_ref().is_none_or(|ca| *ca == self.cas[issuer].info.der)
    }

    fn classify(&self, cert: &CertInfo, issuer: usize) -> Result<Option<NodeOu>, MspError> {
        let Some(rules) = &self.node_ous else {
            return Ok(None);
        };
        let matched: Vec<NodeOu> = rules
            .iter()
            .filter(|(_, rule)| self.rule_matches(rule, cert, issuer))
            .map(|(ou, _)| *ou)
            .collect();
        match matched.as_slice() {
            [one] => Ok(Some(*one)),
            [] => Err(MspError::NoNodeOu {
                cert: cert.name.clone(),
                msp: self.id.clone(),
                expected: rules
                    .iter()
                    .map(|(_, r)| r.ou.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                ous: cert.ous.join(", "),
            }),
            many => Err(MspError::MultipleNodeOus {
                cert: cert.name.clone(),
                msp: self.id.clone(),
                ous: many.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    fn check_allowed_ous(&self, cert: &CertInfo, issuer: usize) -> Result<(), MspError> {
        if self.allowed_ous.is_empty()
            || self
                .allowed_ous
                .iter()
                .any(|r| self.rule_matches(r, cert, issuer))
        {
            return Ok(());
        }
        Err(MspError::OuNotAllowed {
            cert: cert.name.clone(),
            msp: self.id.clone(),
            ous: cert.ous.join(", "),
            allowed: self
                .allowed_ous
                .iter()
                .map(|r| r.ou.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}
