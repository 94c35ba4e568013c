//! Compact per-record features for matching, computed once per source in parallel: folded
//! name parts with their 64-bit hashes (no interner needed), diacritic keys, birth date,
//! sex, IDs, parents and place, all as integers except the two short texts Jaro–Winkler
//! needs, which are stored inline (no allocation per record, no pointer to chase per pair).

use rayon::prelude::*;

pub use crate::core::hash::{h64, mix};
use crate::core::table::ByValue;
use crate::core::{Col, Column, Prepared, SexParse, Table};
use crate::dates::PDate;
use crate::ids::{classify_cmnd, CmndClass, Sex};
use crate::text::{decode_legacy, fold_into, name_key, split_name};

/// A syllable stored inline: up to 15 bytes of UTF-8, cut at a character boundary. Folded
/// Vietnamese syllables are at most 7 letters ("nghieng"); a longer foreign name is compared
/// by its first 15 bytes.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ShortText {
    len: u8,
    bytes: [u8; 15],
}

impl ShortText {
    pub fn new(s: &str) -> Self {
        let mut end = s.len().min(15);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 15];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        ShortText {
            len: end as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..self.len as usize];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: `new` is the only constructor; it copies a prefix of a `&str` cut at a
        // character boundary, so these bytes are valid UTF-8. (This runs for every compared
        // pair: validating again each time cost 2% of a whole run.)
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl std::ops::Deref for ShortText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ShortText {
    fn from(s: &str) -> Self {
        ShortText::new(s)
    }
}

/// Hash of a name's diacritic key (legacy decoded, one tone placement), cached per thread:
/// given names repeat, and the key is the costliest part of the features.
fn given_key_hash(written: &str) -> u64 {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Cache =
        HashMap<Box<str>, u64, std::hash::BuildHasherDefault<crate::core::hash::HashedKey>>;
    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(&h) = c.get(written) {
            return h;
        }
        let h = h64(&name_key(written));
        if c.len() > 100_000 {
            c.clear();
        }
        c.insert(written.into(), h);
        h
    })
}

/// Home and birth-order names people are registered under in place of their given name, as
/// name keys (diacritics kept, one tone placement).
const NICKNAMES: &[&str] = &[
    "tý", "tí", "tèo", "bé", "út", "cu", "cún", "bi", "bin", "su", "bông", "bống", "mít", "tư",
    "năm", "sáu", "bảy", "tám", "chín", "mười",
];

fn is_nickname(key_hash: u64) -> bool {
    use std::sync::OnceLock;
    static KEYS: OnceLock<Vec<u64>> = OnceLock::new();
    KEYS.get_or_init(|| NICKNAMES.iter().map(|n| h64(&name_key(n))).collect())
        .contains(&key_hash)
}

/// Ethnicity or religion as typed ("Kinh", "KINH", "Dân tộc Kinh"; "Không", "không tôn giáo"),
/// folded to one 32-bit hash (0 when empty): the words "dân tộc" and "tôn giáo" before or
/// after the value are left out, and "không", "không có", "không tôn giáo" are one value.
fn attribute_hash(s: &str, buf: &mut String) -> u32 {
    buf.clear();
    crate::text::name_fold_into(s, buf);
    let mut v = buf.trim();
    for w in ["dan toc", "ton giao"] {
        v = v.strip_prefix(w).unwrap_or(v).trim_start();
        v = v.strip_suffix(w).unwrap_or(v).trim_end();
    }
    if v == "khong co" {
        v = "khong";
    }
    if v.is_empty() {
        return 0;
    }
    (h64(v) as u32).max(1)
}

/// A 64-bit hash cut to 32 bits, 0 (missing) kept 0 and nothing else made 0.
pub fn h32(h: u64) -> u32 {
    if h == 0 {
        0
    } else {
        (h as u32).max(1)
    }
}

/// Words that name a unit's level, left out of a place ("Xã An Thành, Huyện Quỳnh Phụ, Tỉnh
/// Thái Bình" and "An Thành - Quỳnh Phụ - Thái Bình" are one place), folded, longest first.
const UNIT_WORDS: &[&str] = &[
    "thanh pho ",
    "thi tran ",
    "dac khu ",
    "phuong ",
    "thi xa ",
    "huyen ",
    "quan ",
    "tinh ",
    "xa ",
    "tp. ",
    "tp ",
    "tt. ",
    "tx. ",
    "x. ",
    "p. ",
    "h. ",
    "q. ",
    "t. ",
];

