//! Blocking: candidate pairs without an all-pairs step. Several passes of equal keys, each on
//! a few fields, so that a true pair with any one field damaged — a typo in the family or the
//! given name, a missing or mistyped birth date, another commune, another name altogether —
//! still shares the key of some pass. The passes are data: each has a name, its keys and a
//! scope (the pairs of a block it proposes), and the deduplication and linking passes are
//! chosen by name.

use rayon::prelude::*;

use super::comparisons::Field;
use super::features::Rec;
use crate::compare::{dates_close, dates_near, jaro_winkler, within_one_keystroke};
use crate::core::hash::{h64, mix};
use crate::dates::PDate;

/// A pass with one key per record (0 = none).
pub type Pass = fn(&Rec) -> u64;

/// A blocking pass: its name (in `summary.json` and in the lists of passes below), how its
/// keys are made, and which pairs of a block it proposes.
pub struct BlockPass {
    pub name: &'static str,
    /// The record's key (0 = none): recomputed cheaply, so an index of the pass holds row
    /// numbers only.
    pub key: Pass,
    scope: Scope,
    /// The fields the pass's key or scope constrains: a training round on the pass's pairs
    /// does not estimate them (they agree by construction).
    pub fixes: &'static [Field],
    /// For a broad pass, the largest block it proposes pairs in: a key shared by more records
    /// (a common name born that year, a common given name born that day) is not evidence
    /// enough on its own, and the pairs such a block holds grow with the square of the
    /// population. Those blocks are passed over quietly (not counted as skipped)…
    pub small_blocks: Option<usize>,
    /// … or, when set, proposed only in this narrower scope.
    pub beyond: Option<Scope>,
}

/// Which pairs of a block a pass proposes. Keys on a date and a common name make blocks that
/// grow with the population (a province of 10 M people has ~270 people per birth date), so
/// the broad passes propose only the pairs they exist for: those a narrower pass cannot find.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// Every pair of the block.
    All,
    /// Pairs whose birth dates are not the same full date but could be one date written
    /// twice: one partial and compatible, the same partial date (the year, or the month and
    /// year: no date pass keys on it), a keystroke apart, day and month swapped, or days
    /// apart ([`crate::compare::NEAR_DAYS`]); sex not contradicting. (Equal full dates are
    /// proposed by the date passes; two people of one name born the same year on unrelated
    /// days are not proposed.)
    DatesClose,
    /// Pairs born in years a keystroke or one year apart (the block shares day and month).
    YearsClose,
    /// Pairs of which at least one has no birth year (missing or unreadable).
    DateMissing,
    /// Pairs of which one birth date is partial (the year, or month and year) and compatible
    /// with the other, sex and middle name not contradicting (in a block of many namesakes
    /// born that year, a partial date with another middle name cannot be told from them).
    PartialDate,
    /// Pairs not born on one known day (other days, or a date missing), whose family names
    /// are alike (Jaro–Winkler ≥ 0.8).
    FamilyAlikeOtherDate,
    /// The same, for the given names.
    GivenAlikeOtherDate,
    /// Pairs not born on one known day.
    OtherDate,

    /// Pairs whose full birth dates differ (the day and month swapped); sex and middle name not
    /// contradicting.
    SwappedDate,
    /// Pairs whose sex and middle name do not contradict each other (one of them missing,
    /// equal, or the middle names a keystroke apart): the family name damaged leaves the rest
    /// of the record whole.
    Consistent,
    /// Pairs whose sex does not contradict (one of them missing, or equal).
    SexAgrees,
    /// Pairs of which one is registered under a home name ("Tí", "Út", "Bé") and the other
    /// not, sex and middle name not contradicting.
    HomeName,
    /// Pairs whose given names are one keystroke apart (Damerau–Levenshtein 1), sex not
    /// contradicting.
    GivenTypo,
    /// Pairs with one name part a keystroke from the other's (Damerau–Levenshtein 1) and the
    /// other part equal, and birth dates that could be one date damaged (one partial, a
    /// keystroke, day and month swapped, days apart) or are one partial date; sex not
    /// contradicting: a name and a date typed wrong on one record.
    NameTypoDatesClose,
    /// The same with the birth year damaged instead: full dates of one day and month (the
    /// block shares them) in years a keystroke or one year apart, sex and middle name not
    /// contradicting.
    NameTypoYearsClose,
    /// Pairs whose family and given names are each equal or close (typos in both), or written
    /// in the other order with a keystroke off in one and the middle name not contradicting;
    /// sex not contradicting.
    NamesClose,
    /// Pairs whose family or given names differ and are not the same syllables in another
    /// order, sex and middle name not contradicting: the block shares the letters of the
    /// family and given names in any order (two letters swapped in either, or the two names
    /// written in the other order as well).
    LettersShuffled,
    /// The same beside a partial date: family or given names that differ (the same syllables
    /// in another order too: no date pass keys on a partial date), one date partial and
    /// compatible with the other (or the same), sex and middle name not contradicting.
    LettersShuffledPartialDate,
    /// Pairs of which one birth date is partial and compatible with the other (or the same),
    /// sex not contradicting (the block shares every syllable of the name, in any order, so
    /// the middle name is no test: written given name first, "Dung Vũ Mỹ" has "Vũ" for it).
    SyllablesPartialDate,
    /// Pairs whose names are written with other spaces (the block shares the letters in
    /// order), sex not contradicting.
    OtherSpaces,
    /// Pairs that could be one child of the parents they name rather than two siblings: sex
    /// and middle name not contradicting, and the given names alike (or one's family name the
    /// other's given name: a name written in the other order), or birth dates that could be
    /// one date (one missing or partial, a keystroke, days or a year apart, day and month
    /// swapped). Siblings have other given names and other birth dates.
    ChildAlike,
    /// Pairs of two households (or without one), sex and middle name not contradicting, whose
    /// family or given names are alike (or one's family name the other's given name: a name
    /// written in the other order): one person registered at one address twice, whatever
    /// else was damaged, not the members of one household.
    OtherHousehold,
}

/// Two folded name parts alike: equal, Jaro–Winkler ≥ 0.8, or one keystroke apart (which
/// Jaro–Winkler scores below 0.8 in the short names Vietnamese given names are: "quy" and
/// "qmy", "ut" and "uv").
fn folded_close(a: &str, b: &str) -> bool {
    a == b
        || (!a.is_empty()
            && !b.is_empty()
            && (within_one_keystroke(a, b) || jaro_winkler(a, b) >= 0.8))
}

/// Two birth years a year or a keystroke apart ([`Scope::YearsClose`]).
fn years_close(x: u16, y: u16) -> bool {
    x != y
        && (x.abs_diff(y) == 1
            || crate::compare::one_keystroke(
                crate::dates::PDate::new(x, 1, 1),
                crate::dates::PDate::new(y, 1, 1),
            ))
}

/// Two birth dates, not one full date, that could be one date damaged: close (one partial, a
/// keystroke, day and month swapped), days apart, or one the first of January of the
/// other's year (a date unknown but for its year, written as 1 January).
fn dates_alike(a: PDate, b: PDate) -> bool {
    dates_close(a, b) || dates_near(a, b) || a.january_first_same_year(b)
}

/// Of the family and given names, one equal and the other a keystroke from the other's.
fn one_name_part_typed_wrong(a: &Rec, b: &Rec) -> bool {
    let one_typo = |x: &str, y: &str| x != y && within_one_keystroke(x, y);
    (a.given != b.given) != (a.family != b.family)
        && if a.given != b.given {
            one_typo(&a.given_text, &b.given_text)
        } else {
            one_typo(&a.family_text, &b.family_text)
        }
}

/// One record's family name alike the other's given name: a name written in the other order.
fn names_crossed(a: &Rec, b: &Rec) -> bool {
    folded_close(&a.family_text, &b.given_text) || folded_close(&a.given_text, &b.family_text)
}

impl Scope {
    pub fn keeps(self, a: &Rec, b: &Rec) -> bool {
        let sex_agrees = a.sex == 0 || b.sex == 0 || a.sex == b.sex;
        // A middle name mistyped ("Hoàqg") does not contradict; another one ("Minh") does.
        let consistent = || {
            sex_agrees
                && (a.middle == 0
                    || b.middle == 0
                    || a.middle == b.middle
                    || within_one_keystroke(&a.middle_text, &b.middle_text))
        };
        // One birth date partial (the year, or month and year) and compatible with the other.
        let one_partial =
            || (!a.birth.is_full() || !b.birth.is_full()) && a.birth.compatible(b.birth);
        match self {
            Scope::All => true,
            Scope::DatesClose => {
                !(a.birth.is_full() && a.birth == b.birth)
                    && a.birth.year != 0
                    && b.birth.year != 0
                    && sex_agrees
                    && (a.birth == b.birth || dates_alike(a.birth, b.birth))
            }
            Scope::YearsClose => years_close(a.birth.year, b.birth.year) && consistent(),
            Scope::DateMissing => a.birth.year == 0 || b.birth.year == 0,
            Scope::PartialDate => one_partial() && consistent(),
            Scope::OtherDate => !(a.birth.is_full() && a.birth == b.birth) && consistent(),
            Scope::FamilyAlikeOtherDate => {
                !(a.birth.is_full() && a.birth == b.birth)
                    && consistent()
                    && folded_close(&a.family_text, &b.family_text)
            }
            Scope::GivenAlikeOtherDate => {
                !(a.birth.is_full() && a.birth == b.birth)
                    && consistent()
                    && folded_close(&a.given_text, &b.given_text)
            }

            Scope::SwappedDate => a.birth != b.birth && consistent(),
            Scope::HomeName => a.given_nickname != b.given_nickname && consistent(),
            Scope::Consistent => consistent(),
            Scope::SexAgrees => sex_agrees,
            Scope::GivenTypo => {
                a.given != b.given
                    && sex_agrees
                    && within_one_keystroke(&a.given_text, &b.given_text)
            }
            Scope::NameTypoDatesClose => {
                sex_agrees
                    && a.birth.year != 0
                    && b.birth.year != 0
                    && !(a.birth.is_full() && a.birth == b.birth)
                    && (a.birth == b.birth || dates_alike(a.birth, b.birth))
                    && one_name_part_typed_wrong(a, b)
            }
            Scope::NameTypoYearsClose => {
                consistent()
                    && a.birth.is_full()
                    && b.birth.is_full()
                    && years_close(a.birth.year, b.birth.year)
                    && one_name_part_typed_wrong(a, b)
            }
            Scope::NamesClose => {
                a.sorted != b.sorted
                    && sex_agrees
                    && ((folded_close(&a.family_text, &b.family_text)
                        && folded_close(&a.given_text, &b.given_text))
                        || (consistent() && super::comparisons::crossed_one_typo(a, b)))
            }
            Scope::LettersShuffled => {
                (a.family != b.family || a.given != b.given) && a.sorted != b.sorted && consistent()
            }
            Scope::LettersShuffledPartialDate => {
                (a.family != b.family || a.given != b.given) && one_partial() && consistent()
            }
            Scope::OtherSpaces => a.full != b.full && sex_agrees,
            Scope::SyllablesPartialDate => one_partial() && sex_agrees,
            Scope::ChildAlike => {
                use crate::compare::{compare_dates, DateLevel};
                consistent()
                    && (folded_close(&a.given_text, &b.given_text)
                        || names_crossed(a, b)
                        || a.birth.year == 0
                        || b.birth.year == 0
                        || !matches!(
                            compare_dates(a.birth, b.birth),
                            DateLevel::SameYear | DateLevel::Different
                        ))
            }
            Scope::OtherHousehold => {
                (a.household == 0 || a.household != b.household)
                    && consistent()
                    && (folded_close(&a.family_text, &b.family_text)
                        || folded_close(&a.given_text, &b.given_text)
                        || names_crossed(a, b))
            }
        }
    }

