//! One input source in memory: an Arrow `RecordBatch` whose columns are all UTF-8 text, with
//! recognised columns under their canonical names and every other column carried through
//! under its own header. A column whose values repeat (codes, dates, sex, households,
//! parents' names, addresses) is held dictionary-encoded once read ([`Table::compact`]): a
//! key of 4 bytes a row and each value once.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use rayon::prelude::*;

use super::column::{is_canonical, Column, SourceKind};

/// A source of records (all residents files, or one linked extract).
#[derive(Debug, Clone)]
pub struct Table {
    /// The `source` value written in outputs: `residents`, `vaccination`, `insurance`, or
    /// the extract's NAME.
    pub name: String,
    pub kind: SourceKind,
    pub batch: RecordBatch,
    /// The files it was read from, with the first row of each.
    pub files: Vec<(PathBuf, usize)>,
}

/// A text column that may be absent: every accessor returns "" for absent, null or
/// out-of-range cells, so rules need no special cases.
#[derive(Clone, Copy)]
pub struct Col<'a>(Option<Text<'a>>);

/// How a text column is held: plain, or as keys into its distinct values.
#[derive(Clone, Copy)]
enum Text<'a> {
    Plain(&'a StringArray),
    Dict(&'a DictionaryArray<UInt32Type>, &'a StringArray),
}

impl<'a> Text<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        let any = array.as_any();
        if let Some(a) = any.downcast_ref::<StringArray>() {
            return Some(Text::Plain(a));
        }
        let d = any.downcast_ref::<DictionaryArray<UInt32Type>>()?;
        let values = d.values().as_any().downcast_ref::<StringArray>()?;
        Some(Text::Dict(d, values))
    }
}

impl<'a> Col<'a> {
    /// An absent column (every cell reads as empty).
    pub const NONE: Col<'static> = Col(None);

    /// The cell, untrimmed ("" when absent or null).
    #[inline]
    pub fn raw(&self, row: usize) -> &'a str {
        self.cell(row).unwrap_or("")
    }

    /// The cell, trimmed. Most cells start and end with a visible ASCII character and are
    /// returned without scanning (this runs for every cell every rule reads).
    #[inline]
    pub fn get(&self, row: usize) -> &'a str {
        let s = self.raw(row);
        let visible = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b < 0x7f);
        if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
            s
        } else {
            s.trim()
        }
    }

    /// The cell as it is, or None when absent or null (for columns carried through
    /// untouched).
    #[inline]
    pub fn cell(&self, row: usize) -> Option<&'a str> {
        match self.0 {
            Some(Text::Plain(a)) if row < a.len() && a.is_valid(row) => Some(a.value(row)),
            Some(Text::Dict(d, values)) if row < d.len() && d.is_valid(row) => {
                let k = d.keys().values()[row] as usize;
                values.is_valid(k).then(|| values.value(k))
            }
            _ => None,
        }
    }

    /// The trimmed cell, or None when empty.
    #[inline]
    pub fn opt(&self, row: usize) -> Option<&'a str> {
        let v = self.get(row);
        (!v.is_empty()).then_some(v)
    }

    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// For a dictionary-encoded column, `f` of each distinct value as [`Col::get`] reads it
    /// (computed once a value rather than once a row); None for a plain or absent column.
    pub fn by_value<T: Send + Copy>(&self, f: impl Fn(&str) -> T + Sync) -> Option<ByValue<T>> {
        self.by_raw_value(|v| f(v.trim()))
    }

    /// [`Col::by_value`] over each distinct value as [`Col::raw`] reads it (untrimmed).
    pub fn by_raw_value<T: Send + Copy>(&self, f: impl Fn(&str) -> T + Sync) -> Option<ByValue<T>> {
        let Some(Text::Dict(_, values)) = self.0 else {
            return None;
        };
        let per: Vec<T> = (0..values.len())
            .into_par_iter()
            .with_min_len(1024)
            .map(|k| {
                let v = if values.is_valid(k) {
                    values.value(k)
                } else {
                    ""
                };
                f(v)
            })
            .collect();
        Some(ByValue { per, empty: f("") })
    }

    /// `f` of each cell as [`Col::get`] reads it: once a distinct value when the column is
    /// dictionary-encoded ([`Col::by_value`]), else once a row.
    pub fn mapped<T: Send + Copy, F: Fn(&str) -> T + Sync>(&self, f: F) -> Mapped<'a, T, F> {
        Mapped {
            col: *self,
            by_value: self.by_value(&f),
            f,
        }
    }

    /// The row's index into its column's distinct values (dictionary-encoded, not null).
    #[inline]
    fn value_index(&self, row: usize) -> Option<usize> {
        match self.0 {
            Some(Text::Dict(d, _)) if row < d.len() && d.is_valid(row) => {
                Some(d.keys().values()[row] as usize)
            }
            _ => None,
        }
    }
}

