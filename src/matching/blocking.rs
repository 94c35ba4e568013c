//! Blocking: candidate pairs without an all-pairs step. Several passes of equal keys (birth
//! date + given name, birth year + given + family, full name + commune, personal ID, CMND,
//! parents, …), so a true pair with one damaged field is still a candidate; oversized blocks
//! are skipped and counted. The passes are data: each has a name, a key and a scope, and the
//! deduplication and linking passes are chosen by name.

use rayon::prelude::*;

use super::features::Rec;
use crate::core::hash::mix;

/// The blocking passes: each returns a key per record (0 = no key).
pub type Pass = fn(&Rec) -> u64;

/// A blocking pass: its name (in `summary.json` and in the lists of passes below), its key,
/// and which pairs of a block it proposes.
pub struct BlockPass {
    pub name: &'static str,
    pub key: Pass,
    scope: Scope,
}

/// Which pairs of a block a pass proposes. Keys on a date and a common given name make
/// blocks that grow with the population (a province of 10 M people has ~270 people per birth
/// date), so the broad passes only propose the pairs they exist for; the pairs they would
/// otherwise add are either found by a narrower pass or, measured, never true duplicates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every pair of the block.
    All,
    /// Pairs where one birth date is partial (month/year or year only) and compatible with
    /// the other.
    PartialDate,
    /// Pairs whose full birth dates differ (the day and month swapped).
    SwappedDate,
    /// Pairs whose names differ in one part: the given name (a typo) or the middle name
    /// (dropped or changed). Equal names are proposed by the syllables+birth_date pass.
    NameDiffers,
}

impl Scope {
    /// The narrow passes look for one defect (a partial or a swapped date): the rest of the
    /// record must not contradict itself (sex, middle name where both have one).
    fn keeps(self, a: &Rec, b: &Rec) -> bool {
        let consistent = || {
            (a.sex == 0 || b.sex == 0 || a.sex == b.sex)
                && (a.middle == 0 || b.middle == 0 || a.middle == b.middle)
        };
        match self {
            Scope::All => true,
            Scope::PartialDate => {
                (!a.birth.is_full() || !b.birth.is_full())
                    && (a.birth.month == 0 || b.birth.month == 0 || a.birth.month == b.birth.month)
                    && consistent()
            }
            Scope::SwappedDate => a.birth != b.birth && consistent(),
            Scope::NameDiffers => {
                a.sorted != b.sorted
                    && (a.given == b.given
                        || a.middle == 0
                        || b.middle == 0
                        || a.middle == b.middle)
            }
        }
    }
}

fn given_initial(r: &Rec) -> u64 {
    r.given_text.bytes().next().unwrap_or(0) as u64
}

fn date_key(r: &Rec) -> u64 {
    if r.birth.is_full() {
        r.birth.year as u64 * 10_000 + r.birth.month as u64 * 100 + r.birth.day as u64
    } else {
        0
    }
}

/// Every blocking pass. Which of them deduplicate and which find an extract row's resident
/// is said by name in [`DEDUP_PASSES`] and [`LINK_PASSES`].
pub const PASSES: &[BlockPass] = &[
    BlockPass {
        name: "birth_date+given",
        key: |r| {
            if date_key(r) != 0 && r.given != 0 {
                mix(&[1, date_key(r), r.given])
            } else {
                0
            }
        },
        scope: Scope::All,
    },
    BlockPass {
        name: "birth_year+given+family (a partial date on one side)",
        key: |r| {
            if r.birth.year != 0 && r.given != 0 {
                mix(&[2, r.birth.year as u64, r.given, r.family])
            } else {
                0
            }
        },
        scope: Scope::PartialDate,
    },
    BlockPass {
        name: "full_name+commune+birth_year",
        key: |r| {
            if r.full != 0 && r.commune != 0 && r.birth.year != 0 {
                mix(&[3, r.full, r.commune, r.birth.year as u64])
            } else {
                0
            }
        },
        scope: Scope::All,
    },
    BlockPass {
        name: "personal_id",
        key: |r| if r.pid != 0 { mix(&[4, r.pid]) } else { 0 },
        scope: Scope::All,
    },
    BlockPass {
        name: "old_id",
        key: |r| if r.cmnd != 0 { mix(&[5, r.cmnd]) } else { 0 },
        scope: Scope::All,
    },
    BlockPass {
        name: "parents+birth_year",
        key: |r| {
            if r.father != 0 && r.mother != 0 {
                mix(&[6, r.father, r.mother, r.birth.year as u64])
            } else {
                0
            }
        },
        scope: Scope::All,
    },
    BlockPass {
        name: "birth_date+family+initial+sex",
        key: |r| {
            if date_key(r) != 0 && r.family != 0 {
                mix(&[7, date_key(r), r.family, given_initial(r), r.sex as u64])
            } else {
                0
            }
        },
        scope: Scope::NameDiffers,
    },
    BlockPass {
        name: "syllables+birth_date",
        key: |r| {
            if r.sorted != 0 && date_key(r) != 0 {
                mix(&[8, r.sorted, date_key(r)])
            } else {
                0
            }
        },
        scope: Scope::All,
    },
    BlockPass {
        name: "birth_date_unordered+given (day and month swapped)",
        key: |r| {
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
        },
        scope: Scope::SwappedDate,
    },
];

