//! Linking: extract rows without a usable ID (or whose ID points to a resident with another
//! name), and deaths registered without one, matched to the resident who is their person.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::blocking::{self, keyed, BlockPass, LINK_PASSES};
use super::comparisons::{compare, Field, Pattern};
use super::decide::{round6, Doubt, ReviewPair};
use super::features::{self, Rec};
use super::model::Model;
use super::{ClusterMember, Link, LinkStats, Pair};
use crate::core::{CheckInput, Column, Finding, Prepared, RowRef, Rule, SourceKind, Table};
use crate::ids::{id_string, IdClass};

/// Residents indexed by the linking keys ([`LINK_PASSES`]): per pass, the rows sorted by
/// their key (4 bytes a row, and in `check` only the blocks a [`LinkPlan`] looks up; the key
/// is recomputed from the features during the binary search, which only the few records
/// being linked do).
pub struct LinkIndex<'a> {
    recs: &'a [Rec],
    passes: Vec<SortedPass>,
    /// The residents with a well-formed ID, for rows whose ID was typed wrong.
    ids: Option<&'a crate::core::PidIndex>,
}

impl<'a> LinkIndex<'a> {
    /// The index from the rows deduplication blocking already sorted by the linking passes'
    /// keys ([`Candidates::link_rows`](super::blocking::Candidates)).
    pub fn from_sorted(
        recs: &'a [Rec],
        rows: Vec<(&'static BlockPass, Vec<u32>)>,
        ids: Option<&'a crate::core::PidIndex>,
    ) -> Self {
        LinkIndex {
            recs,
            passes: rows
                .into_iter()
                .map(|(pass, rows)| SortedPass::new(recs, pass, rows))
                .collect(),
            ids,
        }
    }

    /// The residents whose ID `r`'s ID, typed wrong, could have been (at most `cap` per ID),
    /// sorted.
    pub fn typed_candidates(&self, r: &Rec, cap: usize, out: &mut Vec<u32>) {
        out.clear();
        self.push_typed(r, cap, out);
        out.sort_unstable();
        out.dedup();
    }

    fn push_typed(&self, r: &Rec, cap: usize, out: &mut Vec<u32>) {
        if let Some(ids) = self.ids {
            for id in probe_ids(r) {
                out.extend(ids.rows(id).take(cap));
            }
        }
    }

    /// The residents the passes propose for `r` (at most `cap` per pass, in the pass's
    /// scope), and those its ID typed wrong could have been, sorted.
    pub fn candidates(&self, r: &Rec, cap: usize, out: &mut Vec<u32>) {
        out.clear();
        for sorted in &self.passes {
            let key = sorted.pass.single_key();
            let k = key(r);
            if k == 0 {
                continue;
            }
            let block = sorted
                .block(self.recs, k)
                .iter()
                .map(|&e| (e, &self.recs[e as usize]))
                .take_while(|e| key(e.1) == k);
            block_candidates(sorted.pass, r, block, cap, out);
        }
        self.push_typed(r, cap, out);
        out.sort_unstable();
        out.dedup();
    }

    /// The candidates of a row owed a link for `why`: only the residents its ID typed wrong
    /// could have been when its well-formed ID resolves to nobody (see `best_resident`).
    fn candidates_for(&self, r: &Rec, why: Owed, cap: usize, out: &mut Vec<u32>) {
        if why == Owed::Unknown {
            self.typed_candidates(r, cap, out);
        } else {
            self.candidates(r, cap, out);
        }
    }
}

/// The residents one linking pass proposes for `r` from its block — every resident with `r`'s
/// key for the pass, in row order, with its features — appended to `out`: a broad pass's
/// block over its own size is no evidence (as in deduplication), or is proposed in its
/// narrower scope; at most `cap` residents.
pub fn block_candidates<'r>(
    pass: &BlockPass,
    r: &Rec,
    block: impl Iterator<Item = (u32, &'r Rec)> + Clone,
    cap: usize,
    out: &mut Vec<u32>,
) {
    let scope = match pass.small_blocks {
        Some(small) if block.clone().nth(small).is_some() => match pass.beyond {
            Some(s) => s,
            None => return,
        },
        _ => pass.scope(),
    };
    out.extend(
        block
            .filter(|(_, b)| scope.keeps(r, b))
            .take(cap)
            .map(|e| e.0),
    );
}

/// One linking pass's resident rows sorted by (key, row), the order of `keyed`, with every
/// [`FENCE`]th row's key: a search touches a few records instead of twenty (each a cache miss
/// in a register of millions, for every pass of every row linked).
struct SortedPass {
    pass: &'static BlockPass,
    rows: Vec<u32>,
    fences: Vec<u64>,
}

const FENCE: usize = 64;

impl SortedPass {
    fn new(recs: &[Rec], pass: &'static BlockPass, rows: Vec<u32>) -> Self {
        let key = pass.single_key();
        let fences = rows
            .iter()
            .step_by(FENCE)
            .map(|&r| key(&recs[r as usize]))
            .collect();
        SortedPass { pass, rows, fences }
    }

