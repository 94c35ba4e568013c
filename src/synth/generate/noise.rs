//! The second noise profile (`generate --noise registers`): damage the way a register that
//! was typed, scanned, merged and re-registered over decades is damaged, independently of the
//! first profile's habits. Every kind of damage can hit any field:
//!
//! - names: a keystroke typo in any syllable (a letter mistyped, lost, added or two swapped),
//!   in the family name as often as in the given name; OCR and font damage to the diacritics
//!   of one syllable (a tone mark read as another, ư/ơ/ă/â/ê/ô/đ read without their hook,
//!   breve or bar); the whole name typed without diacritics; the middle name dropped, added
//!   or changed; the parts written in Western order (given name first); another given name
//!   (the name the person goes by, or a nickname used at the counter);
//! - birth dates: missing, only the year, only month and year, one digit mistyped, two
//!   digits swapped, day and month swapped, a day or two off, the year off by one;
//! - sex missing; parents' names missing or mistyped;
//! - IDs: kept, a second valid ID issued, missing, a digit lost or added, two digits
//!   swapped, the letter O for a zero, the old CMND typed in the ID field.

use crate::dates::PDate;
use crate::rng::{Rng, Weighted};
use crate::text::fold;

/// Vietnamese vowels with their tone-less base and tone, for moving or losing a tone mark:
/// each row is the base vowel then its five toned forms (huyền, sắc, hỏi, ngã, nặng).
const TONES: &[[char; 6]] = &[
    ['a', 'à', 'á', 'ả', 'ã', 'ạ'],
    ['ă', 'ằ', 'ắ', 'ẳ', 'ẵ', 'ặ'],
    ['â', 'ầ', 'ấ', 'ẩ', 'ẫ', 'ậ'],
    ['e', 'è', 'é', 'ẻ', 'ẽ', 'ẹ'],
    ['ê', 'ề', 'ế', 'ể', 'ễ', 'ệ'],
    ['i', 'ì', 'í', 'ỉ', 'ĩ', 'ị'],
    ['o', 'ò', 'ó', 'ỏ', 'õ', 'ọ'],
    ['ô', 'ồ', 'ố', 'ổ', 'ỗ', 'ộ'],
    ['ơ', 'ờ', 'ớ', 'ở', 'ỡ', 'ợ'],
    ['u', 'ù', 'ú', 'ủ', 'ũ', 'ụ'],
    ['ư', 'ừ', 'ứ', 'ử', 'ữ', 'ự'],
    ['y', 'ỳ', 'ý', 'ỷ', 'ỹ', 'ỵ'],
];

/// Letters that lose a hook, breve, circumflex or bar in a bad scan or font.
const LOST_MARKS: &[(char, char)] = &[
    ('ư', 'u'),
    ('ơ', 'o'),
    ('ă', 'a'),
    ('â', 'a'),
    ('ê', 'e'),
    ('ô', 'o'),
    ('đ', 'd'),
    ('Đ', 'D'),
];

/// Home names and birth-order names people are known by instead of their registered name.
pub const HOME_NAMES: &[&str] = &[
    "Tý", "Tèo", "Bé", "Út", "Cu", "Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười",
    "Nhỏ", "Bi", "Bin", "Su", "Na", "Mi",
];

/// Common middle names, for a middle name added or changed.
const MIDDLES: &[&str] = &[
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Xuân", "Hoàng",
];

fn words(name: &str) -> Vec<String> {
    name.split_whitespace().map(str::to_string).collect()
}

fn join(w: &[String]) -> String {
    w.join(" ")
}

