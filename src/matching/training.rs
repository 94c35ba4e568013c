//! Training of the model by EM, as Splink and fastLink do it. Two ways, chosen by the data:
//!
//! - **identifiers**: when at least [`MIN_IDENTIFIER_PAIRS`] pairs of records share a personal
//!   ID or an old CMND, those pairs (mostly one person registered twice) teach the model how
//!   one person's records differ in every other field, one session per identifier, each
//!   leaving out the field its key fixes;
//! - **candidate pairs**: otherwise (a register without IDs, an extract of another system),
//!   one round per training blocking ([`TRAINING_BLOCKINGS`]: the same birth date; the same
//!   family and given name), each leaving out the fields its key fixes; the rounds' m are
//!   averaged per field, and the prior is the match share of the candidate pairs blocking
//!   proposed, under that m, scaled to all pairs.
//!
//! u always comes from random record pairs.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::blocking::{blocks, keyed, Candidates, Pass};
use super::comparisons::{compare, Field, Pattern, MISSING, N_FIELDS};
use super::features::Rec;
use super::model::{Model, NameCounts, Session};
use crate::core::hash::mix;

/// Below this many identifier-sharing pairs, the model trains on candidate pairs instead.
pub const MIN_IDENTIFIER_PAIRS: f64 = 1_000.0;

/// A round with fewer candidate pairs than this estimates nothing.
const MIN_ROUND_PAIRS: usize = 100;

/// About how many pairs the prior is estimated on (a quarter of them).
const ROUND_PAIRS: usize = 200_000;

/// How the model was trained, for the summary.
#[derive(Clone, Debug, Default)]
pub struct TrainingReport {
    /// `identifiers`, `candidate_pairs` or `none` (starting values).
    pub method: &'static str,
    pub rounds: Vec<RoundReport>,
    /// Why the model could not be trained, when it could not.
    pub warning: Option<String>,
    /// The namesake share measured on the candidate pairs ([`namesake_share`]), when the
    /// model trained on them.
    pub namesake_share: Option<f64>,
}

impl TrainingReport {
    /// As `summary.json` reports it.
    pub fn summary(&self) -> crate::summary::TrainingSummary {
        crate::summary::TrainingSummary {
            method: self.method.to_string(),
            reused_from: None,
            change_from_previous: None,
            rounds: self
                .rounds
                .iter()
                .map(|r| {
                    (
                        r.name.to_string(),
                        crate::summary::RoundSummary {
                            pairs: r.pairs,
                            match_share: r.match_share.map(|x| (x * 1e6).round() / 1e6),
                        },
                    )
                })
                .collect(),
            namesake_share: self.namesake_share.map(|x| (x * 1e6).round() / 1e6),
        }
    }
}

/// One training session or round.
#[derive(Clone, Debug)]
pub struct RoundReport {
    pub name: &'static str,
    /// Pairs compared for it.
    pub pairs: usize,
    /// The share of them EM took for one person (None when the round had too few pairs).
    pub match_share: Option<f64>,
}

