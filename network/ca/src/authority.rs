//! The CA itself: registry, issuer, request verifier and audit log behind one type, [`Ca`], with
//! enroll and re-enroll here and the registrar operations (register, revoke, gencrl, list) in `ops`.
//!
//! This is where a registered member becomes a certificate that peers accept in endorse → order →
//! validate: the NodeOU of its type, `CN` = its enrollment id, and the ABAC attributes its chaincode
//! checks. Operations are synchronous (the gRPC layer runs them on blocking threads); every change to
//! the registry is made on a copy, written to disk, and only then becomes the CA's state, so a refused
//! or failed operation changes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carechain_crypto::issue::{CertUsage, IssueError, IssuedCert};
use carechain_crypto::{LeafRequest, Validity};
use carechain_proto::carechain::ca::{
    AttributeRequest, CaInfo, EnrollRequest, EnrollResponse, ReenrollRequest, SignedCaRequest,
};
use carechain_proto::msp::FabricMspConfig;
use parking_lot::Mutex;
use time::{Duration, OffsetDateTime};

use crate::audit::AuditLog;
use crate::auth::{AuthError, Verified, Verifier};
use crate::error::CaError;
use crate::material::{CaMaterial, msp_config, self_check};
use crate::model::{Profile, validate_enrollment_id};
use crate::registry::{CertRecord, IdentityRecord, IdentityState, Registry, RegistryStore, normalize_serial};
use crate::secret;

/// How the CA issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The organization's MSP id.
    pub msp_id: String,
    /// CA-wide maximum enrollments per identity: -1 unlimited, 0 enrollment disabled.
    pub max_enrollments: i32,
    /// Lifetime of issued certificates (capped at the CA chain's own expiry).
    pub validity: Duration,
    /// `nextUpdate - thisUpdate` of generated CRLs.
    pub crl_validity: Duration,
    /// PBKDF2 iterations for new secrets.
    pub secret_iterations: u32,
}

impl Settings {
    /// One-year certificates, unlimited enrollments, 24-hour CRLs (fabric-ca's defaults).
    pub fn new(msp_id: impl Into<String>) -> Self {
        Self {
            msp_id: msp_id.into(),
            max_enrollments: -1,
            validity: Duration::days(365),
            crl_validity: Duration::hours(24),
            secret_iterations: secret::DEFAULT_ITERATIONS,
        }
    }
}

/// A running CA's state.
#[derive(Debug)]
pub struct Ca {
    pub(crate) settings: Settings,
    pub(crate) material: CaMaterial,
    pub(crate) msp_config: FabricMspConfig,
    pub(crate) verifier: Verifier,
    pub(crate) store: RegistryStore,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) audit: AuditLog,
    pub(crate) home: PathBuf,
}

/// The caller name audited for requests that failed authentication.
pub(crate) const UNAUTHENTICATED: &str = "(unauthenticated)";

pub(crate) fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub(crate) fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

