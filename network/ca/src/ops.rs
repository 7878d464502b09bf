//! The registrar operations of [`Ca`]: register, revoke, gencrl and list, each authenticated by a
//! signed request and bounded by the caller's delegation (see `delegation`).
//!
//! Register decides which identities can later endorse and submit in endorse → order → validate and
//! with which attributes; revoke + gencrl produce the CRL that, once a channel config update carries
//! it, makes every peer and orderer refuse the revoked certificates.

use std::collections::BTreeSet;

use carechain_crypto::Validity;
use carechain_crypto::issue::Revocation as CrlEntry;
use carechain_proto::carechain::ca::ca_request::Body;
use carechain_proto::carechain::ca::{
    Attribute as WireAttribute, CertificateInfo, GenCrlResponse, IdentityInfo, ListIdentitiesResponse,
    RegisterRequest, RegisterResponse, RevokeRequest, RevokeResponse, SignedCaRequest,
};
use time::{Duration, OffsetDateTime};

use crate::authority::{Ca, UNAUTHENTICATED, max_text, timestamp, unix};
use crate::delegation::{Registrar, bootstrap_privileges};
use crate::error::CaError;
use crate::model::{
    self, AFFILIATION, Attribute, CA_SET_ATTRIBUTES, ENROLLMENT_ID, IdentityType, RevocationReason, TYPE,
};
use crate::registry::{IdentityRecord, IdentityState, Registry, Revocation, normalize_serial};
use crate::secret::{self, SecretHash};

