//! HIPAA Safe Harbor (45 CFR 164.514(b)(2)) enforced at the store, whatever the chaincode sent.
//!
//! The `records` contract already de-identifies its `DeidentifiedEntry` events, but the store does not rely
//! on it: every event goes through [`sanitize`] before a row is written, so a buggy or older contract, or
//! another contract emitting the same event, cannot put identifying data into the analytics dataset.
//!
//! - Dates keep only their year (`date`, `effectiveDateTime` → `year`).
//! - Ages become five-year bands; every age over 89 becomes `90+`, and the birth year of such a person is
//!   suppressed (as is any birth year that could indicate an age of 90 or more).
//! - ZIP codes keep their first three digits; the restricted three-digit areas ([`RestrictedZip3`], by
//!   default HHS's list of prefixes with 20,000 or fewer people) and anything that is not a US ZIP become
//!   `000`.
//! - No free text: only known fields are read, the category must be a code, and every other field is
//!   dropped (its name is reported, never its value).
//!
//! Pure: no IO. The sync applies it in its writer thread before the database transaction.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// HHS's restricted three-digit ZIP prefixes (2000 Census: 20,000 or fewer people), published as `000`.
pub const HHS_RESTRICTED_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884",
    "890", "893",
];

/// The published ZIP3 of an unknown, foreign or restricted ZIP code.
pub const SUPPRESSED_ZIP3: &str = "000";

/// The age band of everyone aged 90 or more.
pub const OVER_89: &str = "90+";

/// The band, sex or ZIP of unknown value.
pub const UNKNOWN: &str = "unknown";

/// The three-digit ZIP prefixes published as `000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictedZip3(BTreeSet<String>);

impl Default for RestrictedZip3 {
    fn default() -> Self {
        RestrictedZip3::hhs()
    }
}

impl RestrictedZip3 {
    /// HHS's list.
    pub fn hhs() -> Self {
        RestrictedZip3(HHS_RESTRICTED_ZIP3.iter().map(|p| p.to_string()).collect())
    }

    /// A table from prefixes, each exactly three digits.
    pub fn new<S: AsRef<str>>(prefixes: impl IntoIterator<Item = S>) -> Result<Self, TableError> {
        let mut set = BTreeSet::new();
        for p in prefixes {
            let p = p.as_ref().trim();
            if p.len() != 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TableError(p.to_string()));
            }
            set.insert(p.to_string());
        }
        Ok(RestrictedZip3(set))
    }

    /// Parses a table file: one prefix per line; blank lines and `#` comments are ignored.
    pub fn parse(text: &str) -> Result<Self, TableError> {
        RestrictedZip3::new(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty()),
        )
    }

    /// Whether `prefix` is restricted.
    pub fn contains(&self, prefix: &str) -> bool {
        self.0.contains(prefix)
    }

    /// The prefixes, sorted.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A restricted-prefix table entry that is not three digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restricted ZIP3 prefix {0:?} is not three digits")]
pub struct TableError(pub String);

/// One de-identified row, as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeidRow {
    /// Record category code (e.g. `laboratory`, `vital-signs`).
    pub category: String,
    /// Year of the clinical date.
    pub year: i32,
    /// `0-4`, …, `85-89`, `90+` or `unknown`.
    pub age_band: String,
    /// Year of birth, only when known and not indicative of an age over 89.
    pub birth_year: Option<i32>,
    /// `male`, `female`, `other` or `unknown`.
    pub sex: String,
    /// First three ZIP digits, or `000`.
    pub zip3: String,
}

/// An event turned into a row, with the research token it belongs to (never stored as such).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    /// The patient's research token from the event.
    pub token: String,
    /// The row.
    pub row: DeidRow,
    /// Names of fields that were dropped (unknown fields may carry free text).
    pub dropped: Vec<String>,
}

/// Why an event cannot become a row. Messages name fields, never their values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The payload is not a JSON object.
    #[error("payload is not a JSON object")]
    NotAnObject,
    /// No usable research token.
    #[error("researchToken is missing or not 32 to 128 lowercase hex digits")]
    Token,
    /// No category code.
    #[error("category is missing or not a code (1 to 64 letters, digits, '-', '_', '.', ':')")]
    Category,
    /// No year.
    #[error("no year: year, date or effectiveDateTime is missing or out of range")]
    Year,
}

/// Fields read from an event; every other field is dropped.
const KNOWN: &[&str] = &[
    "researchToken",
    "category",
    "year",
    "date",
    "effectiveDateTime",
    "ageBand",
    "age",
    "birthDate",
    "birthYear",
    "sex",
    "gender",
    "zip3",
    "zip",
    "postalCode",
];

/// Turns an event payload into a Safe Harbor row.
pub fn sanitize(payload: &[u8], restricted: &RestrictedZip3) -> Result<Sanitized, Rejected> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| Rejected::NotAnObject)?;
    let Value::Object(fields) = value else {
        return Err(Rejected::NotAnObject);
    };
    let token = text(&fields, "researchToken")
        .filter(|t| is_token(t))
        .ok_or(Rejected::Token)?
        .to_string();
    let category = text(&fields, "category")
        .filter(|c| is_code(c))
        .ok_or(Rejected::Category)?
        .to_string();
    let on = text(&fields, "date")
        .or_else(|| text(&fields, "effectiveDateTime"))
        .and_then(Date::parse_partial);
    let year = integer(&fields, "year")
        .and_then(|y| i32::try_from(y).ok())
        .or(on.map(|d| d.year))
        .filter(|y| (1800..=2999).contains(y))
        .ok_or(Rejected::Year)?;
    let (age_band, birth_year) = age(&fields, year, on);
    let sex = text(&fields, "sex")
        .or_else(|| text(&fields, "gender"))
        .map(sex_code)
        .unwrap_or(UNKNOWN)
        .to_string();
    let zip3 = match text(&fields, "zip3") {
        Some(z) => zip3_of_prefix(z, restricted),
        None => zip3(
            text(&fields, "zip").or_else(|| text(&fields, "postalCode")),
            restricted,
        ),
    };
    let dropped = fields
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok(Sanitized {
        token,
        row: DeidRow {
            category,
            year,
            age_band,
            birth_year,
            sex,
            zip3,
        },
        dropped,
    })
}

