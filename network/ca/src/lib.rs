//! carechain's certificate authority, one per organization as with fabric-ca: administrators
//! register, enroll, re-enroll and revoke members; members enroll with a CSR so their private key never
//! leaves them; the CA issues certificates with the NodeOU of the identity's type and the ABAC
//! attributes chaincode checks (`role=doctor`), and generates the CRLs that a channel config update
//! makes effective on every node.
//!
//! It sits before endorse → order → validate: every creator and endorser the pipeline checks holds a
//! certificate issued here (or by `cryptogen`), and the CRLs generated here are what make peers and
//! orderers refuse a revoked member.
//!
//! # Layout
//!
//! - [`model`]: identity types, attributes, reserved `hf.*` names, revocation reasons, syntax rules.
//! - [`delegation`]: registrar delegation (`hf.Registrar.Roles`, `.DelegateRoles`, `.Attributes`,
//!   `hf.Revoker`, `hf.GenCRL`, affiliations).
//! - [`secret`]: salted PBKDF2 hashes of enrollment secrets.
//! - [`registry`]: identities and issued certificates, persisted atomically as JSON.
//! - [`csr`]: building and checking PKCS#10 requests.
//! - [`material`]: the CA's key, chain and MSP, and the start-up self-check.
//! - [`auth`]: signing and verifying registrar requests.
//! - [`authority`] and `ops`: [`Ca`], the operations themselves.
//! - [`audit`]: the audit log.
//! - [`server`], [`client`]: gRPC over TLS; the client writes Fabric MSP directories.
//! - [`config`]: `carechain ca start`.
//! - [`expiry`]: certificates expiring within a window, across a crypto tree or the registry.

pub mod audit;
pub mod auth;
pub mod authority;
pub mod client;
pub mod config;
pub mod csr;
pub mod delegation;
pub mod error;
pub mod expiry;
pub mod material;
pub mod model;
mod ops;
pub mod registry;
pub mod secret;
pub mod server;

pub use authority::{Ca, Settings};
pub use client::{CaClient, ClientError, EnrollOptions, Enrollment};
pub use config::CaServerConfig;
pub use error::CaError;
pub use ops::parse_attributes;