    /// The rows from the first whose key is `k` (or is the next key) on.
    fn block(&self, recs: &[Rec], k: u64) -> &[u32] {
        let key = self.pass.single_key();
        // The first fence at or after `k`: the block starts after the fence before it.
        let f = self.fences.partition_point(|&e| e < k);
        let lo = f.saturating_sub(1) * FENCE;
        let hi = (f * FENCE).min(self.rows.len());
        let window = &self.rows[lo..hi.max(lo)];
        let at = lo + window.partition_point(|&r| key(&recs[r as usize]) < k);
        &self.rows[at..]
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
    people: &'a People,
    threshold: f64,
    /// Rows whose plausible people together reach this go to review.
    review: f64,
    /// Link only to a resident with a personal ID (there is an ID to suggest). Births are
    /// linked to find the child's record, with or without one.
    require_id: bool,
}

/// What linking a row found.
#[derive(Debug)]
pub enum Outcome {
    /// The resident row to link, and the probability.
    Linked(u32, f64),
    /// Two or more people each plausible (their best rows and shares): for review.
    Ambiguous(Vec<(u32, f64)>),
    None,
}

/// A person whose share of a row's probability reaches this is plausible (`link.ambiguous`
/// lists every such person when none reaches the link threshold).
const PLAUSIBLE: f64 = 0.1;

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
/// person registered without any gets no link, there is no ID to suggest, and a row whose
/// plausible people have no ID between them is not sent to review for the same reason.
///
/// A row whose ID is another resident's (`owner`: the rules found the names disagree) is
/// compared with that resident too, the ID counting for them as a shared ID counts between
/// two resident records: a name typed with a typo on a row carrying its own ID is that
/// resident's row, not a namesake's. Only when another person is far likelier is the row
/// linked to them; when the owner stays plausible, nothing is linked (the row's
/// `xref.mismatch` says what to verify).
fn best_resident(
    l: &Linking,
    c: &LinkCalibration,
    r: &Rec,
    cands: &[u32],
    owner: Option<u32>,
    needs_id_evidence: bool,
) -> Outcome {
    let background = c.background;
    let recs = l.recs;
    let id_weight = {
        let pid = Field::Pid.index();
        (c.model.m[pid][0] / c.model.u[pid][0]).log2()
    };
    // (weight, row, person) per candidate.
    let mut scored: Vec<(f64, u32, u64)> = cands
        .iter()
        .copied()
        .filter(|&c| Some(c) != owner)
        .chain(owner)
        .filter_map(|row| {
            let b = &recs[row as usize];
            let w = c.model.link_weight(&compare(r, b), r, b)?;
            let w = if Some(row) == owner { w + id_weight } else { w };
            Some((w, row, l.people.key(recs, row)))
        })
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let Some(&(w1, c1, person)) = scored.first() else {
        return Outcome::None;
    };
    // A row whose well-formed ID resolves to nobody is linked only to a resident whose ID it
    // is one keystroke from: otherwise it is most likely someone not in the register.
    if needs_id_evidence {
        let typo = compare(r, &recs[c1 as usize])[Field::IdTypo];
        if typo != Field::IdTypo.level("within_one_edit") {
            return Outcome::None;
        }
    }
    // Sums of 2^w, scaled by the largest term so that none overflows.
    let top = w1.max(background);
    let mut all = (background - top).exp2();
    let mut per_person: Vec<(u64, f64, u32)> = Vec::new();
    for &(w, row, who) in &scored {
        let bf = (w - top).exp2();
        all += bf;
        match per_person.iter_mut().find(|e| e.0 == who) {
            Some(e) => e.1 += bf,
            None => per_person.push((who, bf, row)),
        }
    }
    let p = per_person[0].1 / all;
    if let Some(o) = owner {
        let theirs = l.people.key(recs, o);
        let share = per_person
            .iter()
            .find(|e| e.0 == theirs)
            .map_or(0.0, |e| e.1 / all);
        if share >= PLAUSIBLE {
            return Outcome::None;
        }
    }
    // The row a person's link goes to: the record suggested to keep of their cluster (`row`'s),
    // else their best candidate, with a personal ID unless none is required; None when they
    // have no such row.
    let row_to_link = |who: u64, row: u32| {
        let usable = |r: u32| recs[r as usize].pid != 0 || !l.require_id;
        l.people
            .cluster(row)
            .map(|(_, k)| k)
            .filter(|&k| usable(k) && Some(k) != owner)
            .or_else(|| {
                scored
                    .iter()
                    .find(|&&(_, c, w)| w == who && usable(c))
                    .map(|&(_, c, _)| c)
            })
    };
    if p < l.threshold {
        let plausible: Vec<(u32, f64)> = per_person
            .iter()
            .map(|&(_, bf, row)| (row, bf / all))
            .filter(|&(_, share)| share >= PLAUSIBLE)
            .collect();
        let total: f64 = plausible.iter().map(|x| x.1).sum();
        // A row none of whose plausible people has a row to link (an ID, when linking looks
        // for one to suggest) is not for review: verifying it could give the row nothing.
        let any_to_link = || {
            per_person
                .iter()
                .filter(|&&(_, bf, _)| bf / all >= PLAUSIBLE)
                .any(|&(who, _, row)| row_to_link(who, row).is_some())
        };
        return if plausible.len() >= 2 && total >= l.review && any_to_link() {
            Outcome::Ambiguous(plausible)
        } else {
            Outcome::None
        };
    }
    match row_to_link(person, c1) {
        Some(row) => Outcome::Linked(row, p),
        None => Outcome::None,
    }
}

/// Decide one row owed a link (`why`) among its candidates.
fn decide(l: &Linking, c: &LinkCalibration, rec: &Rec, why: Owed, cands: &[u32]) -> Outcome {
    let owner = match why {
        Owed::WrongResident(res) => Some(res),
        _ => None,
    };
    best_resident(l, c, rec, cands, owner, why == Owed::Unknown)
}

/// How the rows owed a link are decided: against the whole register's index (one machine),
/// or as a partitioned driver does it (see [`LinkGroup`]), the answer being the same.
#[derive(Clone, Copy, Debug)]
pub enum Deciding {
    Whole,
    /// In this many groups of rows: first each row's candidates, pass by pass, from that
    /// pass's blocks of residents (every resident's (key, row) sorted, as a shuffle by key
    /// brings a block together) and from the residents carrying the IDs its mistyped ID could
    /// have been; then each group decided against a [`LinkGroup`] of only the residents its
    /// rows need.
    Groups(usize),
    /// As a partitioned driver runs it through the Arrow kernels of `kernels::link`, the
    /// lookups shuffled into this many parts by (pass, key); then decided as `Groups`.
    Parts(usize),
}

/// The residents a group of rows to link is decided against: each row's candidates (from
/// [`block_candidates`] per linking pass and the IDs of [`probe_ids`]), each row's owner (the
/// resident its ID points to), and the record kept for each duplicate cluster among them —
/// with, per resident, its row in the register, its features, whether its ID is in the ID
/// index, and its cluster. Rows are numbered locally in the order of their resident rows.
pub struct LinkGroup {
    /// Resident rows, sorted.
    rows: Vec<u32>,
    recs: Vec<Rec>,
    /// (ID, local row) of the residents in the ID index, sorted.
    ids: Vec<(u64, u32)>,
    /// (local row, cluster, local row kept) of the clustered residents, sorted.
    clustered: Vec<(u32, u32, u32)>,
}

/// One resident of a [`LinkGroup`].
pub struct GroupResident {
    /// Its row in the register.
    pub row: u32,
    pub rec: Rec,
    /// Its ID is in the register's ID index (well formed).
    pub indexed: bool,
    /// Its duplicate cluster and the row kept for it.
    pub cluster: Option<(u32, u32)>,
}

/// The keys a row owed a link is looked up by: (linking pass, key) for each pass whose key it
/// has (none for a row linked only through its ID typed wrong).
pub fn link_keys(rec: &Rec, why: Owed) -> Vec<(usize, u64)> {
    if why == Owed::Unknown {
        return Vec::new();
    }
    LINK_PASSES
        .iter()
        .enumerate()
        .map(|(i, n)| (i, blocking::pass(n).single_key()(rec)))
        .filter(|e| e.1 != 0)
        .collect()
}

/// The pseudo-pass of the residents carrying one well-formed ID: what a driver shuffles
/// beside the linking passes ([`lookups`], [`resident_lookups`]) to find the residents a
/// mistyped ID could have been.
pub const ID_PASS: usize = LINK_PASSES.len();

/// Every (pass, key) a row owed a link looks residents up by: its linking passes' keys
/// ([`link_keys`]), and under [`ID_PASS`] each ID its ID, typed wrong, could have been.
pub fn lookups(rec: &Rec, why: Owed) -> Vec<(usize, u64)> {
    let mut out = link_keys(rec, why);
    out.extend(probe_ids(rec).into_iter().map(|id| (ID_PASS, id)));
    out
}

/// Every (pass, key) a resident is found by: its linking passes' keys, and under [`ID_PASS`]
/// its ID when it is in the ID index (`indexed`).
pub fn resident_lookups(rec: &Rec, indexed: bool) -> impl Iterator<Item = (usize, u64)> + '_ {
    LINK_PASSES
        .iter()
        .enumerate()
        .map(|(i, n)| (i, blocking::pass(n).single_key()(rec)))
        .chain(indexed.then_some((ID_PASS, rec.pid)))
        .filter(|e| e.1 != 0)
}

/// The candidates one (pass, key) of [`lookups`] gives `r` from its block — every resident
/// of [`resident_lookups`] with that (pass, key), in row order — appended to `out`: a
/// linking pass's as [`block_candidates`] takes them, the first `cap` residents carrying an
/// ID under [`ID_PASS`].
pub fn lookup_candidates<'r>(
    pass: usize,
    r: &Rec,
    block: impl Iterator<Item = (u32, &'r Rec)> + Clone,
    cap: usize,
    out: &mut Vec<u32>,
) {
    if pass == ID_PASS {
        out.extend(block.take(cap).map(|e| e.0));
    } else {
        block_candidates(blocking::pass(LINK_PASSES[pass]), r, block, cap, out);
    }
}

/// The IDs a row's ID, typed wrong, could have been.
pub fn probe_ids(rec: &Rec) -> Vec<u64> {
    if rec.pid_typed == 0 {
        return Vec::new();
    }
    crate::ids::one_edit_ids(rec.pid_typed)
}

impl LinkGroup {
    /// A group from the residents a driver gathered. Every kept row must be among them.
    pub fn new(mut residents: Vec<GroupResident>) -> Self {
        residents.sort_unstable_by_key(|e| e.row);
        residents.dedup_by_key(|e| e.row);
        let rows: Vec<u32> = residents.iter().map(|e| e.row).collect();
        let local = |row: u32| rows.binary_search(&row).ok().map(|i| i as u32);
        let mut ids: Vec<(u64, u32)> = Vec::new();
        let mut clustered = Vec::new();
        for (i, e) in residents.iter().enumerate() {
            if e.indexed {
                ids.push((e.rec.pid, i as u32));
            }
            if let Some((c, kept)) = e.cluster {
                if let Some(k) = local(kept) {
                    clustered.push((i as u32, c, k));
                }
            }
        }
        ids.sort_unstable();
        LinkGroup {
            recs: residents.into_iter().map(|e| e.rec).collect(),
            rows,
            ids,
            clustered,
        }
    }

