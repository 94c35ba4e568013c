//! One input source in memory: an Arrow `RecordBatch` whose columns are all UTF-8 text, with
//! recognised columns under their canonical names and every other column carried through
//! under its own header.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

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
pub struct Col<'a>(pub Option<&'a StringArray>);

impl<'a> Col<'a> {
    /// The cell, untrimmed ("" when absent or null).
    #[inline]
    pub fn raw(&self, row: usize) -> &'a str {
        match self.0 {
            Some(a) if a.is_valid(row) => a.value(row),
            _ => "",
        }
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
            Some(a) if row < a.len() && a.is_valid(row) => Some(a.value(row)),
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
            .map(|(n, _)| Field::new(n, DataType::Utf8, true))
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
        Col(self
            .batch
            .column_by_name(name)
            .and_then(|a| a.as_any().downcast_ref::<StringArray>()))
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
        Cols([Col(None); Column::COUNT])
    }
}

impl<'a> std::ops::Index<Column> for Cols<'a> {
    type Output = Col<'a>;

    #[inline]
    fn index(&self, c: Column) -> &Col<'a> {
        &self.0[c.index()]
    }
}