    /// A test that one record of every pair this scope keeps passes, for the scopes that
    /// keep pairs of a kind of record (no birth year, a partial date, a home name).
    fn pivot(self) -> Option<fn(&Rec) -> bool> {
        match self {
            Scope::DateMissing => Some(|r| r.birth.year == 0),
            Scope::PartialDate
            | Scope::LettersShuffledPartialDate
            | Scope::SyllablesPartialDate => Some(|r| !r.birth.is_full()),
            Scope::HomeName => Some(|r| r.given_nickname),
            _ => None,
        }
    }

    /// Whether a block can hold a pair this scope keeps at all (a cheap test on whole blocks:
    /// most blocks of the date-difference passes are one date).
    fn worth(self, recs: &[Rec], block: &[(u64, u32)]) -> bool {
        let rec = |e: &(u64, u32)| &recs[e.1 as usize];
        let first = rec(&block[0]);
        match self {
            Scope::DatesClose => block
                .iter()
                .any(|e| !rec(e).birth.is_full() || rec(e).birth != first.birth),
            Scope::HomeName => block.iter().any(|e| rec(e).given_nickname),
            Scope::YearsClose => block.iter().any(|e| rec(e).birth.year != first.birth.year),
            Scope::DateMissing => block.iter().any(|e| rec(e).birth.year == 0),
            Scope::PartialDate
            | Scope::LettersShuffledPartialDate
            | Scope::SyllablesPartialDate => block.iter().any(|e| !rec(e).birth.is_full()),
            Scope::SwappedDate => block.iter().any(|e| rec(e).birth != first.birth),
            Scope::GivenTypo => block.iter().any(|e| rec(e).given != first.given),
            Scope::NameTypoDatesClose => block.iter().any(|e| {
                let r = rec(e);
                (r.given != first.given || r.family != first.family)
                    && (!r.birth.is_full() || r.birth != first.birth)
            }),
            Scope::NameTypoYearsClose => block.iter().any(|e| {
                let r = rec(e);
                (r.given != first.given || r.family != first.family)
                    && r.birth.year != first.birth.year
            }),
            Scope::All
            | Scope::Consistent
            | Scope::SexAgrees
            | Scope::NamesClose
            | Scope::LettersShuffled
            | Scope::OtherSpaces
            | Scope::OtherHousehold
            | Scope::ChildAlike
            | Scope::OtherDate
            | Scope::FamilyAlikeOtherDate
            | Scope::GivenAlikeOtherDate => true,
        }
    }
}

/// A pass's key: the hash of `parts` (the pass's own number first), or 0 (no key) when any
/// other part is missing (0).
fn key_of<const N: usize>(parts: [u64; N]) -> u64 {
    if parts[1..].iter().all(|&p| p != 0) {
        mix(&parts)
    } else {
        0
    }
}

fn date_key(r: &Rec) -> u64 {
    if r.birth.is_full() {
        r.birth.year as u64 * 10_000 + r.birth.month as u64 * 100 + r.birth.day as u64
    } else {
        0
    }
}

fn first_letter(s: &str) -> u64 {
    s.chars().next().map_or(0, |c| c as u64)
}

/// The key of a pass for a name part typed wrong beside a damaged date: `lead` (the pass's
/// number and the date it keys on), then the other name part whole, the middle name and the
/// first letter of the `typed` part (given or family); 0 without a family and a given name or
/// when `dated` is false.
fn typo_key(r: &Rec, dated: bool, lead: &[u64; 2], typed: Field) -> u64 {
    if !(dated && r.given != 0 && r.family != 0) {
        return 0;
    }
    let (whole, initial) = if typed == Field::Given {
        (r.family, first_letter(&r.given_text))
    } else {
        (r.given, first_letter(&r.family_text))
    };
    mix(&[lead[0], lead[1], whole, r.middle, initial])
}

/// A full date's month and day as one number (MMDD).
fn day_month(r: &Rec) -> u64 {
    r.birth.month as u64 * 100 + r.birth.day as u64
}

/// Hash of the given name's last two letters: a keystroke in the first letters of a name of
/// four letters or more leaves them whole. (A typo further on keeps the first letter, and the
/// initials pass finds it.)
fn given_tail(r: &Rec) -> u64 {
    let g = r.given_text.as_str();
    let n = g.chars().count();
    let tail = if n > 2 {
        g.char_indices().nth(n - 2).map_or(0, |(i, _)| i)
    } else {
        0
    };
    h64(&g[tail..])
}

/// A key of a folded name part's letters in any order (0 for none): two letters swapped
/// anywhere in it ("Tài" and "àTi", "Em" and "mE") leave it whole, where they change the
/// first letter the initials pass keys on and, in a name of three letters or fewer, the last
/// two the typo pass keys on.
fn letters(s: &str) -> u64 {
    let b = s.as_bytes();
    if b.is_empty() {
        return 0;
    }
    let mut buf = [0u8; 16];
    let n = b.len().min(16);
    buf[..n].copy_from_slice(&b[..n]);
    buf[..n].sort_unstable();
    let w = u128::from_le_bytes(buf);
    mix(&[n as u64, w as u64, (w >> 64) as u64])
}

/// A key of a name's folded letters without its spaces (0 for none): a space typed inside a
/// word ("Ng uyễn", "ca itlin") or left out between two ("NguyễnVăn") leaves it whole.
fn unspaced(r: &Rec) -> u64 {
    if r.given == 0 {
        return 0;
    }
    let bytes = [&r.family_text, &r.middle_text, &r.given_text]
        .into_iter()
        .flat_map(|part| part.as_bytes().iter().copied())
        .filter(|&b| b != b' ');
    crate::core::hash::h64_bytes(bytes)
}

/// More resident records than this carrying one personal ID (or CMND) are not one person's:
/// a register merged from several sources holds 10–20 records of one person at most.
pub const CROWDED_ID: usize = 32;

/// The passes whose blocks over their size are compared in a window rather than passed over.
/// A large block of one given name and birth date (or family name) is often one person: a
/// register merged from several sources holds 10–40 records of someone. Every pair of them is
/// not needed — the window links them into a chain, and clustering joins the chain — and a
/// block of many people costs `small` pairs a record, not its square. Blocks keyed on a
/// commune or initials are many people when large, and stay passed over; so do large blocks
/// of one family and given name with other dates: windowed, they brought namesakes with a
/// year-only date into the duplicates (F1 without IDs 0.966 -> 0.957 on our generator, for
/// +0.02 on a register of ten records a person). A record with no date at all is the
/// exception: no date pass can find it, and when its commune or middle name is damaged too,
/// only a window over its family and given name compares it with its person's other records.
pub const WINDOWED_PASSES: &[&str] = &[
    "birth_date+given",
    "family+given+birth_day_month",
    "family+given (no date)",
];