/// Train the model of `n` records: `sample` is a uniform sample of them (all of them when they
/// fit in memory), `names` counts the names of all of them, `sessions` are the identifier
/// sessions ([`sessions`]) and `rounds` the candidate rounds ([`rounds`], over the sample's
/// candidate pairs, of which there are `candidates`).
pub fn train(
    sample: &[Rec],
    n: usize,
    names: &NameCounts,
    sessions: &[Session],
    rounds: &CandidateRounds,
) -> (Model, TrainingReport) {
    let identifier_pairs: f64 = sessions.iter().map(|s| s.total_pairs).sum();
    if identifier_pairs >= MIN_IDENTIFIER_PAIRS {
        let (model, fits) = Model::fit(sample, n, names, sessions);
        let report = TrainingReport {
            method: "identifiers",
            rounds: TRAINING_KEYS
                .iter()
                .zip(sessions)
                .zip(fits)
                .map(|((k, s), f)| RoundReport {
                    name: k.name,
                    pairs: s.patterns.values().sum::<u64>() as usize,
                    match_share: f.map(|f| f.match_share),
                })
                .collect(),
            warning: None,
            namesake_share: None,
        };
        return (model, report);
    }
    let pairs_of = |s: &Session| s.patterns.values().sum::<u64>() as usize;
    let used: Vec<usize> = (0..rounds.sessions.len())
        .filter(|&i| pairs_of(&rounds.sessions[i]) >= MIN_ROUND_PAIRS)
        .collect();
    let owned: Vec<Session> = used.iter().map(|&i| rounds.sessions[i].clone()).collect();
    let (model, fits) = Model::fit_anchored(sample, n, names, &owned);
    let mut shares = vec![None; rounds.sessions.len()];
    for (&i, f) in used.iter().zip(fits) {
        shares[i] = f.map(|f| f.match_share);
    }
    let reports: Vec<RoundReport> = rounds
        .sessions
        .iter()
        .zip(&rounds.names)
        .zip(shares)
        .map(|((s, name), match_share)| RoundReport {
            name,
            pairs: pairs_of(s),
            match_share,
        })
        .collect();
    if owned.is_empty() {
        let report = TrainingReport {
            method: "none",
            rounds: reports,
            warning: Some(format!(
                "the matching model could not be trained: {} pairs of records share a personal ID or CMND (at least {MIN_IDENTIFIER_PAIRS:.0} are needed) and no blocking pass proposed {MIN_ROUND_PAIRS} candidate pairs; duplicates were judged with starting values",
                // A sum of no pairs can be -0.0.
                identifier_pairs.max(0.0).round() as u64
            )),
            namesake_share: None,
        };
        return (model, report);
    }
    let (mut model, _) =
        model.with_prior_from(&rounds.all, rounds.candidates as f64, rounds.records);
    model.namesake_share = namesake_share(&model, rounds);
    // Rounds on a sample of the register: matches grow with the records, pairs with their
    // square, so the prior of all n records is the sample's scaled by their ratio.
    if rounds.records > 1 && n > rounds.records {
        model.lambda *= (rounds.records - 1) as f64 / (n - 1) as f64;
    }
    let report = TrainingReport {
        method: "candidate_pairs",
        rounds: reports,
        warning: None,
        namesake_share: Some(model.namesake_share),
    };
    (model, report)
}

/// Fewer sampled pairs than this agreeing on name and date with parents on both records
/// measure no namesake share.
const MIN_NAMESAKE_PAIRS: f64 = 30.0;

/// Of the candidate pairs that agree on the whole name (family, middle and given name) and on
/// the birth date and share no document (no ID or CMND either way, not one address), the
/// share that are two people. It is measured where both records name parents: parents come
/// from the birth certificate, so namesakes name other parents and one person's records name
/// the same ones (but for a typo in both names: the model's m of "different", taken out).
/// Whether a record names its parents has nothing to do with whether it has a namesake, so
/// the share holds for the pairs where one record names none — which nothing else then tells
/// apart. A register with few namesakes (most such pairs name the same parents) measures
/// near 0; one where common names born on one day are many (a large province, or a register
/// drawn from one) measures far more. 0 when fewer than [`MIN_NAMESAKE_PAIRS`] were seen.
pub fn namesake_share(model: &Model, rounds: &CandidateRounds) -> f64 {
    let different = Field::Parents.level("different");
    let (mut other, mut all) = (0.0, 0.0);
    for (p, &c) in &rounds.all {
        if name_and_date_alone(p) && p[Field::Parents] != MISSING {
            all += c as f64;
            if p[Field::Parents] == different {
                other += c as f64;
            }
        }
    }
    let stride = rounds.candidates.div_ceil(4 * ROUND_PAIRS).max(1) as f64;
    if all / stride < MIN_NAMESAKE_PAIRS {
        return 0.0;
    }
    let typo = model.m[Field::Parents.index()][different as usize];
    ((other / all - typo) / (1.0 - typo)).clamp(0.0, 1.0)
}

/// A pair that agrees on the whole name and on the birth date and has nothing else that says
/// one person or two: no ID or CMND compared, not one address written the same way.
fn name_and_date_alone(p: &Pattern) -> bool {
    names_equal(p)
        && p[Field::Birth] == Field::Birth.level("exact")
        && p[Field::Pid] == MISSING
        && p[Field::Cmnd] == MISSING
        && p[Field::IdTypo] != Field::IdTypo.level("within_one_edit")
        && p[Field::Address] != Field::Address.level("exact")
}

/// Family, middle and given name the same, written the same way.
pub fn names_equal(p: &Pattern) -> bool {
    p[Field::Given] == Field::Given.level("exact")
        && p[Field::Family] == Field::Family.level("exact")
        && p[Field::Middle] == Field::Middle.level("exact")
}

