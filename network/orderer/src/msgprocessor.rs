//! What the ordering service does with each kind of message before it is ordered, and again when the
//! channel configuration changed after it was checked (Fabric's message processor). In endorse → order
//! → validate this is where a channel configuration update becomes a CONFIG transaction.
//!
//! - A normal message (ENDORSER_TRANSACTION) is ordered if its creator is a valid channel identity whose
//!   signature verifies and who satisfies `/Channel/Writers`.
//! - A CONFIG_UPDATE is authorized against the current configuration (read-set versions, version bumps,
//!   each changed element's `mod_policy` satisfied by the admins who signed it; see
//!   [`carechain_channel::update::authorize`]) and wrapped, as Fabric does, into a CONFIG transaction
//!   signed by this orderer: `Envelope → Payload{ChannelHeader CONFIG, SignatureHeader of the orderer} →
//!   ConfigEnvelope{config: the new Config, last_update: the original envelope}`. Peers re-authorize the
//!   `last_update` themselves before applying the configuration.
//! - Every message is tagged with the configuration sequence it was checked against ([`Submitted`]).
//!   When the leader takes a message checked against an older configuration, it checks it again
//!   ([`revalidate`]): a creator revoked by a CRL update ordered in between never gets into a later
//!   block, and a config update whose read set went stale is dropped.
//!
//! Pure and synchronous (signature checks are CPU work: callers run them off the async workers).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use carechain_channel::{ChannelConfig, ConfigError, update};
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{
    ChannelHeader, Config, ConfigEnvelope, ConfigUpdateEnvelope, Envelope, Header, HeaderType, Payload,
    SignatureHeader,
};
use prost::Message;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::OrdererError;
use crate::envelope::{Access, SignedEnvelope, authenticate};
use crate::raft::settings::consenters;

/// An envelope accepted for ordering, as it travels from Broadcast (or a follower's forward) to the
/// leader's block cutter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The encoded `common.Envelope` to put into a block.
    pub envelope: Bytes,
    /// The configuration sequence it was checked against.
    pub config_seq: u64,
    /// A CONFIG transaction (cut into a block of its own).
    pub is_config: bool,
}

impl Submitted {
    /// A normal message checked at `config_seq`.
    pub fn normal(envelope: Bytes, config_seq: u64) -> Submitted {
        Submitted {
            envelope,
            config_seq,
            is_config: false,
        }
    }
}

/// The refusal of a config update: bad requests (stale read set, malformed update, result not a valid
/// configuration) and authorization failures (the policy that failed and who signed) stay apart.
pub fn config_error(e: ConfigError) -> OrdererError {
    match e {
        ConfigError::Forbidden(m) => OrdererError::Forbidden(format!("config update refused: {m}")),
        other => OrdererError::BadRequest(format!("config update refused: {other}")),
    }
}

/// Checks a normal message against `config`: size, creator and `/Channel/Writers`.
pub fn check_normal(config: &ChannelConfig, parsed: &SignedEnvelope) -> Result<(), OrdererError> {
    let size = parsed.payload.len() + parsed.signature.len();
    let max = config.orderer.batch_size.absolute_max_bytes;
    if size > max as usize {
        return Err(OrdererError::TooLarge {
            channel: config.channel_id.clone(),
            size,
            max,
        });
    }
    authenticate(config, parsed, Access::Write).map(|_| ())
}

/// Authorizes a CONFIG_UPDATE envelope against `config` at `now` and returns the CONFIG transaction
/// (encoded) that carries the resulting configuration, signed by `signer`.
pub fn config_update(
    config: &ChannelConfig,
    parsed: &SignedEnvelope,
    signer: &SigningIdentity,
    now: SystemTime,
) -> Result<Bytes, OrdererError> {
    authenticate(config, parsed, Access::Write)?;
    let cue = ConfigUpdateEnvelope::decode(parsed.data.clone()).map_err(|e| {
        OrdererError::BadRequest(format!(
            "CONFIG_UPDATE data is not a common.ConfigUpdateEnvelope: {e}"
        ))
    })?;
    // Peers re-authorize at the CONFIG header's timestamp, which has whole-second precision for them:
    // authorize at exactly that second so both reach the same verdict on certificate validity.
    let seconds = unix_seconds(now);
    let at = OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
        .map_err(|e| OrdererError::Internal(format!("clock: {e}")))?;
    let next = update::authorize(config, &cue, at).map_err(config_error)?;
    let next_config = ChannelConfig::from_config(&config.channel_id, &next).map_err(config_error)?;
    check_orderer_change(config, &next_config)?;
    let last_update = Envelope {
        payload: parsed.payload.clone(),
        signature: parsed.signature.clone(),
    };
    Ok(config_transaction(
        &config.channel_id,
        next,
        last_update,
        signer,
        seconds,
    ))
}