impl Ca {
    /// Opens the CA: checks that what `material` issues validates against the org MSP (`org_msp`,
    /// completed with the CA chain), and loads `<home>/registry.json`.
    pub fn open(
        settings: Settings,
        material: CaMaterial,
        org_msp: Option<FabricMspConfig>,
        home: &Path,
        audit: AuditLog,
    ) -> Result<Ca, CaError> {
        let msp_config = msp_config(org_msp, &settings.msp_id, &material);
        let msp = self_check(&material, &msp_config)?;
        let store = RegistryStore::new(home.join("registry.json"));
        let registry = store.load()?;
        Ok(Ca {
            settings,
            material,
            msp_config,
            verifier: Verifier::new(msp),
            store,
            registry: Mutex::new(registry),
            audit,
            home: home.to_path_buf(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The issuing CA and chain.
    pub fn material(&self) -> &CaMaterial {
        &self.material
    }

    /// A copy of the registry.
    pub fn registry(&self) -> Registry {
        self.registry.lock().clone()
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The CA's chain and the MSP enrolled identities hold.
    pub fn info(&self) -> CaInfo {
        CaInfo {
            ca_name: self.material.issuer.name().trim_start_matches("CN=").to_string(),
            msp_id: self.settings.msp_id.clone(),
            ca_chain: self.material.chain.iter().map(|c| c.clone().into()).collect(),
            msp_config: Some(self.msp_config.clone()),
            max_enrollments: self.settings.max_enrollments,
            ca_not_after: Some(timestamp(unix(self.material.not_after))),
        }
    }

    /// Applies `f` to a copy of the registry, persists the copy, then makes it current. If `f` or the
    /// write fails, the registry is unchanged.
    pub(crate) fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Registry) -> Result<T, CaError>,
    ) -> Result<T, CaError> {
        let mut guard = self.registry.lock();
        let mut next = guard.clone();
        let out = f(&mut next)?;
        self.store.save(&next)?;
        *guard = next;
        Ok(out)
    }

    /// Authenticates a signed request: signature, certificate, freshness (see [`Verifier`]), then the
    /// registry: the signer is a registered, active identity and the certificate is one this CA issued
    /// to it and did not revoke.
    pub(crate) fn caller(
        &self,
        signed: &SignedCaRequest,
        now: OffsetDateTime,
    ) -> Result<(Verified, IdentityRecord), CaError> {
        let v = self.verifier.verify(signed, now)?;
        let reg = self.registry.lock();
        let not_issued = |reason: &str| AuthError::NotIssued {
            id: v.enrollment_id.clone(),
            serial: v.serial.clone(),
            reason: reason.into(),
        };
        let Some(rec) = reg.identities.get(&v.enrollment_id) else {
            return Err(not_issued("no identity of that enrollment id is registered with this CA").into());
        };
        if rec.state == IdentityState::Revoked {
            return Err(CaError::IdentityRevoked(rec.id.clone()));
        }
        let serial = normalize_serial(&v.serial);
        match reg.certificate(&serial) {
            Some(c) if c.enrollment_id != rec.id => {
                return Err(not_issued("this CA issued that certificate to another identity").into());
            }
            Some(c) if c.revoked.is_some() => {
                return Err(not_issued("the certificate is revoked").into());
            }
            Some(_) => {}
            None => return Err(not_issued("this CA did not issue that certificate").into()),
        }
        Ok((v, rec.clone()))
    }

    /// Records an operation's outcome in the audit log and passes it through.
    pub(crate) fn audited<T>(
        &self,
        op: &str,
        caller: &str,
        target: &str,
        result: Result<(T, String), CaError>,
    ) -> Result<T, CaError> {
        match result {
            Ok((value, detail)) => {
                self.audit.record(op, caller, target, Ok(detail));
                Ok(value)
            }
            Err(e) => {
                self.audit.record(op, caller, target, Err(e.to_string()));
                Err(e)
            }
        }
    }

    /// Enroll: checks the secret and the enrollment count, then certifies the CSR's key.
    pub fn enroll(&self, req: &EnrollRequest, now: OffsetDateTime) -> Result<EnrollResponse, CaError> {
        let id = req.enrollment_id.as_str();
        let result = self.enroll_inner(req, now);
        self.audited("enroll", id, id, result)
    }

    fn enroll_inner(
        &self,
        req: &EnrollRequest,
        now: OffsetDateTime,
    ) -> Result<(EnrollResponse, String), CaError> {
        let id = req.enrollment_id.clone();
        let bad = || CaError::BadCredentials { id: id.clone() };
        if self.settings.max_enrollments == 0 {
            return Err(CaError::EnrollmentDisabled);
        }
        let found = if validate_enrollment_id(&id).is_ok() {
            self.registry.lock().identities.get(&id).cloned()
        } else {
            None
        };
        let Some(rec) = found else {
            secret::dummy_check(&req.secret, self.settings.secret_iterations);
            return Err(bad());
        };
        if !rec.secret.matches(&req.secret) {
            return Err(bad());
        }
        let limit = |rec: &IdentityRecord| -> Result<(), CaError> {
            if rec.state == IdentityState::Revoked {
                return Err(CaError::IdentityRevoked(rec.id.clone()));
            }
            if rec.max_enrollments == 0 {
                return Err(CaError::EnrollmentDisabled);
            }
            if !rec.may_enroll_again() {
                return Err(CaError::MaxEnrollments {
                    id: rec.id.clone(),
                    enrollments: rec.enrollments,
                    max: rec.max_enrollments,
                });
            }
            Ok(())
        };
        limit(&rec)?;
        let (cert, record, capped) =
            self.issue_for(&rec, &req.csr_pem, &req.profile, &req.attr_reqs, &req.hosts, now)?;
        let count = self.mutate(|reg| {
            // Re-checked under the lock: two enrollments racing on the last allowance get one cert.
            let live = reg
                .identities
                .get_mut(&id)
                .ok_or_else(|| CaError::UnknownIdentity(id.clone()))?;
            limit(live)?;
            live.enrollments += 1;
            let count = live.enrollments;
            reg.certificates.push(record.clone());
            Ok(count)
        })?;
        let detail = format!(
            "{} certificate serial {} (enrollment {count} of {}){capped}",
            record.profile.as_str(),
            record.serial,
            max_text(rec.max_enrollments)
        );
        Ok((self.response(&cert, &record), detail))
    }

    /// Re-enroll: a new certificate (same or new key) for the signer; not counted against its
    /// maximum enrollments, as in fabric-ca.
    pub fn reenroll(&self, signed: &SignedCaRequest, now: OffsetDateTime) -> Result<EnrollResponse, CaError> {
        let (who, result) = match self.caller(signed, now) {
            Ok((v, rec)) => (v.enrollment_id.clone(), self.reenroll_inner(&v, &rec, now)),
            Err(e) => (UNAUTHENTICATED.to_string(), Err(e)),
        };
        self.audited("reenroll", &who, &who, result)
    }

    fn reenroll_inner(
        &self,
        v: &Verified,
        rec: &IdentityRecord,
        now: OffsetDateTime,
    ) -> Result<(EnrollResponse, String), CaError> {
        use carechain_proto::carechain::ca::ca_request::Body;
        let Body::Reenroll(req) = &v.body else {
            return Err(CaError::Invalid("expected a ReenrollRequest".into()));
        };
        let ReenrollRequest {
            csr_pem,
            profile,
            attr_reqs,
            hosts,
        } = req;
        let (cert, record, capped) = self.issue_for(rec, csr_pem, profile, attr_reqs, hosts, now)?;
        self.mutate(|reg| {
            reg.certificates.push(record.clone());
            Ok(())
        })?;
        let detail = format!(
            "{} certificate serial {} replacing serial {}{capped}",
            record.profile.as_str(),
            record.serial,
            v.serial
        );
        Ok((self.response(&cert, &record), detail))
    }

    fn response(&self, cert: &IssuedCert, record: &CertRecord) -> EnrollResponse {
        EnrollResponse {
            cert_pem: cert.pem.clone().into(),
            ca: Some(self.info()),
            serial: record.serial.clone(),
            not_after: Some(timestamp(record.not_after)),
        }
    }

    /// Issues a certificate for `rec` from a CSR; returns it, its registry record, and a note when the
    /// lifetime was capped at the CA chain's expiry.
    fn issue_for(
        &self,
        rec: &IdentityRecord,
        csr_pem: &str,
        profile: &str,
        attr_reqs: &[AttributeRequest],
        hosts: &[String],
        now: OffsetDateTime,
    ) -> Result<(IssuedCert, CertRecord, String), CaError> {
        let profile = Profile::parse(profile).map_err(CaError::Invalid)?;
        crate::csr::check(csr_pem, &rec.id).map_err(CaError::BadCsr)?;
        let wanted = now + self.settings.validity;
        let not_after = wanted.min(self.material.not_after);
        if not_after <= now {
            return Err(CaError::Setup(format!(
                "the CA chain of {} expired at {}",
                self.material.issuer.name(),
                self.material.not_after
            )));
        }
        let capped = if not_after < wanted {
            tracing::warn!(ca = %self.material.issuer.name(), not_after = %not_after, "certificate lifetime capped at the CA chain's expiry: renew the CA");
            format!(", lifetime capped at the CA chain's expiry {not_after}")
        } else {
            String::new()
        };
        let subject = self.material.subject.leaf(&rec.id, rec.id_type.node_ou());
        let (usage, sans, attributes) = match profile {
            Profile::Signing => (CertUsage::Signing, Vec::new(), cert_attributes(rec, attr_reqs)?),
            Profile::Tls if hosts.is_empty() => {
                return Err(CaError::Invalid(
                    "the tls profile needs at least one host (SAN)".into(),
                ));
            }
            Profile::Tls => (CertUsage::Tls, hosts.to_vec(), BTreeMap::new()),
        };
        let req = LeafRequest {
            subject,
            usage,
            sans,
            attributes,
            validity: Validity::between(now - Duration::minutes(5), not_after),
        };
        let cert = self
            .material
            .issuer
            .issue_for_csr(csr_pem, &req)
            .map_err(|e| match e {
                IssueError::BadCsr(r) => CaError::BadCsr(r),
                IssueError::BadSan(s) => {
                    CaError::Invalid(format!("host {s:?} is not a DNS name or IP address"))
                }
                other => CaError::Issue(other),
            })?;
        let record = CertRecord {
            serial: normalize_serial(&hex::encode(&cert.serial)),
            enrollment_id: rec.id.clone(),
            profile,
            not_before: unix(req.validity.not_before),
            not_after: unix(not_after),
            issued_at: unix(now),
            pem: cert.pem.clone(),
            revoked: None,
        };
        Ok((cert, record, capped))
    }

    /// Where generated CRLs are also written.
    pub fn crl_path(&self) -> PathBuf {
        self.home.join("crl.pem")
    }
}

/// The attributes an enrollment certificate carries: every `ecert` attribute, or exactly the ones
/// requested (a missing non-optional one refuses the enrollment).
pub fn cert_attributes(
    rec: &IdentityRecord,
    reqs: &[AttributeRequest],
) -> Result<BTreeMap<String, String>, CaError> {
    if reqs.is_empty() {
        return Ok(rec
            .attributes
            .iter()
            .filter(|a| a.ecert)
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect());
    }
    let mut out = BTreeMap::new();
    for r in reqs {
        match rec.attribute(&r.name) {
            Some(v) => {
                out.insert(r.name.clone(), v.to_string());
            }
            None if r.optional => {}
            None => {
                return Err(CaError::MissingAttribute {
                    id: rec.id.clone(),
                    name: r.name.clone(),
                });
            }
        }
    }
    Ok(out)
}

pub(crate) fn max_text(max: i32) -> String {
    if max < 0 {
        "unlimited".into()
    } else {
        max.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "authority_tests.rs"]
mod tests;
