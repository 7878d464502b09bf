//! Custody moves and observations: ship, receive (accept / reject), observe with sensor readings, clear a
//! suspect flag, dispense, decommission.
//!
//! Each runs in the endorse step against one object (a pack or a case) and writes that object's record plus
//! one EPCIS event. A case carries the custody of every pack in it, so these operations on a case never touch
//! its packs' records. Who may do what is decided from the caller's certificate: the holder org for moving and
//! destroying, the named recipient for receiving, the holder / pending recipient / any `role=certifier` for
//! observing, a `role=certifier` for clearing a suspect flag, and a `role=pharmacist` of the holder org for
//! dispensing.

use chaincode_api::{Context, ContractError};

use crate::commission::require_in_stock_holder;
use crate::epcis::{self, Action, BizTransaction, Event, EventType, Place, Stamp};
use crate::gs1::{self, Gln, ObjectId, Sgtin};
use crate::state::{self, Custody, Flag, Status, Tracked, Transfer, TransferStatus};
use crate::trade;

/// Attribute a certifier's certificate carries.
pub const CERTIFIER: (&str, &str) = ("role", "certifier");
/// Attribute a pharmacist's certificate carries.
pub const PHARMACIST: (&str, &str) = ("role", "pharmacist");

/// Saves `tracked` with `event` as its next event (`epcList` = the object) and emits it as `name`.
fn record(
    ctx: &mut dyn Context,
    tracked: &mut Tracked,
    mut event: Event,
    name: &str,
) -> Result<Vec<u8>, ContractError> {
    event.epc_list = vec![tracked.uri()];
    let key = tracked.next_event_key()?;
    tracked.save(ctx)?;
    let json = event.to_json()?;
    ctx.put_state(&key, &json)?;
    ctx.set_event(name, &json)?;
    Ok(json)
}

/// `Conflict` for a pack that is inside a case: the case moves, not the pack.
fn not_in_case(tracked: &Tracked, what: &str) -> Result<(), ContractError> {
    match tracked {
        Tracked::Pack(pack) => match &pack.parent {
            Some(sscc) => Err(ContractError::Conflict(format!(
                "pack {} is in case (00){sscc}: {what} the case, or UnpackCase first",
                pack.label()
            ))),
            None => Ok(()),
        },
        Tracked::Case(_) => Ok(()),
    }
}

/// Offers `object` to `to`. Caller: a member of the holder org; the object must be in stock and not inside a
/// case. A recalled lot may only go back to its manufacturer. The trade document (transient `trade`) goes
/// to the pair's collection.
pub fn ship(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    object: &ObjectId,
    to: &str,
    trade_doc_ref: Option<&str>,
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let document = trade::transient_document(ctx, trade_doc_ref)?;
    let mut tracked = Tracked::load(ctx, object)?;
    not_in_case(&tracked, "ship")?;
    let label = tracked.label();
    require_in_stock_holder(ctx, tracked.custody_mut(), &label, "object")?;
    if to == stamp.org {
        return Err(ContractError::BadRequest(format!(
            "Ship: {label} is already held by {to}"
        )));
    }
    for lot_ref in tracked.contents() {
        let lot = state::must_lot(ctx, &lot_ref.gtin, &lot_ref.lot)?;
        if lot.recall.is_some() && to != lot.manufacturer {
            return Err(ContractError::Conflict(format!(
                "{label} holds recalled lot {} of GTIN {}; it may only be returned to {}",
                lot.lot, lot.gtin, lot.manufacturer
            )));
        }
    }
    let collection = match (trade_doc_ref, document) {
        (Some(reference), Some(doc)) => Some(trade::store(ctx, stamp, to, reference, tracked.uri(), doc)?),
        _ => None,
    };
    let custody = tracked.custody_mut();
    custody.status = Status::InTransit;
    custody.disposition = "in_transit".into();
    custody.transfer = Some(Transfer {
        from: stamp.org.clone(),
        to: to.to_string(),
        status: TransferStatus::Offered,
        trade_doc_ref: trade_doc_ref.map(str::to_string),
        trade_collection: collection,
        offered_at: stamp.time.clone(),
        offer_tx_id: stamp.tx_id.clone(),
        reason: None,
        decided_at: None,
    });
    let mut event = stamp
        .event(EventType::ObjectEvent, Action::Observe, "shipping", "in_transit")
        .parties(&stamp.org, to);
    event.read_point = gln.map(|g| Place { id: g.uri() });
    event.biz_transaction_list = biz_transactions(trade_doc_ref);
    event.transfer_status = Some(TransferStatus::Offered.as_str().into());
    record(ctx, &mut tracked, event, "Shipped")
}

