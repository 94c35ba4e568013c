//! The 12-digit personal ID (số định danh cá nhân) and the old CMND: classification of what a
//! cell holds, and the structure checks of Nghị định 137/2015 and Thông tư 59/2021.
//!
//! Pure functions, no allocation on the common path: an ID is kept as a `u64` with its
//! digit count, so matching can compare and index IDs as integers.

use crate::dates::PDate;
use crate::reference::reference;

/// What a personal_id cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdClass {
    /// Empty after trimming.
    Missing,
    /// Exactly 12 ASCII digits after trimming.
    Valid,
    /// 12 digits once dots, spaces, dashes or a leading apostrophe are removed.
    Formatted,
    /// 11 digits, or 10 not starting with 0: the leading zeros dropped by a spreadsheet
    /// (IDs registered in Hà Nội start 001, so two zeros go).
    DroppedZero,
    /// A Vietnamese mobile number (10 digits `0[35789]…`, or `84…`/`+84…`).
    Phone,
    /// A 9-digit CMND.
    OldCmnd,
    /// Spreadsheet scientific notation (`1.23457E+11`): the digits are lost.
    Scientific,
    /// Anything else.
    Malformed,
}

/// A personal_id cell, analysed. Packed to 4-byte alignment (12 bytes, not 16): every row of
/// every source holds one in its [`Facts`](crate::core::Facts), 37 M of them at 10 M people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct IdInfo {
    /// The digits (for Valid, Formatted, DroppedZero with the zero restored, Phone, OldCmnd).
    pub value: u64,
    pub class: IdClass,
    /// Number of digits in `value` as written (12 for a restored dropped zero).
    pub len: u8,
}

impl IdInfo {
    const fn new(class: IdClass, value: u64, len: u8) -> Self {
        IdInfo { class, value, len }
    }

    /// The 12-digit ID this cell stands for, when it has one (valid, or repairable format).
    pub fn personal_id(&self) -> Option<u64> {
        match self.class {
            IdClass::Valid | IdClass::Formatted | IdClass::DroppedZero => Some(self.value),
            _ => None,
        }
    }

    /// Is the cell a well-formed 12-digit ID as written?
    pub fn is_valid(&self) -> bool {
        self.class == IdClass::Valid
    }
}

/// The digits of an ID cell that is not a usable 12-digit ID as typed, packed with their
/// count (`count << 56 | value`), for comparing it with an ID by edit distance: a digit lost
/// or added, two digits swapped, the letters O and I/l typed for 0 and 1. None unless it has
/// 10 to 13 digits once separators are dropped and those letters read as digits.
pub fn typed_digits(raw: &str) -> Option<u64> {
    let (mut value, mut n) = (0u64, 0u8);
    for b in raw.trim().bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'O' | b'o' => 0,
            b'I' | b'l' | b'|' => 1,
            b' ' | b'.' | b'-' | b'\'' => continue,
            _ => return None,
        };
        n += 1;
        if n > 13 {
            return None;
        }
        value = value * 10 + d as u64;
    }
    (10..=13).contains(&n).then_some(((n as u64) << 56) | value)
}

/// Is a 12-digit ID at most one edit (the same once letters are read as digits, a digit substituted, lost, added, or two adjacent digits
/// swapped) from typed digits packed by [`typed_digits`]? No allocation: runs per pair.
pub fn within_one_edit(id: u64, typed: u64) -> bool {
    let n = (typed >> 56) as usize;
    let mut t = typed & ((1 << 56) - 1);
    match n {
        12 => return one_keystroke_12(id, t),
        11 | 13 => {}
        _ => return false,
    }
    let mut a = [0u8; 12];
    let mut b = [0u8; 13];
    let mut v = id;
    for i in (0..12).rev() {
        a[i] = (v % 10) as u8;
        v /= 10;
    }
    for i in (0..n).rev() {
        b[i] = (t % 10) as u8;
        t /= 10;
    }
    let b = &b[..n];
    if n == 11 {
        // One digit lost: b is a with one digit removed.
        (0..12).any(|skip| (0..11).all(|i| b[i] == a[if i < skip { i } else { i + 1 }]))
    } else {
        // One digit added: a is b with one digit removed.
        (0..13).any(|skip| (0..12).all(|i| a[i] == b[if i < skip { i } else { i + 1 }]))
    }
}

