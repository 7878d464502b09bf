//! Verification for anyone on the channel: is this serial genuine and safe, where has it been, and
//! counterfeit reports.
//!
//! `Verify` and `Provenance` are queries (evaluated, never ordered): they read the pack, its case, its lot,
//! its product, the prefix registry and the counterfeit reports, and compute the verdict at the
//! transaction's timestamp. `ReportScan` is the one way a counterfeit suspicion reaches the ledger: a refused
//! transaction writes nothing, so a second `Dispense` of a dispensed pack is refused and records nothing,
//! and the pharmacy (or anyone who physically scans a pack) submits `ReportScan`, which **succeeds** and
//! records the contradiction between the scan and the ledger (unknown serial, dispensed or decommissioned
//! pack seen again, serial seen outside its custodian). Reports are kept apart from the pack record so they
//! never conflict with custody transactions.

use serde::Serialize;

use chaincode_api::{Context, ContextExt, ContractError};

use crate::custody::{CERTIFIER, flag};
use crate::epcis::{self, Action, Event, EventType, Stamp};
use crate::gs1::{Gln, Sgtin, Sscc};
use crate::registry;
use crate::state::{self, CASE_CHILD, Case, Incidents, Lot, Pack, Product, Recall, Status, Transfer};

/// The verification verdict (GS1 Lightweight Verification style: `verified` plus reasons).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// `(01)…(21)…`.
    pub sgtin: String,
    /// Digital Link URI.
    pub epc: String,
    /// GTIN-14.
    pub gtin: String,
    /// Serial.
    pub serial: String,
    /// Commissioned on the ledger.
    pub known: bool,
    /// Known, commissioned by the GTIN owner, in the supply chain, not recalled / expired / suspect /
    /// reported as counterfeit.
    pub verified: bool,
    /// Why not verified (empty when verified).
    pub reasons: Vec<String>,
    /// Product name, if the GTIN is registered.
    pub product: Option<String>,
    /// MSP id owning the GTIN's company prefix.
    pub gtin_owner: Option<String>,
    /// MSP id that commissioned the pack.
    pub commissioned_by: Option<String>,
    /// Whether those two agree.
    pub commissioned_by_gtin_owner: bool,
    /// Lot.
    pub lot: Option<String>,
    /// Expiry `YYYY-MM-DD`.
    pub expiry: Option<String>,
    /// Custodian MSP id.
    pub holder: Option<String>,
    /// Case `(00)…` the pack is in.
    pub parent: Option<String>,
    /// Last known GLN.
    pub location: Option<String>,
    /// `in_stock`, `in_transit`, `dispensed`, `decommissioned`.
    pub status: Option<Status>,
    /// CBV disposition of the last event.
    pub disposition: Option<String>,
    /// Current or last transfer.
    pub transfer: Option<Transfer>,
    /// Lot recalled.
    pub recalled: bool,
    /// Recall details.
    pub recall: Option<Recall>,
    /// Expiry before the transaction date.
    pub expired: bool,
    /// Any suspect flag on the pack or its case.
    pub suspect: bool,
    /// Suspect reasons.
    pub suspect_reasons: Vec<String>,
    /// Counterfeit verdict.
    pub counterfeit: bool,
    /// Counterfeit reasons (computed and reported).
    pub counterfeit_reasons: Vec<String>,
    /// Counterfeit reports ever recorded for this serial.
    pub counterfeit_reports: u64,
    /// Transaction time of the check.
    pub checked_at: String,
}

/// `Verify(sgtin)`: anyone may call; reads only.
pub fn verify(ctx: &mut dyn Context, stamp: &Stamp, sgtin: &Sgtin) -> Result<Vec<u8>, ContractError> {
    let gtin = sgtin.gtin.as_str();
    let owner = registry::gtin_owner(ctx, &sgtin.gtin)?;
    let product: Option<Product> = state::load(ctx, &state::product_key(gtin)?)?;
    let pack: Option<Pack> = state::load(ctx, &state::pack_key(gtin, &sgtin.serial)?)?;
    let incidents: Incidents =
        state::load(ctx, &state::incident_key(gtin, &sgtin.serial)?)?.unwrap_or_default();
    let mut v = Verification {
        sgtin: sgtin.element_string(),
        epc: sgtin.uri(),
        gtin: gtin.to_string(),
        serial: sgtin.serial.clone(),
        known: pack.is_some(),
        verified: false,
        reasons: Vec::new(),
        product: product.map(|p| p.name),
        gtin_owner: owner.as_ref().map(|o| o.owner.clone()),
        commissioned_by: None,
        commissioned_by_gtin_owner: false,
        lot: None,
        expiry: None,
        holder: None,
        parent: None,
        location: None,
        status: None,
        disposition: None,
        transfer: None,
        recalled: false,
        recall: None,
        expired: false,
        suspect: false,
        suspect_reasons: Vec::new(),
        counterfeit: false,
        counterfeit_reasons: Vec::new(),
        counterfeit_reports: incidents.total,
        checked_at: stamp.time.clone(),
    };
    match pack {
        Some(pack) => fill_known(ctx, stamp, &mut v, pack)?,
        None => {
            v.counterfeit_reasons.push(format!(
                "counterfeit: unknown serial: {sgtin} was never commissioned on this channel"
            ));
            if owner.is_none() {
                v.counterfeit_reasons.push(format!(
                    "counterfeit: GTIN {gtin} has no registered manufacturer (company prefix)"
                ));
            }
        }
    }
    v.counterfeit_reasons
        .extend(incidents.flags.into_iter().map(|f| f.reason));
    v.counterfeit = !v.counterfeit_reasons.is_empty();
    conclude(&mut v);
    state::to_json(&v)
}