    /// Work on the group's residents as on a register of its own.
    fn view<R>(&self, f: impl FnOnce(&View) -> R) -> R {
        let ids = crate::core::PidIndex::from_sorted(self.ids.clone());
        let people = People {
            clustered: self.clustered.clone(),
        };
        f(&View {
            recs: &self.recs,
            ids: Some(&ids),
            people: &people,
            rows: Some(&self.rows),
        })
    }
}

/// Every linking pass's (key, row) of the residents, sorted: a pass's block of one key is
/// adjacent, as a shuffle by (pass, key) brings it together.
struct Blocks(Vec<(&'static BlockPass, Vec<(u64, u32)>)>);

impl Blocks {
    fn of(recs: &[Rec]) -> Self {
        Blocks(
            LINK_PASSES
                .iter()
                .map(|n| {
                    let pass = blocking::pass(n);
                    (pass, keyed(recs, pass.single_key()))
                })
                .collect(),
        )
    }

    /// A row's candidates, as [`LinkIndex::candidates_for`] gives them, from the blocks of its
    /// keys and the residents carrying its probed IDs.
    fn candidates(&self, index: &LinkIndex, r: &Rec, why: Owed, cap: usize, out: &mut Vec<u32>) {
        out.clear();
        for (p, k) in link_keys(r, why) {
            let (pass, keyed) = &self.0[p];
            let at = keyed.partition_point(|e| e.0 < k);
            let block = keyed[at..]
                .iter()
                .take_while(|e| e.0 == k)
                .map(|e| (e.1, &index.recs[e.1 as usize]));
            block_candidates(pass, r, block, cap, out);
        }
        index.push_typed(r, cap, out);
        out.sort_unstable();
        out.dedup();
    }
}

/// The residents rows are decided against: the whole register, or a group's.
struct View<'v> {
    recs: &'v [Rec],
    ids: Option<&'v crate::core::PidIndex>,
    people: &'v People,
    /// The register's row of each of the view's rows (None: the whole register).
    rows: Option<&'v [u32]>,
}

impl View<'_> {
    fn local(&self, row: u32) -> u32 {
        match self.rows {
            None => row,
            Some(rows) => {
                rows.binary_search(&row)
                    .expect("a group holds the residents its rows need") as u32
            }
        }
    }

    fn locals(&self, rows: &[u32]) -> Vec<u32> {
        rows.iter().map(|&r| self.local(r)).collect()
    }

    fn global(&self, row: u32) -> u32 {
        self.rows.map_or(row, |rows| rows[row as usize])
    }

    fn linking(&self, s: Settings) -> Linking<'_> {
        Linking {
            recs: self.recs,
            people: self.people,
            threshold: s.threshold,
            review: s.review,
            require_id: s.require_id,
        }
    }
}

/// The settings a row is decided with, apart from its source's calibration.
#[derive(Clone, Copy)]
pub struct Settings {
    threshold: f64,
    review: f64,
    require_id: bool,
}

impl Settings {
    /// The run's thresholds; `require_id`: link only to a resident with a personal ID (every
    /// source but births, which are linked to find the child's record).
    pub fn of(m: &crate::core::MatchSettings, require_id: bool) -> Self {
        Settings {
            threshold: m.link_threshold,
            review: m.review_threshold,
            require_id,
        }
    }
}

/// What linking every source reads: the register's index and people, the model, and how rows
/// are decided.
struct Linker<'i, 'a> {
    input: &'i CheckInput<'a>,
    index: &'i LinkIndex<'i>,
    people: People,
    model: &'i Model,
    deciding: Deciding,
    cap: usize,
}

impl Linker<'_, '_> {
    /// `f` for each of `rows` (by its position) with its candidates, as `deciding` says: over
    /// the whole register, or group by group (see [`Deciding::Groups`]).
    fn over_rows<T: Send>(
        &self,
        rows: &[(Rec, Owed)],
        f: impl Fn(&View, usize, &[u32]) -> T + Sync + Send,
    ) -> Vec<T> {
        match self.deciding {
            Deciding::Whole => {
                let v = View {
                    recs: self.index.recs,
                    ids: self.index.ids,
                    people: &self.people,
                    rows: None,
                };
                (0..rows.len())
                    .into_par_iter()
                    .with_min_len(256)
                    .map_init(Vec::new, |cands, i| {
                        let (rec, why) = &rows[i];
                        self.index.candidates_for(rec, *why, self.cap, cands);
                        f(&v, i, cands)
                    })
                    .collect()
            }
            Deciding::Groups(n) => {
                let blocks = Blocks::of(self.index.recs);
                let size = rows.len().div_ceil(n.max(1)).max(1);
                let mut out = Vec::with_capacity(rows.len());
                for (g, part) in rows.chunks(size).enumerate() {
                    let cands: Vec<Vec<u32>> = part
                        .iter()
                        .map(|(rec, why)| {
                            let mut c = Vec::new();
                            blocks.candidates(self.index, rec, *why, self.cap, &mut c);
                            c
                        })
                        .collect();
                    let need = self.needed(
                        cands.iter().flatten().copied(),
                        part.iter().map(|(_, why)| *why),
                    );
                    let group =
                        LinkGroup::new(need.into_iter().map(|row| self.resident(row)).collect());
                    group.view(|v| {
                        for (j, c) in cands.iter().enumerate() {
                            let local: Vec<u32> = c.iter().map(|&r| v.local(r)).collect();
                            out.push(f(v, g * size + j, &local));
                        }
                    });
                }
                out
            }
            Deciding::Parts(n) => self
                .over_parts(rows, n, f)
                .expect("the linking kernels read the batches they are given"),
        }
    }

