//! Decisions on compared pairs: a duplicate (one person registered twice), two people sharing
//! one personal ID, or nothing; the findings each gives; and the order pairs are written in.
//! Every driver decides through [`judge`].

use rayon::prelude::*;

use super::comparisons::{compare, shares_document, Field, Pattern, MISSING};
use super::features::Rec;
use super::model::Model;
use super::training::names_equal;
use super::Pair;
use crate::core::{Finding, RowRef, Rule};
use crate::ids::id_string;

/// What a candidate pair is.
pub enum Decision {
    /// One person registered twice, with this probability.
    Duplicate(f64),
    /// Perhaps one person: for a person to look at (`dup.possible`), not a duplicate.
    Review(f64, Doubt),
    /// Two people carrying one well-formed personal ID (`id.shared`).
    Shared,
    None,
}

/// Why a pair goes to review rather than to the duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doubt {
    /// Its probability is between the review threshold and the match threshold.
    BelowThreshold,
    /// It rests on a name common enough to have namesakes born the same day, and the two
    /// records carry two different valid personal IDs with nothing else to say they are one
    /// person (no parent, no CMND in common).
    CommonNameOtherId,
    /// Two of sex, parents and valid personal ID contradict each other.
    Contradictions,
    /// It rests on a common name and a birth date alone: no ID, CMND or parent in common.
    CommonNameNoEvidence,
    /// The two records name other parents, and no ID or CMND says they are one person.
    ParentsDiffer,
    /// An extract row fits two or more residents (`link.ambiguous`).
    SeveralResidents,
    /// The two records name no parents in common, but each belongs with records naming other
    /// parents than the other's: two namesakes' records ([`super::cluster::cluster_kin`]).
    FamiliesDiffer,
}

impl Doubt {
    /// The review rule: `link.ambiguous` for a row that fits several residents, else
    /// `dup.possible`.
    pub fn rule(self) -> Rule {
        match self {
            Doubt::SeveralResidents => Rule::LinkAmbiguous,
            _ => Rule::DupPossible,
        }
    }

    /// Why, in Vietnamese, for the fix lists and review.parquet.
    pub fn note_vi(self) -> &'static str {
        match self {
            Doubt::BelowThreshold => "xác suất trùng dưới ngưỡng: cần xác minh",
            Doubt::CommonNameOtherId => {
                "họ tên phổ biến, cùng ngày sinh nhưng hai số định danh khác nhau: có thể là hai người"
            }
            Doubt::Contradictions => {
                "khác nhau ở hai trong ba: giới tính, cha mẹ, số định danh: có thể là hai người"
            }
            Doubt::CommonNameNoEvidence => {
                "chỉ trùng họ tên phổ biến và ngày sinh, không có giấy tờ hay cha mẹ chung: có thể là hai người"
            }
            Doubt::ParentsDiffer => {
                "ghi tên cha mẹ khác nhau, không có giấy tờ chung: có thể là hai người trùng tên"
            }
            Doubt::SeveralResidents => "khớp với nhiều người trong dữ liệu dân cư: cần xác minh",
            Doubt::FamiliesDiffer => {
                "mỗi bản ghi trùng với các bản ghi khác ghi tên cha mẹ khác nhau: có thể là hai người trùng tên"
            }
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Doubt::BelowThreshold => "below_threshold",
            Doubt::CommonNameOtherId => "common_name_other_id",
            Doubt::Contradictions => "contradictions",
            Doubt::CommonNameNoEvidence => "common_name_no_evidence",
            Doubt::ParentsDiffer => "parents_differ",
            Doubt::SeveralResidents => "several_residents",
            Doubt::FamiliesDiffer => "families_differ",
        }
    }
}

/// The population two records with different valid IDs are judged at: a common name's
/// namesakes are counted as in a province of at least this many people (the average province
/// after the 2025 reorganisation: about 100 M people in 34 provinces), so a sample or a
/// small extract is judged as the province it comes from would be.
pub const REFERENCE_POPULATION: f64 = 3_000_000.0;

/// A name whose expected namesakes born the same day reach this is common (see
/// [`Model::namesakes_expected`]).
const COMMON_NAME: f64 = 0.01;