/// Every blocking pass. Which of them deduplicate and which find an extract row's resident
/// is said by name in [`DEDUP_PASSES`] and [`LINK_PASSES`].
pub const PASSES: &[BlockPass] = &[
    BlockPass {
        name: "personal_id",
        key: (|r| key_of([4, r.pid])),
        scope: Scope::All,
        fixes: &[Field::Pid],
        // An ID carried by more records than one person has is no evidence of one person
        // (a placeholder, a copied default): its records are reported once each as
        // `id.shared` (`decide::crowded_id_findings`), not compared pair by pair.
        small_blocks: Some(CROWDED_ID),
        beyond: None,
    },
    BlockPass {
        name: "old_id",
        key: (|r| key_of([5, r.cmnd])),
        scope: Scope::All,
        fixes: &[Field::Cmnd],
        small_blocks: Some(CROWDED_ID),
        beyond: None,
    },
    BlockPass {
        name: "syllables+birth_date",
        key: (|r| key_of([8, r.sorted, date_key(r)])),
        scope: Scope::All,
        fixes: &[Field::Given, Field::Family, Field::Middle, Field::Birth],
        small_blocks: None,
        beyond: None,
    },
    BlockPass {
        name: "birth_date+given",
        key: (|r| key_of([1, date_key(r), r.given])),
        scope: Scope::Consistent,
        fixes: &[Field::Birth, Field::Given],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_date+family+given_typo",
        key: (|r| {
            if date_key(r) != 0 && r.family != 0 && r.given != 0 {
                mix(&[13, date_key(r), r.family, given_tail(r)])
            } else {
                0
            }
        }),
        scope: Scope::GivenTypo,
        fixes: &[Field::Birth, Field::Family, Field::Given],
        small_blocks: None,
        beyond: None,
    },
    BlockPass {
        name: "birth_date+initials",
        key: (|r| {
            // A name of one word (the given name alone, no family name: f = 0) keys on its
            // initial, among the other names of one word.
            let (f, g) = (first_letter(&r.family_text), first_letter(&r.given_text));
            if date_key(r) != 0 && g != 0 {
                mix(&[14, date_key(r), f.min(g), f.max(g)])
            } else {
                0
            }
        }),
        scope: Scope::NamesClose,
        fixes: &[Field::Birth, Field::Family, Field::Given],
        small_blocks: Some(32),
        beyond: None,
    },
    BlockPass {
        name: "birth_date+name_letters (letters swapped)",
        key: (|r| {
            let (f, g) = (letters(&r.family_text), letters(&r.given_text));
            if date_key(r) != 0 && f != 0 && g != 0 {
                mix(&[37, date_key(r), f.min(g), f.max(g)])
            } else {
                0
            }
        }),
        scope: Scope::LettersShuffled,
        fixes: &[Field::Birth],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_date+name_unspaced (a space typed or left out)",
        key: (|r| key_of([40, date_key(r), unspaced(r)])),
        scope: Scope::OtherSpaces,
        fixes: &[Field::Birth],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_year+name_letters (letters swapped, a partial date)",
        key: (|r| {
            let (f, g) = (letters(&r.family_text), letters(&r.given_text));
            if r.birth.year != 0 && f != 0 && g != 0 {
                mix(&[38, r.birth.year as u64, f.min(g), f.max(g)])
            } else {
                0
            }
        }),
        scope: Scope::LettersShuffledPartialDate,
        fixes: &[],
        // Only the block's records with a partial date are paired (each with every other),
        // so a common name's block costs its partial dates, not its square.
        small_blocks: Some(256),
        beyond: None,
    },
    BlockPass {
        name: "syllables+birth_year (a partial date)",
        key: (|r| key_of([39, r.sorted, r.birth.year as u64])),
        scope: Scope::SyllablesPartialDate,
        fixes: &[Field::Given, Field::Family, Field::Middle],
        // Only the block's records with a partial date are paired, as above.
        small_blocks: Some(256),
        beyond: None,
    },
    BlockPass {
        name: "family+given+birth_year (a partial or mistyped date)",
        key: (|r| {
            if r.birth.year != 0 && r.given != 0 && r.family != 0 {
                mix(&[2, r.birth.year as u64, r.given, r.family])
            } else {
                0
            }
        }),
        scope: Scope::DatesClose,
        fixes: &[Field::Family, Field::Given, Field::Birth],
        small_blocks: Some(12),
        beyond: Some(Scope::PartialDate),
    },
    BlockPass {
        name: "birth_year+family+middle+given_initial (the given name and the date damaged)",
        key: (|r| {
            typo_key(
                r,
                r.birth.year != 0,
                &[33, r.birth.year as u64],
                Field::Given,
            )
        }),
        scope: Scope::NameTypoDatesClose,
        fixes: &[Field::Family, Field::Middle],
        // "Nguyễn Thị T…" born in one year is thousands of women in a province of 10 M, and
        // scanning such a block for a pair a keystroke apart cost 23 s there.
        small_blocks: Some(64),
        beyond: None,
    },
    BlockPass {
        name: "birth_year+given+middle+family_initial (the family name and the date damaged)",
        key: (|r| {
            typo_key(
                r,
                r.birth.year != 0,
                &[34, r.birth.year as u64],
                Field::Family,
            )
        }),
        scope: Scope::NameTypoDatesClose,
        fixes: &[Field::Given, Field::Middle],
        small_blocks: None,
        beyond: None,
    },
    // The same two, for a name part and the birth year damaged together (the day and month
    // whole): blocks of one day of the year, smaller than those of one year.
    BlockPass {
        name: "birth_day_month+family+middle+given_initial (the given name and the year damaged)",
        key: (|r| typo_key(r, r.birth.is_full(), &[35, day_month(r)], Field::Given)),
        scope: Scope::NameTypoYearsClose,
        fixes: &[Field::Family, Field::Middle],
        // At 1 M people, blocks up to 64 proposed 33 k pairs (mostly common given names a
        // keystroke apart, "Anh" and "An", born a year apart), up to 24 20 k, and the
        // generated registers' duplicates found were the same.
        small_blocks: Some(24),
        beyond: None,
    },
    BlockPass {
        name: "birth_day_month+given+middle+family_initial (the family name and the year damaged)",
        key: (|r| typo_key(r, r.birth.is_full(), &[36, day_month(r)], Field::Family)),
        scope: Scope::NameTypoYearsClose,
        fixes: &[Field::Given, Field::Middle],
        // As the pass above: a block of one day of the year, one given and middle name and a
        // family initial grows with the population (at 100 M people its pairs across
        // birth-year units were 274 M), and over 24 records it holds namesakes, not typos.
        small_blocks: Some(24),
        beyond: None,
    },
    BlockPass {
        name: "family+given+birth_day_month",
        key: (|r| {
            if r.birth.is_full() && r.given != 0 && r.family != 0 {
                mix(&[
                    15,
                    r.birth.month as u64,
                    r.birth.day as u64,
                    r.given,
                    r.family,
                ])
            } else {
                0
            }
        }),
        scope: Scope::YearsClose,
        fixes: &[Field::Family, Field::Given, Field::Birth],
        small_blocks: Some(12),
        beyond: None,
    },
    BlockPass {
        name: "full_name+commune",
        // The syllables in any order: a name written given name first ("Thư Vũ Hồng") is one
        // name, and no date pass finds a record without a date.
        key: (|r| key_of([3, r.sorted, r.commune as u64])),
        scope: Scope::DateMissing,
        fixes: &[
            Field::Family,
            Field::Middle,
            Field::Given,
            Field::Place,
            Field::Birth,
        ],
        small_blocks: None,
        beyond: None,
    },
    BlockPass {
        name: "family+given (another date)",
        key: (|r| key_of([23, r.given, r.family])),
        scope: Scope::OtherDate,
        fixes: &[Field::Family, Field::Given],
        small_blocks: Some(8),
        beyond: None,
    },
    BlockPass {
        name: "family+given (no date)",
        key: (|r| key_of([27, r.given, r.family])),
        scope: Scope::DateMissing,
        fixes: &[Field::Family, Field::Given, Field::Birth],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_date+family+middle (a home name)",
        key: (|r| key_of([29, date_key(r), r.family, r.middle])),
        scope: Scope::HomeName,
        fixes: &[Field::Birth, Field::Family, Field::Middle],
        small_blocks: Some(64),
        beyond: None,
    },
    BlockPass {
        name: "given+commune (the family name damaged)",
        key: (|r| key_of([24, r.given, r.commune as u64])),
        scope: Scope::FamilyAlikeOtherDate,
        fixes: &[Field::Given, Field::Place],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "family+commune (the given name damaged)",
        key: (|r| key_of([25, r.family, r.commune as u64])),
        scope: Scope::GivenAlikeOtherDate,
        fixes: &[Field::Family, Field::Place],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "address (another household)",
        key: (|r| key_of([26, r.address_key()])),
        scope: Scope::OtherHousehold,
        fixes: &[Field::Address],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_date+commune",
        key: (|r| key_of([16, date_key(r), r.commune as u64])),
        scope: Scope::SexAgrees,
        fixes: &[Field::Birth, Field::Place],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "parents+birth_year",
        key: (|r| {
            if r.father != 0 && r.mother != 0 {
                mix(&[6, r.father as u64, r.mother as u64, r.birth.year as u64])
            } else {
                0
            }
        }),
        scope: Scope::All,
        fixes: &[Field::Parents, Field::Birth],
        small_blocks: None,
        beyond: None,
    },
    BlockPass {
        name: "parents+given",
        key: (|r| key_of([17, r.father as u64, r.mother as u64, r.given])),
        scope: Scope::All,
        fixes: &[Field::Parents, Field::Given],
        small_blocks: None,
        beyond: None,
    },
    // A parent's name is written on the birth certificate and copied onto every later
    // record: when the child's name and birth date are both damaged, the parents still
    // group one person's records (with their siblings, whom the scope leaves out unless a
    // name or a date could be theirs). Many records name one parent only, so each parent
    // keys a pass of its own, with the birth year to keep a common father's name from
    // making a block of thousands.
    BlockPass {
        name: "parents (another name or date)",
        key: (|r| key_of([30, r.father as u64, r.mother as u64])),
        scope: Scope::ChildAlike,
        fixes: &[Field::Parents],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "father+birth_year",
        key: (|r| key_of([31, r.father as u64, r.birth.year as u64])),
        scope: Scope::ChildAlike,
        fixes: &[Field::Parents],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "mother+birth_year",
        key: (|r| key_of([32, r.mother as u64, r.birth.year as u64])),
        scope: Scope::ChildAlike,
        fixes: &[Field::Parents],
        small_blocks: Some(16),
        beyond: None,
    },
    BlockPass {
        name: "birth_date_unordered+given (day and month swapped)",
        key: (|r| {
            if r.birth.is_full()
                && r.given != 0
                && r.birth.day <= 12
                && r.birth.day != r.birth.month
            {
                let (lo, hi) = (
                    r.birth.day.min(r.birth.month),
                    r.birth.day.max(r.birth.month),
                );
                mix(&[9, r.birth.year as u64, lo as u64, hi as u64, r.given])
            } else {
                0
            }
        }),
        scope: Scope::SwappedDate,
        fixes: &[Field::Given, Field::Birth, Field::Sex, Field::Middle],
        small_blocks: None,
        beyond: None,
    },
];

/// The passes that propose duplicate pairs: together they find a pair with any one field
/// damaged (docs/matching.md §2).
pub const DEDUP_PASSES: &[&str] = &[
    "personal_id",
    "old_id",
    "syllables+birth_date",
    "birth_date+given",
    "birth_date+family+given_typo",
    "birth_date+initials",
    "birth_date+name_letters (letters swapped)",
    "birth_date+name_unspaced (a space typed or left out)",
    "birth_year+name_letters (letters swapped, a partial date)",
    "syllables+birth_year (a partial date)",
    "family+given+birth_year (a partial or mistyped date)",
    "family+given+birth_day_month",
    "full_name+commune",
    "family+given (another date)",
    "family+given (no date)",
    "birth_date+family+middle (a home name)",
    "given+commune (the family name damaged)",
    "family+commune (the given name damaged)",
    "address (another household)",
    "birth_date+commune",
    "parents+birth_year",
    "parents+given",
    "parents (another name or date)",
    "father+birth_year",
    "mother+birth_year",
    "birth_date_unordered+given (day and month swapped)",
    "birth_year+family+middle+given_initial (the given name and the date damaged)",
    "birth_year+given+middle+family_initial (the family name and the date damaged)",
    "birth_day_month+family+middle+given_initial (the given name and the year damaged)",
    "birth_day_month+given+middle+family_initial (the family name and the year damaged)",
];

