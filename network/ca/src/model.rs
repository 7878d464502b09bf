//! The vocabulary of the CA: identity types (the NodeOU an enrolled certificate carries), attributes
//! and fabric-ca's reserved `hf.*` names, revocation reasons, and the syntax rules for enrollment ids,
//! attribute names and affiliations.
//!
//! Every identity that endorses or submits in endorse → order → validate was registered with one of
//! these types and attribute sets; peers and chaincode later read them back from the certificate
//! (NodeOU for policies, the `1.2.3.4.5.6.7.8.1` attributes for ABAC). Pure data, no I/O.

use std::fmt;
use std::str::FromStr;

use carechain_crypto::NodeOu;
use serde::{Deserialize, Serialize};

/// Types a registrar may register (`hf.Registrar.Roles`); comma-separated list, or `*` for all.
pub const REGISTRAR_ROLES: &str = "hf.Registrar.Roles";
/// Types a registrar may hand on in the `hf.Registrar.Roles` of identities it registers (default: its
/// own `hf.Registrar.Roles`).
pub const REGISTRAR_DELEGATE_ROLES: &str = "hf.Registrar.DelegateRoles";
/// Attribute names (and, as a carechain extension, values) a registrar may register.
pub const REGISTRAR_ATTRIBUTES: &str = "hf.Registrar.Attributes";
/// `true`: may revoke identities and certificates it could register.
pub const REVOKER: &str = "hf.Revoker";
/// `true`: may generate CRLs.
pub const GEN_CRL: &str = "hf.GenCRL";
/// Set by the CA at registration: the enrollment id.
pub const ENROLLMENT_ID: &str = "hf.EnrollmentID";
/// Set by the CA at registration: the identity type.
pub const TYPE: &str = "hf.Type";
/// Set by the CA at registration: the affiliation.
pub const AFFILIATION: &str = "hf.Affiliation";

/// Attributes only the CA sets; a registration naming one is refused.
pub const CA_SET_ATTRIBUTES: [&str; 3] = [ENROLLMENT_ID, TYPE, AFFILIATION];
/// The `hf.*` privileges a registrar may delegate.
pub const PRIVILEGES: [&str; 5] = [
    REGISTRAR_ROLES,
    REGISTRAR_DELEGATE_ROLES,
    REGISTRAR_ATTRIBUTES,
    REVOKER,
    GEN_CRL,
];

/// What an identity is, and so the NodeOU (subject OU) of its certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    /// An application user (doctor, nurse, patient, insurer, analyst...).
    Client,
    /// A peer node.
    Peer,
    /// An organization administrator.
    Admin,
    /// An ordering node.
    Orderer,
}

impl IdentityType {
    /// All four, in Fabric's order.
    pub const ALL: [IdentityType; 4] = [Self::Client, Self::Peer, Self::Admin, Self::Orderer];

    /// `client`, `peer`, `admin` or `orderer`.
    pub fn as_str(self) -> &'static str {
        self.node_ou().as_str()
    }

    /// The NodeOU of certificates issued to this type.
    pub fn node_ou(self) -> NodeOu {
        match self {
            Self::Client => NodeOu::Client,
            Self::Peer => NodeOu::Peer,
            Self::Admin => NodeOu::Admin,
            Self::Orderer => NodeOu::Orderer,
        }
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("identity type {s:?} is not one of client, peer, admin, orderer"))
    }
}

/// A registered attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// Name, e.g. `role`, `department`, `licence`.
    pub name: String,
    /// Value, e.g. `doctor`.
    pub value: String,
    /// Whether enrollment certificates carry it when the enrollment names no attributes.
    pub ecert: bool,
}

impl Attribute {
    /// An attribute enrollment certificates carry by default.
    pub fn ecert(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            ecert: true,
        }
    }

    /// An attribute kept in the registry only (unless an enrollment asks for it).
    pub fn internal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            ecert: false,
        }
    }
}

/// Which certificate profile an enrollment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// An MSP signing certificate (`signcerts/`).
    #[default]
    Signing,
    /// A TLS certificate (serverAuth + clientAuth, SANs).
    Tls,
}

impl Profile {
    /// Parses the wire form: empty or `signing`, or `tls`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "" | "signing" => Ok(Self::Signing),
            "tls" => Ok(Self::Tls),
            other => Err(format!("profile {other:?} is not signing or tls")),
        }
    }

    /// `signing` or `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Tls => "tls",
        }
    }
}

/// RFC 5280 revocation reasons, named as fabric-ca's `--revoke.reason` accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RevocationReason {
    /// No reason given.
    #[default]
    Unspecified,
    /// The private key leaked.
    KeyCompromise,
    /// The CA's key leaked.
    CaCompromise,
    /// The holder moved to another affiliation.
    AffiliationChanged,
    /// Replaced by a newer certificate.
    Superseded,
    /// The holder stopped operating (left the hospital, node decommissioned).
    CessationOfOperation,
    /// Temporarily suspended.
    CertificateHold,
    /// Privileges withdrawn.
    PrivilegeWithdrawn,
    /// The attribute authority's key leaked.
    AaCompromise,
}