/// Two 12-digit numbers alike but for one digit, or two adjacent digits swapped, read from
/// the last digit and left as soon as a third digit differs or the rest is equal: most pairs
/// compared carry two unrelated IDs (every candidate pair with both IDs is asked), and
/// splitting both into digits first cost ~390 instructions a pair.
fn one_keystroke_12(a: u64, b: u64) -> bool {
    let (mut x, mut y) = (a, b);
    // The positions (from the last digit) and digits of the first two differences.
    let mut at = [(0u32, 0u64, 0u64); 2];
    let mut diffs = 0;
    for i in 0..12 {
        if x == y {
            break;
        }
        let (p, q) = (x % 10, y % 10);
        if p != q {
            if diffs == 2 {
                return false;
            }
            at[diffs] = (i, p, q);
            diffs += 1;
        }
        x /= 10;
        y /= 10;
    }
    let [(i, p0, q0), (j, p1, q1)] = at;
    diffs <= 1 || (j == i + 1 && p0 == q1 && p1 == q0)
}

/// The 12-digit IDs within one edit of typed digits packed by [`typed_digits`]: the ID itself
/// (12 digits once letters are read), one digit substituted or two adjacent swapped (12),
/// a lost digit put back (11), an extra digit taken out (13). At most 120, sorted.
pub fn one_edit_ids(typed: u64) -> Vec<u64> {
    let n = (typed >> 56) as usize;
    let mut t = typed & ((1 << 56) - 1);
    let mut d = [0u8; 13];
    for i in (0..n.min(13)).rev() {
        d[i] = (t % 10) as u8;
        t /= 10;
    }
    let value = |digits: &mut dyn Iterator<Item = u8>| digits.fold(0u64, |v, x| v * 10 + x as u64);
    let mut out = Vec::new();
    match n {
        12 => {
            out.push(value(&mut d[..12].iter().copied()));
            for i in 0..12 {
                for x in 0..10u8 {
                    if x != d[i] {
                        let mut e = d;
                        e[i] = x;
                        out.push(value(&mut e[..12].iter().copied()));
                    }
                }
                if i < 11 && d[i] != d[i + 1] {
                    let mut e = d;
                    e.swap(i, i + 1);
                    out.push(value(&mut e[..12].iter().copied()));
                }
            }
        }
        11 => {
            for at in 0..=11 {
                for x in 0..10u8 {
                    let mut it = d[..at]
                        .iter()
                        .copied()
                        .chain(std::iter::once(x))
                        .chain(d[at..11].iter().copied());
                    out.push(value(&mut it));
                }
            }
        }
        13 => {
            for skip in 0..13 {
                let mut it = (0..13).filter(|&i| i != skip).map(|i| d[i]);
                out.push(value(&mut it));
            }
        }
        _ => {}
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Format a 12-digit ID as text.
pub fn id_string(v: u64) -> String {
    format!("{v:012}")
}

/// Format a CMND of `len` digits as text.
pub fn digits_string(v: u64, len: u8) -> String {
    format!("{v:0width$}", width = len as usize)
}

fn all_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u64;
    }
    Some(v)
}

fn is_mobile(digits: &[u8]) -> bool {
    match digits.len() {
        10 => digits[0] == b'0' && matches!(digits[1], b'3' | b'5' | b'7' | b'8' | b'9'),
        11 => {
            digits[0] == b'8'
                && digits[1] == b'4'
                && matches!(digits[2], b'3' | b'5' | b'7' | b'8' | b'9')
        }
        _ => false,
    }
}

