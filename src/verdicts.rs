//! The officers' verdicts (`check --verdicts FILE ...`): returned fix lists (XLSX or CSV, their
//! "Kết quả xác minh" column) or a Parquet table of verdicts. A finding marked `Không phải lỗi`
//! or a pair marked `Không trùng` is not reported again while the record(s) it concerns are
//! unchanged (the fix list's record code still matches); when a record changes, the verdict
//! lapses and the finding comes back. Verdicts in force are kept in the run's
//! `verdicts.parquet`, which the next night's `--previous` reads again.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::core::{Finding, RowRef, Table};
use crate::error::{Error, Result};
use crate::matching::MatchResult;
use crate::read::Warnings;
use crate::report::fixlist::{
    fingerprint, source_label_vi, FINGERPRINT_HEADER, VERDICTS, VERDICT_HEADER, VERDICT_NOTE_HEADER,
};
use crate::report::view::Records;
pub use crate::summary::VerdictStats;

/// What an officer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// `Đã sửa`: the record was fixed (the finding goes when the data says so).
    Fixed,
    /// `Không phải lỗi`: the finding is wrong.
    NotAnError,
    /// `Không trùng`: the two records are two people.
    NotSame,
    /// `Cần xác minh thêm`: still being checked.
    NeedsChecking,
}

impl Verdict {
    pub fn from_vi(s: &str) -> Option<Verdict> {
        let s = crate::text::fold(s.trim());
        [
            Verdict::Fixed,
            Verdict::NotAnError,
            Verdict::NotSame,
            Verdict::NeedsChecking,
        ]
        .into_iter()
        .find(|v| crate::text::fold(v.label_vi()) == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Verdict::Fixed => VERDICTS[0],
            Verdict::NotAnError => VERDICTS[1],
            Verdict::NotSame => VERDICTS[2],
            Verdict::NeedsChecking => VERDICTS[3],
        }
    }

    /// Whether the finding stays out of the outputs while its records are unchanged.
    pub fn withdraws(self) -> bool {
        matches!(self, Verdict::NotAnError | Verdict::NotSame)
    }
}

/// One returned verdict, keyed by the finding it answers.
#[derive(Clone, Debug)]
pub struct Returned {
    /// The source's name (`residents`, an extract's name).
    pub source: String,
    pub record_id: String,
    pub rule: String,
    /// The related record's record_id ("" when the finding has none).
    pub related_record_id: String,
    pub verdict: Verdict,
    pub note: String,
    pub verdict_date: String,
    /// The record code the fix list showed ("" when the verdict table had none: then the
    /// verdict holds whatever the record becomes).
    pub fingerprint: String,
}

type Key = (String, String, String, String);

impl Returned {
    fn key(&self) -> Key {
        (
            self.source.clone(),
            self.record_id.clone(),
            self.rule.clone(),
            self.related_record_id.clone(),
        )
    }
}

/// The verdicts of a run, by the finding they answer.
#[derive(Default)]
pub struct Verdicts {
    by_key: HashMap<Key, Returned>,
    pub stats: VerdictStats,
}

impl Verdicts {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Add verdicts; a later one for the same finding replaces an earlier one.
    pub fn extend(&mut self, returned: Vec<Returned>) {
        for r in returned {
            self.by_key.insert(r.key(), r);
        }
    }

    /// Keep the findings no verdict withdraws, and give the pairs of records whose findings
    /// were withdrawn (both orders); count what the verdicts did. A verdict whose record code
    /// no longer matches its records lapses (and is dropped from the verdicts in force).
    pub fn apply(
        &mut self,
        findings: Vec<Finding>,
        records: &dyn Records,
    ) -> (Vec<Finding>, HashSet<(RowRef, RowRef)>) {
        let mut pairs = HashSet::new();
        self.stats.read = self.by_key.len();
        for r in self.by_key.values() {
            *self
                .stats
                .per_verdict
                .entry(r.verdict.label_vi().to_string())
                .or_default() += 1;
        }
        if self.by_key.is_empty() {
            return (findings, pairs);
        }
        let mut lapsed: Vec<Key> = Vec::new();
        let mut kept = Vec::with_capacity(findings.len());
        for f in findings {
            // A pair's verdict, given on either record's row, answers both rows.
            let key = finding_key(&f, records);
            let (found, fp) = match self.by_key.get(&key) {
                Some(r) => (Some((r, key)), fingerprint(records, f.at, f.related)),
                None => match f.related {
                    Some(other) => {
                        let rev = reversed_key(&f, other, records);
                        (
                            self.by_key.get(&rev).map(|r| (r, rev)),
                            fingerprint(records, other, Some(f.at)),
                        )
                    }
                    None => (None, String::new()),
                },
            };
            match found {
                Some((r, key)) if r.verdict.withdraws() => {
                    if r.fingerprint.is_empty() || r.fingerprint == fp {
                        self.stats.findings_withdrawn += 1;
                        if let Some(other) = f.related {
                            pairs.insert((f.at, other));
                            pairs.insert((other, f.at));
                        }
                        continue;
                    }
                    lapsed.push(key);
                    kept.push(f);
                }
                _ => kept.push(f),
            }
        }
        lapsed.sort();
        lapsed.dedup();
        self.stats.records_changed = lapsed.len();
        for k in lapsed {
            self.by_key.remove(&k);
        }
        (kept, pairs)
    }

