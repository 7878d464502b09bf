//! Fabric's on-disk MSP layout (`cacerts/`, `intermediatecerts/`, `admincerts/`, `tlscacerts/`,
//! `tlsintermediatecerts/`, `crls/`, `config.yaml`) to and from `FabricMSPConfig`.
//!
//! Directories are how MSPs enter the system (cryptogen output, an org's published MSP); the
//! protobuf is how they travel inside channel configuration to every peer and orderer. Only this
//! module touches the filesystem on the verifying side: a peer validating transactions works
//! from `FabricMSPConfig` alone.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use carechain_proto::msp::{FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};
use serde::{Deserialize, Serialize};

use super::error::MspError;
use super::role::NodeOu;
use super::setup::parse_cert;
use super::verifier::Msp;
use crate::pem;

/// File name of the NodeOU configuration inside an MSP directory.
pub const CONFIG_YAML: &str = "config.yaml";

/// `config.yaml` of an MSP directory, in Fabric's format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspDirConfig {
    /// NodeOU classification.
    #[serde(rename = "NodeOUs", default, skip_serializing_if = "Option::is_none")]
    pub node_ous: Option<NodeOusYaml>,
    /// OUs an identity must carry one of (rarely used).
    #[serde(
        rename = "OrganizationalUnitIdentifiers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub organizational_unit_identifiers: Vec<OuYaml>,
}

/// The `NodeOUs:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeOusYaml {
    /// Whether identities are classified by NodeOU.
    pub enable: bool,
    /// `ClientOUIdentifier`.
    #[serde(
        rename = "ClientOUIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client: Option<OuYaml>,
    /// `PeerOUIdentifier`.
    #[serde(rename = "PeerOUIdentifier", default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<OuYaml>,
    /// `AdminOUIdentifier`.
    #[serde(
        rename = "AdminOUIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub admin: Option<OuYaml>,
    /// `OrdererOUIdentifier`.
    #[serde(
        rename = "OrdererOUIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub orderer: Option<OuYaml>,
}

/// One OU identifier: a certificate path relative to the MSP dir, and the OU value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OuYaml {
    /// e.g. `cacerts/ca.hospitala.carechain.local-cert.pem`; absent = any CA of the MSP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// e.g. `peer`.
    pub organizational_unit_identifier: String,
}

impl NodeOusYaml {
    /// The standard four identifiers, all tied to the CA certificate at `ca_path`.
    pub fn standard(ca_path: &str) -> Self {
        let ou = |o: NodeOu| {
            Some(OuYaml {
                certificate: Some(ca_path.to_string()),
                organizational_unit_identifier: o.as_str().into(),
            })
        };
        Self {
            enable: true,
            client: ou(NodeOu::Client),
            peer: ou(NodeOu::Peer),
            admin: ou(NodeOu::Admin),
            orderer: ou(NodeOu::Orderer),
        }
    }
}

/// Reads an MSP directory into the `FabricMSPConfig` that channel configuration carries. Private
/// material (`keystore/`, `signcerts/`) is not included.
pub fn load_msp_config(dir: &Path, msp_id: &str) -> Result<FabricMspConfig, MspError> {
    if !dir.is_dir() {
        return Err(MspError::io(dir, "MSP directory does not exist"));
    }
    let root_certs = read_certs(&dir.join("cacerts"))?;
    if root_certs.is_empty() {
        return Err(MspError::config(
            msp_id,
            format!("{} holds no CA certificate", dir.join("cacerts").display()),
        ));
    }
    let yaml = read_config_yaml(dir)?;
    let ou = |o: &Option<OuYaml>| o.as_ref().map(|o| ou_identifier(dir, o)).transpose();
    let fabric_node_ous = match &yaml.node_ous {
        Some(n) => Some(FabricNodeOUs {
            enable: n.enable,
            client_ou_identifier: ou(&n.client)?,
            peer_ou_identifier: ou(&n.peer)?,
            admin_ou_identifier: ou(&n.admin)?,
            orderer_ou_identifier: ou(&n.orderer)?,
        }),
        None => None,
    };
    Ok(FabricMspConfig {
        name: msp_id.to_string(),
        root_certs,
        intermediate_certs: read_certs(&dir.join("intermediatecerts"))?,
        admins: read_certs(&dir.join("admincerts"))?,
        revocation_list: read_crls(&dir.join("crls"))?,
        signing_identity: None,
        organizational_unit_identifiers: yaml
            .organizational_unit_identifiers
            .iter()
            .map(|o| ou_identifier(dir, o))
            .collect::<Result<_, _>>()?,
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        tls_root_certs: read_certs(&dir.join("tlscacerts"))?,
        tls_intermediate_certs: read_certs(&dir.join("tlsintermediatecerts"))?,
        fabric_node_ous,
    })
}

/// Reads and checks an MSP directory (see [`load_msp_config`] and [`Msp::from_config`]).
pub fn load_msp(dir: &Path, msp_id: &str) -> Result<Msp, MspError> {
    Msp::from_config(&load_msp_config(dir, msp_id)?)
}

