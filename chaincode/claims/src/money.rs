//! Money and dates as the claims contract reads them: exact decimals and validated FHIR dates.
//!
//! Claim amounts are checked and summed inside the endorse step, on every endorser, and the results must
//! match byte for byte; binary floating point is therefore out. An [`Amount`] is an integer count of
//! hundredths (cents for USD/EUR), parsed from FHIR's decimal written as a JSON string (`"150.00"`) or a JSON
//! integer (`150`). A JSON number with a fraction (`150.5`) is refused, because serde_json would already have
//! turned it into an `f64`. A [`FhirDate`] is a full `YYYY-MM-DD` date checked against the calendar, so
//! service dates and coverage periods compare as plain strings.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hundredths per whole unit.
const SCALE: i64 = 100;

/// Largest whole-unit magnitude accepted (a trillion), so sums over thousands of items cannot overflow.
const MAX_UNITS: i64 = 1_000_000_000_000;

/// An exact amount in hundredths of a currency unit; may be negative when parsed (the contract's rules
/// refuse negatives where FHIR does not allow them, with a message naming the field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `minor` hundredths (e.g. cents).
    pub const fn from_minor(minor: i64) -> Amount {
        Amount(minor)
    }

    /// The amount in hundredths.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self × n`, or `None` on overflow.
    pub fn checked_mul(self, n: u32) -> Option<Amount> {
        self.0.checked_mul(i64::from(n)).map(Amount)
    }

    /// Parses FHIR's decimal lexical form (`-?digits(.digits)?`), at most two significant decimal places
    /// (further digits must be zeros); no exponent, sign `+`, or whitespace.
    pub fn parse(text: &str) -> Result<Amount, String> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (body.contains('.') && !digits(fraction)) {
            return Err(format!(
                "amount {text:?} is not a decimal such as \"150.00\" (digits, optional '-' and '.')"
            ));
        }
        if fraction.len() > 2 && fraction.bytes().skip(2).any(|b| b != b'0') {
            return Err(format!("amount {text:?} has more than two decimal places"));
        }
        let units: i64 = whole
            .parse()
            .ok()
            .filter(|u| *u <= MAX_UNITS)
            .ok_or_else(|| format!("amount {text:?} is too large (limit {MAX_UNITS})"))?;
        let cents_text = format!("{:0<2}", &fraction[..fraction.len().min(2)]);
        let cents: i64 = cents_text.parse().unwrap_or(0);
        let minor = units * SCALE + cents;
        Ok(Amount(if negative { -minor } else { minor }))
    }

    fn from_units(units: i128) -> Result<Amount, String> {
        if units.abs() > i128::from(MAX_UNITS) {
            return Err(format!("amount {units} is too large (limit {MAX_UNITS})"));
        }
        // |units| ≤ MAX_UNITS, so the product fits in i64.
        Ok(Amount(units as i64 * SCALE))
    }
}

impl fmt::Display for Amount {
    /// Always two decimals: `150.00`, `-5.00`, `0.07`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = SCALE.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / scale, abs % scale)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        deserializer.deserialize_any(AmountVisitor)
    }
}

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a string (\"150.00\") or a whole number")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Amount, E> {
        Amount::parse(text).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Amount, E> {
        Amount::from_units(i128::from(n)).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Amount, E> {
        Amount::from_units(i128::from(n)).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Amount, E> {
        Err(E::custom(format!(
            "amount {n} is a JSON number with a fraction; send decimals as strings such as \"{n:.2}\" so no \
             endorser parses them as binary floating point"
        )))
    }
}

/// A FHIR `date` with day precision (`YYYY-MM-DD`), checked against the Gregorian calendar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FhirDate(String);

impl FhirDate {
    /// The date as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Validates `text` as `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<FhirDate, String> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        let invalid = || format!("date {text:?} is not a calendar date in the form YYYY-MM-DD");
        if !shape_ok {
            return Err(invalid());
        }
        let field = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
        let (year, month, day) = (field(0..4), field(5..7), field(8..10));
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(invalid());
        }
        Ok(FhirDate(text.to_string()))
    }
}

impl TryFrom<String> for FhirDate {
    type Error = String;

    fn try_from(text: String) -> Result<FhirDate, String> {
        FhirDate::parse(&text)
    }
}

impl From<FhirDate> for String {
    fn from(date: FhirDate) -> String {
        date.0
    }
}

impl fmt::Display for FhirDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        let cases = [
            ("150.00", 15_000),
            ("150", 15_000),
            ("0.07", 7),
            ("12.5", 1_250),
            ("-5.00", -500),
            ("1.2300", 123),
        ];
        for (text, minor) in cases {
            assert_eq!(Amount::parse(text), Ok(Amount::from_minor(minor)), "{text}");
        }
        for bad in [
            "",
            "1.",
            ".5",
            "1e3",
            "+1",
            " 1",
            "1.234",
            "abc",
            "1,00",
            "9999999999999",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn amounts_print_with_two_decimals() {
        assert_eq!(Amount::from_minor(15_000).to_string(), "150.00");
        assert_eq!(Amount::from_minor(-507).to_string(), "-5.07");
        assert_eq!(Amount::from_minor(7).to_string(), "0.07");
    }

    #[test]
    fn json_accepts_strings_and_integers_but_not_fractions() {
        let a: Amount = serde_json::from_str("\"99.90\"").expect("string");
        assert_eq!(a, Amount::from_minor(9_990));
        let b: Amount = serde_json::from_str("42").expect("integer");
        assert_eq!(b, Amount::from_minor(4_200));
        let err = serde_json::from_str::<Amount>("42.5").expect_err("float");
        assert!(err.to_string().contains("send decimals as strings"), "{err}");
        assert_eq!(serde_json::to_string(&a).expect("serialize"), "\"99.90\"");
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert!(FhirDate::parse("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-1-01",
            "20240101",
            "2024-01-01T00",
        ] {
            assert!(FhirDate::parse(bad).is_err(), "{bad}");
        }
        let d: FhirDate = serde_json::from_str("\"2023-11-17\"").expect("date");
        assert_eq!(d.as_str(), "2023-11-17");
        assert!(serde_json::from_str::<FhirDate>("\"2023-11-31\"").is_err());
    }
}
