//! Packs and lots coming into existence, packs going into and out of cases, and lot recalls.
//!
//! These are the batch operations of the endorse step: one `CommissionPacks` writes up to 1,000 pack
//! records, their packs-by-lot index entries and **one** shared EPCIS commissioning event (its `epcList`
//! names every pack); one `PackCase` writes the case, each pack's parent link and index entry, and one
//! AggregationEvent. A recall writes only the lot record and its event: every pack of the lot reads the lot
//! when verified, so all of them are flagged at once, including packs sitting in cases. Batches are atomic:
//! a single bad serial refuses the whole batch, so a client retrying a batch that did commit gets a
//! `Conflict` and changes nothing (rather than half a batch, or false duplicate alarms).

use std::collections::BTreeSet;

use chaincode_api::{Context, ContextExt, ContractError};
use serde::Serialize;

use crate::epcis::{Action, EventType, Ilmd, Quantity, Stamp};
use crate::gs1::{self, Gln, Gtin, Sgtin, Sscc};
use crate::state::{
    self, CASE_CHILD, Case, Custody, INDEX_VALUE, LOT_PACK, Lot, LotRef, Membership, Pack, Recall, Status,
};

/// Commissions `serials` of `gtin` in `lot`. Caller: a member of the org owning the GTIN (the product's
/// owner). Refused if the lot is recalled, its expiry differs, the expiry is past or beyond the product's
/// shelf life, or any serial exists.
pub fn commission(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    gtin: &Gtin,
    lot: &str,
    expiry: &str,
    serials: &[String],
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let product = state::must_product(ctx, gtin.as_str())?;
    if ctx.caller().msp_id != product.owner {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {} may not commission serials for GTIN {gtin}: its GS1 company prefix {} \
             belongs to {}",
            ctx.caller(),
            product.company_prefix,
            product.owner
        )));
    }
    check_expiry(stamp, expiry, product.shelf_life_days)?;
    let batch = Batch {
        gtin: gtin.as_str(),
        lot,
        expiry,
    };
    ensure_lot(ctx, &batch, &product.owner)?;
    refuse_existing(ctx, gtin, serials)?;
    let event_key = state::batch_event_key(&stamp.tx_id)?;
    let gln = gln.map(Gln::as_str);
    for serial in serials {
        let pack = batch.new_pack(stamp, serial, &event_key, gln);
        state::save(ctx, &state::pack_key(gtin.as_str(), serial)?, &pack)?;
        ctx.put_state(&state::lot_pack_key(gtin.as_str(), lot, serial)?, INDEX_VALUE)?;
    }
    let mut event = stamp
        .event(EventType::ObjectEvent, Action::Add, "commissioning", "active")
        .at(gln);
    event.epc_list = serials.iter().map(|s| gs1::sgtin_uri(gtin.as_str(), s)).collect();
    event.ilmd = Some(Ilmd {
        lot_number: lot.to_string(),
        item_expiration_date: expiry.to_string(),
    });
    let json = event.to_json()?;
    ctx.put_state(&event_key, &json)?;
    ctx.set_event("PacksCommissioned", &json)?;
    summary(&CommissionSummary {
        gtin: gtin.as_str(),
        lot,
        expiry,
        commissioned: serials.len(),
        event_id: &event.event_id,
    })
}

/// What every pack of one commissioning batch shares.
struct Batch<'a> {
    gtin: &'a str,
    lot: &'a str,
    expiry: &'a str,
}

impl Batch<'_> {
    /// A freshly commissioned pack, in stock at the manufacturer.
    fn new_pack(&self, stamp: &Stamp, serial: &str, event_key: &str, gln: Option<&str>) -> Pack {
        Pack {
            gtin: self.gtin.to_string(),
            serial: serial.to_string(),
            lot: self.lot.to_string(),
            expiry: self.expiry.to_string(),
            commissioned_by: stamp.org.clone(),
            commissioned_at: stamp.time.clone(),
            commission_event: event_key.to_string(),
            parent: None,
            memberships: Vec::new(),
            custody: Custody {
                holder: stamp.org.clone(),
                status: Status::InStock,
                disposition: "active".into(),
                location: gln.map(str::to_string),
                transfer: None,
            },
            suspect: Vec::new(),
            seq: 0,
        }
    }
}

