//! GS1 identifiers: GTIN-14, SSCC-18, GLN-13 (with their mod-10 check digits), serials, lots, company
//! prefixes, expiry dates, and the text forms clients use to name a pack or a case.
//!
//! Everything here is pure and runs first in the endorse step (from `action`), so a mistyped barcode is
//! refused with a `BadRequest` naming the value before the contract reads any state. The printed forms are
//! GS1 element strings (`(01)…(21)…`, `(00)…`) for people and GS1 Digital Link URIs (`https://id.gs1.org/…`)
//! for EPCIS events: EPCIS 2.0 accepts Digital Link URIs as EPCs, and unlike EPC URNs they need no knowledge of
//! the company prefix length, so an unknown serial can be printed too.

use std::fmt;

use chaincode_api::{ContractError, Timestamp};

/// Host of GS1 Digital Link URIs we print.
pub const DIGITAL_LINK_HOST: &str = "https://id.gs1.org";

/// Shortest and longest GS1 company prefix we accept (GS1 allocates 6 to 12 digits inside a GTIN).
pub const PREFIX_LENGTHS: std::ops::RangeInclusive<usize> = 6..=12;

/// GS1 AI 21 / AI 10 length limit, also the DSCSA serial limit.
const MAX_SERIAL_OR_LOT: usize = 20;

/// The GS1 mod-10 check digit of `body` (all digits, check digit excluded): weights 3,1,3,… from the right.
/// `None` if `body` is empty or has a non-digit.
pub fn check_digit(body: &str) -> Option<u8> {
    if body.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in body.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let weight = if i % 2 == 0 { 3 } else { 1 };
        sum += u32::from(c - b'0') * weight;
    }
    // (10 - sum % 10) % 10 is below 10, so it fits in a u8.
    Some(((10 - sum % 10) % 10) as u8)
}

/// `body` followed by its check digit (handy for building synthetic test identifiers).
pub fn with_check_digit(body: &str) -> Option<String> {
    check_digit(body).map(|d| format!("{body}{d}"))
}

/// Checks a fixed-length numeric GS1 key: length, digits only, check digit.
fn numeric_key(kind: &str, value: &str, len: usize) -> Result<(), ContractError> {
    if value.len() != len || !value.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(format!("{kind} {value:?} must be exactly {len} digits")));
    }
    let (body, last) = value.split_at(len - 1);
    let expected = check_digit(body).unwrap_or_default();
    if last.as_bytes()[0] - b'0' != expected {
        return Err(bad(format!(
            "{kind} {value:?} has a wrong check digit: expected {expected}, found {last}"
        )));
    }
    Ok(())
}

fn bad(message: String) -> ContractError {
    ContractError::BadRequest(message)
}

macro_rules! gs1_key {
    ($name:ident, $kind:literal, $len:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates length, digits and check digit; `BadRequest` naming the value otherwise.
            pub fn parse(value: &str) -> Result<$name, ContractError> {
                numeric_key($kind, value, $len)?;
                Ok($name(value.to_string()))
            }

            /// The digits.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

gs1_key!(
    Gtin,
    "GTIN-14",
    14,
    "A GTIN-14 (indicator digit, company prefix, item reference, check digit)."
);
gs1_key!(
    Sscc,
    "SSCC-18",
    18,
    "An SSCC-18: the serial shipping container code of a case or pallet."
);
gs1_key!(
    Gln,
    "GLN",
    13,
    "A GLN-13: a location (plant, warehouse, pharmacy)."
);

impl Gtin {
    /// The GTIN's possible company prefixes, shortest first: the digits after the indicator digit, 6 to 12 long.
    pub fn prefix_candidates(&self) -> impl Iterator<Item = &str> {
        PREFIX_LENGTHS.map(|len| &self.0[1..1 + len])
    }

    /// Whether `prefix` is this GTIN's company prefix.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0[1..].starts_with(prefix)
    }
}

impl Sscc {
    /// `(00)` element string.
    pub fn element_string(&self) -> String {
        format!("(00){}", self.0)
    }

    /// Digital Link URI, used as the EPC in events.
    pub fn uri(&self) -> String {
        format!("{DIGITAL_LINK_HOST}/00/{}", self.0)
    }
}

impl Gln {
    /// Digital Link URI of the location (AI 414), used for `readPoint` / `bizLocation`.
    pub fn uri(&self) -> String {
        format!("{DIGITAL_LINK_HOST}/414/{}", self.0)
    }
}

/// A GLN's Digital Link URI from stored digits.
pub fn gln_uri(gln: &str) -> String {
    format!("{DIGITAL_LINK_HOST}/414/{gln}")
}

/// A serialised pack: GTIN + serial (GS1 AI 01 + AI 21).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sgtin {
    /// The product.
    pub gtin: Gtin,
    /// The serial, 1–20 characters A–Z, a–z, 0–9.
    pub serial: String,
}

