//! Clusters of duplicate pairs without long chains of weak links, and the record of each
//! cluster suggested to keep.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::decide::{self, ReviewPair};
use super::{ClusterMember, Pair};
use crate::core::{CheckInput, Column, RowRef, Table};

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

    /// Join the clusters of two roots, the smaller under the larger.
    fn union(&mut self, ra: u32, rb: u32) {
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
    }
}

/// Largest cluster two single records form by a weak link alone.
const WEAK_CLUSTER_MAX: u32 = 2;
/// Largest cluster strong links (p ≥ 0.99) may build: one person registered in every source
/// a register was merged from (ten records and more) is one cluster; the bound keeps a
/// degenerate input (thousands of identical records) from making one cluster of everything.
const STRONG_CLUSTER_MAX: u32 = 1024;
/// A link at least this probable may join two clusters.
const STRONG: f64 = 0.99;
/// How many records of a cluster a single record must be weakly linked to, to join it: one
/// weak link is often to the cluster's vaguest record (a year-only date, a name without its
/// middle part), which a namesake matches as well as the person.
const VOUCHED: u32 = 2;
/// What a single record's weak links reach, among the clusters strong links built.
const SEVERAL: u32 = u32::MAX;

/// Group pairs into clusters, strongest links first, without long chains of weak links:
/// 1. strong links (p ≥ 0.99) join clusters up to [`STRONG_CLUSTER_MAX`] records;
/// 2. a weak link joins two single records, or brings a single record into a cluster strong
///    links built when, of that record's weak links to such clusters, all lead to that one
///    and at least [`VOUCHED`] of them to its records (weak links to other single records are
///    not counted here). One person's record whose date or name
///    is damaged (weakly linked to several of their other records) is then one cluster with
///    them; a record brought in by a weak link vouches for no other, and a record weakly
///    linked to two clusters (two namesakes) joins neither;
/// 3. a record still in no cluster joins one when it is alike, below the threshold (a pair
///    held for review as `below_threshold`), to at least [`VOUCHED`] of its records and to
///    no other cluster's ([`cluster_kin`] only: those pairs move from review to the cluster's
///    pairs, marked implied).
pub fn cluster(n: usize, pairs: &mut Vec<Pair>) -> Vec<usize> {
    cluster_kin(n, pairs, &mut Vec::new(), &|_| (0, 0))
}

/// Most parents' names a cluster keeps per role (one person's records name one father and
/// one mother, with a typo or two).
const KIN_MAX: usize = 8;

/// The fathers and mothers (hashes of folded names) the records of each cluster name.
struct Kin<'k> {
    parents: &'k dyn Fn(u32) -> (u32, u32),
    /// By root of a cluster of two records or more that names a parent.
    named: HashMap<u32, (Vec<u32>, Vec<u32>)>,
    /// Roots of clusters holding a record strongly alike to two families.
    contested: std::collections::HashSet<u32>,
}