/// A keystroke typo in one syllable of `name` (`part`: 0 the family name, 1 a middle name,
/// 2 the given name; a part the name lacks falls back to the given name).
pub fn keystroke(name: &str, part: usize, rng: &mut Rng) -> String {
    let mut w = words(name);
    if w.is_empty() {
        return name.to_string();
    }
    let i = match part {
        0 => 0,
        1 if w.len() > 2 => 1 + rng.below(w.len() as u64 - 2) as usize,
        _ => w.len() - 1,
    };
    let chars: Vec<char> = w[i].chars().collect();
    if chars.len() < 2 {
        return name.to_string();
    }
    let letters: Vec<char> = "abcdeghiklmnopqrstuvxy".chars().collect();
    let at = 1 + rng.below(chars.len() as u64 - 1) as usize;
    let mut out = chars.clone();
    match rng.below(4) {
        0 => out[at] = *rng.pick(&letters),
        1 if chars.len() > 2 => {
            out.remove(at);
        }
        2 => out.insert(at, *rng.pick(&letters)),
        _ => out.swap(at - 1, at),
    }
    if out == chars {
        out[at] = if chars[at] == 'x' { 'y' } else { 'x' };
    }
    w[i] = out.into_iter().collect();
    join(&w)
}

/// OCR or font damage to the diacritics of one syllable: a tone mark read as another or lost,
/// or a letter's hook, breve, circumflex or bar lost.
pub fn diacritics(name: &str, rng: &mut Rng) -> String {
    let mut w = words(name);
    if w.is_empty() {
        return name.to_string();
    }
    let marked: Vec<usize> = (0..w.len()).filter(|&i| !w[i].is_ascii()).collect();
    let Some(&i) = marked.get(rng.below(marked.len().max(1) as u64) as usize) else {
        return name.to_string();
    };
    let chars: Vec<char> = w[i].chars().collect();
    let mut out = chars.clone();
    for (k, c) in chars.iter().enumerate() {
        let lower = c.to_lowercase().next().unwrap_or(*c);
        if let Some(row) = TONES.iter().find(|r| r[1..].contains(&lower)) {
            let mut new = row[rng.below(6) as usize];
            if new == lower {
                new = row[0];
            }
            out[k] = if c.is_uppercase() {
                new.to_uppercase().next().unwrap_or(new)
            } else {
                new
            };
            break;
        }
        if let Some(&(_, plain)) = LOST_MARKS.iter().find(|(m, _)| m == c) {
            out[k] = plain;
            break;
        }
    }
    w[i] = out.into_iter().collect();
    join(&w)
}

