//! Wire types of carechain: Fabric-compatible protobuf messages and gRPC services, generated at build
//! time from the `.proto` files in this crate.
//!
//! This crate sits at the bottom of endorse → order → validate: every other crate speaks these
//! types at its edges. Packages keep Fabric's names (`common`, `msp`, `protos`, `rwset`, `kvrwset`,
//! `orderer`, `gateway`, ...) so gRPC service paths (`/gateway.Gateway/Endorse`,
//! `/protos.Endorser/ProcessProposal`, `/orderer.AtomicBroadcast/Broadcast`) match Fabric's exactly.
//! Every `bytes` field decodes to [`bytes::Bytes`], so nested signed payloads are sliced out of the
//! received buffer without copying and can be hashed and verified exactly as received.
#![allow(missing_docs, clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// Envelopes, headers, blocks, configuration tree and policies (Fabric package `common`).
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}
/// Serialized identities and MSP configuration (Fabric package `msp`).
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}
/// Proposals, responses, transactions, events and the Endorser/Deliver services (Fabric package `protos`).
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}
/// Transaction read/write sets (Fabric package `rwset`).
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}
/// Key-value reads, writes and range-query records (Fabric package `kvrwset`).
pub mod kvrwset {
    include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
}
/// Range and history query result items (Fabric package `queryresult`).
pub mod queryresult {
    include!(concat!(env!("OUT_DIR"), "/queryresult.rs"));
}
/// Atomic broadcast, seek positions and ordering configuration (Fabric package `orderer`).
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}
/// Raft consenter configuration (Fabric package `etcdraft`).
pub mod etcdraft {
    include!(concat!(env!("OUT_DIR"), "/etcdraft.rs"));
}
/// The Fabric Gateway service and its messages (Fabric package `gateway`).
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}
/// Rich gRPC status (`google.rpc.Status`) used to carry [`gateway::ErrorDetail`]s.
pub mod google {
    /// The `google.rpc` package.
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
}

pub use prost;
pub use prost_types;

/// The `type_url` Fabric uses for [`gateway::ErrorDetail`] entries in a `google.rpc.Status`.
pub const ERROR_DETAIL_TYPE_URL: &str = "type.googleapis.com/gateway.ErrorDetail";

/// carechain's own node administration service (not a Fabric protocol).
pub mod carechain {
    /// Private data dissemination and reconciliation between peers (`carechain.pvtdata.PrivateData`).
    pub mod pvtdata {
        include!(concat!(env!("OUT_DIR"), "/carechain.pvtdata.rs"));
    }
    /// Channel participation and node control (`carechain.admin.Admin`).
    pub mod admin {
        include!(concat!(env!("OUT_DIR"), "/carechain.admin.rs"));
    }
    /// Orderer-to-orderer Raft traffic, forwarding and block catch-up (`carechain.cluster.Cluster`).
    pub mod cluster {
        include!(concat!(env!("OUT_DIR"), "/carechain.cluster.rs"));
    }
    /// The per-organization certificate authority (`carechain.ca.CertificateAuthority`).
    pub mod ca {
        include!(concat!(env!("OUT_DIR"), "/carechain.ca.rs"));
    }
}
