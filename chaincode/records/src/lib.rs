//! `records`: healthcare records for a hospital consortium. Patients, consent, audited access, dual-signed
//! lab reports, de-identified research entries and erasure.
//!
//! Like every contract it runs only in the endorse step of endorse → order → validate: the simulator gives
//! it a [`Context`] over committed state, records its reads (MVCC, phantom checks) and buffers its writes,
//! public and private. It is deterministic: the only clock is the transaction timestamp, and every random
//! value (pseudonyms, record and consent ids, salts, research tokens) comes from the client, checked for
//! length and format.
//!
//! **What is where.** The shared ledger holds pseudonymous registry entries (with salted commitments to the
//! patient's certificate), record metadata (id, pseudonym, category code, year, issuer, salted hash), FHIR
//! Consents, FHIR AuditEvents and lab report Provenance. PHI lives only in private collections:
//! `records_<hospital>` (demographics, certificate link, research token, records, grants) and
//! `labreports_<lab>_<hospital>` (lab reports and their grants). PHI arrives only as transient data and is
//! returned only by `ReadRecord`, an evaluate. No submitted function returns or emits PHI; a denied access is
//! a successful transaction that records an AuditEvent with outcome 8.
//!
//! | function | args | transient | caller | writes: public / private | event |
//! |---|---|---|---|---|---|
//! | `RegisterPatient` | P | `patient` (FHIR Patient), `link` `{certId, salt}` | doctor, nurse, registrar of H | patient (+policy H) / `patient/P` | `PatientRegistered` |
//! | `LinkPatients` | P1, P2 | `binding` (both) | the patient bound to both | both patient entries | `PatientsLinked` |
//! | `AddDelegate` / `RemoveDelegate` | P, commitment | `binding` | the patient | patient | `DelegateAdded` / `DelegateRemoved` |
//! | `GrantConsent` | P, consentId, provision (JSON) | `binding`, `research` (if HRESCH) | patient or delegate | consent (+policy H), index, patient / `research/P` if HRESCH | `ConsentGranted` |
//! | `RevokeConsent` | consentId | `binding` | patient or delegate | consent (inactive) | `ConsentRevoked` |
//! | `SetResearchToken` | P | `binding`, `research` | patient or delegate | patient / `research/P` | `ResearchTokenSet` |
//! | `AddRecord` | P, recordId | `resource`, `salt` | doctor or nurse of H | record meta (+policy H), index / `record/id` | `DeidentifiedEntry` or `RecordAdded` |
//! | `CreateLabReport` | P, reportId | `resource` (DiagnosticReport), `salt` | admin of a lab org | meta (preliminary, author signature, +policy lab AND H), index / report | `DeidentifiedEntry` or `LabReportCreated` |
//! | `SignLabReport` | reportId, hash | — | admin of H | meta (final, verification signature) / report | `LabReportFinalized` |
//! | `RequestAccess` | recordId or JSON array, purpose | — | anyone (only doctors and nurses are allowed) | audit + 2 indexes / grant when allowed | `AccessAudited` |
//! | `RequestErasure` | P | `binding` | the patient | patient | `ErasureRequested` |
//! | `ErasePatient` | P | `binding` (patient) | the patient, or admin of H after `RequestErasure` | patient (erased) / purges | `PatientErased` |
//! | `ReadRecord` *(evaluate)* | grantId, recordId | — | the grant's holder | — | — |
//! | `ListAccesses` *(evaluate)* | P | `binding` | patient or delegate | — | — |
//! | `ListAccessesByOrg` *(evaluate)* | pageSize?, bookmark? | — | `role=compliance_officer` | — | — |
//! | `ReadPatient`, `RecordInfo`, `ListRecords`, `ReadConsent`, `ConsentHistory`, `ListConsents` *(evaluate)* | P or id | — | anyone (public data) | — | — |
//!
//! (P = pseudonym, H = the patient's registering hospital.)
//!
//! # Layout
//! * `action`: arguments → [`Action`]. `ids`, `hashing`, `fhirtime`: formats, salted hashes, dates.
//! * `fhir`: FHIR Consent, AuditEvent, Provenance. `ledger`: stored objects. `keys`: keys and collections.
//! * `party`: roles and the patient binding proof. `policy`: consent validation and the access decision.
//! * `patient`, `consent`, `record`, `lab`, `access`, `deid`: what each function does. `store`: state helpers.
//! * `story`: the demo as data, tested against the mock ledger.