/// Creates the lot on its first batch; later batches must match its expiry, and a recalled lot takes none.
fn ensure_lot(ctx: &mut dyn Context, batch: &Batch<'_>, manufacturer: &str) -> Result<(), ContractError> {
    let (gtin, lot, expiry) = (batch.gtin, batch.lot, batch.expiry);
    let lot_key = state::lot_key(gtin, lot)?;
    match state::load::<Lot>(ctx, &lot_key)? {
        Some(existing) if existing.recall.is_some() => Err(ContractError::Conflict(format!(
            "lot {lot} of GTIN {gtin} is recalled; no more packs can be commissioned into it"
        ))),
        Some(existing) if existing.expiry != expiry => Err(ContractError::Conflict(format!(
            "lot {lot} of GTIN {gtin} has expiry {}, not {expiry}",
            existing.expiry
        ))),
        Some(_) => Ok(()),
        None => {
            let record = Lot {
                gtin: gtin.to_string(),
                lot: lot.to_string(),
                expiry: expiry.to_string(),
                manufacturer: manufacturer.to_string(),
                recall: None,
                seq: 0,
            };
            state::save(ctx, &lot_key, &record)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommissionSummary<'a> {
    gtin: &'a str,
    lot: &'a str,
    expiry: &'a str,
    commissioned: usize,
    #[serde(rename = "eventID")]
    event_id: &'a str,
}

fn summary<T: Serialize>(value: &T) -> Result<Vec<u8>, ContractError> {
    state::to_json(value)
}

/// Expiry must be today or later, and no later than today + shelf life.
fn check_expiry(stamp: &Stamp, expiry: &str, shelf_life_days: u32) -> Result<(), ContractError> {
    let day = gs1::epoch_day(expiry)
        .ok_or_else(|| ContractError::BadRequest(format!("expiry {expiry:?} is not a date")))?;
    if day < stamp.day {
        return Err(ContractError::BadRequest(format!(
            "expiry {expiry} is before the transaction date {}",
            stamp.date
        )));
    }
    if day - stamp.day > i64::from(shelf_life_days) {
        return Err(ContractError::BadRequest(format!(
            "expiry {expiry} is more than the product's shelf life of {shelf_life_days} days after {}",
            stamp.date
        )));
    }
    Ok(())
}

/// `Conflict` listing every serial of the batch that is already commissioned (nothing is written).
fn refuse_existing(ctx: &mut dyn Context, gtin: &Gtin, serials: &[String]) -> Result<(), ContractError> {
    let mut existing = Vec::new();
    for serial in serials {
        if ctx.state_exists(&state::pack_key(gtin.as_str(), serial)?)? {
            existing.push(serial.as_str());
        }
    }
    if existing.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = existing.iter().take(10).copied().collect();
    let more = existing.len().saturating_sub(shown.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Err(ContractError::Conflict(format!(
        "duplicate serial: {} of GTIN {gtin} already commissioned ({}{more}); the batch was refused and \
         nothing was commissioned",
        existing.len(),
        shown.join(", ")
    )))
}

/// Packs `packs` into new case `sscc`. Caller: a member of the org holding every pack; packs must be in stock
/// and in no case. Writes the case, each pack (parent link), the packs-in-case index and one
/// AggregationEvent.
pub fn pack_case(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    sscc: &Sscc,
    sgtins: &[Sgtin],
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let case_key = state::case_key(sscc.as_str())?;
    if ctx.state_exists(&case_key)? {
        return Err(ContractError::Conflict(format!(
            "case {} already exists; an SSCC is used once",
            sscc.element_string()
        )));
    }
    let (packs, contents) = packable(ctx, sgtins)?;
    let gln = gln.map(Gln::as_str);
    let case = Case {
        sscc: sscc.to_string(),
        packed_by: stamp.org.clone(),
        packed_at: stamp.time.clone(),
        contents,
        packs: packs.len(),
        custody: Custody {
            holder: stamp.org.clone(),
            status: Status::InStock,
            disposition: "in_progress".into(),
            location: gln.map(str::to_string),
            transfer: None,
        },
        suspect: Vec::new(),
        seq: 1,
    };
    for mut pack in packs {
        pack.parent = Some(case.sscc.clone());
        pack.memberships.push(Membership {
            sscc: case.sscc.clone(),
            from_seq: case.seq,
            to_seq: None,
        });
        state::save(ctx, &state::pack_key(&pack.gtin, &pack.serial)?, &pack)?;
        ctx.put_state(
            &state::case_child_key(&case.sscc, &pack.gtin, &pack.serial)?,
            INDEX_VALUE,
        )?;
    }
    state::save(ctx, &case_key, &case)?;
    let mut event = stamp
        .event(EventType::AggregationEvent, Action::Add, "packing", "in_progress")
        .at(gln);
    event.parent_id = Some(case.uri());
    event.child_epcs = sgtins.iter().map(Sgtin::uri).collect();
    let json = event.to_json()?;
    ctx.put_state(&state::event_key(&case.event_object(), case.seq)?, &json)?;
    ctx.set_event("CasePacked", &json)?;
    state::to_json(&case)
}

/// The packs to aggregate, each held in stock by the caller and in no case, and their distinct lots.
fn packable(ctx: &mut dyn Context, sgtins: &[Sgtin]) -> Result<(Vec<Pack>, Vec<LotRef>), ContractError> {
    let mut packs = Vec::with_capacity(sgtins.len());
    let mut contents = BTreeSet::new();
    for sgtin in sgtins {
        let pack = state::must_pack(ctx, sgtin)?;
        if let Some(parent) = &pack.parent {
            return Err(ContractError::Conflict(format!(
                "pack {sgtin} is already in case (00){parent}"
            )));
        }
        require_in_stock_holder(ctx, &pack.custody, &pack.label(), "pack")?;
        contents.insert(LotRef {
            gtin: pack.gtin.clone(),
            lot: pack.lot.clone(),
        });
        packs.push(pack);
    }
    Ok((packs, contents.into_iter().collect()))
}

/// `Forbidden` unless the caller's org holds the object; `Conflict` unless it is in stock.
pub fn require_in_stock_holder(
    ctx: &dyn Context,
    custody: &Custody,
    label: &str,
    what: &str,
) -> Result<(), ContractError> {
    let caller = ctx.caller();
    if custody.holder != caller.msp_id {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {caller} does not hold {what} {label}; {} does",
            custody.holder
        )));
    }
    if custody.status != Status::InStock {
        return Err(ContractError::Conflict(format!(
            "{what} {label} is {}, not in stock",
            custody.status.as_str()
        )));
    }
    Ok(())
}

