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
    /// Per-field agreement levels, e.g. `given=exact;birth=day_month_swapped;…`.
    pub levels: String,
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
