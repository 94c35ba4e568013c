//! The communes' fix lists of a distributed check, written as `check` writes them
//! ([`crate::report::write_fixlists`]) from what the driver gathered: the run's findings and
//! pairs as `findings.parquet`, `duplicates.parquet`, `review.parquet`, `clusters.parquet` and
//! `links.parquet` hold them, and the records they name — each source's rows that a finding,
//! a pair, a cluster or a link points to, in the source's order, with every column the
//! source has (the extra columns go through to the lists).
//!
//! The records are read as `check` reads their sources and stand in for them: a finding's
//! record and related record, a duplicate's record to keep and a flagged extract row's
//! resident (linked, or carrying the row's valid ID) are found among them, so each list has
//! the rows, cells and order `check` gives it. What tells them apart is the record ID a
//! finding names: where a source repeats a record ID, the first such row stands for all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};

use crate::config::Config;
use crate::core::{CheckInput, Column, Finding, Prepared, RowRef, Rule, SourceKind, Table};
use crate::dates::PDate;
use crate::dedup::parts::{column, DOUBTS};
use crate::error::{Error, Result};
use crate::matching::decide::ReviewPair;
use crate::matching::{ClusterMember, Link, MatchResult, Pair};
use crate::nightly::Previous;
use crate::output::Staging;
use crate::read::{read_data, SourceData, Warnings};
use crate::report::view::View;
use crate::verdicts::{read_verdicts, VerdictStats, Verdicts};

/// What the driver hands over: per source (residents first, then in the run's order) its
/// records; and the run's output tables as batches.
pub struct RunTables<'a> {
    pub sources: Vec<(String, SourceKind, SourceData)>,
    pub findings: &'a [RecordBatch],
    pub duplicates: &'a [RecordBatch],
    pub review: &'a [RecordBatch],
    pub clusters: &'a [RecordBatch],
    pub links: &'a [RecordBatch],
}

/// Where the records of each source are: (source index, record ID) → row, the first row that
/// carries the ID.
struct Places<'a> {
    names: HashMap<&'a str, u16>,
    rows: HashMap<(u16, &'a str), u32>,
}

impl<'a> Places<'a> {
    fn new(tables: &'a [Table]) -> Self {
        let mut names = HashMap::new();
        let mut rows = HashMap::new();
        for (s, t) in tables.iter().enumerate() {
            names.insert(t.name.as_str(), s as u16);
            let ids = t.column(Column::RecordId);
            for r in 0..t.len() {
                rows.entry((s as u16, ids.get(r))).or_insert(r as u32);
            }
        }
        Places { names, rows }
    }

    fn at(&self, source: &str, record: &str) -> Option<RowRef> {
        let s = *self.names.get(source)?;
        let r = *self.rows.get(&(s, record))?;
        Some(RowRef { source: s, row: r })
    }

    /// A record every output row names must have come with the records.
    fn needed(&self, source: &str, record: &str) -> Result<RowRef> {
        self.at(source, record).ok_or_else(|| {
            Error::internal("a record named by the run's outputs did not come with its source")
        })
    }
}

fn strings<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b StringArray> {
    column::<StringArray>(b, name)
}

fn text(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The run's findings as the engine holds them, in its order.
fn findings_of(batches: &[RecordBatch], places: &Places) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for b in batches {
        let s = |name| strings(b, name);
        let (src, rec, rule, field) = (s("source")?, s("record_id")?, s("rule")?, s("field")?);
        let (value, suggestion, note) = (s("value")?, s("suggestion")?, s("note")?);
        let (rel_src, rel_rec) = (s("related_source")?, s("related_record_id")?);
        let score = column::<Float64Array>(b, "score")?;
        for i in 0..b.num_rows() {
            let related = match (text(rel_src, i), text(rel_rec, i)) {
                (Some(src), Some(rec)) => Some(places.needed(src, rec)?),
                _ => None,
            };
            out.push(Finding {
                at: places.needed(src.value(i), rec.value(i))?,
                rule: Rule::from_code(rule.value(i))
                    .ok_or_else(|| Error::internal("a finding of an unknown rule"))?,
                field: text(field, i).and_then(Column::from_name),
                value: text(value, i).map(str::to_string),
                suggestion: text(suggestion, i).map(str::to_string),
                note: text(note, i).map(str::to_string),
                related,
                score: (!score.is_null(i)).then(|| score.value(i)),
            });
        }
    }
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(out)
}

/// A cluster ID (`C00000012`) as the number the engine holds.
fn cluster_number(id: &str) -> Result<u32> {
    id.strip_prefix('C')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::internal("a cluster ID that is not one the engine wrote"))
}

