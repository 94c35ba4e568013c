//! The comparisons of the Fellegi–Sunter model, as data: one entry per field with its levels
//! (best first) and the function that gives a pair's level. A [`Pattern`] holds one level per
//! field; [`MISSING`] means a side lacks the field, which is no evidence either way.

use super::features::Rec;
use crate::compare::{compare_dates, jaro_winkler, within_one_keystroke, DateLevel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The compared fields, in pattern order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Given,
    Family,
    Middle,
    Birth,
    Sex,
    Pid,
    IdTypo,
    Cmnd,
    Parents,
    Place,
    Address,
    Ethnicity,
    Religion,
    BirthPlace,
    Hometown,
}

pub const N_FIELDS: usize = 15;

/// Level code for "cannot be compared" (a side is missing): contributes no evidence.
pub const MISSING: u8 = 255;

/// Which term frequencies adjust a field's agreement levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermFrequency {
    Given,
    Family,
    Middle,
}

/// One compared field.
pub struct Comparison {
    pub field: Field,
    /// Its name in `levels` strings and in the summary's model.
    pub name: &'static str,
    /// Names of its levels, best first (index = level code).
    pub levels: &'static [&'static str],
    /// The level of a pair, or [`MISSING`] (with what the pair's comparison computes once for
    /// every field).
    pub compare: fn(&Rec, &Rec, &Pair) -> u8,
    /// An identifier: left out when judging records that share one.
    pub identifier: bool,
    /// The levels (agreements) whose weight is adjusted by how common the first record's value
    /// is, and which frequencies.
    pub term_frequency: Option<(TermFrequency, &'static [u8])>,
}

/// Every comparison, in [`Field`] order.
pub const COMPARISONS: [Comparison; N_FIELDS] = [
    Comparison {
        field: Field::Given,
        name: "given",
        levels: &[
            "exact",
            "exact_without_diacritics",
            "diacritics_differ",
            "close_or_one_edit",
            "similar",
            "another_common_name",
            "different",
        ],
        compare: given,
        identifier: false,
        term_frequency: Some((TermFrequency::Given, &[0, 1])),
    },
    Comparison {
        field: Field::Family,
        name: "family",
        levels: &[
            "exact",
            "close_or_one_edit",
            "similar",
            "another_common_name",
            "different",
        ],
        compare: family,
        identifier: false,
        term_frequency: Some((TermFrequency::Family, &[0])),
    },
    Comparison {
        field: Field::Middle,
        name: "middle",
        levels: &["exact", "close_or_one_edit", "one_missing", "different"],
        compare: middle,
        identifier: false,
        // Sharing "Văn" or "Thị" says little; sharing a rare middle name says much.
        term_frequency: Some((TermFrequency::Middle, &[0])),
    },
    Comparison {
        field: Field::Birth,
        name: "birth",
        levels: &[
            "exact",
            "same_partial_date",
            "partial_compatible",
            "day_month_swapped",
            "one_digit_or_transposed",
            "within_10_days",
            "year_one_off",
            "january_first_same_year",
            "same_year",
            "different",
        ],
        compare: birth,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Sex,
        name: "sex",
        levels: &["agree", "disagree"],
        compare: sex,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Pid,
        name: "pid",
        levels: &["equal", "one_keystroke", "different"],
        compare: pid,
        identifier: true,
        term_frequency: None,
    },
    Comparison {
        field: Field::IdTypo,
        name: "id_typo",
        levels: &["within_one_edit", "different"],
        compare: id_typo,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Cmnd,
        name: "cmnd",
        levels: &["equal", "different"],
        compare: cmnd,
        identifier: true,
        term_frequency: None,
    },
    Comparison {
        field: Field::Parents,
        name: "parents",
        levels: &["both_equal", "one_equal", "different"],
        compare: parents,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Place,
        name: "place",
        levels: &["same_commune", "same_province", "other_province"],
        compare: place,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Address,
        name: "address",
        levels: &["exact", "same_number_and_street", "different"],
        compare: address,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Ethnicity,
        name: "ethnicity",
        levels: &["agree", "disagree"],
        compare: ethnicity,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Religion,
        name: "religion",
        levels: &["agree", "disagree"],
        compare: religion,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::BirthPlace,
        name: "birth_place",
        levels: PLACE_LEVELS,
        compare: birth_place,
        identifier: false,
        term_frequency: None,
    },
    Comparison {
        field: Field::Hometown,
        name: "hometown",
        levels: PLACE_LEVELS,
        compare: hometown,
        identifier: false,
        term_frequency: None,
    },
];

/// Levels of a place (birth place, hometown): the same place; the same first part (the commune
/// or ward's name: a place written before and after the 2025 merger of provinces, or without
/// its district); the same province only (one side a province alone, or another commune of
/// it); another.
const PLACE_LEVELS: &[&str] = &["exact", "same_commune_name", "same_province", "different"];

