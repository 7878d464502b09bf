//! FHIR `date` and `dateTime` values turned into numbers the contract can compare with the transaction time.
//!
//! Consent periods are checked against `ctx.tx().timestamp` at access time (the only clock an endorser may
//! read), ages for the de-identified event come from `Patient.birthDate` and the record's clinical date, and
//! the public record keeps only the year. All arithmetic is integer-only, so every endorser agrees.

use chaincode_api::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

/// A FHIR `date` (or the date part of a `dateTime`): year, and month and day when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Calendar year.
    pub year: i64,
    /// Month 1..=12, if given.
    pub month: Option<u32>,
    /// Day 1..=31, if given.
    pub day: Option<u32>,
}

impl Date {
    /// Parses the leading `YYYY`, `YYYY-MM` or `YYYY-MM-DD` of `text` (anything after a full date, such as
    /// `T10:00:00Z`, is ignored). `None` if it does not start with a valid date.
    pub fn parse_prefix(text: &str) -> Option<Date> {
        let year = digits(text.get(0..4)?)?;
        let rest = &text[4..];
        if rest.is_empty() || !rest.starts_with('-') {
            return rest.is_empty().then_some(Date {
                year,
                month: None,
                day: None,
            });
        }
        let month = u32::try_from(digits(rest.get(1..3)?)?)
            .ok()
            .filter(|m| (1..=12).contains(m))?;
        let rest = &rest[3..];
        if rest.is_empty() {
            return Some(Date {
                year,
                month: Some(month),
                day: None,
            });
        }
        let day = u32::try_from(digits(rest.get(1..3)?)?).ok()?;
        if !rest.starts_with('-') || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            year,
            month: Some(month),
            day: Some(day),
        })
    }

    /// The UTC date of a timestamp.
    pub fn of(ts: Timestamp) -> Date {
        let text = ts.to_rfc3339();
        Date::parse_prefix(&text).unwrap_or(Date {
            year: ts.year(),
            month: None,
            day: None,
        })
    }
}

/// Completed years between `birth` and `on`; month and day count only when both dates have them. `None`
/// when `on` is before `birth`.
pub fn age_on(birth: Date, on: Date) -> Option<i64> {
    let mut age = on.year - birth.year;
    if let (Some(bm), Some(om)) = (birth.month, on.month) {
        let birth_md = (bm, birth.day.unwrap_or(1));
        let on_md = (om, on.day.unwrap_or(31));
        if on_md < birth_md {
            age -= 1;
        }
    }
    (age >= 0).then_some(age)
}

/// Seconds since the Unix epoch for a FHIR `date` (`YYYY-MM-DD`) or `dateTime`
/// (`YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`). A date alone means its first second, or with `end` its
/// last second (FHIR periods include their end). Fractions are dropped.
pub fn parse_bound(text: &str, end: bool) -> Result<i64, String> {
    let bad = || {
        format!(
            "{text:?} is not a FHIR date (YYYY-MM-DD) or dateTime (YYYY-MM-DDThh:mm:ss with Z or an offset)"
        )
    };
    let date = text.get(0..10).and_then(Date::parse_prefix).ok_or_else(bad)?;
    let (Some(month), Some(day)) = (date.month, date.day) else {
        return Err(bad());
    };
    let day_start = days_from_civil(date.year, month, day) * SECONDS_PER_DAY;
    let time = &text[10..];
    if time.is_empty() {
        return Ok(if end {
            day_start + SECONDS_PER_DAY - 1
        } else {
            day_start
        });
    }
    let time = time.strip_prefix('T').ok_or_else(bad)?;
    let clock = |i: usize, max: i64| {
        time.get(i..i + 2)
            .and_then(digits)
            .filter(|v| *v <= max)
            .ok_or_else(bad)
    };
    let (h, m, s) = (clock(0, 23)?, clock(3, 59)?, clock(6, 60)?);
    if time.get(2..3) != Some(":") || time.get(5..6) != Some(":") {
        return Err(bad());
    }
    let mut zone = &time[8..];
    if let Some(frac) = zone.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        zone = &frac[n..];
    }
    let offset = parse_offset(zone).ok_or_else(bad)?;
    Ok(day_start + h * 3600 + m * 60 + s - offset)
}

/// Seconds east of UTC of `Z` or `±hh:mm`.
fn parse_offset(zone: &str) -> Option<i64> {
    if zone == "Z" {
        return Some(0);
    }
    let sign = match zone.get(0..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let hours = zone.get(1..3).and_then(digits).filter(|v| *v <= 14)?;
    let minutes = zone.get(4..6).and_then(digits).filter(|v| *v <= 59)?;
    (zone.len() == 6 && zone.get(3..4) == Some(":")).then_some(sign * (hours * 3600 + minutes * 60))
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_match_the_epoch_and_offsets() {
        assert_eq!(parse_bound("1970-01-01", false), Ok(0));
        assert_eq!(parse_bound("1970-01-01", true), Ok(86_399));
        assert_eq!(parse_bound("2024-01-01T00:00:00Z", false), Ok(1_704_067_200));
        assert_eq!(parse_bound("2024-01-01T01:00:00+01:00", false), Ok(1_704_067_200));
        assert_eq!(
            parse_bound("2023-12-31T19:00:00.25-05:00", true),
            Ok(1_704_067_200)
        );
        assert_eq!(parse_bound("2024-02-29", false), Ok(1_709_164_800));
        for bad in [
            "2024",
            "2024-02-30",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "01/02/2024",
        ] {
            assert!(parse_bound(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_and_ages() {
        let birth = Date::parse_prefix("1929-06-15").expect("date");
        assert_eq!(
            age_on(birth, Date::parse_prefix("2024-06-14").expect("d")),
            Some(94)
        );
        assert_eq!(
            age_on(birth, Date::parse_prefix("2024-06-15").expect("d")),
            Some(95)
        );
        assert_eq!(
            age_on(
                Date::parse_prefix("1990").expect("y"),
                Date::parse_prefix("2024-01-01").expect("d")
            ),
            Some(34)
        );
        assert_eq!(
            age_on(
                Date::parse_prefix("2030").expect("y"),
                Date::parse_prefix("2024").expect("y")
            ),
            None
        );
        assert_eq!(
            Date::parse_prefix("2024-05-01T10:00:00Z").map(|d| d.month),
            Some(Some(5))
        );
        assert_eq!(Date::of(Timestamp::new(1_704_067_200, 0)).day, Some(1));
        assert!(Date::parse_prefix("20x4").is_none());
    }
}
