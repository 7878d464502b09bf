//! NodeOUs and MSP roles: how an identity's certificate maps to `client`, `peer`, `admin` or
//! `orderer`, and Fabric's `MSPRole` vocabulary that endorsement and channel policies are written
//! in (`HospitalAMSP.peer`, `InsurerMSP.member`, ...).

use std::fmt;
use std::str::FromStr;

use carechain_proto::common::msp_role::MspRoleType;

/// The node organizational units Fabric classifies identities by (the subject OU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeOu {
    /// An application user (OU `client`).
    Client,
    /// A peer node (OU `peer`).
    Peer,
    /// An administrator (OU `admin`).
    Admin,
    /// An ordering node (OU `orderer`).
    Orderer,
}

impl NodeOu {
    /// All four, in Fabric's config.yaml order.
    pub const ALL: [NodeOu; 4] = [NodeOu::Client, NodeOu::Peer, NodeOu::Admin, NodeOu::Orderer];

    /// The OU value as written in certificates and config.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeOu::Client => "client",
            NodeOu::Peer => "peer",
            NodeOu::Admin => "admin",
            NodeOu::Orderer => "orderer",
        }
    }
}

impl fmt::Display for NodeOu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NodeOu {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeOu::ALL
            .into_iter()
            .find(|ou| ou.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a NodeOU (client, peer, admin, orderer)"))
    }
}

/// Fabric's `MSPRole.MSPRoleType`: what a principal asks of an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Any valid identity of the MSP.
    Member,
    /// Admin NodeOU, or listed in `admincerts`.
    Admin,
    /// Client NodeOU.
    Client,
    /// Peer NodeOU.
    Peer,
    /// Orderer NodeOU.
    Orderer,
}

impl Role {
    /// Lowercase name as used in policy strings (`Org1MSP.member`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Client => "client",
            Role::Peer => "peer",
            Role::Orderer => "orderer",
        }
    }

    /// From the protobuf enum value (`MSPRole.role`).
    pub fn from_proto(value: i32) -> Option<Self> {
        Some(match MspRoleType::try_from(value).ok()? {
            MspRoleType::Member => Role::Member,
            MspRoleType::Admin => Role::Admin,
            MspRoleType::Client => Role::Client,
            MspRoleType::Peer => Role::Peer,
            MspRoleType::Orderer => Role::Orderer,
        })
    }

    /// To the protobuf enum.
    pub fn to_proto(self) -> MspRoleType {
        match self {
            Role::Member => MspRoleType::Member,
            Role::Admin => MspRoleType::Admin,
            Role::Client => MspRoleType::Client,
            Role::Peer => MspRoleType::Peer,
            Role::Orderer => MspRoleType::Orderer,
        }
    }
}

impl From<NodeOu> for Role {
    fn from(ou: NodeOu) -> Self {
        match ou {
            NodeOu::Client => Role::Client,
            NodeOu::Peer => Role::Peer,
            NodeOu::Admin => Role::Admin,
            NodeOu::Orderer => Role::Orderer,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "member" => Ok(Role::Member),
            "admin" => Ok(Role::Admin),
            "client" => Ok(Role::Client),
            "peer" => Ok(Role::Peer),
            "orderer" => Ok(Role::Orderer),
            _ => Err(format!(
                "{s:?} is not an MSP role (member, admin, client, peer, orderer)"
            )),
        }
    }
}
