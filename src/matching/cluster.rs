//! Clusters of duplicate pairs without long chains of weak links, and the record of each
//! cluster suggested to keep.

use std::collections::BTreeMap;

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
}

/// Largest cluster formed by weak links: a weak link only joins two single records, so no
/// chain of weak links pulls unrelated people into one cluster.
const WEAK_CLUSTER_MAX: u32 = 2;
/// Largest cluster strong links (p ≥ 0.99) may build: one person registered in every source
/// a register was merged from (ten records and more) is one cluster; the bound keeps a
/// degenerate input (thousands of identical records) from making one cluster of everything.
const STRONG_CLUSTER_MAX: u32 = 1024;

/// Group pairs into clusters: strongest links first; a weak link never joins two groups
/// that already have partners, so no long chain of weak links forms one cluster.
pub fn cluster(n: usize, pairs: &mut [Pair]) {
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
