//! What a certificate request says: subject, validity window, signing or TLS profile, SANs and
//! ABAC attributes, plus what issuance returns.
//!
//! These are the inputs a CA (cryptogen today, a CA service later) turns into the certificates
//! that identify every endorser, orderer and client of endorse → order → validate.

use std::collections::BTreeMap;

use rcgen::{DistinguishedName, DnType};
use time::{Duration, OffsetDateTime};

/// Subject fields in cryptogen's style: `C=US, ST=California, L=San Francisco, O=<org>, OU=<ou>, CN=<cn>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Common name, e.g. `peer0.hospitala.carechain.local`.
    pub common_name: String,
    /// Organization; cryptogen uses the org domain.
    pub organization: String,
    /// Organizational unit: the NodeOU for leaf certificates (rcgen supports one OU per name).
    pub organizational_unit: Option<String>,
    /// Country code.
    pub country: String,
    /// State or province.
    pub province: String,
    /// Locality.
    pub locality: String,
}

impl Subject {
    /// A subject with cryptogen's default location (US, California, San Francisco).
    pub fn new(common_name: impl Into<String>, organization: impl Into<String>) -> Self {
        Self {
            common_name: common_name.into(),
            organization: organization.into(),
            organizational_unit: None,
            country: "US".into(),
            province: "California".into(),
            locality: "San Francisco".into(),
        }
    }

    /// The same subject with the given OU (a NodeOU such as `peer` or `client`).
    pub fn with_ou(mut self, ou: impl Into<String>) -> Self {
        self.organizational_unit = Some(ou.into());
        self
    }

    pub(super) fn to_dn(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, self.country.as_str());
        dn.push(DnType::StateOrProvinceName, self.province.as_str());
        dn.push(DnType::LocalityName, self.locality.as_str());
        dn.push(DnType::OrganizationName, self.organization.as_str());
        if let Some(ou) = &self.organizational_unit {
            dn.push(DnType::OrganizationalUnitName, ou.as_str());
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        dn
    }
}

/// A certificate's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First instant the certificate is valid.
    pub not_before: OffsetDateTime,
    /// Last instant the certificate is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From five minutes ago (tolerating clock skew, as cryptogen does) for `years` years.
    pub fn years_from_now(years: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::minutes(5),
            not_after: now + Duration::days(365 * years),
        }
    }

    /// An explicit window (tests use it for expired and not-yet-valid certificates).
    pub fn between(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        Self {
            not_before,
            not_after,
        }
    }
}

impl Default for Validity {
    /// Ten years, cryptogen's lifetime for CAs and leaves.
    fn default() -> Self {
        Self::years_from_now(10)
    }
}

/// Which leaf profile to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertUsage {
    /// An MSP signing certificate (`signcerts/`): keyUsage digitalSignature.
    Signing,
    /// A TLS certificate: digitalSignature + keyEncipherment, EKU serverAuth + clientAuth, SANs.
    Tls,
}

/// What to put into a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRequest {
    /// Subject name; its OU carries the NodeOU.
    pub subject: Subject,
    /// Signing or TLS profile.
    pub usage: CertUsage,
    /// Subject alternative names; IP literals become IP SANs, everything else DNS SANs.
    pub sans: Vec<String>,
    /// ABAC attributes for the `1.2.3.4.5.6.7.8.1` extension (omitted when empty).
    pub attributes: BTreeMap<String, String>,
    /// Validity window.
    pub validity: Validity,
}

impl LeafRequest {
    /// A signing-certificate request with default validity and no attributes.
    pub fn signing(subject: Subject) -> Self {
        Self {
            subject,
            usage: CertUsage::Signing,
            sans: Vec::new(),
            attributes: BTreeMap::new(),
            validity: Validity::default(),
        }
    }

    /// A TLS-certificate request with the given SANs and default validity.
    pub fn tls(subject: Subject, sans: Vec<String>) -> Self {
        Self {
            subject,
            usage: CertUsage::Tls,
            sans,
            attributes: BTreeMap::new(),
            validity: Validity::default(),
        }
    }
}

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// PEM text, as written to `signcerts/` and carried in `SerializedIdentity.id_bytes`.
    pub pem: String,
    /// DER bytes.
    pub der: Vec<u8>,
    /// Serial number (big-endian, positive, as DER integer content).
    pub serial: Vec<u8>,
}

/// A certificate to list in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Serial number of the revoked certificate (big-endian).
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
}