/// A function's results over a dictionary-encoded column's distinct values ([`Col::by_value`]).
pub struct ByValue<T> {
    per: Vec<T>,
    /// For an absent or null cell.
    empty: T,
}

impl<T: Copy> ByValue<T> {
    /// The result for a row of `col` (the column it was computed over).
    #[inline]
    pub fn get(&self, col: &Col, row: usize) -> T {
        col.value_index(row)
            .and_then(|k| self.per.get(k).copied())
            .unwrap_or(self.empty)
    }
}

/// A function of a column's cells ([`Col::mapped`]).
pub struct Mapped<'a, T, F> {
    col: Col<'a>,
    by_value: Option<ByValue<T>>,
    f: F,
}

impl<T: Copy, F: Fn(&str) -> T> Mapped<'_, T, F> {
    /// The result for a row.
    #[inline]
    pub fn get(&self, row: usize) -> T {
        match &self.by_value {
            Some(b) => b.get(&self.col, row),
            None => (self.f)(self.col.get(row)),
        }
    }

    /// Whether the results were computed once a distinct value.
    pub fn once_a_value(&self) -> bool {
        self.by_value.is_some()
    }
}

impl Table {
    /// Build a table from named text columns (all the same length).
    pub fn from_columns(name: &str, kind: SourceKind, columns: Vec<(String, ArrayRef)>) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
            .collect();
        let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, a)| a).collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = if arrays.is_empty() {
            RecordBatch::new_empty(schema)
        } else {
            RecordBatch::try_new(schema, arrays).expect("columns of equal length")
        };
        Table {
            name: name.to_string(),
            kind,
            batch,
            files: Vec::new(),
        }
    }

    /// Hold each column whose values repeat as keys into its distinct values, when that takes
    /// less memory (codes, dates, sex, relations, households, parents' names, addresses, an
    /// extract's repeated personal IDs; at 1 M people with every source, 0.67 GB of text
    /// becomes about 0.36 GB). Columns whose first rows are all distinct (record IDs) are left
    /// as they are. Readers see no difference: [`Col`] reads both forms.
    pub fn compact(&mut self) {
        let columns: Vec<(String, ArrayRef)> = self
            .batch
            .schema()
            .fields()
            .iter()
            .zip(self.batch.columns())
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(f, a)| (f.name().clone(), compact_column(a)))
            .collect();
        self.batch = Table::from_columns(&self.name, self.kind, columns).batch;
    }

    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A canonical column.
    #[inline]
    pub fn column(&self, c: Column) -> Col<'_> {
        self.col(c.name())
    }

    /// A column by header (a canonical name, or an extra column's own header).
    pub fn col(&self, name: &str) -> Col<'_> {
        Col(self.batch.column_by_name(name).and_then(Text::of))
    }

    /// The unknown extra columns (any column that is not canonical), in file order, with
    /// their headers.
    pub fn extra_columns(&self) -> Vec<(&str, Col<'_>)> {
        self.batch
            .schema_ref()
            .fields()
            .iter()
            .filter(|f| !is_canonical(f.name()))
            .map(|f| (f.name().as_str(), self.col(f.name())))
            .collect()
    }

    /// Column names, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }
}

