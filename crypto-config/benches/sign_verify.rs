//! Signature throughput: the per-core ceiling of endorse → order → validate.
//!
//! `sign` is what a client, endorser or orderer pays per message; `verify` the raw ECDSA check;
//! `identity_verify_cached` the committer's real per-signature cost (cache lookup of the creator,
//! validity-window check, verify); `identity_validate_uncached` what a never-seen certificate
//! costs (X.509 parse, chain signature, NodeOU classification, then verify); `verify_remembered` a
//! repeated check of a signature this process already verified or made (`sign::verified`).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use carechain_crypto::issue::{CertificateAuthority, LeafRequest, Subject, Validity};
use carechain_crypto::msp::{Msp, MspManager, SigningIdentity};
use carechain_crypto::{SigningKey, sha256, verify};
use carechain_proto::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// A 256-byte message: the size class of a proposal or envelope header.
fn message() -> Vec<u8> {
    (0..=255u8).collect()
}

fn org() -> (Msp, SigningIdentity) {
    let domain = "hospitala.carechain.bench";
    let ca =
        CertificateAuthority::new_root(&Subject::new(format!("ca.{domain}"), domain), Validity::default())
            .unwrap();
    let ou = |v: &str| {
        Some(FabricOuIdentifier {
            certificate: ca.cert_pem().to_string().into(),
            organizational_unit_identifier: v.into(),
        })
    };
    let config = FabricMspConfig {
        name: "HospitalAMSP".into(),
        root_certs: vec![ca.cert_pem().to_string().into()],
        fabric_node_ous: Some(FabricNodeOUs {
            enable: true,
            client_ou_identifier: ou("client"),
            peer_ou_identifier: ou("peer"),
            admin_ou_identifier: ou("admin"),
            orderer_ou_identifier: ou("orderer"),
        }),
        ..Default::default()
    };
    let mut req = LeafRequest::signing(Subject::new(format!("drsmith@{domain}"), domain).with_ou("client"));
    req.attributes.insert("role".into(), "doctor".into());
    let (cert, key) = ca.issue_leaf(&req).unwrap();
    let signer = SigningIdentity::new("HospitalAMSP", cert.pem.as_bytes(), key).unwrap();
    (Msp::from_config(&config).unwrap(), signer)
}

fn bench(c: &mut Criterion) {
    let msg = message();
    let key = SigningKey::generate().unwrap();
    let sig = key.sign(&msg);
    let (msp, signer) = org();
    let id_sig = signer.sign(&msg);
    let cached = MspManager::new([msp.clone()]).unwrap();
    let uncached = MspManager::with_capacity([msp], 0).unwrap();

    let mut g = c.benchmark_group("ecdsa_p256");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| b.iter(|| key.sign(black_box(&msg))));
    // The process-wide memory of verified signatures is cleared before every measured check, so each
    // one pays for the full ECDSA verification; `verify_remembered` is the cost of a repeat.
    let fresh = carechain_crypto::sign::forget_verified_signatures;
    g.bench_function("verify", |b| {
        b.iter_batched(
            fresh,
            |()| verify(key.public_key(), black_box(&msg), black_box(&sig)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    carechain_crypto::verify_and_remember(key.public_key(), &msg, &sig).unwrap();
    g.bench_function("verify_remembered", |b| {
        b.iter(|| verify(key.public_key(), black_box(&msg), black_box(&sig)).unwrap())
    });
    g.bench_function("identity_verify_cached", |b| {
        b.iter_batched(
            fresh,
            |()| {
                cached
                    .verify_signature(black_box(signer.serialize()), black_box(&msg), black_box(&id_sig))
                    .unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("identity_validate_uncached", |b| {
        b.iter_batched(
            fresh,
            |()| {
                uncached
                    .verify_signature(black_box(signer.serialize()), black_box(&msg), black_box(&id_sig))
                    .unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let block = vec![7u8; 4096];
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("4KiB", |b| b.iter(|| sha256(black_box(&block))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