    /// `over_rows` as a partitioned driver runs it: the kernels of `kernels::link` over
    /// batches, the lookups of residents and rows split into `n` parts by (pass, key) (those of
    /// residents kept only for the keys rows look up, whole), then each row decided against
    /// the group the kernels decode.
    fn over_parts<T>(
        &self,
        rows: &[(Rec, Owed)],
        n: usize,
        f: impl Fn(&View, usize, &[u32]) -> T,
    ) -> crate::error::Result<Vec<T>> {
        use crate::kernels::link as k;
        use arrow_array::{Array, BinaryArray, Int32Array, Int64Array, RecordBatch};
        use std::sync::Arc;
        let n = n.max(1);
        let recs = self.index.recs;
        let binary = |it: &mut dyn Iterator<Item = &Rec>| {
            let mut buf = Vec::new();
            let v: Vec<Vec<u8>> = it
                .map(|r| {
                    buf.clear();
                    r.encode(&mut buf);
                    buf.clone()
                })
                .collect();
            Arc::new(BinaryArray::from_iter_values(v)) as Arc<dyn Array>
        };
        let batch = |cols: Vec<(&str, Arc<dyn Array>)>| {
            RecordBatch::try_from_iter(cols).map_err(crate::error::Error::internal)
        };
        let entries = |b: &RecordBatch| -> Vec<(i32, i64, i64)> {
            let col = |i: usize| b.column(i).as_any().downcast_ref::<Int64Array>().cloned();
            let pass = b.column(0).as_any().downcast_ref::<Int32Array>().cloned();
            let (pass, key, row) = (pass.unwrap(), col(1).unwrap(), col(2).unwrap());
            (0..b.num_rows())
                .map(|i| (pass.value(i), key.value(i), row.value(i)))
                .collect()
        };
        // Step 1: the residents' lookups, part by part of the register.
        let size = recs.len().div_ceil(n).max(1);
        let mut residents: Vec<(i32, i64, i64)> = Vec::new();
        for (c, chunk) in recs.chunks(size).enumerate() {
            let first = c * size;
            let rank = (first..first + chunk.len()).map(|r| {
                let valid_id = self.resident(r as u32).indexed;
                crate::matching::cluster::KeepRank {
                    valid_id,
                    in_province: false,
                    filled: 0,
                }
                .pack() as i32
            });
            let b = batch(vec![
                (
                    "row",
                    Arc::new(Int64Array::from_iter_values(
                        (first..first + chunk.len()).map(|r| r as i64),
                    )),
                ),
                ("rank", Arc::new(Int32Array::from_iter_values(rank))),
                ("rec", binary(&mut chunk.iter())),
            ])?;
            residents.extend(entries(&k::resident_lookups(&b)?));
        }
        // Step 2: the rows' lookups.
        let (codes, _): (Vec<i32>, Vec<_>) = rows.iter().map(|r| k::owed_code(r.1)).unzip();
        let b = batch(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..rows.len() as i64)),
            ),
            ("rec", binary(&mut rows.iter().map(|r| &r.0))),
            ("why", Arc::new(Int32Array::from(codes))),
        ])?;
        let owed = entries(&k::owed_lookups(&b)?);
        // Step 3: the shuffle by (pass, key) and the candidates per block.
        let looked: std::collections::HashSet<(i32, i64)> =
            owed.iter().map(|e| (e.0, e.1)).collect();
        let part = |e: &(i32, i64, i64)| {
            (crate::kernels::key_part(e.1 as u64 ^ (e.0 as u64) << 56, n as u32)) as usize
        };
        let mut parts: Vec<Vec<(i32, i64, i32, i64)>> = vec![Vec::new(); n];
        for e in residents.iter().filter(|e| looked.contains(&(e.0, e.1))) {
            parts[part(e)].push((e.0, e.1, 0, e.2));
        }
        for e in &owed {
            parts[part(e)].push((e.0, e.1, 1, e.2));
        }
        let mut cands: Vec<Vec<u32>> = vec![Vec::new(); rows.len()];
        for mut p in parts {
            p.sort_unstable();
            let rec_of = |e: &(i32, i64, i32, i64)| {
                if e.2 == 0 {
                    &recs[e.3 as usize]
                } else {
                    &rows[e.3 as usize].0
                }
            };
            let b = batch(vec![
                (
                    "pass",
                    Arc::new(Int32Array::from_iter_values(p.iter().map(|e| e.0))),
                ),
                (
                    "key",
                    Arc::new(Int64Array::from_iter_values(p.iter().map(|e| e.1))),
                ),
                (
                    "side",
                    Arc::new(Int32Array::from_iter_values(p.iter().map(|e| e.2))),
                ),
                (
                    "row",
                    Arc::new(Int64Array::from_iter_values(p.iter().map(|e| e.3))),
                ),
                ("rec", binary(&mut p.iter().map(rec_of))),
            ])?;
            let c = k::block_candidates(&b, self.cap)?;
            let col = |i: usize| c.column(i).as_any().downcast_ref::<Int64Array>().cloned();
            let (id, row) = (col(0).unwrap(), col(1).unwrap());
            for i in 0..c.num_rows() {
                cands[id.value(i) as usize].push(row.value(i) as u32);
            }
        }
        // Step 4: per row, the residents it needs, in groups; each row decided in its group.
        let mut out: Vec<Option<T>> = (0..rows.len()).map(|_| None).collect();
        let size = rows.len().div_ceil(n).max(1);
        let common = super::model::CommonNames::of_model(self.model);
        for first in (0..rows.len()).step_by(size) {
            let mut g = k::GroupsBuilder::default();
            for (i, c) in cands.iter_mut().enumerate().skip(first).take(size) {
                c.sort_unstable();
                c.dedup();
                let (rec, why) = &rows[i];
                g.owed(i as i64, rec, *why);
                for r in self.needed(c.iter().copied(), [*why]) {
                    g.resident(i as i64, &self.resident(r), c.binary_search(&r).is_ok());
                }
            }
            for grouped in k::groups(&g.finish()?, &common)? {
                let i = grouped.id as usize;
                out[i] = Some(grouped.group.view(|v| {
                    let local: Vec<u32> = grouped.candidates.iter().map(|&r| v.local(r)).collect();
                    f(v, i, &local)
                }));
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every row decided"))
            .collect())
    }

    /// The residents rows need to be decided: their candidates, the residents their IDs point
    /// to (`whys`), and the record kept for each cluster among them; sorted.
    fn needed(
        &self,
        candidates: impl Iterator<Item = u32>,
        whys: impl IntoIterator<Item = Owed>,
    ) -> Vec<u32> {
        let mut need: Vec<u32> = candidates.collect();
        need.extend(whys.into_iter().filter_map(|why| match why {
            Owed::WrongResident(res) => Some(res),
            _ => None,
        }));
        let kept: Vec<u32> = need
            .iter()
            .filter_map(|&r| self.people.cluster(r).map(|c| c.1))
            .collect();
        need.extend(kept);
        need.sort_unstable();
        need.dedup();
        need
    }

    /// A resident as a group holds it.
    fn resident(&self, row: u32) -> GroupResident {
        let rec = &self.index.recs[row as usize];
        let indexed = self
            .index
            .ids
            .is_some_and(|ids| rec.pid != 0 && ids.rows(rec.pid).any(|r| r == row));
        GroupResident {
            row,
            rec: rec.clone(),
            indexed,
            cluster: self.people.cluster(row),
        }
    }

    /// Decide every row owed a link, with resident rows as the register numbers them.
    fn decide_all(
        &self,
        settings: Settings,
        c: &LinkCalibration,
        rows: &[(Rec, Owed)],
    ) -> Vec<Outcome> {
        self.over_rows(rows, |v, i, cands| {
            let (rec, why) = &rows[i];
            v.decide(settings, c, rec, *why, cands)
        })
    }
}

