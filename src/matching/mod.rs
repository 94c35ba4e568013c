//! Duplicate detection and linking (`dup.in_province`, `dup.out_of_province`, `id.shared`,
//! `link.suggested`, and deaths registered without a usable ID).
//!
//! 1. Features per record ([`features`]): folded name parts as hashes, dates, IDs, place.
//! 2. Blocking: several passes of equal keys (birth date + given name, birth year + given +
//!    family, full name + commune, personal ID, CMND, parents, …), so a true pair with one
//!    damaged field is still a candidate; no all-pairs step; oversized blocks are skipped and
//!    counted.
//! 3. Scoring ([`model`]): Fellegi–Sunter with u from random pairs, m and the prior by EM,
//!    term-frequency adjusted name agreement, a guard against twins.
//! 4. Decisions: pairs above the threshold are duplicates; records sharing a personal ID are
//!    judged without the ID itself — one person (duplicate) or two (`id.shared`).
//! 5. Clusters without long chains of weak links, and the record to keep.
//! 6. Linking of extract rows without a usable ID, and of deaths without a usable ID.
//!
//! Free of I/O: takes the prepared tables, returns pairs, clusters, links and findings.

pub mod features;
pub mod model;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::ids::{id_string, IdClass};
use crate::rules::{CheckInput, Finding, Prepared, RowRef, Rule};
use crate::table::Table;
use features::{features, mix, Rec};
use model::{compare, explain, Model, Pattern};

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