impl Sgtin {
    /// A pack from its parts, validating both.
    pub fn new(gtin: &str, serial: &str) -> Result<Sgtin, ContractError> {
        Ok(Sgtin {
            gtin: Gtin::parse(gtin)?,
            serial: parse_serial(serial)?.to_string(),
        })
    }

    /// `(01)<gtin>(21)<serial>` element string.
    pub fn element_string(&self) -> String {
        format!("(01){}(21){}", self.gtin, self.serial)
    }

    /// Digital Link URI, used as the EPC in events.
    pub fn uri(&self) -> String {
        sgtin_uri(self.gtin.as_str(), &self.serial)
    }
}

impl fmt::Display for Sgtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.element_string())
    }
}

/// A pack's Digital Link URI from stored parts.
pub fn sgtin_uri(gtin: &str, serial: &str) -> String {
    format!("{DIGITAL_LINK_HOST}/01/{gtin}/21/{serial}")
}

/// A lot's Digital Link URI (GTIN + AI 10), the EPCIS class identifier used in a recall's `quantityList`.
pub fn lot_uri(gtin: &str, lot: &str) -> String {
    format!("{DIGITAL_LINK_HOST}/01/{gtin}/10/{lot}")
}

/// What a trade or custody operation names: one pack or one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectId {
    /// A serialised pack.
    Pack(Sgtin),
    /// A case (logistic unit).
    Case(Sscc),
}

impl ObjectId {
    /// Accepts `(01)<gtin>(21)<serial>`, `(00)<sscc>`, a bare 18-digit SSCC, or a GS1 Digital Link URI
    /// (`…/01/<gtin>[/10/<lot>]/21/<serial>` or `…/00/<sscc>`; a lot in the URI is ignored, the serial decides).
    pub fn parse(text: &str) -> Result<ObjectId, ContractError> {
        if let Some(rest) = text.strip_prefix("(00)") {
            return Ok(ObjectId::Case(Sscc::parse(rest)?));
        }
        if text.starts_with("(01)") {
            return parse_sgtin(text).map(ObjectId::Pack);
        }
        if text.len() == 18 && text.bytes().all(|c| c.is_ascii_digit()) {
            return Ok(ObjectId::Case(Sscc::parse(text)?));
        }
        if let Some(segments) = digital_link_segments(text) {
            match segments.as_slice() {
                ["00", sscc] => return Ok(ObjectId::Case(Sscc::parse(sscc)?)),
                ["01", gtin, "21", serial] | ["01", gtin, "10", _, "21", serial] => {
                    return Ok(ObjectId::Pack(Sgtin::new(gtin, serial)?));
                }
                _ => {}
            }
        }
        Err(bad(format!(
            "{text:?} is not a pack or case identifier: use (01)<GTIN-14>(21)<serial>, (00)<SSCC-18>, or a GS1 \
             Digital Link URI"
        )))
    }

    /// The element string.
    pub fn label(&self) -> String {
        match self {
            ObjectId::Pack(p) => p.element_string(),
            ObjectId::Case(c) => c.element_string(),
        }
    }
}

/// Parses a pack identifier (element string or Digital Link); `BadRequest` for anything else, cases included.
pub fn parse_sgtin(text: &str) -> Result<Sgtin, ContractError> {
    if let Some(rest) = text.strip_prefix("(01)") {
        let (gtin, serial) = rest.split_once("(21)").ok_or_else(|| {
            bad(format!(
                "pack identifier {text:?} must be (01)<GTIN-14>(21)<serial>"
            ))
        })?;
        return Sgtin::new(gtin, serial);
    }
    match ObjectId::parse(text)? {
        ObjectId::Pack(sgtin) => Ok(sgtin),
        ObjectId::Case(sscc) => Err(bad(format!(
            "{text:?} names case {} but a pack (SGTIN) is required",
            sscc.element_string()
        ))),
    }
}

/// Path segments of an http(s) URI, without query or fragment; `None` if `text` is not one.
fn digital_link_segments(text: &str) -> Option<Vec<&str>> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))?;
    let path = &rest[rest.find('/')? + 1..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    Some(path.split('/').filter(|s| !s.is_empty()).collect())
}