impl RevocationReason {
    const NAMES: [(&'static str, RevocationReason); 9] = [
        ("unspecified", Self::Unspecified),
        ("keycompromise", Self::KeyCompromise),
        ("cacompromise", Self::CaCompromise),
        ("affiliationchanged", Self::AffiliationChanged),
        ("superseded", Self::Superseded),
        ("cessationofoperation", Self::CessationOfOperation),
        ("certificatehold", Self::CertificateHold),
        ("privilegewithdrawn", Self::PrivilegeWithdrawn),
        ("aacompromise", Self::AaCompromise),
    ];

    /// Parses a reason name (case-insensitive; empty = unspecified).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(Self::Unspecified);
        }
        let lower = s.to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                format!("revocation reason {s:?} is not one of {}", names.join(", "))
            })
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("unspecified", |(n, _)| n)
    }
}

/// Checks an enrollment id: 1..=64 characters of `A-Z a-z 0-9 @ . _ -`. It becomes the certificate's
/// CN and a file name, so nothing else is allowed.
pub fn validate_enrollment_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "@._-".contains(c);
    if id.is_empty() || id.len() > 64 || !id.chars().all(ok_char) || id.starts_with('.') {
        return Err(format!(
            "enrollment id {id:?} must be 1 to 64 characters of letters, digits, '@', '.', '_', '-' (not starting with '.')"
        ));
    }
    Ok(())
}

/// Checks an attribute name: letters, digits, `.`, `_`, `-`, at most 128 characters.
pub fn validate_attribute_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if name.is_empty() || name.len() > 128 || !name.chars().all(ok_char) {
        return Err(format!(
            "attribute name {name:?} must be 1 to 128 characters of letters, digits, '.', '_', '-'"
        ));
    }
    Ok(())
}

/// Checks an attribute value: at most 1024 characters, no control characters.
pub fn validate_attribute_value(name: &str, value: &str) -> Result<(), String> {
    if value.len() > 1024 || value.chars().any(char::is_control) {
        return Err(format!(
            "value of attribute {name} must be at most 1024 characters without control characters"
        ));
    }
    Ok(())
}

/// Checks an affiliation: empty (the root) or dot-separated segments of letters, digits, `_`, `-`
/// (e.g. `hospitala.cardiology`).
pub fn validate_affiliation(affiliation: &str) -> Result<(), String> {
    if affiliation.is_empty() {
        return Ok(());
    }
    let ok_segment =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    if affiliation.len() > 256 || !affiliation.split('.').all(ok_segment) {
        return Err(format!(
            "affiliation {affiliation:?} must be dot-separated segments of letters, digits, '_', '-'"
        ));
    }
    Ok(())
}

/// Whether `parent` is `child` or one of its ancestors (`a` covers `a.b`, not `ab`; `""` covers all).
pub fn affiliation_covers(parent: &str, child: &str) -> bool {
    parent.is_empty()
        || child == parent
        || (child.len() > parent.len() && child.starts_with(parent) && child.as_bytes()[parent.len()] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_types_round_trip_and_map_to_node_ous() {
        for t in IdentityType::ALL {
            assert_eq!(t.as_str().parse::<IdentityType>(), Ok(t));
        }
        assert_eq!(IdentityType::Admin.node_ou(), NodeOu::Admin);
        assert!("user".parse::<IdentityType>().is_err());
    }

    #[test]
    fn reasons_parse_case_insensitively() {
        assert_eq!(
            RevocationReason::parse("KeyCompromise"),
            Ok(RevocationReason::KeyCompromise)
        );
        assert_eq!(RevocationReason::parse(""), Ok(RevocationReason::Unspecified));
        assert_eq!(RevocationReason::Superseded.as_str(), "superseded");
        assert!(RevocationReason::parse("lost").is_err());
    }

    #[test]
    fn syntax_rules() {
        assert!(validate_enrollment_id("dr.smith@hospitala").is_ok());
        for bad in ["", "a b", "../x", ".hidden", "x/y", &"a".repeat(65)] {
            assert!(validate_enrollment_id(bad).is_err(), "{bad}");
        }
        assert!(validate_attribute_name("hf.Registrar.Roles").is_ok());
        assert!(validate_attribute_name("role=x").is_err());
        assert!(validate_attribute_value("role", "doctor").is_ok());
        assert!(validate_attribute_value("role", "a\nb").is_err());
        assert!(validate_affiliation("").is_ok());
        assert!(validate_affiliation("hospitala.cardiology").is_ok());
        assert!(validate_affiliation("hospitala..x").is_err());
    }

    #[test]
    fn affiliation_prefixes_are_by_segment() {
        assert!(affiliation_covers("", "a.b"));
        assert!(affiliation_covers("a", "a"));
        assert!(affiliation_covers("a", "a.b"));
        assert!(!affiliation_covers("a", "ab"));
        assert!(!affiliation_covers("a.b", "a"));
    }
}
