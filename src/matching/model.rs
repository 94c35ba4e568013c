//! The Fellegi–Sunter model: comparison levels per field, u probabilities estimated from
//! random record pairs, m probabilities and the match prior estimated by EM on the candidate
//! pairs (as Splink and fastLink do), and term-frequency adjustment on name agreement so that
//! sharing "Nguyễn" or "Văn" counts for little and sharing a rare given name counts for much.

use std::collections::BTreeMap;

use crate::core::hash::{KeyMap, KeySet};

use rayon::prelude::*;

use super::comparisons::{
    compare, siblings, Field, Pattern, TermFrequency, COMPARISONS, MISSING, N_FIELDS,
};
use super::features::Rec;
use crate::rng::Rng;

/// Estimated parameters.
#[derive(Clone, Debug)]
pub struct Model {
    /// P(level | match), estimated by EM on the candidate pairs.
    pub m: [Vec<f64>; N_FIELDS],
    /// P(level | non-match): level frequencies among random record pairs.
    pub u: [Vec<f64>; N_FIELDS],
    /// P(level) for two random records: the population baseline of term-frequency adjustment.
    pub u_random: [Vec<f64>; N_FIELDS],
    /// Probability that two random records are one person.
    pub lambda: f64,
    /// Probability that two records sharing a personal ID are one person.
    pub lambda_shared_id: f64,
    /// Term frequencies of folded given and family names.
    pub tf_given: KeyMap<f64>,
    pub tf_family: KeyMap<f64>,
    /// Term frequencies of folded middle names ("" counts as one).
    pub tf_middle: KeyMap<f64>,
    pub em_iterations: usize,
    /// The records the model was estimated on (the prior is for pairs of that many).
    pub records: usize,
    /// Of the candidate pairs that agree on the whole name and the birth date and share no
    /// document, the share that are two people (namesakes), measured on those where both
    /// records name parents ([`super::training::namesake_share`]); 0 when it was not measured.
    pub namesake_share: f64,
}

fn empty_levels() -> [Vec<f64>; N_FIELDS] {
    std::array::from_fn(|i| vec![0.0; COMPARISONS[i].levels.len()])
}

/// Starting m probabilities: a match mostly agrees, and the closer levels are likelier.
fn initial_m() -> [Vec<f64>; N_FIELDS] {
    let mut m = empty_levels();
    for levels in m.iter_mut() {
        let n = levels.len();
        let mut total = 0.0;
        for (l, v) in levels.iter_mut().enumerate() {
            *v = if l == 0 {
                0.9
            } else if l + 1 == n {
                0.02
            } else {
                0.1
            };
            total += *v;
        }
        for v in levels.iter_mut() {
            *v /= total;
        }
    }
    m
}

/// How often each folded given name and family name occurs, counted over records (added
/// chunk by chunk when the records do not fit in memory at once).
#[derive(Default, Clone)]
pub struct NameCounts {
    pub given: KeyMap<u64>,
    pub family: KeyMap<u64>,
    pub middle: KeyMap<u64>,
}

impl NameCounts {
    pub fn of(recs: &[Rec]) -> NameCounts {
        recs.par_chunks(64 * 1024)
            .map(|chunk| {
                let mut c = NameCounts::default();
                for r in chunk {
                    c.add(r);
                }
                c
            })
            .reduce(NameCounts::default, |mut a, b| {
                a.merge(b);
                a
            })
    }