fn fill_known(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    v: &mut Verification,
    pack: Pack,
) -> Result<(), ContractError> {
    let (custody, case) = state::effective(ctx, &pack)?;
    let lot: Option<Lot> = state::load(ctx, &state::lot_key(&pack.gtin, &pack.lot)?)?;
    v.commissioned_by_gtin_owner = v.gtin_owner.as_deref() == Some(pack.commissioned_by.as_str());
    if !v.commissioned_by_gtin_owner {
        v.counterfeit_reasons.push(format!(
            "counterfeit: commissioned by {}, which does not own the GTIN's company prefix",
            pack.commissioned_by
        ));
    }
    v.recall = lot.and_then(|l| l.recall);
    v.recalled = v.recall.is_some();
    v.expired = stamp.date > pack.expiry;
    v.suspect_reasons = pack
        .suspect
        .iter()
        .chain(case.as_ref().map(|c| c.suspect.as_slice()).unwrap_or_default())
        .map(|f| f.reason.clone())
        .collect();
    v.suspect = !v.suspect_reasons.is_empty();
    v.parent = pack.parent.as_ref().map(|s| format!("(00){s}"));
    v.commissioned_by = Some(pack.commissioned_by);
    v.lot = Some(pack.lot);
    v.expiry = Some(pack.expiry);
    v.holder = Some(custody.holder);
    v.location = custody.location;
    v.status = Some(custody.status);
    v.disposition = Some(custody.disposition);
    v.transfer = custody.transfer;
    Ok(())
}

/// Sets `verified` and the reasons against it.
fn conclude(v: &mut Verification) {
    let mut reasons = Vec::new();
    if v.counterfeit {
        reasons.push("counterfeit suspicion".to_string());
    }
    match v.status {
        Some(Status::Dispensed) => reasons.push("already dispensed".into()),
        Some(status) if status.is_final() => reasons.push(status.as_str().to_string()),
        _ => {}
    }
    if let Some(recall) = &v.recall {
        reasons.push(format!("lot recalled: {}", recall.reason));
    }
    if v.expired {
        reasons.push(format!("expired on {}", v.expiry.as_deref().unwrap_or_default()));
    }
    if v.suspect {
        reasons.push("suspect: quarantine and investigate".into());
    }
    v.verified = v.known && reasons.is_empty();
    v.reasons = reasons;
}

/// `Provenance(sgtin)`: the pack's EPCIS events in time order, including its cases' events while it was in
/// them, its lot's recall and counterfeit reports. Anyone may call; `NotFound` for an unknown serial.
pub fn provenance(ctx: &mut dyn Context, sgtin: &Sgtin) -> Result<Vec<u8>, ContractError> {
    let pack = state::must_pack(ctx, sgtin)?;
    let mut events = Vec::new();
    if let Some(mut batch) = state::load::<Event>(ctx, &pack.commission_event)? {
        // The batch event lists every pack commissioned with this one; this view concerns one pack.
        batch.epc_list = vec![pack.uri()];
        events.push(batch);
    }
    events.extend(events_of(ctx, &pack.event_object(), 0, u64::MAX)?);
    for m in &pack.memberships {
        events.extend(events_of(
            ctx,
            &["sscc", &m.sscc],
            m.from_seq,
            m.to_seq.unwrap_or(u64::MAX),
        )?);
    }
    events.extend(events_of(ctx, &["lot", &pack.gtin, &pack.lot], 0, u64::MAX)?);
    let incidents: Incidents =
        state::load(ctx, &state::incident_key(&pack.gtin, &pack.serial)?)?.unwrap_or_default();
    events.extend(incidents.flags.iter().map(|f| incident_event(&pack.uri(), f)));
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    state::to_json(&serde_json::json!({
        "@context": epcis::CONTEXT,
        "sgtin": pack.label(),
        "epc": pack.uri(),
        "eventList": events,
    }))
}

/// Stored events of one object with sequence numbers in `[from, to]`.
fn events_of(
    ctx: &mut dyn Context,
    object: &[&str],
    from: u64,
    to: u64,
) -> Result<Vec<Event>, ContractError> {
    let page = ctx.get_state_by_partial_composite_key(state::EVENT, object, 0, "")?;
    let mut events = Vec::with_capacity(page.items.len());
    for (key, bytes) in page.items {
        let (_, attrs) = ctx.split_composite_key(&key)?;
        let seq: u64 = attrs.last().and_then(|s| s.parse().ok()).unwrap_or_default();
        if (from..=to).contains(&seq) {
            events.push(
                serde_json::from_slice(&bytes).map_err(|e| {
                    ContractError::Internal(format!("stored event {key:?} does not parse: {e}"))
                })?,
            );
        }
    }
    Ok(events)
}

