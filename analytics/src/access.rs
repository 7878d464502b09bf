//! Who may read the de-identified dataset: an *analyst certificate*, i.e. a client certificate of an
//! application organization of the channel, valid now, not revoked, carrying the attribute `role=analyst`,
//! whose key signs a fresh challenge. It is checked against the channel's MSPs as the store last saw them in
//! a config block (CAs, intermediate CAs, CRLs, NodeOUs), not just parsed, so a revoked or foreign
//! certificate is refused even though it decodes. Pure: the caller supplies the configuration, the
//! serialized identity, the signature and the time.

use carechain_channel::config::ChannelConfig;
use carechain_crypto::msp::NodeOu;
use time::OffsetDateTime;

/// The attribute value analysts carry (`role=analyst`).
pub const ANALYST_ROLE: &str = "analyst";

/// An identity allowed to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyst {
    /// Its organization's MSP id.
    pub msp_id: String,
    /// Certificate subject common name.
    pub common_name: String,
}

/// Why an identity may not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not a valid certificate of one of the channel's MSPs (unknown CA, expired, revoked, malformed).
    #[error("not a valid certificate of a member of channel {channel}: {reason}")]
    Invalid {
        /// Channel.
        channel: String,
        /// The MSP's reason.
        reason: String,
    },
    /// The MSP is an orderer organization, not an application organization of the channel.
    #[error("{msp} is not an application organization of channel {channel}")]
    NotMember {
        /// MSP id.
        msp: String,
        /// Channel.
        channel: String,
    },
    /// Not a client certificate (admins, peers and orderers do not read analytics).
    #[error("{who} is not a client certificate (NodeOU {ou})")]
    NotClient {
        /// Who.
        who: String,
        /// Its NodeOU.
        ou: String,
    },
    /// No `role=analyst` attribute.
    #[error("{who} has role {role}, not {ANALYST_ROLE}: the analytics store is open to analysts only")]
    NotAnalyst {
        /// Who.
        who: String,
        /// Its `role` attribute, or `(none)`.
        role: String,
    },
    /// The key did not sign the challenge.
    #[error("the signature does not verify with {who}'s certificate")]
    BadSignature {
        /// Who.
        who: String,
    },
}

/// Checks that `serialized` (a Fabric `SerializedIdentity`) is an analyst of the channel and that its key
/// signed `challenge`.
pub fn authorize(
    config: &ChannelConfig,
    serialized: &[u8],
    challenge: &[u8],
    signature: &[u8],
    now: OffsetDateTime,
) -> Result<Analyst, AccessError> {
    let id = config
        .msps
        .deserialize_identity_at(serialized, now)
        .map_err(|e| AccessError::Invalid {
            channel: config.channel_id.clone(),
            reason: e.to_string(),
        })?;
    let who = format!("{} ({})", id.common_name(), id.msp_id());
    if config.application_org_by_msp(id.msp_id()).is_none() {
        return Err(AccessError::NotMember {
            msp: id.msp_id().to_string(),
            channel: config.channel_id.clone(),
        });
    }
    if id.node_ou() != Some(NodeOu::Client) {
        return Err(AccessError::NotClient {
            who,
            ou: id.node_ou().map_or("none", NodeOu::as_str).to_string(),
        });
    }
    match id.attribute("role") {
        Some(ANALYST_ROLE) => {}
        other => {
            return Err(AccessError::NotAnalyst {
                who,
                role: other.unwrap_or("(none)").to_string(),
            });
        }
    }
    id.verify(challenge, signature)
        .map_err(|_| AccessError::BadSignature { who: who.clone() })?;
    Ok(Analyst {
        msp_id: id.msp_id().to_string(),
        common_name: id.common_name().to_string(),
    })
}

#[cfg(test)]
mod tests;
