//! Packs and cases as stored: custody, transfers, suspect flags, case membership, counterfeit reports.
//!
//! These records are what custody operations read and write in the endorse step, and the layout keeps
//! MVCC conflicts and write volume low: a pack and a case each have one record, and **a pack inside a case takes its custody from the case** (holder, status, location, transfer),
//! so shipping or receiving a case of 100 packs writes the case record and one event, not 100 pack records,
//! and concurrent dispensing of different packs from one case only *reads* the case. A pack's own `custody`
//! is stale while `parent` is set and is refreshed from the case when the pack leaves it.

use serde::{Deserialize, Serialize};

use chaincode_api::{Context, ContractError};

use super::{case_key, event_key, load, must_case, must_pack, pack_key, save};
use crate::gs1::{self, ObjectId};

/// Where a pack or case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// With its holder, free to move.
    InStock,
    /// Offered to another org; the sender keeps custody until the recipient accepts.
    InTransit,
    /// Given to a patient (packs only). Final.
    Dispensed,
    /// Destroyed or withdrawn. Final.
    Decommissioned,
    /// A case whose packs were taken out. Final.
    Unpacked,
}

impl Status {
    /// No further events are allowed.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Dispensed | Status::Decommissioned | Status::Unpacked
        )
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InStock => "in_stock",
            Status::InTransit => "in_transit",
            Status::Dispensed => "dispensed",
            Status::Decommissioned => "decommissioned",
            Status::Unpacked => "unpacked",
        }
    }
}

/// Our transfer status (EPCIS has no "rejected").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Waiting for the recipient.
    Offered,
    /// Custody moved to the recipient.
    Accepted,
    /// Custody stayed with the sender.
    Rejected,
}

impl TransferStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Offered => "offered",
            TransferStatus::Accepted => "accepted",
            TransferStatus::Rejected => "rejected",
        }
    }
}

/// The current or most recent transfer of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// Sender MSP id.
    pub from: String,
    /// Recipient MSP id.
    pub to: String,
    /// Offered, accepted or rejected.
    pub status: TransferStatus,
    /// Trade document reference (public); the document is in `trade_collection`.
    pub trade_doc_ref: Option<String>,
    /// Private data collection holding the trade document, if one was sent.
    pub trade_collection: Option<String>,
    /// When offered.
    pub offered_at: String,
    /// Offer transaction.
    pub offer_tx_id: String,
    /// Reject reason (or an optional accept note).
    pub reason: Option<String>,
    /// When accepted or rejected.
    pub decided_at: Option<String>,
}

/// A recorded reason: a suspect flag or a counterfeit report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    /// Human-readable reason, naming the reading / observer.
    pub reason: String,
    /// MSP id of the org that recorded it.
    pub org: String,
    /// Where, if known.
    pub gln: Option<String>,
    /// Transaction time.
    pub at: String,
    /// Transaction id.
    pub tx_id: String,
}

/// Who holds an object and in what state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Custody {
    /// MSP id of the custodian (also the owner: transfers move both).
    pub holder: String,
    /// Life-cycle status.
    pub status: Status,
    /// CBV disposition of the last event.
    pub disposition: String,
    /// Last known GLN.
    pub location: Option<String>,
    /// Current or last transfer.
    pub transfer: Option<Transfer>,
}

/// A period a pack spent in a case, in the case's event sequence numbers (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The case.
    pub sscc: String,
    /// The case's packing event.
    pub from_seq: u64,
    /// The case's last event while the pack was in it; `None` while it still is.
    pub to_seq: Option<u64>,
}

/// A serialised pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pack {
    /// GTIN-14.
    pub gtin: String,
    /// Serial.
    pub serial: String,
    /// Lot.
    pub lot: String,
    /// `YYYY-MM-DD`.
    pub expiry: String,
    /// MSP id of the org that commissioned it.
    pub commissioned_by: String,
    /// Transaction time.
    pub commissioned_at: String,
    /// Key of the batch's commissioning event.
    pub commission_event: String,
    /// The case it is in; custody then comes from the case.
    pub parent: Option<String>,
    /// Every case it has been in.
    pub memberships: Vec<Membership>,
    /// Custody when not in a case (stale while `parent` is set).
    pub custody: Custody,
    /// Suspect flags raised on the pack itself (a case's flags are copied in when the pack leaves it).
    pub suspect: Vec<Flag>,
    /// Number of the pack's last own event.
    pub seq: u64,
}

impl Pack {
    /// Attributes of the pack's event keys.
    pub fn event_object(&self) -> [&str; 3] {
        ["sgtin", &self.gtin, &self.serial]
    }

    /// `(01)…(21)…`.
    pub fn label(&self) -> String {
        format!("(01){}(21){}", self.gtin, self.serial)
    }

    /// Digital Link URI.
    pub fn uri(&self) -> String {
        gs1::sgtin_uri(&self.gtin, &self.serial)
    }

    /// Takes the pack out of `case` after the case's event `to_seq`: custody and suspect flags come along.
    pub fn leave_case(&mut self, case: &Case, to_seq: u64) {
        self.parent = None;
        if let Some(last) = self.memberships.last_mut()
            && last.sscc == case.sscc
        {
            last.to_seq = Some(to_seq);
        }
        self.custody = case.custody.clone();
        self.suspect.extend(case.suspect.iter().cloned());
    }
}

