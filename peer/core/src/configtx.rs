//! Validating a configuration transaction in a block. The ordering service turns an authorized config
//! update into a CONFIG transaction carrying the new configuration and the signed update it came from;
//! a peer does not take the orderer's word for it: it checks the orderer's signature, re-authorizes the
//! update against its own current configuration (read set, versions, modification policies, admin
//! signatures) and requires the result to equal the proposed configuration.

use carechain_channel::{ChannelConfig, update};
use carechain_proto::common::{
    ChannelHeader, Config, ConfigEnvelope, ConfigUpdateEnvelope, Envelope, HeaderType, Payload,
    SignatureHeader,
};
use carechain_proto::protos::TxValidationCode as Code;
use prost::Message;
use time::OffsetDateTime;

use crate::txcheck::Invalid;

fn invalid(reason: impl Into<String>, tx_id: &str) -> Invalid {
    Invalid {
        code: Code::InvalidConfigTransaction,
        reason: reason.into(),
        tx_id: Some(tx_id.to_string()),
    }
}

/// Checks a CONFIG envelope (already decoded to its payload) and returns the new configuration.
pub fn check_config_tx(
    env: &Envelope,
    payload: &Payload,
    ch: &ChannelHeader,
    channel: &ChannelConfig,
) -> Result<Config, Invalid> {
    let tx_id = ch.tx_id.as_str();
    let header = payload
        .header
        .as_ref()
        .ok_or_else(|| invalid("no header", tx_id))?;
    let sh = SignatureHeader::decode(header.signature_header.as_ref())
        .map_err(|e| invalid(format!("signature header: {e}"), tx_id))?;
    let at = ch
        .timestamp
        .as_ref()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let orderer = channel
        .msps
        .verify_signature_at(&sh.creator, &env.payload, &env.signature, at)
        .map_err(|e| invalid(format!("config transaction signature: {e}"), tx_id))?;
    if !channel
        .orderer_orgs
        .values()
        .any(|o| o.msp_id == orderer.msp_id())
    {
        return Err(invalid(
            format!(
                "config transactions are created by the ordering service, not by {}",
                orderer.describe()
            ),
            tx_id,
        ));
    }
    let ce = ConfigEnvelope::decode(payload.data.as_ref())
        .map_err(|e| invalid(format!("config envelope: {e}"), tx_id))?;
    let proposed = ce
        .config
        .ok_or_else(|| invalid("config envelope has no configuration", tx_id))?;
    let last = ce
        .last_update
        .ok_or_else(|| invalid("config envelope has no last update", tx_id))?;
    let lp = Payload::decode(last.payload.as_ref())
        .map_err(|e| invalid(format!("config update payload: {e}"), tx_id))?;
    let lch = lp
        .header
        .as_ref()
        .and_then(|h| ChannelHeader::decode(h.channel_header.as_ref()).ok())
        .ok_or_else(|| invalid("config update has no channel header", tx_id))?;
    if lch.r#type != HeaderType::ConfigUpdate as i32 || lch.channel_id != channel.channel_id {
        return Err(invalid(
            "last update is not a CONFIG_UPDATE of this channel",
            tx_id,
        ));
    }
    let cue = ConfigUpdateEnvelope::decode(lp.data.as_ref())
        .map_err(|e| invalid(format!("config update envelope: {e}"), tx_id))?;
    let next = update::authorize(channel, &cue, at).map_err(|e| invalid(e.to_string(), tx_id))?;
    if next != proposed {
        return Err(invalid(
            "the proposed configuration is not the result of its config update",
            tx_id,
        ));
    }
    Ok(next)
}