#[derive(Default)]
pub struct MatchResult {
    pub pairs: Vec<Pair>,
    pub clusters: Vec<ClusterMember>,
    pub links: Vec<Link>,
    pub findings: Vec<Finding>,
    /// Candidate pairs not compared because their block exceeded the size cap.
    pub blocks_skipped: usize,
    pub pairs_compared: usize,
    /// Candidate pairs proposed by each blocking pass (before de-duplication).
    pub pairs_per_pass: Vec<(&'static str, usize)>,
    /// The estimated model, for the summary.
    pub model: Option<ModelSummary>,
    /// Seconds per matching sub-phase.
    pub timings: Vec<(&'static str, f64)>,
    /// Per linked source (and deaths), what linking measured and did.
    pub linking: Vec<LinkStats>,
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
    /// β: the share of rows with a resident's ID whose resident the passes propose without it.
    pub candidate_recall: f64,
}

/// What the summary reports of the model.
#[derive(Clone, Debug)]
pub struct ModelSummary {
    pub lambda: f64,
    pub em_iterations: usize,
    pub m: Vec<(String, Vec<(String, f64)>)>,
    pub u: Vec<(String, Vec<(String, f64)>)>,
}

/// The blocking passes: each returns a key per record (0 = no key).
type Pass = fn(&Rec) -> u64;

/// A blocking pass: its name, its key, and whether it only pairs records of which at least
/// one has a partial birth date (year-only or month/year).
struct BlockPass {
    name: &'static str,
    key: Pass,
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
    /// Not a deduplication pass: only used to find the resident of an extract record.
    LinkOnly,
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
            Scope::All | Scope::LinkOnly => true,
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

const PASSES: &[BlockPass] = &[
    BlockPass {
        name: "birth_date+given",
        key: |r| {
            if date_key(r) != 0 && r.given != 0 {
                mix(&[1, date_key(r), r.given])
            } else {
                0
            }
        },
        scope: Scope::LinkOnly,
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

/// Every record with a key, as (key, row), sorted: the records of one block are adjacent.
fn keyed(recs: &[Rec], key: Pass) -> Vec<(u64, u32)> {
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
pub(crate) fn blocks(keyed: &[(u64, u32)]) -> Vec<&[(u64, u32)]> {
    keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|g| g.len() > 1)
        .collect()
}

/// Candidate pairs (i < j) of one pass, and how many pairs oversized blocks held.
fn block(recs: &[Rec], pass: &BlockPass, cap: usize) -> (Vec<(u32, u32)>, usize) {
    let scope = pass.scope;
    if scope == Scope::LinkOnly {
        return (Vec::new(), 0);
    }
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
        Scope::All | Scope::LinkOnly | Scope::NameDiffers => true,
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
    for pass in PASSES.iter().filter(|p| p.scope != Scope::LinkOnly) {
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

/// Upper bound on the pairs one training session compares.
const TRAINING_PAIRS: usize = 2_000_000;

/// The EM training sessions. Records that share an identifier are mostly one person
/// registered twice (and sometimes two people sharing one ID, which EM separates), so the
/// pairs sharing a personal ID, and those sharing an old CMND, teach the model how one person's
/// two records differ in every other field. A session does not estimate the field its key
/// fixes. Blocking on names or dates instead would teach it how strangers with one name, or
/// siblings born on one day, differ.
fn training_sessions(recs: &[Rec]) -> Vec<model::Session> {
    let [b1, b2] = training_blocked();
    let s1: (Pass, [bool; model::N_FIELDS]) = (training_key_pid, b1);
    let s2: (Pass, [bool; model::N_FIELDS]) = (training_key_cmnd, b2);
    [s1, s2]
        .into_iter()
        .map(|(key, blocked)| {
            let keyed = keyed(recs, key);
            session(&blocks(&keyed), &|row| &recs[row as usize], blocked)
        })
        .collect()
}

/// Keys of the two training sessions (records sharing a personal ID, an old CMND).
pub(crate) fn training_key_pid(r: &Rec) -> u64 {
    if r.pid != 0 {
        mix(&[11, r.pid])
    } else {
        0
    }
}

pub(crate) fn training_key_cmnd(r: &Rec) -> u64 {
    if r.cmnd != 0 {
        mix(&[12, r.cmnd])
    } else {
        0
    }
}

/// Which field each training session's key fixes (so it does not estimate it).
pub(crate) fn training_blocked() -> [[bool; model::N_FIELDS]; 2] {
    let mut b = [[false; model::N_FIELDS]; 2];
    b[0][5] = true; // pid
    b[1][6] = true; // cmnd
    b
}

/// A training session from the blocks of one key: whole blocks are sampled (by key) to
/// bound the work. `rec` gives the features of a row.
pub(crate) fn session<'r>(
    groups: &[&[(u64, u32)]],
    rec: &(dyn Fn(u32) -> &'r Rec + Sync),
    blocked: [bool; model::N_FIELDS],
) -> model::Session {
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
    model::Session {
        patterns: counts,
        blocked,
        total_pairs,
    }
}

/// Every `keep_every`-th block (by key) of at most 200 records is compared for training.
pub(crate) fn sampled_for_training(g: &[(u64, u32)], keep_every: u64) -> bool {
    g[0].0 % keep_every == 0 && g.len() <= 200
}

/// The pairs a training session's blocks hold, and the stride of the blocks it samples.
pub(crate) fn training_stride(groups: &[&[(u64, u32)]]) -> (f64, u64) {
    let total_pairs: f64 = groups
        .iter()
        .map(|g| (g.len() * (g.len() - 1) / 2) as f64)
        .sum();
    let keep_every = ((total_pairs / TRAINING_PAIRS as f64).ceil() as u64).max(1);
    (total_pairs, keep_every)
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
}

/// Largest cluster formed by weak links; strong links (p ≥ 0.99) may build larger ones.
const WEAK_CLUSTER_MAX: u32 = 2;
const STRONG_CLUSTER_MAX: u32 = 8;

/// Group pairs into clusters: strongest links first; a weak link never joins two groups
/// that already have partners, so no long chain of weak links forms one cluster.
pub(crate) fn cluster(n: usize, pairs: &mut [Pair]) {
    let mut uf = UnionFind::new(n);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&x, &y| {
        pairs[y]
            .probability
            .total_cmp(&pairs[x].probability)
            .then((pairs[x].a, pairs[x].b).cmp(&(pairs[y].a, pairs[y].b)))
    });
    for &k in &order {
        let (a, b) = (pairs[k].a.row, pairs[k].b.row);
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            continue;
        }
        let size = uf.size[ra as usize] + uf.size[rb as usize];
        let limit = if pairs[k].probability >= 0.99 {
            STRONG_CLUSTER_MAX
        } else {
            WEAK_CLUSTER_MAX
        };
        if size <= limit {
            let (big, small) = if uf.size[ra as usize] >= uf.size[rb as usize] {
                (ra, rb)
            } else {
                (rb, ra)
            };
            uf.parent[small as usize] = big;
            uf.size[big as usize] = size;
        }
    }
    // Cluster ids: numbered by the smallest row in each cluster, so they are stable.
    let mut root_min: BTreeMap<u32, u32> = BTreeMap::new();
    for p in pairs.iter() {
        for r in [p.a.row, p.b.row] {
            let root = uf.find(r);
            let e = root_min.entry(root).or_insert(r);
            *e = (*e).min(r);
        }
    }
    let mut mins: Vec<u32> = root_min.values().copied().collect();
    mins.sort_unstable();
    let id_of_min: BTreeMap<u32, u32> = mins
        .iter()
        .enumerate()
        .map(|(i, m)| (*m, i as u32 + 1))
        .collect();
    for p in pairs.iter_mut() {
        let root = uf.find(p.a.row);
        let same = uf.find(p.b.row) == root;
        p.cluster = if same { id_of_min[&root_min[&root]] } else { 0 };
    }
}

/// What a candidate pair is.
pub(crate) enum Decision {
    /// One person registered twice, with this probability.
    Duplicate(f64),
    /// Two people carrying one well-formed personal ID (`id.shared`).
    Shared,
    None,
}

/// Decide a compared pair; each record comes with whether its personal ID is valid.
pub(crate) fn decide(
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

/// How many canonical fields of a row of `t` are filled (the columns are looked up once).
pub(crate) fn filled_fields(t: &crate::table::Table) -> impl Fn(usize) -> usize + Sync + '_ {
    let cols: Vec<crate::table::Col> = crate::schema::CANONICAL
        .iter()
        .map(|c| t.col(c))
        .filter(|c| c.is_present())
        .collect();
    move |row| cols.iter().filter(|c| c.opt(row).is_some()).count()
}

pub(crate) fn at0(row: u32) -> RowRef {
    RowRef { source: 0, row }
}

/// Run matching over the residents and link the extracts. `rule_findings` are the rules
/// phase's findings (linking uses its `xref.mismatch` results).
pub fn run(input: &CheckInput, rule_findings: &[Finding]) -> MatchResult {
    let (residents, prepared) = input.residents();
    let cfg = &input.config.matching;
    let mut clock = Clock::new();
    let recs = features(residents, prepared);
    clock.lap("matching.features");
    let Candidates {
        pairs: cands,
        skipped,
        per_pass,
    } = candidates(&recs, cfg.max_block_size);
    clock.lap("matching.blocking");
    let patterns: Vec<Pattern> = cands
        .par_iter()
        .map(|&(a, b)| compare(&recs[a as usize], &recs[b as usize]))
        .collect();
    clock.lap("matching.compare");
    let model = Model::estimate(&recs, &training_sessions(&recs));
    clock.lap("matching.em");

    // Decide every candidate pair.
    let valid = |r: u32| prepared.rows[r as usize].pid.class == IdClass::Valid;
    let decisions: Vec<Decision> = cands
        .par_iter()
        .zip(patterns.par_iter())
        .map(|(&(a, b), p)| {
            let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
            decide(&model, cfg.threshold, p, (ra, valid(a)), (rb, valid(b)))
        })
        .collect();

    let prov = residents.col("province_code");
    let mut pairs = Vec::new();
    let mut findings = Vec::new();
    for ((&(a, b), p), d) in cands.iter().zip(&patterns).zip(&decisions) {
        match d {
            Decision::Duplicate(prob) => pairs.push(Pair {
                a: at0(a),
                b: at0(b),
                probability: (*prob * 1e6).round() / 1e6,
                in_province: prov.get(a as usize) == prov.get(b as usize),
                cluster: 0,
                levels: explain(p),
            }),
            Decision::Shared => findings.extend(shared_findings(a, b, recs[a as usize].pid)),
            Decision::None => {}
        }
    }
    // Order pairs by record_id (source is always residents here): a sorts before b.
    let rid = residents.col("record_id");
    for p in &mut pairs {
        if rid.get(p.a.row as usize) > rid.get(p.b.row as usize) {
            std::mem::swap(&mut p.a, &mut p.b);
        }
    }
    pairs.sort_by(|x, y| {
        (rid.get(x.a.row as usize), rid.get(x.b.row as usize))
            .cmp(&(rid.get(y.a.row as usize), rid.get(y.b.row as usize)))
    });
    clock.lap("matching.decide");
    cluster(recs.len(), &mut pairs);
    findings.extend(pairs.iter().flat_map(duplicate_findings));
    let clusters = cluster_members(input, &pairs);
    let mut result = MatchResult {
        pairs,
        clusters,
        links: Vec::new(),
        findings,
        blocks_skipped: skipped,
        pairs_compared: cands.len(),
        pairs_per_pass: per_pass,
        model: Some(summarise(&model)),
        timings: Vec::new(),
        linking: Vec::new(),
    };
    clock.lap("matching.cluster");
    link_extracts(input, rule_findings, &recs, &model, &mut result);
    clock.lap("matching.link");
    result.timings = clock.laps;
    result
}

/// Seconds per sub-phase, for the summary.
struct Clock {
    start: std::time::Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let secs = self.start.elapsed().as_secs_f64();
        crate::trace::phase(name, secs);
        self.laps.push((name, secs));
        self.start = std::time::Instant::now();
    }
}

/// The findings of a duplicate pair: one on each record, pointing to the other.
pub(crate) fn duplicate_findings(p: &Pair) -> [Finding; 2] {
    let rule = if p.in_province {
        Rule::DupInProvince
    } else {
        Rule::DupOutOfProvince
    };
    let value = format!("xác suất {:.3}", p.probability);
    [(p.a, p.b), (p.b, p.a)].map(|(x, y)| {
        Finding::new(x, rule, "")
            .value(value.clone())
            .related(y, Some(p.probability))
    })
}

/// The findings of two residents who carry one personal ID but are two people.
pub(crate) fn shared_findings(a: u32, b: u32, pid: u64) -> [Finding; 2] {
    let id = id_string(pid);
    [(a, b), (b, a)].map(|(x, y)| {
        Finding::new(at0(x), Rule::IdShared, "personal_id")
            .value(id.clone())
            .related(at0(y), None)
            .note("cùng số định danh nhưng là hai người khác nhau")
    })
}

fn cluster_members(input: &CheckInput, pairs: &[Pair]) -> Vec<ClusterMember> {
    let (residents, prepared) = input.residents();
    let prov = residents.col("province_code");
    let filled = filled_fields(residents);
    cluster_members_by(pairs, |r| {
        let r = r as usize;
        (
            prepared.rows[r].pid.is_valid(),
            input.province.is_some_and(|p| prov.get(r) == p),
            filled(r),
        )
    })
}

/// The records of each cluster, and the one to keep: the highest `rank` (a valid ID, resident
/// in the province viewed, the most complete), then the first.
pub(crate) fn cluster_members_by<K: Ord>(
    pairs: &[Pair],
    rank: impl Fn(u32) -> K,
) -> Vec<ClusterMember> {
    let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| p.cluster != 0) {
        for r in [p.a.row, p.b.row] {
            let v = members.entry(p.cluster).or_default();
            if !v.contains(&r) {
                v.push(r);
            }
        }
    }
    let mut out = Vec::new();
    for (cluster, mut rows) in members {
        rows.sort_unstable();
        let keep = rows
            .iter()
            .copied()
            .max_by_key(|&r| (rank(r), std::cmp::Reverse(r)))
            .unwrap_or(rows[0]);
        for r in rows {
            out.push(ClusterMember {
                at: at0(r),
                cluster,
                keep: r == keep,
            });
        }
    }
    out
}

pub(crate) fn summarise(model: &Model) -> ModelSummary {
    let table = |v: &[Vec<f64>; model::N_FIELDS]| {
        model::FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    f.to_string(),
                    model::LEVELS[i]
                        .iter()
                        .zip(&v[i])
                        .map(|(l, x)| (l.to_string(), (x * 1e6).round() / 1e6))
                        .collect(),
                )
            })
            .collect()
    };
    ModelSummary {
        lambda: model.lambda,
        em_iterations: model.em_iterations,
        m: table(&model.m),
        u: table(&model.u),
    }
}