    pub fn add(&mut self, r: &Rec) {
        if r.given != 0 {
            *self.given.entry(r.given).or_default() += 1;
        }
        if r.family != 0 {
            *self.family.entry(r.family).or_default() += 1;
        }
        if r.given != 0 {
            *self.middle.entry(r.middle).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: NameCounts) {
        for (k, v) in other.given {
            *self.given.entry(k).or_default() += v;
        }
        for (k, v) in other.family {
            *self.family.entry(k).or_default() += v;
        }
        for (k, v) in other.middle {
            *self.middle.entry(k).or_default() += v;
        }
    }
}

/// The given and family names (folded hashes) that many records of a register carry: at
/// least [`COMMON_SHARE`] of those that have one, and [`COMMON_RECORDS`] records. Two such
/// names a keystroke apart are more often two names than one typed wrong (level
/// `another_common_name`): Vietnamese names are short syllables packed close, and "Lê" and
/// "Lý", "Vũ" and "Võ", "Duy" and "Đức", "Linh" and "Vinh" are each other's neighbours and
/// all common, whereas a keystroke typed wrong ("Trugn", "Qutyến") makes a name the register
/// hardly holds. Counted on the register itself, not on a list of names, so a province's own
/// names (of its ethnic groups, of foreigners) count as they occur there.
#[derive(Default, Clone, Debug)]
pub struct CommonNames {
    given: KeySet,
    family: KeySet,
}

/// A name carried by this share of a register's named records or more is common: in a
/// province, the top ~200 given names and ~60 family names.
pub const COMMON_SHARE: f64 = 0.001;
/// … and by this many records at least (in a small register every name reaches the share).
pub const COMMON_RECORDS: f64 = 5.0;

impl CommonNames {
    /// From term frequencies (shares of `records` records), as a model holds them.
    pub fn of_shares(given: &KeyMap<f64>, family: &KeyMap<f64>, records: usize) -> Self {
        let common = |tf: &KeyMap<f64>| {
            tf.iter()
                .filter(|(_, &s)| s >= COMMON_SHARE && s * records as f64 >= COMMON_RECORDS)
                .map(|(&k, _)| k)
                .collect()
        };
        CommonNames {
            given: common(given),
            family: common(family),
        }
    }

    /// From the name counts of a register of `records` records.
    pub fn of_counts(names: &NameCounts, records: usize) -> Self {
        CommonNames::of_shares(
            &frequencies(&names.given),
            &frequencies(&names.family),
            records,
        )
    }

    /// The names a model's register counted as common.
    pub fn of_model(model: &Model) -> Self {
        CommonNames::of_shares(&model.tf_given, &model.tf_family, model.records)
    }

    /// Mark each record's given and family name common or not.
    pub fn mark(&self, recs: &mut [Rec]) {
        recs.par_iter_mut()
            .with_min_len(4096)
            .for_each(|r| self.mark_one(r));
    }