// Which passes proposed a pair is kept as bits of a u32 (with the pass of IDs typed wrong).
const _: () = assert!(DEDUP_PASSES.len() < 32);
// Every linking pass is a deduplication pass too (the link index reuses its sorted rows).
const _: () = {
    let mut i = 0;
    while i < LINK_PASSES.len() {
        let mut found = false;
        let mut j = 0;
        while j < DEDUP_PASSES.len() {
            found |= const_eq(LINK_PASSES[i], DEDUP_PASSES[j]);
            j += 1;
        }
        assert!(found, "a linking pass must be a deduplication pass");
        i += 1;
    }
};

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The passes that propose the residents an extract row is compared with (its own ID set
/// aside). Their keys are one per record, so the link index holds row numbers only.
pub const LINK_PASSES: &[&str] = &[
    "old_id",
    "syllables+birth_date",
    "birth_date+given",
    "birth_date+initials",
    "family+given (another date)",
    "given+commune (the family name damaged)",
    "family+commune (the given name damaged)",
    "address (another household)",
    "family+given+birth_year (a partial or mistyped date)",
    "family+given+birth_day_month",
    "full_name+commune",
    "birth_date+commune",
    "birth_date_unordered+given (day and month swapped)",
];

/// A pass by name.
pub fn pass(name: &str) -> &'static BlockPass {
    PASSES
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no blocking pass {name}"))
}

impl BlockPass {
    /// Whether the pass keeps a pair of records sharing one of its keys (in a block of its
    /// small size).
    pub fn keeps(&self, a: &Rec, b: &Rec) -> bool {
        self.scope.keeps(a, b)
    }

    /// The pairs of a block (of its small size) the pass proposes.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The pass's key function.
    pub fn single_key(&self) -> Pass {
        self.key
    }
}

/// Every record with a key, as (key, row), sorted: the records of one block are adjacent.
pub fn keyed(recs: &[Rec], key: Pass) -> Vec<(u64, u32)> {
    let mut keyed: Vec<(u64, u32)> = recs
        .par_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let k = key(r);
            (k != 0).then_some((k, i as u32))
        })
        .collect();
    crate::core::sort::sort_hashed(&mut keyed);
    keyed
}

/// The blocks of two or more records in a sorted (key, row) list.
pub fn blocks(keyed: &[(u64, u32)]) -> Vec<&[(u64, u32)]> {
    keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|g| g.len() > 1)
        .collect()
}

/// Candidate pairs (i < j) of one pass, and how many pairs oversized blocks held. A pass that
/// also finds extract rows' residents leaves in `link_rows` its rows of the keys linking looks
/// up (`keep`: per linking pass, sorted), sorted by key.
fn block(
    recs: &[Rec],
    pass: &'static BlockPass,
    cap: usize,
    wider: &Wider,
    keep: &[Vec<u64>],
    link_rows: &mut Vec<(&'static BlockPass, Vec<u32>)>,
) -> (Vec<(u32, u32)>, usize) {
    let scope = pass.scope;
    let keyed = keyed(recs, pass.key);
    let linked = LINK_PASSES.contains(&pass.name);
    let mut groups = blocks(&keyed);
    // A block that is larger beyond these records is passed over as the whole would be.
    if let Some(large) = wider.get(pass.name) {
        groups.retain(|g| large.binary_search(&g[0].0).is_err());
    }
    // Blocks over a broad pass's own size are passed over by design, not skipped.
    let skipped: usize = match pass.small_blocks {
        Some(_) => 0,
        None => groups
            .iter()
            .filter(|g| g.len() > cap)
            .map(|g| g.len() * (g.len() - 1) / 2)
            .sum(),
    };
    let small = pass.limit(cap);
    // Blocks up to `small` records, every pair in the pass's scope; larger ones (up to the
    // cap) every pair in its narrower scope beyond, if it has one, or, in the passes keyed on
    // the whole given name ([`WINDOWED_PASSES`]), each record with the `small` records after
    // it (by row).
    let plan = |g: &&[(u64, u32)]| -> Option<(Scope, usize)> {
        if g.len() <= small {
            Some((scope, g.len()))
        } else if g.len() <= cap {
            match pass.beyond {
                Some(beyond) => Some((beyond, g.len())),
                None if pass.windowed(g.len(), cap) => Some((scope, small)),
                None => None,
            }
        } else {
            None
        }
    };
    // The blocks' records lie anywhere in the register (~200 bytes each, 200 MB at 1 M
    // people): each block's are asked for a few blocks ahead, so that the memory fetches
    // overlap instead of each stalling the scope's first look at a record.
    let pairs: Vec<(u32, u32)> = groups
        .par_chunks(256)
        .fold(Vec::new, |mut out, chunk| {
            for (j, g) in chunk.iter().enumerate() {
                if let Some(ahead) = chunk.get(j + PREFETCH_BLOCKS) {
                    ahead
                        .iter()
                        .take(16)
                        .for_each(|e| prefetch(&recs[e.1 as usize]));
                }
                if let Some((scope, window)) = plan(g).filter(|(s, _)| s.worth(recs, g)) {
                    block_pairs(recs, g, scope, window, scope.pivot(), &mut out);
                }
            }
            out
        })
        .collect::<Vec<Vec<_>>>()
        .concat();
    if linked {
        let p = LINK_PASSES.iter().position(|n| *n == pass.name);
        let want = p.and_then(|p| keep.get(p)).map_or(&[][..], |w| &w[..]);
        link_rows.push((pass, rows_with_keys(&keyed, want)));
    }
    (pairs, skipped)
}

/// How many blocks ahead a block's records are asked for (4 and 8 measured: blocking 1 M
/// people 1.55 s -> 1.41 s and 1.37 s).
const PREFETCH_BLOCKS: usize = 8;

/// Ask for a record's memory ahead of its use (every cache line of it); nothing elsewhere
/// than x86-64.
#[inline(always)]
fn prefetch(rec: &Rec) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = rec as *const Rec as *const i8;
        for line in (0..std::mem::size_of::<Rec>()).step_by(64) {
            // SAFETY: a prefetch is a hint that never faults; the address is within `rec`.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.add(line))
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = rec;
}

/// The pairs (i < j) of one block (sorted by row) that `scope` keeps: each record with the
/// `window` records after it. With a `pivot` that one record of every pair the scope keeps
/// satisfies, only the pivot records are paired, each with the `window` records before and
/// after it (the same pairs, found without looking at every pair of a large block whose
/// records mostly have their birth date).
fn block_pairs(
    recs: &[Rec],
    g: &[(u64, u32)],
    scope: Scope,
    window: usize,
    pivot: Option<fn(&Rec) -> bool>,
    out: &mut Vec<(u32, u32)>,
) {
    let rec = |x: usize| &recs[g[x].1 as usize];
    // Positions x < y in the block.
    let mut pair = |x: usize, y: usize| {
        let (a, b) = (g[x].1, g[y].1);
        if a != b && scope.keeps(rec(x), rec(y)) {
            out.push((a.min(b), a.max(b)));
        }
    };
    let n = g.len();
    match pivot {
        None => {
            for x in 0..n {
                for y in x + 1..(x + 1 + window).min(n) {
                    pair(x, y);
                }
            }
        }
        Some(pivot) => {
            for y in (0..n).filter(|&y| pivot(rec(y))) {
                // A pair of two pivots is found from the first.
                for x in y.saturating_sub(window)..y {
                    if !pivot(rec(x)) {
                        pair(x, y);
                    }
                }
                for z in y + 1..(y + 1 + window).min(n) {
                    pair(y, z);
                }
            }
        }
    }
}

/// The rows of a sorted (key, row) list whose key is one of `want` (sorted), in order.
fn rows_with_keys(keyed: &[(u64, u32)], want: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut at = 0;
    for &k in want {
        at += keyed[at..].partition_point(|e| e.0 < k);
        out.extend(keyed[at..].iter().take_while(|e| e.0 == k).map(|e| e.1));
    }
    out
}

/// What blocking produced.
pub struct Candidates {
    /// Sorted, de-duplicated pairs (i < j).
    pub pairs: Vec<(u32, u32)>,
    /// Per pair, the passes that proposed it: bit i for `DEDUP_PASSES[i]`, the next bit for
    /// the pass of IDs typed wrong.
    pub passes: Vec<u32>,
    /// Pairs held by blocks over the size cap, not compared.
    pub skipped: usize,
    /// Per pass: the pairs it proposed, and those no other pass proposed.
    pub per_pass: Vec<PassCount>,
    /// The rows of the passes that also find extract rows' residents, of the keys linking
    /// looks up, each sorted by its key (the link index is built from them, not sorted again).
    pub link_rows: Vec<(&'static BlockPass, Vec<u32>)>,
}

/// What one pass proposed.
#[derive(Clone, Copy, Debug)]
pub struct PassCount {
    pub name: &'static str,
    pub proposed: usize,
    pub alone: usize,
}

/// Records with a usable 12-digit ID, as (ID, row), sorted.
pub fn id_index(recs: &[Rec]) -> Vec<(u64, u32)> {
    let mut index: Vec<(u64, u32)> = recs
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.pid != 0 && r.pid_typed == 0)
        .map(|(i, r)| (r.pid, i as u32))
        .collect();
    index.par_sort_unstable();
    index
}

/// The rows of `index` (from [`id_index`]) whose ID is within one edit of `typed` (a record's
/// ID typed wrong), at most `cap`.
pub fn rows_one_edit_from(index: &[(u64, u32)], typed: u64, cap: usize, out: &mut Vec<u32>) {
    let mut n = 0;
    for id in crate::ids::one_edit_ids(typed) {
        let start = index.partition_point(|e| e.0 < id);
        for e in index[start..].iter().take_while(|e| e.0 == id) {
            if n == cap {
                return;
            }
            out.push(e.1);
            n += 1;
        }
    }
}

/// The pass of IDs typed wrong: a record whose ID has a digit lost or added, two digits
/// swapped or a letter for a digit is paired with every record whose 12-digit ID it could
/// have been (the IDs one edit away are enumerated, at most 120, and looked up).
pub const ID_TYPO_PASS: &str = "personal_id_typed";

fn id_typo_pairs(recs: &[Rec], cap: usize) -> Vec<(u32, u32)> {
    let index = id_index(recs);
    let mut pairs: Vec<(u32, u32)> = recs
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.pid_typed != 0)
        .fold(
            || (Vec::new(), Vec::new()),
            |(mut pairs, mut rows), (i, r)| {
                rows.clear();
                rows_one_edit_from(&index, r.pid_typed, cap, &mut rows);
                let i = i as u32;
                pairs.extend(
                    rows.iter()
                        .filter(|&&j| j != i)
                        .map(|&j| (i.min(j), i.max(j))),
                );
                (pairs, rows)
            },
        )
        .map(|(p, _)| p)
        .reduce(Vec::new, |mut a, b| {
            a.extend(b);
            a
        });
    pairs.par_sort_unstable();
    pairs.dedup();
    pairs
}