/// How pairs are decided: the model and the thresholds.
#[derive(Clone, Copy)]
pub struct Judge<'m> {
    pub model: &'m Model,
    pub threshold: f64,
    pub review: f64,
    /// Records in the register (namesakes are counted in a population of at least
    /// [`REFERENCE_POPULATION`]).
    pub records: usize,
}

impl Judge<'_> {
    /// Decide a compared pair; each record comes with whether its personal ID is valid.
    pub fn decide(
        &self,
        p: &Pattern,
        (ra, valid_a): (&Rec, bool),
        (rb, valid_b): (&Rec, bool),
    ) -> Decision {
        let model = self.model;
        let full = model.probability(p, ra, rb, true);
        // Two records carrying one well-formed ID: one person, or two sharing the ID?
        let shared_id = ra.pid != 0 && ra.pid == rb.pid && valid_a && valid_b;
        if shared_id {
            let without = model.probability_sharing_id(p, ra, rb);
            // Nothing of the name in common, even crossed over (a given name written as the
            // family name): two people, whatever else agrees.
            let unrelated = p[Field::Given] == Field::Given.level("different")
                && p[Field::Family] == Field::Family.level("different")
                && !crate::matching::comparisons::names_cross(ra, rb);
            return if without >= 0.5 && !unrelated {
                Decision::Duplicate(full.max(without))
            } else {
                Decision::Shared
            };
        }
        if full < self.review || !ra.has_name() || !rb.has_name() || parent_and_child(ra, rb) {
            return Decision::None;
        }
        let other_ids = valid_a && valid_b && p[Field::Pid] == Field::Pid.level("different");
        let parents = p[Field::Parents];
        let parents_differ = parents == Field::Parents.level("different");
        let sexes_differ = p[Field::Sex] == Field::Sex.level("disagree");
        if other_ids as u8 + parents_differ as u8 + sexes_differ as u8 >= 2 {
            return Decision::Review(full, Doubt::Contradictions);
        }
        // Evidence of one person beyond name, date and place: a document in common (an ID or
        // CMND, an ID one keystroke from the other), parents in common, or the same address
        // written the same way in two households (within one, or between children of one
        // parent, the address is not compared): namesakes born the same day do not live at
        // one address.
        let identified = parents == Field::Parents.level("both_equal")
            || parents == Field::Parents.level("one_equal")
            || p[Field::Address] == Field::Address.level("exact")
            || shares_document(p);
        // Parents' names come from the birth certificate: records naming other parents are two
        // namesakes unless an ID says otherwise (among one person's records, other parents are a
        // typo in both names, rarer than namesakes born the same day in one commune).
        if parents_differ && !identified {
            return Decision::Review(full, Doubt::ParentsDiffer);
        }
        // Nothing but the name and the date, in a register where most pairs agreeing on both
        // are two people wherever their parents can be compared: the same odds hold where
        // they cannot (one record names none).
        if !identified
            && !other_ids
            && parents == MISSING
            && names_equal(p)
            && model.namesake_share >= 0.5
        {
            return Decision::Review(full, Doubt::CommonNameNoEvidence);
        }
        if !identified {
            // Two valid IDs that differ: judged as the province would be (a sample of it must
            // not make a common name look rare). No ID at all: as the register itself is.
            let population = if other_ids {
                (self.records as f64).max(REFERENCE_POPULATION)
            } else {
                self.records as f64
            };
            if model.namesakes_expected(ra, population) >= COMMON_NAME {
                let doubt = if other_ids {
                    Doubt::CommonNameOtherId
                } else {
                    Doubt::CommonNameNoEvidence
                };
                return Decision::Review(full, doubt);
            }
        }
        if full >= self.threshold {
            Decision::Duplicate(full)
        } else {
            Decision::Review(full, Doubt::BelowThreshold)
        }
    }
}

/// One record names the other's person as its father or mother (and the two do not name the
/// same parents): a parent and the child named after them, two people.
fn parent_and_child(a: &Rec, b: &Rec) -> bool {
    let names = |child: &Rec, parent: &Rec| {
        let full = super::features::h32(parent.full);
        (child.father != 0 && child.father == full && child.father != parent.father)
            || (child.mother != 0 && child.mother == full && child.mother != parent.mother)
    };
    names(a, b) || names(b, a)
}