    /// [`Verdicts::apply`] to a run: the findings kept, and the pairs and rows for review of
    /// the records whose finding a verdict withdrew taken out of `matches`.
    pub fn apply_to_run(
        &mut self,
        findings: Vec<Finding>,
        matches: &mut MatchResult,
        records: &dyn Records,
    ) -> Vec<Finding> {
        let (findings, withdrawn) = self.apply(findings, records);
        if !withdrawn.is_empty() {
            matches.pairs.retain(|p| !withdrawn.contains(&(p.a, p.b)));
            matches
                .review
                .retain(|r| !withdrawn.contains(&(r.pair.a, r.pair.b)));
        }
        findings
    }

    /// `verdicts.parquet`: the verdicts in force, for the next night.
    pub fn batch(&self) -> Result<(Arc<Schema>, RecordBatch)> {
        let schema = verdicts_schema();
        let mut rows: Vec<&Returned> = self.by_key.values().collect();
        rows.sort_by_key(|r| r.key());
        let mut b: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
        for r in rows {
            b[0].append_value(&r.source);
            b[1].append_value(&r.record_id);
            b[2].append_value(&r.rule);
            b[3].append_value(&r.related_record_id);
            b[4].append_value(r.verdict.label_vi());
            b[5].append_value(&r.note);
            b[6].append_value(&r.verdict_date);
            b[7].append_value(&r.fingerprint);
        }
        let cols: Vec<ArrayRef> = b
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(Error::internal)?;
        Ok((schema, batch))
    }
}

/// Schema of `verdicts.parquet` (and of a Parquet verdict table given to `--verdicts`, where
/// `fingerprint` may be absent).
pub fn verdicts_schema() -> Arc<Schema> {
    let f = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        f("source"),
        f("record_id"),
        f("rule"),
        f("related_record_id"),
        f("verdict"),
        f("note"),
        f("verdict_date"),
        f("fingerprint"),
    ]))
}

fn finding_key(f: &Finding, records: &dyn Records) -> Key {
    (
        records.source(f.at).to_string(),
        records
            .cell(f.at, crate::core::Column::RecordId)
            .to_string(),
        f.rule.code().to_string(),
        f.related
            .map(|r| records.cell(r, crate::core::Column::RecordId).to_string())
            .unwrap_or_default(),
    )
}

/// The key of the same finding seen from the related record (a pair's other row).
fn reversed_key(f: &Finding, other: RowRef, records: &dyn Records) -> Key {
    (
        records.source(other).to_string(),
        records
            .cell(other, crate::core::Column::RecordId)
            .to_string(),
        f.rule.code().to_string(),
        records
            .cell(f.at, crate::core::Column::RecordId)
            .to_string(),
    )
}

/// Read returned fix lists and verdict tables. `tables` are this run's sources (to turn the
/// fix lists' Vietnamese source names back into source names); `as_of` dates verdicts that
/// carry no date.
pub fn read_verdicts(
    paths: &[PathBuf],
    tables: &[Table],
    as_of: &str,
    warnings: &mut Warnings,
) -> Result<Vec<Returned>> {
    let mut out = Vec::new();
    for path in paths {
        read_one(path, tables, as_of, warnings, &mut out)?;
    }
    Ok(out)
}

/// The source name of a fix list's "Nguồn" cell (a Vietnamese label or a source name).
fn source_of<'a>(cell: &str, tables: &'a [Table]) -> Option<&'a str> {
    tables
        .iter()
        .find(|t| t.name == cell || source_label_vi(&t.name, t.kind) == cell)
        .map(|t| t.name.as_str())
}