/// A serial (GS1 AI 21): 1–20 characters from A–Z, a–z, 0–9 (the alphanumeric subset of GS1's character set 82
/// that DSCSA product identifiers use; it needs no escaping in element strings, URIs or composite keys).
pub fn parse_serial(serial: &str) -> Result<&str, ContractError> {
    if serial.is_empty()
        || serial.len() > MAX_SERIAL_OR_LOT
        || !serial.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(bad(format!(
            "serial {serial:?} must be 1-{MAX_SERIAL_OR_LOT} characters A-Z, a-z, 0-9 (GS1 AI 21)"
        )));
    }
    Ok(serial)
}

/// A lot / batch number (GS1 AI 10): 1–20 characters from A–Z, a–z, 0–9 and `-._`.
pub fn parse_lot(lot: &str) -> Result<&str, ContractError> {
    let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
    if lot.is_empty() || lot.len() > MAX_SERIAL_OR_LOT || !lot.bytes().all(allowed) {
        return Err(bad(format!(
            "lot {lot:?} must be 1-{MAX_SERIAL_OR_LOT} characters A-Z, a-z, 0-9, '-', '.', '_' (GS1 AI 10)"
        )));
    }
    Ok(lot)
}

/// A GS1 company prefix: 6 to 12 digits.
pub fn parse_company_prefix(prefix: &str) -> Result<&str, ContractError> {
    if !PREFIX_LENGTHS.contains(&prefix.len()) || !prefix.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(format!(
            "GS1 company prefix {prefix:?} must be {} to {} digits",
            PREFIX_LENGTHS.start(),
            PREFIX_LENGTHS.end()
        )));
    }
    Ok(prefix)
}

/// An expiry date as `YYYY-MM-DD`, from `YYYY-MM-DD` or GS1 AI 17 `YYMMDD` (read as 20YY; day `00` means the
/// last day of the month, as GS1 specifies). `BadRequest` naming the value for anything else.
pub fn parse_expiry(text: &str) -> Result<String, ContractError> {
    let invalid = || {
        bad(format!(
            "expiry {text:?} must be a date YYYY-MM-DD or YYMMDD (GS1 AI 17)"
        ))
    };
    let digits = |s: &str| -> Result<u32, ContractError> {
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    let (year, month, day) = match text.len() {
        10 if &text[4..5] == "-" && &text[7..8] == "-" => {
            (digits(&text[..4])?, digits(&text[5..7])?, digits(&text[8..])?)
        }
        6 => (
            2000 + digits(&text[..2])?,
            digits(&text[2..4])?,
            digits(&text[4..])?,
        ),
        _ => return Err(invalid()),
    };
    if !(1..=12).contains(&month) {
        return Err(invalid());
    }
    let last = days_in_month(i64::from(year), month);
    let day = match day {
        0 if text.len() == 6 => last,
        d if (1..=last).contains(&d) => d,
        _ => return Err(invalid()),
    };
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date produced by [`parse_expiry`] (Howard Hinnant's algorithm);
/// `None` if the text is not such a date.
pub fn epoch_day(date: &str) -> Option<i64> {
    let year: i64 = date.get(..4)?.parse().ok()?;
    let month: i64 = date.get(5..7)?.parse().ok()?;
    let day: i64 = date.get(8..10)?.parse().ok()?;
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The UTC date (`YYYY-MM-DD`) and epoch day of a transaction timestamp.
pub fn tx_date(ts: Timestamp) -> (String, i64) {
    let text = ts.to_rfc3339();
    let date = text.get(..10).unwrap_or_default().to_string();
    let day = ts
        .seconds
        .saturating_add(i64::from(ts.nanos).div_euclid(1_000_000_000))
        .div_euclid(86_400);
    (date, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_day_matches_the_timestamp_calendar() {
        assert_eq!(epoch_day("1970-01-01"), Some(0));
        assert_eq!(epoch_day("2024-01-01"), Some(19_723));
        assert_eq!(epoch_day("2000-03-01"), Some(11_017));
        let (date, day) = tx_date(Timestamp::new(1_709_294_400, 0));
        assert_eq!(date, "2024-03-01");
        assert_eq!(epoch_day(&date), Some(day));
    }

    #[test]
    fn digital_link_paths_are_split() {
        assert_eq!(
            digital_link_segments("https://id.gs1.org/01/1/21/x?17=260101"),
            Some(vec!["01", "1", "21", "x"])
        );
        assert_eq!(digital_link_segments("ftp://x/01"), None);
    }
}