impl Field {
    pub const ALL: [Field; N_FIELDS] = [
        Field::Given,
        Field::Family,
        Field::Middle,
        Field::Birth,
        Field::Sex,
        Field::Pid,
        Field::IdTypo,
        Field::Cmnd,
        Field::Parents,
        Field::Place,
        Field::Address,
        Field::Ethnicity,
        Field::Religion,
        Field::BirthPlace,
        Field::Hometown,
    ];

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn comparison(self) -> &'static Comparison {
        &COMPARISONS[self.index()]
    }

    /// The least m (probability among one person's record pairs) the field's last level
    /// keeps, however rarely training saw it. Ethnicity and religion are a person's own and
    /// rarely change, but a clerk types them: a default "Kinh" for a minority, a religion
    /// left as "Không" or declared again. Two records of one person disagree on them now and
    /// then, so their disagreement weighs against a pair without vetoing it; a data set
    /// whose duplicates never disagree on them must not make them a veto.
    pub fn disagreement_floor(self) -> f64 {
        match self {
            Field::Ethnicity => 0.01,
            Field::Religion => 0.03,
            Field::BirthPlace | Field::Hometown => 0.03,
            _ => 0.002,
        }
    }

    /// The most often one person's two records may disagree on this field (its levels from
    /// the one returned on, together), when EM learns from candidate pairs rather than pairs
    /// sharing an identifier.
    ///
    /// Parents' names come from the birth certificate and stay; two records of one person
    /// that disagree on them mostly hold a typo, which `one_equal` takes. Ethnicity and
    /// religion are the person's own too. Among candidate pairs, namesakes born on one day in
    /// one commune agree on every name and date field and differ on these, so EM, with
    /// nothing else to tell them from one person, learns that one person's records differ on
    /// them as often as namesakes occur (parents: 44% on the registers profile without IDs,
    /// 0.5% where the pairs share an ID; ethnicity 9%, religion 13%) — and then reports every
    /// namesake. A place of birth or hometown in the same province only is a disagreement
    /// too: in a province's register most people share the province.
    pub fn candidate_disagreement_max(self) -> Option<(u8, f64)> {
        match self {
            Field::Parents => Some((2, 0.05)),
            Field::Ethnicity => Some((1, 0.02)),
            Field::Religion => Some((1, 0.05)),
            Field::BirthPlace | Field::Hometown => Some((2, 0.05)),
            _ => None,
        }
    }

    /// The code of one of this field's levels, by name.
    pub fn level(self, name: &str) -> u8 {
        self.comparison()
            .levels
            .iter()
            .position(|l| *l == name)
            .unwrap_or_else(|| panic!("{self:?} has no level {name}")) as u8
    }
}

/// One level per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(pub [u8; N_FIELDS]);

impl std::ops::Index<Field> for Pattern {
    type Output = u8;

    #[inline]
    fn index(&self, f: Field) -> &u8 {
        &self.0[f.index()]
    }
}

impl Pattern {
    /// The pattern with the given fields set to [`MISSING`].
    pub fn without(mut self, fields: &[bool; N_FIELDS]) -> Pattern {
        for (l, b) in self.0.iter_mut().zip(fields) {
            if *b {
                *l = MISSING;
            }
        }
        self
    }

    /// `given=exact;birth=day_month_swapped;…` (fields that could not be compared left out).
    pub fn explain(&self) -> String {
        let mut s = String::new();
        for (c, l) in COMPARISONS.iter().zip(self.0) {
            if l == MISSING {
                continue;
            }
            if !s.is_empty() {
                s.push(';');
            }
            s.push_str(c.name);
            s.push('=');
            s.push_str(c.levels[l as usize]);
        }
        s
    }

    /// [`Pattern::explain`], one copy a pattern: the decided pairs share it. A copy a pair
    /// (~150 bytes) was 0.3 GB for the 2 M duplicate pairs of a national `dedup`.
    pub fn explained(&self) -> Arc<str> {
        static SHARED: OnceLock<Mutex<HashMap<Pattern, Arc<str>>>> = OnceLock::new();
        let shared = SHARED.get_or_init(Default::default);
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = shared.get(self) {
            return Arc::clone(s);
        }
        let s: Arc<str> = self.explain().into();
        // Patterns are few (fields × levels seen); the bound only guards memory.
        if shared.len() < 1 << 16 {
            shared.insert(*self, Arc::clone(&s));
        }
        s
    }
}

/// What every field's comparison of one pair may need, computed once.
pub struct Pair {
    /// The names' parts are the same in another order (see [`reordered`]).
    reordered: bool,
}

/// Compare two records field by field.
pub fn compare(a: &Rec, b: &Rec) -> Pattern {
    let pair = Pair {
        reordered: reordered(a, b),
    };
    Pattern(std::array::from_fn(|i| {
        (COMPARISONS[i].compare)(a, b, &pair)
    }))
}

/// Two folded name parts that differ: one keystroke apart (Damerau–Levenshtein 1) or
/// Jaro–Winkler ≥ 0.9 is `close`, Jaro–Winkler ≥ 0.8 `similar`.
fn closeness(a: &str, b: &str) -> Option<u8> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if within_one_keystroke(a, b) {
        return Some(0);
    }
    let j = jaro_winkler(a, b);
    if j >= 0.9 {
        Some(0)
    } else if j >= 0.8 {
        Some(1)
    } else {
        None
    }
}

/// A name part present and within a keystroke of the other's.
fn near(x: &str, y: &str) -> bool {
    !x.is_empty() && within_one_keystroke(x, y)
}

/// The same syllables in another order ("Nguyễn Thị Lan Anh" / "Nguyễn Anh Lan Thị"), or
/// the family and given names swapped with a keystroke typo in one of them ("Đức Thị Hoeàng"
/// for "Hoàng Thị Đức"): the name parts compare as equal.
fn reordered(a: &Rec, b: &Rec) -> bool {
    if a.full == b.full || a.sorted == 0 {
        return false;
    }
    if a.sorted == b.sorted {
        return true;
    }
    crossed_one_typo(a, b) || given_first(a, b) || given_first(b, a)
}