    pub fn mark_one(&self, r: &mut Rec) {
        r.given_common = r.given != 0 && self.given.contains(&r.given);
        r.family_common = r.family != 0 && self.family.contains(&r.family);
    }
}

fn frequencies(counts: &KeyMap<u64>) -> KeyMap<f64> {
    let total: u64 = counts.values().sum::<u64>().max(1);
    counts
        .iter()
        .map(|(k, v)| (*k, *v as f64 / total as f64))
        .collect()
}

fn normalise(levels: &mut [f64], pseudo: f64) {
    let sum: f64 = levels.iter().sum();
    let k = levels.len() as f64;
    for v in levels.iter_mut() {
        *v = (*v + pseudo) / (sum + pseudo * k);
    }
}

/// Level frequencies among random record pairs (almost all non-matches), smoothed.
fn estimate_u_random(recs: &[Rec], samples: usize) -> [Vec<f64>; N_FIELDS] {
    let n = recs.len() as u64;
    let mut counts: [Vec<f64>; N_FIELDS] = empty_levels();
    if n >= 2 {
        let mut rng = Rng::new(0x5EED, 0);
        let pairs: Vec<(usize, usize)> = (0..samples)
            .map(|_| {
                let a = rng.below(n);
                let mut b = rng.below(n - 1);
                if b >= a {
                    b += 1;
                }
                (a as usize, b as usize)
            })
            .collect();
        let patterns: Vec<Pattern> = pairs
            .par_iter()
            .map(|&(a, b)| compare(&recs[a], &recs[b]))
            .collect();
        for p in &patterns {
            for (i, l) in p.0.iter().enumerate() {
                if *l != MISSING {
                    counts[i][*l as usize] += 1.0;
                }
            }
        }
    }
    for c in counts.iter_mut() {
        normalise(c, 0.5);
    }
    counts
}

/// One EM training session: the patterns of pairs that share a blocking key, and which
/// fields that key fixes (their parameters are not estimated in this session).
#[derive(Clone)]
pub struct Session {
    pub patterns: BTreeMap<Pattern, u64>,
    pub blocked: [bool; N_FIELDS],
    /// All pairs the session's blocks hold (sampled or not), for the prior.
    pub total_pairs: f64,
    /// Estimate the non-matches' level frequencies within the session too (pairs that share
    /// a name or a date: see `em_with`); identifier sessions are mostly matches and keep u.
    pub free_u: bool,
    /// Pairs proposed by blocking on names or dates (mostly two people), not pairs sharing an
    /// identifier: the m of disagreeing on parents, ethnicity or religion is held down
    /// ([`Field::candidate_disagreement_max`]).
    pub candidates: bool,
}

/// What EM found in one session.
#[derive(Clone, Copy, Debug)]
pub struct SessionFit {
    /// The share of the session's pairs that are one person.
    pub match_share: f64,
    pub iterations: usize,
}

/// EM over one session with u fixed, from `m`: estimates m of the fields its key does not fix
/// and the session's match share. Its `frozen` fields keep the m they have in `m` (estimated
/// by an earlier session): they still weigh in each pair's posterior, so they hold the
/// session's "match" class to one person rather than to whatever else its pairs share.
fn em_session(
    session: &Session,
    u: &[Vec<f64>; N_FIELDS],
    m: [Vec<f64>; N_FIELDS],
    frozen: [bool; N_FIELDS],
) -> ([Vec<f64>; N_FIELDS], f64, usize) {
    let patterns: Vec<(Pattern, f64)> = session
        .patterns
        .iter()
        .map(|(p, c)| (p.without(&session.blocked), *c as f64))
        .collect();
    em_with(
        &patterns,
        u,
        session.free_u,
        session.candidates,
        m,
        0.1,
        frozen,
    )
}

/// EM with u fixed, from `m` and a match share `lambda`: m of every field the patterns
/// compare, and the match share.
fn em(
    patterns: &[(Pattern, f64)],
    u: &[Vec<f64>; N_FIELDS],
    m: [Vec<f64>; N_FIELDS],
    lambda: f64,
) -> ([Vec<f64>; N_FIELDS], f64, usize) {
    em_with(patterns, u, false, false, m, lambda, [false; N_FIELDS])
}

/// EM from `m` and `lambda`; with `free_u`, the non-matches' level frequencies are estimated
/// too, starting from `u` (pairs that share a blocking key agree more than random pairs even
/// when they are two people: two namesakes share a middle name more often than two strangers
/// do; with u fixed, EM would take that excess for matches).
fn em_with(
    patterns: &[(Pattern, f64)],
    u_random: &[Vec<f64>; N_FIELDS],
    free_u: bool,
    capped: bool,
    mut m: [Vec<f64>; N_FIELDS],
    mut lambda: f64,
    frozen: [bool; N_FIELDS],
) -> ([Vec<f64>; N_FIELDS], f64, usize) {
    let mut u = u_random.clone();
    let mut iterations = 0;
    for _ in 0..200 {
        iterations += 1;
        let mut m_new = empty_levels();
        let mut u_new = empty_levels();
        let (mut matched, mut total): (f64, f64) = (0.0, 0.0);
        for (p, c) in patterns {
            let post = posterior(p, &m, &u, lambda);
            matched += c * post;
            total += c;
            for (i, l) in p.0.iter().enumerate() {
                if *l != MISSING {
                    m_new[i][*l as usize] += c * post;
                    u_new[i][*l as usize] += c * (1.0 - post);
                }
            }
        }
        for (i, levels) in m_new.iter_mut().enumerate() {
            if frozen[i] {
                levels.clone_from(&m[i]);
            } else {
                normalise(levels, 0.01);
            }
        }
        for field in Field::ALL {
            let i = field.index();
            let Some((from, max)) = field.candidate_disagreement_max() else {
                continue;
            };
            if capped && !frozen[i] && patterns.iter().any(|(p, _)| p.0[i] != MISSING) {
                cap_from(&mut m_new[i], from as usize, max);
            }
        }
        if free_u {
            for (i, levels) in u_new.iter_mut().enumerate() {
                if levels.iter().sum::<f64>() > 0.0 {
                    normalise(levels, 0.01);
                } else {
                    *levels = u_random[i].clone();
                }
            }
            u = u_new;
        }
        let new_lambda = (matched / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
        let delta: f64 = m
            .iter()
            .zip(&m_new)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max)
            .max((new_lambda - lambda).abs());
        m = m_new;
        lambda = new_lambda;
        if delta < 1e-7 {
            break;
        }
    }
    // No level is impossible for a match: real registers hold typos in every field, so a
    // level never seen among training matches keeps a small probability (0.2%, more for a
    // field's disagreement where that is common: [`Field::disagreement_floor`]).
    for (levels, field) in m.iter_mut().zip(Field::ALL) {
        let n = levels.len();
        for (l, v) in levels.iter_mut().enumerate() {
            let floor = if l + 1 == n {
                field.disagreement_floor()
            } else {
                0.002
            };
            *v = v.max(floor);
        }
        let sum: f64 = levels.iter().sum();
        for v in levels.iter_mut() {
            *v /= sum;
        }
    }
    (m, lambda, iterations)
}

/// Among the pairs of `session` that its fit takes for one person, the share that also agree
/// ("equal", the first level) on the identifier field `other` blocks on; None when the session
/// holds fewer than [`MIN_SHARE_MATCHES`] such pairs. Held to at least 5 %.
fn identifier_share(
    session: &Session,
    other: &[bool; N_FIELDS],
    m: &[Vec<f64>; N_FIELDS],
    u: &[Vec<f64>; N_FIELDS],
    lambda: f64,
) -> Option<f64> {
    let field = other.iter().position(|&b| b)?;
    let (mut matched, mut sharing) = (0.0, 0.0);
    for (p, c) in &session.patterns {
        let p = p.without(&session.blocked);
        let w = *c as f64 * posterior(&p, m, u, lambda);
        matched += w;
        if p.0[field] == 0 {
            sharing += w;
        }
    }
    (matched >= MIN_SHARE_MATCHES).then(|| (sharing / matched).clamp(0.05, 1.0))
}

/// The fewest pairs of one person a session needs to say what share of them share another
/// identifier.
const MIN_SHARE_MATCHES: f64 = 30.0;

/// Hold the levels of `levels` from `from` on (the disagreements) to at most `max` together,
/// each scaled down alike and the others scaled up.
fn cap_from(levels: &mut [f64], from: usize, max: f64) {
    let tail: f64 = levels[from..].iter().sum();
    if tail <= max || tail >= 1.0 {
        return;
    }
    let (down, up) = (max / tail, (1.0 - max) / (1.0 - tail));
    for (l, v) in levels.iter_mut().enumerate() {
        *v *= if l >= from { down } else { up };
    }
}

impl Model {
    /// Estimate the model as Splink does: u from random record pairs; m by EM in sessions of
    /// pairs that share a blocking key, each estimating the fields its key does not fix
    /// (averaged where several sessions estimate one field); the prior from the first
    /// session's match share scaled to all record pairs.
    pub fn estimate(recs: &[Rec], sessions: &[Session]) -> Model {
        Model::estimate_from(recs, recs.len(), &NameCounts::of(recs), sessions)
    }