impl Kin<'_> {
    /// The fathers and mothers a cluster names (`one` holds a single record's).
    fn sets<'s>(
        &'s self,
        uf: &UnionFind,
        root: u32,
        one: &'s mut [u32; 2],
    ) -> (&'s [u32], &'s [u32]) {
        if uf.size[root as usize] == 1 {
            let (f, m) = (self.parents)(root);
            *one = [f, m];
            let (a, b) = one.split_at(1);
            (&a[..(f != 0) as usize], &b[..(m != 0) as usize])
        } else {
            match self.named.get(&root) {
                Some((f, m)) => (f, m),
                None => (&[], &[]),
            }
        }
    }

    /// The cluster of this root names a parent.
    fn names(&self, uf: &UnionFind, root: u32) -> bool {
        if uf.size[root as usize] == 1 {
            (self.parents)(root) != (0, 0)
        } else {
            self.named.contains_key(&root)
        }
    }

    /// The two clusters name a parent of one role each and no parent in common: two families.
    fn conflict(&self, uf: &UnionFind, ra: u32, rb: u32) -> bool {
        let (mut x, mut y) = ([0; 2], [0; 2]);
        let (fa, ma) = self.sets(uf, ra, &mut x);
        let (fb, mb) = self.sets(uf, rb, &mut y);
        let both = (!fa.is_empty() && !fb.is_empty()) || (!ma.is_empty() && !mb.is_empty());
        let common = fa.iter().any(|f| fb.contains(f)) || ma.iter().any(|m| mb.contains(m));
        both && !common
    }

    /// Two families, or a cluster alike to two families and a family: never one cluster.
    fn blocked(&self, uf: &UnionFind, ra: u32, rb: u32) -> bool {
        self.conflict(uf, ra, rb)
            || (self.contested.contains(&ra) && self.names(uf, rb))
            || (self.contested.contains(&rb) && self.names(uf, ra))
    }

    /// Join the clusters of roots `ra` and `rb`, their parents with them.
    fn union(&mut self, uf: &mut UnionFind, ra: u32, rb: u32) {
        let (mut x, mut y) = ([0; 2], [0; 2]);
        let (fa, ma) = self.sets(uf, ra, &mut x);
        let (fb, mb) = self.sets(uf, rb, &mut y);
        let (fa, ma, fb, mb) = (fa.to_vec(), ma.to_vec(), fb.to_vec(), mb.to_vec());
        self.named.remove(&ra);
        self.named.remove(&rb);
        let contested = self.contested.remove(&ra) | self.contested.remove(&rb);
        uf.union(ra, rb);
        let root = uf.find(ra);
        if contested {
            self.contested.insert(root);
        }
        let merge = |mut x: Vec<u32>, y: Vec<u32>| {
            for h in y {
                if x.len() < KIN_MAX && !x.contains(&h) {
                    x.push(h);
                }
            }
            x
        };
        let (f, m) = (merge(fa, fb), merge(ma, mb));
        if !f.is_empty() || !m.is_empty() {
            self.named.insert(root, (f, m));
        }
    }
}

/// For each single record linked (by `links`, row pairs) to clusters of two records or more:
/// the one cluster (root) its links reach, [`SEVERAL`] when they reach more than one, and how
/// many of that cluster's records they reach.
fn reach_of(
    uf: &mut UnionFind,
    links: impl Iterator<Item = (u32, u32)>,
) -> HashMap<u32, (u32, u32)> {
    let mut reach: HashMap<u32, (u32, u32)> = HashMap::new();
    for (a, b) in links {
        for (x, y) in [(a, b), (b, a)] {
            let (rx, ry) = (uf.find(x), uf.find(y));
            if uf.size[rx as usize] == 1 && uf.size[ry as usize] > 1 {
                let e = reach.entry(x).or_insert((ry, 0));
                if e.0 == ry {
                    e.1 += 1;
                } else {
                    e.0 = SEVERAL;
                }
            }
        }
    }
    reach
}

/// The pair's two records carry one document (the same personal ID or CMND, or IDs a
/// keystroke or an edit apart), as its levels say: parents that differ are then a typo.
fn documented(p: &Pair) -> bool {
    p.levels.split(';').any(|l| {
        matches!(
            l,
            "pid=equal" | "pid=one_keystroke" | "id_typo=within_one_edit" | "cmnd=equal"
        )
    })
}

