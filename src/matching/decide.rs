//! Decisions on compared pairs: a duplicate (one person registered twice), two people sharing
//! one personal ID, or nothing; the findings each gives; and the order pairs are written in.
//! Every driver decides through [`judge`].

use rayon::prelude::*;

use super::comparisons::{compare, Pattern};
use super::features::Rec;
use super::model::Model;
use super::Pair;
use crate::core::{Finding, RowRef, Rule};
use crate::ids::id_string;

/// What a candidate pair is.
pub enum Decision {
    /// One person registered twice, with this probability.
    Duplicate(f64),
    /// Two people carrying one well-formed personal ID (`id.shared`).
    Shared,
    None,
}

/// Decide a compared pair; each record comes with whether its personal ID is valid.
pub fn decide(
    model: &Model,
    threshold: f64,
    p: &Pattern,
    (ra, valid_a): (&Rec, bool),
    (rb, valid_b): (&Rec, bool),
) -> Decision {
    let full = model.probability(p, ra, rb, true);
    // Two records carrying one well-formed ID: one person, or two sharing the ID?
    let shared_id = ra.pid != 0 && ra.pid == rb.pid && valid_a && valid_b;
    if shared_id {
        let without = model.probability_sharing_id(p, ra, rb);
        if without >= 0.5 {
            Decision::Duplicate(full.max(without))
        } else {
            Decision::Shared
        }
    } else if full >= threshold && ra.has_name() && rb.has_name() {
        Decision::Duplicate(full)
    } else {
        Decision::None
    }
}

/// The decided pairs of a set of candidates.
#[derive(Default)]
pub struct Judged {
    /// Duplicate pairs (cluster 0), in candidate order.
    pub pairs: Vec<Pair>,
    /// (row, row, personal ID) of two people sharing one ID.
    pub shared: Vec<(u32, u32, u64)>,
}

impl Judged {
    pub fn extend(&mut self, other: Judged) {
        self.pairs.extend(other.pairs);
        self.shared.extend(other.shared);
    }
}

/// Compare and decide candidate pairs given as local indices: `get` gives a record's features,
/// whether its personal ID is valid and its residence province; `row` its row in the register.
/// Each pair is compared in register order (lower row first). Only decided pairs are kept: a
/// slot per candidate (88 bytes) was 2.6 GB for the 30 M candidates of one national unit.
pub fn judge<'r>(
    model: &Model,
    threshold: f64,
    cands: &[(u32, u32)],
    get: &(dyn Fn(u32) -> (&'r Rec, bool) + Sync),
    row: &(dyn Fn(u32) -> u32 + Sync),
) -> Judged {
    type One = std::result::Result<Pair, (u32, u32, u64)>;
    let judged: Vec<One> = cands
        .par_iter()
        .with_min_len(1024)
        .filter_map(|&(x, y)| {
            let (a, b) = if row(x) < row(y) { (x, y) } else { (y, x) };
            let (ra, va) = get(a);
            let (rb, vb) = get(b);
            let p = compare(ra, rb);
            match decide(model, threshold, &p, (ra, va), (rb, vb)) {
                Decision::Duplicate(prob) => Some(Ok(Pair {
                    a: RowRef::resident(row(a)),
                    b: RowRef::resident(row(b)),
                    probability: round6(prob),
                    in_province: ra.province == rb.province,
                    cluster: 0,
                    levels: p.explain(),
                })),
                Decision::Shared => Some(Err((row(a), row(b), ra.pid))),
                Decision::None => None,
            }
        })
        .collect();
    let mut out = Judged::default();
    for j in judged {
        match j {
            Ok(p) => out.pairs.push(p),
            Err(s) => out.shared.push(s),
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

/// The findings of a duplicate pair: one on each record, pointing to the other.
pub fn duplicate_findings(p: &Pair) -> [Finding; 2] {
    let rule = if p.in_province {
        Rule::DupInProvince
    } else {
        Rule::DupOutOfProvince
    };
    let value = format!("xác suất {:.3}", p.probability);
    [(p.a, p.b), (p.b, p.a)].map(|(x, y)| {
        Finding::record(x, rule)
            .value(value.clone())
            .related(y, Some(p.probability))
    })
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