fn incident_event(epc: &str, report: &state::Flag) -> Event {
    let stamp = Stamp {
        ts: chaincode_api::Timestamp::default(),
        time: report.at.clone(),
        date: String::new(),
        day: 0,
        tx_id: report.tx_id.clone(),
        org: report.org.clone(),
    };
    let mut event = stamp
        .event(EventType::ObjectEvent, Action::Observe, "inspecting", "unknown")
        .at(report.gln.as_deref());
    event.epc_list = vec![epc.to_string()];
    event.counterfeit = Some(report.reason.clone());
    event
}

/// `ReportScan(sgtin, gln, note?)`: anyone on the channel reports that it physically scanned a pack at `gln`.
/// If the ledger contradicts the scan — the serial is unknown, the pack was dispensed or decommissioned, or
/// it is in another org's custody (not for a `role=certifier` scanner, who inspects at others' sites) — the
/// counterfeit suspicion is recorded against the serial (known or not) and emitted as
/// `CounterfeitSuspected`; otherwise nothing is written.
pub fn report_scan(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    sgtin: &Sgtin,
    gln: &Gln,
    note: Option<&str>,
) -> Result<Vec<u8>, ContractError> {
    let reason = contradiction(ctx, stamp, sgtin, gln)?;
    let Some(mut reason) = reason else {
        return state::to_json(&serde_json::json!({
            "recorded": false,
            "consistent": true,
            "sgtin": sgtin.element_string(),
        }));
    };
    if let Some(note) = note {
        reason.push_str(&format!(" ({note})"));
    }
    let key = state::incident_key(sgtin.gtin.as_str(), &sgtin.serial)?;
    let mut incidents: Incidents = state::load(ctx, &key)?.unwrap_or_default();
    let report = flag(stamp, &reason, Some(gln.as_str()));
    incidents.push(report.clone());
    state::save(ctx, &key, &incidents)?;
    ctx.set_event(
        "CounterfeitSuspected",
        &incident_event(&sgtin.uri(), &report).to_json()?,
    )?;
    state::to_json(&serde_json::json!({
        "recorded": true,
        "consistent": false,
        "sgtin": sgtin.element_string(),
        "reason": reason,
        "reports": incidents.total,
    }))
}

/// How the ledger contradicts a scan of `sgtin` by the caller's org at `gln`, if it does.
fn contradiction(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    sgtin: &Sgtin,
    gln: &Gln,
) -> Result<Option<String>, ContractError> {
    let org = &stamp.org;
    let Some(pack) = state::load::<Pack>(ctx, &state::pack_key(sgtin.gtin.as_str(), &sgtin.serial)?)? else {
        return Ok(Some(format!(
            "counterfeit: unknown serial: {sgtin} scanned by {org} at GLN {gln} was never commissioned"
        )));
    };
    let (custody, _) = state::effective(ctx, &pack)?;
    // Certifiers inspect at other orgs' sites, so custody elsewhere is expected for them.
    let certifier = ctx.caller().has_attr(CERTIFIER.0, CERTIFIER.1);
    let pending_to_reporter =
        custody.status == Status::InTransit && custody.transfer.as_ref().is_some_and(|t| &t.to == org);
    Ok(match custody.status {
        Status::Dispensed => Some(format!(
            "counterfeit suspicion: dispensed twice: {sgtin} was dispensed by {} but scanned again by {org} at \
             GLN {gln}",
            custody.holder
        )),
        status if status.is_final() => Some(format!(
            "counterfeit suspicion: {sgtin} is {} but was scanned by {org} at GLN {gln}",
            status.as_str()
        )),
        _ if &custody.holder != org && !pending_to_reporter && !certifier => Some(format!(
            "counterfeit suspicion: duplicate serial: {sgtin} scanned by {org} at GLN {gln} while the ledger has \
             it with {}",
            custody.holder
        )),
        _ => None,
    })
}

/// `ReadCase(sscc)`: the case record and the packs still in it. Anyone may call.
pub fn read_case(ctx: &mut dyn Context, sscc: &Sscc) -> Result<Vec<u8>, ContractError> {
    let case: Case = state::must_case(ctx, sscc.as_str())?;
    let page = ctx.get_state_by_partial_composite_key(CASE_CHILD, &[sscc.as_str()], 0, "")?;
    let mut packs = Vec::with_capacity(page.items.len());
    for (key, _) in &page.items {
        let (_, attrs) = ctx.split_composite_key(key)?;
        if let [_, gtin, serial] = attrs.as_slice() {
            packs.push(format!("(01){gtin}(21){serial}"));
        }
    }
    state::to_json(&serde_json::json!({ "case": case, "packs": packs }))
}
