//! Field comparisons shared by the rules and the matcher: names that tolerate missing
//! diacritics, legacy encodings, tone placement, a dropped middle name; dates that tolerate
//! partial forms and swapped day/month.

use crate::dates::PDate;
use crate::text::{name_fold, split_name};

/// How two names agree, best level first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameLevel {
    /// Equal folded (no diacritics, case, spacing, encoding).
    Exact,
    /// Same family and given name, a middle name missing or different on one side.
    MiddleDiffers,
    /// The same syllables in another order.
    Reordered,
    /// Jaro–Winkler ≥ 0.92 on folded names.
    Close,
    /// Jaro–Winkler ≥ 0.85.
    Similar,
    Different,
}

/// Compare two folded names.
pub fn compare_folded_names(a: &str, b: &str) -> NameLevel {
    if a.is_empty() || b.is_empty() {
        return NameLevel::Different;
    }
    if a == b {
        return NameLevel::Exact;
    }
    let (fa, _, ga) = split_name(a);
    let (fb, _, gb) = split_name(b);
    if fa == fb && ga == gb && !ga.is_empty() {
        return NameLevel::MiddleDiffers;
    }
    let mut sa: Vec<&str> = a.split(' ').collect();
    let mut sb: Vec<&str> = b.split(' ').collect();
    sa.sort_unstable();
    sb.sort_unstable();
    if sa == sb {
        return NameLevel::Reordered;
    }
    let jw = jaro_winkler(a, b);
    if jw >= 0.92 {
        NameLevel::Close
    } else if jw >= 0.85 {
        NameLevel::Similar
    } else {
        NameLevel::Different
    }
}

/// Compare two names as written (any encoding, form or case).
pub fn compare_names(a: &str, b: &str) -> NameLevel {
    if !a.trim().is_empty() && crate::text::fold_eq(a, b) {
        return NameLevel::Exact;
    }
    compare_folded_names(&name_fold(a), &name_fold(b))
}

/// How two birth dates agree, best level first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DateLevel {
    Exact,
    /// One side partial (year-only or month/year) and compatible.
    Compatible,
    /// Day and month swapped.
    Swapped,
    /// One digit of YYYYMMDD mistyped, or two adjacent digits transposed.
    OneDigit,
    /// Within 10 days.
    Near,
    /// The same day and month, the year one off (1989 and 1990).
    YearOff,
    /// The same year, day and month otherwise different.
    SameYear,
    Different,
}

/// Four decimal digits as four nibbles (binary-coded decimal), for 0..=9999: a table of
/// 20 KB, built at compile time, so a date's digits cost two look-ups, not eight divisions.
static BCD: [u16; 10_000] = {
    let mut t = [0u16; 10_000];
    let mut n = 0;
    while n < 10_000 {
        t[n] = ((n / 1000) << 12 | (n / 100 % 10) << 8 | (n / 10 % 10) << 4 | (n % 10)) as u16;
        n += 1;
    }
    t
};

/// The eight digits of YYYYMMDD as eight nibbles, the day's last digit lowest.
fn digits8(d: PDate) -> u32 {
    let n = d.year as usize * 10_000 + d.month as usize * 100 + d.day as usize;
    (BCD[n / 10_000 % 10_000] as u32) << 16 | BCD[n % 10_000] as u32
}

/// Are two dates' YYYYMMDD one keystroke apart: one digit mistyped, or two adjacent digits
/// transposed? (Two look-ups and a few bit operations: this runs per candidate pair.)
pub fn one_keystroke(a: PDate, b: PDate) -> bool {
    let (x, y) = (digits8(a), digits8(b));
    let diff = x ^ y;
    // One bit per digit that differs, at the digit's lowest bit.
    let digits = (diff | diff >> 1 | diff >> 2 | diff >> 3) & 0x1111_1111;
    match digits.count_ones() {
        1 => true,
        2 => {
            let i = digits.trailing_zeros();
            // Adjacent digits, each the other's.
            digits == 0x11 << i
                && (x >> i & 0xf) == (y >> (i + 4) & 0xf)
                && (x >> (i + 4) & 0xf) == (y >> i & 0xf)
        }
        _ => false,
    }
}