/// Blocks larger across the whole register than in the records at hand: per pass, the sorted
/// keys of its blocks over the pass's size (a driver that matches part of the register at a
/// time gives them, so the part's blocks are passed over as the whole register's would be).
#[derive(Default)]
pub struct Wider(Vec<(&'static str, Vec<u64>)>);

impl Wider {
    pub fn insert(&mut self, pass: &'static str, keys: Vec<u64>) {
        self.0.push((pass, keys));
    }

    fn get(&self, pass: &str) -> Option<&[u64]> {
        self.0.iter().find(|e| e.0 == pass).map(|e| &e.1[..])
    }
}

impl BlockPass {
    /// The largest block this pass pairs, with `cap` records at most in any block.
    pub fn limit(&self, cap: usize) -> usize {
        self.small_blocks.map_or(cap, |s| s.min(cap))
    }

    /// Whether the pass's scope can keep two records born in years `a` and `b` (0: no year;
    /// `None`: not known), on the years alone: a cheap test before the records are at hand.
    pub fn years_may_keep(&self, a: Option<u16>, b: Option<u16>) -> bool {
        let (Some(x), Some(y)) = (a, b) else {
            return true;
        };
        match self.scope {
            Scope::YearsClose | Scope::NameTypoYearsClose => years_close(x, y),
            Scope::DateMissing => x == 0 || y == 0,
            _ => true,
        }
    }

    /// Whether a block of `len` records is compared in a window (each record with the
    /// [`BlockPass::limit`] records after it, by row) rather than pair by pair or not at all.
    pub fn windowed(&self, len: usize, cap: usize) -> bool {
        len > self.limit(cap) && len <= cap && WINDOWED_PASSES.contains(&self.name)
    }
}

/// Pairs proposed per merge step (about 12 MB gathered at a time).
const MERGE_STEP: usize = 1 << 20;

/// The distinct pairs of the passes' lists (each sorted by rows; list i is pass i), handed
/// to `sink` in order with per pair the bits of the passes that proposed it; counts in
/// `per_pass` the pairs only one pass proposed. The lists are taken a range of rows at a time
/// (about `step` pairs): each range's pairs are gathered, sorted and made unique in cache, a
/// few ranges side by side, so beside the lists only a few ranges' pairs are held.
fn merge_passes(
    lists: &[Vec<(u32, u32)>],
    rows: usize,
    per_pass: &mut [PassCount],
    step: usize,
    mut sink: impl FnMut(&[(u32, u32)], &[u32]),
) {
    let total: usize = lists.iter().map(Vec::len).sum();
    let steps = total.div_ceil(step.max(1)).max(1);
    // Ranges of first rows of about equal width (a pair's first row is spread over the
    // register; a step of twice the average is no harm).
    let bounds: Vec<u32> = (0..=steps)
        .map(|k| (rows as u64 * k as u64 / steps as u64) as u32)
        .collect();
    let merge = |k: usize| {
        let (lo, hi) = (bounds[k], bounds[k + 1]);
        let parts: Vec<&[(u32, u32)]> = lists
            .iter()
            .map(|l| {
                let from = l.partition_point(|e| e.0 < lo);
                &l[from..from + l[from..].partition_point(|e| e.0 < hi)]
            })
            .collect();
        let mut step: Vec<(u32, u32, u8)> = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for (i, part) in parts.iter().enumerate() {
            step.extend(part.iter().map(|&(a, b)| (a, b, i as u8)));
        }
        crate::core::sort::sort_by_rows(&mut step, lo..hi, |e| (e.0, e.1));
        let mut pairs = Vec::with_capacity(step.len());
        let mut passes = Vec::with_capacity(step.len());
        let mut alone = vec![0usize; lists.len()];
        for g in step.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
            pairs.push((g[0].0, g[0].1));
            passes.push(g.iter().fold(0u32, |m, e| m | 1 << e.2));
            if g.len() == 1 {
                alone[g[0].2 as usize] += 1;
            }
        }
        (pairs, passes, alone)
    };
    let side_by_side = rayon::current_num_threads().max(1) * 2;
    for first in (0..steps).step_by(side_by_side) {
        let done: Vec<_> = (first..(first + side_by_side).min(steps))
            .into_par_iter()
            .map(merge)
            .collect();
        for (p, b, alone) in done {
            sink(&p, &b);
            for (c, n) in per_pass.iter_mut().zip(alone) {
                c.alone += n;
            }
        }
    }
}

/// The pairs of a windowed block (sorted by row): each record with the `window` after it.
pub fn window_pairs(rows: &[u32], window: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
    rows.iter().enumerate().flat_map(move |(x, &a)| {
        rows[x + 1..(x + 1 + window).min(rows.len())]
            .iter()
            .filter(move |&&b| b != a)
            .map(move |&b| (a.min(b), a.max(b)))
    })
}

/// Candidate pairs of all deduplication passes, and of IDs typed wrong (no rows kept for
/// linking).
pub fn candidates(recs: &[Rec], cap: usize) -> Candidates {
    candidates_keeping(recs, cap, &Wider::default(), &[])
}

/// [`candidates`] of part of a register, whose blocks in `wider` are larger in the whole.
pub fn candidates_within(recs: &[Rec], cap: usize, wider: &Wider) -> Candidates {
    candidates_keeping(recs, cap, wider, &[])
}

/// [`candidates`], keeping in `link_rows` the rows of the keys linking will look up (`keep`:
/// per pass of [`LINK_PASSES`], the keys sorted).
pub fn candidates_keeping(
    recs: &[Rec],
    cap: usize,
    wider: &Wider,
    keep: &[Vec<u64>],
) -> Candidates {
    let mut proposed = propose(recs, cap, wider, keep, SideBySide::AsCoresAllow);
    let total: usize = proposed.lists.iter().map(Vec::len).sum();
    let (mut pairs, mut passes) = (Vec::with_capacity(total), Vec::with_capacity(total));
    merge_passes(
        &proposed.lists,
        recs.len(),
        &mut proposed.per_pass,
        MERGE_STEP,
        |p, b| {
            pairs.extend_from_slice(p);
            passes.extend_from_slice(b);
        },
    );
    pairs.shrink_to_fit();
    passes.shrink_to_fit();
    Candidates {
        pairs,
        passes,
        skipped: proposed.skipped,
        per_pass: proposed.per_pass,
        link_rows: proposed.link_rows,
    }
}

/// [`candidates_within`] for a driver that only judges the pairs: they are handed to `each`
/// a range of rows at a time, in the order [`Candidates::pairs`] holds them, and never held
/// all at once (a national unit's 100 M pairs were 1.2 GB beside its records). Returns the
/// pairs over the size cap and what each pass proposed.
pub fn candidates_each(
    recs: &[Rec],
    cap: usize,
    wider: &Wider,
    mut each: impl FnMut(&[(u32, u32)]),
) -> (usize, Vec<PassCount>) {
    let mut proposed = propose(recs, cap, wider, &[], SideBySide::Two);
    merge_passes(
        &proposed.lists,
        recs.len(),
        &mut proposed.per_pass,
        MERGE_STEP,
        |p, _| each(p),
    );
    (proposed.skipped, proposed.per_pass)
}

/// What the passes proposed, before their pairs are merged.
struct Proposed {
    /// Per pass (in [`DEDUP_PASSES`] order, then the pass of IDs typed wrong), its pairs
    /// (i < j) sorted.
    lists: Vec<Vec<(u32, u32)>>,
    skipped: usize,
    per_pass: Vec<PassCount>,
    link_rows: Vec<(&'static BlockPass, Vec<u32>)>,
}

/// How many blocking passes run at once.
#[derive(Clone, Copy)]
enum SideBySide {
    /// As many as rayon's threads take up (`check`: fastest, a few passes' keys held at once).
    AsCoresAllow,
    /// Two, whatever the cores: each pass holds a key a record and its sort (~32 bytes a
    /// record), and `dedup` sizes its units for two. On 2 cores, 0.1–0.2 s more of 1.8 s
    /// blocking 1 M people (a lane waiting inside a pass does not start another).
    Two,
}

fn propose(
    recs: &[Rec],
    cap: usize,
    wider: &Wider,
    keep: &[Vec<u64>],
    side_by_side: SideBySide,
) -> Proposed {
    let rows = recs.len();
    let mut out = Proposed {
        lists: Vec::with_capacity(DEDUP_PASSES.len() + 1),
        skipped: 0,
        per_pass: Vec::with_capacity(DEDUP_PASSES.len() + 1),
        link_rows: Vec::new(),
    };
    // Each pass's pairs are sorted in its own task, so they are merged without being
    // gathered (12 bytes a pair) and sorted into a copy: at 100 M people a unit's passes
    // propose ~100 M pairs, and the gathered list and its copy were 2.4 GB of its peak.
    let run = |n: &&'static str| {
        let pass = pass(n);
        let mut kept = Vec::new();
        let (mut p, s) =
            crate::phase::traced(pass.name, || block(recs, pass, cap, wider, keep, &mut kept));
        crate::core::sort::sort_by_rows(&mut p, 0..rows as u32, |e| *e);
        (pass.name, p, s, kept)
    };
    // The passes run side by side: each is parallel within, but its steps (a key for every
    // record, a sort, a scan of the blocks) leave a core idle. At 1 M people blocking took
    // 1.73 s one pass after another and 1.60 s side by side; at 10 M, 31.9 s and 26.7 s, for
    // 100 MB more at the peak (7.1 GB). The answers are taken in pass order, so the
    // candidates are the same.
    let done: Vec<_> = match side_by_side {
        SideBySide::AsCoresAllow => DEDUP_PASSES.par_iter().map(run).collect(),
        SideBySide::Two => {
            // Each of the two takes the next pass left, so neither waits while the other
            // has work.
            let next = std::sync::atomic::AtomicUsize::new(0);
            let lane = || {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(name) = DEDUP_PASSES.get(i) else {
                        return out;
                    };
                    out.push((i, run(name)));
                }
            };
            let (mut done, second) = rayon::join(lane, lane);
            done.extend(second);
            done.sort_unstable_by_key(|d| d.0);
            done.into_iter().map(|d| d.1).collect()
        }
    };
    let typed = id_typo_pairs(recs, cap);
    let all = done
        .into_iter()
        .chain(std::iter::once((ID_TYPO_PASS, typed, 0, Vec::new())));
    for (name, p, s, kept) in all {
        out.link_rows.extend(kept);
        out.per_pass.push(PassCount {
            name,
            proposed: p.len(),
            alone: 0,
        });
        out.lists.push(p);
        out.skipped += s;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, StringArray};

    use super::*;
    use crate::core::{Prepared, SourceKind, Table};

    /// Records of a table of (record_id, personal_id, full_name, birth_date, sex, commune).
    fn recs(rows: &[[&str; 6]]) -> Vec<Rec> {
        recs_with(rows, &[])
    }

    /// The same, with more columns (header, one value a row).
    fn recs_with(rows: &[[&str; 6]], more: &[(&str, &[&str])]) -> Vec<Rec> {
        let names = [
            "record_id",
            "personal_id",
            "full_name",
            "birth_date",
            "sex",
            "commune_code",
        ];
        let cols = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let v: Vec<&str> = rows.iter().map(|r| r[i]).collect();
                (n.to_string(), Arc::new(StringArray::from(v)) as ArrayRef)
            })
            .chain(std::iter::once((
                "province_code".to_string(),
                Arc::new(StringArray::from(vec!["01"; rows.len()])) as ArrayRef,
            )))
            .chain(more.iter().map(|(h, v)| {
                (
                    h.to_string(),
                    Arc::new(StringArray::from(v.to_vec())) as ArrayRef,
                )
            }))
            .collect();
        let t = Table::from_columns("residents", SourceKind::Residents, cols);
        crate::matching::features::features(&t, &Prepared::new(&t))
    }

    #[test]
    fn the_passes_pairs_merge_into_one_sorted_list_with_who_proposed_each() {
        // Five passes over 1 000 rows, proposing overlapping pairs; merged in one step and in
        // steps of 40 pairs (many ranges of rows, several side by side).
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let rows = 1_000u32;
        let mut lists: Vec<Vec<(u32, u32)>> = (0..5)
            .map(|_| {
                let mut l: Vec<(u32, u32)> = (0..300)
                    .map(|_| {
                        let (a, b) = (next() % rows, next() % rows);
                        (a.min(b), a.max(b) + u32::from(a == b))
                    })
                    .filter(|&(_, b)| b < rows)
                    .collect();
                l.sort_unstable();
                l.dedup();
                l
            })
            .collect();
        // Pairs two passes share, and one pass of none.
        let shared: Vec<(u32, u32)> = lists[0].iter().step_by(3).copied().collect();
        lists[3].extend(shared);
        lists[3].sort_unstable();
        lists[3].dedup();
        lists.push(Vec::new());
        let mut want: std::collections::BTreeMap<(u32, u32), u32> = Default::default();
        for (i, l) in lists.iter().enumerate() {
            for &p in l {
                *want.entry(p).or_default() |= 1 << i;
            }
        }
        let mut want_alone = vec![0usize; lists.len()];
        for bits in want.values().filter(|b| b.count_ones() == 1) {
            want_alone[bits.trailing_zeros() as usize] += 1;
        }
        for step in [usize::MAX, 40, 1] {
            let mut per_pass: Vec<PassCount> = (0..lists.len())
                .map(|_| PassCount {
                    name: "p",
                    proposed: 0,
                    alone: 0,
                })
                .collect();
            let mut got: Vec<((u32, u32), u32)> = Vec::new();
            merge_passes(&lists, rows as usize, &mut per_pass, step, |p, b| {
                got.extend(p.iter().copied().zip(b.iter().copied()))
            });
            let expected: Vec<((u32, u32), u32)> = want.clone().into_iter().collect();
            assert_eq!(got, expected, "step {step}");
            let alone: Vec<usize> = per_pass.iter().map(|c| c.alone).collect();
            assert_eq!(alone, want_alone, "step {step}");
        }
        assert!(want.values().any(|b| b.count_ones() == 2));
    }

    /// The scopes that pair only records of one kind (no birth year, a partial date, a home
    /// name) find the same pairs through those records as by looking at every pair, in
    /// windows and whole blocks.
    #[test]
    fn pairs_found_through_the_pivot_records_are_every_pair_kept() {
        let dates = [
            "1971-05-09",
            "",
            "1971",
            "05/1971",
            "1971-05-10",
            "",
            "1972-05-09",
        ];
        let givens = ["Khải", "Tý", "Khai", "Bé", "Khải"];
        let owned: Vec<[String; 6]> = (0..45)
            .map(|i| {
                [
                    format!("R{i}"),
                    String::new(),
                    format!("Nguyễn Văn {}", givens[(i * 7 / 3) % 5]),
                    dates[(i * 5 + i / 4) % 7].into(),
                    ["Nam", "", "Nam", "Nữ"][i % 4].into(),
                    format!("{:05}", 4 + i % 3),
                ]
            })
            .collect();
        let rows: Vec<[&str; 6]> = owned
            .iter()
            .map(|r| std::array::from_fn(|k| r[k].as_str()))
            .collect();
        let recs = recs(&rows);
        let block: Vec<(u64, u32)> = (0..recs.len() as u32).map(|r| (7, r)).collect();
        for scope in [Scope::DateMissing, Scope::PartialDate, Scope::HomeName] {
            let pivot = scope.pivot().expect("a scope with a pivot");
            for window in [1, 3, 16, block.len()] {
                for g in [&block[..], &block[5..30]] {
                    let (mut every, mut through) = (Vec::new(), Vec::new());
                    block_pairs(&recs, g, scope, window, None, &mut every);
                    block_pairs(&recs, g, scope, window, Some(pivot), &mut through);
                    every.sort_unstable();
                    through.sort_unstable();
                    if window == block.len() {
                        assert!(
                            every.len() >= 10,
                            "{scope:?}: the block holds pairs it keeps"
                        );
                    }
                    assert_eq!(through, every, "{scope:?}, window {window}");
                }
            }
        }
    }

    /// One person registered 40 times, the family name typed six ways, each record in another
    /// commune: the only pass that holds them all (birth date + given name) is over its size,
    /// and compares each record with the next 16 — one connected chain of every record, in
    /// linear pairs.
    #[test]
    fn a_large_block_of_one_person_is_chained_not_dropped() {
        let families = ["Nguyễn", "Ngyễn", "Nguyễm", "Nguễn", "Nguyên", "Nhuyễn"];
        let owned: Vec<[String; 6]> = (0..40)
            .map(|i| {
                [
                    format!("R{i}"),
                    String::new(),
                    format!("{} Văn Khải", families[i % 6]),
                    "1971-05-09".into(),
                    "Nam".into(),
                    format!("{:05}", 4 + 3 * i),
                ]
            })
            .collect();
        let rows: Vec<[&str; 6]> = owned
            .iter()
            .map(|r| std::array::from_fn(|k| r[k].as_str()))
            .collect();
        let c = candidates(&recs(&rows), 1_000);
        assert!(c.pairs.len() <= 40 * 16 + 100, "{}", c.pairs.len());
        let mut parent: Vec<usize> = (0..40).collect();
        fn root(p: &mut [usize], x: usize) -> usize {
            if p[x] == x {
                x
            } else {
                let r = root(p, p[x]);
                p[x] = r;
                r
            }
        }
        for &(a, b) in &c.pairs {
            let (ra, rb) = (root(&mut parent, a as usize), root(&mut parent, b as usize));
            parent[ra] = rb;
        }
        let r0 = root(&mut parent, 0);
        assert!((0..40).all(|i| root(&mut parent, i) == r0));
    }

    /// One person registered 30 times in several communes, among namesakes of one family and
    /// given name; a further record of theirs lost its date, its middle name has a typo, and
    /// it was registered in yet another commune. Every pass on the date, the full name or the
    /// commune misses it and the block of family and given name is far over its size; the
    /// window over that block still compares it with several of the person's records (enough
    /// to vouch for it in clustering), at a linear number of pairs.
    #[test]
    fn a_record_without_a_date_meets_its_persons_other_records() {
        let owned: Vec<[String; 6]> = (0..60)
            .map(|i| {
                let (name, date) = if i % 2 == 0 {
                    ("Nguyễn Thanh Minh", "1965-09-11".to_string())
                } else {
                    (
                        "Nguyễn Văn Minh",
                        format!("19{}-0{}-1{}", 50 + i / 2, 1 + i % 9, i % 7),
                    )
                };
                [
                    format!("R{i}"),
                    String::new(),
                    name.into(),
                    date,
                    "Nam".into(),
                    format!("{:05}", 4 + (i % 5)),
                ]
            })
            .chain(std::iter::once(
                ["LOST", "", "Nguyễn Thanhh Minh", "", "Nam", "09999"].map(String::from),
            ))
            .collect();
        let rows: Vec<[&str; 6]> = owned
            .iter()
            .map(|r| std::array::from_fn(|k| r[k].as_str()))
            .collect();
        let c = candidates(&recs(&rows), 1_000);
        let lost = 60;
        let met: Vec<u32> = c
            .pairs
            .iter()
            .filter_map(|&(a, b)| (b == lost).then_some(a))
            .collect();
        assert!(
            met.iter().filter(|&&a| a % 2 == 0).count() >= 2,
            "the undated record meets the person's records: {met:?}"
        );
        assert!(
            met.len() <= 32,
            "a window, not the whole block: {}",
            met.len()
        );
    }

    /// A person's record, and a second registration with one field damaged: every such pair is
    /// a candidate, whichever field the damage hit (the record has no ID in common to help).
    #[test]
    fn a_pair_with_any_one_field_damaged_is_a_candidate() {
        let base = ["A", "", "Nguyễn Văn Thành", "1984-08-10", "Nam", "00004"];
        let damaged: &[(&str, [&str; 6])] = &[
            (
                "typo in the family name",
                ["B", "", "Nguyễm Văn Thành", "1984-08-10", "Nam", "09999"],
            ),
            (
                "typo in the given name's first letter",
                ["B", "", "Nguyễn Văn Hhành", "1984-08-10", "Nam", "09999"],
            ),
            (
                "given name lost a letter",
                ["B", "", "Nguyễn Văn Thnh", "1984-08-10", "Nam", "09999"],
            ),
            (
                "another middle name",
                ["B", "", "Nguyễn Hữu Thành", "1984-08-10", "Nam", "09999"],
            ),
            (
                "no birth date",
                ["B", "", "Nguyễn Văn Thành", "", "Nam", "00004"],
            ),
            (
                "only the birth year",
                ["B", "", "Nguyễn Văn Thành", "1984", "Nam", "09999"],
            ),
            (
                "a day mistyped",
                ["B", "", "Nguyễn Văn Thành", "1984-08-11", "Nam", "09999"],
            ),
            (
                "the year mistyped",
                ["B", "", "Nguyễn Văn Thành", "1985-08-10", "Nam", "09999"],
            ),
            (
                "day and month swapped",
                ["B", "", "Nguyễn Văn Thành", "1984-10-08", "Nam", "09999"],
            ),
            (
                "another given name, same commune",
                ["B", "", "Nguyễn Văn Tý", "1984-08-10", "Nam", "00004"],
            ),
            (
                "a home name for the given name, another commune",
                ["B", "", "Nguyễn Văn Út", "1984-08-10", "Nam", "09999"],
            ),
            (
                "given name first",
                ["B", "", "Thành Nguyễn Văn", "1984-08-10", "Nam", "09999"],
            ),
            (
                "typos in both names",
                ["B", "", "Nguyễng Văn Thànhh", "1984-08-10", "Nam", "09999"],
            ),
        ];
        for (what, b) in damaged {
            let r = recs(&[base, *b]);
            let c = candidates(&r, 2000);
            assert_eq!(c.pairs, vec![(0, 1)], "{what}");
        }
        // A keystroke in a short given name ("Quý" typed "Qmý", "Út" typed "Úv"), which
        // Jaro–Winkler alone scores below 0.8.
        for (a, b) in [
            ("Hà Hoàng Quý", "Hà Hoàng Qmý"),
            ("Trần Thị Út", "Trần Thị Úv"),
        ] {
            let r = recs(&[
                ["A", "", a, "2016-07-28", "Nam", "00004"],
                ["B", "", b, "2016-07-28", "Nam", "09999"],
            ]);
            assert_eq!(candidates(&r, 2000).pairs, vec![(0, 1)], "{b}");
        }
        // Two strangers born the same year are not a candidate.
        let r = recs(&[base, ["B", "", "Trần Thị Lan", "1984-03-02", "Nữ", "09999"]]);
        assert!(candidates(&r, 2000).pairs.is_empty());
    }

    /// Damage the passes on whole names, initials and a name's last letters all miss, each in
    /// another commune: two letters swapped at the start of a short given name or of both
    /// names (on one date, or beside a partial date), the names written in the other order
    /// with a keystroke off or beside a partial date, the given name written first beside a
    /// year or without a date, a space left out or typed inside a word, a name of one word
    /// typed wrong, and one birth year written on both records beside a middle name left out.
    /// Two strangers whose crossed names are each a keystroke off are not proposed.
    #[test]
    fn letters_swapped_names_crossed_and_one_year_twice_are_proposed() {
        let cases: &[(&str, [&str; 6], [&str; 6])] = &[
            (
                "two letters swapped in a short given name",
                ["A", "", "Hà Mạnh Tài", "1952-06-15", "Nam", "00004"],
                ["B", "", "Hà Mạnh àTi", "15/06/1952", "Nam", "09999"],
            ),
            (
                "two letters swapped in both names",
                ["A", "", "Lê Thị Phương", "2012-03-27", "Nữ", "00004"],
                ["B", "", "êL Thị hPương", "2012-03-27", "Nữ", "09999"],
            ),
            (
                "the names in the other order, one a keystroke off",
                ["A", "", "Trần Văn Minh", "1971-08-22", "Nam", "00004"],
                ["B", "", "Mih Văn Trần", "22/08/1971", "Nam", "09999"],
            ),
            (
                "two letters swapped beside a month and year",
                ["A", "", "Phạm Văn Cảnh", "1990-10-02", "Nam", "00004"],
                ["B", "", "Pham Van aCnh", "10/1990", "Nam", "09999"],
            ),
            (
                "the names in the other order beside a month and year",
                ["A", "", "Trương Văn Toàn", "18/03/1983", "Nam", "00004"],
                ["B", "", "Toàn Văn Trương", "03/1983", "Nam", "09999"],
            ),
            (
                "the given name written first beside a year",
                ["A", "", "Vũ Mỹ Dung", "17/07/1998", "Nữ", "00004"],
                ["B", "", "Dung Vũ Mỹ", "1998", "Nữ", "09999"],
            ),
            (
                "the given name written first without a date, one commune",
                ["A", "", "Vũ Hồng Thư", "2000-03-28", "Nữ", "00004"],
                ["B", "", "Thư Vũ Hồng", "", "Nữ", "00004"],
            ),
            (
                "a space left out between two syllables",
                ["A", "", "Trần Thị Thu Hà", "1966-01-30", "Nữ", "00004"],
                ["B", "", "Trần Thị ThuHà", "1966-01-30", "Nữ", "09999"],
            ),
            (
                "a space typed inside a word",
                ["A", "", "Menzies Caitlin", "1919-05-14", "", "00004"],
                ["B", "", "Menzies Ca Itlin", "1919-05-14", "", "09999"],
            ),
            (
                "a name of one word, a letter typed wrong",
                ["A", "", "Samuel", "1912-02-12", "", "00004"],
                ["B", "", "Samudl", "1912-02-12", "", "09999"],
            ),
            (
                "one year on both, the middle name left out",
                ["A", "", "Lê Văn Tài", "1936", "Nam", "00004"],
                ["B", "", "Lê Tài", "1936", "Nam", "09999"],
            ),
        ];
        for (what, a, b) in cases {
            let r = recs(&[*a, *b]);
            assert_eq!(candidates(&r, 2000).pairs, vec![(0, 1)], "{what}");
        }
        let r = recs(&[
            ["A", "", "Trần Anh Long", "1985-10-03", "Nam", "00004"],
            ["B", "", "Lương Văn Tân", "1985-10-03", "Nam", "09999"],
        ]);
        assert!(candidates(&r, 2000).pairs.is_empty());
    }

    /// A middle name mistyped ("Hoàqg" for "Hoàng") does not contradict the other record as
    /// another middle name ("Minh") does, in every pass that asks the middle name not to
    /// contradict; and the pair, its date reduced to the year in another commune, is proposed.
    #[test]
    fn a_mistyped_middle_name_does_not_contradict() {
        let base = ["A", "", "Trần Hoàng Phương", "1951-01-21", "Nam", "00004"];
        let typo = ["B", "", "Trần Hoàqg Phương", "1951", "Nam", "09999"];
        let other = ["C", "", "Trần Minh Phương", "1951", "Nam", "09999"];
        let r = recs(&[base, typo, other]);
        for scope in [Scope::Consistent, Scope::PartialDate, Scope::OtherDate] {
            assert!(scope.keeps(&r[0], &r[1]), "{scope:?}: a typo");
            assert!(!scope.keeps(&r[0], &r[2]), "{scope:?}: another middle name");
        }
        assert!(candidates(&r, 2000).pairs.contains(&(0, 1)));
    }

    /// A man and a woman whose names and dates are alike are the commonest false candidates of
    /// the broad passes (a date a keystroke apart, names a typo apart, the same date in one
    /// commune): they are not proposed, and with the sex missing on one side they are.
    #[test]
    fn the_broad_passes_do_not_propose_a_man_and_a_woman() {
        let cases: &[(&str, [&str; 6], [&str; 6])] = &[
            (
                "a day a keystroke apart",
                ["A", "", "Nguyễn Hồng Nhung", "1984-08-10", "Nam", "00004"],
                ["B", "", "Nguyễn Hồng Nhung", "1984-08-11", "Nữ", "09999"],
            ),
            (
                "only the year on one side",
                ["A", "", "Nguyễn Hồng Nhung", "1984-08-10", "Nam", "00004"],
                ["B", "", "Nguyễn Hồng Nhung", "1984", "Nữ", "09999"],
            ),
            (
                "the given name a keystroke apart",
                ["A", "", "Trần Minh Tâm", "1990-02-03", "Nam", "00004"],
                ["B", "", "Trần Minh Tân", "1990-02-03", "Nữ", "09999"],
            ),
            (
                "other names, one date, one commune",
                ["A", "", "Lê Văn Tám", "1975-04-30", "Nam", "00004"],
                ["B", "", "Phạm Thị Hoa", "1975-04-30", "Nữ", "00004"],
            ),
        ];
        for (what, a, b) in cases {
            let two = candidates(&recs(&[*a, *b]), 2000);
            assert!(two.pairs.is_empty(), "{what}: {:?}", two.pairs);
            let mut unknown = *b;
            unknown[4] = "";
            let two = candidates(&recs(&[*a, unknown]), 2000);
            assert_eq!(two.pairs, vec![(0, 1)], "{what}, one sex missing");
        }
    }

    /// A name part and the birth date damaged on one record, in another commune (the examples
    /// the registers profile without IDs lost): a letter of the given name swapped or lost
    /// beside a year-only or mistyped date, a family name a keystroke off beside a date with a
    /// digit wrong. Only the year passes find them, each pass its own. Two people of one family
    /// and middle name with given names a keystroke apart but other dates, or one date, are
    /// not proposed by them.
    #[test]
    fn a_name_part_and_the_date_damaged_together_are_proposed() {
        let cases: &[(&str, [&str; 6], [&str; 6])] = &[
            (
                "birth_year+family+middle+given_initial (the given name and the date damaged)",
                ["A", "", "Nhâm Thị Thành", "1950-09-27", "Nữ", "10909"],
                ["B", "", "Nhâm Thị Thàh", "1950", "Nữ", "11689"],
            ),
            (
                "birth_year+family+middle+given_initial (the given name and the date damaged)",
                ["A", "", "Phạm Triệu Phúc", "1948", "Nam", "11239"],
                ["B", "", "Phạm Triệu Phú", "1948-09-09", "Nam", "13795"],
            ),
            (
                "birth_year+given+middle+family_initial (the family name and the date damaged)",
                ["A", "", "Nguyễn Văn Khải", "1971-03-12", "Nam", "00004"],
                ["B", "", "Ngyuễn Văn Khải", "1971-08-12", "Nam", "09999"],
            ),
        ];
        for (pass, a, b) in cases {
            let two = candidates(&recs(&[*a, *b]), 2000);
            assert_eq!(two.pairs, vec![(0, 1)], "{pass}");
            let by = two.per_pass.iter().find(|p| p.name == *pass).unwrap();
            assert_eq!(by.alone, 1, "{pass}: {:?}", two.per_pass);
        }
        // The first pair with two full dates that cannot be one date: not proposed.
        let (a, mut other) = (cases[0].1, cases[0].2);
        other[3] = "1950-03-02";
        let two = candidates(&recs(&[a, other]), 2000);
        assert!(two.pairs.is_empty(), "other dates: {:?}", two.pairs);
        let siblings = [
            ["A", "", "Trần Văn An", "1990-02-03", "Nam", "00004"],
            ["B", "", "Trần Văn Anh", "1990-02-03", "Nam", "09999"],
        ];
        let two = candidates(&recs(&siblings), 2000);
        let by_year = |name: &str| {
            two.per_pass
                .iter()
                .find(|p| p.name == name)
                .map_or(0, |p| p.proposed)
        };
        assert_eq!(
            by_year("birth_year+family+middle+given_initial (the given name and the date damaged)"),
            0,
            "one full date is the date passes' to propose"
        );
    }

    /// A name part and the birth year damaged together, the day and month whole, in another
    /// commune: each day-and-month pass finds its pair alone. Years that cannot be one year
    /// typed wrong are not proposed.
    #[test]
    fn a_name_part_and_the_year_damaged_together_are_proposed() {
        let cases: &[(&str, [&str; 6], [&str; 6])] = &[
            (
                "birth_day_month+family+middle+given_initial (the given name and the year damaged)",
                ["A", "", "Vũ Thị Quyến", "1962-03-17", "Nữ", "10705"],
                ["B", "", "Vũ Thị Qutyến", "1963-03-17", "Nữ", "10645"],
            ),
            (
                "birth_day_month+given+middle+family_initial (the family name and the year damaged)",
                ["A", "", "Đinh Văn Viên", "1964-02-20", "Nam", "13402"],
                ["B", "", "Dilh Văn Viên", "1914-02-20", "Nam", "30154"],
            ),
        ];
        for (pass, a, b) in cases {
            let two = candidates(&recs(&[*a, *b]), 2000);
            assert_eq!(two.pairs, vec![(0, 1)], "{pass}");
            let by = two.per_pass.iter().find(|p| p.name == *pass).unwrap();
            assert_eq!(by.alone, 1, "{pass}: {:?}", two.per_pass);
            let mut far = *b;
            far[3] = "1975-03-17";
            if far[2].starts_with("Dilh") {
                far[3] = "1975-02-20";
            }
            let two = candidates(&recs(&[*a, far]), 2000);
            assert!(two.pairs.is_empty(), "{pass}, years apart: {:?}", two.pairs);
        }
    }

    /// One name, birth dates a day or two apart across the end of a month (a date moved by a
    /// time zone on export: several digits change, so no keystroke), in other communes:
    /// proposed by the name and year pass; a month apart, not.
    #[test]
    fn dates_days_apart_are_proposed() {
        let a = [
            "A",
            "",
            "Nguyễn Văn Ngọc Dũng",
            "1972-10-31",
            "Nam",
            "29938",
        ];
        let b = [
            "B",
            "",
            "Nguyễn Văn Ngọc Dũng",
            "1972-11-01",
            "Nam",
            "28576",
        ];
        let two = candidates(&recs(&[a, b]), 2000);
        assert_eq!(two.pairs, vec![(0, 1)]);
        let pass = "family+given+birth_year (a partial or mistyped date)";
        let by = two.per_pass.iter().find(|p| p.name == pass).unwrap();
        assert_eq!(by.proposed, 1, "{:?}", two.per_pass);
        let mut later = b;
        later[3] = "1972-12-02";
        let two = candidates(&recs(&[a, later]), 2000);
        let by = two.per_pass.iter().find(|p| p.name == pass).unwrap();
        assert_eq!(by.proposed, 0, "a month apart: {:?}", two.per_pass);
    }

    /// One person's record with the full date and another with 1 January of the same year
    /// (the day and month many registers write when only the year is known), in other
    /// communes: proposed by the name and year pass (which, unlike the name pass, still pairs
    /// them in a block of a common name), and with a given name a keystroke off too (the given
    /// name and the date damaged). Namesakes born in other years, or both on dates
    /// other than 1 January, are not proposed by these passes.
    #[test]
    fn a_date_written_as_the_first_of_january_is_proposed_beside_the_full_date() {
        let full = ["A", "", "Trần Thanh Nhung", "1952-02-06", "Nữ", "09370"];
        let placeholder = ["B", "", "Trần Thanh Nhung", "01/01/1952", "Nữ", "07552"];
        let typo = ["B", "", "Trần Thanh Nhunng", "1952-01-01", "Nữ", "07552"];
        for (pass, other) in [
            (
                "family+given+birth_year (a partial or mistyped date)",
                placeholder,
            ),
            (
                "birth_year+family+middle+given_initial (the given name and the date damaged)",
                typo,
            ),
        ] {
            let two = candidates(&recs(&[full, other]), 2000);
            assert_eq!(two.pairs, vec![(0, 1)], "{pass}");
            let by = two.per_pass.iter().find(|p| p.name == pass).unwrap();
            assert_eq!(by.proposed, 1, "{pass}: {:?}", two.per_pass);
        }
        for other_date in ["1953-01-01", "1952-03-01"] {
            let mut other = typo;
            other[3] = other_date;
            let two = candidates(&recs(&[full, other]), 2000);
            assert!(two.pairs.is_empty(), "{other_date}: {:?}", two.pairs);
        }
    }

    /// A second registration at the same address whose name and birth date are both damaged
    /// (a typo in the family name, a letter added to the given name, the year mistyped): only
    /// the address finds it. Two members of one household at one address are not proposed by
    /// it (their address is the household's), nor are two strangers of other names.
    #[test]
    fn the_same_address_finds_a_record_whose_name_and_date_are_damaged() {
        let rows = [
            ["A", "", "Koziol Kylie", "1932-07-09", "", "03135"],
            ["B", "", "Kozilo Kylvie", "1923-07-09", "", "03153"],
        ];
        let plain = candidates(&recs(&rows), 2000);
        assert!(
            plain.pairs.is_empty(),
            "no pass but the address's finds them"
        );
        let at = |a: &'static str, b: &'static str, h: &'static str, k: &'static str| {
            recs_with(
                &rows,
                &[("address", &[a, b][..]), ("household_id", &[h, k][..])],
            )
        };
        let found = candidates(
            &at(
                "16 Wolff Crescent, Brentwood",
                "16 wolffcrescent brentwoo",
                "",
                "",
            ),
            2000,
        );
        assert_eq!(found.pairs, vec![(0, 1)]);
        let alone = found
            .per_pass
            .iter()
            .find(|p| p.name == "address (another household)")
            .unwrap();
        assert_eq!(alone.alone, 1);
        // Another house number, or the same household: not proposed.
        let other = at("16 Wolff Crescent", "61 Wolff Crescent", "", "");
        assert!(candidates(&other, 2000).pairs.is_empty());
        let household = at("Số 252, Xã Hiệp Đức", "so 252 xa hiep duc", "HO1", "HO1");
        assert!(candidates(&household, 2000).pairs.is_empty());
        let household = at("Số 252, Xã Hiệp Đức", "so 252 xa hiep duc", "HO1", "HO2");
        assert_eq!(candidates(&household, 2000).pairs, vec![(0, 1)]);
        // The name written in the other order, with a typo, and no date on one side.
        let reordered = recs_with(
            &[
                ["A", "", "Morrison Nathan", "1922-09-02", "", "06172"],
                ["B", "", "Nathas Morriosn", "", "", "06127"],
            ],
            &[("address", &["59 Peppin Place", "59 peppin pace"][..])],
        );
        assert_eq!(candidates(&reordered, 2000).pairs, vec![(0, 1)]);
        // Strangers at one address (a boarding house): names unlike, not proposed.
        let strangers = recs_with(
            &[
                rows[0],
                ["B", "", "Trần Thị Lan", "1990-01-02", "", "03153"],
            ],
            &[("address", &["16 Wolff Crescent", "16 Wolff Crescent"][..])],
        );
        assert!(candidates(&strangers, 2000).pairs.is_empty());
    }

    /// A child's name and birth date both damaged, in two communes: the parents named on both
    /// records still bring them together (both parents, or one parent and the birth year).
    /// A sibling — another given name, another birth date — is not proposed.
    #[test]
    fn the_parents_find_a_child_whose_name_and_date_are_damaged() {
        let parents = |rows: &[[&str; 6]], fathers: &[&'static str], mothers: &[&'static str]| {
            let (f, m): (Vec<&str>, Vec<&str>) = (fathers.to_vec(), mothers.to_vec());
            candidates(
                &recs_with(rows, &[("father_name", &f[..]), ("mother_name", &m[..])]),
                2000,
            )
            .pairs
        };
        let kien = ["A", "", "Nguyễn Hoàng Kiên", "2006-05-31", "Nam", "10573"];
        let ken = ["B", "", "Nguyễn Hoàng Kên", "2007-06-30", "Nam", "14221"];
        let (dad, mum) = ("Nguyễn Thành Anh Đô", "Nguyễn Tấn Lợi");
        assert!(candidates(&recs(&[kien, ken]), 2000).pairs.is_empty());
        assert_eq!(
            parents(&[kien, ken], &[dad, dad], &[mum, mum]),
            vec![(0, 1)]
        );
        let brother = ["B", "", "Nguyễn Hoàng Minh", "2009-02-11", "Nam", "10573"];
        assert!(parents(&[kien, brother], &[dad, dad], &[mum, mum]).is_empty());
        // One parent named, the same birth year.
        let nam = ["A", "", "Bùi Quốc Nam", "23/11/2007", "Nam", "11020"];
        let typed = ["B", "", "Bùi Quốc aNm", "24/11/2007", "Nam", "10729"];
        assert!(candidates(&recs(&[nam, typed]), 2000).pairs.is_empty());
        let khoa = "Bùi Văn Khoa";
        assert_eq!(
            parents(&[nam, typed], &[khoa, khoa], &["", ""]),
            vec![(0, 1)]
        );
        assert_eq!(
            parents(&[nam, typed], &["", ""], &[khoa, khoa]),
            vec![(0, 1)]
        );
        assert!(parents(&[nam, typed], &[khoa, "Bùi Văn Khánh"], &["", ""]).is_empty());
    }

    /// An ID that lost a digit, gained one or has a letter O for a zero pairs the record with
    /// the one whose ID it could have been, whatever else differs. (Two digits swapped make
    /// another well-formed ID: for residents that is another ID; an extract row whose ID
    /// resolves to nobody is linked through it, see tests/matching.rs.)
    #[test]
    fn an_id_typed_wrong_finds_the_record_of_the_id() {
        for typed in ["00108501234", "0010850123456", "001O85012345"] {
            let r = recs(&[
                [
                    "A",
                    "001085012345",
                    "Lê Văn An",
                    "1985-03-07",
                    "Nam",
                    "00004",
                ],
                ["B", typed, "Le An", "", "", "09999"],
            ]);
            let c = candidates(&r, 2000);
            assert_eq!(c.pairs, vec![(0, 1)], "{typed}");
            let alone = c.per_pass.iter().find(|p| p.name == ID_TYPO_PASS).unwrap();
            assert_eq!(alone.proposed, 1);
        }
    }
}