/// A place (nơi sinh, quê quán) as typed, in three hashes: the whole (16 bits), its first part
/// (the commune or ward, 8 bits) and its last (the province, 8 bits), after folding and
/// leaving out the words that name a unit's level; parts are split at commas, hyphens,
/// semicolons and slashes. 0 when empty. `whole` is a buffer reused from row to row.
pub fn place_hash(raw: &str, buf: &mut String, whole: &mut Vec<u8>) -> u32 {
    buf.clear();
    crate::text::name_fold_into(raw, buf);
    whole.clear();
    let (mut first, mut last) = (0u64, 0u64);
    for part in buf.split([',', '-', ';', '/']) {
        let mut p = part.trim();
        while let Some(rest) = UNIT_WORDS.iter().find_map(|l| p.strip_prefix(l)) {
            p = rest.trim_start();
        }
        let letters = p.bytes().filter(u8::is_ascii_alphanumeric);
        let start = whole.len();
        whole.extend(letters);
        if whole.len() == start {
            continue;
        }
        let h = h64(std::str::from_utf8(&whole[start..]).unwrap_or_default());
        if first == 0 {
            first = h;
        }
        last = h;
        whole.push(b'|');
    }
    if whole.is_empty() {
        return 0;
    }
    let w = h64(std::str::from_utf8(whole).unwrap_or_default());
    ((w as u32 & 0xffff) << 16 | (first as u32 & 0xff) << 8 | (last as u32 & 0xff)).max(1)
}

/// Hash of [`name_fold`](crate::text::name_fold) of a name, folding into a reused buffer.
fn folded_hash(s: &str, buf: &mut String) -> u64 {
    buf.clear();
    crate::text::name_fold_into(s, buf);
    h64(buf)
}

/// Hash of the folded syllables in sorted order (another order of one name hashes equal),
/// from the syllables' own hashes: no joined string.
fn sorted_hash(folded: &str) -> u64 {
    let mut hs = [0u64; 12];
    let mut n = 0;
    for syl in folded.split(' ').filter(|s| !s.is_empty()) {
        if n == hs.len() {
            break;
        }
        hs[n] = h64(syl);
        n += 1;
    }
    if n == 0 {
        return 0;
    }
    hs[..n].sort_unstable();
    mix(&hs[..n])
}

/// One record, ready to compare.
#[derive(Clone, Debug, Default)]
pub struct Rec {
    pub family: u64,
    pub middle: u64,
    pub given: u64,
    /// Hash of the given name with its diacritics (one tone placement).
    pub given_key: u64,
    /// The name as written carries no diacritics at all (typed without them), so a given
    /// name that folds equal is no evidence of another name.
    pub given_plain: bool,
    /// The given name is a home or birth-order name ("Tý", "Bé", "Út", "Tư", "Năm", …) that
    /// people are registered under in place of their own: another given name beside it is no
    /// evidence of another person.
    pub given_nickname: bool,
    /// The folded given (family) name is one many records of the register carry
    /// ([`super::model::CommonNames`]): set by the driver once the register's names are
    /// counted, false until then.
    pub given_common: bool,
    pub family_common: bool,
    /// Hash of the folded syllables sorted (another order of the same syllables).
    pub sorted: u64,
    pub full: u64,
    pub given_text: ShortText,
    pub family_text: ShortText,
    /// The folded middle name (its first 15 bytes), to tell a typo in it from another one.
    pub middle_text: ShortText,
    /// Year 0 when unknown.
    pub birth: PDate,
    /// 0 unknown, 1 male, 2 female.
    pub sex: u8,
    /// A usable 12-digit ID (valid, or with repairable format), else 0.
    pub pid: u64,
    /// The digits of an ID cell that is not a 12-digit ID as typed (a digit lost or added,
    /// letters for digits), packed by [`crate::ids::typed_digits`], else 0: compared with
    /// another record's ID by edit distance.
    pub pid_typed: u64,
    pub cmnd: u64,
    /// The parents' folded names, the province and commune codes and the household ID, as
    /// 32-bit hashes ([`h32`]; 0 when missing): they are compared only within candidate
    /// pairs, where two values meeting on one hash by chance (one pair in four billion) never
    /// matter, and four bytes each keep a 10 M register's records 160 MB smaller.
    pub father: u32,
    pub mother: u32,
    pub province: u32,
    pub commune: u32,
    pub household: u32,
    /// The address, as two 32-bit hashes in one word (0 when there is none): high, its
    /// house number and the first letters of the street after it ([`Rec::address_key`]); low, the
    /// whole address folded to its letters and digits.
    pub address: u64,
    /// Ethnicity and religion folded ([`attribute_hash`]), 0 when missing.
    pub ethnicity: u32,
    pub religion: u32,
    /// Place of birth (nơi sinh) and hometown (quê quán), as [`place_hash`], 0 when missing.
    pub birth_place: u32,
    pub hometown: u32,
}