/// The family and given names written in the other order, one crossed part written the same
/// and the other a keystroke off at most ("Mih Văn Trần" for "Trần Văn Minh"): with both off
/// ("Trần Anh Long" and "Lương Văn Tân") the names are two people's.
pub fn crossed_one_typo(a: &Rec, b: &Rec) -> bool {
    a.family != b.family
        && a.given != b.given
        && ((a.given_text == b.family_text && near(&a.family_text, &b.given_text))
            || (a.family_text == b.given_text && near(&a.given_text, &b.family_text)))
}

/// `x` is written given name first, as a form with the given name and the rest in two fields
/// puts them together ("Tâm Phan Quỳnh" for "Phan Quỳnh Tâm"), and `y` in the usual order:
/// `x`'s first syllable is `y`'s given name and its second `y`'s family name, one of the two
/// as written and the other a keystroke off at most ("CChiến Bùi Hữu" and "Bùi Hữu Chiến",
/// "Tâm Phann Quỳnh" and "Phan Tâm").
fn given_first(x: &Rec, y: &Rec) -> bool {
    let second = x.middle_text.split(' ').next().unwrap_or("");
    if second.is_empty() || y.family == 0 || x.family == y.family {
        return false;
    }
    let given = x.family_text.as_str() == y.given_text.as_str();
    let family = second == y.family_text.as_str();
    (given && (family || near(second, &y.family_text)))
        || (family && near(&x.family_text, &y.given_text))
}

/// One record's given name is the other's family name, or the other way round (within a
/// keystroke): parts written in another order, whatever else changed.
pub fn names_cross(a: &Rec, b: &Rec) -> bool {
    near(&a.given_text, &b.family_text) || near(&a.family_text, &b.given_text)
}