/// Rows a column must have before it is worth compacting, and rows of it sampled (spread
/// over the column) to see whether its values repeat at all.
const COMPACT_MIN_ROWS: usize = 4096;
const COMPACT_SAMPLE: usize = 1 << 16;

/// A plain text column dictionary-encoded, if its values repeat enough for that to take less
/// memory; otherwise the column itself.
fn compact_column(array: &ArrayRef) -> ArrayRef {
    let Some(a) = array.as_any().downcast_ref::<StringArray>() else {
        return array.clone();
    };
    if a.len() < COMPACT_MIN_ROWS || a.len() > u32::MAX as usize {
        return array.clone();
    }
    // Identifiers: (nearly) every value distinct in a sample; and a column of nulls needs no
    // dictionary either. A sample's share of distinct values is at least the column's. The
    // sample is runs of neighbouring rows spread over the column, so that values repeated
    // close together (a household's members) are seen. Empty cells cost as little plain as
    // keyed, so only repeated values that are not empty count, and short values (a mostly
    // empty column) save less than the keys cost.
    let runs = COMPACT_SAMPLE / COMPACT_MIN_ROWS;
    let step = (a.len() / runs).max(COMPACT_MIN_ROWS);
    let mut seen = std::collections::HashSet::with_capacity(COMPACT_SAMPLE.min(a.len()));
    let (mut valid, mut repeats, mut bytes) = (0usize, 0usize, 0usize);
    let mut half = None;
    for (i, start) in (0..a.len()).step_by(step).enumerate() {
        if i == runs / 2 {
            half = Some(seen.len());
        }
        for r in (start..(start + COMPACT_MIN_ROWS).min(a.len())).filter(|&r| a.is_valid(r)) {
            valid += 1;
            bytes += a.value(r).len();
            let v = a.value(r);
            repeats += usize::from(!v.is_empty() && !seen.insert(v));
        }
    }
    if valid == 0 || repeats * 20 < valid || bytes < 2 * valid {
        return array.clone();
    }
    // Few values when the sample's second half adds few new ones (under 60 % of the first
    // half's: drawn evenly from fewer than about 64 k values); otherwise many.
    let few = half.is_some_and(|h| (seen.len() - h) * 5 < h * 3);
    let (keys, distinct) = few
        .then(|| few_values(a))
        .flatten()
        .unwrap_or_else(|| many_values(a));
    let value_bytes: usize = distinct.iter().map(|&r| a.value(r as usize).len()).sum();
    let dict_bytes = 4 * a.len() + 4 * (distinct.len() + 1) + value_bytes;
    if dict_bytes >= a.get_array_memory_size() {
        return array.clone();
    }
    let mut values =
        arrow_array::builder::StringBuilder::with_capacity(distinct.len(), value_bytes);
    for &r in &distinct {
        values.append_value(a.value(r as usize));
    }
    let keys = arrow_array::UInt32Array::new(keys.into(), a.nulls().cloned());
    match DictionaryArray::try_new(keys, Arc::new(values.finish())) {
        Ok(d) => Arc::new(d),
        Err(_) => array.clone(),
    }
}

/// Rows a chunk of [`few_values`] encodes on its own, and the distinct values a chunk may
/// meet before the column counts as having many values.
const CHUNK_ROWS: usize = 1 << 16;
const CHUNK_DISTINCT: usize = CHUNK_ROWS / 2;
/// The distinct values of the whole column beyond which [`few_values`] gives way to
/// [`many_values`] (its one table would then outgrow the cache).
const FEW_DISTINCT: usize = 1 << 18;