/// [`cluster`], never joining two clusters whose records name parents of one role and no
/// parent in common (`parents` gives a row's father and mother, hashes of folded names, 0 when
/// not named): one person's records name one father and one mother, a namesake's others.
/// Returns the pairs (indices) left joining two such clusters: their records look alike, but
/// each is one of two people.
pub fn cluster_kin(
    n: usize,
    pairs: &mut Vec<Pair>,
    review: &mut Vec<ReviewPair>,
    parents: &dyn Fn(u32) -> (u32, u32),
) -> Vec<usize> {
    let mut kin = Kin {
        parents,
        named: HashMap::new(),
        contested: Default::default(),
    };
    let mut uf = UnionFind::new(n);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&x, &y| {
        pairs[y]
            .probability
            .total_cmp(&pairs[x].probability)
            .then((pairs[x].a, pairs[x].b).cmp(&(pairs[y].a, pairs[y].b)))
    });
    let weak_from = order.partition_point(|&k| pairs[k].probability >= STRONG);
    // Strong links in three steps, so that each person's records gather around the parents
    // they name before a record naming none is placed, and the place of such a record does
    // not hang on which of two namesakes' records it met first:
    // 1. between records that both name parents;
    let strong = &order[..weak_from];
    let names = |r: u32| parents(r) != (0, 0);
    let join = |kin: &mut Kin, uf: &mut UnionFind, k: usize| {
        let (ra, rb) = (uf.find(pairs[k].a.row), uf.find(pairs[k].b.row));
        if ra != rb
            && uf.size[ra as usize] + uf.size[rb as usize] <= STRONG_CLUSTER_MAX
            && (!kin.blocked(uf, ra, rb) || documented(&pairs[k]))
        {
            kin.union(uf, ra, rb);
        }
    };
    for &k in strong {
        if names(pairs[k].a.row) && names(pairs[k].b.row) {
            join(&mut kin, &mut uf, k);
        }
    }
    // 2. a record naming none joins the families it is strongly alike to when they are one
    //    family; alike to two, it joins neither and is "contested";
    let mut reached: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &k in strong {
        let (a, b) = (pairs[k].a.row, pairs[k].b.row);
        for (x, y) in [(a, b), (b, a)] {
            if !names(x) && names(y) {
                reached.entry(x).or_default().push(y);
            }
        }
    }
    for (x, ys) in reached {
        let mut roots: Vec<u32> = ys.iter().map(|&y| uf.find(y)).collect();
        roots.sort_unstable();
        // Alike to two families: the one it is alike to by more records, if one is.
        let mut votes: Vec<(u32, usize)> = roots
            .chunk_by(|a, b| a == b)
            .map(|g| (g[0], g.len()))
            .collect();
        let two = |votes: &[(u32, usize)]| {
            votes
                .iter()
                .enumerate()
                .any(|(i, &(r, _))| votes[i + 1..].iter().any(|&(q, _)| kin.conflict(&uf, r, q)))
        };
        if two(&votes) {
            let most = votes.iter().map(|v| v.1).max().unwrap_or(0);
            votes.retain(|v| v.1 == most);
            if votes.len() > 1 {
                kin.contested.insert(x);
                continue;
            }
        }
        for (r, _) in votes {
            let (rx, rr) = (uf.find(x), uf.find(r));
            if rx != rr && uf.size[rx as usize] + uf.size[rr as usize] <= STRONG_CLUSTER_MAX {
                kin.union(&mut uf, rx, rr);
            }
        }
    }
    // 3. the other strong links; a contested record's cluster joins no family.
    for &k in strong {
        join(&mut kin, &mut uf, k);
    }
    let reach = reach_of(
        &mut uf,
        order[weak_from..]
            .iter()
            .map(|&k| (pairs[k].a.row, pairs[k].b.row)),
    );
    for &k in &order[weak_from..] {
        let (a, b) = (pairs[k].a.row, pairs[k].b.row);
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (uf.size[ra as usize], uf.size[rb as usize]);
        if kin.blocked(&uf, ra, rb) && !documented(&pairs[k]) {
            continue;
        }
        if sa + sb <= WEAK_CLUSTER_MAX {
            kin.union(&mut uf, ra, rb);
            continue;
        }
        for (x, rx, ry) in [(a, ra, rb), (b, rb, ra)] {
            let into_strong = reach
                .get(&x)
                .is_some_and(|&(r, n)| r != SEVERAL && n >= VOUCHED && uf.find(r) == ry);
            if uf.size[rx as usize] == 1 && into_strong && uf.size[ry as usize] < STRONG_CLUSTER_MAX
            {
                kin.union(&mut uf, rx, ry);
                break;
            }
        }
    }
    // Below the threshold: a record in no cluster, alike to at least VOUCHED records of one
    // cluster and to no other, joins it (a record with its date lost, alike to each of its
    // person's records but to none above the threshold); the pairs joining it are listed as
    // the cluster's (`implied`), and leave review.
    let below: Vec<usize> = (0..review.len())
        .filter(|&i| {
            let p = &review[i].pair;
            review[i].doubt == decide::Doubt::BelowThreshold
                && p.a.source == 0
                && p.b.source == 0
                && (p.a.row as usize) < n
                && (p.b.row as usize) < n
        })
        .collect();
    let below_reach = reach_of(
        &mut uf,
        below
            .iter()
            .map(|&i| (review[i].pair.a.row, review[i].pair.b.row)),
    );
    let mut joins: Vec<(u32, u32)> = below_reach
        .into_iter()
        .filter(|&(_, (r, k))| r != SEVERAL && k >= VOUCHED)
        .map(|(x, (r, _))| (x, r))
        .collect();
    joins.sort_unstable();
    for (x, r) in joins {
        let (rx, rr) = (uf.find(x), uf.find(r));
        if rx != rr && uf.size[rr as usize] < STRONG_CLUSTER_MAX && !kin.blocked(&uf, rx, rr) {
            kin.union(&mut uf, rx, rr);
        }
    }
    let joined: Vec<usize> = below
        .iter()
        .copied()
        .filter(|&i| {
            let (ra, rb) = (uf.find(review[i].pair.a.row), uf.find(review[i].pair.b.row));
            ra == rb && uf.size[ra as usize] > 1
        })
        .collect();
    let mut k = 0;
    review.retain(|r| {
        let joined = joined.binary_search(&k).is_ok();
        k += 1;
        if joined {
            pairs.push(Pair {
                implied: true,
                ..r.pair.clone()
            });
        }
        !joined
    });
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
    let mut apart = Vec::new();
    for (k, p) in pairs.iter_mut().enumerate() {
        let root = uf.find(p.a.row);
        let other = uf.find(p.b.row);
        p.cluster = if other == root {
            id_of_min[&root_min[&root]]
        } else {
            if kin.blocked(&uf, root, other) && !documented(p) {
                apart.push(k);
            }
            0
        };
    }
    apart
}