/// The pairs, review pairs, clusters and links of the run, between the records that came.
fn matches_of(run: &RunTables, places: &Places) -> Result<MatchResult> {
    let mut m = MatchResult::default();
    // A pair of the records that came (None when one did not), in cluster 0.
    let pair = |b: &RecordBatch, i: usize| -> Result<Option<Pair>> {
        let at = |src, rec| -> Result<Option<RowRef>> {
            Ok(places.at(strings(b, src)?.value(i), strings(b, rec)?.value(i)))
        };
        let (Some(a), Some(other)) = (
            at("source_a", "record_id_a")?,
            at("source_b", "record_id_b")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Pair {
            a,
            b: other,
            probability: column::<Float64Array>(b, "probability")?.value(i),
            in_province: strings(b, "scope")?.value(i) == "in_province",
            cluster: 0,
            levels: text(strings(b, "levels")?, i).unwrap_or("").into(),
            // Only duplicates.parquet says: a pair its cluster implies rather than compared.
            implied: b.schema().index_of("evidence").is_ok()
                && strings(b, "evidence")?.value(i) == "cluster",
        }))
    };
    for b in run.duplicates {
        let cluster = strings(b, "cluster_id")?;
        for i in 0..b.num_rows() {
            if let Some(p) = pair(b, i)? {
                let cluster = cluster_number(cluster.value(i))?;
                m.pairs.push(Pair { cluster, ..p });
            }
        }
    }
    for b in run.review {
        let doubt = strings(b, "reason")?;
        for i in 0..b.num_rows() {
            let Some(pair) = pair(b, i)? else {
                continue;
            };
            let doubt = DOUBTS
                .into_iter()
                .find(|d| d.code() == doubt.value(i))
                .ok_or_else(|| Error::internal("a review pair of an unknown doubt"))?;
            m.review.push(ReviewPair { pair, doubt });
        }
    }
    for b in run.clusters {
        let (src, rec) = (
            column::<StringArray>(b, "source")?,
            column::<StringArray>(b, "record_id")?,
        );
        let (cluster, keep) = (
            column::<StringArray>(b, "cluster_id")?,
            column::<BooleanArray>(b, "keep")?,
        );
        for i in 0..b.num_rows() {
            if let Some(at) = places.at(src.value(i), rec.value(i)) {
                m.clusters.push(ClusterMember {
                    at,
                    cluster: cluster_number(cluster.value(i))?,
                    keep: keep.value(i),
                });
            }
        }
    }
    for b in run.links {
        let s = |name| strings(b, name);
        let (src, rec, resident) = (s("source")?, s("record_id")?, s("resident_record_id")?);
        let probability = column::<Float64Array>(b, "probability")?;
        for i in 0..b.num_rows() {
            let (Some(at), Some(r)) = (
                places.at(src.value(i), rec.value(i)),
                places.at("residents", resident.value(i)),
            ) else {
                continue;
            };
            m.links.push(Link {
                at,
                resident: r.row,
                probability: probability.value(i),
            });
        }
    }
    Ok(m)
}

/// What a nightly run brings to the driver's last step: the previous run (`check --previous`)
/// and the officers' returned fix lists or verdict tables (`check --verdicts`).
#[derive(Default)]
pub struct Nightly<'a> {
    pub previous: Option<&'a Previous>,
    pub verdicts: &'a [PathBuf],
}

/// What the last step changed, for summary.json: the verdicts' figures, the duplicate figures
/// once withdrawn pairs are left out, and the warnings of reading the verdicts.
#[derive(Debug, Default, serde::Serialize)]
pub struct Finished {
    pub verdicts: VerdictStats,
    pub pairs: usize,
    pub pairs_from_clusters: usize,
    pub review_pairs: usize,
    pub clusters: usize,
    pub warnings: Vec<String>,
}

/// Write the communes' fix lists into `out` (`fixlists/<commune>.csv` and `.xlsx`, added to
/// what is there, owner-only), and findings.parquet, resolved.parquet, duplicates.parquet,
/// clusters.parquet and review.parquet again as `check` writes them (findings in its order,
/// with the sources' extra columns); return the files written, relative to `out`.
///
/// With a previous run or verdicts (`nightly`), first as `check` does: the verdicts (those the
/// previous run kept, then the returned ones) withdraw their findings and pairs while the
/// records are unchanged, clusters keep the previous run's IDs, each finding is `open` or
/// `new`, the previous run's findings that no longer fire are resolved, and the verdicts in
/// force go to verdicts.parquet.
pub fn write_fixlists(
    out: &Path,
    run: RunTables,
    as_of: PDate,
    config: &Config,
    nightly: &Nightly,
) -> Result<(Vec<String>, Finished)> {
    let mut warnings = Warnings::new();
    let mut tables = Vec::with_capacity(run.sources.len() + 1);
    for (name, kind, data) in &run.sources {
        tables.push(read_data(name, *kind, data, config, &mut warnings)?);
    }
    let tables = super::with_residents(tables);
    // Only the verdicts' warnings go to the summary: the sources' were given when they were read.
    let mut said = Warnings::new();
    let mut verdicts = Verdicts::default();
    if let Some(prev) = nightly.previous {
        let kept = prev.dir.join("verdicts.parquet");
        if kept.exists() {
            verdicts.extend(read_verdicts(
                &[kept],
                &tables,
                &as_of.to_string(),
                &mut said,
            )?);
        }
    }
    verdicts.extend(read_verdicts(
        nightly.verdicts,
        &tables,
        &as_of.to_string(),
        &mut said,
    )?);
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let input = CheckInput::new(
        &tables,
        &prepared,
        super::context(&tables, None, None, as_of, config),
    );
    let places = Places::new(&tables);
    let findings = findings_of(run.findings, &places)?;
    let mut matches = matches_of(&run, &places)?;
    if let Some(prev) = nightly.previous {
        crate::nightly::keep_cluster_ids(&input, &mut matches, prev);
    }
    let findings = verdicts.apply_to_run(findings, &mut matches, &input);
    let view = View::new(&input, findings, &matches, None, nightly.previous);
    let staging = Staging::adding(out, false)?;
    crate::report::tables::write_judged_tables(&staging, &view, config)?;
    if !verdicts.is_empty() {
        let (schema, batch) = verdicts.batch()?;
        staging.write_parquet("verdicts.parquet", schema, &[batch])?;
    }
    crate::report::write_fixlists(&staging, &view, config)?;
    // Counted as check counts them.
    let counted = crate::report::summary::duplicate_stats(&view);
    let finished = Finished {
        verdicts: verdicts.stats.clone(),
        pairs: counted.pairs,
        pairs_from_clusters: counted.pairs_from_clusters,
        review_pairs: counted.review_pairs,
        clusters: counted.clusters,
        warnings: said,
    };
    let written = staging.staged();
    staging.commit()?;
    Ok((written, finished))
}