impl View<'_> {
    /// Decide a row owed a link (`why` naming its owner by register row) among its candidates
    /// (the view's rows): the outcome with register rows.
    fn decide(
        &self,
        settings: Settings,
        c: &LinkCalibration,
        rec: &Rec,
        why: Owed,
        cands: &[u32],
    ) -> Outcome {
        let why = match why {
            Owed::WrongResident(res) => Owed::WrongResident(self.local(res)),
            w => w,
        };
        match decide(&self.linking(settings), c, rec, why, cands) {
            Outcome::Linked(r, p) => Outcome::Linked(self.global(r), p),
            Outcome::Ambiguous(people) => Outcome::Ambiguous(
                people
                    .into_iter()
                    .map(|(r, s)| (self.global(r), s))
                    .collect(),
            ),
            Outcome::None => Outcome::None,
        }
    }

    /// A sampled row's comparison with its resident (carrying `id`), when its candidates hold
    /// it.
    fn sample_pattern(&self, rec: &Rec, id: u64, cands: &[u32]) -> Option<Pattern> {
        let res = self.ids?.rows(id).find(|res| cands.contains(res))?;
        Some(compare(rec, &self.recs[res as usize]))
    }

    /// A row's comparisons with every candidate, for EM.
    fn em_patterns(&self, rec: &Rec, cands: &[u32]) -> Vec<Pattern> {
        cands
            .iter()
            .map(|&c| compare(rec, &self.recs[c as usize]))
            .collect()
    }
}

impl LinkGroup {
    /// Decide a row owed a link against the group (its candidates and owner by register row).
    pub fn decide(
        &self,
        settings: Settings,
        c: &LinkCalibration,
        rec: &Rec,
        why: Owed,
        cands: &[u32],
    ) -> Outcome {
        self.view(|v| v.decide(settings, c, rec, why, &v.locals(cands)))
    }

    /// A sampled row's comparison with its resident carrying `id` among its candidates.
    pub fn sample_pattern(&self, rec: &Rec, id: u64, cands: &[u32]) -> Option<Pattern> {
        self.view(|v| v.sample_pattern(rec, id, &v.locals(cands)))
    }

    /// A row's comparisons with each of its candidates.
    pub fn em_patterns(&self, rec: &Rec, cands: &[u32]) -> Vec<Pattern> {
        self.view(|v| v.em_patterns(rec, &v.locals(cands)))
    }

    /// The record of a resident of the group, by register row.
    pub fn rec(&self, row: u32) -> Option<&Rec> {
        let i = self.rows.binary_search(&row).ok()?;
        Some(&self.recs[i])
    }
}

/// How one source's rows are linked: the model and the background of `best_resident`, and
/// the shares they come from (for the summary).
pub struct LinkCalibration {
    model: Model,
    /// The weight (log2, in Bayes-factor units) of "the row's person is none of its
    /// candidates".
    background: f64,
    /// ρ: the share of the source's well-formed IDs found among the residents.
    rho: f64,
    /// β: the share of rows with a resident's ID whose resident the passes propose without it
    /// (None when there was nothing to link, so nothing was measured).
    beta: Option<f64>,
}

impl Linker<'_, '_> {
    /// Calibrate linking on a source's own rows whose personal ID is well formed and found
    /// among the residents: they are rows whose person is known ([`Sample`]).
    ///
    /// A priori each of the N residents is the person with probability ρ/N, and nobody is
    /// with 1 − ρ; residents the passes did not propose disagree on their keys, and their
    /// Bayes factors sum to about N(1 − β). So the background is N((1 − β) + (1 − ρ)/ρ). The
    /// model's m is re-estimated from the comparisons of those rows (ID set aside) with their
    /// residents, where the passes propose them (`Model::with_m_from`).
    fn link_calibration(&self, sample: &Sample, owed: &[(Rec, Owed)]) -> LinkCalibration {
        let (rho, model) = (sample.rho, self.model);
        if owed.is_empty() {
            return LinkCalibration::nothing_to_link(model, rho);
        }
        // Per sampled row: the comparison with its resident when the passes propose it.
        let proposed: Vec<Option<Pattern>> = self.over_rows(&sample.rows, |v, i, cands| {
            v.sample_pattern(&sample.rows[i].0, sample.ids[i], cands)
        });
        let patterns: Vec<Pattern> = proposed.iter().flatten().copied().collect();
        LinkCalibration::from_sample(
            model,
            self.index.recs.len(),
            rho,
            sample.rows.len(),
            &patterns,
        )
        .unwrap_or_else(|| self.calibration_by_em(&sample.em))
    }

    /// Calibrate linking on the rows to link themselves, for an extract with (almost) no IDs:
    /// EM on every (row, proposed resident) pair of up to 20 000 rows (taken at a fixed
    /// stride) re-estimates m, and the expected number of rows whose person is among their
    /// candidates gives ρβ (the passes' recall taken as 1, so ρ is that share and β is 1).
    fn calibration_by_em(&self, sampled: &[(Rec, Owed)]) -> LinkCalibration {
        let patterns: Vec<Vec<Pattern>> =
            self.over_rows(sampled, |v, i, cands| v.em_patterns(&sampled[i].0, cands));
        LinkCalibration::by_em(
            self.model,
            self.index.recs.len(),
            sampled.len(),
            patterns.into_iter().flatten(),
        )
    }
}

impl LinkCalibration {
    /// The model the calibration weighs comparisons with.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Nothing to link: only ρ is worth reporting.
    pub fn nothing_to_link(model: &Model, rho: f64) -> Self {
        LinkCalibration {
            model: model.clone(),
            background: 0.0,
            rho,
            beta: None,
        }
    }

    /// From the comparisons of the sampled rows whose resident the passes proposed (`patterns`,
    /// of `sampled` rows), among `residents`; None when too few resolve (calibrate by EM).
    pub fn from_sample(
        model: &Model,
        residents: usize,
        rho: f64,
        sampled: usize,
        patterns: &[Pattern],
    ) -> Option<Self> {
        if patterns.len() < MIN_RESOLVED_ROWS {
            return None;
        }
        let beta: f64 = (patterns.len() + 1) as f64 / (sampled + 2) as f64;
        let kappa: f64 = ((1.0 - beta) + (1.0 - rho) / rho).clamp(1e-3, 1.0);
        Some(LinkCalibration {
            model: model.with_m_from(patterns),
            background: (residents.max(1) as f64 * kappa).log2(),
            rho,
            beta: Some(beta),
        })
    }