/// Move the pairs [`cluster_kin`] left joining two families' clusters to review
/// (`families_differ`: their records name no parent in common, but each is one of two people
/// naming other parents): in the order the
/// pairs were in, ahead of `review`'s (which the caller orders again).
pub fn set_apart(pairs: &mut Vec<Pair>, review: &mut Vec<ReviewPair>, apart: &[usize]) {
    if apart.is_empty() {
        return;
    }
    let mut k = 0;
    let mut moved = Vec::with_capacity(apart.len());
    pairs.retain(|p| {
        let out = apart.binary_search(&k).is_ok();
        k += 1;
        if out {
            moved.push(ReviewPair {
                pair: p.clone(),
                doubt: decide::Doubt::FamiliesDiffer,
            });
        }
        !out
    });
    review.extend(moved);
}

/// Largest cluster whose every pair of records is listed (`n(n-1)/2` pairs: 2 016 at 64); a
/// larger cluster lists only the pairs its links decided, so a degenerate input (thousands of
/// identical records) cannot make the pairs grow as the square of its size.
pub const IMPLIED_MAX: usize = 64;

/// The pairs of records one cluster holds that no decided pair joins directly: records A and
/// C with A–B and B–C decided are one person, so A–C is a duplicate pair too, though blocking
/// never proposed it or it scored lower on its own (A's date lost, C's name damaged). Each
/// gets the probability of the weakest link on the strongest path joining them in the
/// cluster (the bottleneck of its maximum spanning tree) and is marked `implied`; `joined`
/// gives, for two rows (lower first), whether they live in one province and the per-field
/// levels the driver can still compute ("" when it holds no features: `dedup`). The pairs
/// follow from the clusters alone, so every driver lists the same ones. Clusters larger than
/// [`IMPLIED_MAX`] get none. Pairs must be clustered ([`cluster`]) first.
pub fn implied_pairs(
    pairs: &[Pair],
    joined: &(dyn Fn(u32, u32) -> (bool, String) + Sync),
) -> Vec<Pair> {
    let mut links: BTreeMap<u32, Vec<Link>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| p.cluster != 0) {
        links
            .entry(p.cluster)
            .or_default()
            .push((p.a.row, p.b.row, p.probability));
    }
    let per_cluster: Vec<(u32, Vec<Link>)> = links.into_iter().collect();
    per_cluster
        .par_iter()
        .flat_map_iter(|(cluster, links)| {
            bottlenecks(links).into_iter().map(move |l| (l, *cluster))
        })
        .map(|((a, b, probability), cluster)| {
            let (in_province, levels) = joined(a, b);
            Pair {
                a: RowRef::resident(a),
                b: RowRef::resident(b),
                probability,
                in_province,
                cluster,
                levels: levels.into(),
                implied: true,
            }
        })
        .collect()
}