fn biz_transactions(trade_doc_ref: Option<&str>) -> Vec<BizTransaction> {
    trade_doc_ref
        .map(|r| BizTransaction {
            biz_transaction: r.to_string(),
        })
        .into_iter()
        .collect()
}

/// Accepts (custody moves to the caller's org) or rejects (custody stays with the sender, reason kept) a
/// transfer. Caller: a member of the org the object was offered to.
pub fn receive(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    object: &ObjectId,
    accept: bool,
    reason: Option<&str>,
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let mut tracked = Tracked::load(ctx, object)?;
    not_in_case(&tracked, "receive")?;
    let label = tracked.label();
    let custody = tracked.custody_mut();
    let pending = custody
        .transfer
        .clone()
        .filter(|t| custody.status == Status::InTransit && t.status == TransferStatus::Offered)
        .ok_or_else(|| ContractError::Conflict(format!("{label} has no pending transfer to receive")))?;
    if pending.to != stamp.org {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {} is not the recipient of {label}: it was offered to {}",
            ctx.caller(),
            pending.to
        )));
    }
    let status = if accept {
        TransferStatus::Accepted
    } else {
        TransferStatus::Rejected
    };
    let gln = gln.map(Gln::as_str);
    let mut transfer = pending.clone();
    transfer.status = status;
    transfer.reason = reason.map(str::to_string);
    transfer.decided_at = Some(stamp.time.clone());
    custody.status = Status::InStock;
    custody.transfer = Some(transfer);
    if accept {
        custody.holder = pending.to.clone();
        custody.disposition = "active".into();
        custody.location = gln.map(str::to_string);
    } else {
        custody.disposition = "returned".into();
    }
    let mut event = receive_event(stamp, &pending, accept, gln);
    event.transfer_status = Some(status.as_str().into());
    event.reason = reason.map(str::to_string);
    let name = if accept {
        "TransferAccepted"
    } else {
        "TransferRejected"
    };
    record(ctx, &mut tracked, event, name)
}

/// The receiving event: an accept with a trade reference is a TransactionEvent (ownership changed under that
/// business transaction); an accept without one an ObjectEvent; a reject an ObjectEvent with disposition
/// `returned` (CBV has no "rejected").
fn receive_event(stamp: &Stamp, pending: &Transfer, accept: bool, gln: Option<&str>) -> Event {
    if !accept {
        let mut event = stamp.event(EventType::ObjectEvent, Action::Observe, "receiving", "returned");
        event.read_point = gln.map(|g| Place { id: gs1::gln_uri(g) });
        return event;
    }
    let (event_type, action) = match pending.trade_doc_ref {
        Some(_) => (EventType::TransactionEvent, Action::Add),
        None => (EventType::ObjectEvent, Action::Observe),
    };
    let mut event = stamp
        .event(event_type, action, "receiving", "active")
        .at(gln)
        .parties(&pending.from, &pending.to);
    event.biz_transaction_list = biz_transactions(pending.trade_doc_ref.as_deref());
    event
}

/// Records a location and optional readings. Caller: a member of the holder org, of the pending
/// recipient, or anyone with `role=certifier`. A temperature outside any contained product's range marks the
/// object suspect (for a case: every pack in it).
pub fn observe(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    object: &ObjectId,
    gln: &Gln,
    temperature: Option<f64>,
    weight: Option<f64>,
) -> Result<Vec<u8>, ContractError> {
    let mut tracked = Tracked::load(ctx, object)?;
    let (custody, in_case) = custody_of(ctx, &tracked)?;
    refuse_final(&tracked.label(), &custody)?;
    let certifier = may_observe(ctx, &tracked.label(), &custody)?;
    let excursions = match temperature {
        Some(t) => excursions(ctx, stamp, &tracked, gln, t)?,
        None => Vec::new(),
    };
    for reason in &excursions {
        tracked
            .suspect_mut()
            .push(flag(stamp, reason, Some(gln.as_str())));
    }
    if !in_case {
        tracked.custody_mut().location = Some(gln.to_string());
    }
    let biz_step = if certifier {
        "inspecting"
    } else {
        "sensor_reporting"
    };
    let mut event = stamp
        .event(
            EventType::ObjectEvent,
            Action::Observe,
            biz_step,
            &custody.disposition,
        )
        .at(Some(gln.as_str()));
    event.sensor_element_list = epcis::sensors(&stamp.time, temperature, weight);
    let name = if excursions.is_empty() {
        "Observed"
    } else {
        "TemperatureExcursion"
    };
    event.suspect = excursions;
    record(ctx, &mut tracked, event, name)
}

