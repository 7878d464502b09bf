//! EPCIS 2.0 events as the contract stores and returns them (JSON binding, CBV 2.0 bare-word values).
//!
//! Each state change the contract endorses also writes one event in this vocabulary to public state and sets
//! it as the transaction's chaincode event, so downstream EPCIS repositories and DSCSA tracing can follow the
//! channel without knowing our record types. Field names are EPCIS's (`type`, `eventTime`, `epcList`,
//! `parentID`, `childEPCs`, `bizStep`, `disposition`, `readPoint`, `bizLocation`, `bizTransactionList`,
//! `sourceList`, `destinationList`, `sensorElementList`, `ilmd`); what EPCIS has no word for (the signing org,
//! the transaction, our transfer status and suspect / counterfeit reasons) travels in `carechain:` extension
//! fields, as EPCIS allows namespaced extensions. Time is the transaction timestamp (never a clock), printed
//! with fixed millisecond precision so that event times sort as text.

use serde::{Deserialize, Serialize};

use chaincode_api::{Context, ContractError, Timestamp};

use crate::gs1;

/// JSON-LD context for documents we return: the EPCIS 2.0 context plus our extension namespace.
pub const CONTEXT: [&str; 2] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "https://example.invalid/carechain/epcis#",
];

/// EPCIS event types we record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// Something happened to objects (commission, ship, observe, dispense, decommission, recall).
    ObjectEvent,
    /// Children packed into (ADD) or unpacked from (DELETE) a parent case.
    AggregationEvent,
    /// Objects tied to a business transaction (an accepted transfer: ownership changed).
    TransactionEvent,
}

/// EPCIS `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// Objects enter tracking (commissioning, packing, association with a transaction).
    Add,
    /// Objects seen, no lifecycle change.
    Observe,
    /// Objects leave tracking (decommissioning, unpacking).
    Delete,
}

/// A location (`readPoint` / `bizLocation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// GLN Digital Link URI.
    pub id: String,
}

/// A business transaction reference (purchase order, despatch advice…); the document itself stays private.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BizTransaction {
    /// The reference the two trading partners agreed on.
    pub biz_transaction: String,
}

/// An entry of `sourceList` / `destinationList`: the owning or possessing party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// `owning_party` or `possessing_party`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The org, as `urn:carechain:org:<MSP id>`; present in a `sourceList`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    /// The org; present in a `destinationList`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub destination: Option<String>,
}

/// A class-level quantity (used for a lot recall).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantity {
    /// Lot Digital Link URI (GTIN + lot).
    pub epc_class: String,
    /// Packs of the lot on the ledger when the event was recorded.
    pub quantity: u64,
}

/// One sensor reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorReport {
    /// `Temperature` or `Mass`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The reading.
    pub value: f64,
    /// UN/CEFACT unit: `CEL` or `KGM`.
    pub uom: String,
}

/// Readings taken at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorElement {
    /// When the readings were taken (the transaction time).
    pub sensor_metadata: SensorMetadata,
    /// The readings.
    pub sensor_report: Vec<SensorReport>,
}

/// `sensorMetadata` (time only: we do not identify devices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorMetadata {
    /// Event time of the readings.
    pub time: String,
}

/// Instance / lot master data recorded at commissioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ilmd {
    /// Lot number (GS1 AI 10).
    #[serde(rename = "cbvmda:lotNumber")]
    pub lot_number: String,
    /// Expiry date (GS1 AI 17), `YYYY-MM-DD`.
    #[serde(rename = "cbvmda:itemExpirationDate")]
    pub item_expiration_date: String,
}

/// One EPCIS event, stored as JSON under its object's event key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Unique id: `urn:carechain:event:<tx id>:<n>`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Transaction time, UTC, millisecond precision.
    pub event_time: String,
    /// Always `+00:00` (transaction timestamps are UTC).
    pub event_time_zone_offset: String,
    /// Instance-level objects (ObjectEvent, TransactionEvent).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub epc_list: Vec<String>,
    /// The case (AggregationEvent).
    #[serde(rename = "parentID", skip_serializing_if = "Option::is_none", default)]
    pub parent_id: Option<String>,
    /// The packs (AggregationEvent).
    #[serde(rename = "childEPCs", skip_serializing_if = "Vec::is_empty", default)]
    pub child_epcs: Vec<String>,
    /// Class-level objects (a recalled lot).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub quantity_list: Vec<Quantity>,
    /// ADD / OBSERVE / DELETE.
    pub action: Action,
    /// CBV business step.
    pub biz_step: String,
    /// CBV disposition after the event.
    pub disposition: String,
    /// Where the event was captured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub read_point: Option<Place>,
    /// Where the objects are afterwards.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub biz_location: Option<Place>,
    /// Trade document references (never the documents).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub biz_transaction_list: Vec<BizTransaction>,
    /// Sender of a transfer.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub source_list: Vec<Party>,
    /// Recipient of a transfer.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub destination_list: Vec<Party>,
    /// Temperature / weight readings.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub sensor_element_list: Vec<SensorElement>,
    /// Lot and expiry (commissioning only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ilmd: Option<Ilmd>,
    /// MSP id of the org whose member signed the transaction.
    #[serde(rename = "carechain:org")]
    pub org: String,
    /// The transaction.
    #[serde(rename = "carechain:txId")]
    pub tx_id: String,
    /// `offered`, `accepted` or `rejected` for transfer events (CBV has no "rejected").
    #[serde(
        rename = "carechain:transferStatus",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub transfer_status: Option<String>,
    /// Why: a reject reason, decommission reason, recall reason, inspection note.
    #[serde(rename = "carechain:reason", skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Suspect reasons this event raised (e.g. a temperature excursion) or cleared.
    #[serde(rename = "carechain:suspect", skip_serializing_if = "Vec::is_empty", default)]
    pub suspect: Vec<String>,
    /// Counterfeit suspicion this event reports.
    #[serde(
        rename = "carechain:counterfeit",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub counterfeit: Option<String>,
}

