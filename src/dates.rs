//! Dates as Vietnamese registers write them: `YYYY-MM-DD`, `DD/MM/YYYY`, `MM/YYYY`, `YYYY`,
//! with `00` for an unknown day or month; also `D/M/YYYY`, `DD-MM-YYYY`, `DD.MM.YYYY` and a
//! trailing time (`1985-03-07 00:00:00`) as spreadsheets and Parquet timestamps give them.

use std::fmt;

/// A possibly partial date. `month == 0` or `day == 0` means unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// Why a date is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateError {
    /// Not in any accepted form.
    Unparseable,
    /// In an accepted form but impossible (month 13, 31/02, year 0).
    Impossible,
}

/// The outcome of parsing a date cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateParse {
    Missing,
    Valid(PDate),
    Invalid(DateError),
}

impl DateParse {
    pub fn valid(self) -> Option<PDate> {
        match self {
            DateParse::Valid(d) => Some(d),
            _ => None,
        }
    }
}

pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a full civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i32) -> PDate {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = if m <= 2 { y + 1 } else { y };
    PDate {
        year: y as u16,
        month: m,
        day: d,
    }
}

/// Today's date (UTC) from the system clock.
pub fn today() -> PDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_from_days((secs / 86_400) as i32)
}

impl PDate {
    pub fn new(year: u16, month: u8, day: u8) -> Self {
        PDate { year, month, day }
    }

    pub fn is_full(self) -> bool {
        self.month != 0 && self.day != 0
    }

    /// 1 January, the day and month many registers write when only the year is known.
    pub fn is_first_of_january(self) -> bool {
        self.month == 1 && self.day == 1
    }

    /// Two full dates of one year, one of them 1 January and the other not: the year written
    /// with the placeholder day and month on one record, or two people born that year.
    pub fn january_first_same_year(self, other: PDate) -> bool {
        self.is_full()
            && other.is_full()
            && self.year == other.year
            && self.is_first_of_january() != other.is_first_of_january()
    }

    /// First day the date can mean (unknown parts at their earliest).
    pub fn earliest(self) -> i32 {
        days_from_civil(self.year as i32, self.month.max(1), self.day.max(1))
    }

    /// Last day the date can mean (unknown parts at their latest).
    pub fn latest(self) -> i32 {
        let m = if self.month == 0 { 12 } else { self.month };
        let d = if self.day == 0 {
            days_in_month(self.year as i32, m)
        } else {
            self.day
        };
        days_from_civil(self.year as i32, m, d)
    }

    /// Do two possibly partial dates describe a day they could both be?
    pub fn compatible(self, other: PDate) -> bool {
        self.year == other.year
            && (self.month == 0 || other.month == 0 || self.month == other.month)
            && (self.day == 0 || other.day == 0 || self.day == other.day)
    }

    /// Whole years from `self` to `at` (using the earliest reading of `self`).
    pub fn age_at(self, at: PDate) -> i32 {
        let mut age = at.year as i32 - self.year as i32;
        let (m, d) = (self.month.max(1), self.day.max(1));
        if (at.month, at.day) < (m, d) {
            age -= 1;
        }
        age
    }
}

impl fmt::Display for PDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.month, self.day) {
            (0, _) => write!(f, "{:04}", self.year),
            (m, 0) => write!(f, "{:04}-{:02}", self.year, m),
            (m, d) => write!(f, "{:04}-{:02}-{:02}", self.year, m, d),
        }
    }
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn build(year: u32, month: u32, day: u32) -> DateParse {
    if !(1..=9999).contains(&year) || month > 12 || day > 31 || (month == 0 && day != 0) {
        return DateParse::Invalid(DateError::Impossible);
    }
    if day != 0 && day as u8 > days_in_month(year as i32, month as u8) {
        return DateParse::Invalid(DateError::Impossible);
    }
    DateParse::Valid(PDate::new(year as u16, month as u8, day as u8))
}