    /// By EM on every (row, candidate) comparison of `sampled` rows to link.
    pub fn by_em(
        model: &Model,
        residents: usize,
        sampled: usize,
        patterns: impl Iterator<Item = Pattern>,
    ) -> Self {
        let mut counts: BTreeMap<Pattern, u64> = BTreeMap::new();
        let mut pairs = 0usize;
        for p in patterns {
            *counts.entry(p).or_default() += 1;
            pairs += 1;
        }
        let (fitted, share) = model.with_em_on(&counts);
        let rho = ((share * pairs as f64 + 1.0) / (sampled as f64 + 2.0)).clamp(1e-3, 1.0);
        let kappa = ((1.0 - rho) / rho).clamp(1e-3, 1.0);
        LinkCalibration {
            model: fitted,
            background: (residents.max(1) as f64 * kappa).log2(),
            rho,
            beta: Some(1.0),
        }
    }

    /// The calibration as JSON, for the executors of a partitioned driver.
    pub fn to_json(&self, m: crate::core::MatchSettings) -> crate::error::Result<String> {
        let file = CalibrationFile {
            model: crate::matching::saved::ModelFile::of(&self.model, "link", m),
            background: self.background,
            rho: self.rho,
            beta: self.beta,
        };
        serde_json::to_string(&file).map_err(crate::error::Error::internal)
    }

