//! Training of the model's m probabilities by EM: sessions of record pairs that share an
//! identifier, each leaving out the field its key fixes.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::blocking::{blocks, keyed, Pass};
use super::comparisons::{compare, Field, Pattern, N_FIELDS};
use super::features::Rec;
use super::model::Session;
use crate::core::hash::mix;

/// Upper bound on the pairs one training session compares.
const TRAINING_PAIRS: usize = 2_000_000;

/// The EM training sessions. Records that share an identifier are mostly one person
/// registered twice (and sometimes two people sharing one ID, which EM separates), so the
/// pairs sharing a personal ID, and those sharing an old CMND, teach the model how one person's
/// two records differ in every other field. A session does not estimate the field its key
/// fixes. Blocking on names or dates instead would teach it how strangers with one name, or
/// siblings born on one day, differ.
pub fn sessions(recs: &[Rec]) -> Vec<Session> {
    TRAINING_KEYS
        .iter()
        .map(|k| {
            let keyed = keyed(recs, k.key);
            session(&blocks(&keyed), &|row| &recs[row as usize], k.fixes())
        })
        .collect()
}

/// The key of a training session and the fields it fixes (which the session does not
/// estimate).
pub struct TrainingKey {
    pub name: &'static str,
    pub key: Pass,
    pub fixed: &'static [Field],
}

impl TrainingKey {
    /// Per field, whether this key fixes it.
    pub fn fixes(&self) -> [bool; N_FIELDS] {
        std::array::from_fn(|i| self.fixed.contains(&Field::ALL[i]))
    }
}

/// The training sessions' keys: records sharing a personal ID, records sharing an old CMND.
/// The first gives the prior of records sharing an ID.
pub const TRAINING_KEYS: [TrainingKey; 2] = [
    TrainingKey {
        name: "personal_id",
        key: |r| if r.pid != 0 { mix(&[11, r.pid]) } else { 0 },
        fixed: &[Field::Pid],
    },
    TrainingKey {
        name: "old_id",
        key: |r| if r.cmnd != 0 { mix(&[12, r.cmnd]) } else { 0 },
        fixed: &[Field::Cmnd],
    },
];

/// A training session from the blocks of one key: whole blocks are sampled (by key) to
/// bound the work. `rec` gives the features of a row.
pub fn session<'r>(
    groups: &[&[(u64, u32)]],
    rec: &(dyn Fn(u32) -> &'r Rec + Sync),
    blocked: [bool; N_FIELDS],
) -> Session {
    let (total_pairs, keep_every) = training_stride(groups);
    let patterns: Vec<Pattern> = groups
        .par_iter()
        .filter(|g| sampled_for_training(g, keep_every))
        .flat_map_iter(|g| {
            g.iter()
                .enumerate()
                .flat_map(move |(x, a)| g[x + 1..].iter().map(move |b| compare(rec(a.1), rec(b.1))))
        })
        .collect();
    let mut counts: BTreeMap<Pattern, u64> = BTreeMap::new();
    for p in patterns {
        *counts.entry(p).or_default() += 1;
    }
    Session {
        patterns: counts,
        blocked,
        total_pairs,
    }
}

/// Every `keep_every`-th block (by key) of at most 200 records is compared for training.
pub fn sampled_for_training(g: &[(u64, u32)], keep_every: u64) -> bool {
    g[0].0 % keep_every == 0 && g.len() <= 200
}

/// The pairs a training session's blocks hold, and the stride of the blocks it samples.
pub fn training_stride(groups: &[&[(u64, u32)]]) -> (f64, u64) {
    let total_pairs: f64 = groups
        .iter()
        .map(|g| (g.len() * (g.len() - 1) / 2) as f64)
        .sum();
    let keep_every = ((total_pairs / TRAINING_PAIRS as f64).ceil() as u64).max(1);
    (total_pairs, keep_every)
}