/// Parse one date cell. Never panics; never allocates.
pub fn parse_date(raw: &str) -> DateParse {
    let mut s = raw.trim();
    if s.is_empty() {
        return DateParse::Missing;
    }
    // Drop a time part: "1985-03-07 00:00:00", "1985-03-07T00:00:00Z".
    if let Some(i) = s.find([' ', 'T']) {
        if i >= 4 {
            s = &s[..i];
        }
    }
    let parts: [&str; 3];
    let sep = s.bytes().find(|b| matches!(b, b'-' | b'/' | b'.'));
    match sep {
        None => {
            // YYYY or YYYYMMDD.
            return match (s.len(), num(s)) {
                (4, Some(y)) => build(y, 0, 0),
                (8, _) if s.bytes().all(|b| b.is_ascii_digit()) => {
                    let (y, m, d) = (num(&s[..4]), num(&s[4..6]), num(&s[6..]));
                    match (y, m, d) {
                        (Some(y), Some(m), Some(d)) => build(y, m, d),
                        _ => DateParse::Invalid(DateError::Unparseable),
                    }
                }
                _ => DateParse::Invalid(DateError::Unparseable),
            };
        }
        Some(sep) => {
            let sep = sep as char;
            let mut it = s.split(sep);
            let a = it.next().unwrap_or("");
            let b = it.next().unwrap_or("");
            let c = it.next();
            if it.next().is_some() {
                return DateParse::Invalid(DateError::Unparseable);
            }
            match c {
                None => {
                    // MM/YYYY or YYYY-MM.
                    return match (num(a), num(b)) {
                        (Some(m), Some(y)) if b.len() == 4 && a.len() <= 2 => build(y, m, 0),
                        (Some(y), Some(m)) if a.len() == 4 && b.len() <= 2 => build(y, m, 0),
                        _ => DateParse::Invalid(DateError::Unparseable),
                    };
                }
                Some(c) => parts = [a, b, c],
            }
        }
    }
    let [a, b, c] = parts;
    match (num(a), num(b), num(c)) {
        (Some(y), Some(m), Some(d)) if a.len() == 4 && b.len() <= 2 && c.len() <= 2 => {
            build(y, m, d)
        }
        (Some(d), Some(m), Some(y)) if c.len() == 4 && a.len() <= 2 && b.len() <= 2 => {
            build(y, m, d)
        }
        _ => DateParse::Invalid(DateError::Unparseable),
    }
}

/// Parse an `--as-of` argument: a full date.
pub fn parse_as_of(raw: &str) -> Option<PDate> {
    parse_date(raw).valid().filter(|d| d.is_full())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(y: u16, m: u8, d: u8) -> DateParse {
        DateParse::Valid(PDate::new(y, m, d))
    }

    #[test]
    fn every_form_of_the_spec_parses() {
        assert_eq!(parse_date("1985-03-07"), v(1985, 3, 7));
        assert_eq!(parse_date("07/03/1985"), v(1985, 3, 7));
        assert_eq!(parse_date("7/3/1985"), v(1985, 3, 7));
        assert_eq!(parse_date("07-03-1985"), v(1985, 3, 7));
        assert_eq!(parse_date("07.03.1985"), v(1985, 3, 7));
        assert_eq!(parse_date("03/1985"), v(1985, 3, 0));
        assert_eq!(parse_date("1985"), v(1985, 0, 0));
        assert_eq!(parse_date("00/00/1985"), v(1985, 0, 0));
        assert_eq!(parse_date("00/03/1985"), v(1985, 3, 0));
        assert_eq!(parse_date("1985-00-00"), v(1985, 0, 0));
        assert_eq!(parse_date("1985-03-07 00:00:00"), v(1985, 3, 7));
        assert_eq!(parse_date("19850307"), v(1985, 3, 7));
        assert_eq!(parse_date("  "), DateParse::Missing);
    }

    #[test]
    fn impossible_and_garbage_dates_are_invalid() {
        use DateError::*;
        assert_eq!(parse_date("31/02/1990"), DateParse::Invalid(Impossible));
        assert_eq!(parse_date("29/02/1900"), DateParse::Invalid(Impossible));
        assert_eq!(parse_date("29/02/2000"), v(2000, 2, 29));
        assert_eq!(parse_date("1990-13-01"), DateParse::Invalid(Impossible));
        assert_eq!(parse_date("05/00/1990"), DateParse::Invalid(Impossible));
        assert_eq!(parse_date("abc"), DateParse::Invalid(Unparseable));
        assert_eq!(parse_date("1/2/3/4"), DateParse::Invalid(Unparseable));
        assert_eq!(parse_date("85"), DateParse::Invalid(Unparseable));
    }

    #[test]
    fn day_counts_round_trip_and_ages() {
        for z in [-30000, -1, 0, 1, 10957, 20000, 40000] {
            let d = civil_from_days(z);
            assert_eq!(days_from_civil(d.year as i32, d.month, d.day), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        let at = PDate::new(2026, 11, 22);
        assert_eq!(PDate::new(1906, 11, 23).age_at(at), 119);
        assert_eq!(PDate::new(1906, 11, 22).age_at(at), 120);
        assert!(PDate::new(1985, 0, 0).compatible(PDate::new(1985, 3, 7)));
        assert!(!PDate::new(1985, 4, 0).compatible(PDate::new(1985, 3, 7)));
    }
}