impl Ca {
    /// Registers the bootstrap administrator (type admin, every privilege) unless an identity of that
    /// id exists; returns whether it was added. Like fabric-ca's `-b`, it is ignored once registered.
    pub fn bootstrap(&self, id: &str, secret: &str) -> Result<bool, CaError> {
        model::validate_enrollment_id(id).map_err(CaError::Invalid)?;
        if self.registry.lock().identities.contains_key(id) {
            return Ok(false);
        }
        let rec = self.new_record(
            id,
            IdentityType::Admin,
            "",
            bootstrap_privileges(),
            -1,
            secret,
            "(bootstrap)",
        )?;
        self.mutate(|reg| {
            reg.identities.insert(id.to_string(), rec);
            Ok(())
        })?;
        self.audit.record(
            "bootstrap",
            "(ca start)",
            id,
            Ok("registered the bootstrap admin".into()),
        );
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_record(
        &self,
        id: &str,
        id_type: IdentityType,
        affiliation: &str,
        mut attributes: Vec<Attribute>,
        max_enrollments: i32,
        secret: &str,
        registered_by: &str,
    ) -> Result<IdentityRecord, CaError> {
        attributes.push(Attribute::ecert(ENROLLMENT_ID, id));
        attributes.push(Attribute::ecert(TYPE, id_type.as_str()));
        attributes.push(Attribute::ecert(AFFILIATION, affiliation));
        Ok(IdentityRecord {
            id: id.into(),
            id_type,
            affiliation: affiliation.into(),
            attributes,
            max_enrollments,
            enrollments: 0,
            state: IdentityState::Active,
            secret: SecretHash::new(secret, self.settings.secret_iterations)?,
            registered_by: registered_by.into(),
            registered_at: unix(OffsetDateTime::now_utc()),
        })
    }

    /// Register (registrars only): validates the request, checks the caller's delegation, stores the
    /// identity with a salted hash of its secret, and returns the secret.
    pub fn register(
        &self,
        signed: &SignedCaRequest,
        now: OffsetDateTime,
    ) -> Result<RegisterResponse, CaError> {
        let (caller, target, result) = match self.caller(signed, now) {
            Ok((v, rec)) => match &v.body {
                Body::Register(req) => (
                    rec.id.clone(),
                    req.enrollment_id.clone(),
                    self.register_inner(&rec, req),
                ),
                _ => (
                    rec.id.clone(),
                    String::new(),
                    Err(CaError::Invalid("expected a RegisterRequest".into())),
                ),
            },
            Err(e) => (UNAUTHENTICATED.into(), String::new(), Err(e)),
        };
        self.audited("register", &caller, &target, result)
    }

    fn register_inner(
        &self,
        registrar: &IdentityRecord,
        req: &RegisterRequest,
    ) -> Result<(RegisterResponse, String), CaError> {
        let id = req.enrollment_id.as_str();
        model::validate_enrollment_id(id).map_err(CaError::Invalid)?;
        let id_type: IdentityType = req.r#type.parse().map_err(CaError::Invalid)?;
        let affiliation = if req.affiliation.is_empty() {
            registrar.affiliation.as_str()
        } else {
            req.affiliation.as_str()
        };
        model::validate_affiliation(affiliation).map_err(CaError::Invalid)?;
        let attributes = parse_attributes(&req.attributes)?;
        let max = self.normalize_max(req.max_enrollments)?;
        Registrar::new(&registrar.id, &registrar.affiliation, &registrar.attributes).check_register(
            id_type,
            affiliation,
            &attributes,
        )?;
        let secret = if req.secret.is_empty() {
            secret::generate()?
        } else {
            req.secret.clone()
        };
        let detail = format!(
            "type {id_type}, affiliation {affiliation:?}, max enrollments {}, attributes [{}]",
            max_text(max),
            attributes
                .iter()
                .map(|a| format!("{}={}{}", a.name, a.value, if a.ecert { ":ecert" } else { "" }))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rec = self.new_record(id, id_type, affiliation, attributes, max, &secret, &registrar.id)?;
        self.mutate(|reg| {
            if reg.identities.contains_key(id) {
                return Err(CaError::AlreadyRegistered(id.into()));
            }
            reg.identities.insert(id.into(), rec);
            Ok(())
        })?;
        Ok((
            RegisterResponse {
                enrollment_id: id.into(),
                secret,
            },
            detail,
        ))
    }

    /// fabric-ca's rule: 0 means the CA's limit; -1 (unlimited) only when the CA is unlimited; a
    /// positive value at most the CA's limit.
    fn normalize_max(&self, requested: i32) -> Result<i32, CaError> {
        let ca = self.settings.max_enrollments;
        match requested {
            0 => Ok(ca),
            -1 if ca == -1 => Ok(-1),
            -1 => Err(CaError::Invalid(format!(
                "unlimited enrollments (-1) are not allowed: this CA allows at most {ca}"
            ))),
            n if n < -1 => Err(CaError::Invalid(format!(
                "max enrollments {n} is not -1, 0 or positive"
            ))),
            n if ca > 0 && n > ca => Err(CaError::Invalid(format!(
                "max enrollments {n} exceeds this CA's limit of {ca}"
            ))),
            n => Ok(n),
        }
    }

    /// Revoke (`hf.Revoker`): an identity and all its certificates, or one certificate.
    pub fn revoke(&self, signed: &SignedCaRequest, now: OffsetDateTime) -> Result<RevokeResponse, CaError> {
        let (caller, target, result) = match self.caller(signed, now) {
            Ok((v, rec)) => match &v.body {
                Body::Revoke(req) => {
                    let target = if req.serial.is_empty() {
                        req.enrollment_id.clone()
                    } else {
                        format!("serial {}", normalize_serial(&req.serial))
                    };
                    (rec.id.clone(), target, self.revoke_inner(&rec, req, now))
                }
                _ => (
                    rec.id.clone(),
                    String::new(),
                    Err(CaError::Invalid("expected a RevokeRequest".into())),
                ),
            },
            Err(e) => (UNAUTHENTICATED.into(), String::new(), Err(e)),
        };
        self.audited("revoke", &caller, &target, result)
    }

    fn revoke_inner(
        &self,
        caller: &IdentityRecord,
        req: &RevokeRequest,
        now: OffsetDateTime,
    ) -> Result<(RevokeResponse, String), CaError> {
        let reason = RevocationReason::parse(&req.reason).map_err(CaError::Invalid)?;
        let powers = Registrar::new(&caller.id, &caller.affiliation, &caller.attributes);
        if req.gen_crl {
            powers.check_gen_crl()?;
        }
        let target = self.revocation_target(req)?;
        powers.check_revoke(&target.id, target.id_type, &target.affiliation)?;
        let revocation = Revocation {
            at: unix(now),
            reason,
            by: caller.id.clone(),
        };
        let serials = self.mutate(|reg| {
            if req.serial.is_empty() {
                let rec = reg
                    .identities
                    .get_mut(&target.id)
                    .ok_or_else(|| CaError::UnknownIdentity(target.id.clone()))?;
                if rec.state == IdentityState::Revoked {
                    return Err(CaError::AlreadyRevoked(format!("identity {}", target.id)));
                }
                rec.state = IdentityState::Revoked;
                Ok(reg.revoke_certificates_of(&target.id, &revocation))
            } else {
                let serial = normalize_serial(&req.serial);
                let cert = reg
                    .certificates
                    .iter_mut()
                    .find(|c| c.serial == serial)
                    .ok_or_else(|| CaError::UnknownSerial(serial.clone()))?;
                if cert.revoked.is_some() {
                    return Err(CaError::AlreadyRevoked(serial));
                }
                cert.revoked = Some(revocation.clone());
                Ok(vec![serial])
            }
        })?;
        let crl_pem = if req.gen_crl {
            self.issue_crl(now)?.0.crl_pem
        } else {
            Default::default()
        };
        let detail = format!(
            "revoked {} certificate(s) of {} ({}): [{}]",
            serials.len(),
            target.id,
            reason.as_str(),
            serials.join(", ")
        );
        Ok((
            RevokeResponse {
                revoked_serials: serials,
                crl_pem,
            },
            detail,
        ))
    }

    fn revocation_target(&self, req: &RevokeRequest) -> Result<IdentityRecord, CaError> {
        let reg = self.registry.lock();
        let by_id = |id: &str| {
            reg.identities
                .get(id)
                .cloned()
                .ok_or_else(|| CaError::UnknownIdentity(id.into()))
        };
        match (req.enrollment_id.as_str(), req.serial.as_str()) {
            ("", "") => Err(CaError::Invalid(
                "revoke needs an enrollment id or a serial".into(),
            )),
            (id, "") => by_id(id),
            (id, serial) => {
                let cert = reg
                    .certificate(serial)
                    .ok_or_else(|| CaError::UnknownSerial(normalize_serial(serial)))?;
                if !id.is_empty() && cert.enrollment_id != id {
                    return Err(CaError::Invalid(format!(
                        "certificate {} belongs to {}, not {id}",
                        cert.serial, cert.enrollment_id
                    )));
                }
                by_id(&cert.enrollment_id)
            }
        }
    }

    /// GenCRL (`hf.GenCRL`): a CRL of every revoked, unexpired certificate, also written to
    /// `<home>/crl.pem`.
    pub fn gen_crl(&self, signed: &SignedCaRequest, now: OffsetDateTime) -> Result<GenCrlResponse, CaError> {
        let (caller, result) = match self.caller(signed, now) {
            Ok((v, rec)) => match &v.body {
                Body::GenCrl(_) => (
                    rec.id.clone(),
                    Registrar::new(&rec.id, &rec.affiliation, &rec.attributes)
                        .check_gen_crl()
                        .map_err(CaError::from)
                        .and_then(|()| self.issue_crl(now)),
                ),
                _ => (
                    rec.id.clone(),
                    Err(CaError::Invalid("expected a GenCrlRequest".into())),
                ),
            },
            Err(e) => (UNAUTHENTICATED.into(), Err(e)),
        };
        self.audited("gencrl", &caller, "", result)
    }

    fn issue_crl(&self, now: OffsetDateTime) -> Result<(GenCrlResponse, String), CaError> {
        let (pem, number, count) = self.mutate(|reg: &mut Registry| {
            reg.crl_number += 1;
            let entries: Vec<CrlEntry> = reg
                .revoked_unexpired(unix(now))
                .filter_map(|(c, r)| {
                    Some(CrlEntry {
                        serial: hex::decode(&c.serial).ok()?,
                        revoked_at: OffsetDateTime::from_unix_timestamp(r.at).ok()?,
                    })
                })
                .collect();
            let validity = Validity::between(now - Duration::minutes(5), now + self.settings.crl_validity);
            let pem = self
                .material
                .issuer
                .issue_crl(&entries, reg.crl_number, validity)?;
            Ok((pem, reg.crl_number, entries.len()))
        })?;
        let path = self.crl_path();
        let tmp = path.with_extension("pem.tmp");
        if let Err(e) = std::fs::write(&tmp, &pem).and_then(|()| std::fs::rename(&tmp, &path)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the CRL copy");
        }
        let detail = format!("CRL number {number} listing {count} revoked certificate(s)");
        Ok((
            GenCrlResponse {
                crl_pem: pem.into_bytes().into(),
                crl_number: number,
                revoked: u32::try_from(count).unwrap_or(u32::MAX),
            },
            detail,
        ))
    }

    /// List: the caller itself, plus every identity its delegation covers.
    pub fn list(
        &self,
        signed: &SignedCaRequest,
        now: OffsetDateTime,
    ) -> Result<ListIdentitiesResponse, CaError> {
        let (caller, result) = match self.caller(signed, now) {
            Ok((v, rec)) => match &v.body {
                Body::ListIdentities(req) => (rec.id.clone(), self.list_inner(&rec, &req.enrollment_id, now)),
                _ => (
                    rec.id.clone(),
                    Err(CaError::Invalid("expected a ListIdentitiesRequest".into())),
                ),
            },
            Err(e) => (UNAUTHENTICATED.into(), Err(e)),
        };
        self.audited("list", &caller, "", result)
    }

    fn list_inner(
        &self,
        caller: &IdentityRecord,
        only: &str,
        now: OffsetDateTime,
    ) -> Result<(ListIdentitiesResponse, String), CaError> {
        let powers = Registrar::new(&caller.id, &caller.affiliation, &caller.attributes);
        let reg = self.registry.lock();
        let identities: Vec<IdentityInfo> = reg
            .identities
            .values()
            .filter(|r| only.is_empty() || r.id == only)
            .filter(|r| powers.can_see(&r.id, r.id_type, &r.affiliation))
            .map(|r| identity_info(&reg, r, unix(now)))
            .collect();
        if !only.is_empty() && identities.is_empty() {
            return Err(CaError::UnknownIdentity(only.into()));
        }
        let detail = format!("{} identities", identities.len());
        Ok((ListIdentitiesResponse { identities }, detail))
    }
}

fn identity_info(reg: &Registry, r: &IdentityRecord, now: i64) -> IdentityInfo {
    IdentityInfo {
        enrollment_id: r.id.clone(),
        r#type: r.id_type.as_str().into(),
        affiliation: r.affiliation.clone(),
        attributes: r
            .attributes
            .iter()
            .map(|a| WireAttribute {
                name: a.name.clone(),
                value: a.value.clone(),
                ecert: a.ecert,
            })
            .collect(),
        max_enrollments: r.max_enrollments,
        enrollments: r.enrollments,
        state: r.state.as_str().into(),
        registered_by: r.registered_by.clone(),
        certificates: reg
            .certificates_of(&r.id)
            .map(|c| CertificateInfo {
                serial: c.serial.clone(),
                profile: c.profile.as_str().into(),
                not_before: Some(timestamp(c.not_before)),
                not_after: Some(timestamp(c.not_after)),
                status: c.status(now).into(),
                revoked_at: c.revoked.as_ref().map(|x| timestamp(x.at)),
                reason: c
                    .revoked
                    .as_ref()
                    .map(|x| x.reason.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// Validates registered attributes: names and values, no duplicates, none of the CA-set names.
pub fn parse_attributes(wire: &[WireAttribute]) -> Result<Vec<Attribute>, CaError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in wire {
        model::validate_attribute_name(&a.name).map_err(CaError::Invalid)?;
        model::validate_attribute_value(&a.name, &a.value).map_err(CaError::Invalid)?;
        if CA_SET_ATTRIBUTES.contains(&a.name.as_str()) {
            return Err(CaError::Invalid(format!(
                "attribute {} is set by the CA and cannot be registered",
                a.name
            )));
        }
        if !seen.insert(a.name.clone()) {
            return Err(CaError::Invalid(format!("attribute {} is given twice", a.name)));
        }
        out.push(Attribute {
            name: a.name.clone(),
            value: a.value.clone(),
            ecert: a.ecert,
        });
    }
    Ok(out)
}
