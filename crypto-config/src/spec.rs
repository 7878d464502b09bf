//! The `crypto-config.yaml` spec read by [`crate::cryptogen`]: Fabric cryptogen's format
//! (`OrdererOrgs` / `PeerOrgs` with `Name`, `Domain`, `EnableNodeOUs`, `CA`, `Specs`, `Template`,
//! `Users`) plus carechain's additions: `MSPID`, `IntermediateCA`, and named users with ABAC
//! attributes (`Users.Named: [{Name: drsmith, Attrs: {role: doctor}}]`).
//!
//! The spec describes the consortium whose identities will later endorse, order and validate;
//! it is checked completely (unique names, valid hostnames, known OUs) before any key is made, so
//! a typo never leaves half a tree behind.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::msp::NodeOu;

/// Why a spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The YAML does not match the spec format (unknown keys are errors too).
    #[error("invalid crypto-config YAML: {0}")]
    Yaml(String),
    /// The YAML parses but describes something impossible.
    #[error("organization {org}: {reason}")]
    Invalid {
        /// Org name (or domain).
        org: String,
        /// What is wrong.
        reason: String,
    },
}

/// The whole spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CryptoConfig {
    /// Ordering-service organizations (output under `ordererOrganizations/`).
    #[serde(default)]
    pub orderer_orgs: Vec<OrgSpec>,
    /// Peer organizations (output under `peerOrganizations/`).
    #[serde(default)]
    pub peer_orgs: Vec<OrgSpec>,
}

/// One organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrgSpec {
    /// Organization name, e.g. `HospitalA`.
    pub name: String,
    /// DNS domain, e.g. `hospitala.carechain.local`; the org directory's name.
    pub domain: String,
    /// MSP id; defaults to `<Name>MSP`.
    #[serde(rename = "MSPID", default, skip_serializing_if = "Option::is_none")]
    pub msp_id: Option<String>,
    /// Classify identities by NodeOU (default `true`, unlike Fabric's cryptogen).
    #[serde(rename = "EnableNodeOUs", default = "default_true")]
    pub enable_node_ous: bool,
    /// Issue signing certificates from an intermediate CA (`ica.<domain>`) under the root.
    #[serde(rename = "IntermediateCA", default)]
    pub intermediate_ca: bool,
    /// CA subject overrides.
    #[serde(rename = "CA", default)]
    pub ca: CaSpec,
    /// Explicitly named nodes.
    #[serde(default)]
    pub specs: Vec<NodeSpec>,
    /// Numbered nodes (`peer0`, `peer1`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<NodeTemplate>,
    /// Users besides `Admin`.
    #[serde(default)]
    pub users: UsersSpec,
}

fn default_true() -> bool {
    true
}

/// CA subject fields (cryptogen's `CA:` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CaSpec {
    /// Host part of the CA's CN (default `ca`; the TLS CA is always `tls<hostname>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Country (default `US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// State or province (default `California`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Locality (default `San Francisco`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
}

/// One explicitly named node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// Short host name, e.g. `orderer0`.
    pub hostname: String,
    /// Full CN; default `<Hostname>.<Domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Extra TLS SANs; `{{.Hostname}}`, `{{.Domain}}` and `{{.CommonName}}` are substituted.
    #[serde(rename = "SANS", default)]
    pub sans: Vec<String>,
}

/// Numbered nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NodeTemplate {
    /// How many.
    pub count: u32,
    /// First index (default 0).
    #[serde(default)]
    pub start: u32,
    /// Host name pattern with `{{.Prefix}}` and `{{.Index}}` (default `{{.Prefix}}{{.Index}}`,
    /// prefix `peer` or `orderer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Extra TLS SANs for every templated node.
    #[serde(rename = "SANS", default)]
    pub sans: Vec<String>,
}

/// Users of the org (besides `Admin`, which is always generated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UsersSpec {
    /// Number of anonymous client users `User1..UserN`.
    #[serde(default)]
    pub count: u32,
    /// Named users with attributes.
    #[serde(default)]
    pub named: Vec<NamedUser>,
}

/// A named user, e.g. a doctor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NamedUser {
    /// User name; the directory and CN are `<Name>@<Domain>`.
    pub name: String,
    /// ABAC attributes placed in the `1.2.3.4.5.6.7.8.1` extension.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
    /// NodeOU: `client` (default) or `admin`.
    #[serde(rename = "OU", default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
}