/// `Forbidden` unless the caller's org holds the object or is its pending recipient, or the caller has
/// `role=certifier`; returns whether the caller observes as a certifier.
fn may_observe(ctx: &dyn Context, label: &str, custody: &Custody) -> Result<bool, ContractError> {
    let caller = ctx.caller();
    let certifier = caller.has_attr(CERTIFIER.0, CERTIFIER.1);
    let recipient = custody.status == Status::InTransit
        && custody.transfer.as_ref().is_some_and(|t| t.to == caller.msp_id);
    if custody.holder != caller.msp_id && !recipient && !certifier {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {caller} may not observe {label}: needs to belong to its holder {}, be its \
             pending recipient, or have attribute role=certifier",
            custody.holder
        )));
    }
    Ok(certifier)
}

/// One reason per contained product whose allowed range excludes temperature `t`.
fn excursions(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    tracked: &Tracked,
    gln: &Gln,
    t: f64,
) -> Result<Vec<String>, ContractError> {
    let mut reasons = Vec::new();
    for product in products_of(ctx, tracked)? {
        if t < product.min_temp_c || t > product.max_temp_c {
            reasons.push(format!(
                "temperature excursion: {t} °C outside {}..{} °C for {} (GTIN {}) at GLN {gln}, observed by {}",
                product.min_temp_c, product.max_temp_c, product.name, product.gtin, stamp.org
            ));
        }
    }
    Ok(reasons)
}

/// A suspect flag raised by this transaction.
pub fn flag(stamp: &Stamp, reason: &str, gln: Option<&str>) -> Flag {
    Flag {
        reason: reason.to_string(),
        org: stamp.org.clone(),
        gln: gln.map(str::to_string),
        at: stamp.time.clone(),
        tx_id: stamp.tx_id.clone(),
    }
}

/// The custody that applies to the object, and whether it is a pack inside a case.
fn custody_of(ctx: &mut dyn Context, tracked: &Tracked) -> Result<(Custody, bool), ContractError> {
    match tracked {
        Tracked::Pack(pack) => {
            let (custody, case) = state::effective(ctx, pack)?;
            Ok((custody, case.is_some()))
        }
        Tracked::Case(case) => Ok((case.custody.clone(), false)),
    }
}

fn refuse_final(label: &str, custody: &Custody) -> Result<(), ContractError> {
    if custody.status.is_final() {
        return Err(ContractError::Conflict(format!(
            "{label} is {}: no events are recorded after that (to report a physical sighting, use ReportScan)",
            custody.status.as_str()
        )));
    }
    Ok(())
}

/// The distinct products in the object.
fn products_of(ctx: &mut dyn Context, tracked: &Tracked) -> Result<Vec<state::Product>, ContractError> {
    let mut gtins: Vec<String> = tracked.contents().into_iter().map(|l| l.gtin).collect();
    gtins.dedup();
    gtins.iter().map(|g| state::must_product(ctx, g)).collect()
}

/// Clears the object's own suspect flags after inspection. Caller: anyone with `role=certifier`.
pub fn clear_suspect(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    object: &ObjectId,
    gln: &Gln,
    note: &str,
) -> Result<Vec<u8>, ContractError> {
    ctx.caller().require_attr(CERTIFIER.0, CERTIFIER.1)?;
    let mut tracked = Tracked::load(ctx, object)?;
    let (custody, _) = custody_of(ctx, &tracked)?;
    refuse_final(&tracked.label(), &custody)?;
    let cleared: Vec<String> = tracked.suspect_mut().drain(..).map(|f| f.reason).collect();
    if cleared.is_empty() {
        return Err(ContractError::Conflict(format!(
            "{} has no suspect flags of its own to clear (a pack in a suspect case: clear the case)",
            tracked.label()
        )));
    }
    let mut event = stamp
        .event(
            EventType::ObjectEvent,
            Action::Observe,
            "inspecting",
            &custody.disposition,
        )
        .at(Some(gln.as_str()));
    event.reason = Some(note.to_string());
    event.suspect = cleared.into_iter().map(|r| format!("cleared: {r}")).collect();
    record(ctx, &mut tracked, event, "SuspectCleared")
}