/// Residents indexed by the linking keys: per pass, the rows sorted by their key (4 bytes a
/// row; the key is recomputed from the features during the binary search, which only the
/// few records being linked do). A pass for partial dates has a second array of the
/// residents whose birth date is partial: a record with a full date looks only there (its
/// full-date keys find the residents with full dates).
const LINK_PASSES: [usize; 6] = [0, 1, 2, 4, 6, 8];

struct LinkIndex<'a> {
    recs: &'a [Rec],
    passes: Vec<Vec<u32>>,
    partial: Vec<Option<Vec<u32>>>,
}

impl<'a> LinkIndex<'a> {
    fn build(recs: &'a [Rec]) -> Self {
        let mut passes = Vec::new();
        let mut partial = Vec::new();
        for &p in &LINK_PASSES {
            let keyed = keyed(recs, PASSES[p].key);
            partial.push((PASSES[p].scope == Scope::PartialDate).then(|| {
                keyed
                    .iter()
                    .filter(|e| !recs[e.1 as usize].birth.is_full())
                    .map(|e| e.1)
                    .collect()
            }));
            passes.push(keyed.into_iter().map(|e| e.1).collect());
        }
        LinkIndex {
            recs,
            passes,
            partial,
        }
    }

    fn candidates(&self, r: &Rec, cap: usize, out: &mut Vec<u32>) {
        out.clear();
        for (i, &p) in LINK_PASSES.iter().enumerate() {
            let key = PASSES[p].key;
            let k = key(r);
            if k == 0 {
                continue;
            }
            let v = match &self.partial[i] {
                Some(partial) if r.birth.is_full() => partial,
                _ => &self.passes[i],
            };
            // Rows are sorted by (key, row), the order of `keyed`.
            let key_of = |row: &u32| key(&self.recs[*row as usize]);
            let start = v.partition_point(|e| key_of(e) < k);
            let block = v[start..].iter().take_while(|e| key_of(e) == k);
            out.extend(block.take(cap).copied());
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// The people behind resident rows for linking: rows of one duplicate cluster are one
/// person, and so are rows carrying one personal ID.
struct People {
    /// Clustered resident rows, sorted: (row, cluster, the row suggested to keep).
    clustered: Vec<(u32, u32, u32)>,
}

impl People {
    fn of(clusters: &[ClusterMember]) -> Self {
        let keep: BTreeMap<u32, u32> = clusters
            .iter()
            .filter(|m| m.keep)
            .map(|m| (m.cluster, m.at.row))
            .collect();
        let mut clustered: Vec<(u32, u32, u32)> = clusters
            .iter()
            .filter(|m| m.at.source == 0 && m.cluster != 0)
            .filter_map(|m| keep.get(&m.cluster).map(|&k| (m.at.row, m.cluster, k)))
            .collect();
        clustered.sort_unstable();
        People { clustered }
    }

    /// (cluster, kept row) of a clustered resident row.
    fn cluster(&self, row: u32) -> Option<(u32, u32)> {
        let i = self.clustered.binary_search_by_key(&row, |e| e.0).ok()?;
        Some((self.clustered[i].1, self.clustered[i].2))
    }

    /// A key equal for rows of one person.
    fn key(&self, recs: &[Rec], row: u32) -> u64 {
        match self.cluster(row) {
            Some((c, _)) => (1 << 63) | c as u64,
            None if recs[row as usize].pid != 0 => recs[row as usize].pid,
            None => (1 << 62) | row as u64,
        }
    }
}

/// What a record to link is compared against.
struct Linking<'a> {
    recs: &'a [Rec],
    people: People,
    threshold: f64,
}

/// Best resident for a record: (row, probability) when the probability reaches the threshold.
///
/// The record is one of the residents' people or of nobody's. Its candidates are every
/// resident the blocking passes find, so a namesake born the same day is among them, not a
/// share of the N residents to be guessed. The probability that the record is the best
/// candidate's person (all its records: a duplicate cluster, or one personal ID) is that
/// person's Bayes factors over those of all candidates plus `background`, the residents'
/// weight as a whole when the person is none of the candidates (`link_calibration`). Two
/// people alike compete in the sum, so an ambiguous record gets no link. The row linked is
/// the person's record suggested to keep, else its best candidate, with a personal ID: a
/// person registered without any gets no link, there is no ID to suggest.
fn best_resident(
    l: &Linking,
    c: &LinkCalibration,
    r: &Rec,
    cands: &[u32],
    exclude: Option<u32>,
) -> Option<(u32, f64)> {
    let background = c.background;
    let recs = l.recs;
    // (weight, row, person) per candidate.
    let mut scored: Vec<(f64, u32, u64)> = cands
        .iter()
        .filter(|&&c| Some(c) != exclude)
        .filter_map(|&row| {
            let b = &recs[row as usize];
            let w = c.model.link_weight(&compare(r, b), r, b)?;
            Some((w, row, l.people.key(recs, row)))
        })
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let (w1, c1, person) = *scored.first()?;
    // Sums of 2^w, scaled by the largest term so that none overflows.
    let top = w1.max(background);
    let (mut same, mut all) = (0.0, (background - top).exp2());
    for &(w, _, who) in &scored {
        let bf = (w - top).exp2();
        all += bf;
        if who == person {
            same += bf;
        }
    }
    let p = same / all;
    if p < l.threshold {
        return None;
    }
    let kept = l
        .people
        .cluster(c1)
        .map(|(_, k)| k)
        .filter(|&k| recs[k as usize].pid != 0 && Some(k) != exclude);
    let row = kept.or_else(|| {
        scored
            .iter()
            .find(|&&(_, c, who)| who == person && recs[c as usize].pid != 0)
            .map(|&(_, c, _)| c)
    })?;
    Some((row, p))
}

/// How one source's rows are linked: the model and the background of `best_resident`, and
/// the shares they come from (for the summary).
struct LinkCalibration {
    model: Model,
    /// The weight (log2, in Bayes-factor units) of "the row's person is none of its
    /// candidates".
    background: f64,
    /// ρ: the share of the source's well-formed IDs found among the residents.
    rho: f64,
    /// β: the share of rows with a resident's ID whose resident the passes propose without it.
    beta: f64,
}

/// Calibrate linking on a source's own rows whose personal ID is well formed and found among
/// the residents: they are rows whose person is known.
///
/// A priori each of the N residents is the person with probability ρ/N, and nobody is with
/// 1 − ρ; residents the passes did not propose disagree on their keys, and their Bayes factors
/// sum to about N(1 − β). So the background is N((1 − β) + (1 − ρ)/ρ). The model's m is
/// re-estimated from the comparisons of those rows (ID set aside) with their residents, where
/// the passes propose them (`Model::with_m_from`). Rows are taken at a fixed stride (about
/// 100 000 visited, at most 20 000 compared), so the result is the same whatever the number
/// of threads.
fn link_calibration(
    table: &Table,
    prepared: &Prepared,
    input: &CheckInput,
    index: &LinkIndex,
    model: &Model,
    cap: usize,
) -> LinkCalibration {
    const VISIT: usize = 100_000;
    const SAMPLE: usize = 20_000;
    let recs = index.recs;
    let stride = prepared.rows.len().div_ceil(VISIT).max(1);
    let with_id: Vec<(usize, u64)> = prepared
        .rows
        .iter()
        .enumerate()
        .step_by(stride)
        .filter_map(|(r, f)| f.pid.is_valid().then_some((r, f.pid.value)))
        .collect();
    let found: Vec<(usize, u64)> = with_id
        .iter()
        .copied()
        .filter(|&(_, id)| input.pid_index.rows(id).next().is_some())
        .collect();
    let stride = found.len().div_ceil(SAMPLE).max(1);
    let sample: Vec<(usize, u64)> = found.iter().copied().step_by(stride).collect();
    let rows: Vec<usize> = sample.iter().map(|s| s.0).collect();
    // Per sampled row: the comparison with its resident when the passes propose it.
    let proposed: Vec<Option<Pattern>> = features::features_of(table, prepared, &rows)
        .into_par_iter()
        .zip(sample.par_iter())
        .with_min_len(256)
        .map_init(Vec::new, |cands, (mut rec, &(_, id))| {
            rec.pid = 0;
            index.candidates(&rec, cap, cands);
            let res = input.pid_index.rows(id).find(|res| cands.contains(res))?;
            Some(compare(&rec, &recs[res as usize]))
        })
        .collect();
    let patterns: Vec<Pattern> = proposed.iter().flatten().copied().collect();
    // Laplace's rule of succession keeps both shares off 0 and 1 on few rows.
    let rho: f64 = (found.len() + 1) as f64 / (with_id.len() + 2) as f64;
    let beta: f64 = (patterns.len() + 1) as f64 / (sample.len() + 2) as f64;
    let kappa: f64 = ((1.0 - beta) + (1.0 - rho) / rho).clamp(1e-3, 1.0);
    LinkCalibration {
        model: model.with_m_from(&patterns),
        background: (recs.len().max(1) as f64 * kappa).log2(),
        rho,
        beta,
    }
}

/// Link extract rows whose ID is unusable or points to a resident who disagrees, and deaths
/// registered without a usable ID.
fn link_extracts(
    input: &CheckInput,
    rule_findings: &[Finding],
    recs: &[Rec],
    model: &Model,
    result: &mut MatchResult,
) {
    let index = LinkIndex::build(recs);
    let cap = input.config.matching.max_block_size;
    let linking = Linking {
        recs,
        people: People::of(&result.clusters),
        threshold: input.config.matching.link_threshold,
    };
    for (s, table) in input.tables.iter().enumerate() {
        if !table.kind.is_linked() {
            continue;
        }
        let prepared = &input.prepared[s];
        // Rows owed a link: no usable ID, or an ID whose resident has another name (the rules
        // phase reported those as xref.mismatch on full_name).
        let mut owed: Vec<(usize, Option<u32>)> = prepared
            .rows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.pid.personal_id().is_none())
            .map(|(r, _)| (r, None))
            .collect();
        owed.extend(
            rule_findings
                .iter()
                .filter(|f| {
                    f.at.source as usize == s
                        && f.rule == Rule::XrefMismatch
                        && f.field == "full_name"
                })
                .map(|f| (f.at.row as usize, f.related.map(|x| x.row))),
        );
        owed.sort_unstable();
        owed.dedup_by_key(|o| o.0);
        let rows: Vec<usize> = owed.iter().map(|o| o.0).collect();
        let calibration = link_calibration(table, prepared, input, &index, model, cap);
        let lrecs = features::features_of(table, prepared, &rows);
        let pid_col = input.cols[s].personal_id;
        let found: Vec<Option<(Link, Finding)>> = owed
            .par_iter()
            .zip(lrecs.par_iter())
            .with_min_len(256)
            .map_init(Vec::new, |cands, (&(r, wrong_resident), lrec)| {
                let facts = prepared.rows[r];
                let mut rec = lrec.clone();
                if facts.pid.class == IdClass::OldCmnd {
                    rec.cmnd = (9u64 << 56) | facts.pid.value;
                }
                rec.pid = 0;
                index.candidates(&rec, cap, cands);
                let (res, p) = best_resident(&linking, &calibration, &rec, cands, wrong_resident)?;
                let at = RowRef {
                    source: s as u16,
                    row: r as u32,
                };
                let p = (p * 1e6).round() / 1e6;
                let pid = id_string(recs[res as usize].pid);
                let finding = Finding::new(at, Rule::LinkSuggested, "personal_id")
                    .value(pid_col.get(r))
                    .suggest(pid)
                    .related(at0(res), Some(p));
                Some((
                    Link {
                        at,
                        resident: res,
                        probability: p,
                    },
                    finding,
                ))
            })
            .collect();
        let mut stats = LinkStats {
            source: table.name.clone(),
            rows_to_link: owed.len(),
            linked: 0,
            ids_found: calibration.rho,
            candidate_recall: calibration.beta,
        };
        for (link, finding) in found.into_iter().flatten() {
            stats.linked += 1;
            result.links.push(link);
            result.findings.push(finding);
        }
        result.linking.push(stats);
    }
    link_deaths(input, &linking, &index, model, result);
}

/// Deaths registered without a usable ID: find the resident by name and birth date.
fn link_deaths(
    input: &CheckInput,
    linking: &Linking,
    index: &LinkIndex,
    model: &Model,
    result: &mut MatchResult,
) {
    let Some(deaths) = input.deaths else {
        return;
    };
    let prepared = crate::rules::Prepared::new(deaths);
    let drecs = features(deaths, &prepared);
    let (residents, _) = input.residents();
    let r_death = residents.col("death_date");
    let dd = deaths.col("death_date");
    let cap = input.config.matching.max_block_size;
    let calibration = link_calibration(deaths, &prepared, input, index, model, cap);
    let mut stats = LinkStats {
        source: deaths.name.clone(),
        rows_to_link: 0,
        linked: 0,
        ids_found: calibration.rho,
        candidate_recall: calibration.beta,
    };
    let mut cands = Vec::new();
    for (r, rec) in drecs.iter().enumerate() {
        if prepared.rows[r].pid.is_valid() {
            continue; // matched by ID in the rules
        }
        stats.rows_to_link += 1;
        index.candidates(rec, cap, &mut cands);
        let mut rec = rec.clone();
        rec.pid = 0;
        if let Some((res, p)) = best_resident(linking, &calibration, &rec, &cands, None) {
            stats.linked += 1;
            if r_death.opt(res as usize).is_none()
                && crate::dates::parse_date(dd.get(r)).valid().is_some()
            {
                result.findings.push(
                    Finding::new(at0(res), Rule::AliveDeceasedActive, "death_date")
                        .suggest(dd.get(r))
                        .score(p)
                        .note("hộ tịch đã khai tử (khớp theo họ tên, ngày sinh)"),
                );
            }
        }
    }
    result.linking.push(stats);
}