/// A case (SSCC) and what it contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// SSCC-18.
    pub sscc: String,
    /// MSP id of the org that packed it.
    pub packed_by: String,
    /// Transaction time.
    pub packed_at: String,
    /// Distinct (GTIN, lot) pairs packed, sorted; used for recall and cold-chain checks.
    pub contents: Vec<LotRef>,
    /// Packs packed (some may have left since).
    pub packs: usize,
    /// Custody of the case and of every pack still in it.
    pub custody: Custody,
    /// Suspect flags raised on the case (apply to every pack in it).
    pub suspect: Vec<Flag>,
    /// Number of the case's last event.
    pub seq: u64,
}

impl Case {
    /// Attributes of the case's event keys.
    pub fn event_object(&self) -> [&str; 2] {
        ["sscc", &self.sscc]
    }

    /// `(00)…`.
    pub fn label(&self) -> String {
        format!("(00){}", self.sscc)
    }

    /// Digital Link URI.
    pub fn uri(&self) -> String {
        format!("{}/00/{}", gs1::DIGITAL_LINK_HOST, self.sscc)
    }
}

/// A (GTIN, lot) pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LotRef {
    /// GTIN-14.
    pub gtin: String,
    /// Lot.
    pub lot: String,
}

/// Counterfeit reports about one serial. Anyone on the channel may report, so only the latest
/// [`Incidents::KEPT`] are kept; `total` counts all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incidents {
    /// Reports ever recorded.
    pub total: u64,
    /// The latest reports, oldest first.
    pub flags: Vec<Flag>,
}

impl Incidents {
    /// Reports kept per serial.
    pub const KEPT: usize = 20;

    /// Adds a report, dropping the oldest beyond [`Incidents::KEPT`].
    pub fn push(&mut self, flag: Flag) {
        self.total += 1;
        self.flags.push(flag);
        if self.flags.len() > Self::KEPT {
            let extra = self.flags.len() - Self::KEPT;
            self.flags.drain(..extra);
        }
    }
}

/// A pack with the custody that applies to it (its case's, while it is in one) and that case.
pub fn effective(ctx: &mut dyn Context, pack: &Pack) -> Result<(Custody, Option<Case>), ContractError> {
    match &pack.parent {
        Some(sscc) => {
            let case = load::<Case>(ctx, &case_key(sscc)?)?.ok_or_else(|| {
                ContractError::Internal(format!(
                    "pack {} names case (00){sscc}, which is missing",
                    pack.label()
                ))
            })?;
            Ok((case.custody.clone(), Some(case)))
        }
        None => Ok((pack.custody.clone(), None)),
    }
}

/// A pack or a case, loaded for a custody operation.
#[derive(Debug, Clone)]
pub enum Tracked {
    /// A pack (possibly inside a case).
    Pack(Pack),
    /// A case.
    Case(Case),
}

impl Tracked {
    /// Loads the named object; `NotFound` naming it.
    pub fn load(ctx: &mut dyn Context, id: &ObjectId) -> Result<Tracked, ContractError> {
        match id {
            ObjectId::Pack(sgtin) => must_pack(ctx, sgtin).map(Tracked::Pack),
            ObjectId::Case(sscc) => must_case(ctx, sscc.as_str()).map(Tracked::Case),
        }
    }

    /// Element string.
    pub fn label(&self) -> String {
        match self {
            Tracked::Pack(p) => p.label(),
            Tracked::Case(c) => c.label(),
        }
    }

    /// Digital Link URI.
    pub fn uri(&self) -> String {
        match self {
            Tracked::Pack(p) => p.uri(),
            Tracked::Case(c) => c.uri(),
        }
    }

    /// The object's own custody (for a pack in a case, see [`effective`]).
    pub fn custody_mut(&mut self) -> &mut Custody {
        match self {
            Tracked::Pack(p) => &mut p.custody,
            Tracked::Case(c) => &mut c.custody,
        }
    }

    /// The object's own suspect flags.
    pub fn suspect_mut(&mut self) -> &mut Vec<Flag> {
        match self {
            Tracked::Pack(p) => &mut p.suspect,
            Tracked::Case(c) => &mut c.suspect,
        }
    }

    /// Advances the object's event sequence and returns the new event's key.
    pub fn next_event_key(&mut self) -> Result<String, ContractError> {
        match self {
            Tracked::Pack(p) => {
                p.seq += 1;
                event_key(&p.event_object(), p.seq)
            }
            Tracked::Case(c) => {
                c.seq += 1;
                event_key(&c.event_object(), c.seq)
            }
        }
    }

    /// Writes the record.
    pub fn save(&self, ctx: &mut dyn Context) -> Result<(), ContractError> {
        match self {
            Tracked::Pack(p) => save(ctx, &pack_key(&p.gtin, &p.serial)?, p),
            Tracked::Case(c) => save(ctx, &case_key(&c.sscc)?, c),
        }
    }

    /// The (GTIN, lot) pairs it holds.
    pub fn contents(&self) -> Vec<LotRef> {
        match self {
            Tracked::Pack(p) => vec![LotRef {
                gtin: p.gtin.clone(),
                lot: p.lot.clone(),
            }],
            Tracked::Case(c) => c.contents.clone(),
        }
    }
}
