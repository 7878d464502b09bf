//! Checks the orderer runs on every signed envelope it receives, before ordering it (Broadcast) or
//! serving blocks for it (Deliver): parse the nested headers once, bound the clock skew, verify the
//! creator's signature and evaluate the channel policy. This is the orderer's gate in endorse → order →
//! validate: only envelopes from valid identities entitled to write reach consensus, and only readers
//! get blocks. Pure and synchronous; callers run [`authenticate`] off the async workers.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use carechain_channel::ChannelConfig;
use carechain_crypto::msp::Identity;
use carechain_proto::common::{ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader};
use prost::Message;

use crate::OrdererError;

/// How far a request's timestamp may be from the orderer's clock. It bounds how old a transaction can
/// be when it is ordered, and so the validation time peers may use for it.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// What a signed envelope asks to do, and so which channel policy its creator must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Broadcast: `/Channel/Writers`.
    Write,
    /// Deliver: `/Channel/Readers`.
    Read,
}

impl Access {
    /// The channel policy path.
    pub fn policy(self) -> &'static str {
        match self {
            Access::Write => "/Channel/Writers",
            Access::Read => "/Channel/Readers",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Access::Write => "broadcast to",
            Access::Read => "read blocks of",
        }
    }
}

/// An envelope with its headers decoded; the signed bytes are kept exactly as received.
#[derive(Debug, Clone)]
pub struct SignedEnvelope {
    /// `Envelope.payload` as received: what the signature covers.
    pub payload: Bytes,
    /// `Envelope.signature`.
    pub signature: Bytes,
    /// The decoded channel header.
    pub channel_header: ChannelHeader,
    /// `SignatureHeader.creator` (a serialized identity).
    pub creator: Bytes,
    /// `Payload.data` (a Transaction, a SeekInfo, ...).
    pub data: Bytes,
}

impl SignedEnvelope {
    /// Decodes payload, header, channel header and signature header, naming the part that fails.
    pub fn parse(envelope: &Envelope) -> Result<SignedEnvelope, OrdererError> {
        let bad = |what: &str, e: prost::DecodeError| {
            OrdererError::BadRequest(format!("envelope {what} does not decode: {e}"))
        };
        let payload =
            Payload::decode(envelope.payload.clone()).map_err(|e| bad("payload (common.Payload)", e))?;
        let header = payload
            .header
            .ok_or_else(|| OrdererError::BadRequest("envelope payload has no header".into()))?;
        let channel_header = ChannelHeader::decode(header.channel_header)
            .map_err(|e| bad("channel header (common.ChannelHeader)", e))?;
        let signature_header = SignatureHeader::decode(header.signature_header)
            .map_err(|e| bad("signature header (common.SignatureHeader)", e))?;
        if signature_header.creator.is_empty() {
            return Err(OrdererError::BadRequest(
                "envelope signature header has no creator".into(),
            ));
        }
        if channel_header.channel_id.is_empty() {
            return Err(OrdererError::BadRequest(
                "envelope channel header names no channel".into(),
            ));
        }
        Ok(SignedEnvelope {
            payload: envelope.payload.clone(),
            signature: envelope.signature.clone(),
            channel_header,
            creator: signature_header.creator,
            data: payload.data,
        })
    }

    /// The channel the envelope is for.
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    /// The header type, or a BAD_REQUEST naming the unknown value.
    pub fn header_type(&self) -> Result<HeaderType, OrdererError> {
        HeaderType::try_from(self.channel_header.r#type).map_err(|_| {
            OrdererError::BadRequest(format!("unknown header type {}", self.channel_header.r#type))
        })
    }

    /// Checks the channel header's timestamp is within [`MAX_CLOCK_SKEW`] of `now`.
    pub fn check_timestamp(&self, now: SystemTime) -> Result<(), OrdererError> {
        check_timestamp(self.channel_header.timestamp.as_ref(), now, "envelope")
    }
}

/// Checks a request timestamp is within [`MAX_CLOCK_SKEW`] of `now`; `what` names the request.
pub fn check_timestamp(
    ts: Option<&prost_types::Timestamp>,
    now: SystemTime,
    what: &str,
) -> Result<(), OrdererError> {
    let ts = ts.ok_or_else(|| OrdererError::BadRequest(format!("{what} has no timestamp")))?;
    let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.seconds), u32::try_from(ts.nanos)) else {
        return Err(OrdererError::BadRequest(format!(
            "{what} timestamp {ts} is invalid"
        )));
    };
    let at = UNIX_EPOCH + Duration::new(secs, nanos.min(999_999_999));
    let skew = match now.duration_since(at) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        let dir = if at < now { "behind" } else { "ahead of" };
        return Err(OrdererError::BadRequest(format!(
            "{what} timestamp {ts} is {}s {dir} the orderer's clock; at most {}s are allowed",
            skew.as_secs(),
            MAX_CLOCK_SKEW.as_secs()
        )));
    }
    Ok(())
}