/// The passes that propose duplicate pairs. `birth_date+given` found no duplicate the others
/// miss (docs/matching.md §2); it only finds the resident of an extract row.
pub const DEDUP_PASSES: &[&str] = &[
    "birth_year+given+family (a partial date on one side)",
    "full_name+commune+birth_year",
    "personal_id",
    "old_id",
    "parents+birth_year",
    "birth_date+family+initial+sex",
    "syllables+birth_date",
    "birth_date_unordered+given (day and month swapped)",
];

/// The passes that propose the residents an extract row is compared with (its own ID set
/// aside).
pub const LINK_PASSES: &[&str] = &[
    "birth_date+given",
    "birth_year+given+family (a partial date on one side)",
    "full_name+commune+birth_year",
    "old_id",
    "birth_date+family+initial+sex",
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
    /// Whether the pass only proposes pairs where one birth date is partial (the link index
    /// keeps those residents apart).
    pub fn partial_dates_only(&self) -> bool {
        self.scope == Scope::PartialDate
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
    keyed.par_sort_unstable();
    keyed
}

/// The blocks of two or more records in a sorted (key, row) list.
pub fn blocks(keyed: &[(u64, u32)]) -> Vec<&[(u64, u32)]> {
    keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|g| g.len() > 1)
        .collect()
}

/// Candidate pairs (i < j) of one pass, and how many pairs oversized blocks held.
fn block(recs: &[Rec], pass: &BlockPass, cap: usize) -> (Vec<(u32, u32)>, usize) {
    let scope = pass.scope;
    let keyed = keyed(recs, pass.key);
    let groups = blocks(&keyed);
    let skipped: usize = groups
        .iter()
        .filter(|g| g.len() > cap)
        .map(|g| g.len() * (g.len() - 1) / 2)
        .sum();
    let rec = |e: &(u64, u32)| &recs[e.1 as usize];
    let worth = |g: &&&[(u64, u32)]| match scope {
        Scope::PartialDate => g.iter().any(|e| !rec(e).birth.is_full()),
        Scope::SwappedDate => g.iter().any(|e| rec(e).birth != rec(&g[0]).birth),
        Scope::All | Scope::NameDiffers => true,
    };
    let pairs = groups
        .par_iter()
        .filter(|g| g.len() <= cap)
        .filter(worth)
        .flat_map_iter(|g| {
            g.iter().enumerate().flat_map(move |(x, a)| {
                g[x + 1..]
                    .iter()
                    .filter(move |b| scope.keeps(rec(a), rec(b)))
                    .map(move |b| (a.1.min(b.1), a.1.max(b.1)))
            })
        })
        .collect();
    (pairs, skipped)
}

/// What blocking produced.
pub struct Candidates {
    /// Sorted, de-duplicated pairs (i < j).
    pub pairs: Vec<(u32, u32)>,
    /// Pairs held by blocks over the size cap, not compared.
    pub skipped: usize,
    /// Pairs each pass proposed, before de-duplication.
    pub per_pass: Vec<(&'static str, usize)>,
}

/// Candidate pairs of all blocking passes.
pub fn candidates(recs: &[Rec], cap: usize) -> Candidates {
    let mut all = Vec::new();
    let mut skipped = 0;
    let mut per_pass = Vec::new();
    for pass in DEDUP_PASSES.iter().map(|n| pass(n)) {
        let (p, s) = block(recs, pass, cap);
        per_pass.push((pass.name, p.len()));
        all.extend(p);
        skipped += s;
    }
    all.par_sort_unstable();
    all.dedup();
    Candidates {
        pairs: all,
        skipped,
        per_pass,
    }
}
