//! The records the fix lists show, their cells copied from the sources' columns once, in row
//! order. A commune's rows are scattered over every source; read commune by commune, each
//! page of a column is read many times, and when the columns are held on disk (`check
//! --memory-gb`) under a tight memory limit each of those reads can be a read from the disk.
//! One pass in row order reads every page once.

use rayon::prelude::*;

use super::fixlist::record_print;
use super::view::{Records, View};
use crate::core::{Column, RowRef};

/// The columns of a record a fix list shows (as the record's own row, as a related record or
/// as the record a row sorts under).
const SHOWN: [Column; 8] = [
    Column::RecordId,
    Column::PersonalId,
    Column::FullName,
    Column::BirthDate,
    Column::Sex,
    Column::HouseholdId,
    Column::CommuneCode,
    Column::ProvinceCode,
];

/// Records per part: each part is one thread's work and one string of text.
const PART: usize = 1 << 13;

/// The shown cells, the extra columns and the fingerprint part of a set of records.
pub struct Gathered {
    /// The records, sorted.
    refs: Vec<RowRef>,
    /// Per source: for each run of [`RUN`] rows, where its records start in `refs` (and, last,
    /// where the source's records end), so that a look-up searches a run, not every record.
    runs: Vec<Vec<usize>>,
    /// The records in parts of [`PART`], in order.
    parts: Vec<Part>,
    /// Cells per record: the shown columns, then the extra columns.
    width: usize,
}

struct Part {
    /// Each record's cells one after another.
    text: String,
    /// Per record: where its cells start in `text`.
    starts: Vec<usize>,
    /// Per record and cell: where the cell ends, counted from the record's start.
    ends: Vec<u32>,
    /// Per record: [`record_print`].
    prints: Vec<u64>,
}

/// One record's cells.
pub struct Shown<'g> {
    text: &'g str,
    ends: &'g [u32],
    /// The record's part of a fix-list row's fingerprint ([`record_print`]).
    pub print: u64,
}

impl Gathered {
    /// Gather `refs` (in any order, repeats allowed) from the view's sources.
    pub fn new(view: &View, mut refs: Vec<RowRef>) -> Gathered {
        refs.par_sort_unstable();
        refs.dedup();
        refs.shrink_to_fit();
        let width = SHOWN.len() + view.extras.headers.len();
        let parts = refs
            .par_chunks(PART)
            .map(|chunk| Part::of(view, chunk, width))
            .collect();
        let runs = runs_of(&refs);
        Gathered {
            refs,
            runs,
            parts,
            width,
        }
    }

    /// The cells of record `r`, which must be one of those gathered.
    pub fn get(&self, r: RowRef) -> Shown<'_> {
        let i =
            position(&self.refs, &self.runs, r).expect("every record a fix list shows is gathered");
        let (part, j) = (&self.parts[i / PART], i % PART);
        let end = part.starts.get(j + 1).copied().unwrap_or(part.text.len());
        Shown {
            text: &part.text[part.starts[j]..end],
            ends: &part.ends[j * self.width..(j + 1) * self.width],
            print: part.prints[j],
        }
    }
}

/// Rows a run of [`Gathered::runs`] spans.
const RUN: u32 = 64;

/// [`Gathered::runs`] of sorted, distinct records.
fn runs_of(refs: &[RowRef]) -> Vec<Vec<usize>> {
    let sources = refs.last().map_or(0, |r| r.source as usize + 1);
    let mut runs: Vec<Vec<usize>> = vec![Vec::new(); sources];
    for (source, runs) in runs.iter_mut().enumerate() {
        let from = refs.partition_point(|r| (r.source as usize) < source);
        let to = refs.partition_point(|r| (r.source as usize) <= source);
        let Some(last) = refs[from..to].last() else {
            continue;
        };
        // Run k starts at the first record of row k * RUN or later.
        let mut at = from;
        for k in 0..=(last.row / RUN) + 1 {
            while at < to && refs[at].row < k * RUN {
                at += 1;
            }
            runs.push(at);
        }
    }
    runs
}

/// Where record `r` is in `refs` (sorted, distinct; `runs` its [`runs_of`]), if it is there.
fn position(refs: &[RowRef], runs: &[Vec<usize>], r: RowRef) -> Option<usize> {
    let run = (r.row / RUN) as usize;
    let s = runs.get(r.source as usize)?;
    let (from, to) = (*s.get(run)?, *s.get(run + 1)?);
    refs[from..to].binary_search(&r).ok().map(|i| from + i)
}