/// The age band and publishable birth year. A birth date wins over an age, which wins over a band.
fn age(fields: &Map<String, Value>, year: i32, on: Option<Date>) -> (String, Option<i32>) {
    let birth = text(fields, "birthDate")
        .and_then(Date::parse_partial)
        .or_else(|| {
            integer(fields, "birthYear")
                .and_then(|y| i32::try_from(y).ok())
                .map(|year| Date {
                    year,
                    month: None,
                    day: None,
                })
        });
    let age = match birth {
        Some(b) => Some(age_at(b, on, year)),
        None => integer(fields, "age"),
    };
    let band = match age {
        Some(a) => age_band(a),
        None => text(fields, "ageBand")
            .map(normalize_band)
            .unwrap_or_else(|| UNKNOWN.into()),
    };
    // The birth year indicates the age: withhold it whenever the person could be 90 or more that year.
    let birth_year = birth
        .map(|b| b.year)
        .filter(|by| band != OVER_89 && band != UNKNOWN && year - by < 90);
    (band, birth_year)
}

/// Age in whole years at `on` (or, with only a year, the largest age possible in that year, so the 90+
/// rule errs on the side of aggregation).
fn age_at(birth: Date, on: Option<Date>, year: i32) -> i64 {
    let Some(on) = on.filter(|d| d.year == year) else {
        return i64::from(year - birth.year);
    };
    let mut age = i64::from(on.year - birth.year);
    let before_birthday = match (on.month, birth.month) {
        (Some(m), Some(bm)) if m != bm => m < bm,
        (Some(_), Some(_)) => matches!((on.day, birth.day), (Some(d), Some(bd)) if d < bd),
        _ => false,
    };
    if before_birthday {
        age -= 1;
    }
    age
}

/// Five-year band of `age`; every age over 89 is `90+`.
pub fn age_band(age: i64) -> String {
    match age {
        a if a < 0 => UNKNOWN.into(),
        a if a >= 90 => OVER_89.into(),
        a => {
            let low = a - a % 5;
            format!("{low}-{}", low + 4)
        }
    }
}

/// A band as sent, re-derived from its lower bound (`95-99` → `90+`, `37-39` → `35-39`).
pub fn normalize_band(band: &str) -> String {
    let band = band.trim();
    if band == OVER_89 {
        return OVER_89.into();
    }
    let low: String = band.chars().take_while(char::is_ascii_digit).collect();
    match low.parse::<i64>() {
        Ok(a) if !low.is_empty() => age_band(a),
        _ => UNKNOWN.into(),
    }
}

/// ZIP3 of a five-digit or ZIP+4 US ZIP code, `000` if restricted or not a US ZIP.
pub fn zip3(code: Option<&str>, restricted: &RestrictedZip3) -> String {
    let Some(code) = code.map(str::trim) else {
        return SUPPRESSED_ZIP3.into();
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let us = match code.split_once('-') {
        Some((five, four)) => five.len() == 5 && digits(five) && four.len() == 4 && digits(four),
        None => code.len() == 5 && digits(code),
    };
    if !us {
        return SUPPRESSED_ZIP3.into();
    }
    zip3_of_prefix(&code[..3], restricted)
}

/// A ZIP3 as sent: three digits and not restricted, else `000`.
pub fn zip3_of_prefix(prefix: &str, restricted: &RestrictedZip3) -> String {
    let prefix = prefix.trim();
    if prefix.len() == 3 && prefix.bytes().all(|b| b.is_ascii_digit()) && !restricted.contains(prefix) {
        prefix.to_string()
    } else {
        SUPPRESSED_ZIP3.into()
    }
}

fn sex_code(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "male" => "male",
        "female" => "female",
        "other" => "other",
        _ => UNKNOWN,
    }
}

/// A code: 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:` (no spaces, so no free text).
pub fn is_code(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A research token: 32 to 128 lowercase hex digits.
pub fn is_token(s: &str) -> bool {
    (32..=128).contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

fn integer(fields: &Map<String, Value>, name: &str) -> Option<i64> {
    match fields.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An ISO 8601 date or the date part of a date-time, possibly partial (`2024`, `2024-03`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    year: i32,
    month: Option<u8>,
    day: Option<u8>,
}

impl Date {
    fn parse_partial(s: &str) -> Option<Date> {
        let date = s.trim().split('T').next()?;
        let mut parts = date.split('-');
        let year = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
        let month = parts
            .next()
            .map(|m| m.parse::<u8>().ok().filter(|m| (1..=12).contains(m)))
            .map_or(Ok(None), |m| m.map(Some).ok_or(()))
            .ok()?;
        let day = parts
            .next()
            .map(|d| d.parse::<u8>().ok().filter(|d| (1..=31).contains(d)))
            .map_or(Ok(None), |d| d.map(Some).ok_or(()))
            .ok()?;
        Some(Date { year, month, day })
    }
}

#[cfg(test)]
mod tests;