/// Add the clustered pairs' [`implied_pairs`] to them (in record-ID order again, as
/// [`decide::order_pairs`] gives them); a pair held for review that its cluster now implies
/// leaves the review list, so no pair is both. `joined` as for [`implied_pairs`].
pub fn add_implied<'t>(
    pairs: &mut Vec<Pair>,
    review: &mut Vec<ReviewPair>,
    joined: &(dyn Fn(u32, u32) -> (bool, String) + Sync),
    record_id: impl Fn(RowRef) -> &'t str + Sync,
) {
    let implied = implied_pairs(pairs, joined);
    if implied.is_empty() {
        return;
    }
    let mut rows: Vec<(u32, u32)> = implied.iter().map(|p| (p.a.row, p.b.row)).collect();
    rows.sort_unstable();
    review.retain(|r| {
        let (a, b) = (r.pair.a, r.pair.b);
        let key = (a.row.min(b.row), a.row.max(b.row));
        !(a.source == 0 && b.source == 0 && rows.binary_search(&key).is_ok())
    });
    pairs.extend(implied);
    decide::order_pairs(pairs, record_id);
}

/// Two rows and the probability joining them.
type Link = (u32, u32, f64);

/// For one cluster's links, the pairs of its records no link joins, each with the weakest
/// link on the strongest path between them (lower row first, in row order).
fn bottlenecks(links: &[Link]) -> Vec<Link> {
    let mut rows: Vec<u32> = links.iter().flat_map(|l| [l.0, l.1]).collect();
    rows.sort_unstable();
    rows.dedup();
    let k = rows.len();
    if !(3..=IMPLIED_MAX).contains(&k) {
        return Vec::new();
    }
    let at = |r: u32| rows.binary_search(&r).expect("a row of the cluster");
    let mut direct = vec![false; k * k];
    let mut order: Vec<(usize, usize, f64)> =
        links.iter().map(|&(a, b, p)| (at(a), at(b), p)).collect();
    for &(x, y, _) in &order {
        direct[x * k + y] = true;
        direct[y * k + x] = true;
    }
    // The maximum spanning tree (Kruskal, strongest first; ties in row order).
    order.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    let mut uf = UnionFind::new(k);
    let mut tree: Vec<Vec<(usize, f64)>> = vec![Vec::new(); k];
    for &(x, y, p) in &order {
        let (rx, ry) = (uf.find(x as u32), uf.find(y as u32));
        if rx != ry {
            uf.union(rx, ry);
            tree[x].push((y, p));
            tree[y].push((x, p));
        }
    }
    // From each record, the weakest link on the tree path to every other.
    let mut out = Vec::new();
    let mut weakest = vec![f64::NAN; k];
    let mut stack: Vec<usize> = Vec::with_capacity(k);
    for from in 0..k {
        weakest.fill(f64::NAN);
        weakest[from] = f64::INFINITY;
        stack.push(from);
        while let Some(x) = stack.pop() {
            for &(y, p) in &tree[x] {
                if weakest[y].is_nan() {
                    weakest[y] = weakest[x].min(p);
                    stack.push(y);
                }
            }
        }
        for to in from + 1..k {
            if !direct[from * k + to] && !weakest[to].is_nan() {
                out.push((rows[from], rows[to], weakest[to]));
            }
        }
    }
    out
}

/// What decides which record of a cluster to keep, in order: a valid personal ID, resident in
/// the province viewed (`--province`), the most fields filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeepRank {
    pub valid_id: bool,
    pub in_province: bool,
    pub filled: u8,
}

impl KeepRank {
    /// One byte, for records spilled to disk (`dedup` views no province).
    pub fn pack(self) -> u8 {
        ((self.valid_id as u8) << 7) | self.filled.min(127)
    }

    pub fn unpack(b: u8) -> KeepRank {
        KeepRank {
            valid_id: b & 0x80 != 0,
            in_province: false,
            filled: b & 0x7f,
        }
    }
}