/// A pair held back for review.
#[derive(Clone, Debug)]
pub struct ReviewPair {
    pub pair: Pair,
    pub doubt: Doubt,
}

/// The decided pairs of a set of candidates.
#[derive(Default)]
pub struct Judged {
    /// Duplicate pairs (cluster 0), in candidate order.
    pub pairs: Vec<Pair>,
    /// Pairs for review, in candidate order.
    pub review: Vec<ReviewPair>,
    /// (row, row, personal ID) of two people sharing one ID.
    pub shared: Vec<(u32, u32, u64)>,
    /// (row, father, mother) of the records of duplicate pairs that name a parent (hashes of
    /// folded names), for clustering ([`super::cluster::cluster_kin`]).
    pub kin: Vec<(u32, u32, u32)>,
}

impl Judged {
    pub fn extend(&mut self, other: Judged) {
        self.pairs.extend(other.pairs);
        self.review.extend(other.review);
        self.shared.extend(other.shared);
        self.kin.extend(other.kin);
    }

    /// The father and mother each row of a duplicate pair names (0 when none).
    pub fn parents(&self) -> impl Fn(u32) -> (u32, u32) + use<> {
        let by_row: std::collections::HashMap<u32, (u32, u32)> =
            self.kin.iter().map(|&(r, f, m)| (r, (f, m))).collect();
        move |r| by_row.get(&r).copied().unwrap_or((0, 0))
    }

    /// Each pair once (the first of those judged more than once: they are alike, judged on
    /// the same two records).
    pub fn keep_once(&mut self) {
        let mut seen = std::collections::HashSet::new();
        self.pairs.retain(|p| seen.insert((p.a, p.b)));
        seen.clear();
        self.review.retain(|r| seen.insert((r.pair.a, r.pair.b)));
        let mut seen = std::collections::HashSet::new();
        self.shared.retain(|s| seen.insert(*s));
        self.kin.sort_unstable();
        self.kin.dedup();
    }
}

/// Compare and decide candidate pairs given as local indices: `get` gives a record's features,
/// whether its personal ID is valid and its residence province; `row` its row in the register.
/// Each pair is compared in register order (lower row first). Only decided pairs are kept: a
/// slot per candidate (88 bytes) was 2.6 GB for the 30 M candidates of one national unit.
pub fn judge<'r>(
    judge: &Judge,
    cands: &[(u32, u32)],
    get: &(dyn Fn(u32) -> (&'r Rec, bool) + Sync),
    row: &(dyn Fn(u32) -> u32 + Sync),
) -> Judged {
    enum One {
        Pair(Pair, [(u32, u32, u32); 2]),
        Review(ReviewPair),
        Shared((u32, u32, u64)),
    }
    let judged: Vec<One> = cands
        .par_iter()
        .with_min_len(1024)
        .filter_map(|&(x, y)| {
            let (a, b) = if row(x) < row(y) { (x, y) } else { (y, x) };
            let (ra, va) = get(a);
            let (rb, vb) = get(b);
            let p = compare(ra, rb);
            let pair = |prob: f64| Pair {
                a: RowRef::resident(row(a)),
                b: RowRef::resident(row(b)),
                probability: round6(prob),
                in_province: ra.province == rb.province,
                cluster: 0,
                levels: p.explained(),
                implied: false,
            };
            match judge.decide(&p, (ra, va), (rb, vb)) {
                Decision::Duplicate(prob) => Some(One::Pair(
                    pair(prob),
                    [
                        (row(a), ra.father, ra.mother),
                        (row(b), rb.father, rb.mother),
                    ],
                )),
                Decision::Review(prob, doubt) => Some(One::Review(ReviewPair {
                    pair: pair(prob),
                    doubt,
                })),
                Decision::Shared => Some(One::Shared((row(a), row(b), ra.pid))),
                Decision::None => None,
            }
        })
        .collect();
    let mut out = Judged::default();
    for j in judged {
        match j {
            One::Pair(p, kin) => {
                out.pairs.push(p);
                out.kin
                    .extend(kin.into_iter().filter(|&(_, f, m)| f != 0 || m != 0));
            }
            One::Review(r) => out.review.push(r),
            One::Shared(s) => out.shared.push(s),
        }
    }
    out
}

/// A probability as written in outputs (six decimals).
pub fn round6(p: f64) -> f64 {
    (p * 1e6).round() / 1e6
}

/// Put each pair's records in record_id order (a before b) and the pairs in order of their
/// record_ids, so outputs do not depend on row order or thread count.
pub fn order_pairs<'t>(pairs: &mut [Pair], record_id: impl Fn(RowRef) -> &'t str + Sync) {
    for p in pairs.iter_mut() {
        if record_id(p.a) > record_id(p.b) {
            std::mem::swap(&mut p.a, &mut p.b);
        }
    }
    pairs.par_sort_by(|x, y| {
        (record_id(x.a), record_id(x.b)).cmp(&(record_id(y.a), record_id(y.b)))
    });
}