    pub fn from_json(json: &str) -> crate::error::Result<Self> {
        let bad = || crate::error::Error::Internal("a linking calibration it cannot read".into());
        let file: CalibrationFile = serde_json::from_str(json).map_err(|_| bad())?;
        Ok(LinkCalibration {
            model: file.model.model().map_err(|_| bad())?,
            background: file.background,
            rho: file.rho,
            beta: file.beta,
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CalibrationFile {
    model: crate::matching::saved::ModelFile,
    background: f64,
    rho: f64,
    beta: Option<f64>,
}

/// A row's features as a row to link of `kind` compares them: without its ID; an extract's CMND
/// typed in the ID column as a CMND; a birth registration's province from its commune when
/// the registration names none (`commune`: its commune code then).
pub fn row_rec(
    mut rec: Rec,
    facts: &crate::core::Facts,
    kind: SourceKind,
    commune: Option<&str>,
) -> Rec {
    if kind == SourceKind::Residents {
        return rec;
    }
    if kind.is_linked() && facts.pid.class == IdClass::OldCmnd {
        rec.cmnd = (9u64 << 56) | facts.pid.value;
    }
    if kind == SourceKind::Births {
        if let Some(c) = commune.and_then(|c| crate::reference::reference().commune(c)) {
            rec.province = features::h32(features::h64(&c.province_code));
        }
    }
    rec.pid = 0;
    rec
}

/// A row owed a link as compared: a well-formed ID that resolves to nobody (`valid`) is
/// compared as an ID typed wrong.
pub fn owed_rec(mut rec: Rec, valid: Option<u64>, why: Owed) -> Rec {
    if let (Owed::Unknown, Some(v)) = (why, valid) {
        rec.pid_typed = (12 << 56) | v;
    }
    rec
}

/// The rows of a source sampled to calibrate its linking (see `Linker::link_calibration`).
struct Sample {
    /// ρ: the share of the source's well-formed IDs (rows at a stride) found among the
    /// residents.
    rho: f64,
    /// Rows whose ID is a resident's, ID set aside, and that ID.
    rows: Vec<(Rec, Owed)>,
    ids: Vec<u64>,
    /// Rows to link at a stride, for EM when too few rows resolve.
    em: Vec<(Rec, Owed)>,
}

impl Sample {
    /// Rows taken at a fixed stride (about 100 000 visited, 5 000 compared; 20 000 rows to
    /// link for EM), so the result is the same whatever the number of threads. Nothing is
    /// sampled when there is nothing to link.
    fn of(input: &CheckInput, table: &Table, prepared: &Prepared, owed: &[(Rec, Owed)]) -> Self {
        const VISIT: usize = 100_000;
        // 5 000 rows measure ρ and β to about ±1 % and give m on thousands of pairs.
        const SAMPLE: usize = 5_000;
        const EM_SAMPLE: usize = 20_000;
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
        // Laplace's rule of succession keeps the shares off 0 and 1 on few rows.
        let rho: f64 = (found.len() + 1) as f64 / (with_id.len() + 2) as f64;
        if owed.is_empty() {
            return Sample {
                rho,
                rows: Vec::new(),
                ids: Vec::new(),
                em: Vec::new(),
            };
        }
        let stride = found.len().div_ceil(SAMPLE).max(1);
        let sample: Vec<(usize, u64)> = found.iter().copied().step_by(stride).collect();
        let at: Vec<usize> = sample.iter().map(|s| s.0).collect();
        // Compared as the source's rows to link are.
        let has_province = table.column(Column::ProvinceCode).is_present();
        let communes = table.column(Column::CommuneCode);
        let rows = features::features_of(table, prepared, &at)
            .into_iter()
            .zip(&at)
            .map(|(rec, &r)| {
                let commune = (!has_province).then(|| communes.get(r));
                (
                    row_rec(rec, &prepared.rows[r], table.kind, commune),
                    Owed::NoId,
                )
            })
            .collect();
        let stride = owed.len().div_ceil(EM_SAMPLE).max(1);
        let em = owed
            .iter()
            .step_by(stride)
            .map(|r| (r.0.clone(), Owed::NoId))
            .collect();
        Sample {
            rho,
            rows,
            ids: sample.iter().map(|s| s.1).collect(),
            em,
        }
    }
}

/// One source's rows owed a link (their rows in the source, and as compared) and the rows
/// sampled to calibrate it.
struct ToLink {
    at: Vec<usize>,
    rows: Vec<(Rec, Owed)>,
    sample: Sample,
}

impl ToLink {
    fn new(
        input: &CheckInput,
        table: &Table,
        prepared: &Prepared,
        at: Vec<usize>,
        rows: Vec<(Rec, Owed)>,
    ) -> Self {
        let sample = Sample::of(input, table, prepared, &rows);
        ToLink { at, rows, sample }
    }
}

/// What linking will look up, known before blocking (from the rules' findings): per linked
/// source, deaths and births, the rows owed a link and the rows sampled to calibrate it. So
/// the index of the residents keeps only the blocks of the keys they have
/// ([`LinkPlan::keys`]), whole.
pub struct LinkPlan {
    extracts: Vec<(usize, ToLink)>,
    deaths: Option<(Prepared, ToLink)>,
    /// Per births source: the resident each registration's ID finds, then the rest to link.
    births: Vec<(usize, Vec<Option<u32>>, ToLink)>,
}

impl LinkPlan {
    /// Mark the rows' names common or not, as the residents' are
    /// ([`super::model::CommonNames`]), before they are compared with them.
    pub fn mark_common(&mut self, common: &super::model::CommonNames) {
        let deaths = self.deaths.as_mut().map(|(_, t)| t);
        let births = self.births.iter_mut().map(|(_, _, t)| t);
        let all = self
            .extracts
            .iter_mut()
            .map(|(_, t)| t)
            .chain(deaths)
            .chain(births);
        for t in all {
            for rows in [&mut t.rows, &mut t.sample.rows] {
                rows.par_iter_mut()
                    .with_min_len(4096)
                    .for_each(|(r, _)| common.mark_one(r));
            }
        }
    }

    pub fn new(input: &CheckInput, rule_findings: &[Finding]) -> Self {
        let extracts = input
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind.is_linked())
            .map(|(s, table)| {
                let owed = crate::phase::traced("matching.link.owed", || {
                    owed_rows(input, rule_findings, s)
                });
                let prepared = &input.prepared[s];
                let at: Vec<usize> = owed.iter().map(|o| o.0).collect();
                let rows = features::features_of(table, prepared, &at)
                    .into_iter()
                    .zip(&owed)
                    .map(|(rec, &(r, why))| {
                        let facts = prepared.rows[r];
                        let rec = row_rec(rec, &facts, table.kind, None);
                        let valid = facts.pid.is_valid().then_some(facts.pid.value);
                        (owed_rec(rec, valid, why), why)
                    })
                    .collect();
                (s, ToLink::new(input, table, prepared, at, rows))
            })
            .collect();
        let deaths = input.deaths.map(|deaths| {
            let prepared = Prepared::new(deaths);
            // Rows with a valid ID were matched by ID in the rules.
            let at: Vec<usize> = (0..deaths.len())
                .filter(|&r| !prepared.rows[r].pid.is_valid())
                .collect();
            let rows = features::features_of(deaths, &prepared, &at)
                .into_iter()
                .zip(&at)
                .map(|(rec, &r)| {
                    (
                        row_rec(rec, &prepared.rows[r], deaths.kind, None),
                        Owed::NoId,
                    )
                })
                .collect();
            let to_link = ToLink::new(input, deaths, &prepared, at, rows);
            (prepared, to_link)
        });
        let births = input
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == SourceKind::Births)
            .map(|(s, table)| {
                let by_id = births_by_id(input, s);
                let prepared = &input.prepared[s];
                let at: Vec<usize> = (0..table.len()).filter(|&r| by_id[r].is_none()).collect();
                // A registration names its commune, not always its province: the province is
                // the commune's.
                let has_province = table.column(Column::ProvinceCode).is_present();
                let communes = input.cols[s][Column::CommuneCode];
                let rows = features::features_of(table, prepared, &at)
                    .into_iter()
                    .zip(&at)
                    .map(|(rec, &r)| {
                        let commune = (!has_province).then(|| communes.get(r));
                        (
                            row_rec(rec, &prepared.rows[r], table.kind, commune),
                            Owed::NoId,
                        )
                    })
                    .collect();
                (s, by_id, ToLink::new(input, table, prepared, at, rows))
            })
            .collect();
        LinkPlan {
            extracts,
            deaths,
            births,
        }
    }

    /// Per linking pass ([`LINK_PASSES`]), the keys looked up, sorted.
    pub fn keys(&self) -> Vec<Vec<u64>> {
        let mut keys: Vec<Vec<u64>> = vec![Vec::new(); LINK_PASSES.len()];
        let all = self
            .extracts
            .iter()
            .map(|e| &e.1)
            .chain(self.deaths.iter().map(|d| &d.1))
            .chain(self.births.iter().map(|b| &b.2));
        for t in all {
            let rows = t.rows.iter().chain(&t.sample.rows).chain(&t.sample.em);
            for (rec, why) in rows {
                for (p, k) in link_keys(rec, *why) {
                    keys[p].push(k);
                }
            }
        }
        for k in &mut keys {
            k.par_sort_unstable();
            k.dedup();
        }
        keys
    }
}

/// The resident each birth registration's personal ID finds, when that resident agrees on
/// the name or the birth date (a birth's own details may be the ones that differ).
pub(crate) fn births_by_id(input: &CheckInput, s: usize) -> Vec<Option<u32>> {
    use crate::compare::{compare_dates, compare_names, DateLevel, NameLevel};
    let (residents, rp) = input.residents();
    let r_name = residents.column(Column::FullName);
    let prepared = &input.prepared[s];
    let name = input.cols[s][Column::FullName];
    (0..input.tables[s].len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|r| {
            let facts = prepared.rows[r];
            if !facts.pid.is_valid() {
                return None;
            }
            input
                .pid_index
                .rows(facts.pid.value)
                .map(|c| {
                    let names = compare_names(name.get(r), r_name.get(c as usize));
                    let dates = match (facts.birth.valid(), rp.birth(c as usize)) {
                        (Some(a), Some(b)) => compare_dates(a, b),
                        _ => DateLevel::Different,
                    };
                    ((names, dates), c)
                })
                .min()
                .filter(|&((names, dates), _)| {
                    names <= NameLevel::Close || dates <= DateLevel::Compatible
                })
                .map(|(_, c)| c)
        })
        .collect()
}

/// Below this many rows whose ID resolves to a resident the passes propose, an extract is
/// calibrated by EM on its own rows to link instead.
const MIN_RESOLVED_ROWS: usize = 200;

/// What linking found: links and their findings, rows for review, and per source what it
/// measured.
#[derive(Default)]
pub struct Linked {
    pub links: Vec<Link>,
    pub findings: Vec<Finding>,
    /// The plausible residents of rows that fit several (`link.ambiguous`).
    pub review: Vec<ReviewPair>,
    pub stats: Vec<LinkStats>,
}

/// Why an extract row is owed a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owed {
    /// No usable ID (missing, a phone number, a CMND, malformed).
    NoId,
    /// Its ID is a resident's who has another name (xref.mismatch on full_name).
    WrongResident(u32),
    /// Its ID (well-formed, or restored from a dropped zero or separators) resolves to nobody.
    Unknown,
}

/// The rows of source `s` owed a link, sorted by row.
fn owed_rows(input: &CheckInput, rule_findings: &[Finding], s: usize) -> Vec<(usize, Owed)> {
    let prepared = &input.prepared[s];
    let mut owed: Vec<(usize, Owed)> = prepared
        .rows
        .iter()
        .enumerate()
        .filter_map(|(r, f)| match f.pid.personal_id() {
            None => Some((r, Owed::NoId)),
            Some(id) if input.pid_index.rows(id).next().is_none() => Some((r, Owed::Unknown)),
            Some(_) => None,
        })
        .collect();
    owed.extend(
        rule_findings
            .iter()
            .filter(|f| {
                f.at.source as usize == s
                    && f.rule == Rule::XrefMismatch
                    && f.field == Some(Column::FullName)
            })
            .filter_map(|f| Some((f.at.row as usize, Owed::WrongResident(f.related?.row)))),
    );
    owed.sort_unstable();
    owed.dedup_by_key(|o| o.0);
    owed
}

/// A row linked to a resident (`probability` rounded), and its `link.suggested` finding:
/// `value` is the row's personal_id cell, `pid` the resident's ID.
pub(crate) fn suggested(
    at: RowRef,
    value: &str,
    resident: u32,
    pid: String,
    probability: f64,
) -> (Link, Finding) {
    let finding = Finding::on(at, Rule::LinkSuggested, Column::PersonalId)
        .value(value)
        .suggest(pid)
        .related(RowRef::resident(resident), Some(probability));
    let link = Link {
        at,
        resident,
        probability,
    };
    (link, finding)
}

/// One of the plausible residents of a row that fits several, for review: its share of the
/// row's probability (rounded) and how the two compare.
pub(crate) fn plausible(
    at: RowRef,
    resident: u32,
    share: f64,
    in_province: bool,
    levels: String,
) -> ReviewPair {
    ReviewPair {
        pair: Pair {
            a: at,
            b: RowRef::resident(resident),
            probability: share,
            in_province,
            cluster: 0,
            levels: levels.into(),
            implied: false,
        },
        doubt: Doubt::SeveralResidents,
    }
}

/// The finding of a row that fits several residents: on the row, pointing to the likeliest,
/// with the others named in the note (by record, never by personal data).
pub(crate) fn ambiguous_finding(candidates: &[ReviewPair]) -> Finding {
    let best = &candidates[0].pair;
    Finding::on(best.a, Rule::LinkAmbiguous, Column::PersonalId)
        .related(best.b, Some(best.probability))
        .note(format!("khớp với {} người: cần xác minh", candidates.len()))
}

/// Link extract rows whose ID is unusable or points to a resident who disagrees, and deaths
/// registered without a usable ID. `recs` are the residents' features, `clusters` their
/// duplicate clusters (a person's records count as one person); `rule_findings` are the rules
/// phase's findings (its `xref.mismatch` on full_name are rows owed a link).
pub fn link_extracts(
    input: &CheckInput,
    plan: &LinkPlan,
    index: &LinkIndex,
    model: &Model,
    clusters: &[ClusterMember],
    deciding: Deciding,
) -> Linked {
    let mut result = Linked::default();
    let recs = index.recs;
    let linker = Linker {
        input,
        index,
        people: People::of(clusters),
        model,
        deciding,
        cap: input.matching.max_block_size,
    };
    let settings = Settings::of(&input.matching, true);
    for (s, to_link) in &plan.extracts {
        let (s, table) = (*s, &input.tables[*s]);
        let calibration = crate::phase::traced("matching.link.calibration", || {
            linker.link_calibration(&to_link.sample, &to_link.rows)
        });
        let pid_col = input.cols[s][Column::PersonalId];
        let rows = &to_link.rows;
        let outcomes = linker.decide_all(settings, &calibration, rows);
        type Found = std::result::Result<(Link, Finding), Vec<ReviewPair>>;
        let found: Vec<Option<Found>> = outcomes
            .into_par_iter()
            .zip(to_link.at.par_iter().zip(rows))
            .with_min_len(256)
            .map(|(outcome, (&r, (rec, _)))| {
                let at = RowRef::new(s, r);
                let (res, p) = match outcome {
                    Outcome::Linked(res, p) => (res, p),
                    Outcome::Ambiguous(people) => {
                        return Some(Err(people
                            .into_iter()
                            .map(|(res, share)| {
                                let b = &recs[res as usize];
                                let (levels, in_province) =
                                    (compare(rec, b).explain(), rec.province == b.province);
                                plausible(at, res, round6(share), in_province, levels)
                            })
                            .collect::<Vec<_>>()));
                    }
                    Outcome::None => return None,
                };
                let pid = id_string(recs[res as usize].pid);
                Some(Ok(suggested(at, pid_col.get(r), res, pid, round6(p))))
            })
            .collect();
        let mut stats = LinkStats {
            source: table.name.clone(),
            rows_to_link: rows.len(),
            linked: 0,
            ids_found: calibration.rho,
            candidate_recall: calibration.beta,
        };
        for f in found.into_iter().flatten() {
            match f {
                Ok((link, finding)) => {
                    stats.linked += 1;
                    result.links.push(link);
                    result.findings.push(finding);
                }
                Err(candidates) => {
                    result.findings.push(ambiguous_finding(&candidates));
                    result.review.extend(candidates);
                }
            }
        }
        result.stats.push(stats);
    }
    crate::phase::traced("matching.link.deaths", || {
        link_deaths(&linker, plan, settings, &mut result)
    });
    let settings = Settings::of(&input.matching, false);
    crate::phase::traced("matching.link.births", || {
        link_births(&linker, plan, settings, &mut result)
    });
    result
}

/// Birth registrations: each finds its resident — the one carrying its personal ID when that
/// resident agrees on the name or the birth date (a birth's own details may be the ones that
/// differ), else by name, birth date, sex, parents and place like any row to link — and the
/// birth rules judge the registration against that resident, or its absence.
fn link_births(linker: &Linker, plan: &LinkPlan, settings: Settings, result: &mut Linked) {
    let input = linker.input;
    for (s, by_id, to_link) in &plan.births {
        let (s, table, owed) = (*s, &input.tables[*s], &to_link.at);
        let calibration = linker.link_calibration(&to_link.sample, &to_link.rows);
        let rows = &to_link.rows;
        let found: Vec<(Option<u32>, bool)> = linker
            .decide_all(settings, &calibration, rows)
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Linked(res, _) => (Some(res), false),
                Outcome::Ambiguous(_) => (None, true),
                Outcome::None => (None, false),
            })
            .collect();
        let stats = LinkStats {
            source: table.name.clone(),
            rows_to_link: owed.len(),
            linked: found.iter().filter(|f| f.0.is_some()).count(),
            ids_found: calibration.rho,
            candidate_recall: calibration.beta,
        };
        let mut resident: Vec<(Option<u32>, bool)> = by_id.iter().map(|&c| (c, false)).collect();
        for (&r, f) in owed.iter().zip(found) {
            resident[r] = f;
        }
        let findings: Vec<Finding> = crate::rules::par_rows(table.len(), |r, out| {
            let (res, ambiguous) = resident[r];
            crate::rules::births::judge(input, s, r, res, ambiguous, out);
        });
        result.findings.extend(findings);
        result.stats.push(stats);
    }
}

