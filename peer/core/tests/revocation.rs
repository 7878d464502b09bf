//! A creator revoked by a CRL in the channel configuration, as every committing peer sees it: the
//! ordering service refuses such a creator, but a transaction that reaches a block anyway (a faulty or
//! malicious orderer, or one that checked it against an older configuration) is marked invalid by the
//! pure validation every peer runs, and changes nothing.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use carechain_channel::ChannelConfig;
use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::build_config;
use carechain_crypto::issue::Revocation;
use carechain_crypto::{CertificateAuthority, Validity};
use carechain_proto::protos::TxValidationCode as Code;
use chaincode_api::{Call, Context, Contract, ContractError};
use common::{defined, fixture};
use peer_core::block::{PvtInput, validate_block};
use peer_core::endorse::{endorse, simulate};
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::txbuild::{assemble, new_proposal, sign_envelope};
use prost::Message;
use time::OffsetDateTime;

struct Put;

impl Contract for Put {
    fn name(&self) -> &str {
        "kv"
    }
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        ctx.put_state(call.str_arg(0)?, b"v").map(|_| vec![])
    }
}

/// Org1's CA revokes `serial_hex`; returns the channel configuration rebuilt with that CRL in Org1's MSP.
fn config_with_crl(dir: &std::path::Path, serial_hex: &str) -> ChannelConfig {
    let org1 = dir.join("crypto/peerOrganizations/org1.v.local");
    let ca = CertificateAuthority::load(
        &org1.join("ca/ca.org1.v.local-cert.pem"),
        &org1.join("ca/priv_sk"),
    )
    .unwrap();
    let digits = if serial_hex.len() % 2 == 1 {
        format!("0{serial_hex}")
    } else {
        serial_hex.to_string()
    };
    let serial = (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect();
    let revoked = [Revocation {
        serial,
        revoked_at: OffsetDateTime::now_utc(),
    }];
    let crl = ca.issue_crl(&revoked, 1, Validity::default()).unwrap();
    let crls = org1.join("msp/crls");
    std::fs::create_dir_all(&crls).unwrap();
    std::fs::write(crls.join("org1.crl.pem"), crl).unwrap();
    let tx = ConfigTx::load(&dir.join("configtx.yaml")).unwrap();
    ChannelConfig::from_config("ch", &build_config(&tx, "P", "ch").unwrap()).unwrap()
}

#[test]
fn a_creator_revoked_by_the_channels_crl_is_invalid_at_validation() {
    let f = fixture();
    let view = defined();
    // Endorsed and signed while the certificate was good.
    let p = new_proposal(
        &f.user1,
        "ch",
        "kv",
        &[b"put".to_vec(), b"k".to_vec()],
        &BTreeMap::new(),
    );
    let checked = proposal::check(
        proposal::parse(&p.signed).unwrap(),
        &f.channel.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let sim = simulate(&view, &Put, &checked, &PrivateAccess::default());
    assert_eq!(sim.response.status, 200, "{}", sim.response.message);
    let responses: Vec<_> = [&f.peer1, &f.peer2]
        .iter()
        .map(|e| endorse(&checked, &sim, "1.0", e))
        .collect();
    let env = sign_envelope(assemble(&p.signed.proposal_bytes, &responses).unwrap(), &f.user1);
    let envs = vec![bytes::Bytes::from(env.encode_to_vec())];

    let before = validate_block(1, &envs, &f.channel, &view, &PvtInput::default()).unwrap();
    assert_eq!(
        before.outcomes[0].code,
        Code::Valid,
        "{}",
        before.outcomes[0].reason
    );

    let serial = f
        .channel
        .msps
        .deserialize_identity(f.user1.serialize())
        .unwrap()
        .serial_hex();
    let revoked = config_with_crl(f._dir.path(), &serial);
    let after = validate_block(1, &envs, &revoked, &view, &PvtInput::default()).unwrap();
    let outcome = &after.outcomes[0];
    assert_eq!(outcome.code, Code::BadCreatorSignature, "{}", outcome.reason);
    assert!(outcome.reason.contains("revoked"), "{}", outcome.reason);
    assert!(
        after.updates.state.is_empty() && after.updates.history.is_empty(),
        "an invalid transaction writes nothing"
    );
    // Endorsements by peers of the same org stay good: only the revoked certificate is refused.
    let other = new_proposal(
        &f.admin1,
        "ch",
        "kv",
        &[b"put".to_vec(), b"k2".to_vec()],
        &BTreeMap::new(),
    );
    let checked = proposal::check(
        proposal::parse(&other.signed).unwrap(),
        &revoked.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let sim = simulate(&view, &Put, &checked, &PrivateAccess::default());
    let responses: Vec<_> = [&f.peer1, &f.peer2]
        .iter()
        .map(|e| endorse(&checked, &sim, "1.0", e))
        .collect();
    let env = sign_envelope(
        assemble(&other.signed.proposal_bytes, &responses).unwrap(),
        &f.admin1,
    );
    let ok = validate_block(
        1,
        &[bytes::Bytes::from(env.encode_to_vec())],
        &revoked,
        &view,
        &PvtInput::default(),
    )
    .unwrap();
    assert_eq!(ok.outcomes[0].code, Code::Valid, "{}", ok.outcomes[0].reason);
}
