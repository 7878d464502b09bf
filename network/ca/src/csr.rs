//! Certificate signing requests: the client builds one from the key it generated (so the private key
//! never leaves the client), the CA checks it before certifying the key.
//!
//! This is where a member's signing key for endorse → order → validate enters the system. The CA takes
//! only the public key from the CSR; subject, NodeOU and attributes come from the registry.

use carechain_crypto::SigningKey;
use rcgen::{CertificateParams, DistinguishedName, DnType};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::FromDer;

/// Largest CSR accepted, in bytes of PEM (a P-256 CSR is about 400).
pub const MAX_CSR_LEN: usize = 16 * 1024;

/// Builds a PEM CSR for `key` with subject `CN=<common_name>`.
pub fn build(key: &SigningKey, common_name: &str) -> Result<String, String> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(key)
        .map_err(|e| format!("cannot build a CSR for {common_name}: {e}"))?;
    csr.pem()
        .map_err(|e| format!("cannot encode the CSR for {common_name}: {e}"))
}

/// Checks a PEM CSR sent for `enrollment_id`: one PKCS#10 block, a valid self-signature, an ECDSA
/// P-256 key, and a subject CN that is empty or the enrollment id (fabric-ca refuses a CSR for
/// someone else's name rather than silently renaming it).
pub fn check(csr_pem: &str, enrollment_id: &str) -> Result<(), String> {
    if csr_pem.len() > MAX_CSR_LEN {
        return Err(format!("CSR is {} bytes, more than {MAX_CSR_LEN}", csr_pem.len()));
    }
    let blocks = carechain_crypto::pem::decode_all(csr_pem.as_bytes()).map_err(|e| e.to_string())?;
    let der = match blocks.as_slice() {
        [b] if b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST" => &b.contents,
        [] => return Err("no PEM block labelled CERTIFICATE REQUEST".into()),
        _ => return Err("expected exactly one PEM block labelled CERTIFICATE REQUEST".into()),
    };
    let (rest, csr) =
        X509CertificationRequest::from_der(der).map_err(|e| format!("not a PKCS#10 request: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the PKCS#10 request".into());
    }
    csr.verify_signature()
        .map_err(|e| format!("the CSR's self-signature does not verify: {e}"))?;
    let spki = &csr.certification_request_info.subject_pki;
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve != Some(OID_EC_P256) {
        return Err("the CSR's key is not ECDSA P-256".into());
    }
    let subject = &csr.certification_request_info.subject;
    for cn in subject.iter_common_name() {
        let cn = cn
            .as_str()
            .map_err(|_| "the CSR's subject CN is not a string".to_string())?;
        if cn != enrollment_id {
            return Err(format!(
                "the CSR's subject CN {cn:?} is not the enrollment id {enrollment_id:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_csr_built_here_passes_the_checks() {
        let key = SigningKey::generate().unwrap();
        let pem = build(&key, "doctor1").unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        check(&pem, "doctor1").unwrap();
    }

    #[test]
    fn a_csr_for_another_name_is_refused() {
        let key = SigningKey::generate().unwrap();
        let pem = build(&key, "admin").unwrap();
        let e = check(&pem, "doctor1").unwrap_err();
        assert!(
            e.contains("\"admin\" is not the enrollment id \"doctor1\""),
            "{e}"
        );
    }

    #[test]
    fn a_tampered_csr_fails_its_self_signature() {
        let key = SigningKey::generate().unwrap();
        let pem = build(&key, "doctor1").unwrap();
        let mut der = carechain_crypto::pem::decode_all(pem.as_bytes()).unwrap()[0]
            .contents
            .clone();
        // Flip a bit inside the public key: the structure still parses, the signature no longer fits.
        let at = der.len() / 2;
        der[at] ^= 0x01;
        let bad = carechain_crypto::pem::encode("CERTIFICATE REQUEST", &der);
        assert!(check(&bad, "doctor1").is_err());
    }

    #[test]
    fn garbage_and_certificates_are_not_csrs() {
        assert!(check("hello", "x").is_err());
        let key = SigningKey::generate().unwrap();
        let two = format!("{}{}", build(&key, "x").unwrap(), build(&key, "x").unwrap());
        assert!(check(&two, "x").unwrap_err().contains("exactly one"));
        let cert = carechain_crypto::pem::encode("CERTIFICATE", b"\x30\x00");
        assert!(check(&cert, "x").is_err());
        assert!(check(&"A".repeat(MAX_CSR_LEN + 1), "x").is_err());
    }
}
