use std::path::Path;

use carechain_channel::configtx::ConfigTx;
use carechain_channel::genesis::build_config;
use carechain_channel::{edit, update};
use carechain_crypto::issue::{CertificateAuthority, Revocation, Validity};
use carechain_proto::common::{ConfigUpdate, Header};
use carechain_proto::etcdraft;

use super::*;

/// A synthetic consortium: orderer org (orderer0 consenter, orderer1 and orderer2 not yet), hospital
/// A and insurer I in the channel, outsider X not.
struct Fx {
    dir: tempfile::TempDir,
    config: ChannelConfig,
}

const CRYPTO: &str = "OrdererOrgs:\n  - Name: Orderer\n    Domain: o.test\n    Specs:\n      - Hostname: orderer0\n      - Hostname: orderer1\n      - Hostname: orderer2\nPeerOrgs:\n  - Name: HospitalA\n    Domain: a.test\n    Template: {Count: 1}\n    Users: {Count: 2}\n  - Name: Insurer\n    Domain: i.test\n    Template: {Count: 1}\n  - Name: Outsider\n    Domain: x.test\n    Template: {Count: 1}\n";

fn tls(n: usize) -> String {
    format!("crypto/ordererOrganizations/o.test/orderers/orderer{n}.o.test/tls/server.crt")
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("crypto.yaml"), CRYPTO).unwrap();
    carechain_crypto::cryptogen::generate(&p.join("crypto.yaml"), &p.join("crypto"), false).unwrap();
    let org = |n: &str, d: &str| {
        format!("  - Name: {n}\n    ID: {n}MSP\n    MSPDir: crypto/peerOrganizations/{d}/msp\n")
    };
    let mut y = String::from(
        "Organizations:\n  - Name: Orderer\n    ID: OrdererMSP\n    MSPDir: crypto/ordererOrganizations/o.test/msp\n",
    );
    y += &org("HospitalA", "a.test");
    y += &org("Insurer", "i.test");
    y += &format!(
        "Profiles:\n  Care:\n    Orderer:\n      EtcdRaft:\n        Consenters:\n          - {{Host: o0, Port: 7052, ClientTLSCert: {c}, ServerTLSCert: {c}}}\n      Organizations: [Orderer]\n    Application:\n      Organizations: [HospitalA, Insurer]\n",
        c = tls(0)
    );
    std::fs::write(p.join("configtx.yaml"), y).unwrap();
    let tx = ConfigTx::load(&p.join("configtx.yaml")).unwrap();
    let config = ChannelConfig::from_config("care", &build_config(&tx, "Care", "care").unwrap()).unwrap();
    Fx { dir, config }
}

impl Fx {
    fn user(&self, domain: &str, msp: &str, name: &str) -> SigningIdentity {
        let path = self.dir.path().join(format!(
            "crypto/peerOrganizations/{domain}/users/{name}@{domain}/msp"
        ));
        SigningIdentity::load(&path, msp).unwrap()
    }

    fn orderer(&self) -> SigningIdentity {
        let path = self
            .dir
            .path()
            .join("crypto/ordererOrganizations/o.test/orderers/orderer0.o.test/msp");
        SigningIdentity::load(&path, "OrdererMSP").unwrap()
    }

    fn consenter(&self, n: usize) -> etcdraft::Consenter {
        let cert = std::fs::read(self.dir.path().join(tls(n))).unwrap();
        etcdraft::Consenter {
            host: format!("o{n}"),
            port: 7052,
            client_tls_cert: cert.clone().into(),
            server_tls_cert: cert.into(),
        }
    }

    /// `desired` as an update envelope signed by `admins` and submitted by `submitter`.
    fn update(
        &self,
        desired: &Config,
        admins: &[&SigningIdentity],
        submitter: &SigningIdentity,
    ) -> SignedEnvelope {
        let u: ConfigUpdate = update::compute_update("care", &self.config.config, desired).unwrap();
        let mut cue = ConfigUpdateEnvelope {
            config_update: u.encode_to_vec().into(),
            signatures: vec![],
        };
        for a in admins {
            update::sign(&mut cue, a);
        }
        envelope(submitter, HeaderType::ConfigUpdate, cue.encode_to_vec().into())
    }
}

fn envelope(signer: &SigningIdentity, t: HeaderType, data: Bytes) -> SignedEnvelope {
    let payload = Payload {
        header: Some(Header {
            channel_header: ChannelHeader {
                r#type: t as i32,
                channel_id: "care".into(),
                timestamp: Some(carechain_channel::now_timestamp()),
                ..Default::default()
            }
            .encode_to_vec()
            .into(),
            signature_header: SignatureHeader {
                creator: Bytes::copy_from_slice(signer.serialize()),
                nonce: Bytes::from_static(b"nonce"),
            }
            .encode_to_vec()
            .into(),
        }),
        data,
    }
    .encode_to_vec();
    let env = Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    };
    SignedEnvelope::parse(&env).unwrap()
}