/// Deaths registered without a usable ID: find the resident by name and birth date.
fn link_deaths(linker: &Linker, plan: &LinkPlan, settings: Settings, result: &mut Linked) {
    let input = linker.input;
    let (Some(deaths), Some((_, to_link))) = (input.deaths, &plan.deaths) else {
        return;
    };
    let (residents, _) = input.residents();
    let r_death = residents.column(Column::DeathDate);
    let dd = deaths.column(Column::DeathDate);
    let (rows, owed) = (&to_link.at, &to_link.rows);
    let calibration = linker.link_calibration(&to_link.sample, owed);
    let mut stats = LinkStats {
        source: deaths.name.clone(),
        rows_to_link: rows.len(),
        linked: 0,
        ids_found: calibration.rho,
        candidate_recall: calibration.beta,
    };
    let outcomes = linker.decide_all(settings, &calibration, owed);
    for (&r, outcome) in rows.iter().zip(outcomes) {
        if let Outcome::Linked(res, p) = outcome {
            stats.linked += 1;
            let resident_death = r_death.opt(res as usize);
            result
                .findings
                .extend(death_finding(res, resident_death, dd.get(r), round6(p)));
        }
    }
    result.stats.push(stats);
}

/// The finding of a death registered without a usable ID that was linked to resident `res`
/// (`probability` rounded): `alive.deceased_active` when the register has no death date for
/// them (`resident_death`) and the registration's own (`death_date`) can be read.
pub(crate) fn death_finding(
    res: u32,
    resident_death: Option<&str>,
    death_date: &str,
    probability: f64,
) -> Option<Finding> {
    let readable = crate::dates::parse_date(death_date).valid().is_some();
    (resident_death.is_none() && readable).then(|| {
        Finding::on(
            RowRef::resident(res),
            Rule::AliveDeceasedActive,
            Column::DeathDate,
        )
        .suggest(death_date)
        .score(probability)
        .note("hộ tịch đã khai tử (khớp theo họ tên, ngày sinh)")
    })
}