/// Classify a personal_id cell. Never panics, never allocates.
pub fn classify_id(raw: &str) -> IdInfo {
    let s = raw.trim().as_bytes();
    if s.is_empty() {
        return IdInfo::new(IdClass::Missing, 0, 0);
    }
    if let Some(v) = all_digits(s) {
        let len = s.len() as u8;
        return match s.len() {
            12 => IdInfo::new(IdClass::Valid, v, 12),
            9 => IdInfo::new(IdClass::OldCmnd, v, 9),
            10 | 11 if is_mobile(s) => IdInfo::new(IdClass::Phone, v, len),
            11 => IdInfo::new(IdClass::DroppedZero, v, 12),
            10 if s[0] != b'0'
                && v < 10_000_000_000
                && reference().id_province(prefix(v)).is_some() =>
            {
                IdInfo::new(IdClass::DroppedZero, v, 12)
            }
            _ => IdInfo::new(IdClass::Malformed, v, len),
        };
    }
    // "+84 912 345 678" is a phone number.
    let body = s.strip_prefix(b"+").unwrap_or(s);
    let body = body.strip_prefix(b"'").unwrap_or(body);
    let mut digits = [0u8; 24];
    let mut n = 0;
    let mut only_separators = true;
    for &b in body {
        if b.is_ascii_digit() {
            if n == digits.len() {
                return IdInfo::new(IdClass::Malformed, 0, 0);
            }
            digits[n] = b;
            n += 1;
        } else if !matches!(b, b'.' | b' ' | b'-' | b'\t') {
            only_separators = false;
        }
    }
    let digits = &digits[..n];
    if !only_separators {
        let upper_e = s.iter().any(|b| *b == b'E' || *b == b'e');
        if upper_e
            && s.iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'E' | b'e' | b'+'))
        {
            return IdInfo::new(IdClass::Scientific, 0, 0);
        }
        return IdInfo::new(IdClass::Malformed, 0, 0);
    }
    let Some(v) = all_digits(digits) else {
        return IdInfo::new(IdClass::Malformed, 0, 0);
    };
    if s[0] == b'+' || is_mobile(digits) {
        return if is_mobile(digits) {
            IdInfo::new(IdClass::Phone, v, n as u8)
        } else {
            IdInfo::new(IdClass::Malformed, v, n as u8)
        };
    }
    match n {
        12 => IdInfo::new(IdClass::Formatted, v, 12),
        9 => IdInfo::new(IdClass::OldCmnd, v, 9),
        _ => IdInfo::new(IdClass::Malformed, v, n as u8),
    }
}

/// Digit `i` (1-based, as the circulars number them) of a 12-digit ID.
pub fn digit(id: u64, i: u32) -> u8 {
    ((id / 10u64.pow(12 - i)) % 10) as u8
}

/// Digits 1–3: the birth-registration province prefix.
pub fn prefix(id: u64) -> u16 {
    (id / 1_000_000_000) as u16
}

/// Sex of a record as the rules know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// Parse a sex cell: `Nam`/`Nữ` and the spellings of SPEC §2. `Err(())` when present but
/// not recognised; `Ok(None)` when empty.
#[allow(clippy::result_unit_err)]
pub fn parse_sex(raw: &str) -> Result<Option<Sex>, ()> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    const MALE: &[&str] = &["nam", "m", "male"];
    const FEMALE: &[&str] = &["nu", "f", "female"];
    if MALE.iter().any(|t| crate::text::folded_eq(s, t)) {
        Ok(Some(Sex::Male))
    } else if FEMALE.iter().any(|t| crate::text::folded_eq(s, t)) {
        Ok(Some(Sex::Female))
    } else {
        Err(())
    }
}

/// The century/sex digit (digit 4) for a sex and birth year, or None outside 1900–2399.
pub fn century_sex_digit(sex: Sex, year: u16) -> Option<u8> {
    if !(1900..2400).contains(&year) {
        return None;
    }
    let base = ((year - 1900) / 100) as u8 * 2;
    Some(base + if sex == Sex::Female { 1 } else { 0 })
}

/// A disagreement between the ID's structure and the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdStructureError {
    /// Digits 1–3 are not a birth-registration province code.
    Province,
    /// Digit 4 disagrees with the record's sex.
    Sex,
    /// Digit 4 disagrees with the birth century.
    Century,
    /// Digits 5–6 disagree with the birth year.
    BirthYear,
}

/// Check a 12-digit ID's structure against what the record knows. A missing sex or birth
/// year is not an error; a year-only birth date still has a year.
pub fn check_structure(
    id: u64,
    sex: Option<Sex>,
    birth: Option<PDate>,
) -> [Option<IdStructureError>; 3] {
    let mut out = [None; 3];
    if reference().id_province(prefix(id)).is_none() {
        out[0] = Some(IdStructureError::Province);
    }
    let d4 = digit(id, 4);
    if let Some(sex) = sex {
        let id_female = d4 % 2 == 1;
        if id_female != (sex == Sex::Female) {
            out[1] = Some(IdStructureError::Sex);
        }
    }
    if let Some(b) = birth {
        if (1900..2400).contains(&b.year) {
            let century = (d4 / 2) as u16;
            if century != (b.year - 1900) / 100 && out[1].is_none() {
                out[1] = Some(IdStructureError::Century);
            }
            let yy = (id / 1_000_000) % 100;
            if yy != (b.year % 100) as u64 {
                out[2] = Some(IdStructureError::BirthYear);
            }
        }
    }
    out
}

/// What an old_id (CMND) cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmndClass {
    Missing,
    /// 9 digits with a known issuing prefix (or 12 digits with a known province prefix).
    Valid,
    /// 9 digits whose prefix the table marks as recalled, not confirmed.
    RecalledPrefix,
    /// 9 digits whose prefix names no issuing province.
    UnknownPrefix,
    /// Not 9 or 12 digits.
    BadLength,
}