/// Takes every pack still in case `sscc` out of it. Caller: a member of the holder org; the case must be in
/// stock. Each pack gets the case's custody and suspect flags; the case becomes `unpacked` (final).
pub fn unpack_case(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    sscc: &Sscc,
    gln: Option<&Gln>,
) -> Result<Vec<u8>, ContractError> {
    let mut case = state::must_case(ctx, sscc.as_str())?;
    require_in_stock_holder(ctx, &case.custody, &case.label(), "case")?;
    let children = ctx.get_state_by_partial_composite_key(CASE_CHILD, &[sscc.as_str()], 0, "")?;
    case.seq += 1;
    let gln = gln.map(Gln::as_str);
    if let Some(gln) = gln {
        case.custody.location = Some(gln.to_string());
    }
    let mut child_epcs = Vec::with_capacity(children.items.len());
    for (child_key, _) in &children.items {
        let (_, attrs) = ctx.split_composite_key(child_key)?;
        let [_, gtin, serial] = attrs.as_slice() else {
            return Err(ContractError::Internal(format!(
                "malformed case index key {child_key:?}"
            )));
        };
        let key = state::pack_key(gtin, serial)?;
        let mut pack: Pack = state::load(ctx, &key)?
            .ok_or_else(|| ContractError::Internal(format!("case index names missing pack {key:?}")))?;
        pack.leave_case(&case, case.seq);
        pack.custody.disposition = "active".into();
        state::save(ctx, &key, &pack)?;
        ctx.del_state(child_key)?;
        child_epcs.push(pack.uri());
    }
    case.custody.status = Status::Unpacked;
    case.custody.disposition = "inactive".into();
    state::save(ctx, &state::case_key(&case.sscc)?, &case)?;
    let mut event = stamp
        .event(EventType::AggregationEvent, Action::Delete, "unpacking", "active")
        .at(gln);
    event.parent_id = Some(case.uri());
    event.child_epcs = child_epcs;
    let json = event.to_json()?;
    ctx.put_state(&state::event_key(&case.event_object(), case.seq)?, &json)?;
    ctx.set_event("CaseUnpacked", &json)?;
    state::to_json(&case)
}