/// How many canonical fields of a row of `t` are filled (the columns are looked up once).
pub fn filled_fields(t: &Table) -> impl Fn(usize) -> u8 + Sync + '_ {
    let cols: Vec<crate::core::Col> = Column::ALL
        .iter()
        .map(|&c| t.column(c))
        .filter(|c| c.is_present())
        .collect();
    move |row| cols.iter().filter(|c| c.opt(row).is_some()).count() as u8
}

/// The clusters' members of an in-memory check, ranked by the residents' own fields.
pub fn members_of(input: &CheckInput, pairs: &[Pair]) -> Vec<ClusterMember> {
    let (residents, prepared) = input.residents();
    let prov = residents.column(Column::ProvinceCode);
    let filled = filled_fields(residents);
    cluster_members_by(pairs, |r| {
        let r = r as usize;
        KeepRank {
            valid_id: prepared.rows[r].pid.is_valid(),
            in_province: input.province.is_some_and(|p| prov.get(r) == p),
            filled: filled(r),
        }
    })
}

/// The records of each cluster, and the one to keep: the highest [`KeepRank`], then the
/// first.
pub fn cluster_members_by(pairs: &[Pair], rank: impl Fn(u32) -> KeepRank) -> Vec<ClusterMember> {
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
                at: RowRef::resident(r),
                cluster,
                keep: r == keep,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: usize, b: usize, probability: f64) -> Pair {
        Pair {
            a: RowRef::resident(a as u32),
            b: RowRef::resident(b as u32),
            probability,
            in_province: true,
            cluster: 0,
            levels: "".into(),
            implied: false,
        }
    }

    /// The cluster of each row (0: none), after clustering `pairs`.
    fn clusters(n: usize, mut pairs: Vec<Pair>) -> Vec<u32> {
        cluster(n, &mut pairs);
        let mut of = vec![0; n];
        for p in &pairs {
            if p.cluster != 0 {
                of[p.a.row as usize] = p.cluster;
                of[p.b.row as usize] = p.cluster;
            }
        }
        of
    }

    /// Two namesakes, each with two records, one of which names the person's parents: the
    /// records that name none are strongly alike across the two, yet the two people's clusters
    /// stay apart and the pair joining them is set apart for review, as are the pairs of a
    /// record alike to both. One person's records
    /// naming their parents with a typo in one name or the other stay one cluster, and a link
    /// that shares a document joins whatever the parents.
    #[test]
    fn namesakes_naming_other_parents_stay_two_clusters() {
        let (f1, m1, f2, m2, f1_typo, m1_typo) = (11, 12, 21, 22, 13, 14);
        let parents = |r: u32| match r {
            0 => (f1, m1),
            3 => (f2, m2),
            4 => (f1_typo, m1),
            5 => (f1, m1_typo),
            _ => (0, 0),
        };
        let mut pairs = vec![pair(0, 1, 0.999), pair(2, 3, 0.999), pair(1, 2, 0.9999)];
        let apart = cluster_kin(4, &mut pairs, &mut Vec::new(), &parents);
        assert_eq!(apart, vec![2]);
        assert_ne!(pairs[0].cluster, 0);
        assert_ne!(pairs[1].cluster, 0);
        assert_ne!(pairs[0].cluster, pairs[1].cluster);
        let mut review = Vec::new();
        set_apart(&mut pairs, &mut review, &apart);
        assert_eq!((pairs.len(), review.len()), (2, 1));
        assert_eq!(review[0].doubt, decide::Doubt::FamiliesDiffer);
        assert_eq!((review[0].pair.a.row, review[0].pair.b.row), (1, 2));

        // A record naming no parent, strongly alike to both namesakes' records that name
        // theirs (6 to 0 and 3), joins neither, wherever it comes in the order of the links.
        let mut pairs = vec![pair(0, 6, 0.9999), pair(3, 6, 0.9999), pair(0, 1, 0.999)];
        let apart = cluster_kin(7, &mut pairs, &mut Vec::new(), &parents);
        assert_eq!(apart, vec![0, 1]);
        assert_ne!(pairs[2].cluster, 0);

        // One person: 4 and 5 name the parents with one typo each, and each is alike to 0.
        let mut pairs = vec![pair(0, 4, 0.999), pair(0, 5, 0.999), pair(4, 5, 0.999)];
        assert!(cluster_kin(6, &mut pairs, &mut Vec::new(), &parents).is_empty());
        assert!(pairs
            .iter()
            .all(|p| p.cluster == pairs[0].cluster && p.cluster != 0));

        // The same namesakes, the joining pair sharing a personal ID: one cluster.
        let mut pairs = vec![pair(0, 1, 0.999), pair(2, 3, 0.999), pair(1, 2, 0.9999)];
        pairs[2].levels = "given=exact;pid=equal;parents=different".into();
        assert!(cluster_kin(4, &mut pairs, &mut Vec::new(), &parents).is_empty());
        assert!(pairs
            .iter()
            .all(|p| p.cluster == pairs[0].cluster && p.cluster != 0));
    }

    /// A record whose date was lost, alike to three of its person's records only below the
    /// threshold (held for review), joins their cluster; one alike to two people's clusters
    /// joins neither, and one alike to a single record of a cluster stays out.
    #[test]
    fn a_record_alike_below_the_threshold_to_one_cluster_joins_it() {
        let review_pair = |a: usize, b: usize| ReviewPair {
            pair: pair(a, b, 0.89),
            doubt: decide::Doubt::BelowThreshold,
        };
        // Person A: 0, 1, 2; person B: 5, 6. Record 3 is A's; 4 is like both; 7 like one of B's.
        let mut pairs = vec![pair(0, 1, 0.999), pair(1, 2, 0.999), pair(5, 6, 0.999)];
        let mut review = vec![
            review_pair(0, 3),
            review_pair(1, 3),
            review_pair(2, 3),
            review_pair(0, 4),
            review_pair(1, 4),
            review_pair(4, 5),
            review_pair(4, 6),
            review_pair(5, 7),
        ];
        cluster_kin(8, &mut pairs, &mut review, &|_| (0, 0));
        let cluster_of = |row: u32| {
            pairs
                .iter()
                .find(|p| (p.a.row == row || p.b.row == row) && p.cluster != 0)
                .map(|p| p.cluster)
        };
        assert_eq!(cluster_of(3), cluster_of(0));
        assert!(cluster_of(3).is_some());
        assert_eq!(cluster_of(4), None);
        assert_eq!(cluster_of(7), None);
        let joined: Vec<_> = pairs.iter().filter(|p| p.b.row == 3).collect();
        assert_eq!(joined.len(), 3);
        assert!(joined.iter().all(|p| p.implied && p.probability == 0.89));
        assert_eq!(review.len(), 5, "record 3's pairs left review");
    }

    /// One person's four records, strongly linked, and a fifth whose date was lost: it is
    /// only weakly linked to them, and still belongs with them.
    #[test]
    fn a_damaged_record_joins_its_persons_cluster() {
        let mut pairs = vec![pair(0, 1, 0.999), pair(1, 2, 0.995), pair(2, 3, 0.999)];
        pairs.extend([pair(4, 0, 0.93), pair(4, 3, 0.95)]);
        let of = clusters(5, pairs);
        assert!(of[0] != 0 && of.iter().all(|&c| c == of[0]), "{of:?}");
    }

    /// A record weakly linked to two people's clusters (namesakes) joins neither, and a
    /// record brought in by a weak link brings no one else in: no chain of weak links.
    #[test]
    fn weak_links_make_no_chain() {
        let pairs = vec![
            pair(0, 1, 0.999), // person A
            pair(2, 3, 0.999), // person B
            pair(4, 1, 0.95),  // weakly like A …
            pair(4, 2, 0.92),  // … and like B
            pair(5, 0, 0.95),  // weakly like two of A's records only: joins A
            pair(5, 1, 0.94),
            pair(6, 5, 0.91), // weakly like the record brought in …
            pair(6, 0, 0.91), // … and one of A's: not vouched for by two
            pair(9, 2, 0.93), // weakly like one record of B only: stays out
            pair(7, 8, 0.94), // two single records
            pair(8, 3, 0.91), // one of them weakly like B: already paired, stays
        ];
        let of = clusters(10, pairs);
        assert_ne!(of[0], of[2], "two people stay apart: {of:?}");
        assert_eq!(
            of[4], 0,
            "weakly like two people: in neither cluster: {of:?}"
        );
        assert_eq!(of[5], of[0], "{of:?}");
        assert_eq!(of[6], 0, "no chain through a weakly joined record: {of:?}");
        assert_eq!(of[9], 0, "one weak link does not vouch: {of:?}");
        assert!(of[7] != 0 && of[7] == of[8] && of[8] != of[2], "{of:?}");
    }

    /// The implied pairs of clustered `pairs`, as (a, b, probability).
    fn implied(n: usize, mut pairs: Vec<Pair>) -> Vec<(u32, u32, f64)> {
        cluster(n, &mut pairs);
        let mut out: Vec<(u32, u32, f64)> = implied_pairs(&pairs, &|_, _| (true, String::new()))
            .iter()
            .map(|p| {
                assert!(p.implied && p.cluster != 0);
                (p.a.row, p.b.row, p.probability)
            })
            .collect();
        out.sort_by_key(|x| (x.0, x.1));
        out
    }

    /// One person's four records linked in a chain (blocking proposed only neighbours, or the
    /// ends scored low on their own): every pair of them is a duplicate pair, with the weakest
    /// link of the strongest path joining them. A direct link is not repeated.
    #[test]
    fn a_cluster_implies_every_pair_of_its_records() {
        let pairs = vec![
            pair(0, 1, 0.999),
            pair(1, 2, 0.995),
            pair(2, 3, 0.993),
            pair(0, 3, 0.991), // a weaker direct link: 0-3 stays as decided
            pair(4, 5, 0.999), // another person, two records: nothing implied
        ];
        assert_eq!(
            implied(6, pairs),
            vec![(0, 2, 0.995), (1, 3, 0.993)],
            "0-2 through 1; 1-3 through 2 (0.993), not through 0 (0.991)"
        );
    }

    /// Pairs a cluster does not hold imply nothing: 2 is weakly like two people's records (0's
    /// and 3's), so it is in neither cluster and is paired with no one else.
    #[test]
    fn only_a_clusters_pairs_are_implied() {
        let pairs = vec![
            pair(0, 1, 0.999),
            pair(2, 1, 0.95),
            pair(2, 3, 0.95),
            pair(3, 4, 0.999),
        ];
        assert_eq!(implied(5, pairs), vec![]);
    }

    /// A cluster larger than IMPLIED_MAX lists only its decided pairs (no n² growth on a
    /// degenerate input); one of IMPLIED_MAX records lists them all.
    #[test]
    fn a_huge_cluster_implies_nothing() {
        let chain = |k: usize| (1..k).map(|i| pair(i - 1, i, 0.999)).collect::<Vec<_>>();
        let k = IMPLIED_MAX;
        assert_eq!(implied(k, chain(k)).len(), k * (k - 1) / 2 - (k - 1));
        assert!(implied(k + 1, chain(k + 1)).is_empty());
    }

    /// A pair held for review that its cluster now implies leaves the review list.
    #[test]
    fn an_implied_pair_leaves_review() {
        let mut pairs = vec![pair(0, 1, 0.999), pair(1, 2, 0.999)];
        cluster(3, &mut pairs);
        let mut review = vec![
            ReviewPair {
                pair: pair(0, 2, 0.7),
                doubt: decide::Doubt::BelowThreshold,
            },
            ReviewPair {
                pair: pair(2, 3, 0.7),
                doubt: decide::Doubt::BelowThreshold,
            },
        ];
        let ids = ["r0", "r1", "r2", "r3"];
        let joined = |_, _| (true, String::new());
        add_implied(&mut pairs, &mut review, &joined, |r| ids[r.row as usize]);
        assert_eq!(review.len(), 1);
        assert_eq!((review[0].pair.a.row, review[0].pair.b.row), (2, 3));
        let listed: Vec<(u32, u32, bool)> = pairs
            .iter()
            .map(|p| (p.a.row, p.b.row, p.implied))
            .collect();
        assert_eq!(listed, vec![(0, 1, false), (0, 2, true), (1, 2, false)]);
    }
}