    /// The model of `n` records, of which `sample` is a uniform sample (all of them when they
    /// fit in memory) for the u probabilities; `names` counts the names of all `n`.
    pub fn estimate_from(
        sample: &[Rec],
        n: usize,
        names: &NameCounts,
        sessions: &[Session],
    ) -> Model {
        Model::fit(sample, n, names, sessions).0
    }

    /// [`Model::estimate_from`], with what EM found in each session (None for an empty one).
    pub fn fit(
        sample: &[Rec],
        n: usize,
        names: &NameCounts,
        sessions: &[Session],
    ) -> (Model, Vec<Option<SessionFit>>) {
        Model::fit_with(sample, n, names, sessions, false)
    }

    /// [`Model::fit`] for rounds of candidate pairs, which are mostly two people: each round
    /// estimates only the fields no earlier round estimated, with those fixed at their earlier
    /// m. Left free, the round of pairs sharing a name finds its largest group of alike pairs
    /// (namesakes with one middle name and sex) rather than one person's records; anchored on
    /// what the birth-date round learned of parents, place and names, its "match" class stays
    /// one person.
    pub fn fit_anchored(
        sample: &[Rec],
        n: usize,
        names: &NameCounts,
        sessions: &[Session],
    ) -> (Model, Vec<Option<SessionFit>>) {
        Model::fit_with(sample, n, names, sessions, true)
    }

