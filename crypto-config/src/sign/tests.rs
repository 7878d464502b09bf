use super::*;
use p256::ecdsa::signature::Verifier;

const MSG: &[u8] = b"synthetic proposal bytes for Synthetic Patient 0001";

#[test]
fn every_signature_is_low_s_and_verifies() {
    let key = SigningKey::generate().unwrap();
    for i in 0..200u32 {
        let msg = [MSG, &i.to_be_bytes()].concat();
        let sig = key.sign(&msg);
        assert_eq!(is_low_s(&sig), Some(true), "signature {i} is high-S");
        assert_eq!(verify(key.public_key(), &msg, &sig), Ok(()));
    }
}

#[test]
fn each_rejection_has_its_own_variant() {
    let key = SigningKey::generate().unwrap();
    let sig = key.sign(MSG);
    assert_eq!(
        verify(key.public_key(), b"tampered", &sig),
        Err(SignatureError::Mismatch)
    );
    let high = malleate(&sig).unwrap();
    assert_eq!(is_low_s(&high), Some(false));
    assert_eq!(verify(key.public_key(), MSG, &high), Err(SignatureError::HighS));
    assert!(matches!(
        verify(key.public_key(), MSG, &sig[..sig.len() - 1]),
        Err(SignatureError::MalformedDer(_))
    ));
    assert_eq!(
        verify(&key.public_key()[1..], MSG, &sig),
        Err(SignatureError::InvalidPublicKey { len: 64 })
    );
    let other = SigningKey::generate().unwrap();
    assert_eq!(
        verify(other.public_key(), MSG, &sig),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn interoperates_with_rustcrypto_p256_in_both_directions() {
    let key = SigningKey::generate().unwrap();
    let sig = key.sign(MSG);
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.public_key()).unwrap();
    let parsed = p256::ecdsa::Signature::from_der(&sig).unwrap();
    vk.verify(MSG, &parsed).unwrap();
    assert_eq!(parsed.normalize_s(), parsed, "p256 agrees the signature is low-S");

    // A high-S signature normalized by our code equals p256's normalization.
    let high = malleate(&sig).unwrap();
    let p256_high = p256::ecdsa::Signature::from_der(&high).unwrap();
    vk.verify(MSG, &p256_high).unwrap();
    let ours = malleate(&high).unwrap();
    assert_eq!(ours, p256_high.normalize_s().to_der().as_bytes());
    assert_eq!(ours, sig);
}

#[test]
fn pkcs8_pem_round_trip_keeps_the_key() {
    let key = SigningKey::generate().unwrap();
    let pem_text = key.to_pkcs8_pem();
    assert!(pem_text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let back = SigningKey::from_pem(&pem_text).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    verify(key.public_key(), MSG, &back.sign(MSG)).unwrap();
}

#[test]
fn loads_keys_without_embedded_public_key_and_sec1_keys() {
    use p256::pkcs8::EncodePrivateKey;
    let key = SigningKey::generate().unwrap();
    let secret = {
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_der(key.to_pkcs8_der()).unwrap()
    };
    let sec1 = secret.to_sec1_der().unwrap();
    let sec1_pem = pem::encode("EC PRIVATE KEY", &sec1);
    assert_eq!(
        SigningKey::from_pem(&sec1_pem).unwrap().public_key(),
        key.public_key()
    );
    let der = secret.to_pkcs8_der().unwrap();
    assert_eq!(
        SigningKey::from_pkcs8_der(der.as_bytes()).unwrap().public_key(),
        key.public_key()
    );
}

#[test]
fn rejects_non_keys() {
    assert!(matches!(SigningKey::from_pem("hello"), Err(KeyError::NoKey(_))));
    let not_a_key = pem::encode("PRIVATE KEY", b"\x30\x03\x02\x01\x00");
    assert!(matches!(
        SigningKey::from_pem(&not_a_key),
        Err(KeyError::Invalid { .. })
    ));
}

#[test]
fn save_and_load_use_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("priv_sk");
    let key = SigningKey::generate().unwrap();
    key.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(SigningKey::load(&path).unwrap().public_key(), key.public_key());
}

#[test]
fn sha256_matches_known_vector() {
    assert_eq!(
        hex::encode(sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_remembered_signature_still_binds_key_message_and_form() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let sig = key.sign(MSG);
    // Made by this process: remembered, and it verifies.
    assert!(super::verified::known(key.public_key(), MSG, &sig));
    assert_eq!(verify(key.public_key(), MSG, &sig), Ok(()));
    // The memory never vouches for other bytes, another key, or the signature's high-S twin.
    assert!(!super::verified::known(key.public_key(), b"tampered", &sig));
    assert_eq!(
        verify(key.public_key(), b"tampered", &sig),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(other.public_key(), MSG, &sig),
        Err(SignatureError::Mismatch)
    );
    let high = malleate(&sig).unwrap();
    assert_eq!(verify(key.public_key(), MSG, &high), Err(SignatureError::HighS));
}

#[test]
fn only_verifications_marked_for_reuse_are_remembered() {
    // Made with ring directly, not through SigningKey, so nothing remembered it at signing.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let msg = b"signed by another process".to_vec();
    let sig = loop {
        let s = pair.sign(&rng, &msg).unwrap().as_ref().to_vec();
        if is_low_s(&s) == Some(true) {
            break s;
        }
    };
    assert_eq!(verify(&public, &msg, &sig), Ok(()));
    assert!(
        !super::verified::known(&public, &msg, &sig),
        "a plain check remembers nothing"
    );
    assert_eq!(
        verify_and_remember(&public, b"other", &sig),
        Err(SignatureError::Mismatch)
    );
    assert!(
        !super::verified::known(&public, b"other", &sig),
        "a failed check is not remembered"
    );
    assert_eq!(verify_and_remember(&public, &msg, &sig), Ok(()));
    assert!(super::verified::known(&public, &msg, &sig));
}

#[test]
fn the_memory_keeps_two_generations() {
    let mut g = super::verified::Generations::default();
    let k = |i: u32| {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_be_bytes());
        b
    };
    for i in 0..4 {
        g.insert(k(i), [0; 32], 4);
    }
    g.insert(k(4), [0; 32], 4); // the first generation is now the previous one
    assert!(g.knows(&k(0)) && g.knows(&k(4)));
    for i in 5..9 {
        g.insert(k(i), [0; 32], 4);
    }
    assert!(!g.knows(&k(0)), "dropped with its generation");
    assert!(g.knows(&k(4)) && g.knows(&k(8)));
}