/// Writes the verifying part of an MSP (the inverse of [`load_msp_config`]): certificates are
/// named `<CN>-cert.pem` and `config.yaml` points NodeOUs at the files written.
pub fn write_msp_dir(config: &FabricMspConfig, dir: &Path) -> Result<(), MspError> {
    let mut written: Vec<(Vec<u8>, String)> = Vec::new();
    let groups = [
        ("cacerts", &config.root_certs),
        ("intermediatecerts", &config.intermediate_certs),
        ("admincerts", &config.admins),
        ("tlscacerts", &config.tls_root_certs),
        ("tlsintermediatecerts", &config.tls_intermediate_certs),
    ];
    for (sub, certs) in groups {
        for cert in certs.iter() {
            let info = parse_cert(cert).map_err(|e| MspError::config(&config.name, format!("{sub}: {e}")))?;
            let stem = file_stem(&info.common_name);
            let mut rel = format!("{sub}/{stem}-cert.pem");
            // Two certificates with one CN (e.g. a renewed CA next to the old one) keep both files.
            let mut n = 1;
            while written.iter().any(|(_, r)| *r == rel) {
                n += 1;
                rel = format!("{sub}/{stem}-{n}-cert.pem");
            }
            write_file(&dir.join(&rel), pem::encode_certificate(&info.der).as_bytes())?;
            written.push((info.der, rel));
        }
    }
    for (i, crl) in config.revocation_list.iter().enumerate() {
        write_file(&dir.join(format!("crls/crl{i}.pem")), crl)?;
    }
    let path_of = |ident: &Option<FabricOuIdentifier>| -> Result<Option<OuYaml>, MspError> {
        let Some(ident) = ident else { return Ok(None) };
        let certificate = if ident.certificate.is_empty() {
            None
        } else {
            let der = parse_cert(&ident.certificate)
                .map_err(|e| MspError::config(&config.name, e))?
                .der;
            let rel = written.iter().find(|(d, _)| *d == der).map(|(_, r)| r.clone());
            Some(rel.ok_or_else(|| {
                MspError::config(
                    &config.name,
                    format!(
                        "NodeOU {} certificate is not one of the MSP's CA certificates",
                        ident.organizational_unit_identifier
                    ),
                )
            })?)
        };
        Ok(Some(OuYaml {
            certificate,
            organizational_unit_identifier: ident.organizational_unit_identifier.clone(),
        }))
    };
    let node_ous = match &config.fabric_node_ous {
        Some(n) => Some(NodeOusYaml {
            enable: n.enable,
            client: path_of(&n.client_ou_identifier)?,
            peer: path_of(&n.peer_ou_identifier)?,
            admin: path_of(&n.admin_ou_identifier)?,
            orderer: path_of(&n.orderer_ou_identifier)?,
        }),
        None => None,
    };
    let yaml = MspDirConfig {
        node_ous,
        organizational_unit_identifiers: config
            .organizational_unit_identifiers
            .iter()
            .map(|o| path_of(&Some(o.clone())).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?,
    };
    if yaml != MspDirConfig::default() {
        let text =
            serde_yaml_ng::to_string(&yaml).map_err(|e| MspError::config(&config.name, e.to_string()))?;
        write_file(&dir.join(CONFIG_YAML), text.as_bytes())?;
    }
    Ok(())
}

/// A CN made safe to use as a file name.
pub(crate) fn file_stem(cn: &str) -> String {
    let stem: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() { "cert".into() } else { stem }
}

pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), MspError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| MspError::io(parent, e))?;
    }
    std::fs::write(path, contents).map_err(|e| MspError::io(path, e))
}

/// Regular, non-hidden files of `dir` in name order; a missing directory is empty.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<PathBuf>, MspError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| MspError::io(dir, e))? {
        let path = entry.map_err(|e| MspError::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every certificate in the files of `dir`, each as its own canonical PEM.
fn read_certs(dir: &Path) -> Result<Vec<Bytes>, MspError> {
    let mut out = Vec::new();
    for file in list_files(dir)? {
        let data = std::fs::read(&file).map_err(|e| MspError::io(&file, e))?;
        let certs = pem::certificates(&data).map_err(|e| MspError::io(&file, e))?;
        if certs.is_empty() {
            return Err(MspError::io(&file, "no PEM CERTIFICATE block"));
        }
        out.extend(certs.iter().map(|der| Bytes::from(pem::encode_certificate(der))));
    }
    Ok(out)
}

fn read_crls(dir: &Path) -> Result<Vec<Bytes>, MspError> {
    let mut out = Vec::new();
    for file in list_files(dir)? {
        let data = std::fs::read(&file).map_err(|e| MspError::io(&file, e))?;
        let blocks = pem::decode_all(&data).map_err(|e| MspError::io(&file, e))?;
        let crls: Vec<_> = blocks.into_iter().filter(|b| b.label == "X509 CRL").collect();
        if crls.is_empty() {
            return Err(MspError::io(&file, "no PEM X509 CRL block"));
        }
        out.extend(
            crls.iter()
                .map(|b| Bytes::from(pem::encode("X509 CRL", &b.contents))),
        );
    }
    Ok(out)
}

fn read_config_yaml(dir: &Path) -> Result<MspDirConfig, MspError> {
    let path = dir.join(CONFIG_YAML);
    if !path.exists() {
        return Ok(MspDirConfig::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| MspError::io(&path, e))?;
    serde_yaml_ng::from_str(&text).map_err(|e| MspError::io(&path, format!("invalid config.yaml: {e}")))
}

fn ou_identifier(dir: &Path, ou: &OuYaml) -> Result<FabricOuIdentifier, MspError> {
    let certificate = match &ou.certificate {
        None => Bytes::new(),
        Some(rel) => {
            let path = dir.join(rel);
            let data = std::fs::read(&path).map_err(|e| {
                MspError::io(
                    &path,
                    format!(
                        "certificate of OU {} in config.yaml: {e}",
                        ou.organizational_unit_identifier
                    ),
                )
            })?;
            let der = pem::first_certificate(&data).map_err(|e| MspError::io(&path, e))?;
            Bytes::from(pem::encode_certificate(&der))
        }
    };
    Ok(FabricOuIdentifier {
        certificate,
        organizational_unit_identifier: ou.organizational_unit_identifier.clone(),
    })
}
