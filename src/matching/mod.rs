//! Duplicate detection and linking (`dup.in_province`, `dup.out_of_province`, `id.shared`,
//! `link.suggested`, and deaths registered without a usable ID), as functions over records'
//! features with no I/O; the drivers (`check`, `dedup`) call them in their own order.
//!
//! 1. [`features`] per record: folded name parts as hashes, dates, IDs, place.
//! 2. [`blocking`]: several passes of equal keys, so a true pair with one damaged field is
//!    still a candidate; no all-pairs step; oversized blocks are skipped and counted.
//! 3. [`comparisons`] and [`model`]: Fellegi–Sunter levels per field; u from random pairs, m
//!    and the prior by EM ([`training`]), term-frequency adjusted name agreement, a guard
//!    against twins.
//! 4. [`decide`]: pairs above the threshold are duplicates; records sharing a personal ID are
//!    judged without the ID itself — one person (duplicate) or two (`id.shared`).
//! 5. [`cluster`]: clusters without long chains of weak links, and the record to keep.
//! 6. [`link`]: extract rows without a usable ID, and deaths without a usable ID.

pub mod blocking;
pub mod cluster;
pub mod comparisons;
pub mod decide;
pub mod features;
pub mod link;
pub mod model;
pub mod saved;
pub mod training;

use crate::core::RowRef;
use crate::summary::{Levels, ModelSummary};
use comparisons::{COMPARISONS, N_FIELDS};
use model::Model;

/// A matched pair of resident records.
#[derive(Clone, Debug)]
pub struct Pair {
    pub a: RowRef,
    pub b: RowRef,
    pub probability: f64,
    /// Both records have the same residence province.
    pub in_province: bool,
    pub cluster: u32,
    /// Per-field agreement levels, e.g. `given=exact;birth=day_month_swapped;…` (shared by
    /// the pairs of one pattern: [`comparisons::Pattern::explained`]).
    pub levels: std::sync::Arc<str>,
    /// Not decided by comparing the two records but implied by their cluster: each is a
    /// duplicate of records the other is a duplicate of ([`cluster::implied_pairs`]).
    pub implied: bool,
}

/// A record of a duplicate cluster.
#[derive(Clone, Debug)]
pub struct ClusterMember {
    pub at: RowRef,
    pub cluster: u32,
    pub keep: bool,
}

/// A linked record matched to a resident.
#[derive(Clone, Debug)]
pub struct Link {
    pub at: RowRef,
    pub resident: u32,
    pub probability: f64,
}

/// What linking measured and did for one source, for the summary.
#[derive(Clone, Debug)]
pub struct LinkStats {
    pub source: String,
    /// Rows owed a link: no usable ID, or an ID whose resident has another name.
    pub rows_to_link: usize,
    pub linked: usize,
    /// ρ: the share of the source's well-formed IDs found among the residents.
    pub ids_found: f64,
    /// β: the share of rows with a resident's ID whose resident the passes propose without it
    /// (None when the source had nothing to link).
    pub candidate_recall: Option<f64>,
}

/// What matching found over the residents and the extracts.
#[derive(Default)]
pub struct MatchResult {
    pub pairs: Vec<Pair>,
    /// Pairs of residents for review (`dup.possible`).
    pub review: Vec<decide::ReviewPair>,
    pub clusters: Vec<ClusterMember>,
    pub links: Vec<Link>,
    /// Duplicate, shared-ID and link findings.
    pub findings: Vec<crate::core::Finding>,
    /// Pairs of records carrying one personal ID judged two people (`id.shared`), those of
    /// IDs carried by more records than one person has among them.
    pub id_shared_pairs: usize,
    /// Candidate pairs not compared because their block exceeded the size cap.
    pub blocks_skipped: usize,
    pub pairs_compared: usize,
    /// Candidate pairs proposed by each blocking pass, and by it alone.
    pub pairs_per_pass: Vec<blocking::PassCount>,
    /// The estimated model, for the summary.
    pub model: Option<ModelSummary>,
    /// How it was trained.
    pub training: training::TrainingReport,
    /// Per linked source (and deaths), what linking measured and did.
    pub linking: Vec<LinkStats>,
    /// Three duplicate pairs explained field by field (report's waterfall).
    pub examples: Vec<crate::summary::DuplicateExample>,
}

/// The model as the summary reports it (probabilities to six decimals).
pub fn summarise(model: &Model) -> ModelSummary {
    let table = |v: &[Vec<f64>; N_FIELDS]| -> Levels {
        COMPARISONS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.name.to_string(),
                    c.levels
                        .iter()
                        .zip(&v[i])
                        .map(|(l, x)| (l.to_string(), decide::round6(*x)))
                        .collect(),
                )
            })
            .collect()
    };
    ModelSummary {
        match_share_among_candidates: decide::round6(model.lambda),
        em_iterations: model.em_iterations,
        m: table(&model.m),
        u: table(&model.u),
    }
}

/// Three duplicate pairs — the most likely, the median and the least likely — with the weight
/// of the prior and of each compared field (for the report's waterfall). `rec` gives a
/// record's features (None: the pair is not explained), `record_id` its record_id. Ties are
/// broken by the pair's records, so any order of `pairs` gives the same examples.
pub fn explain_examples<'a>(
    pairs: &[Pair],
    rec: impl Fn(RowRef) -> Option<&'a features::Rec> + Sync,
    model: &Model,
    record_id: impl Fn(RowRef) -> String,
) -> Vec<crate::summary::DuplicateExample> {
    use rayon::prelude::*;
    // Pairs the plain model decided (a pair sharing an ID is judged with the prior of such
    // pairs, which this waterfall does not show), most likely first.
    let prior = model.prior_weight();
    type Explained = (usize, f64, Vec<(&'static str, &'static str, f64)>);
    let mut explained: Vec<Explained> = pairs
        .par_iter()
        .enumerate()
        .filter(|(_, p)| !p.implied)
        .filter_map(|(i, p)| {
            let (a, b) = (rec(p.a)?, rec(p.b)?);
            let fields = model.waterfall(&comparisons::compare(a, b), a);
            let total = prior + fields.iter().map(|f| f.2).sum::<f64>();
            let implied = 1.0 / (1.0 + (-total).exp2());
            ((implied - p.probability).abs() < 0.02).then_some((i, p.probability, fields))
        })
        .collect();
    if explained.is_empty() {
        return Vec::new();
    }
    let records = |i: usize| (pairs[i].a, pairs[i].b);
    explained.sort_by(|x, y| y.1.total_cmp(&x.1).then(records(x.0).cmp(&records(y.0))));
    let n = explained.len();
    let mut picks = vec![0, n / 2, n - 1];
    picks.dedup();
    picks
        .into_iter()
        .map(|k| {
            let (i, probability, fields) = &explained[k];
            let p = &pairs[*i];
            crate::summary::DuplicateExample {
                record_id_a: record_id(p.a),
                record_id_b: record_id(p.b),
                probability: *probability,
                prior_weight: (prior * 1000.0).round() / 1000.0,
                fields: fields
                    .iter()
                    .map(|&(f, l, w)| (f.to_string(), l.to_string(), (w * 1000.0).round() / 1000.0))
                    .collect(),
            }
        })
        .collect()
}