/// Checks a message again against `config`, which is newer than the one it was checked against. A
/// config transaction is re-derived from its `last_update` (the configuration it proposed was computed
/// from an older one).
pub fn revalidate(
    config: &ChannelConfig,
    submitted: Submitted,
    signer: &SigningIdentity,
    now: SystemTime,
) -> Result<Submitted, OrdererError> {
    let envelope = Envelope::decode(submitted.envelope.clone())
        .map_err(|e| OrdererError::BadRequest(format!("envelope does not decode: {e}")))?;
    if !submitted.is_config {
        check_normal(config, &SignedEnvelope::parse(&envelope)?)?;
        return Ok(Submitted {
            config_seq: config.sequence,
            ..submitted
        });
    }
    let payload = Payload::decode(envelope.payload)
        .map_err(|e| OrdererError::BadRequest(format!("config transaction payload: {e}")))?;
    let last_update = ConfigEnvelope::decode(payload.data)
        .ok()
        .and_then(|ce| ce.last_update)
        .ok_or_else(|| OrdererError::BadRequest("config transaction has no last update".into()))?;
    let parsed = SignedEnvelope::parse(&last_update)?;
    Ok(Submitted {
        envelope: config_update(config, &parsed, signer, now)?,
        config_seq: config.sequence,
        is_config: true,
    })
}

/// Checks what a configuration change does to the ordering service, as Fabric's etcdraft does: the
/// consensus type stays, the consenter set stays usable and changes by at most one consenter (a Raft
/// membership change adds or removes one member at a time).
pub fn check_orderer_change(current: &ChannelConfig, next: &ChannelConfig) -> Result<(), OrdererError> {
    let channel = &current.channel_id;
    if next.orderer.consensus_type != current.orderer.consensus_type {
        return Err(OrdererError::BadRequest(format!(
            "config update refused: channel {channel} cannot change its consensus type from {} to {}",
            current.orderer.consensus_type, next.orderer.consensus_type
        )));
    }
    let refused = |e: OrdererError| OrdererError::BadRequest(format!("config update refused: {e}"));
    let before = consenters(channel, &current.orderer.consenters).map_err(refused)?;
    let after = consenters(channel, &next.orderer.consenters).map_err(refused)?;
    let ids = |set: &[crate::raft::settings::Consenter]| set.iter().map(|c| c.id).collect::<BTreeSet<_>>();
    let (old, new) = (ids(&before), ids(&after));
    let added: Vec<&str> = after
        .iter()
        .filter(|c| !old.contains(&c.id))
        .map(|c| c.endpoint.as_str())
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|c| !new.contains(&c.id))
        .map(|c| c.endpoint.as_str())
        .collect();
    if added.len() + removed.len() > 1 {
        return Err(OrdererError::BadRequest(format!(
            "config update refused: it changes more than one consenter of channel {channel} (adds [{}], removes [{}]); Raft membership changes one consenter at a time: submit one update per consenter",
            added.join(", "),
            removed.join(", ")
        )));
    }
    Ok(())
}

/// Wraps a new configuration and the update it came from into a CONFIG transaction signed by `signer`.
pub fn config_transaction(
    channel_id: &str,
    config: Config,
    last_update: Envelope,
    signer: &SigningIdentity,
    unix_seconds: u64,
) -> Bytes {
    let nonce: [u8; 24] = rand::random();
    let creator = Bytes::copy_from_slice(signer.serialize());
    let tx_id = hex::encode(
        Sha256::new()
            .chain_update(nonce)
            .chain_update(&creator)
            .finalize(),
    );
    let channel_header = ChannelHeader {
        r#type: HeaderType::Config as i32,
        channel_id: channel_id.to_string(),
        timestamp: Some(prost_types::Timestamp {
            seconds: i64::try_from(unix_seconds).unwrap_or(i64::MAX),
            nanos: 0,
        }),
        tx_id,
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec().into(),
            signature_header: SignatureHeader {
                creator,
                nonce: Bytes::copy_from_slice(&nonce),
            }
            .encode_to_vec()
            .into(),
        }),
        data: ConfigEnvelope {
            config: Some(config),
            last_update: Some(last_update),
        }
        .encode_to_vec()
        .into(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    }
    .encode_to_vec()
    .into()
}

/// Seconds since the epoch of `t` (for timestamps built from a `SystemTime`).
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

#[cfg(test)]
#[path = "msgprocessor_tests.rs"]
mod tests;