fn crl_revoking(dir: &Path, domain: &str, victim: &SigningIdentity, config: &ChannelConfig) -> Vec<u8> {
    let ca_dir = dir.join(format!("crypto/peerOrganizations/{domain}/ca"));
    let ca = CertificateAuthority::load(
        &ca_dir.join(format!("ca.{domain}-cert.pem")),
        &ca_dir.join("priv_sk"),
    )
    .unwrap();
    let serial = config
        .msps
        .deserialize_identity(victim.serialize())
        .unwrap()
        .serial_hex();
    let revoked = Revocation {
        serial: hex::decode(serial).unwrap(),
        revoked_at: OffsetDateTime::now_utc() - time::Duration::minutes(1),
    };
    ca.issue_crl(&[revoked], 1, Validity::years_from_now(1))
        .unwrap()
        .into_bytes()
}

#[test]
fn a_config_update_becomes_a_config_transaction_only_with_its_mod_policy_met() {
    let f = fx();
    let (a, i) = (
        f.user("a.test", "HospitalAMSP", "Admin"),
        f.user("i.test", "InsurerMSP", "Admin"),
    );
    let desired = edit::set_batch(&f.config.config, Some(7), None).unwrap();
    let one = f.update(&desired, &[&a], &a);
    let err = config_update(&f.config, &one, &f.orderer(), SystemTime::now()).unwrap_err();
    assert!(matches!(&err, OrdererError::Forbidden(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/Channel/Orderer/Admins") || msg.contains("Admins"),
        "{msg}"
    );
    assert!(msg.contains("HospitalAMSP"), "names who signed: {msg}");

    // The orderer org's admins govern the batch size.
    let orderer_admin = SigningIdentity::load(
        &f.dir
            .path()
            .join("crypto/ordererOrganizations/o.test/users/Admin@o.test/msp"),
        "OrdererMSP",
    )
    .unwrap();
    let ok = f.update(&desired, &[&orderer_admin, &a, &i], &a);
    let raw = config_update(&f.config, &ok, &f.orderer(), SystemTime::now()).unwrap();
    let env = Envelope::decode(raw).unwrap();
    let signed = SignedEnvelope::parse(&env).unwrap();
    assert_eq!(signed.header_type().unwrap(), HeaderType::Config);
    assert!(!signed.channel_header.tx_id.is_empty());
    let orderer = f
        .config
        .msps
        .verify_signature(&signed.creator, &signed.payload, &signed.signature)
        .unwrap();
    assert_eq!(orderer.msp_id(), "OrdererMSP");
    let ce = ConfigEnvelope::decode(signed.data).unwrap();
    let next = ChannelConfig::from_config("care", ce.config.as_ref().unwrap()).unwrap();
    assert_eq!((next.sequence, next.orderer.batch_size.max_message_count), (1, 7));
    let last = ce.last_update.unwrap();
    assert_eq!((last.payload, last.signature), (ok.payload, ok.signature));
}

#[test]
fn only_channel_writers_may_submit_updates_and_garbage_is_a_bad_request() {
    let f = fx();
    let outsider_dir = f
        .dir
        .path()
        .join("crypto/peerOrganizations/x.test/users/Admin@x.test/msp");
    let outsider = SigningIdentity::load(&outsider_dir, "OutsiderMSP").unwrap();
    let desired = edit::set_batch(&f.config.config, Some(7), None).unwrap();
    let env = f.update(&desired, &[&outsider], &outsider);
    let err = config_update(&f.config, &env, &f.orderer(), SystemTime::now()).unwrap_err();
    assert!(matches!(err, OrdererError::Forbidden(_)), "{err:?}");
    let a = f.user("a.test", "HospitalAMSP", "Admin");
    let garbage = envelope(&a, HeaderType::ConfigUpdate, Bytes::from_static(&[0xff, 0x01]));
    let err = config_update(&f.config, &garbage, &f.orderer(), SystemTime::now()).unwrap_err();
    assert!(matches!(err, OrdererError::BadRequest(_)), "{err:?}");
}

#[test]
fn a_creator_revoked_by_a_later_config_is_refused_on_revalidation() {
    let f = fx();
    let (a, user) = (
        f.user("a.test", "HospitalAMSP", "Admin"),
        f.user("a.test", "HospitalAMSP", "User1"),
    );
    let tx = envelope(&user, HeaderType::EndorserTransaction, Bytes::from_static(b"tx"));
    check_normal(&f.config, &tx).unwrap();
    let submitted = Submitted::normal(
        Envelope {
            payload: tx.payload.clone(),
            signature: tx.signature.clone(),
        }
        .encode_to_vec()
        .into(),
        0,
    );
    let crl = crl_revoking(f.dir.path(), "a.test", &user, &f.config);
    let mut revoked = edit::set_crls(&f.config.config, "HospitalA", vec![crl]).unwrap();
    revoked.sequence = 1;
    let later = ChannelConfig::from_config("care", &revoked).unwrap();
    let err = revalidate(&later, submitted.clone(), &f.orderer(), SystemTime::now()).unwrap_err();
    assert!(
        matches!(&err, OrdererError::Forbidden(m) if m.contains("revoked")),
        "{err:?}"
    );
    // Someone else's message passes and is now tagged with the newer sequence.
    let admin_tx = envelope(&a, HeaderType::EndorserTransaction, Bytes::from_static(b"tx"));
    let ok = Submitted::normal(
        Envelope {
            payload: admin_tx.payload,
            signature: admin_tx.signature,
        }
        .encode_to_vec()
        .into(),
        0,
    );
    assert_eq!(
        revalidate(&later, ok, &f.orderer(), SystemTime::now())
            .unwrap()
            .config_seq,
        1
    );
}

#[test]
fn a_config_transaction_is_rederived_or_dropped_when_the_config_moved_on() {
    let f = fx();
    let (a, i) = (
        f.user("a.test", "HospitalAMSP", "Admin"),
        f.user("i.test", "InsurerMSP", "Admin"),
    );
    let anchors =
        edit::set_anchor_peers(&f.config.config, "Insurer", &[("peer0.i.test".into(), 7051)]).unwrap();
    let env = f.update(&anchors, &[&i], &i);
    let raw = config_update(&f.config, &env, &f.orderer(), SystemTime::now()).unwrap();
    let pending = Submitted {
        envelope: raw,
        config_seq: 0,
        is_config: true,
    };
    // Meanwhile HospitalA's anchors changed (sequence 1): Insurer's update is still valid, re-derived.
    let mut other =
        edit::set_anchor_peers(&f.config.config, "HospitalA", &[("peer0.a.test".into(), 7051)]).unwrap();
    let u = update::compute_update("care", &f.config.config, &other).unwrap();
    let mut cue = ConfigUpdateEnvelope {
        config_update: u.encode_to_vec().into(),
        signatures: vec![],
    };
    update::sign(&mut cue, &a);
    other = update::authorize(&f.config, &cue, OffsetDateTime::now_utc()).unwrap();
    let moved = ChannelConfig::from_config("care", &other).unwrap();
    let again = revalidate(&moved, pending.clone(), &f.orderer(), SystemTime::now()).unwrap();
    assert_eq!((again.config_seq, again.is_config), (1, true));
    let ce = ConfigEnvelope::decode(
        Payload::decode(Envelope::decode(again.envelope).unwrap().payload)
            .unwrap()
            .data,
    )
    .unwrap();
    let result = ChannelConfig::from_config("care", ce.config.as_ref().unwrap()).unwrap();
    assert_eq!(result.sequence, 2);
    assert_eq!(result.application_orgs["HospitalA"].anchor_peers.len(), 1);
    assert_eq!(result.application_orgs["Insurer"].anchor_peers.len(), 1);
    // The same element changed meanwhile: the update no longer changes anything (its version is the
    // current one) and is dropped with the reason.
    let mut same =
        edit::set_anchor_peers(&f.config.config, "Insurer", &[("peer1.i.test".into(), 7051)]).unwrap();
    let u = update::compute_update("care", &f.config.config, &same).unwrap();
    let mut cue = ConfigUpdateEnvelope {
        config_update: u.encode_to_vec().into(),
        signatures: vec![],
    };
    update::sign(&mut cue, &i);
    same = update::authorize(&f.config, &cue, OffsetDateTime::now_utc()).unwrap();
    let stale = ChannelConfig::from_config("care", &same).unwrap();
    let err = revalidate(&stale, pending, &f.orderer(), SystemTime::now()).unwrap_err();
    assert!(
        matches!(&err, OrdererError::BadRequest(m) if m.contains("changes nothing")),
        "{err:?}"
    );
}

#[test]
fn consenters_change_one_at_a_time() {
    let f = fx();
    let with = |config: &Config| {
        let mut c = config.clone();
        c.sequence += 1;
        ChannelConfig::from_config("care", &c).unwrap()
    };
    let one = edit::change_consenter(&f.config.config, f.consenter(1), true).unwrap();
    check_orderer_change(&f.config, &with(&one)).unwrap();
    let two = edit::change_consenter(&one, f.consenter(2), true).unwrap();
    let err = check_orderer_change(&f.config, &with(&two)).unwrap_err();
    assert!(err.to_string().contains("more than one consenter"), "{err}");
    assert!(
        err.to_string().contains("o1:7052") && err.to_string().contains("o2:7052"),
        "{err}"
    );
    let one_config = with(&one);
    let removed = edit::change_consenter(&one, f.consenter(0), false).unwrap();
    check_orderer_change(&one_config, &with(&removed)).unwrap();
    let batch = edit::set_batch(&f.config.config, Some(3), None).unwrap();
    check_orderer_change(&f.config, &with(&batch)).unwrap();
}