impl Part {
    fn of(view: &View, refs: &[RowRef], width: usize) -> Part {
        let mut part = Part {
            text: String::new(),
            starts: Vec::with_capacity(refs.len()),
            ends: Vec::with_capacity(refs.len() * width),
            prints: Vec::with_capacity(refs.len()),
        };
        for &r in refs {
            let start = part.text.len();
            part.starts.push(start);
            let extras = (0..width - SHOWN.len()).map(|i| view.extras.get(r, i).unwrap_or(""));
            for cell in SHOWN.iter().map(|&c| view.cell(r, c)).chain(extras) {
                part.text.push_str(cell);
                // One record's cells are far below 4 GB: an input row cannot hold that much.
                let end = u32::try_from(part.text.len() - start).expect("a record under 4 GB");
                part.ends.push(end);
            }
            part.prints.push(record_print(view, r));
        }
        part.text.shrink_to_fit();
        part
    }
}

impl<'g> Shown<'g> {
    fn at(&self, k: usize) -> &'g str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    /// A shown cell of the record ("" when absent); its province is its commune's when the
    /// source has no province column.
    pub fn cell(&self, col: Column) -> &'g str {
        let k = SHOWN
            .iter()
            .position(|&c| c == col)
            .expect("a column the fix lists show");
        self.at(k)
    }

    /// Extra column `i` of the record ("" when null or absent).
    pub fn extra(&self, i: usize) -> &'g str {
        self.at(SHOWN.len() + i)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, StringArray};

    /// A record is found through its run of rows wherever it is: the first and last row of a
    /// run, a source with no records, rows far apart; a record not gathered is not found.
    #[test]
    fn records_are_found_through_their_runs() {
        use super::{position, runs_of, RUN};
        use crate::core::RowRef;
        let mut refs: Vec<RowRef> = [
            (0, 0),
            (0, 1),
            (0, RUN - 1),
            (0, RUN),
            (0, 5 * RUN + 3),
            (2, 7),
            (2, 3 * RUN),
            (2, 1_000_000),
            (3, RUN - 1),
        ]
        .iter()
        .map(|&(s, r)| RowRef::new(s, r as usize))
        .collect();
        refs.sort_unstable();
        let runs = runs_of(&refs);
        for (i, &r) in refs.iter().enumerate() {
            assert_eq!(position(&refs, &runs, r), Some(i), "{r:?}");
        }
        for (s, r) in [
            (0, 2),
            (0, RUN + 1),
            (1, 0),
            (2, 8),
            (2, 1_000_001),
            (3, RUN),
            (4, 0),
        ] {
            let absent = RowRef::new(s, r as usize);
            assert_eq!(position(&refs, &runs, absent), None, "{absent:?}");
        }
    }

    use super::*;
    use crate::core::{CheckInput, Prepared, SourceKind, Table};
    use crate::dates::PDate;
    use crate::matching::MatchResult;

    #[test]
    fn every_record_reads_back_its_own_cells_whatever_order_it_was_asked_in() {
        let n = 20_000;
        let col = |f: &dyn Fn(usize) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values((0..n).map(f)))
        };
        let table = Table::from_columns(
            "residents",
            SourceKind::Residents,
            vec![
                ("record_id".into(), col(&|i| format!("R{i}"))),
                (
                    "personal_id".into(),
                    col(&|i| format!("{:012}", 1_000_000 + i)),
                ),
                (
                    "full_name".into(),
                    col(&|i| "Nguyễn Thị Ánh ".repeat(i % 3)),
                ),
                (
                    "birth_date".into(),
                    col(&|i| format!("19{:02}-01-02", i % 100)),
                ),
                ("commune_code".into(), col(&|i| format!("{:05}", i % 7))),
                ("ghi_chu_xa".into(), col(&|i| format!("ghi chú {i}"))),
            ],
        );
        let tables = vec![table];
        let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
        let config = crate::config::Config::default();
        let ctx = crate::kernels::context(&tables, None, None, PDate::new(2026, 6, 30), &config);
        let input = CheckInput::new(&tables, &prepared, ctx);
        let matches = MatchResult::default();
        let view = View::new(&input, Vec::new(), &matches, None, None);
        assert_eq!(view.extras.headers.len(), 1);
        // Asked in reverse, some twice, some never.
        let asked: Vec<RowRef> = (0..n as u32)
            .rev()
            .filter(|r| r % 5 != 3)
            .chain([0, 1, 7])
            .map(RowRef::resident)
            .collect();
        let gathered = Gathered::new(&view, asked.clone());
        for &r in &asked {
            let shown = gathered.get(r);
            for col in SHOWN {
                assert_eq!(shown.cell(col), view.cell(r, col));
            }
            assert_eq!(shown.extra(0), format!("ghi chú {}", r.row));
            assert_eq!(shown.print, record_print(&view, r));
        }
        assert_eq!(gathered.get(RowRef::resident(6)).cell(Column::FullName), "");
    }
}
