//! Names in Fabric's configuration tree: group, value and policy keys. Fabric tools look these exact
//! strings up, so they are constants rather than literals scattered through the code.

/// `/Channel/Application`.
pub const APPLICATION: &str = "Application";
/// `/Channel/Orderer`.
pub const ORDERER: &str = "Orderer";
/// Readers policy.
pub const READERS: &str = "Readers";
/// Writers policy.
pub const WRITERS: &str = "Writers";
/// Admins policy.
pub const ADMINS: &str = "Admins";
/// Endorsement policy (org and application level).
pub const ENDORSEMENT: &str = "Endorsement";
/// LifecycleEndorsement policy (application level).
pub const LIFECYCLE_ENDORSEMENT: &str = "LifecycleEndorsement";
/// BlockValidation policy (orderer level).
pub const BLOCK_VALIDATION: &str = "BlockValidation";
/// An org's MSP value.
pub const MSP: &str = "MSP";
/// An application org's anchor peers.
pub const ANCHOR_PEERS: &str = "AnchorPeers";
/// An orderer org's endpoints.
pub const ENDPOINTS: &str = "Endpoints";
/// Consensus type and metadata.
pub const CONSENSUS_TYPE: &str = "ConsensusType";
/// Batch size.
pub const BATCH_SIZE: &str = "BatchSize";
/// Batch timeout.
pub const BATCH_TIMEOUT: &str = "BatchTimeout";
/// Capabilities (each level).
pub const CAPABILITIES: &str = "Capabilities";
/// Hashing algorithm.
pub const HASHING_ALGORITHM: &str = "HashingAlgorithm";
/// Block data hashing structure.
pub const BLOCK_DATA_HASHING_STRUCTURE: &str = "BlockDataHashingStructure";
/// Channel-level orderer addresses (deprecated in Fabric, kept for tools).
pub const ORDERER_ADDRESSES: &str = "OrdererAddresses";

/// Absolute path of a policy in the channel configuration.
pub fn policy_path(groups: &[&str], name: &str) -> String {
    let mut p = String::from("/Channel");
    for g in groups {
        p.push('/');
        p.push_str(g);
    }
    p.push('/');
    p.push_str(name);
    p
}