/// Dispenses a pack (final). Caller: a `role=pharmacist` of the org holding it. Refused when the pack was
/// already dispensed (counterfeit suspicion), is decommissioned, in transit, recalled, expired or suspect.
pub fn dispense(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    sgtin: &Sgtin,
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let pack = state::must_pack(ctx, sgtin)?;
    let (custody, case) = state::effective(ctx, &pack)?;
    if custody.status == Status::Dispensed {
        return Err(ContractError::Conflict(format!(
            "counterfeit suspicion: pack {sgtin} was already dispensed by {}{}; dispensing refused (this refusal \
             writes nothing: submit ReportScan to record the sighting on the ledger)",
            custody.holder,
            custody
                .location
                .as_deref()
                .map(|g| format!(" at GLN {g}"))
                .unwrap_or_default()
        )));
    }
    refuse_final(&pack.label(), &custody)?;
    let caller = ctx.caller();
    if custody.holder != caller.msp_id {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {caller} may not dispense pack {sgtin}: {} holds it",
            custody.holder
        )));
    }
    caller.require_attr(PHARMACIST.0, PHARMACIST.1)?;
    if custody.status != Status::InStock {
        return Err(ContractError::Conflict(format!(
            "pack {sgtin} is {}",
            custody.status.as_str()
        )));
    }
    refuse_unsafe(ctx, stamp, &pack, case.as_ref())?;
    let mut pack = pack;
    if let Some(case) = &case {
        pack.leave_case(case, case.seq);
        ctx.del_state(&state::case_child_key(&case.sscc, &pack.gtin, &pack.serial)?)?;
    }
    pack.custody.status = Status::Dispensed;
    pack.custody.disposition = "dispensed".into();
    if let Some(gln) = gln {
        pack.custody.location = Some(gln.to_string());
    }
    let event = stamp
        .event(EventType::ObjectEvent, Action::Observe, "dispensing", "dispensed")
        .at(gln.map(Gln::as_str));
    record(ctx, &mut Tracked::Pack(pack), event, "Dispensed")
}

/// `Conflict` for a recalled, expired or suspect pack.
fn refuse_unsafe(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    pack: &state::Pack,
    case: Option<&state::Case>,
) -> Result<(), ContractError> {
    let label = pack.label();
    let lot = state::must_lot(ctx, &pack.gtin, &pack.lot)?;
    if let Some(recall) = &lot.recall {
        return Err(ContractError::Conflict(format!(
            "pack {label} belongs to recalled lot {} (recalled by {} at {}: {}); dispensing refused",
            lot.lot, recall.org, recall.at, recall.reason
        )));
    }
    if stamp.date > pack.expiry {
        return Err(ContractError::Conflict(format!(
            "pack {label} expired on {}; dispensing refused",
            pack.expiry
        )));
    }
    let reasons: Vec<&str> = pack
        .suspect
        .iter()
        .chain(case.map(|c| c.suspect.as_slice()).unwrap_or_default())
        .map(|f| f.reason.as_str())
        .collect();
    if !reasons.is_empty() {
        return Err(ContractError::Conflict(format!(
            "pack {label} is suspect ({}); it is quarantined and dispensing is refused until a certifier clears it",
            reasons.join("; ")
        )));
    }
    Ok(())
}

/// Destroys or withdraws an object (final; a case takes its packs along). Caller: a member of the holder
/// org; the object must be in stock. A pack leaves its case first.
pub fn decommission(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    object: &ObjectId,
    reason: &str,
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let mut tracked = Tracked::load(ctx, object)?;
    let label = tracked.label();
    if let Tracked::Pack(pack) = &mut tracked
        && pack.parent.is_some()
    {
        let (custody, case) = state::effective(ctx, pack)?;
        require_in_stock_holder(ctx, &custody, &label, "pack")?;
        if let Some(case) = case {
            pack.leave_case(&case, case.seq);
            ctx.del_state(&state::case_child_key(&case.sscc, &pack.gtin, &pack.serial)?)?;
        }
    }
    let custody = tracked.custody_mut();
    require_in_stock_holder(ctx, custody, &label, "object")?;
    custody.status = Status::Decommissioned;
    custody.disposition = "inactive".into();
    if let Some(gln) = gln {
        custody.location = Some(gln.to_string());
    }
    let mut event = stamp
        .event(
            EventType::ObjectEvent,
            Action::Delete,
            "decommissioning",
            "inactive",
        )
        .at(gln.map(Gln::as_str));
    event.reason = Some(reason.to_string());
    record(ctx, &mut tracked, event, "Decommissioned")
}
