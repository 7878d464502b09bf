//! `cryptogen`: generates a consortium's keys and certificates in Fabric's directory layout from
//! a [`crate::spec::CryptoConfig`].
//!
//! Its output is what every carechain node and client starts from: peers and orderers load their
//! local MSP and TLS material from it, channel configuration embeds each org's `msp/`, and users
//! sign proposals with their `msp/` signing identity. The layout matches Fabric's cryptogen
//! exactly, so Fabric tools and SDKs can read it:
//!
//! ```text
//! DIR/peerOrganizations/<domain>/
//!   ca/      ca.<domain>-cert.pem, priv_sk
//!   tlsca/   tlsca.<domain>-cert.pem, priv_sk
//!   ica/     ica.<domain>-cert.pem, priv_sk           (only with IntermediateCA: true)
//!   msp/     cacerts/ [intermediatecerts/] tlscacerts/ config.yaml [admincerts/]
//!   peers/<host>.<domain>/msp/   ... + signcerts/<cn>-cert.pem, keystore/priv_sk
//!   peers/<host>.<domain>/tls/   ca.crt, server.crt, server.key
//!   users/<User>@<domain>/msp/   ... + signcerts/, keystore/
//!   users/<User>@<domain>/tls/   ca.crt, client.crt, client.key
//! DIR/ordererOrganizations/<domain>/ ... orderers/<host>.<domain>/ ...
//! ```

use std::path::{Path, PathBuf};

use carechain_proto::msp::{FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

use crate::issue::{CertificateAuthority, IssueError, LeafRequest, Subject, Validity};
use crate::msp::{Msp, MspError, NodeOu, write_msp_dir};
use crate::sign::SigningKey;
use crate::spec::{CryptoConfig, OrgSpec, SpecError};

/// Why generation failed. Nothing is written unless every org can be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptogenError {
    /// The spec is unreadable or invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The org's directory exists and `overwrite` was not requested.
    #[error(
        "organization {org}: {path} already exists; refusing to overwrite it (pass overwrite to regenerate, which replaces all its keys)"
    )]
    OrgExists {
        /// Org name.
        org: String,
        /// The existing directory.
        path: String,
    },
    /// A certificate or key could not be made.
    #[error("organization {org}: cannot issue {what}: {source}")]
    Issue {
        /// Org name.
        org: String,
        /// What was being issued.
        what: String,
        /// The cause.
        source: IssueError,
    },
    /// Writing the MSP tree failed, or the generated MSP does not validate.
    #[error("organization {org}: {source}")]
    Msp {
        /// Org name.
        org: String,
        /// The cause.
        source: Box<MspError>,
    },
}

/// Kind of organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    /// Under `ordererOrganizations/`, nodes under `orderers/`.
    Orderer,
    /// Under `peerOrganizations/`, nodes under `peers/`.
    Peer,
}

/// What was generated for one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSummary {
    /// Org name.
    pub name: String,
    /// MSP id.
    pub msp_id: String,
    /// Domain.
    pub domain: String,
    /// Orderer or peer org.
    pub kind: OrgKind,
    /// `DIR/<kind>Organizations/<domain>`.
    pub dir: PathBuf,
    /// The org's verifying MSP directory (`<dir>/msp`).
    pub msp_dir: PathBuf,
    /// Node CNs (also their directory names).
    pub nodes: Vec<String>,
    /// User CNs (`Admin@<domain>`, ...; also their directory names).
    pub users: Vec<String>,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// One entry per org, orderer orgs first, in spec order.
    pub orgs: Vec<OrgSummary>,
}

impl Summary {
    /// The org with this name.
    pub fn org(&self, name: &str) -> Option<&OrgSummary> {
        self.orgs.iter().find(|o| o.name == name)
    }
}

/// Reads `config_yaml` and writes every org's material under `output_dir`.
pub fn generate(config_yaml: &Path, output_dir: &Path, overwrite: bool) -> Result<Summary, CryptogenError> {
    generate_from_spec(&CryptoConfig::load(config_yaml)?, output_dir, overwrite)
}

/// Like [`generate`] for a spec already in memory.
pub fn generate_from_spec(
    spec: &CryptoConfig,
    output_dir: &Path,
    overwrite: bool,
) -> Result<Summary, CryptogenError> {
    spec.validate()?;
    let plan: Vec<_> = spec
        .orgs()
        .map(|(org, prefix)| {
            let kind = if prefix == "orderer" {
                OrgKind::Orderer
            } else {
                OrgKind::Peer
            };
            let top = match kind {
                OrgKind::Orderer => "ordererOrganizations",
                OrgKind::Peer => "peerOrganizations",
            };
            (org, kind, output_dir.join(top).join(&org.domain))
        })
        .collect();
    for (org, _, dir) in &plan {
        if dir.exists() && !overwrite {
            return Err(CryptogenError::OrgExists {
                org: org.name.clone(),
                path: dir.display().to_string(),
            });
        }
    }
    let mut summary = Summary::default();
    for (org, kind, dir) in plan {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| msp_err(org, MspError::io(&dir, e)))?;
        }
        summary.orgs.push(generate_org(org, kind, &dir)?);
        tracing::info!(org = %org.name, dir = %dir.display(), "generated crypto material");
    }
    Ok(summary)
}