/// Validates the creator against the channel's MSPs, verifies its signature over the payload and
/// evaluates the policy of `access` for it. Every refusal is FORBIDDEN with the MSP or policy error.
pub fn authenticate(
    config: &ChannelConfig,
    envelope: &SignedEnvelope,
    access: Access,
) -> Result<Arc<Identity>, OrdererError> {
    let channel = &config.channel_id;
    let identity = config
        .msps
        .verify_signature(&envelope.creator, &envelope.payload, &envelope.signature)
        .map_err(|e| {
            OrdererError::Forbidden(format!("envelope creator refused on channel {channel}: {e}"))
        })?;
    config
        .evaluate(access.policy(), std::slice::from_ref(&identity))
        .map_err(|e| {
            let who = identity.describe();
            OrdererError::Forbidden(format!(
                "{who} may not {} channel {channel}: {e}",
                access.action()
            ))
        })?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use carechain_proto::common::Header;
    use prost_types::Timestamp;

    use super::*;

    fn envelope(channel_header: Bytes, creator: &[u8]) -> Envelope {
        let payload = Payload {
            header: Some(Header {
                channel_header,
                signature_header: SignatureHeader {
                    creator: Bytes::copy_from_slice(creator),
                    nonce: Bytes::from_static(b"nonce"),
                }
                .encode_to_vec()
                .into(),
            }),
            data: Bytes::from_static(b"data"),
        };
        Envelope {
            payload: payload.encode_to_vec().into(),
            signature: Bytes::from_static(b"sig"),
        }
    }

    fn channel_header(t: HeaderType) -> Bytes {
        ChannelHeader {
            r#type: t as i32,
            channel_id: "care".into(),
            ..Default::default()
        }
        .encode_to_vec()
        .into()
    }

    #[test]
    fn parse_names_the_part_that_fails() {
        let garbage = Envelope {
            payload: Bytes::from_static(&[0xff, 0xff, 0xff]),
            signature: Bytes::new(),
        };
        assert!(
            matches!(SignedEnvelope::parse(&garbage), Err(OrdererError::BadRequest(m)) if m.contains("payload"))
        );
        let bad_ch = envelope(Bytes::from_static(&[0x0a, 0xff]), b"creator");
        assert!(
            matches!(SignedEnvelope::parse(&bad_ch), Err(OrdererError::BadRequest(m)) if m.contains("channel header"))
        );
        let no_creator = envelope(channel_header(HeaderType::EndorserTransaction), b"");
        assert!(
            matches!(SignedEnvelope::parse(&no_creator), Err(OrdererError::BadRequest(m)) if m.contains("creator"))
        );
        let ok = SignedEnvelope::parse(&envelope(channel_header(HeaderType::ConfigUpdate), b"c")).unwrap();
        assert_eq!(ok.channel_id(), "care");
        assert_eq!(ok.header_type().unwrap(), HeaderType::ConfigUpdate);
        assert_eq!(ok.data.as_ref(), b"data");
    }

    #[test]
    fn timestamps_outside_the_window_are_refused() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ts = |s: i64| Timestamp { seconds: s, nanos: 0 };
        assert!(check_timestamp(Some(&ts(1_800_000_000 - 14 * 60)), now, "envelope").is_ok());
        assert!(check_timestamp(Some(&ts(1_800_000_000 + 14 * 60)), now, "envelope").is_ok());
        let stale = check_timestamp(Some(&ts(1_800_000_000 - 16 * 60)), now, "envelope").unwrap_err();
        assert!(stale.to_string().contains("960s behind"), "{stale}");
        let future = check_timestamp(Some(&ts(1_800_000_000 + 3600)), now, "envelope").unwrap_err();
        assert!(future.to_string().contains("ahead of"), "{future}");
        assert!(check_timestamp(None, now, "envelope").is_err());
        assert!(check_timestamp(Some(&ts(-5)), now, "envelope").is_err());
    }
}