/// A column of few distinct values (codes, sex, dates) as (a key per row, a row holding each
/// value in key order): each chunk of rows is encoded in parallel by a small hash table that
/// stays in cache, then the chunks' values are numbered in order of first appearance. None
/// when a chunk meets too many values for that to pay.
fn few_values(a: &StringArray) -> Option<(Vec<u32>, Vec<u32>)> {
    use std::collections::HashMap;
    let starts: Vec<usize> = (0..a.len()).step_by(CHUNK_ROWS).collect();
    let chunks: Vec<(Vec<u32>, Vec<u32>)> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + CHUNK_ROWS).min(a.len());
            let mut index: HashMap<&str, u32, Fnv> =
                HashMap::with_capacity_and_hasher(1024, Fnv::default());
            let (mut keys, mut rows) = (Vec::with_capacity(end - start), Vec::new());
            for r in start..end {
                if a.is_null(r) {
                    keys.push(0);
                    continue;
                }
                let k = *index.entry(a.value(r)).or_insert_with(|| {
                    rows.push(r as u32);
                    rows.len() as u32 - 1
                });
                if rows.len() > CHUNK_DISTINCT {
                    return None;
                }
                keys.push(k);
            }
            Some((keys, rows))
        })
        .collect::<Option<_>>()?;
    // Each chunk's values numbered over the whole column, in order of first appearance.
    let mut global: HashMap<&str, u32, Fnv> = HashMap::with_hasher(Fnv::default());
    let mut distinct = Vec::new();
    let mut renumber: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    for (_, rows) in &chunks {
        let to = rows
            .iter()
            .map(|&r| {
                *global.entry(a.value(r as usize)).or_insert_with(|| {
                    distinct.push(r);
                    distinct.len() as u32 - 1
                })
            })
            .collect();
        if distinct.len() > FEW_DISTINCT {
            return None;
        }
        renumber.push(to);
    }
    let mut keys = vec![0u32; a.len()];
    keys.par_chunks_mut(CHUNK_ROWS)
        .zip(chunks.par_iter().zip(&renumber))
        .for_each(|(out, ((local, _), to))| {
            for (o, &k) in out.iter_mut().zip(local) {
                // A null row's key is 0 and masked; a chunk of nulls only has no values.
                *o = to.get(k as usize).copied().unwrap_or(0);
            }
        });
    Some((keys, distinct))
}

/// A column of many distinct values (names, households, addresses) as (a key per row, a row
/// holding each value in key order), without a hash table that outgrows the cache: the rows
/// are sorted by a hash of their value (in parallel) and each run of equal hashes is one value
/// (split by text in the rare run where two values share a hash). Keys follow the order in
/// which values first appear, the same whatever the thread count.
fn many_values(a: &StringArray) -> (Vec<u32>, Vec<u32>) {
    use super::hash::h64;
    let mut order: Vec<(u64, u32)> = (0..a.len() as u32)
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&r| a.is_valid(r as usize))
        .map(|r| (h64(a.value(r as usize)), r))
        .collect();
    super::sort::sort_hashed(&mut order);
    // Per run of equal hashes, whether every row holds the first row's value.
    let runs: Vec<(&[(u64, u32)], bool)> = order
        .par_chunk_by(|x, y| x.0 == y.0)
        .map(|run| {
            let first = a.value(run[0].1 as usize);
            (run, run[1..].iter().all(|e| a.value(e.1 as usize) == first))
        })
        .collect();
    let mut distinct: Vec<u32> = Vec::with_capacity(runs.len());
    let mut keys = vec![0u32; a.len()];
    for (run, same) in runs {
        if same {
            let k = distinct.len() as u32;
            distinct.push(run[0].1);
            for e in run {
                keys[e.1 as usize] = k;
            }
            continue;
        }
        let from = distinct.len();
        for e in run {
            let v = a.value(e.1 as usize);
            let found = distinct[from..]
                .iter()
                .position(|&d| a.value(d as usize) == v);
            let k = match found {
                Some(i) => from + i,
                None => {
                    distinct.push(e.1);
                    distinct.len() - 1
                }
            };
            keys[e.1 as usize] = k as u32;
        }
    }
    // Renumbered in order of first appearance, as `few_values` numbers: rules read rows in
    // order, and values laid out in hash order would make each read a cache miss.
    let mut by_row: Vec<u32> = (0..distinct.len() as u32).collect();
    by_row.par_sort_unstable_by_key(|&k| distinct[k as usize]);
    let mut renumber = vec![0u32; distinct.len()];
    for (new, &old) in by_row.iter().enumerate() {
        renumber[old as usize] = new as u32;
    }
    keys.par_iter_mut()
        .with_min_len(4096)
        .for_each(|k| *k = renumber.get(*k as usize).copied().unwrap_or(0));
    let distinct = by_row.iter().map(|&k| distinct[k as usize]).collect();
    (keys, distinct)
}