/// The CAs of one org while it is being generated.
struct OrgCas {
    root: CertificateAuthority,
    tls: CertificateAuthority,
    intermediate: Option<CertificateAuthority>,
}

impl OrgCas {
    /// The CA that issues signing certificates.
    fn signer(&self) -> &CertificateAuthority {
        self.intermediate.as_ref().unwrap_or(&self.root)
    }
}

fn generate_org(org: &OrgSpec, kind: OrgKind, dir: &Path) -> Result<OrgSummary, CryptogenError> {
    let cas = make_cas(org, dir)?;
    let users = org.user_list();
    let nodes = org.nodes(match kind {
        OrgKind::Orderer => "orderer",
        OrgKind::Peer => "peer",
    });
    // Admin first: without NodeOUs its certificate goes into every admincerts/.
    let mut issued_users = Vec::new();
    for user in &users {
        let mut req = LeafRequest::signing(subject(org, &user.common_name, Some(user.ou)));
        req.attributes = user.attrs.clone();
        issued_users.push(issue(org, &cas, &req, &user.common_name)?);
    }
    let admin_pem = issued_users[0].0.pem.clone();
    let msp_config = msp_config(org, &cas, &admin_pem);
    // Prove the tree is usable before writing it: the same checks a peer runs on channel config.
    Msp::from_config(&msp_config).map_err(|e| msp_err(org, e))?;
    write_msp_dir(&msp_config, &dir.join("msp")).map_err(|e| msp_err(org, e))?;

    let (node_dir, node_ou) = match kind {
        OrgKind::Orderer => ("orderers", NodeOu::Orderer),
        OrgKind::Peer => ("peers", NodeOu::Peer),
    };
    for node in &nodes {
        let home = dir.join(node_dir).join(&node.common_name);
        let req = LeafRequest::signing(subject(org, &node.common_name, Some(node_ou)));
        let signing = issue(org, &cas, &req, &node.common_name)?;
        write_local_msp(org, &msp_config, &home, &node.common_name, &signing)?;
        let tls_req = LeafRequest::tls(subject(org, &node.common_name, None), node.sans.clone());
        write_tls(org, &cas, &home, &tls_req, "server")?;
    }
    for (user, signing) in users.iter().zip(&issued_users) {
        let home = dir.join("users").join(&user.common_name);
        write_local_msp(org, &msp_config, &home, &user.common_name, signing)?;
        let tls_req = LeafRequest::tls(
            subject(org, &user.common_name, None),
            vec![user.common_name.clone()],
        );
        write_tls(org, &cas, &home, &tls_req, "client")?;
    }
    Ok(OrgSummary {
        name: org.name.clone(),
        msp_id: org.msp_id(),
        domain: org.domain.clone(),
        kind,
        dir: dir.to_path_buf(),
        msp_dir: dir.join("msp"),
        nodes: nodes.into_iter().map(|n| n.common_name).collect(),
        users: users.into_iter().map(|u| u.common_name).collect(),
    })
}

fn make_cas(org: &OrgSpec, dir: &Path) -> Result<OrgCas, CryptogenError> {
    let host = org.ca.hostname.as_deref().unwrap_or("ca");
    let make = |cn: String, sub: &str| -> Result<CertificateAuthority, CryptogenError> {
        let ca = CertificateAuthority::new_root(&subject(org, &cn, None), Validity::default())
            .map_err(|e| issue_err(org, &cn, e))?;
        save_ca(org, &ca, &dir.join(sub), &cn)?;
        Ok(ca)
    };
    let root = make(format!("{host}.{}", org.domain), "ca")?;
    let tls = make(format!("tls{host}.{}", org.domain), "tlsca")?;
    let intermediate = if org.intermediate_ca {
        let cn = format!("i{host}.{}", org.domain);
        let ica = root
            .new_intermediate(&subject(org, &cn, None), Validity::default())
            .map_err(|e| issue_err(org, &cn, e))?;
        save_ca(org, &ica, &dir.join("ica"), &cn)?;
        Some(ica)
    } else {
        None
    };
    Ok(OrgCas {
        root,
        tls,
        intermediate,
    })
}

fn save_ca(org: &OrgSpec, ca: &CertificateAuthority, dir: &Path, cn: &str) -> Result<(), CryptogenError> {
    std::fs::create_dir_all(dir).map_err(|e| msp_err(org, MspError::io(dir, e)))?;
    ca.save(dir, &format!("{cn}-cert.pem"))
        .map_err(|e| issue_err(org, cn, e))
}

