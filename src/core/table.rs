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

/// Rows a column must have before it is worth compacting, and rows of it sampled to see
/// whether its values repeat at all.
const COMPACT_MIN_ROWS: usize = 4096;

/// A plain text column dictionary-encoded, if its values repeat enough for that to take less
/// memory; otherwise the column itself.
fn compact_column(array: &ArrayRef) -> ArrayRef {
    use arrow_array::builder::StringDictionaryBuilder;
    use std::collections::HashSet;
    let Some(a) = array.as_any().downcast_ref::<StringArray>() else {
        return array.clone();
    };
    if a.len() < COMPACT_MIN_ROWS {
        return array.clone();
    }
    let mut seen = HashSet::with_capacity(COMPACT_MIN_ROWS);
    let head = (0..COMPACT_MIN_ROWS).filter(|&r| a.is_valid(r));
    let (mut valid, mut repeats) = (0usize, 0usize);
    for r in head {
        valid += 1;
        repeats += usize::from(!seen.insert(a.value(r)));
    }
    // Identifiers: every value distinct (and a column of nulls needs no dictionary either).
    if valid == 0 || repeats == 0 {
        return array.clone();
    }
    let mut b = StringDictionaryBuilder::<UInt32Type>::with_capacity(a.len(), 1024, 16 * 1024);
    if b.append_array(a).is_err() {
        return array.clone();
    }
    let mut d = b.finish();
    d.shrink_to_fit();
    if d.get_array_memory_size() < a.get_array_memory_size() {
        Arc::new(d)
    } else {
        array.clone()
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