/// The name typed without any diacritics (title case kept).
pub fn without_diacritics(name: &str) -> String {
    words(&fold(name))
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A name's parts rearranged or changed: `family middle given` becomes one of: given first
/// (Western order), the middle name dropped, a middle name added or changed, another given
/// name (`other_given`: a home name, or another name the person goes by).
pub fn reshape(
    family: &str,
    middle: &str,
    given: &str,
    kind: u64,
    other_given: &str,
    rng: &mut Rng,
) -> String {
    let parts = |f: &str, m: &str, g: &str| {
        [f, m, g]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    match kind {
        0 => parts(given, middle, family),
        1 => parts(family, "", given),
        2 => {
            let mut m = *rng.pick(MIDDLES);
            if m == middle {
                m = MIDDLES
                    [(MIDDLES.iter().position(|x| *x == m).unwrap_or(0) + 1) % MIDDLES.len()];
            }
            parts(family, m, given)
        }
        _ => parts(family, middle, other_given),
    }
}

/// A birth date as a damaged register writes it (never the true date as it is).
pub fn birth_date(d: PDate, rng: &mut Rng) -> String {
    let kinds = Weighted::new([
        (0u8, 12.0), // missing
        (1, 16.0),   // year only
        (2, 6.0),    // month and year
        (3, 20.0),   // one digit mistyped
        (4, 10.0),   // two adjacent digits swapped
        (5, 12.0),   // day and month swapped
        (6, 12.0),   // a day or two off
        (7, 12.0),   // the year one off
    ]);
    let iso = |d: PDate| d.to_string();
    match *kinds.sample(rng) {
        0 => String::new(),
        1 => format!("{:04}", d.year),
        2 => format!("{:02}/{:04}", d.month, d.year),
        3 | 4 => {
            let mut digits: Vec<u8> = iso(d).bytes().filter(u8::is_ascii_digit).collect();
            // Positions 2.. of YYYYMMDD: a year typed 19x5 is a typo, 2985 is not.
            let at = 2 + rng.below(5) as usize;
            if digits[at] == digits[at + 1] || rng.chance(0.5) {
                digits[at] = b'0' + ((digits[at] - b'0' + 1 + rng.below(8) as u8) % 10);
            } else {
                digits.swap(at, at + 1);
            }
            let s = String::from_utf8(digits).unwrap_or_default();
            let (y, m, dd) = (&s[..4], &s[4..6], &s[6..]);
            let parsed = PDate::new(
                y.parse().unwrap_or(d.year),
                m.parse().unwrap_or(d.month),
                dd.parse().unwrap_or(d.day),
            );
            if crate::dates::parse_date(&iso(parsed)).valid().is_some() {
                iso(parsed)
            } else {
                format!("{:04}", d.year)
            }
        }
        5 if d.day <= 12 && d.day != d.month => iso(PDate::new(d.year, d.day, d.month)),
        6 | 5 => {
            let days = d.earliest() + if rng.chance(0.5) { 1 } else { -2 };
            iso(crate::dates::civil_from_days(days))
        }
        _ => {
            let y = if rng.chance(0.5) {
                d.year + 1
            } else {
                d.year - 1
            };
            let day = d.day.min(crate::dates::days_in_month(y as i32, d.month));
            iso(PDate::new(y, d.month, day))
        }
    }
}

/// How an ID is damaged when it is typed again.
pub enum IdTypo {
    /// A digit lost (11 digits).
    Lost(String),
    /// A digit added (13 digits).
    Added(String),
    /// Two adjacent digits swapped (12 digits, another ID).
    Swapped(String),
    /// The letter O typed for a zero.
    LetterO(String),
}

/// A 12-digit ID typed wrong.
pub fn id_typo(id: &str, rng: &mut Rng) -> IdTypo {
    let b = id.as_bytes();
    let at = 3 + rng.below(8) as usize;
    match rng.below(4) {
        0 => IdTypo::Lost(format!("{}{}", &id[..at], &id[at + 1..])),
        1 => IdTypo::Added(format!("{}{}{}", &id[..at], rng.below(10), &id[at..])),
        2 if b[at] != b[at + 1] => {
            let mut v = b.to_vec();
            v.swap(at, at + 1);
            IdTypo::Swapped(String::from_utf8(v).unwrap_or_default())
        }
        _ if id[1..].contains('0') => {
            IdTypo::LetterO(format!("{}{}", &id[..1], id[1..].replacen('0', "O", 1)))
        }
        _ => IdTypo::Lost(format!("{}{}", &id[..at], &id[at + 1..])),
    }
}

impl IdTypo {
    pub fn text(&self) -> &str {
        match self {
            IdTypo::Lost(s) | IdTypo::Added(s) | IdTypo::Swapped(s) | IdTypo::LetterO(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_changes_the_text_and_keeps_it_a_name() {
        let mut rng = Rng::new(7, 0);
        for _ in 0..200 {
            let t = keystroke("Nguyễn Văn Hùng", rng.below(3) as usize, &mut rng);
            assert_ne!(t, "Nguyễn Văn Hùng");
            assert_eq!(t.split(' ').count(), 3, "{t}");
            let d = diacritics("Nguyễn Văn Hùng", &mut rng);
            assert_eq!(fold(&d), "nguyen van hung", "{d}");
            let b = birth_date(PDate::new(1985, 3, 7), &mut rng);
            assert_ne!(b, "1985-03-07");
        }
        assert_eq!(without_diacritics("Đặng Thị Ánh"), "Dang Thi Anh");
        assert_eq!(reshape("Lê", "Văn", "Tám", 0, "", &mut rng), "Tám Văn Lê");
        assert_eq!(reshape("Lê", "Văn", "Tám", 1, "", &mut rng), "Lê Tám");
        let t = id_typo("001085012345", &mut rng);
        let digits: String = t.text().replace('O', "0");
        assert!(crate::ids::within_one_edit(
            1_085_012_345,
            crate::ids::typed_digits(&digits).unwrap()
        ));
    }
}