/// Recalls a lot. Caller: a member of the lot's manufacturer (the GTIN owner). Writes the lot and one event;
/// returns how many packs of the lot the ledger holds (the index range read also makes a concurrent
/// commissioning into the lot fail validation).
pub fn recall(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    gtin: &Gtin,
    lot: &str,
    reason: &str,
) -> Result<Vec<u8>, ContractError> {
    let mut record = state::must_lot(ctx, gtin.as_str(), lot)?;
    if ctx.caller().msp_id != record.manufacturer {
        return Err(ContractError::Forbidden(format!(
            "access denied: caller {} may not recall lot {lot} of GTIN {gtin}: only its manufacturer {} may",
            ctx.caller(),
            record.manufacturer
        )));
    }
    if let Some(previous) = &record.recall {
        return Err(ContractError::Conflict(format!(
            "lot {lot} of GTIN {gtin} was already recalled at {} ({})",
            previous.at, previous.reason
        )));
    }
    let packs = ctx
        .get_state_by_partial_composite_key(LOT_PACK, &[gtin.as_str(), lot], 0, "")?
        .items
        .len();
    record.recall = Some(Recall {
        reason: reason.to_string(),
        org: stamp.org.clone(),
        at: stamp.time.clone(),
        tx_id: stamp.tx_id.clone(),
    });
    record.seq += 1;
    state::save(ctx, &state::lot_key(gtin.as_str(), lot)?, &record)?;
    let mut event = stamp.event(EventType::ObjectEvent, Action::Observe, "holding", "recalled");
    event.quantity_list = vec![Quantity {
        epc_class: gs1::lot_uri(gtin.as_str(), lot),
        quantity: packs as u64,
    }];
    event.reason = Some(reason.to_string());
    let json = event.to_json()?;
    ctx.put_state(
        &state::event_key(&lot_event_object(gtin.as_str(), lot), record.seq)?,
        &json,
    )?;
    ctx.set_event("LotRecalled", &json)?;
    #[derive(Serialize)]
    struct Recalled<'a> {
        gtin: &'a str,
        lot: &'a str,
        packs: usize,
        reason: &'a str,
    }
    summary(&Recalled {
        gtin: gtin.as_str(),
        lot,
        packs,
        reason,
    })
}

/// The lot record and, for each of its packs, holder and status (for recall notices). Anyone may call.
pub fn lot_status(ctx: &mut dyn Context, gtin: &Gtin, lot: &str) -> Result<Vec<u8>, ContractError> {
    let record = state::must_lot(ctx, gtin.as_str(), lot)?;
    let index = ctx.get_state_by_partial_composite_key(LOT_PACK, &[gtin.as_str(), lot], 0, "")?;
    let mut packs = Vec::with_capacity(index.items.len());
    for (key, _) in &index.items {
        let (_, attrs) = ctx.split_composite_key(key)?;
        let serial = attrs.get(2).copied().unwrap_or_default();
        let sgtin = Sgtin::new(gtin.as_str(), serial)?;
        let pack = state::must_pack(ctx, &sgtin)?;
        let (custody, _) = state::effective(ctx, &pack)?;
        packs.push(serde_json::json!({
            "sgtin": pack.label(),
            "holder": custody.holder,
            "status": custody.status,
            "parent": pack.parent.as_ref().map(|s| format!("(00){s}")),
        }));
    }
    state::to_json(&serde_json::json!({ "lot": record, "packs": packs }))
}

/// Event attributes of a lot (used by provenance).
pub fn lot_event_object<'a>(gtin: &'a str, lot: &'a str) -> [&'a str; 3] {
    ["lot", gtin, lot]
}