/// [`order_pairs`] for pairs held back for review.
pub fn order_review<'t>(review: &mut [ReviewPair], record_id: impl Fn(RowRef) -> &'t str + Sync) {
    for r in review.iter_mut() {
        let p = &mut r.pair;
        if record_id(p.a) > record_id(p.b) {
            std::mem::swap(&mut p.a, &mut p.b);
        }
    }
    review.par_sort_by(|x, y| {
        (record_id(x.pair.a), record_id(x.pair.b)).cmp(&(record_id(y.pair.a), record_id(y.pair.b)))
    });
}

/// The findings of a duplicate pair: one on each record, pointing to the other.
pub fn duplicate_findings(p: &Pair) -> [Finding; 2] {
    let rule = if p.in_province {
        Rule::DupInProvince
    } else {
        Rule::DupOutOfProvince
    };
    let value = format!("xác suất {:.3}", p.probability);
    [(p.a, p.b), (p.b, p.a)].map(|(x, y)| {
        let f = Finding::record(x, rule)
            .value(value.clone())
            .related(y, Some(p.probability));
        if p.implied {
            f.note(IMPLIED_NOTE)
        } else {
            f
        }
    })
}

/// The note of a pair its cluster implies (not compared on its own).
pub const IMPLIED_NOTE: &str =
    "cùng một người qua các bản ghi trùng khác của cụm (xác suất: mối nối yếu nhất)";

/// The findings of a pair for review: one on each record, pointing to the other.
pub fn review_findings(r: &ReviewPair) -> [Finding; 2] {
    let p = &r.pair;
    let value = format!("xác suất {:.3}", p.probability);
    [(p.a, p.b), (p.b, p.a)].map(|(x, y)| {
        Finding::record(x, Rule::DupPossible)
            .value(value.clone())
            .related(y, Some(p.probability))
            .note(r.doubt.note_vi())
    })
}

/// The findings of an ID carried by more than [`CROWDED_ID`](super::blocking::CROWDED_ID)
/// resident records: one per record ("this ID is carried by N records"), pointing to the
/// group's first record (the second, for the first), instead of one per pair.
pub fn crowded_id_findings(rows: &[u32], pid: u64) -> Vec<Finding> {
    let id = id_string(pid);
    let note = format!(
        "số định danh này được dùng cho {} bản ghi dân cư: cần xác minh từng người",
        rows.len()
    );
    rows.iter()
        .map(|&r| {
            let other = if r == rows[0] { rows[1] } else { rows[0] };
            Finding::on(
                RowRef::resident(r),
                Rule::IdShared,
                crate::core::Column::PersonalId,
            )
            .value(id.clone())
            .related(RowRef::resident(other), None)
            .note(note.clone())
        })
        .collect()
}

/// The findings of two residents who carry one personal ID but are two people.
pub fn shared_findings(a: u32, b: u32, pid: u64) -> [Finding; 2] {
    let id = id_string(pid);
    [(a, b), (b, a)].map(|(x, y)| {
        Finding::on(
            RowRef::resident(x),
            Rule::IdShared,
            crate::core::Column::PersonalId,
        )
        .value(id.clone())
        .related(RowRef::resident(y), None)
        .note("cùng số định danh nhưng là hai người khác nhau")
    })
}