    fn fit_with(
        sample: &[Rec],
        n: usize,
        names: &NameCounts,
        sessions: &[Session],
        anchored: bool,
    ) -> (Model, Vec<Option<SessionFit>>) {
        let mut fits = Vec::with_capacity(sessions.len());
        let u = estimate_u_random(
            sample,
            400_000.min(sample.len().saturating_mul(20)).max(1_000),
        );
        let mut m_sum = empty_levels();
        let mut m_n = [0usize; N_FIELDS];
        let mut iterations = 0;
        let mut lambda = 0.0;
        let mut lambda_shared_id = 0.9;
        // The session that set the prior, and each session's fitted m and match share.
        let mut prior_from: Option<usize> = None;
        let mut fitted: Vec<Option<([Vec<f64>; N_FIELDS], f64)>> = Vec::new();
        for (k, session) in sessions.iter().enumerate() {
            if session.patterns.is_empty() {
                fits.push(None);
                fitted.push(None);
                continue;
            }
            // Anchored: the fields an earlier session estimated keep its m.
            let frozen: [bool; N_FIELDS] = std::array::from_fn(|i| anchored && m_n[i] > 0);
            let start = std::array::from_fn(|i| {
                if frozen[i] {
                    m_sum[i].iter().map(|v| v / m_n[i] as f64).collect()
                } else {
                    initial_m()[i].clone()
                }
            });
            let (m, l, it) = em_session(session, &u, start, frozen);
            fits.push(Some(SessionFit {
                match_share: l,
                iterations: it,
            }));
            iterations += it;
            // A round that found less than one pair of one person learned nothing of what
            // one person's records look like (its m are EM's starting guesses drifted over
            // two people's pairs): its m are not used. A register without duplicates gives
            // such rounds.
            let pairs: u64 = session.patterns.values().sum();
            let learned = l * pairs as f64 >= 1.0;
            for i in 0..N_FIELDS {
                if learned && !(session.blocked[i] || frozen[i]) {
                    for (acc, v) in m_sum[i].iter_mut().zip(&m[i]) {
                        *acc += v;
                    }
                    m_n[i] += 1;
                }
            }
            if k == 0 {
                lambda_shared_id = l;
            }
            if k == 0 || lambda == 0.0 {
                let n = n as f64;
                let all_pairs = (n * (n - 1.0) / 2.0).max(1.0);
                lambda = (l * session.total_pairs / all_pairs).clamp(1e-12, 0.5);
                prior_from = Some(k);
            }
            fitted.push(Some((m, l)));
        }
        // That prior counts the duplicates that share the session's identifier. A person given
        // a second number, or registered once without one, is a duplicate too: another
        // identifier's session says what share of one person's pairs share the first one.
        if let (false, Some(k)) = (anchored, prior_from) {
            let others = (0..sessions.len()).filter(|&j| j != k);
            let shares = others.filter_map(|j| {
                let (m, l) = fitted[j].as_ref()?;
                identifier_share(&sessions[j], &sessions[k].blocked, m, &u, *l)
            });
            if let Some(share) = shares.reduce(f64::min) {
                lambda = (lambda / share).clamp(1e-12, 0.5);
            }
        }
        let fallback = initial_m();
        let m: [Vec<f64>; N_FIELDS] = std::array::from_fn(|i| {
            if m_n[i] == 0 {
                fallback[i].clone()
            } else {
                m_sum[i].iter().map(|v| v / m_n[i] as f64).collect()
            }
        });
        let model = Model {
            m,
            u_random: u.clone(),
            u,
            lambda: if lambda == 0.0 { 1e-6 } else { lambda },
            lambda_shared_id,
            tf_given: frequencies(&names.given),
            tf_family: frequencies(&names.family),
            tf_middle: frequencies(&names.middle),
            em_iterations: iterations,
            records: n,
            namesake_share: 0.0,
        };
        (model, fits)
    }

    /// This model with m re-estimated by EM on pairs of unknown status (an extract's rows and
    /// the residents blocking proposed for them), starting from the current m; a field the
    /// pairs never compare keeps its m. Returns the share of the pairs EM took for matches.
    pub fn with_em_on(&self, patterns: &BTreeMap<Pattern, u64>) -> (Model, f64) {
        let pairs: Vec<(Pattern, f64)> = patterns.iter().map(|(p, c)| (*p, *c as f64)).collect();
        let (fitted, share, _) = em(&pairs, &self.u, self.m.clone(), 0.1);
        let m = std::array::from_fn(|i| {
            if pairs.iter().any(|(p, _)| p.0[i] != MISSING) {
                fitted[i].clone()
            } else {
                self.m[i].clone()
            }
        });
        (Model { m, ..self.clone() }, share)
    }

