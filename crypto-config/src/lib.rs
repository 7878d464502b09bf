//! Identity and cryptography for carechain: signatures, X.509 issuance, MSPs and `cryptogen`.
//!
//! Every step of endorse → order → validate is gated by an identity check: the endorser verifies
//! the proposal creator, the orderer the broadcaster, the committer every creator and endorser
//! before it evaluates endorsement policies. This crate is the one place those checks live, so
//! they behave identically in every node.
//!
//! # Layout
//!
//! - [`sign`]: ECDSA P-256 / SHA-256, DER, low-S ([`SigningKey`], [`verify`], [`sha256`]).
//! - [`pem`]: PEM ⇄ DER for certificates, CRLs and keys.
//! - [`issue`]: CAs, leaf certificates with NodeOUs, SANs and ABAC attributes, CRLs.
//! - [`msp`]: MSPs from `FabricMSPConfig` or Fabric directories, identity validation with a
//!   cache, roles and principals, local signing identities.
//! - [`spec`] and [`cryptogen`]: generate a consortium's crypto material in Fabric's layout from
//!   a `crypto-config.yaml`.
//!
//! All cryptography runs on `ring`, the same provider rustls uses; `p256` only decodes key
//! formats `ring` does not accept.

pub mod cryptogen;
pub mod issue;
pub mod msp;
pub mod pem;
pub mod sign;
pub mod spec;

pub use issue::{CertificateAuthority, LeafRequest, Subject, Validity};
pub use msp::{Identity, Msp, MspError, MspManager, NodeOu, Principal, Role, SigningIdentity};
pub use sign::{SignatureError, SigningKey, sha256, verify, verify_and_remember};