/// FNV-1a as a `Hasher`, for the small per-chunk tables of short codes (the standard
/// SipHash costs more than the lookups it serves; nothing here faces untrusted keys that
/// could flood a table: at most [`CHUNK_DISTINCT`] values a table).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for Fnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0)
    }
}

/// Every canonical column of one source, resolved once (a lookup by name per row would cost
/// more than most rules): `cols[Column::FullName].get(row)`.
#[derive(Clone, Copy)]
pub struct Cols<'a>([Col<'a>; Column::COUNT]);

impl<'a> Cols<'a> {
    pub fn of(t: &'a Table) -> Self {
        Cols(std::array::from_fn(|i| t.column(Column::ALL[i])))
    }

    /// No columns at all (every cell reads as empty).
    pub fn none() -> Self {
        Cols([Col::NONE; Column::COUNT])
    }
}

impl<'a> std::ops::Index<Column> for Cols<'a> {
    type Output = Col<'a>;

    #[inline]
    fn index(&self, c: Column) -> &Col<'a> {
        &self.0[c.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::column::Column;

    /// A residents table of `n` rows: unique record IDs, a commune code among three, a birth
    /// date among a few with some missing, and a padded value.
    fn table(n: usize) -> Table {
        let ids: Vec<String> = (0..n).map(|i| format!("R{i:07}")).collect();
        let communes: Vec<&str> = (0..n).map(|i| ["00001", "00004", "00007"][i % 3]).collect();
        let dates: Vec<Option<&str>> = (0..n)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(" 1990-01-02 "),
                _ => Some("1985-12-31"),
            })
            .collect();
        Table::from_columns(
            "residents",
            SourceKind::Residents,
            vec![
                (
                    "record_id".into(),
                    Arc::new(StringArray::from(ids)) as ArrayRef,
                ),
                ("commune_code".into(), Arc::new(StringArray::from(communes))),
                ("birth_date".into(), Arc::new(StringArray::from(dates))),
            ],
        )
    }

    #[test]
    fn compacting_keeps_every_cell_and_saves_memory() {
        let plain = table(10_000);
        let mut compact = plain.clone();
        compact.compact();
        for c in [Column::RecordId, Column::CommuneCode, Column::BirthDate] {
            let (a, b) = (plain.column(c), compact.column(c));
            for r in 0..plain.len() {
                assert_eq!(a.cell(r), b.cell(r), "{c:?} row {r}");
                assert_eq!(a.get(r), b.get(r), "{c:?} row {r}");
            }
            // Out of range reads as empty in both forms.
            assert_eq!(b.raw(plain.len() + 3), "");
        }
        let dict = |t: &Table, n: &str| {
            matches!(
                t.batch.column_by_name(n).unwrap().data_type(),
                arrow_schema::DataType::Dictionary(_, _)
            )
        };
        // Repeating columns are held as keys; identifiers stay as they are.
        assert!(dict(&compact, "commune_code") && dict(&compact, "birth_date"));
        assert!(!dict(&compact, "record_id"));
        assert!(
            compact.batch.get_array_memory_size() < plain.batch.get_array_memory_size() * 3 / 4
        );
        // A slice (a chunk of a source) reads the same.
        let part = compact.batch.slice(100, 50);
        let t = Table {
            batch: part,
            ..compact.clone()
        };
        assert_eq!(
            t.column(Column::BirthDate).get(0),
            plain.column(Column::BirthDate).get(100)
        );
        assert_eq!(t.column(Column::BirthDate).cell(0), None);
    }

    /// A function of a dictionary-encoded column's distinct values gives, row by row, what it
    /// gives of each row's trimmed cell — padded values and missing cells included; a plain
    /// column has no distinct values to compute over.
    #[test]
    fn a_function_of_distinct_values_reads_as_of_each_row() {
        let plain = table(10_000);
        let mut compact = plain.clone();
        compact.compact();
        let f = |s: &str| (s.len() as u64) << 32 | s.bytes().map(u64::from).sum::<u64>();
        for c in [Column::CommuneCode, Column::BirthDate] {
            let col = compact.column(c);
            let by = col.by_value(f).expect("a dictionary-encoded column");
            for r in 0..compact.len() {
                assert_eq!(by.get(&col, r), f(plain.column(c).get(r)), "{c:?} row {r}");
            }
        }
        assert!(plain.column(Column::CommuneCode).by_value(f).is_none());
        assert!(compact.column(Column::RecordId).by_value(f).is_none());
    }

    /// Every cell of `plain` reads the same from `compact`.
    fn same_cells(plain: &ArrayRef, compact: &ArrayRef) {
        let (a, b) = (Text::of(plain).map(Some), Text::of(compact).map(Some));
        let (a, b) = (Col(a.flatten()), Col(b.flatten()));
        for r in 0..plain.len() {
            assert_eq!(a.cell(r), b.cell(r), "row {r}");
        }
    }

    #[test]
    fn a_column_of_many_values_and_one_of_few_are_both_keyed_exactly() {
        // 300 k rows: names drawn unevenly from 120 k (a few common, most rare, as names
        // are), with nulls and empty cells; and dates from 3 000 distinct.
        let n = 300_000;
        let names: Vec<Option<String>> = (0..n)
            .map(|i| match i % 97 {
                0 => None,
                1 => Some(String::new()),
                _ => {
                    let x = (i * 7_919) % 120_000;
                    Some(format!("Nguyễn Văn {}", x * x / 120_000))
                }
            })
            .collect();
        let dates: Vec<Option<String>> = (0..n)
            .map(|i| (i % 31 != 0).then(|| format!("19{:02}-01-{:02}", i % 100, i % 30 + 1)))
            .collect();
        for column in [names, dates] {
            let a = StringArray::from(column);
            // Both encoders, each on its own, give every row its value's key.
            let few = few_values(&a);
            for (keys, distinct) in few.into_iter().chain([many_values(&a)]) {
                for r in (0..n).filter(|&r| a.is_valid(r)) {
                    assert_eq!(a.value(distinct[keys[r] as usize] as usize), a.value(r));
                }
                let mut values: Vec<&str> = distinct.iter().map(|&d| a.value(d as usize)).collect();
                values.sort_unstable();
                values.dedup();
                assert_eq!(values.len(), distinct.len(), "each value once");
            }
            let plain: ArrayRef = Arc::new(a);
            let compact = compact_column(&plain);
            assert!(matches!(
                compact.data_type(),
                arrow_schema::DataType::Dictionary(_, _)
            ));
            assert!(compact.get_array_memory_size() < plain.get_array_memory_size());
            same_cells(&plain, &compact);
        }
    }

    #[test]
    fn identifiers_and_mostly_empty_columns_stay_plain() {
        let n = 100_000;
        // An old ID on one row in four, every one distinct: the dictionary would only repeat
        // the empty cell, which costs as little plain.
        let old_ids: Vec<String> = (0..n)
            .map(|i| {
                if i % 4 == 0 {
                    format!("{:09}", 100_000_000 + i)
                } else {
                    String::new()
                }
            })
            .collect();
        let plain: ArrayRef = Arc::new(StringArray::from(old_ids));
        assert_eq!(compact_column(&plain).data_type(), plain.data_type());
    }

    #[test]
    fn small_tables_are_left_alone() {
        let mut t = table(100);
        t.compact();
        assert!(t
            .batch
            .columns()
            .iter()
            .all(|a| a.data_type() == &arrow_schema::DataType::Utf8));
    }
}