/// Two full dates this many days apart or fewer are `Near` ([`compare_dates`]): a date
/// recorded a day or two off (a midnight timestamp moved by a time zone when a system
/// exported it, a registration dated by the day it was made) changes two or more digits
/// when the day rolls over a month ("29/02" and "01/03"), so it is no keystroke.
pub const NEAR_DAYS: i32 = 10;

/// Two full birth dates, not equal, at most [`NEAR_DAYS`] apart.
pub fn dates_near(a: PDate, b: PDate) -> bool {
    a.is_full() && b.is_full() && a != b && (a.earliest() - b.earliest()).abs() <= NEAR_DAYS
}

/// Two birth dates that could be one date written twice, not the same date: one partial and
/// compatible, day and month swapped, or a keystroke apart ([`compare_dates`]' `Compatible`,
/// `Swapped` and `OneDigit`), without computing the levels after those.
pub fn dates_close(a: PDate, b: PDate) -> bool {
    if a.compatible(b) {
        return a != b;
    }
    a.is_full()
        && b.is_full()
        && ((a.year == b.year && a.month == b.day && a.day == b.month) || one_keystroke(a, b))
}

/// Jaro–Winkler similarity, exactly `strsim::jaro_winkler(a, b)` (the same steps in the same
/// order, so the same bits), without its allocation a call for names of ASCII letters up to
/// 64 bytes, which folded names are; anything else goes to strsim.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    const MAX: usize = 64;
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() <= MAX && y.len() <= MAX) {
        return strsim::jaro_winkler(a, b);
    }
    let (la, lb) = (x.len(), y.len());
    if la == 0 && lb == 0 {
        return 1.0;
    } else if la == 0 || lb == 0 {
        return 0.0;
    }
    let range = (la.max(lb) / 2).saturating_sub(1);
    let (mut fa, mut fb) = ([false; MAX], [false; MAX]);
    let mut matches = 0usize;
    for (i, &c) in x.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = lb.min(i + range + 1);
        for j in lo..hi {
            if y[j] == c && !fb[j] {
                fa[i] = true;
                fb[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut j = 0;
    for i in (0..la).filter(|&i| fa[i]) {
        while !fb[j] {
            j += 1;
        }
        if x[i] != y[j] {
            transpositions += 1;
        }
        j += 1;
    }
    transpositions /= 2;
    let m = matches as f64;
    let sim = ((m / la as f64) + (m / lb as f64) + ((matches - transpositions) as f64 / m)) / 3.0;
    if sim > 0.7 {
        let prefix = x.iter().take(4).zip(y).take_while(|(p, q)| p == q).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// Are two texts at most one keystroke apart (Damerau–Levenshtein distance ≤ 1, on
/// characters): equal, or one character mistyped, added, dropped, or two adjacent characters
/// swapped? Exactly `strsim::damerau_levenshtein(a, b) <= 1`, without its allocations (a hash
/// map and a matrix a call): blocking and the comparisons ask it of millions of pairs.
pub fn within_one_keystroke(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return within_one_edit(a.as_bytes(), b.as_bytes());
    }
    // Rare: folded names are ASCII but for foreign letters.
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    within_one_edit(&x, &y)
}

/// [`within_one_keystroke`] on sequences: strip the common prefix and suffix, then what is
/// left must be one substitution, one insertion or deletion, or one adjacent swap.
fn within_one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    let s = ra
        .iter()
        .rev()
        .zip(rb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    match (ra.len() - s, rb.len() - s) {
        (0, 0) | (1, 1) | (1, 0) | (0, 1) => true,
        (2, 2) => ra[0] == rb[1] && ra[1] == rb[0],
        _ => false,
    }
}

pub fn compare_dates(a: PDate, b: PDate) -> DateLevel {
    if a == b && a.is_full() {
        return DateLevel::Exact;
    }
    if a.compatible(b) {
        return if a == b {
            DateLevel::Exact
        } else {
            DateLevel::Compatible
        };
    }
    if a.is_full() && b.is_full() {
        if a.year == b.year && a.month == b.day && a.day == b.month {
            return DateLevel::Swapped;
        }
        if one_keystroke(a, b) {
            return DateLevel::OneDigit;
        }
        if (a.earliest() - b.earliest()).abs() <= NEAR_DAYS {
            return DateLevel::Near;
        }
        if a.month == b.month && a.day == b.day && a.year.abs_diff(b.year) == 1 {
            return DateLevel::YearOff;
        }
        if a.year == b.year {
            return DateLevel::SameYear;
        }
    }
    DateLevel::Different
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_is_strsims_to_the_bit() {
        let names = [
            "",
            "a",
            "an",
            "anh",
            "nguyen",
            "nguyne",
            "ngyuen",
            "hoang",
            "hoangg",
            "thi",
            "thuy",
            "thuys",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "jellyfish",
            "smellyfish",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm",
            "đức",
            "duc",
            "tran van a",
            "ab",
            "ba",
            "aaaa",
            "aaab",
            "abab",
            "baba",
        ];
        let mut rng = crate::rng::Rng::new(11, 0);
        let mut texts: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        for _ in 0..300 {
            let len = rng.below(9) as usize;
            texts.push(
                (0..len)
                    .map(|_| (b'a' + rng.below(4) as u8) as char)
                    .collect(),
            );
        }
        for a in &texts {
            for b in &texts {
                let (got, want) = (jaro_winkler(a, b), strsim::jaro_winkler(a, b));
                assert_eq!(got.to_bits(), want.to_bits(), "{a:?} {b:?}");
            }
        }
    }

    /// [`one_keystroke`] as it was first written: the digits compared one by one.
    fn one_keystroke_by_digits(a: PDate, b: PDate) -> bool {
        let digits = |d: PDate| -> [u32; 8] {
            let mut n = d.year as u32 * 10_000 + d.month as u32 * 100 + d.day as u32;
            std::array::from_fn(|_| {
                let digit = n % 10;
                n /= 10;
                digit
            })
        };
        let (x, y) = (digits(a), digits(b));
        let differ: Vec<usize> = (0..8).filter(|&i| x[i] != y[i]).collect();
        match differ[..] {
            [_] => true,
            [i, j] => j == i + 1 && x[i] == y[j] && x[j] == y[i],
            _ => false,
        }
    }

    #[test]
    fn dates_a_keystroke_apart_are_found_as_digit_by_digit() {
        let d = |y, m, dd| PDate::new(y, m, dd);
        assert!(one_keystroke(d(1985, 3, 12), d(1985, 3, 21)));
        assert!(one_keystroke(d(1985, 3, 12), d(1958, 3, 12)));
        assert!(one_keystroke(d(1985, 3, 12), d(1985, 8, 12)));
        assert!(!one_keystroke(d(1985, 3, 12), d(1985, 3, 23)));
        assert!(!one_keystroke(d(1985, 3, 12), d(1986, 4, 12)));
        // Every pair among a spread of dates, partial ones too: the same answer as digit by
        // digit, and dates_close as compare_dates' three levels.
        let mut dates = Vec::new();
        for y in [0u16, 1900, 1958, 1959, 1985, 1986, 1995, 2001, 2010] {
            for m in [0u8, 1, 2, 3, 10, 11, 12] {
                for day in [0u8, 1, 2, 3, 10, 11, 12, 13, 21, 30, 31] {
                    dates.push(d(y, m, day));
                }
            }
        }
        for &a in &dates {
            for &b in &dates {
                assert_eq!(
                    one_keystroke(a, b),
                    one_keystroke_by_digits(a, b),
                    "{a:?} {b:?}"
                );
                assert_eq!(
                    dates_close(a, b),
                    matches!(
                        compare_dates(a, b),
                        DateLevel::Compatible | DateLevel::Swapped | DateLevel::OneDigit
                    ),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn one_keystroke_apart_is_damerau_levenshtein_at_most_one() {
        assert!(within_one_keystroke("hung", "hugn"));
        assert!(within_one_keystroke("thuy", "thuys"));
        assert!(within_one_keystroke("quy", "qmy"));
        assert!(within_one_keystroke("", "a"));
        assert!(!within_one_keystroke("lan", "nal"));
        assert!(within_one_keystroke("Hoàng", "Hoàgn"));
        assert!(!within_one_keystroke("Đức", "Dcu"));
        // Every pair of short texts over a small alphabet, against strsim itself.
        let alphabet = ['a', 'b', 'c', 'đ', 'ư'];
        let mut texts = vec![String::new()];
        for len in 1..=4 {
            let mut n = alphabet.len().pow(len);
            while n > 0 {
                n -= 1;
                let mut k = n;
                let t: String = (0..len)
                    .map(|_| {
                        let c = alphabet[k % alphabet.len()];
                        k /= alphabet.len();
                        c
                    })
                    .collect();
                texts.push(t);
            }
        }
        let mut near = 0;
        for a in &texts {
            for b in texts.iter().step_by(3) {
                let want = strsim::damerau_levenshtein(a, b) <= 1;
                assert_eq!(within_one_keystroke(a, b), want, "{a:?} {b:?}");
                near += usize::from(want);
            }
        }
        assert!(near > 1_000, "{near}");
    }

    #[test]
    fn name_levels() {
        assert_eq!(
            compare_names("Nguyễn Văn An", "NGUYEN VAN AN"),
            NameLevel::Exact
        );
        assert_eq!(
            compare_names("NguyÔn V¨n An", "Nguyễn Văn An"),
            NameLevel::Exact
        );
        assert_eq!(
            compare_names("Nguyễn Văn An", "Nguyễn An"),
            NameLevel::MiddleDiffers
        );
        assert_eq!(
            compare_names("Nguyễn Thị Lan Anh", "Nguyễn Anh Lan Thị"),
            NameLevel::Reordered
        );
        assert_eq!(
            compare_names("Trần Thị Hương", "Tran Thi Huong"),
            NameLevel::Exact
        );
        assert_eq!(
            compare_names("Trần Thị Hương", "Trần Thị Hưng"),
            NameLevel::Close
        );
        assert_eq!(
            compare_names("Trần Thị Hương", "Lê Văn Bình"),
            NameLevel::Different
        );
    }

    #[test]
    fn date_levels() {
        let d = PDate::new;
        assert_eq!(
            compare_dates(d(1985, 3, 7), d(1985, 3, 7)),
            DateLevel::Exact
        );
        assert_eq!(
            compare_dates(d(1985, 0, 0), d(1985, 3, 7)),
            DateLevel::Compatible
        );
        assert_eq!(
            compare_dates(d(1985, 7, 3), d(1985, 3, 7)),
            DateLevel::Swapped
        );
        assert_eq!(
            compare_dates(d(1985, 3, 8), d(1985, 3, 7)),
            DateLevel::OneDigit
        );
        assert_eq!(
            compare_dates(d(1985, 3, 17), d(1985, 3, 9)),
            DateLevel::Near
        );
        // Two adjacent digits transposed: 1960-01-13 and 1960-01-31 (a year typed 1906).
        assert_eq!(
            compare_dates(d(1960, 1, 13), d(1960, 1, 31)),
            DateLevel::OneDigit
        );
        assert_eq!(
            compare_dates(d(1906, 1, 13), d(1960, 1, 13)),
            DateLevel::OneDigit
        );
        assert_eq!(
            compare_dates(d(1989, 3, 7), d(1990, 3, 7)),
            DateLevel::YearOff
        );
        assert_eq!(
            compare_dates(d(1985, 11, 27), d(1985, 3, 7)),
            DateLevel::SameYear
        );
        assert_eq!(
            compare_dates(d(1986, 5, 7), d(1985, 3, 7)),
            DateLevel::Different
        );
    }
}