impl Rec {
    pub fn has_name(&self) -> bool {
        self.given != 0
    }

    /// The address's key: its house number and street's first letters (0 when too short to
    /// tell one address from another).
    pub fn address_key(&self) -> u64 {
        self.address >> 32
    }

    /// Bytes [`Rec::encode`] writes.
    pub const ENCODED_LEN: usize = 10 * 8 + 3 * 16 + 4 + 2 + 9 * 4;

    /// A fixed-size little-endian encoding, for spilling records to disk.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for v in [
            self.family,
            self.middle,
            self.given,
            self.given_key,
            self.sorted,
            self.full,
            self.pid,
            self.cmnd,
            self.pid_typed,
            self.address,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for t in [&self.given_text, &self.family_text, &self.middle_text] {
            out.push(t.len);
            out.extend_from_slice(&t.bytes);
        }
        out.extend_from_slice(&self.birth.year.to_le_bytes());
        out.extend_from_slice(&[
            self.birth.month,
            self.birth.day,
            self.sex,
            self.given_plain as u8
                | (self.given_nickname as u8) << 1
                | (self.given_common as u8) << 2
                | (self.family_common as u8) << 3,
        ]);
        for v in [
            self.father,
            self.mother,
            self.province,
            self.commune,
            self.household,
            self.ethnicity,
            self.religion,
            self.birth_place,
            self.hometown,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// The record [`Rec::encode`] wrote into `b` (`ENCODED_LEN` bytes).
    pub fn decode(b: &[u8]) -> Rec {
        let u = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let text = |at: usize| {
            let len = (b[at] as usize).min(15);
            std::str::from_utf8(&b[at + 1..at + 1 + len])
                .map(ShortText::new)
                .unwrap_or_default()
        };
        let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let t = 10 * 8;
        let d = t + 48;
        Rec {
            family: u(0),
            middle: u(1),
            given: u(2),
            given_key: u(3),
            sorted: u(4),
            full: u(5),
            pid: u(6),
            cmnd: u(7),
            pid_typed: u(8),
            address: u(9),
            given_text: text(t),
            family_text: text(t + 16),
            middle_text: text(t + 32),
            birth: PDate {
                year: u16::from_le_bytes([b[d], b[d + 1]]),
                month: b[d + 2],
                day: b[d + 3],
            },
            sex: b[d + 4],
            given_plain: b[d + 5] & 1 != 0,
            given_nickname: b[d + 5] & 2 != 0,
            given_common: b[d + 5] & 4 != 0,
            family_common: b[d + 5] & 8 != 0,
            father: w(d + 6),
            mother: w(d + 10),
            province: w(d + 14),
            commune: w(d + 18),
            household: w(d + 22),
            ethnicity: w(d + 26),
            religion: w(d + 30),
            birth_place: w(d + 34),
            hometown: w(d + 38),
        }
    }
}

fn has_diacritics(s: &str) -> bool {
    !s.is_ascii()
}

/// An address folded (decoded from legacy text, lower case, no diacritics) as
/// [`Rec::address`]: the key is the first number (the house number, up to 8 digits) and the
/// first 4 letters after it, or the first 6 letters of an address without a number —
/// "16 wolff crescent" and "16 wolffcrescent, brentwoo" share it, as do "Số 252, Xã Hiệp Đức"
/// and "so 252 xa hiep duc"; a key of fewer than 4 characters is none.
pub fn address_hash(raw: &str, folded: &mut String) -> u64 {
    folded.clear();
    crate::text::name_fold_into(raw, folded);
    folded.retain(|c| c.is_ascii_alphanumeric());
    let b = folded.as_bytes();
    if b.is_empty() {
        return 0;
    }
    let key = match b.iter().position(u8::is_ascii_digit) {
        Some(start) => {
            let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            let rest = &b[start + digits..];
            let letters = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            (digits <= 8).then(|| &b[start..start + digits + letters.min(4)])
        }
        None => Some(&b[..b.len().min(6)]),
    };
    let key = match key {
        Some(k) if k.len() >= 4 => h64(std::str::from_utf8(k).unwrap_or_default()),
        _ => 0,
    };
    ((key as u32 as u64) << 32) | (h64(folded) as u32 as u64).max(1)
}

/// The parts of [`Rec`] that a full name alone gives.
#[derive(Clone, Copy)]
struct NameParts {
    family: u64,
    middle: u64,
    given: u64,
    given_key: u64,
    given_plain: bool,
    given_nickname: bool,
    sorted: u64,
    full: u64,
    given_text: ShortText,
    family_text: ShortText,
    middle_text: ShortText,
}

impl NameParts {
    /// The parts of a full name as a cell holds it (trimmed), legacy text decoded; `folded`
    /// is scratch space.
    fn of(raw: &str, folded: &mut String) -> NameParts {
        let decoded = decode_legacy(raw);
        let written = decoded.as_deref().unwrap_or(raw);
        folded.clear();
        fold_into(written, folded);
        let (f, m, g) = split_name(folded);
        let (_, _, g_written) = split_name(written);
        NameParts {
            family: h64(f),
            middle: h64(m),
            given: h64(g),
            given_key: if g_written.is_empty() {
                0
            } else {
                given_key_hash(g_written)
            },
            given_plain: !has_diacritics(written),
            // Only with diacritics: typed without them, "Nam" and "Hai" are names.
            given_nickname: has_diacritics(written)
                && !g_written.is_empty()
                && is_nickname(given_key_hash(g_written)),
            sorted: sorted_hash(folded),
            full: h64(folded),
            given_text: ShortText::new(g),
            family_text: ShortText::new(f),
            middle_text: ShortText::new(m),
        }
    }
}

/// Features of every row of a table.
pub fn features(table: &Table, prepared: &Prepared) -> Vec<Rec> {
    let rows: Vec<usize> = (0..table.len()).collect();
    features_of(table, prepared, &rows)
}

/// Features of some rows of a table, in the order given.
pub fn features_of(table: &Table, prepared: &Prepared, rows: &[usize]) -> Vec<Rec> {
    let pid_col = table.column(Column::PersonalId);
    let address = table.column(Column::Address);
    let (ethnicity, religion, birth_place, hometown) = (
        table.column(Column::Ethnicity),
        table.column(Column::Religion),
        table.column(Column::BirthPlace),
        table.column(Column::Hometown),
    );
    let (name, father, mother, prov, commune, hh, old) = (
        table.column(Column::FullName),
        table.column(Column::FatherName),
        table.column(Column::MotherName),
        table.column(Column::ProvinceCode),
        table.column(Column::CommuneCode),
        table.column(Column::HouseholdId),
        table.column(Column::OldId),
    );
    // Columns whose values repeat are dictionary-encoded: each distinct value is hashed once
    // (when most rows are wanted) rather than once a row.
    let most = rows.len() * 2 >= table.len();
    let once = |col: Col, f: &(dyn Fn(&str) -> u64 + Sync)| {
        if most {
            col.by_value(f)
        } else {
            None
        }
    };
    let hashed =
        |col: Col, by: &Option<ByValue<u64>>, r: usize, f: &mut dyn FnMut(&str) -> u64| match by {
            Some(by) => by.get(&col, r),
            None => f(col.get(r)),
        };
    let parent = |s: &str| h32(folded_hash(s, &mut String::new())) as u64;
    let code = |s: &str| h32(h64(s)) as u64;
    let attribute = |s: &str| attribute_hash(s, &mut String::new()) as u64;
    let birthplace = |s: &str| place_hash(s, &mut String::new(), &mut Vec::new()) as u64;
    let addressed = |s: &str| address_hash(s, &mut String::new());
    // The name's parts, once a distinct name (a third of the rows at 1 M people).
    let by_name = most
        .then(|| {
            name.by_value(|raw| {
                thread_local!(static FOLDED: std::cell::RefCell<String> = const {
                    std::cell::RefCell::new(String::new())
                });
                FOLDED.with(|f| NameParts::of(raw, &mut f.borrow_mut()))
            })
        })
        .flatten();
    let by_father = once(father, &parent);
    let by_mother = once(mother, &parent);
    let by_prov = once(prov, &code);
    let by_commune = once(commune, &code);
    let by_hh = once(hh, &code);
    let by_address = once(address, &addressed);
    let by_ethnicity = once(ethnicity, &attribute);
    let by_religion = once(religion, &attribute);
    let by_birth_place = once(birth_place, &birthplace);
    let by_hometown = once(hometown, &birthplace);
    rows.par_iter()
        .with_min_len(2048)
        .map_init(
            || (String::new(), String::new(), Vec::new()),
            |(folded, buf, place), &r| {
                let facts = prepared.rows[r];
                let n = match &by_name {
                    Some(by) => by.get(&name, r),
                    None => NameParts::of(name.get(r), folded),
                };
                let cmnd = match classify_cmnd(old.get(r)) {
                    (CmndClass::Missing | CmndClass::BadLength, _, _) => 0,
                    (_, v, len) => ((len as u64) << 56) | v,
                };
                Rec {
                    family: n.family,
                    middle: n.middle,
                    given: n.given,
                    given_key: n.given_key,
                    given_plain: n.given_plain,
                    given_nickname: n.given_nickname,
                    given_common: false,
                    family_common: false,
                    sorted: n.sorted,
                    full: n.full,
                    given_text: n.given_text,
                    family_text: n.family_text,
                    middle_text: n.middle_text,
                    birth: facts.birth.valid().unwrap_or_default(),
                    sex: match facts.sex {
                        SexParse::Known(Sex::Male) => 1,
                        SexParse::Known(Sex::Female) => 2,
                        _ => 0,
                    },
                    pid: facts.pid.personal_id().unwrap_or(0),
                    pid_typed: if facts.pid.is_valid() {
                        0
                    } else {
                        crate::ids::typed_digits(pid_col.raw(r)).unwrap_or(0)
                    },
                    cmnd,
                    father: hashed(father, &by_father, r, &mut |s| {
                        h32(folded_hash(s, buf)) as u64
                    }) as u32,
                    mother: hashed(mother, &by_mother, r, &mut |s| {
                        h32(folded_hash(s, buf)) as u64
                    }) as u32,
                    province: hashed(prov, &by_prov, r, &mut |s| code(s)) as u32,
                    commune: hashed(commune, &by_commune, r, &mut |s| code(s)) as u32,
                    household: hashed(hh, &by_hh, r, &mut |s| code(s)) as u32,
                    address: hashed(address, &by_address, r, &mut |s| address_hash(s, buf)),
                    ethnicity: hashed(ethnicity, &by_ethnicity, r, &mut |s| {
                        attribute_hash(s, buf) as u64
                    }) as u32,
                    religion: hashed(religion, &by_religion, r, &mut |s| {
                        attribute_hash(s, buf) as u64
                    }) as u32,
                    birth_place: hashed(birth_place, &by_birth_place, r, &mut |s| {
                        place_hash(s, buf, place) as u64
                    }) as u32,
                    hometown: hashed(hometown, &by_hometown, r, &mut |s| {
                        place_hash(s, buf, place) as u64
                    }) as u32,
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full name's parts come out the same whether the column holds each row's text or
    /// keys into its distinct names (computed once a name): legacy TCVN3 text, a name typed
    /// without diacritics, a home name, padding, an empty cell and a foreign name.
    #[test]
    fn names_read_once_a_distinct_value_give_each_rows_features() {
        use arrow_array::{ArrayRef, StringArray};
        use std::sync::Arc;
        let names = [
            "Nguyễn Văn Hùng",
            "  Nguyễn Văn Hùng ",
            "NguyÔn V¨n Hïng",
            "Nguyen Van Hung",
            "Lê Thị Tý",
            "",
            "John Smith",
            "Trần   Bảo   Ngọc",
        ];
        let n = 10_000;
        let col = |f: &dyn Fn(usize) -> String| -> ArrayRef {
            Arc::new(StringArray::from((0..n).map(f).collect::<Vec<_>>()))
        };
        let plain = Table::from_columns(
            "residents",
            crate::core::SourceKind::Residents,
            vec![
                ("record_id".into(), col(&|i| format!("R{i}"))),
                (
                    "full_name".into(),
                    col(&|i| names[i * 7 % names.len()].to_string()),
                ),
                (
                    "birth_date".into(),
                    col(&|i| format!("19{:02}-01-02", i % 90)),
                ),
            ],
        );
        let mut compact = plain.clone();
        compact.compact();
        assert!(compact
            .column(Column::FullName)
            .by_value(|s| s.len())
            .is_some());
        let a = features(&plain, &Prepared::new(&plain));
        let b = features(&compact, &Prepared::new(&compact));
        let bytes = |r: &Rec| {
            let mut out = Vec::new();
            r.encode(&mut out);
            (out, r.given_text, r.family_text, r.middle_text)
        };
        assert_eq!(a.len(), n);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(bytes(x), bytes(y));
        }
        // The legacy name is the Unicode one; the one typed without diacritics folds alike.
        let at = |name: &str| {
            (0..n)
                .find(|&i| names[i * 7 % names.len()] == name)
                .unwrap()
        };
        assert_eq!(a[at("NguyÔn V¨n Hïng")].full, a[at("Nguyễn Văn Hùng")].full);
        assert_eq!(a[at("Nguyen Van Hung")].full, a[at("Nguyễn Văn Hùng")].full);
        assert!(a[at("Lê Thị Tý")].given_nickname);
    }

    /// Ethnicity and religion as clerks type them fold to one value; none is 0.
    #[test]
    fn ethnicity_and_religion_typed_differently_fold_to_one_value() {
        let mut buf = String::new();
        let mut h = |s: &str| attribute_hash(s, &mut buf);
        assert_eq!(h("Kinh"), h("KINH"));
        assert_eq!(h("Kinh"), h("Dân tộc Kinh"));
        assert_eq!(h("Mường"), h("muong"));
        assert_ne!(h("Kinh"), h("Mường"));
        assert_eq!(h("Không"), h("không tôn giáo"));
        assert_eq!(h("Không"), h("Không có"));
        assert_eq!(h("Phật giáo"), h("Tôn giáo Phật giáo"));
        assert_ne!(h("Phật giáo"), h("Công giáo"));
        assert_eq!(h(""), 0);
        assert_eq!(h("  "), 0);
        assert_ne!(h("Kinh"), 0);
    }

    /// A place written with or without the words that name a unit's level, with other
    /// separators or diacritics, is one place; a place without its commune shares the
    /// province; another commune of one province shares the province only.
    #[test]
    fn a_place_written_differently_is_one_place() {
        let (mut buf, mut whole) = (String::new(), Vec::new());
        let mut h = |s: &str| place_hash(s, &mut buf, &mut whole);
        let whole = |x: u32| x >> 16;
        let (first, last) = (|x: u32| (x >> 8) & 0xff, |x: u32| x & 0xff);
        let a = h("Xã An Thành, Huyện Quỳnh Phụ, Tỉnh Thái Bình");
        assert_eq!(a, h("an thanh - quynh phu - thai binh"));
        assert_eq!(
            a,
            h("X. An Thành, H. Quỳnh Phụ, T. Thái Bình"),
            "abbreviations"
        );
        let province = h("Thái Bình");
        assert_ne!(whole(a), whole(province));
        assert_eq!(last(a), last(province));
        let other = h("Xã An Ninh, Huyện Quỳnh Phụ, Tỉnh Thái Bình");
        assert_ne!(whole(a), whole(other));
        assert_eq!(last(a), last(other));
        assert_eq!(first(a), first(h("Xã An Thành, Tỉnh Hưng Yên")));
        assert_eq!(h(""), 0);
        assert_eq!(h(" , - "), 0);
    }

    /// Addresses typed twice: the same house number and street's first letters share the key
    /// (spaces lost, a letter lost further on, diacritics or case), the same letters and
    /// digits share the whole; another number is another key; no address is none.
    #[test]
    fn an_address_typed_twice_keeps_its_key() {
        let mut buf = String::new();
        let mut h = |s: &str| address_hash(s, &mut buf);
        let a = h("16 Wolff Crescent, Brentwood Vlge");
        let b = h("16 wolffcrescent, brentwoo e vlge");
        assert_eq!(a >> 32, b >> 32);
        assert_ne!(a as u32, b as u32);
        assert_eq!(h("Số 252, Xã Hiệp Đức"), h("so 252 xa hiep duc"));
        assert_ne!(
            h("Số 252, Xã Hiệp Đức") >> 32,
            h("Số 25, Xã Hiệp Đức") >> 32
        );
        assert_eq!(h("jervois street, cerbrus") >> 32, h("jervois st") >> 32);
        assert_eq!(h(""), 0);
        assert_eq!(h(" , "), 0);
        assert_eq!(h("12") >> 32, 0, "too short to tell addresses apart");
    }
}