fn msp_config(org: &OrgSpec, cas: &OrgCas, admin_pem: &str) -> FabricMspConfig {
    let pem_bytes = |ca: &CertificateAuthority| bytes::Bytes::from(ca.cert_pem().to_string());
    let ou = |ou: NodeOu| {
        Some(FabricOuIdentifier {
            // NodeOU certificates name the issuing CA, which is how Fabric matches them.
            certificate: pem_bytes(cas.signer()),
            organizational_unit_identifier: ou.as_str().into(),
        })
    };
    FabricMspConfig {
        name: org.msp_id(),
        root_certs: vec![pem_bytes(&cas.root)],
        intermediate_certs: cas.intermediate.iter().map(pem_bytes).collect(),
        admins: if org.enable_node_ous {
            Vec::new()
        } else {
            vec![admin_pem.to_string().into()]
        },
        revocation_list: Vec::new(),
        signing_identity: None,
        organizational_unit_identifiers: Vec::new(),
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        tls_root_certs: vec![pem_bytes(&cas.tls)],
        tls_intermediate_certs: Vec::new(),
        fabric_node_ous: org.enable_node_ous.then(|| FabricNodeOUs {
            enable: true,
            client_ou_identifier: ou(NodeOu::Client),
            peer_ou_identifier: ou(NodeOu::Peer),
            admin_ou_identifier: ou(NodeOu::Admin),
            orderer_ou_identifier: ou(NodeOu::Orderer),
        }),
    }
}

/// Cryptogen's subject; NodeOUs only appear when the org enables them (as in Fabric).
fn subject(org: &OrgSpec, cn: &str, ou: Option<NodeOu>) -> Subject {
    let mut s = Subject::new(cn, &org.domain);
    if let Some(c) = &org.ca.country {
        s.country = c.clone();
    }
    if let Some(p) = &org.ca.province {
        s.province = p.clone();
    }
    if let Some(l) = &org.ca.locality {
        s.locality = l.clone();
    }
    match ou {
        Some(ou) if org.enable_node_ous => s.with_ou(ou.as_str()),
        _ => s,
    }
}

type Issued = (crate::issue::IssuedCert, SigningKey);

fn issue(org: &OrgSpec, cas: &OrgCas, req: &LeafRequest, cn: &str) -> Result<Issued, CryptogenError> {
    cas.signer()
        .issue_leaf(req)
        .map_err(|e| issue_err(org, &format!("signing certificate of {cn}"), e))
}

fn write_local_msp(
    org: &OrgSpec,
    config: &FabricMspConfig,
    home: &Path,
    cn: &str,
    (cert, key): &Issued,
) -> Result<(), CryptogenError> {
    let msp = home.join("msp");
    write_msp_dir(config, &msp).map_err(|e| msp_err(org, e))?;
    let signcert = msp.join("signcerts").join(format!("{cn}-cert.pem"));
    crate::msp::dir::write_file(&signcert, cert.pem.as_bytes()).map_err(|e| msp_err(org, e))?;
    save_key(org, key, &msp.join("keystore"))
}

fn write_tls(
    org: &OrgSpec,
    cas: &OrgCas,
    home: &Path,
    req: &LeafRequest,
    stem: &str,
) -> Result<(), CryptogenError> {
    let what = format!("TLS certificate of {}", req.subject.common_name);
    let (cert, key) = cas.tls.issue_leaf(req).map_err(|e| issue_err(org, &what, e))?;
    let tls = home.join("tls");
    let write = |name: &str, data: &[u8]| {
        crate::msp::dir::write_file(&tls.join(name), data).map_err(|e| msp_err(org, e))
    };
    write("ca.crt", cas.tls.cert_pem().as_bytes())?;
    write(&format!("{stem}.crt"), cert.pem.as_bytes())?;
    key.save(&tls.join(format!("{stem}.key")))
        .map_err(|e| issue_err(org, &what, e.into()))
}

fn save_key(org: &OrgSpec, key: &SigningKey, dir: &Path) -> Result<(), CryptogenError> {
    std::fs::create_dir_all(dir).map_err(|e| msp_err(org, MspError::io(dir, e)))?;
    key.save(&dir.join("priv_sk"))
        .map_err(|e| issue_err(org, "keystore/priv_sk", e.into()))
}

fn issue_err(org: &OrgSpec, what: &str, source: IssueError) -> CryptogenError {
    CryptogenError::Issue {
        org: org.name.clone(),
        what: what.to_string(),
        source,
    }
}

fn msp_err(org: &OrgSpec, source: MspError) -> CryptogenError {
    CryptogenError::Msp {
        org: org.name.clone(),
        source: Box::new(source),
    }
}