/// The record_id of a "Bản ghi liên quan" cell ("<source> <record_id>").
fn related_id<'a>(cell: &'a str, tables: &[Table]) -> &'a str {
    for t in tables {
        for label in [source_label_vi(&t.name, t.kind).as_ref(), t.name.as_str()] {
            if let Some(rest) = cell.strip_prefix(label).and_then(|r| r.strip_prefix(' ')) {
                return rest;
            }
        }
    }
    cell
}

/// The columns a verdict is read from, in one order: source, record, rule, related record,
/// verdict, note, record code — in a returned fix list, and in a verdict table.
const FIX_LIST_COLUMNS: [&str; 7] = [
    "Nguồn",
    "Mã bản ghi",
    "Quy tắc",
    "Bản ghi liên quan",
    VERDICT_HEADER,
    VERDICT_NOTE_HEADER,
    FINGERPRINT_HEADER,
];
const TABLE_COLUMNS: [&str; 7] = [
    "source",
    "record_id",
    "rule",
    "related_record_id",
    "verdict",
    "note",
    "fingerprint",
];

fn read_one(
    path: &Path,
    tables: &[Table],
    as_of: &str,
    warnings: &mut Warnings,
    out: &mut Vec<Returned>,
) -> Result<()> {
    let wanted = |h: &str| {
        FIX_LIST_COLUMNS.contains(&h) || TABLE_COLUMNS.contains(&h) || h == "verdict_date"
    };
    let t = crate::read::read_columns(path, "verdicts", &wanted)?;
    let fix_list = t.col(VERDICT_HEADER).is_present();
    if !fix_list && !t.col("verdict").is_present() {
        return Err(Error::input(
            path,
            format!("this is neither a returned fix list (no \"{VERDICT_HEADER}\" column) nor a verdict table (no verdict column)"),
        ));
    }
    let names = if fix_list {
        FIX_LIST_COLUMNS
    } else {
        TABLE_COLUMNS
    };
    let c: Vec<_> = names.iter().map(|n| t.col(n)).collect();
    // A verdict answers the finding its row names by source, record and rule: without one of
    // them it would match nothing, and the officers' answers would be lost without a word.
    let missing: Vec<String> = (0..3)
        .filter(|&k| !c[k].is_present())
        .map(|k| format!("\"{}\"", names[k]))
        .collect();
    if let Some((first, rest)) = missing.split_first() {
        let also = if rest.is_empty() {
            String::new()
        } else {
            format!(" (also missing: {})", rest.join(", "))
        };
        let kind = if fix_list {
            "returned fix list"
        } else {
            "verdict table"
        };
        return Err(Error::input(
            path,
            format!("this {kind} has no {first} column{also}, so its verdicts cannot be matched to findings"),
        ));
    }
    let date = t.col("verdict_date");
    let (mut unknown_verdict, mut unknown_source) = (0usize, 0usize);
    for i in 0..t.len() {
        let text = c[4].raw(i).trim();
        if text.is_empty() {
            continue;
        }
        let Some(verdict) = Verdict::from_vi(text) else {
            unknown_verdict += 1;
            continue;
        };
        let source_cell = c[0].raw(i).trim();
        let Some(source) = source_of(source_cell, tables) else {
            unknown_source += 1;
            continue;
        };
        let related = c[3].raw(i).trim();
        out.push(Returned {
            source: source.to_string(),
            record_id: c[1].raw(i).trim().to_string(),
            rule: c[2].raw(i).trim().to_string(),
            related_record_id: if fix_list {
                related_id(related, tables).to_string()
            } else {
                related.to_string()
            },
            verdict,
            note: c[5].raw(i).trim().to_string(),
            verdict_date: match date.raw(i).trim() {
                "" => as_of.to_string(),
                d => d.to_string(),
            },
            fingerprint: c[6].raw(i).trim().to_string(),
        });
    }
    if unknown_verdict > 0 {
        warnings.push(format!(
            "{}: {unknown_verdict} rows have a verdict other than {} and were not used",
            path.display(),
            VERDICTS.join(", ")
        ));
    }
    if unknown_source > 0 {
        warnings.push(format!(
            "{}: {unknown_source} rows name a source this run does not read and were not used",
            path.display()
        ));
    }
    Ok(())
}
