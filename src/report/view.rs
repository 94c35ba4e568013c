//! The findings, pairs and links of a run as the outputs present them: the `--province`
//! view, each finding's status against the previous run, and the input's extra columns.

use std::collections::{BTreeSet, HashSet};

use crate::core::{CheckInput, Col, Column, Finding, RowRef, Table};
use crate::matching::decide::ReviewPair;
use crate::matching::{ClusterMember, Link, MatchResult, Pair};
use crate::nightly::{FindingKey, KeyIndex, Previous, PreviousFinding};

/// The findings, pairs and links of a run as the outputs present them (after `--province`).
pub struct View<'a> {
    pub input: &'a CheckInput<'a>,
    pub findings: Vec<Finding>,
    pub pairs: Vec<&'a Pair>,
    /// Pairs of residents and candidates of extract rows for review.
    pub review: Vec<&'a ReviewPair>,
    pub clusters: Vec<&'a ClusterMember>,
    pub links: Vec<&'a Link>,
    pub matches: &'a MatchResult,
    pub province: Option<&'a str>,
    /// Per finding: also found by the previous run (`open`) or not (`new`).
    pub open: Vec<bool>,
    /// The previous run's findings that no longer fire (in the province viewed).
    pub resolved: Vec<PreviousFinding<'a>>,
    pub previous: Option<&'a Previous>,
    /// The sources' unknown extra columns, carried through to findings and fix lists.
    pub extras: Extras<'a>,
}

impl<'a> View<'a> {
    pub fn new(
        input: &'a CheckInput<'a>,
        findings: Vec<Finding>,
        matches: &'a MatchResult,
        province: Option<&'a str>,
        previous: Option<&'a Previous>,
    ) -> Self {
        let in_prov = |r: RowRef| match province {
            None => true,
            Some(p) => input.province_of(r) == p,
        };
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| in_prov(f.at) || f.related.is_some_and(in_prov))
            .collect();
        let pairs: Vec<&Pair> = matches
            .pairs
            .iter()
            .filter(|p| in_prov(p.a) || in_prov(p.b))
            .collect();
        let review: Vec<&ReviewPair> = matches
            .review
            .iter()
            .filter(|r| in_prov(r.pair.a) || in_prov(r.pair.b))
            .collect();
        let kept: BTreeSet<u32> = pairs.iter().map(|p| p.cluster).collect();
        let clusters = matches
            .clusters
            .iter()
            .filter(|c| kept.contains(&c.cluster))
            .collect();
        let links = matches
            .links
            .iter()
            .filter(|l| in_prov(l.at) || in_prov(RowRef::resident(l.resident)))
            .collect();
        let key = |f: &Finding| -> FindingKey<'a> {
            [
                input.tables[f.at.source as usize].name.as_str(),
                input.cols[f.at.source as usize][Column::RecordId].get(f.at.row as usize),
                f.rule.code(),
                f.field_name(),
            ]
        };
        let (open, resolved) = match previous {
            None => (vec![false; findings.len()], Vec::new()),
            Some(prev) => {
                let known = prev.lookup();
                let open: Vec<bool> = findings.iter().map(|f| known.has(&key(f))).collect();
                let now = KeyIndex::new(findings.len(), |i| key(&findings[i]));
                let fires_now = |k: &FindingKey| now.contains(k, |i| key(&findings[i]));
                let sources: HashSet<&str> = input.tables.iter().map(|t| t.name.as_str()).collect();
                let resolved = crate::nightly::resolved(prev, fires_now, &sources, province);
                (open, resolved)
            }
        };
        View {
            input,
            findings,
            pairs,
            review,
            clusters,
            links,
            matches,
            province,
            open,
            resolved,
            previous,
            extras: Extras::of(input.tables),
        }
    }
}

/// The unknown extra columns of the echoed sources (SPEC §2: carried through untouched where
/// an output row echoes its record), for `findings.parquet` and the fix lists. One output
/// column per distinct header, in the order first met (residents first); a record whose
/// source has no such column gets a null (an empty cell in the fix lists).
pub struct Extras<'a> {
    /// The input headers.
    pub headers: Vec<String>,
    /// Per source, per header: the source's column (absent when it has none).
    cols: Vec<Vec<Col<'a>>>,
}

impl<'a> Extras<'a> {
    /// No extra columns (`dedup`, which reads only the columns it matches on).
    pub fn none() -> Self {
        Extras {
            headers: Vec::new(),
            cols: Vec::new(),
        }
    }

    pub fn of(tables: &'a [Table]) -> Self {
        let mut headers: Vec<String> = Vec::new();
        for t in tables {
            for (h, _) in t.extra_columns() {
                if !headers.iter().any(|x| x == h) {
                    headers.push(h.to_string());
                }
            }
        }
        // A table without one of the headers gets an absent column (all null).
        let cols = tables
            .iter()
            .map(|t| headers.iter().map(|h| t.col(h)).collect())
            .collect();
        Extras { headers, cols }
    }

    /// Extra column `i` of record `r`, as it is in the input (None when null or absent).
    pub fn get(&self, r: RowRef, i: usize) -> Option<&'a str> {
        self.cols[r.source as usize][i].cell(r.row as usize)
    }

    /// The output names of the extra columns: each header as it is, unless an output already
    /// has a column of that name (`value`, `note`; the fix lists' `Ghi chú`): then the header
    /// with `prefix` before it or `suffix` after it, as often as needed to be unique.
    pub fn names(&self, taken: &[&str], prefix: &str, suffix: &str) -> Vec<String> {
        let mut used: Vec<String> = taken.iter().map(|t| t.to_string()).collect();
        let mut out = Vec::with_capacity(self.headers.len());
        for h in &self.headers {
            let mut name = h.clone();
            while used.contains(&name) {
                name = format!("{prefix}{name}{suffix}");
            }
            used.push(name.clone());
            out.push(name);
        }
        out
    }
}

/// Where output rows find what they echo of the record a [`RowRef`] points to.
pub trait Records: Sync {
    /// The record's `source` value (`residents`, `vaccination`, …).
    fn source(&self, r: RowRef) -> &str;
    /// A canonical cell of the record, trimmed ("" when absent).
    fn cell(&self, r: RowRef, col: Column) -> &str;
}

impl Records for CheckInput<'_> {
    /// A row's value of a column; a row's province is its commune's when its source has no
    /// province column (birth registrations).
    fn cell(&self, r: RowRef, col: Column) -> &str {
        if col == Column::ProvinceCode {
            return self.province_of(r);
        }
        self.cols[r.source as usize][col].get(r.row as usize)
    }

    fn source(&self, r: RowRef) -> &str {
        &self.tables[r.source as usize].name
    }
}

impl Records for View<'_> {
    /// A cell of a finding's record, from the columns resolved once (`CheckInput::cols`).
    fn cell(&self, r: RowRef, col: Column) -> &str {
        self.input.cell(r, col)
    }

    fn source(&self, r: RowRef) -> &str {
        &self.input.tables[r.source as usize].name
    }
}
