//! The transaction timestamp, the only clock a contract may read.
//!
//! Every endorser runs the same proposal and their results must match byte for byte, so a contract may not
//! read the machine clock: it uses the client-chosen `ChannelHeader.timestamp` that every endorser sees, exposed
//! as `ctx.tx().timestamp`. This module gives it the same shape as `google.protobuf.Timestamp` and the two
//! conversions contracts need (RFC 3339 text for records, the calendar year for coarse healthcare dates),
//! computed with integer arithmetic only so they are deterministic everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Seconds and nanoseconds since the Unix epoch (UTC), as in `google.protobuf.Timestamp`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z; negative before it.
    pub seconds: i64,
    /// Nanoseconds within the second, 0..=999_999_999 for a well-formed value (others are normalised when
    /// converted).
    pub nanos: i32,
}

/// A broken-down UTC date and time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    second_of_day: i64,
    nanos: i64,
}

impl Timestamp {
    /// A timestamp from its protobuf fields.
    pub const fn new(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    /// RFC 3339 in UTC, e.g. `2024-03-01T12:00:00Z`; a non-zero fraction is printed with trailing zeros
    /// removed (`…:00.25Z`), as Go's `time.RFC3339Nano` does.
    pub fn to_rfc3339(&self) -> String {
        let c = self.civil();
        let (h, m, s) = (
            c.second_of_day / 3600,
            c.second_of_day % 3600 / 60,
            c.second_of_day % 60,
        );
        let mut out = format!("{:04}-{:02}-{:02}T{h:02}:{m:02}:{s:02}", c.year, c.month, c.day);
        if c.nanos != 0 {
            let fraction = format!("{:09}", c.nanos);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }

    /// The UTC calendar year this instant falls in (e.g. for recording a birth year instead of a birth date).
    pub fn year(&self) -> i64 {
        self.civil().year
    }

    fn civil(&self) -> Civil {
        let nanos = i64::from(self.nanos);
        let total_seconds = self.seconds.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
        let days = total_seconds.div_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            second_of_day: total_seconds.rem_euclid(SECONDS_PER_DAY),
            nanos: nanos.rem_euclid(NANOS_PER_SECOND),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00Z"),
            (1_704_067_200, 0, "2024-01-01T00:00:00Z"),
            (951_782_400, 0, "2000-02-29T00:00:00Z"),
            (1_709_294_400, 0, "2024-03-01T12:00:00Z"),
            (-1, 0, "1969-12-31T23:59:59Z"),
            (1_704_067_200, 250_000_000, "2024-01-01T00:00:00.25Z"),
            (1_704_067_200, 1, "2024-01-01T00:00:00.000000001Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59Z"),
        ];
        for (seconds, nanos, text) in cases {
            assert_eq!(Timestamp::new(seconds, nanos).to_rfc3339(), text);
        }
        assert_eq!(Timestamp::new(0, 0).to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn out_of_range_nanos_are_normalised() {
        assert_eq!(
            Timestamp::new(10, -500_000_000).to_rfc3339(),
            "1970-01-01T00:00:09.5Z"
        );
        assert_eq!(
            Timestamp::new(0, 1_500_000_000).to_rfc3339(),
            "1970-01-01T00:00:01.5Z"
        );
    }

    #[test]
    fn year_boundaries() {
        assert_eq!(Timestamp::new(1_735_689_599, 0).year(), 2024); // 2024-12-31T23:59:59Z
        assert_eq!(Timestamp::new(1_735_689_600, 0).year(), 2025);
        assert_eq!(Timestamp::new(-1, 0).year(), 1969);
        assert_eq!(Timestamp::new(0, -1).year(), 1969);
    }

    #[test]
    fn ordering_follows_time() {
        assert!(Timestamp::new(1, 0) > Timestamp::new(0, 999_999_999));
        assert!(Timestamp::new(1, 2) > Timestamp::new(1, 1));
    }
}