/// One record's name is a single word ("Kiss", "Lan") and the other's is whole: the word may
/// be either part. It is compared with the part it equals (within a keystroke), and the
/// other part, and the middle name, are missing rather than different.
fn single_word(a: &Rec, b: &Rec) -> Option<SingleWord> {
    let (one, whole) = match (a.family == 0, b.family == 0) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => return None,
    };
    Some(if one.given == whole.given {
        SingleWord::Given
    } else if near(&one.given_text, &whole.family_text) {
        SingleWord::Family
    } else {
        SingleWord::Other
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SingleWord {
    /// The word is the other's given name.
    Given,
    /// The word is the other's family name (within a keystroke).
    Family,
    /// Neither: compared as a given name.
    Other,
}

fn given(a: &Rec, b: &Rec, pair: &Pair) -> u8 {
    if !(a.has_name() && b.has_name()) {
        return MISSING;
    }
    if single_word(a, b) == Some(SingleWord::Family) {
        return MISSING;
    }
    if pair.reordered {
        1
    } else if a.given != b.given && a.given_nickname != b.given_nickname {
        // A home name beside a given name: no evidence either way.
        MISSING
    } else if a.given == b.given {
        if a.given_key == b.given_key {
            0
        } else if a.given_plain || b.given_plain {
            1
        } else {
            2
        }
    } else {
        match closeness(&a.given_text, &b.given_text) {
            // A keystroke between two names the register holds often: another name, most
            // likely ([`super::model::CommonNames`]).
            Some(0) if a.given_common && b.given_common => 5,
            Some(c) => 3 + c,
            None => 6,
        }
    }
}

fn family(a: &Rec, b: &Rec, pair: &Pair) -> u8 {
    if !(a.has_name() && b.has_name()) {
        return MISSING;
    }
    match single_word(a, b) {
        Some(SingleWord::Family) => {
            return if a.given_text == b.family_text || a.family_text == b.given_text {
                0
            } else {
                1
            }
        }
        Some(_) => return MISSING,
        None => {}
    }
    if a.family == b.family || pair.reordered {
        0
    } else {
        match closeness(&a.family_text, &b.family_text) {
            Some(0) if a.family_common && b.family_common => 3,
            Some(c) => 1 + c,
            None => 4,
        }
    }
}

fn middle(a: &Rec, b: &Rec, pair: &Pair) -> u8 {
    if !(a.has_name() && b.has_name()) || single_word(a, b).is_some() {
        return MISSING;
    }
    if a.middle == b.middle || pair.reordered {
        0
    } else if a.middle == 0 || b.middle == 0 {
        2
    } else if within_one_keystroke(&a.middle_text, &b.middle_text) {
        // A typo in the middle name ("Hoàqg" for "Hoàng"), not another one ("Văn", "Minh").
        1
    } else {
        3
    }
}

fn birth(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    if a.birth.year == 0 || b.birth.year == 0 {
        return MISSING;
    }
    match compare_dates(a.birth, b.birth) {
        // One year (or month and year) written on both records is not a day of birth in
        // common: two namesakes born in one year share it too. A level of its own, which EM
        // weighs on the register's own pairs.
        DateLevel::Exact if !a.birth.is_full() => 1,
        DateLevel::Exact => 0,
        DateLevel::Compatible => 2,
        DateLevel::Swapped => 3,
        DateLevel::OneDigit => 4,
        DateLevel::Near => 5,
        DateLevel::YearOff => 6,
        // Many registers write 1 January when only the year is known: a level of its own, so
        // that EM on the register's own pairs says how much it is worth (docs/matching.md §3).
        DateLevel::SameYear if a.birth.january_first_same_year(b.birth) => 7,
        DateLevel::SameYear => 8,
        DateLevel::Different => 9,
    }
}

fn sex(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    agree(a.sex, b.sex)
}

fn pid(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    if a.pid == 0 || b.pid == 0 {
        MISSING
    } else if a.pid == b.pid {
        0
    } else if crate::ids::within_one_edit(a.pid, (12 << 56) | b.pid) {
        1
    } else {
        2
    }
}

/// An ID typed wrong on one side (a digit lost or added, two digits swapped, a letter for a
/// digit) against the other side's 12-digit ID: strong evidence when within one edit.
fn id_typo(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    let (id, typed) = match (a.pid_typed, b.pid_typed) {
        (0, t) if t != 0 && a.pid != 0 && a.pid != b.pid => (a.pid, t),
        (t, 0) if t != 0 && b.pid != 0 && a.pid != b.pid => (b.pid, t),
        _ => return MISSING,
    };
    if crate::ids::within_one_edit(id, typed) {
        0
    } else {
        1
    }
}

fn cmnd(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    agree(a.cmnd, b.cmnd)
}

fn parents(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    // Only a parent both records name can agree or differ: a father on one side and a mother
    // on the other say nothing.
    let fathers = a.father != 0 && b.father != 0;
    let mothers = a.mother != 0 && b.mother != 0;
    // Within one household, siblings share parents: agreement there is no evidence.
    let same_household = a.household != 0 && a.household == b.household;
    if !(fathers || mothers) || same_household {
        return MISSING;
    }
    let f = a.father != 0 && a.father == b.father;
    let m = a.mother != 0 && a.mother == b.mother;
    match (f, m) {
        (true, true) => 0,
        (true, false) | (false, true) => 1,
        _ => 2,
    }
}

fn place(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    if a.province == 0 || b.province == 0 {
        MISSING
    } else if a.commune != 0 && a.commune == b.commune {
        0
    } else if a.province == b.province {
        1
    } else {
        2
    }
}

/// The addresses: the same letters and digits, the same house number and street (see
/// [`crate::matching::features::address_hash`]), or another. Within one household every member
/// shares the address, and children of one father or mother often live at one address in
/// several households: agreement there is no evidence either.
fn address(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    let family = (a.household != 0 && a.household == b.household)
        || (a.father != 0 && a.father == b.father)
        || (a.mother != 0 && a.mother == b.mother);
    if a.address == 0 || b.address == 0 || family {
        MISSING
    } else if a.address as u32 == b.address as u32 {
        0
    } else if a.address_key() != 0 && a.address_key() == b.address_key() {
        1
    } else {
        2
    }
}

/// Ethnicity (dân tộc) and religion (tôn giáo), folded: agree or disagree, missing when a side
/// has none.
fn ethnicity(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    agree(a.ethnicity, b.ethnicity)
}

fn religion(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    agree(a.religion, b.religion)
}

/// Place of birth (nơi sinh) and hometown (quê quán), as
/// [`place_hash`](super::features::place_hash) keeps them.
fn birth_place(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    places(a.birth_place, b.birth_place)
}

fn hometown(a: &Rec, b: &Rec, _: &Pair) -> u8 {
    places(a.hometown, b.hometown)
}

fn places(a: u32, b: u32) -> u8 {
    if a == 0 || b == 0 {
        MISSING
    } else if a >> 16 == b >> 16 {
        0
    } else if (a >> 8) & 0xff == (b >> 8) & 0xff {
        1
    } else if a & 0xff == b & 0xff {
        2
    } else {
        3
    }
}

/// Two codes (0 when missing): equal (0), another (1), or missing on a side.
fn agree<T: PartialEq + Default>(a: T, b: T) -> u8 {
    if a == T::default() || b == T::default() {
        MISSING
    } else if a == b {
        0
    } else {
        1
    }
}

/// Is this pattern two siblings rather than one person? Same parents or household and given
/// names that are not the same name: siblings, whatever their birth dates (twins share one;
/// and among the many siblings of a province some have dates a keystroke, a swap of day and
/// month or a year apart, which the date comparison takes for one date mistyped). Given names
/// that differ only in diacritics ("Ánh" and "Anh"), a keystroke or the order of syllables are
/// twins at home when born the same day (twins are often given near-identical names: "Khoa"
/// and "Khôi", "Hà" and "Hải"), and siblings wherever they live when born on dates that
/// cannot be one date mistyped.
///
/// Registered in two households, records that share a document — the same CMND, the same
/// personal ID or one a keystroke from it — are one person under another name (a home name,
/// a name changed), not siblings: each child carries their own numbers, which for twins share
/// only the six digits of province, sex and birth year. Within one household the guard stays,
/// as a sibling's number typed on a twin's record is the commonest way two people come to
/// share one.
pub fn siblings(p: &Pattern, a: &Rec, b: &Rec) -> bool {
    let same_household = a.household != 0 && a.household == b.household;
    let same_parents = p[Field::Parents] == 0 || p[Field::Parents] == 1;
    let same_day = p[Field::Birth] <= Field::Birth.level("partial_compatible");
    let reordered = a.full != b.full && a.sorted == b.sorted;
    let sex_differs = p[Field::Sex] == Field::Sex.level("disagree");
    let middle_differs = p[Field::Middle] == Field::Middle.level("different");
    match p[Field::Given] {
        // Another name.
        4 | 6 => same_household || (same_parents && !shares_document(p)),
        // The same letters with other diacritics, a near-identical name, or the same
        // syllables in another order, at home. Registered apart, a name that differs only in
        // a tone mark or a keystroke is one person's name damaged in typing or a scan far
        // more often than twins named alike who live apart.
        // Born on dates that cannot be one date mistyped, children of one couple with names a
        // keystroke apart ("An" and "Anh") are siblings too, wherever they live.
        // Of the same parents, a near-identical name with another sex and another middle name
        // ("Trịnh Đức Nghi", a girl, and "Trịnh Văn Nghĩa") is a brother and sister.
        2 | 3 | 5 => {
            (same_household && same_day)
                || (same_parents
                    && (other_dates(p) || (sex_differs && middle_differs))
                    && !shares_document(p))
        }
        1 if reordered => same_household && same_day,
        // No given name compared (a home name beside a given name, or none): the parents or
        // the household then say only "one family", and a child of it whose sex, middle name
        // or birth date differs from the other record's is a sibling ("Lê Văn Sáu" beside
        // his sister "Lê Thái Ngọc", born the same day) unless they share a document.
        MISSING => {
            (same_parents || same_household)
                && !shares_document(p)
                && (sex_differs || middle_differs || other_dates(p))
        }
        _ => false,
    }
}

/// Two full birth dates that cannot be one date mistyped: the same year only, or further
/// apart.
fn other_dates(p: &Pattern) -> bool {
    p[Field::Birth] == Field::Birth.level("same_year")
        || p[Field::Birth] == Field::Birth.level("january_first_same_year")
        || p[Field::Birth] == Field::Birth.level("different")
}

/// The two records carry one document: the same CMND, the same personal ID, or IDs one
/// keystroke or one edit apart.
pub fn shares_document(p: &Pattern) -> bool {
    p[Field::Cmnd] == Field::Cmnd.level("equal")
        || p[Field::Pid] == Field::Pid.level("equal")
        || p[Field::Pid] == Field::Pid.level("one_keystroke")
        || p[Field::IdTypo] == Field::IdTypo.level("within_one_edit")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test value's 32-bit hash, as features keep parents, places and households.
    fn h4(s: &str) -> u32 {
        crate::matching::features::h32(h64(s))
    }
    use crate::core::hash::h64;
    use crate::dates::PDate;

    pub(crate) fn rec(family: &str, middle: &str, given: &str, birth: PDate, sex: u8) -> Rec {
        Rec {
            family: h64(family),
            middle: h64(middle),
            given: h64(given),
            given_key: h64(given),
            given_plain: given.is_ascii(),
            sorted: h64(&format!("{family} {given} {middle}")),
            full: h64(&format!("{family} {middle} {given}")),
            given_text: given.into(),
            family_text: family.into(),
            middle_text: middle.into(),
            birth,
            sex,
            province: h4("01"),
            commune: h4("00004"),
            ..Default::default()
        }
    }

    #[test]
    fn parents_compare_only_a_parent_both_records_name() {
        let d = PDate::new(1985, 3, 7);
        let (mut a, mut b) = (rec("le", "van", "an", d, 1), rec("le", "van", "an", d, 1));
        let level = |a: &Rec, b: &Rec| compare(a, b)[Field::Parents];
        // A father on one side, a mother on the other: nothing to compare.
        a.father = h4("le van binh");
        b.mother = h4("tran thi hoa");
        assert_eq!(level(&a, &b), MISSING);
        // Both name a father, another one: they differ.
        b.father = h4("pham van tam");
        assert_eq!(level(&a, &b), Field::Parents.level("different"));
        b.father = a.father;
        assert_eq!(level(&a, &b), Field::Parents.level("one_equal"));
        a.mother = b.mother;
        assert_eq!(level(&a, &b), Field::Parents.level("both_equal"));
    }

    #[test]
    fn levels_of_typical_duplicates() {
        let a = rec("nguyen", "van", "an", PDate::new(1985, 3, 7), 1);
        let mut b = rec("nguyen", "", "an", PDate::new(1985, 7, 3), 1);
        b.commune = h4("00008");
        let p = compare(&a, &b);
        assert_eq!(p.explain(), "given=exact;family=exact;middle=one_missing;birth=day_month_swapped;sex=agree;place=same_province");
        let c = rec("nguyen", "van", "ah", PDate::new(1985, 0, 0), 1);
        assert_eq!(
            compare(&a, &c)[Field::Given],
            Field::Given.level("close_or_one_edit")
        );
        assert_eq!(
            compare(&a, &c)[Field::Birth],
            Field::Birth.level("partial_compatible")
        );
    }

    #[test]
    fn twins_never_match() {
        let mut a = rec("tran", "minh", "khoa", PDate::new(2010, 5, 1), 1);
        let mut b = rec("tran", "minh", "khang", PDate::new(2010, 5, 1), 1);
        a.household = h4("HO1");
        b.household = h4("HO1");
        a.father = h4("tran van binh");
        b.father = h4("tran van binh");
        let p = compare(&a, &b);
        assert!(siblings(&p, &a, &b));
        // The same given name is not a twin pair but one child registered twice.
        let c = rec("tran", "minh", "khoa", PDate::new(2010, 5, 1), 1);
        assert!(!siblings(&compare(&a, &c), &a, &c));
        // "Dũng" and "Dung" of the same parents and birth date: twins at home, but one
        // person's damaged name when registered in two households.
        let mut d = rec("tran", "minh", "dung", PDate::new(2010, 5, 1), 1);
        let mut e = d.clone();
        e.given_key = h64("dũng");
        e.given_plain = false;
        d.given_plain = false;
        d.father = a.father;
        e.father = a.father;
        d.household = h4("HO1");
        e.household = h4("HO1");
        let p = compare(&d, &e);
        assert_eq!(p[Field::Given], Field::Given.level("diacritics_differ"));
        assert!(siblings(&p, &d, &e));
        e.household = h4("HO2");
        assert!(!siblings(&compare(&d, &e), &d, &e));
    }

    /// A home name beside a given name leaves the given name uncompared, and the parents then
    /// say only "one family": a brother under a home name beside his sister born the same
    /// day, or a sister born years later, is a sibling; the same child under a home name
    /// (same sex, middle name and date) is not. Of one couple, near-identical names with
    /// another sex and another middle name ("Nghi", a girl, and "Nghĩa") are siblings too.
    #[test]
    fn a_home_name_beside_a_sibling_is_not_one_person() {
        let day = PDate::new(2003, 3, 27);
        let mut sau = rec("le", "van", "sau", day, 1);
        sau.given_nickname = true;
        let mut ngoc = rec("le", "thai", "ngoc", day, 2);
        let mut ngoc_himself = rec("le", "van", "trung", day, 1);
        for r in [&mut sau, &mut ngoc, &mut ngoc_himself] {
            r.father = h4("le van linh");
            r.mother = h4("nguyen dinh tu");
        }
        sau.household = h4("HO2");
        let p = compare(&sau, &ngoc);
        assert_eq!(p[Field::Given], MISSING);
        assert!(
            siblings(&p, &sau, &ngoc),
            "another sex, another middle name"
        );
        let p = compare(&sau, &ngoc_himself);
        assert_eq!(p[Field::Given], MISSING);
        assert!(
            !siblings(&p, &sau, &ngoc_himself),
            "one child under a home name"
        );
        ngoc_himself.birth = PDate::new(2009, 8, 2);
        assert!(
            siblings(&compare(&sau, &ngoc_himself), &sau, &ngoc_himself),
            "born years apart"
        );

        let mut nghi = rec("trinh", "duc", "nghi", PDate::new(2002, 10, 10), 2);
        let mut nghia = rec("trinh", "van", "nghia", PDate::new(2002, 10, 8), 1);
        nghi.father = h4("trinh thanh dat");
        nghia.father = nghi.father;
        nghia.household = h4("HO2");
        let p = compare(&nghi, &nghia);
        assert_eq!(p[Field::Given], Field::Given.level("close_or_one_edit"));
        assert!(siblings(&p, &nghi, &nghia));
        nghia.sex = 2;
        assert!(
            !siblings(&compare(&nghi, &nghia), &nghi, &nghia),
            "one sex: a name typed wrong"
        );
    }

    /// Another given name, the same parents and birth date, in two households: twins, unless
    /// the two records carry one CMND or one personal ID (a person under a home name or a
    /// changed name). In one household the guard holds whatever they share: a sibling's
    /// number typed on a twin's record.
    #[test]
    fn a_document_in_common_outside_one_household_is_one_person_not_siblings() {
        let mut a = rec("do", "ngoc", "tuan", PDate::new(1989, 4, 11), 1);
        let mut b = rec("do", "ngoc", "binh", PDate::new(1989, 4, 11), 1);
        a.mother = h4("do thi ly");
        b.mother = a.mother;
        a.household = h4("HO1");
        b.household = h4("HO2");
        assert!(siblings(&compare(&a, &b), &a, &b));
        a.cmnd = 33_750_564;
        b.cmnd = 33_750_564;
        assert!(!siblings(&compare(&a, &b), &a, &b));
        b.cmnd = 33_750_565;
        assert!(siblings(&compare(&a, &b), &a, &b));
        a.pid = 31_089_599_143;
        b.pid = 31_089_599_143;
        assert!(!siblings(&compare(&a, &b), &a, &b));
        b.household = a.household;
        assert!(siblings(&compare(&a, &b), &a, &b));
    }

    /// Siblings born on dates that look like one date mistyped (day and month swapped, a
    /// digit of the year) are still siblings: another given name and the same parents. One
    /// given name with such a date is one person's date mistyped.
    #[test]
    fn siblings_whose_dates_look_like_a_typo_are_not_one_person() {
        let mut a = rec("trinh", "thi", "trung", PDate::new(2014, 9, 8), 2);
        a.father = h4("trinh van hung");
        a.mother = h4("ha thuy phi");
        a.household = h4("HO1");
        for (given, birth) in [
            ("hoa", PDate::new(2014, 8, 9)),
            ("hoa", PDate::new(2017, 9, 8)),
            ("hoa", PDate::new(2014, 9, 18)),
        ] {
            let mut b = rec("trinh", "thi", given, birth, 2);
            (b.father, b.mother, b.household) = (a.father, a.mother, h4("HO2"));
            let p = compare(&a, &b);
            assert_ne!(p[Field::Birth], Field::Birth.level("different"));
            assert!(siblings(&p, &a, &b), "{birth:?}");
            b.given = a.given;
            b.given_key = a.given_key;
            b.given_text = a.given_text;
            assert!(!siblings(&compare(&a, &b), &a, &b), "{birth:?}");
        }
        // "An" and "Anh" of one couple, born years apart in two households: siblings. With a
        // date missing on one side, possibly one person's name mistyped.
        let mut an = rec("loc", "thi", "an", PDate::new(1981, 5, 4), 2);
        let mut anh = rec("loc", "thi", "anh", PDate::new(1997, 12, 11), 2);
        (an.father, an.mother, an.household) = (a.father, a.mother, h4("HO3"));
        (anh.father, anh.mother, anh.household) = (a.father, a.mother, h4("HO4"));
        let p = compare(&an, &anh);
        assert_eq!(p[Field::Given], Field::Given.level("close_or_one_edit"));
        assert!(siblings(&p, &an, &anh));
        // Both names common in the register: another level, the same guard.
        (an.given_common, anh.given_common) = (true, true);
        let p = compare(&an, &anh);
        assert_eq!(p[Field::Given], Field::Given.level("another_common_name"));
        assert!(siblings(&p, &an, &anh));
        anh.birth = PDate::default();
        assert!(!siblings(&compare(&an, &anh), &an, &anh));
    }

    /// Two names a keystroke apart that the register holds often ("Lê" and "Lý", "Duy" and
    /// "Đức" folded "duc") are compared as another common name; a keystroke typed wrong
    /// ("Trugn", which nobody else carries) as a typo, whatever the other name is; names further
    /// apart stay different.
    #[test]
    fn two_common_names_a_keystroke_apart_are_another_name() {
        let d = PDate::new(1977, 8, 19);
        let common = |mut r: Rec| {
            (r.given_common, r.family_common) = (true, true);
            r
        };
        let (a, b) = (
            common(rec("le", "van", "duy", d, 1)),
            common(rec("ly", "van", "duc", d, 1)),
        );
        let p = compare(&a, &b);
        assert_eq!(p[Field::Family], Field::Family.level("another_common_name"));
        assert_eq!(p[Field::Given], Field::Given.level("another_common_name"));
        let mut typo = rec("le", "van", "duyy", d, 1);
        typo.family_common = true;
        let p = compare(&a, &typo);
        assert_eq!(p[Field::Family], Field::Family.level("exact"));
        assert_eq!(p[Field::Given], Field::Given.level("close_or_one_edit"));
        let other = common(rec("tran", "van", "minh", d, 1));
        let p = compare(&a, &other);
        assert_eq!(p[Field::Family], Field::Family.level("different"));
        assert_eq!(p[Field::Given], Field::Given.level("different"));
    }

    /// A name of one word ("Kiss") beside a whole one ("Kiss Alexandra"): the word is the
    /// family name there, the given and middle names are missing, not different. As the other
    /// one's given name, that part agrees and the family name is missing.
    #[test]
    fn a_single_word_name_is_compared_with_the_part_it_is() {
        let date = PDate::new(1960, 12, 31);
        let whole = rec("kiss", "", "alexandra", date, 0);
        let one = rec("", "", "kiss", date, 0);
        let p = compare(&one, &whole);
        assert_eq!(p[Field::Family], Field::Family.level("exact"));
        assert_eq!((p[Field::Given], p[Field::Middle]), (MISSING, MISSING));
        let typo = rec("", "", "kis", date, 0);
        assert_eq!(
            compare(&whole, &typo)[Field::Family],
            Field::Family.level("close_or_one_edit")
        );
        let given = rec("", "", "alexandra", date, 0);
        let p = compare(&given, &whole);
        assert_eq!(p[Field::Given], Field::Given.level("exact"));
        assert_eq!((p[Field::Family], p[Field::Middle]), (MISSING, MISSING));
    }

    /// Levels for damaged data: bands on the family name as on the given name, a year-only
    /// date, a missing date (no evidence), a missing middle name, names written the other way
    /// round (with a typo), an ID typed wrong against the other's ID.
    /// The family and given names written in the other order with a keystroke off in one of
    /// them are one name ("Trần Văn Minh" and "Mih Văn Trần"); with a keystroke off in both,
    /// two names ("Trần Anh Long" and "Lương Văn Tân").
    #[test]
    fn names_in_the_other_order_are_one_name_with_one_keystroke_off_not_two() {
        let d = PDate::new(1971, 8, 22);
        let names = |a: &Rec, b: &Rec| {
            let p = compare(a, b);
            (p[Field::Given], p[Field::Family])
        };
        let a = rec("tran", "van", "minh", d, 1);
        let b = rec("mih", "van", "tran", d, 1);
        let (given, family) = names(&a, &b);
        assert!(given <= Field::Given.level("exact_without_diacritics"));
        assert_eq!(family, Field::Family.level("exact"));
        let a = rec("tran", "anh", "long", d, 1);
        let b = rec("luong", "van", "tan", d, 1);
        let (given, family) = names(&a, &b);
        assert!(given > Field::Given.level("diacritics_differ"), "{given}");
        assert!(family > Field::Family.level("exact"), "{family}");
    }

    /// A name written given name first, as two form fields put together in the other order
    /// ("Tâm Phan Quỳnh" for "Phan Quỳnh Tâm"), is the same name, beside the whole name or
    /// one without its middle name, with a keystroke off in one part; with both parts off,
    /// or parts that only look alike, it is not.
    #[test]
    fn a_name_written_given_name_first_is_one_name() {
        let d = PDate::new(2008, 5, 20);
        let exact = |a: &Rec, b: &Rec| {
            let p = compare(a, b);
            p[Field::Family] == Field::Family.level("exact")
                && p[Field::Given] <= Field::Given.level("exact_without_diacritics")
        };
        let usual = rec("phan", "quynh", "tam", d, 2);
        let short = rec("phan", "", "tam", d, 2);
        // Parsed as family "Tâm", middle "Phan", given "Quỳnh".
        for first in [
            rec("tam", "phan", "quynh", d, 2),
            rec("tam", "phann", "quynh", d, 2),
            rec("ttam", "phan", "quynh", d, 2),
        ] {
            assert!(exact(&first, &usual) && exact(&usual, &first));
            assert!(exact(&first, &short), "{:?}", &*first.family_text);
        }
        assert!(!exact(&rec("ttam", "phann", "quynh", d, 2), &short));
        assert!(!exact(&rec("tan", "pham", "quynh", d, 2), &short));
    }

    #[test]
    fn levels_of_damaged_data() {
        let a = rec("nguyen", "van", "thanh", PDate::new(1984, 8, 10), 1);
        let level = |b: &Rec, f: Field| compare(&a, b)[f];
        let b = rec("nguyem", "van", "thanh", PDate::new(1984, 8, 10), 1);
        assert_eq!(
            level(&b, Field::Family),
            Field::Family.level("close_or_one_edit")
        );
        let b = rec("nguyen", "van", "thanh", PDate::new(1984, 0, 0), 1);
        assert_eq!(
            level(&b, Field::Birth),
            Field::Birth.level("partial_compatible")
        );
        let b = rec("nguyen", "van", "thanh", PDate::default(), 1);
        assert_eq!(level(&b, Field::Birth), MISSING);
        let b = rec("nguyen", "van", "thanh", PDate::new(1985, 8, 10), 1);
        assert_eq!(
            level(&b, Field::Birth),
            Field::Birth.level("one_digit_or_transposed")
        );
        let b = rec("nguyen", "van", "thanh", PDate::new(1984, 8, 3), 1);
        assert_eq!(
            level(&b, Field::Birth),
            Field::Birth.level("within_10_days")
        );
        // 1 January, written where only the year is known, against the full date: a level of
        // its own; both 1 January is the same date, another year is another date.
        let b = rec("nguyen", "van", "thanh", PDate::new(1984, 1, 1), 1);
        assert_eq!(
            level(&b, Field::Birth),
            Field::Birth.level("january_first_same_year")
        );
        let jan = rec("nguyen", "van", "thanh", PDate::new(1984, 1, 1), 1);
        assert_eq!(compare(&jan, &b)[Field::Birth], Field::Birth.level("exact"));
        let b = rec("nguyen", "van", "thanh", PDate::new(1983, 1, 1), 1);
        assert_eq!(level(&b, Field::Birth), Field::Birth.level("different"));
        let b = rec("nguyen", "van", "thanh", PDate::new(1984, 3, 17), 1);
        assert_eq!(level(&b, Field::Birth), Field::Birth.level("same_year"));
        // One year written on both records is not a day of birth in common.
        let year = rec("nguyen", "van", "thanh", PDate::new(1984, 0, 0), 1);
        let also = rec("nguyen", "", "thanh", PDate::new(1984, 0, 0), 1);
        assert_eq!(
            compare(&year, &also)[Field::Birth],
            Field::Birth.level("same_partial_date")
        );
        let month = rec("nguyen", "van", "thanh", PDate::new(1984, 8, 0), 1);
        assert_eq!(
            compare(&month, &month.clone())[Field::Birth],
            Field::Birth.level("same_partial_date")
        );
        let b = rec("nguyen", "", "thanh", PDate::new(1984, 8, 10), 1);
        assert_eq!(level(&b, Field::Middle), Field::Middle.level("one_missing"));
        // A typo in the middle name ("Vna") is not another middle name ("Minh").
        let b = rec("nguyen", "vna", "thanh", PDate::new(1984, 8, 10), 1);
        assert_eq!(
            level(&b, Field::Middle),
            Field::Middle.level("close_or_one_edit")
        );
        let b = rec("nguyen", "minh", "thanh", PDate::new(1984, 8, 10), 1);
        assert_eq!(level(&b, Field::Middle), Field::Middle.level("different"));
        // "Thành Văn Nguyễm": the parts the other way round, the family name mistyped.
        let mut b = rec("thanh", "van", "nguyem", PDate::new(1984, 8, 10), 1);
        b.sorted = h64("nguyem thanh van");
        assert_eq!(level(&b, Field::Family), Field::Family.level("exact"));
        assert_eq!(
            level(&b, Field::Given),
            Field::Given.level("exact_without_diacritics")
        );
        let mut x = a.clone();
        x.pid = 1_085_012_345;
        let mut y = b.clone();
        y.pid_typed = crate::ids::typed_digits("00108501234").unwrap();
        assert_eq!(
            compare(&x, &y)[Field::IdTypo],
            Field::IdTypo.level("within_one_edit")
        );
        y.pid_typed = crate::ids::typed_digits("00199999999").unwrap();
        assert_eq!(
            compare(&x, &y)[Field::IdTypo],
            Field::IdTypo.level("different")
        );
    }

    #[test]
    fn every_field_is_at_its_index() {
        for (i, c) in COMPARISONS.iter().enumerate() {
            assert_eq!(c.field.index(), i);
            assert_eq!(Field::ALL[i], c.field);
        }
    }
}