    /// This model with its prior estimated from candidate pairs (their patterns and counts),
    /// m and u fixed: the match share among the `candidates` pairs blocking proposed, scaled to
    /// all pairs of `n` records (almost every match is a candidate). Returns the share too.
    pub fn with_prior_from(
        &self,
        patterns: &BTreeMap<Pattern, u64>,
        candidates: f64,
        n: usize,
    ) -> (Model, f64) {
        let mut share = 0.01;
        for _ in 0..200 {
            let (mut matched, mut total) = (0.0, 0.0);
            for (p, c) in patterns {
                matched += *c as f64 * posterior(p, &self.m, &self.u, share);
                total += *c as f64;
            }
            let new = (matched / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
            let done = (new - share).abs() < 1e-9;
            share = new;
            if done {
                break;
            }
        }
        let n = n as f64;
        let all_pairs = (n * (n - 1.0) / 2.0).max(1.0);
        let lambda = (share * candidates / all_pairs).clamp(1e-12, 0.5);
        (
            Model {
                lambda,
                ..self.clone()
            },
            share,
        )
    }

    /// Match weight (log2 Bayes factor) of a pattern, with term-frequency adjustment on exact
    /// name agreement: agreeing on a name shared by many counts for less than agreeing on a
    /// rare one. `use_ids` false leaves out the ID comparisons (to judge whether two records
    /// that share an ID are one person).
    pub fn weight(&self, p: &Pattern, a: &Rec, use_ids: bool) -> f64 {
        let mut w = 0.0;
        for (i, (c, &l)) in COMPARISONS.iter().zip(&p.0).enumerate() {
            if l == MISSING || (!use_ids && c.identifier) {
                continue;
            }
            w += (self.m[i][l as usize] / self.u[i][l as usize]).log2();
            let tf = match c.term_frequency {
                Some((which, levels)) if levels.contains(&l) => match which {
                    TermFrequency::Given => self.tf_given.get(&a.given),
                    TermFrequency::Family => self.tf_family.get(&a.family),
                    TermFrequency::Middle => self.tf_middle.get(&a.middle),
                },
                _ => None,
            };
            let l = l as usize;
            if let Some(tf) = tf {
                // Splink's adjustment: the level's average chance for random records over this
                // value's own chance.
                w += (self.u_random[i][l] / tf.max(1e-7)).log2().clamp(-6.0, 6.0);
            }
        }
        w
    }

    /// The weight of a pattern field by field, as [`Model::weight`] adds it up: (field,
    /// level, weight in log2 Bayes-factor units), the compared fields only — the "waterfall"
    /// that explains a decision.
    pub fn waterfall(&self, p: &Pattern, a: &Rec) -> Vec<(&'static str, &'static str, f64)> {
        let mut out = Vec::new();
        for (i, (c, &l)) in COMPARISONS.iter().zip(&p.0).enumerate() {
            if l == MISSING {
                continue;
            }
            let one = Pattern(std::array::from_fn(|j| if j == i { l } else { MISSING }));
            out.push((c.name, c.levels[l as usize], self.weight(&one, a, true)));
        }
        out
    }

    /// The prior's weight (log2 odds that two records of this register are one person).
    pub fn prior_weight(&self) -> f64 {
        let prior = self.lambda.clamp(1e-12, 1.0 - 1e-9);
        (prior / (1.0 - prior)).log2()
    }

    fn posterior_with(&self, prior: f64, p: &Pattern, a: &Rec, b: &Rec, use_ids: bool) -> f64 {
        if siblings(p, a, b) {
            return 0.0;
        }
        let prior = prior.clamp(1e-12, 1.0 - 1e-9);
        let w = (prior / (1.0 - prior)).log2() + self.weight(p, a, use_ids);
        1.0 / (1.0 + (-w).exp2())
    }

    /// This model applied to a register of `records` records: the prior is the chance that two
    /// records are one person, which falls as the register grows (a person's duplicates do not
    /// grow with it, the pairs do).
    pub fn for_records(&self, records: usize) -> Model {
        let mut m = self.clone();
        if self.records > 1 && records > 1 {
            m.lambda =
                (self.lambda * (self.records - 1) as f64 / (records - 1) as f64).clamp(1e-12, 0.5);
        }
        m.records = records;
        m
    }

    /// How many other people with `a`'s full name and birth date a province of `population`
    /// would hold: the name's frequency (family × middle × given) times the chance that two
    /// people share a birth date, times the population. Common names born on one day are not
    /// rare at all in a large province (a province of 10 M people has ~270 people a birth
    /// date).
    pub fn namesakes_expected(&self, a: &Rec, population: f64) -> f64 {
        let tf = |m: &KeyMap<f64>, k: u64| m.get(&k).copied().unwrap_or(0.0);
        let name = tf(&self.tf_family, a.family)
            * tf(&self.tf_middle, a.middle)
            * tf(&self.tf_given, a.given);
        // Two records' birth dates written alike: one full date, or one year (or month and
        // year) on both.
        let birth = &self.u_random[super::comparisons::Field::Birth.index()];
        let same_day = birth[0] + birth[1];
        population * name * same_day
    }

    /// Probability that two resident records are one person.
    pub fn probability(&self, p: &Pattern, a: &Rec, b: &Rec, use_ids: bool) -> f64 {
        self.posterior_with(self.lambda, p, a, b, use_ids)
    }

    /// Probability that two records carrying one personal ID are one person, judged on
    /// everything but the ID (the prior is the share of ID-sharing pairs that are matches).
    pub fn probability_sharing_id(&self, p: &Pattern, a: &Rec, b: &Rec) -> f64 {
        self.posterior_with(self.lambda_shared_id, p, a, b, false)
    }

    /// This model with m estimated from pairs known to be one person (their `patterns`),
    /// each field's levels drawn toward the current m by a few pseudo-pairs so that a level
    /// never seen keeps a small probability. Linking uses it with the pairs of extract rows
    /// and the residents of their well-formed IDs: an extract differs from a second
    /// registration (a vaccination is mostly recorded in the person's own commune, a
    /// duplicate registration mostly elsewhere).
    pub fn with_m_from(&self, patterns: &[Pattern]) -> Model {
        const PSEUDO_PAIRS: f64 = 20.0;
        let mut m = self.m.clone();
        for (i, levels) in m.iter_mut().enumerate() {
            let mut counts = vec![0.0; levels.len()];
            for p in patterns.iter().filter(|p| p.0[i] != MISSING) {
                counts[p.0[i] as usize] += 1.0;
            }
            let n: f64 = counts.iter().sum();
            for (v, c) in levels.iter_mut().zip(&counts) {
                *v = (c + PSEUDO_PAIRS * *v) / (n + PSEUDO_PAIRS);
            }
        }
        Model { m, ..self.clone() }
    }

    /// Bayes factor (log2) that linked record `a` is resident `b`, judged without the IDs;
    /// None for siblings (twins among them), who are never one person.
    pub fn link_weight(&self, p: &Pattern, a: &Rec, b: &Rec) -> Option<f64> {
        (!siblings(p, a, b)).then(|| self.weight(p, a, false))
    }
}

fn posterior(p: &Pattern, m: &[Vec<f64>; N_FIELDS], u: &[Vec<f64>; N_FIELDS], lambda: f64) -> f64 {
    let (mut pm, mut pu) = (lambda, 1.0 - lambda);
    for (i, l) in p.0.iter().enumerate() {
        if *l != MISSING {
            pm *= m[i][*l as usize];
            pu *= u[i][*l as usize];
        }
    }
    if pm + pu == 0.0 {
        0.0
    } else {
        pm / (pm + pu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name is common from a share of the register's records (and a few records): in a
    /// register of 10 000, "Lê" on 900 and "Lý" on 40 are, a typo on 2 is not; in a register
    /// of 1 000, a name on 4 records is not, however large its share.
    #[test]
    fn common_names_are_counted_on_the_register() {
        use crate::core::hash::h64;
        let mut names = NameCounts::default();
        for (name, n) in [("le", 900u64), ("ly", 40), ("lyy", 2), ("nguyen", 9058)] {
            names.family.insert(h64(name), n);
            names.given.insert(h64(name), n);
        }
        let common = CommonNames::of_counts(&names, 10_000);
        let mut recs: Vec<Rec> = ["le", "ly", "lyy", "tran"]
            .iter()
            .map(|n| Rec {
                family: h64(n),
                given: h64(n),
                ..Rec::default()
            })
            .collect();
        common.mark(&mut recs);
        let marked: Vec<(bool, bool)> = recs
            .iter()
            .map(|r| (r.family_common, r.given_common))
            .collect();
        assert_eq!(
            marked,
            [(true, true), (true, true), (false, false), (false, false)]
        );
        // The same shares in a register of 1 000: "ly" (4 per mille) is carried by 4 records.
        let small = CommonNames::of_shares(
            &frequencies(&names.given),
            &frequencies(&names.family),
            1_000,
        );
        small.mark(&mut recs);
        assert!(recs[0].family_common && !recs[1].family_common);
    }

    /// A register without duplicates: its candidate pairs are all two people, so EM finds no
    /// pair of one person and its m are not taken for what one person's records look like
    /// (they had drifted to even odds, making a shared street worth 16 bits). The model keeps
    /// its starting m, and two strangers at one address are not one person.
    #[test]
    fn a_round_without_one_person_teaches_nothing() {
        let recs: Vec<Rec> = (0..400u64)
            .map(|i| Rec {
                given: i % 37 + 1,
                family: i % 11 + 1,
                address: ((i % 97 + 1) << 32) | (i + 1),
                ..Default::default()
            })
            .collect();
        let mut patterns = BTreeMap::new();
        for i in 0..200 {
            let p = compare(&recs[i], &recs[i + 37]);
            *patterns.entry(p).or_insert(0) += 1;
        }
        let session = Session {
            patterns,
            blocked: std::array::from_fn(|i| i == Field::Given.index()),
            total_pairs: 200.0,
            free_u: true,
            candidates: true,
        };
        let (model, fits) =
            Model::fit_anchored(&recs, recs.len(), &NameCounts::of(&recs), &[session]);
        assert!(fits[0].as_ref().unwrap().match_share * 200.0 < 1.0);
        assert_eq!(model.m, initial_m());
    }

    /// A register where two thirds of the duplicates were given a second number: the pairs
    /// sharing a personal ID count a third of them. The CMND session (a third of its pairs
    /// share the personal ID too) scales the prior up to all of them, not only those that
    /// kept one ID.
    #[test]
    fn the_prior_counts_duplicates_given_a_second_number() {
        let recs: Vec<Rec> = (0..400u64)
            .map(|i| Rec {
                given: i % 37 + 1,
                family: i % 11 + 1,
                middle: i % 5 + 1,
                ..Default::default()
            })
            .collect();
        let at = |f: Field, l: &str| (f.index(), f.level(l));
        let pattern = |extra: &[(usize, u8)]| {
            let mut p = Pattern([MISSING; N_FIELDS]);
            let one_person = [
                at(Field::Given, "exact"),
                at(Field::Family, "exact"),
                at(Field::Middle, "exact"),
            ];
            for &(i, l) in one_person.iter().chain(extra) {
                p.0[i] = l;
            }
            p
        };
        let session = |patterns: Vec<(Pattern, u64)>, key: Field| Session {
            total_pairs: patterns.iter().map(|p| p.1 as f64).sum(),
            patterns: patterns.into_iter().collect(),
            blocked: std::array::from_fn(|i| i == key.index()),
            free_u: false,
            candidates: false,
        };
        let by_id = session(vec![(pattern(&[]), 100)], Field::Pid);
        let by_cmnd = session(
            vec![
                (pattern(&[at(Field::Pid, "equal")]), 100),
                (pattern(&[at(Field::Pid, "different")]), 150),
                (pattern(&[at(Field::Birth, "exact")]), 50),
            ],
            Field::Cmnd,
        );
        let names = NameCounts::of(&recs);
        let no_cmnd = session(Vec::new(), Field::Cmnd);
        let (alone, _) = Model::fit(&recs, 100_000, &names, &[by_id.clone(), no_cmnd]);
        let (both, _) = Model::fit(&recs, 100_000, &names, &[by_id, by_cmnd]);
        let ratio = both.lambda / alone.lambda;
        assert!((2.8..3.2).contains(&ratio), "prior scaled by {ratio}");
    }
}