pub mod access;
pub mod action;
pub mod consent;
pub mod deid;
pub mod fhir;
pub mod fhirtime;
pub mod hashing;
pub mod ids;
pub mod keys;
pub mod lab;
pub mod ledger;
pub mod party;
pub mod patient;
pub mod policy;
pub mod record;
pub mod resource;
pub mod store;
pub mod story;

pub use action::Action;

use chaincode_api::{Call, Context, Contract, ContractError};

/// The chaincode name clients use (`ChaincodeID.name`).
pub const CHAINCODE_NAME: &str = "records";

/// Functions served.
pub const FUNCTIONS: &[&str] = &[
    "RegisterPatient",
    "LinkPatients",
    "AddDelegate",
    "RemoveDelegate",
    "GrantConsent",
    "RevokeConsent",
    "SetResearchToken",
    "AddRecord",
    "CreateLabReport",
    "SignLabReport",
    "RequestAccess",
    "RequestErasure",
    "ErasePatient",
    "ReadRecord",
    "ListAccesses",
    "ListAccessesByOrg",
    "ReadPatient",
    "RecordInfo",
    "ListRecords",
    "ReadConsent",
    "ConsentHistory",
    "ListConsents",
];

/// Functions a client must only *evaluate*. `ReadRecord` returns PHI (and `ListAccesses` the patient's
/// access list), and whatever a submitted transaction returns is written into the block; a contract cannot
/// tell an evaluate from a submit, so the contract declares them ([`Contract::evaluate_only`]) and the
/// platform enforces it: the gateway refuses to endorse them and peers never sign their responses.
pub const EVALUATE_ONLY: &[&str] = &[
    "ReadRecord",
    "ListAccesses",
    "ListAccessesByOrg",
    "ReadPatient",
    "RecordInfo",
    "ListRecords",
    "ReadConsent",
    "ConsentHistory",
    "ListConsents",
];

/// The records contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordsContract;

impl Contract for RecordsContract {
    fn name(&self) -> &str {
        CHAINCODE_NAME
    }

    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let action = Action::parse(self, call)?;
        apply(ctx, action)
    }

    fn functions(&self) -> &[&'static str] {
        FUNCTIONS
    }

    fn evaluate_only(&self) -> &[&'static str] {
        EVALUATE_ONLY
    }
}

fn apply(ctx: &mut dyn Context, action: Action) -> Result<Vec<u8>, ContractError> {
    match action {
        Action::RegisterPatient(p) => patient::register(ctx, &p),
        Action::LinkPatients(a, b) => patient::link(ctx, &a, &b),
        Action::AddDelegate(p, c) => patient::delegate(ctx, &p, &c, true),
        Action::RemoveDelegate(p, c) => patient::delegate(ctx, &p, &c, false),
        Action::GrantConsent {
            patient,
            consent_id,
            provision,
        } => consent::grant(ctx, &patient, &consent_id, *provision),
        Action::RevokeConsent(id) => consent::revoke(ctx, &id),
        Action::SetResearchToken(p) => patient::set_research_token(ctx, &p),
        Action::AddRecord { patient, record_id } => record::add(ctx, &patient, &record_id),
        Action::CreateLabReport { patient, report_id } => lab::create(ctx, &patient, &report_id),
        Action::SignLabReport { report_id, hash } => lab::countersign(ctx, &report_id, &hash),
        Action::RequestAccess { records, purpose } => access::request(ctx, &records, &purpose),
        Action::RequestErasure(p) => patient::request_erasure(ctx, &p),
        Action::ErasePatient(p) => patient::erase(ctx, &p),
        Action::ReadRecord { grant_id, record_id } => access::read(ctx, &grant_id, &record_id),
        Action::ListAccesses(p) => access::list_for_patient(ctx, &p),
        Action::ListAccessesByOrg { page_size, bookmark } => access::list_for_org(ctx, page_size, &bookmark),
        Action::ReadPatient(p) => patient::read(ctx, &p),
        Action::RecordInfo(id) => record::info(ctx, &id),
        Action::ListRecords(p) => record::list(ctx, &p),
        Action::ReadConsent(id) => consent::read(ctx, &id),
        Action::ConsentHistory(id) => consent::history(ctx, &id),
        Action::ListConsents(p) => consent::list(ctx, &p),
    }
}