/// What every event of one transaction shares: time, transaction, signing org.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The transaction timestamp.
    pub ts: Timestamp,
    /// [`event_time`] of `ts`.
    pub time: String,
    /// UTC date `YYYY-MM-DD` of `ts`.
    pub date: String,
    /// Days since 1970-01-01 of `ts`.
    pub day: i64,
    /// Transaction id.
    pub tx_id: String,
    /// Caller's MSP id.
    pub org: String,
}

impl Stamp {
    /// The stamp of the running transaction.
    pub fn of(ctx: &dyn Context) -> Stamp {
        let ts = ctx.tx().timestamp;
        let (date, day) = gs1::tx_date(ts);
        Stamp {
            ts,
            time: event_time(ts),
            date,
            day,
            tx_id: ctx.tx().tx_id.clone(),
            org: ctx.caller().msp_id.clone(),
        }
    }

    /// The transaction's event (a transaction records one event, so the id is `…:<tx id>:0`).
    pub fn event(&self, event_type: EventType, action: Action, biz_step: &str, disposition: &str) -> Event {
        Event {
            event_type,
            event_id: format!("urn:carechain:event:{}:0", self.tx_id),
            event_time: self.time.clone(),
            event_time_zone_offset: "+00:00".into(),
            epc_list: Vec::new(),
            parent_id: None,
            child_epcs: Vec::new(),
            quantity_list: Vec::new(),
            action,
            biz_step: biz_step.into(),
            disposition: disposition.into(),
            read_point: None,
            biz_location: None,
            biz_transaction_list: Vec::new(),
            source_list: Vec::new(),
            destination_list: Vec::new(),
            sensor_element_list: Vec::new(),
            ilmd: None,
            org: self.org.clone(),
            tx_id: self.tx_id.clone(),
            transfer_status: None,
            reason: None,
            suspect: Vec::new(),
            counterfeit: None,
        }
    }
}

impl Event {
    /// Sets `readPoint` and `bizLocation` to `gln` (when given).
    pub fn at(mut self, gln: Option<&str>) -> Event {
        if let Some(gln) = gln {
            let place = Place {
                id: gs1::gln_uri(gln),
            };
            self.read_point = Some(place.clone());
            self.biz_location = Some(place);
        }
        self
    }

    /// Adds `owning_party` and `possessing_party` source and destination entries for a transfer.
    pub fn parties(mut self, from: &str, to: &str) -> Event {
        for kind in ["owning_party", "possessing_party"] {
            self.source_list.push(Party {
                kind: kind.into(),
                source: Some(org_uri(from)),
                destination: None,
            });
            self.destination_list.push(Party {
                kind: kind.into(),
                source: None,
                destination: Some(org_uri(to)),
            });
        }
        self
    }

    /// Sort key for provenance: time, then transaction, then event id.
    pub fn order_key(&self) -> (&str, &str, &str) {
        (&self.event_time, &self.tx_id, &self.event_id)
    }

    /// Compact JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        crate::state::to_json(self)
    }
}

/// An org as a party URI.
pub fn org_uri(msp_id: &str) -> String {
    format!("urn:carechain:org:{msp_id}")
}

/// Sensor readings as one `sensorElementList` entry (empty when there are none).
pub fn sensors(time: &str, temperature: Option<f64>, weight: Option<f64>) -> Vec<SensorElement> {
    let mut reports = Vec::new();
    if let Some(value) = temperature {
        reports.push(SensorReport {
            kind: "Temperature".into(),
            value,
            uom: "CEL".into(),
        });
    }
    if let Some(value) = weight {
        reports.push(SensorReport {
            kind: "Mass".into(),
            value,
            uom: "KGM".into(),
        });
    }
    if reports.is_empty() {
        return Vec::new();
    }
    vec![SensorElement {
        sensor_metadata: SensorMetadata { time: time.into() },
        sensor_report: reports,
    }]
}

/// `2024-01-01T00:00:00.000Z`: RFC 3339 UTC with exactly three fractional digits, so times sort as text.
pub fn event_time(ts: Timestamp) -> String {
    let nanos = i64::from(ts.nanos);
    let seconds = ts.seconds.saturating_add(nanos.div_euclid(1_000_000_000));
    let millis = nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let whole = Timestamp::new(seconds, 0).to_rfc3339();
    let base = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{base}.{millis:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_have_fixed_precision_and_sort_as_text() {
        assert_eq!(
            event_time(Timestamp::new(1_704_067_200, 0)),
            "2024-01-01T00:00:00.000Z"
        );
        assert_eq!(
            event_time(Timestamp::new(1_704_067_200, 250_000_000)),
            "2024-01-01T00:00:00.250Z"
        );
        assert!(event_time(Timestamp::new(1, 0)) > event_time(Timestamp::new(0, 999_000_000)));
    }

    #[test]
    fn sensor_elements_only_when_there_are_readings() {
        assert!(sensors("t", None, None).is_empty());
        let list = sensors("t", Some(9.5), Some(1.25));
        assert_eq!(list[0].sensor_report.len(), 2);
        assert_eq!(list[0].sensor_report[0].uom, "CEL");
    }
}