/// Candidate pairs grouped for training: one session per training blocking (its pairs, the
/// fields its key fixes masked), and the patterns of all candidate pairs for the prior.
pub struct CandidateRounds {
    pub names: Vec<&'static str>,
    pub sessions: Vec<Session>,
    pub all: BTreeMap<Pattern, u64>,
    /// Candidate pairs in all, and the records they were proposed among.
    pub candidates: usize,
    pub records: usize,
}

impl CandidateRounds {
    /// No rounds (the identifier sessions are enough).
    pub fn none() -> Self {
        CandidateRounds {
            names: Vec::new(),
            sessions: Vec::new(),
            all: BTreeMap::new(),
            candidates: 0,
            records: 0,
        }
    }
}

/// The training blockings used without identifiers (Splink's recipe): pairs born on the same
/// day teach how one person's names, place and parents vary; pairs with the same family and
/// given name teach how the birth date, the middle name and the place vary. Neither blocking
/// is a deduplication pass: blocks are sampled, not compared whole.
pub const TRAINING_BLOCKINGS: [TrainingKey; 2] = [
    TrainingKey {
        name: "birth_date",
        key: |r| {
            if r.birth.is_full() {
                mix(&[
                    21,
                    r.birth.year as u64,
                    r.birth.month as u64,
                    r.birth.day as u64,
                ])
            } else {
                0
            }
        },
        fixed: &[Field::Birth],
    },
    TrainingKey {
        name: "family+given",
        key: |r| {
            if r.family != 0 && r.given != 0 {
                mix(&[22, r.family, r.given])
            } else {
                0
            }
        },
        fixed: &[Field::Family, Field::Given],
    },
];

/// The training rounds of `recs` without identifiers: one per [`TRAINING_BLOCKINGS`] (blocks
/// of at most 200 records, sampled by block), and the patterns of every k-th candidate pair
/// for the prior. Pairs of one household are left out of the rounds: twins and siblings share
/// a birth date, a family name and parents, and EM would learn "one family" for "one person"
/// (a person registered twice is almost always in two households).
pub fn rounds(recs: &[Rec], cands: &Candidates) -> CandidateRounds {
    let mut names = Vec::new();
    let mut sessions = Vec::new();
    for t in &TRAINING_BLOCKINGS {
        let keyed = keyed(recs, t.key);
        names.push(t.name);
        sessions.push(session_of(
            &blocks(&keyed),
            &|row| &recs[row as usize],
            t.fixes(),
            true,
        ));
    }
    let stride = cands.pairs.len().div_ceil(4 * ROUND_PAIRS).max(1);
    let patterns: Vec<Pattern> = cands
        .pairs
        .par_iter()
        .step_by(stride)
        .map(|&(a, b)| compare(&recs[a as usize], &recs[b as usize]))
        .collect();
    let mut all: BTreeMap<Pattern, u64> = BTreeMap::new();
    for p in patterns {
        *all.entry(p).or_default() += stride as u64;
    }
    CandidateRounds {
        names,
        sessions,
        all,
        candidates: cands.pairs.len(),
        records: recs.len(),
    }
}

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
    session_of(groups, rec, blocked, false)
}

/// [`session`], leaving out pairs of one household when `apart` (see [`rounds`]).
fn session_of<'r>(
    groups: &[&[(u64, u32)]],
    rec: &(dyn Fn(u32) -> &'r Rec + Sync),
    blocked: [bool; N_FIELDS],
    apart: bool,
) -> Session {
    let (total_pairs, keep_every) = training_stride(groups);
    let patterns: Vec<Pattern> = groups
        .par_iter()
        .filter(|g| sampled_for_training(g, keep_every))
        .flat_map_iter(|g| {
            g.iter().enumerate().flat_map(move |(x, a)| {
                g[x + 1..]
                    .iter()
                    .filter(move |b| {
                        let (ra, rb) = (rec(a.1), rec(b.1));
                        !(apart && ra.household != 0 && ra.household == rb.household)
                    })
                    .map(move |b| compare(rec(a.1), rec(b.1)))
            })
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
        // Pairs that share a name and are two people (namesakes) share a middle name, a sex, a
        // place more often than random pairs: their u is estimated in the round. Pairs born
        // the same day are strangers like any others: the random pairs' u holds.
        free_u: apart && blocked[Field::Given.index()],
        candidates: apart,
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
