//! Membership service providers: who belongs to which organization, in which role.
//!
//! Identities gate every signature in endorse → order → validate. The endorser checks a
//! proposal's creator, the orderer checks a broadcast's creator, and the committer checks every
//! creator and endorser before evaluating endorsement policies on their roles. This module
//! provides:
//!
//! - [`Msp`]: one organization's verifying MSP built from `FabricMSPConfig` (no filesystem);
//! - [`MspManager`]: a channel's MSPs keyed by id, with a cache of validated identities;
//! - [`Identity`]: a validated certificate with its role, attributes and signature check;
//! - [`Principal`] and [`Role`]: what policies ask of identities (Fabric `MSPPrincipal`);
//! - [`SigningIdentity`]: the local certificate + key that signs;
//! - [`dir`]: Fabric's MSP directory layout to and from `FabricMSPConfig`.

mod cert;
pub mod dir;
mod error;
mod identity;
mod manager;
mod principal;
mod role;
mod setup;
mod signer;
mod verifier;

pub(crate) use cert::display_name;
pub use cert::parse_attributes;
pub use dir::{load_msp, load_msp_config, write_msp_dir};
pub use error::MspError;
pub use identity::Identity;
pub use manager::{DEFAULT_CACHE_CAPACITY, MspManager};
pub use principal::Principal;
pub use role::{NodeOu, Role};
pub use signer::SigningIdentity;
pub use verifier::{FABRIC_MSP_TYPE, Msp};