/// A node to generate, after template expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Short host name.
    pub hostname: String,
    /// CN and directory name.
    pub common_name: String,
    /// TLS SANs (CN, hostname, `localhost`, `127.0.0.1`, then the spec's extras).
    pub sans: Vec<String>,
}

/// A user to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Name before the `@`.
    pub name: String,
    /// `<name>@<domain>`: CN and directory name.
    pub common_name: String,
    /// NodeOU (admin for `Admin`, else client unless the spec says admin).
    pub ou: NodeOu,
    /// ABAC attributes.
    pub attrs: BTreeMap<String, String>,
}

impl CryptoConfig {
    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, SpecError> {
        let spec: Self = serde_yaml_ng::from_str(text).map_err(|e| SpecError::Yaml(e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads, parses and validates a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_yaml(&text).map_err(|e| match e {
            SpecError::Yaml(reason) => SpecError::Yaml(format!("{}: {reason}", path.display())),
            other => other,
        })
    }

    /// Checks names and uniqueness across the whole spec.
    pub fn validate(&self) -> Result<(), SpecError> {
        let mut names = HashSet::new();
        let mut domains = HashSet::new();
        let mut msp_ids = HashSet::new();
        for (org, prefix) in self.orgs() {
            let invalid = |reason: String| SpecError::Invalid {
                org: org.name.clone(),
                reason,
            };
            if !names.insert(org.name.as_str()) {
                return Err(invalid("organization name is used twice".into()));
            }
            if !domains.insert(org.domain.as_str()) {
                return Err(invalid(format!("domain {} is used twice", org.domain)));
            }
            if !msp_ids.insert(org.msp_id()) {
                return Err(invalid(format!("MSP id {} is used twice", org.msp_id())));
            }
            org.validate(prefix)?;
        }
        Ok(())
    }

    /// Every org with its default node prefix (`orderer` or `peer`).
    pub fn orgs(&self) -> impl Iterator<Item = (&OrgSpec, &'static str)> {
        let orderers = self.orderer_orgs.iter().map(|o| (o, "orderer"));
        orderers.chain(self.peer_orgs.iter().map(|o| (o, "peer")))
    }
}

impl OrgSpec {
    /// The MSP id: `MSPID`, or `<Name>MSP`.
    pub fn msp_id(&self) -> String {
        self.msp_id.clone().unwrap_or_else(|| format!("{}MSP", self.name))
    }

    /// Specs and template expanded into nodes; `prefix` is `peer` or `orderer`.
    pub fn nodes(&self, prefix: &str) -> Vec<Node> {
        let mut out: Vec<Node> = self
            .specs
            .iter()
            .map(|s| self.node(&s.hostname, s.common_name.clone(), &s.sans))
            .collect();
        if let Some(t) = &self.template {
            let pattern = t.hostname.as_deref().unwrap_or("{{.Prefix}}{{.Index}}");
            for index in t.start..t.start.saturating_add(t.count) {
                let hostname = pattern
                    .replace("{{.Prefix}}", prefix)
                    .replace("{{.Index}}", &index.to_string());
                out.push(self.node(&hostname, None, &t.sans));
            }
        }
        out
    }

    fn node(&self, hostname: &str, common_name: Option<String>, extra: &[String]) -> Node {
        let common_name = common_name.unwrap_or_else(|| format!("{hostname}.{}", self.domain));
        let mut sans = vec![
            common_name.clone(),
            hostname.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        for san in extra {
            let san = san
                .replace("{{.Hostname}}", hostname)
                .replace("{{.Domain}}", &self.domain)
                .replace("{{.CommonName}}", &common_name);
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        Node {
            hostname: hostname.to_string(),
            common_name,
            sans,
        }
    }

    /// `Admin`, `User1..UserN`, then the named users.
    pub fn user_list(&self) -> Vec<User> {
        let user = |name: String, ou, attrs| User {
            common_name: format!("{name}@{}", self.domain),
            name,
            ou,
            attrs,
        };
        let mut out = vec![user("Admin".into(), NodeOu::Admin, BTreeMap::new())];
        for i in 1..=self.users.count {
            out.push(user(format!("User{i}"), NodeOu::Client, BTreeMap::new()));
        }
        for named in &self.users.named {
            let ou = match named.ou.as_deref() {
                Some("admin") => NodeOu::Admin,
                _ => NodeOu::Client,
            };
            out.push(user(named.name.clone(), ou, named.attrs.clone()));
        }
        out
    }

    fn validate(&self, prefix: &str) -> Result<(), SpecError> {
        let invalid = |reason: String| SpecError::Invalid {
            org: self.name.clone(),
            reason,
        };
        if self.name.is_empty() || !is_safe_name(&self.name) {
            return Err(invalid(format!(
                "Name {:?} must be non-empty letters, digits, '.', '_' or '-'",
                self.name
            )));
        }
        if !is_dns_name(&self.domain) {
            return Err(invalid(format!("Domain {:?} is not a DNS name", self.domain)));
        }
        for named in &self.users.named {
            if !is_safe_name(&named.name) {
                return Err(invalid(format!(
                    "user name {:?} must be letters, digits, '.', '_' or '-'",
                    named.name
                )));
            }
            if let Some(ou) = &named.ou
                && ou != "client"
                && ou != "admin"
            {
                return Err(invalid(format!(
                    "user {} has OU {ou:?}; users are client or admin",
                    named.name
                )));
            }
        }
        let mut seen = HashSet::new();
        for user in self.user_list() {
            if !seen.insert(user.common_name.clone()) {
                return Err(invalid(format!("user {} is defined twice", user.common_name)));
            }
        }
        let mut hosts = HashSet::new();
        for node in self.nodes(prefix) {
            if !is_dns_name(&node.common_name) || !is_dns_name(&node.hostname) {
                return Err(invalid(format!(
                    "node name {:?} is not a DNS name",
                    node.common_name
                )));
            }
            if !hosts.insert(node.common_name.clone()) {
                return Err(invalid(format!("node {} is defined twice", node.common_name)));
            }
        }
        Ok(())
    }
}

fn is_safe_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) && !s.starts_with('.')
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
PeerOrgs:
  - Name: HospitalA
    Domain: hospitala.carechain.local
    Template: {Count: 2, Start: 1, SANS: ["{{.Hostname}}.alt"]}
    Specs: [{Hostname: gateway}]
    Users:
      Count: 2
      Named:
        - {Name: drsmith, Attrs: {role: doctor}}
        - {Name: it-admin, OU: admin}
"#;

    #[test]
    fn expands_templates_users_and_defaults() {
        let spec = CryptoConfig::from_yaml(SPEC).unwrap();
        let org = &spec.peer_orgs[0];
        assert_eq!(org.msp_id(), "HospitalAMSP");
        assert!(org.enable_node_ous);
        let nodes = org.nodes("peer");
        let names: Vec<_> = nodes.iter().map(|n| n.common_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gateway.hospitala.carechain.local",
                "peer1.hospitala.carechain.local",
                "peer2.hospitala.carechain.local"
            ]
        );
        assert_eq!(
            nodes[1].sans,
            [
                "peer1.hospitala.carechain.local",
                "peer1",
                "localhost",
                "127.0.0.1",
                "peer1.alt"
            ]
        );
        let users = org.user_list();
        let names: Vec<_> = users.iter().map(|u| (u.name.as_str(), u.ou)).collect();
        assert_eq!(
            names,
            [
                ("Admin", NodeOu::Admin),
                ("User1", NodeOu::Client),
                ("User2", NodeOu::Client),
                ("drsmith", NodeOu::Client),
                ("it-admin", NodeOu::Admin)
            ]
        );
        assert_eq!(users[3].attrs["role"], "doctor");
    }

    #[test]
    fn rejects_bad_specs_before_generating_anything() {
        let cases = [
            (
                "PeerOrgs: [{Name: A, Domain: a.local, Colour: red}]",
                "unknown field",
            ),
            (
                "PeerOrgs: [{Name: A, Domain: a.local}, {Name: A, Domain: b.local}]",
                "used twice",
            ),
            ("PeerOrgs: [{Name: A, Domain: 'bad domain'}]", "not a DNS name"),
            (
                "PeerOrgs: [{Name: A, Domain: a.local, Users: {Named: [{Name: x, OU: peer}]}}]",
                "users are client or admin",
            ),
            (
                "PeerOrgs: [{Name: A, Domain: a.local, Users: {Count: 1, Named: [{Name: User1}]}}]",
                "defined twice",
            ),
            (
                "PeerOrgs: [{Name: A, Domain: a.local, MSPID: X}, {Name: B, Domain: b.local, MSPID: X}]",
                "MSP id X",
            ),
        ];
        for (yaml, expected) in cases {
            let err = CryptoConfig::from_yaml(yaml).unwrap_err().to_string();
            assert!(err.contains(expected), "{yaml}: {err}");
        }
    }
}
