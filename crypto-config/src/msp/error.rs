//! The ways an identity or an MSP configuration can be wrong, one variant each.
//!
//! These errors surface at every gate of endorse → order → validate: the endorser rejecting a
//! proposal's creator, the orderer rejecting a broadcast, the committer marking a transaction
//! invalid. Each message names the certificate, the CA and the MSP involved, so an operator can
//! act on it without a debugger (Fabric's "creator org unknown" is the anti-example).

use time::OffsetDateTime;

/// Formats an instant as RFC 3339 for messages.
pub(crate) fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Why an identity was rejected or an MSP could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MspError {
    /// The creator bytes are not a `SerializedIdentity` protobuf.
    #[error("serialized identity is not a valid msp.SerializedIdentity: {0}")]
    MalformedIdentity(String),
    /// `id_bytes` holds no PEM certificate, or it does not parse.
    #[error("identity of MSP {msp} does not hold a readable PEM certificate: {reason}")]
    BadCertificate {
        /// MSP id claimed by the identity.
        msp: String,
        /// What failed.
        reason: String,
    },
    /// The identity claims an MSP that is not part of this channel.
    #[error("unknown MSP id {msp} (known MSPs: {known})")]
    UnknownMsp {
        /// The MSP id claimed.
        msp: String,
        /// The MSP ids of the channel, comma-separated.
        known: String,
    },
    /// No CA of the MSP has the certificate's issuer name.
    #[error("certificate {cert} was issued by {issuer}, which is not a CA of MSP {msp}")]
    UnknownIssuer {
        /// The certificate (`CN=...`).
        cert: String,
        /// Its issuer name.
        issuer: String,
        /// The MSP that was asked.
        msp: String,
    },
    /// A CA of the MSP has the issuer's name but did not sign this certificate.
    #[error(
        "certificate {cert} names {issuer} of MSP {msp} as issuer, but its signature does not verify against that CA"
    )]
    BadCertificateSignature {
        /// The certificate.
        cert: String,
        /// The CA whose name it carries.
        issuer: String,
        /// The MSP.
        msp: String,
    },
    /// The certificate (or a CA in its chain) has expired.
    #[error("certificate {cert} of MSP {msp} expired at {}", rfc3339(not_after))]
    Expired {
        /// The certificate that expired (the leaf or a CA of its chain).
        cert: String,
        /// The MSP.
        msp: String,
        /// End of its validity.
        not_after: OffsetDateTime,
    },
    /// The certificate (or a CA in its chain) is not valid yet.
    #[error("certificate {cert} of MSP {msp} is not valid before {}", rfc3339(not_before))]
    NotYetValid {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
        /// Start of its validity.
        not_before: OffsetDateTime,
    },
    /// A CRL of the MSP lists the certificate's serial.
    #[error("certificate {cert} (serial 0x{serial}) revoked by CRL of {crl_issuer} in MSP {msp}")]
    Revoked {
        /// The revoked certificate.
        cert: String,
        /// Its serial, hex.
        serial: String,
        /// The CA that issued the CRL.
        crl_issuer: String,
        /// The MSP.
        msp: String,
    },
    /// The certificate's keyUsage extension does not allow digitalSignature.
    #[error("certificate {cert} of MSP {msp} has a keyUsage without digitalSignature, so it cannot sign")]
    KeyUsage {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
    },
    /// CA certificates may not act as identities (as in Fabric).
    #[error("certificate {cert} of MSP {msp} is a CA certificate and cannot be used as an identity")]
    CaAsIdentity {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
    },
    /// Identities must hold an ECDSA P-256 key.
    #[error("certificate {cert} of MSP {msp} does not hold an ECDSA P-256 public key")]
    UnsupportedKey {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
    },
    /// The attribute extension is not fabric-ca's JSON.
    #[error(
        "certificate {cert} of MSP {msp} has an unreadable attribute extension 1.2.3.4.5.6.7.8.1: {reason}"
    )]
    BadAttributes {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
        /// What failed.
        reason: String,
    },
    /// NodeOUs are enabled but the certificate carries none of them.
    #[error(
        "certificate {cert} of MSP {msp} has no NodeOU ({expected}) issued under the configured CA; its OUs: [{ous}]"
    )]
    NoNodeOu {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
        /// The configured NodeOU values.
        expected: String,
        /// The OUs it has.
        ous: String,
    },
    /// NodeOUs are enabled and the certificate carries more than one.
    #[error(
        "certificate {cert} of MSP {msp} has several NodeOUs [{ous}]; an identity must be exactly one of client, peer, admin, orderer"
    )]
    MultipleNodeOus {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
        /// The NodeOUs it matched.
        ous: String,
    },
    /// The MSP restricts OUs and the certificate has none of the allowed ones.
    #[error("certificate {cert} of MSP {msp} has OUs [{ous}], none of the MSP's allowed OUs [{allowed}]")]
    OuNotAllowed {
        /// The certificate.
        cert: String,
        /// The MSP.
        msp: String,
        /// The OUs it has.
        ous: String,
        /// The OUs the MSP allows.
        allowed: String,
    },
    /// The signature is well-formed and low-S but was not made by this identity over these bytes.
    #[error("signature does not verify for {cert} of MSP {msp}")]
    SignatureMismatch {
        /// The claimed signer.
        cert: String,
        /// Its MSP.
        msp: String,
    },
    /// The signature is in the malleable high-S form.
    #[error("high-S signature rejected for {cert} of MSP {msp} (signatures must be low-S)")]
    HighS {
        /// The claimed signer.
        cert: String,
        /// Its MSP.
        msp: String,
    },
    /// The signature is not strict DER.
    #[error("malformed signature from {cert} of MSP {msp}: {reason}")]
    MalformedSignature {
        /// The claimed signer.
        cert: String,
        /// Its MSP.
        msp: String,
        /// Which DER rule was broken.
        reason: &'static str,
    },
    /// An identity does not satisfy a principal.
    #[error("{identity} does not satisfy principal {principal}: {reason}")]
    PrincipalNotSatisfied {
        /// `CN=... of MSP ...`.
        identity: String,
        /// The principal, e.g. `HospitalAMSP.admin`.
        principal: String,
        /// Why.
        reason: String,
    },
    /// An `MSPPrincipal` cannot be decoded or is of an unsupported classification.
    #[error("invalid MSP principal: {0}")]
    BadPrincipal(String),
    /// The MSP configuration itself is unusable.
    #[error("invalid configuration of MSP {msp}: {reason}")]
    InvalidConfig {
        /// The MSP (or the directory it was read from).
        msp: String,
        /// What is wrong.
        reason: String,
    },
    /// Two MSPs of one channel share an id.
    #[error("MSP id {0} appears twice in the channel's MSP set")]
    DuplicateMsp(String),
    /// Reading an MSP directory failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The signing identity's key does not match its certificate, or is missing.
    #[error("no private key in {keystore} matches signing certificate {cert}")]
    KeyNotFound {
        /// The keystore directory.
        keystore: String,
        /// The certificate.
        cert: String,
    },
}

impl MspError {
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn config(msp: &str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            msp: msp.to_string(),
            reason: reason.into(),
        }
    }
}
