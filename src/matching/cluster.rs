//! Clusters of duplicate pairs without long chains of weak links, and the record of each
//! cluster suggested to keep.

use std::collections::{BTreeMap, HashMap};

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
///    linked to two clusters (two namesakes) joins neither.
pub fn cluster(n: usize, pairs: &mut [Pair]) {
    let mut uf = UnionFind::new(n);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&x, &y| {
        pairs[y]
            .probability
            .total_cmp(&pairs[x].probability)
            .then((pairs[x].a, pairs[x].b).cmp(&(pairs[y].a, pairs[y].b)))
    });
    let weak_from = order.partition_point(|&k| pairs[k].probability >= STRONG);
    for &k in &order[..weak_from] {
        let (ra, rb) = (uf.find(pairs[k].a.row), uf.find(pairs[k].b.row));
        if ra != rb && uf.size[ra as usize] + uf.size[rb as usize] <= STRONG_CLUSTER_MAX {
            uf.union(ra, rb);
        }
    }
    // For each single record with weak links: the one strong cluster they reach (SEVERAL when
    // more than one) and how many of its records they reach.
    let mut reach: HashMap<u32, (u32, u32)> = HashMap::new();
    for &k in &order[weak_from..] {
        let (a, b) = (pairs[k].a.row, pairs[k].b.row);
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
    for &k in &order[weak_from..] {
        let (a, b) = (pairs[k].a.row, pairs[k].b.row);
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (uf.size[ra as usize], uf.size[rb as usize]);
        if sa + sb <= WEAK_CLUSTER_MAX {
            uf.union(ra, rb);
            continue;
        }
        for (x, rx, ry) in [(a, ra, rb), (b, rb, ra)] {
            let into_strong = reach
                .get(&x)
                .is_some_and(|&(r, n)| r != SEVERAL && n >= VOUCHED && uf.find(r) == ry);
            if uf.size[rx as usize] == 1 && into_strong && uf.size[ry as usize] < STRONG_CLUSTER_MAX
            {
                uf.union(rx, ry);
                break;
            }
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
            levels: String::new(),
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
}