/// Classify an old_id cell; returns the class and the digits as written.
pub fn classify_cmnd(raw: &str) -> (CmndClass, u64, u8) {
    let s = raw.trim();
    if s.is_empty() {
        return (CmndClass::Missing, 0, 0);
    }
    let Some(v) = all_digits(s.as_bytes()) else {
        return (CmndClass::BadLength, 0, 0);
    };
    let len = s.len() as u8;
    let class = match s.len() {
        9 => match reference().cmnd_prefix(s) {
            crate::reference::CmndPrefix::Known => CmndClass::Valid,
            crate::reference::CmndPrefix::Recalled => CmndClass::RecalledPrefix,
            crate::reference::CmndPrefix::Unknown => CmndClass::UnknownPrefix,
        },
        12 if reference().id_province(prefix(v)).is_some() => CmndClass::Valid,
        12 => CmndClass::UnknownPrefix,
        _ => CmndClass::BadLength,
    };
    (class, v, len)
}

#[cfg(test)]
mod tests {
    /// The digit-by-digit test `within_one_edit` made of two 12-digit IDs before its fast
    /// path: a substitution or two adjacent digits swapped.
    fn one_keystroke_12_by_digits(a: u64, b: u64) -> bool {
        let digits = |mut v: u64| {
            let mut d = [0u64; 12];
            for i in (0..12).rev() {
                d[i] = v % 10;
                v /= 10;
            }
            d
        };
        let (a, b) = (digits(a), digits(b));
        let diff = (0..12).filter(|&i| a[i] != b[i]).count();
        diff <= 1
            || (diff == 2
                && (0..11).any(|i| {
                    a[i] != b[i] && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 1] != b[i + 1]
                }))
    }

    #[test]
    fn two_ids_a_keystroke_apart_agree_with_the_digit_by_digit_test() {
        let id = 1_085_012_345u64; // 001085012345
        let mut rng = crate::rng::Rng::new(12, 0);
        let mut others = vec![
            id,
            1_085_012_346,   // last digit
            101_085_012_345, // first digit
            1_085_012_354,   // last two swapped
            10_085_012_345,  // the 1 and the 0 before it swapped
            1_805_012_345,   // a middle pair swapped
            1_805_012_354,   // two pairs swapped
            1_085_012_376,   // two adjacent digits substituted, not a swap
            1_085_112_344,   // two digits substituted apart
            999_999_999_999,
            0,
        ];
        for _ in 0..20_000 {
            // Random IDs, and IDs one or two random digits away from `id`.
            let r = rng.below(1_000_000_000_000);
            let p = 10u64.pow(rng.below(12) as u32);
            let q = 10u64.pow(rng.below(12) as u32);
            let d = |v: u64, p: u64| (v / p) % 10;
            let one = id - d(id, p) * p + rng.below(10) * p;
            let two = one - d(one, q) * q + rng.below(10) * q;
            others.extend([r, one, two]);
        }
        let mut near = 0;
        for &b in &others {
            let fast = super::within_one_edit(id, (12 << 56) | b);
            assert_eq!(fast, one_keystroke_12_by_digits(id, b), "{b:012}");
            assert_eq!(
                fast,
                super::within_one_edit(b, (12 << 56) | id),
                "symmetric: {b:012}"
            );
            near += fast as usize;
        }
        assert!(
            near > 20_000,
            "the sample holds many IDs a keystroke apart: {near}"
        );
    }

    use super::*;

    #[test]
    fn ids_one_edit_away() {
        let id = 1_085_012_345u64; // 001085012345
        let t = |s: &str| typed_digits(s).expect(s);
        assert!(within_one_edit(id, t("00108501234"))); // last digit lost
        assert!(within_one_edit(id, t("00185012345"))); // a middle digit lost
        assert!(within_one_edit(id, t("0010850123450"))); // a digit added
        assert!(within_one_edit(id, t("001085012354"))); // two digits swapped
        assert!(within_one_edit(id, t("001O85012345"))); // the letter O for a zero
        assert!(within_one_edit(id, t("001085O12346"))); // O read as 0, one digit mistyped
        assert!(!within_one_edit(id, t("001085012399")));
        assert_eq!(typed_digits("00108501"), None); // too short to be an ID typed wrong
        assert_eq!(typed_digits("0912 345 678"), Some((10 << 56) | 912_345_678));
        // Every ID one edit away is among the candidates enumerated, and each is one edit away.
        for typed in [
            "00108501234",
            "00185012345",
            "0010850123450",
            "001085012354",
            "001O85012345",
        ] {
            let ids = one_edit_ids(t(typed));
            assert!(ids.contains(&id), "{typed}");
            assert!(ids.iter().all(|&i| within_one_edit(i, t(typed))), "{typed}");
        }
        assert_eq!(typed_digits("abc"), None);
        assert_eq!(typed_digits("123"), None);
    }

    #[test]
    fn classification_of_what_id_cells_hold() {
        assert_eq!(classify_id(" 001085012345 ").class, IdClass::Valid);
        assert_eq!(classify_id("").class, IdClass::Missing);
        assert_eq!(classify_id("001.085.012345").class, IdClass::Formatted);
        assert_eq!(classify_id("001 085 012 345").class, IdClass::Formatted);
        assert_eq!(classify_id("'001085012345").class, IdClass::Formatted);
        assert_eq!({ classify_id("001.085.012345").value }, 1_085_012_345);
        let dz = classify_id("79195012345");
        assert_eq!((dz.class, dz.value), (IdClass::DroppedZero, 79_195_012_345));
        assert_eq!(classify_id("1085012345").class, IdClass::DroppedZero);
        assert_eq!(classify_id("0912345678").class, IdClass::Phone);
        assert_eq!(classify_id("84912345678").class, IdClass::Phone);
        assert_eq!(classify_id("+84 912 345 678").class, IdClass::Phone);
        assert_eq!(classify_id("0212345678").class, IdClass::Malformed);
        assert_eq!(classify_id("012345678").class, IdClass::OldCmnd);
        assert_eq!(classify_id("1.23457E+11").class, IdClass::Scientific);
        assert_eq!(classify_id("00108501234A").class, IdClass::Malformed);
        assert_eq!(classify_id("0010850123456").class, IdClass::Malformed);
        assert_eq!(
            classify_id("99999999999999999999999").class,
            IdClass::Malformed
        );
    }

    #[test]
    fn structure_checks() {
        let born = |y| Some(PDate::new(y, 3, 7));
        // 001 Hà Nội, digit 4 = 0 (male, 1900s), yy = 85.
        let id = 1_085_012_345;
        assert_eq!(
            check_structure(id, Some(Sex::Male), born(1985)),
            [None, None, None]
        );
        assert_eq!(
            check_structure(id, Some(Sex::Female), born(1985))[1],
            Some(IdStructureError::Sex)
        );
        assert_eq!(
            check_structure(id, Some(Sex::Male), born(2085))[1],
            Some(IdStructureError::Century)
        );
        assert_eq!(
            check_structure(id, Some(Sex::Male), born(1986))[2],
            Some(IdStructureError::BirthYear)
        );
        // Unknown sex and year-only date: only what is known is checked.
        assert_eq!(
            check_structure(id, None, Some(PDate::new(1985, 0, 0))),
            [None, None, None]
        );
        // 003 is not a birth-registration province.
        assert_eq!(
            check_structure(3_085_012_345, None, None)[0],
            Some(IdStructureError::Province)
        );
        // Female born 2005 in Hồ Chí Minh: 079 3 05 …
        assert_eq!(
            check_structure(79_305_123_456, Some(Sex::Female), born(2005)),
            [None, None, None]
        );
        assert_eq!(century_sex_digit(Sex::Female, 2005), Some(3));
        assert_eq!(century_sex_digit(Sex::Male, 1899), None);
    }

    #[test]
    fn sex_spellings() {
        for s in ["Nam", "nam", "M", "male", "NAM"] {
            assert_eq!(parse_sex(s), Ok(Some(Sex::Male)), "{s}");
        }
        for s in ["Nữ", "nu", "F", "female", "NỮ"] {
            assert_eq!(parse_sex(s), Ok(Some(Sex::Female)), "{s}");
        }
        assert_eq!(parse_sex(""), Ok(None));
        assert_eq!(parse_sex("Khác"), Err(()));
    }

    #[test]
    fn cmnd_classes() {
        assert_eq!(classify_cmnd("012345678").0, CmndClass::Valid);
        assert_eq!(classify_cmnd("171234567").0, CmndClass::RecalledPrefix);
        assert_eq!(classify_cmnd("991234567").0, CmndClass::UnknownPrefix);
        assert_eq!(classify_cmnd("01234567").0, CmndClass::BadLength);
        assert_eq!(classify_cmnd("001085012345").0, CmndClass::Valid);
        assert_eq!(classify_cmnd("").0, CmndClass::Missing);
    }
}
