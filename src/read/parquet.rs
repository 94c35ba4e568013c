//! Parquet: any column type is read as text (numbers without a decimal point when whole);
//! only the columns the engine uses are decoded.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Float32Array, Float64Array, StringArray};
use arrow_schema::DataType;

use super::RawTable;
use crate::error::{Error, Result};

pub(super) fn float_to_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A timestamp column with a time zone (a birth date saved by pandas or Spark) as the date in
/// that zone: Vietnam's zones (+07:00 all year) and fixed offsets are exact; another named
/// zone is read as UTC.
fn timestamps_as_dates(array: &ArrayRef, unit: arrow_schema::TimeUnit, tz: &str) -> ArrayRef {
    use arrow_array::types::Int64Type;
    use arrow_schema::TimeUnit;
    let offset_s: i64 = match tz {
        "Asia/Ho_Chi_Minh" | "Asia/Saigon" | "Asia/Bangkok" | "Asia/Jakarta" | "Etc/GMT-7" => {
            7 * 3600
        }
        t => {
            let b = t.as_bytes();
            let sign = match b.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => 0,
            };
            let digits: Vec<i64> = t[1.min(t.len())..]
                .split(':')
                .filter_map(|p| p.parse().ok())
                .collect();
            match digits.as_slice() {
                [h, m] => sign * (h * 3600 + m * 60),
                [h] if *h < 24 => sign * h * 3600,
                [hm] => sign * ((hm / 100) * 3600 + (hm % 100) * 60),
                _ => 0,
            }
        }
    };
    let per_second: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let Ok(ints) = arrow_cast::cast(array, &DataType::Int64) else {
        return Arc::new(StringArray::from(vec![None::<String>; array.len()]));
    };
    let ints = ints
        .as_any()
        .downcast_ref::<arrow_array::PrimitiveArray<Int64Type>>();
    let vals: Vec<Option<String>> = match ints {
        Some(a) => a
            .iter()
            .map(|v| {
                v.map(|v| {
                    let secs = v.div_euclid(per_second) + offset_s;
                    let days = secs.div_euclid(86_400) as i32;
                    crate::dates::civil_from_days(days).to_string()
                })
            })
            .collect(),
        None => vec![None; array.len()],
    };
    Arc::new(StringArray::from(vals))
}

/// Any Arrow column as text; numbers that are whole are written without a decimal point.
/// Arrow batches handed over in memory (the Python package) as one text table, read as a
/// Parquet file's batches are: the same projection and the same conversion of every column to
/// text (a Utf8 column is shared, not copied). `label` names the source in messages.
pub(super) fn read_batches(
    label: &Path,
    batches: &[arrow_array::RecordBatch],
    schema: &arrow_schema::Schema,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<RawTable> {
    let all_headers: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().trim().to_string())
        .collect();
    let keep: Vec<usize> = (0..all_headers.len())
        .filter(|&i| schema.field(i).data_type().is_nested() || wanted(&all_headers[i]))
        .collect();
    let headers: Vec<String> = keep.iter().map(|&i| all_headers[i].clone()).collect();
    let mut numeric = BTreeSet::new();
    let mut parts: Vec<Vec<ArrayRef>> = vec![Vec::new(); keep.len()];
    for batch in batches {
        if batch.schema().fields().len() != all_headers.len() {
            return Err(Error::input(
                label,
                "its record batches do not all have the same columns",
            ));
        }
        for (k, &i) in keep.iter().enumerate() {
            let (text, is_num) = to_text(label, &headers[k], batch.column(i))?;
            if is_num {
                numeric.insert(headers[k].clone());
            }
            parts[k].push(text);
        }
    }
    joined(label, all_headers, headers, parts, numeric)
}

/// One text table from its columns' chunks (each column joined into one array).
fn joined(
    path: &Path,
    all_headers: Vec<String>,
    headers: Vec<String>,
    parts: Vec<Vec<ArrayRef>>,
    numeric: BTreeSet<String>,
) -> Result<RawTable> {
    let columns = parts
        .into_iter()
        .map(|chunks| concat_text(&chunks))
        .collect::<Result<Vec<_>>>()
        .map_err(|_| {
            Error::input(
                path,
                "a column is too large to hold in one text array (over 2 GB)",
            )
        })?;
    Ok(RawTable {
        all_headers,
        headers,
        columns,
        numeric: numeric.into_iter().collect(),
        cell_errors: 0,
        sheets_read: Vec::new(),
        sheets_skipped: Vec::new(),
    })
}

fn to_text(path: &Path, header: &str, array: &ArrayRef) -> Result<(ArrayRef, bool)> {
    let numeric = array.data_type().is_numeric();
    let out: ArrayRef = match array.data_type() {
        DataType::Utf8 => array.clone(),
        // Keys into a text dictionary, as the engine holds a column of repeated values.
        DataType::Dictionary(k, v) if **k == DataType::UInt32 && **v == DataType::Utf8 => {
            array.clone()
        }
        DataType::Float64 | DataType::Float32 => {
            let vals: Vec<Option<String>> =
                if let Some(a) = array.as_any().downcast_ref::<Float64Array>() {
                    a.iter().map(|v| v.map(float_to_text)).collect()
                } else {
                    let a = array
                        .as_any()
                        .downcast_ref::<Float32Array>()
                        .ok_or_else(|| Error::internal("float column"))?;
                    a.iter()
                        .map(|v| v.map(|v| float_to_text(v as f64)))
                        .collect()
                };
            Arc::new(StringArray::from(vals))
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Struct(_)
        | DataType::Map(_, _)
        | DataType::Union(_, _) => {
            return Err(Error::input(
                path,
                format!(
                    "column \"{header}\" has a nested type ({}) that cannot be read as text",
                    array.data_type()
                ),
            ))
        }
        DataType::Timestamp(unit, Some(tz)) => timestamps_as_dates(array, *unit, tz),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let casted = arrow_cast::cast(array, &DataType::Utf8).map_err(|_| {
                Error::input(
                    path,
                    format!("column \"{header}\" holds bytes that are not valid UTF-8"),
                )
            })?;
            casted
        }
        _ => arrow_cast::cast(array, &DataType::Utf8).map_err(|e| {
            Error::input(
                path,
                format!("column \"{header}\" cannot be read as text ({e})"),
            )
        })?,
    };
    Ok((out, numeric))
}

/// Rows decoded per Parquet batch at most, so that one batch's text array stays far below
/// Arrow's 2 GB offset limit.
const PARQUET_BATCH_ROWS: usize = 4 << 20;

/// A whole Parquet file as one text table. It is decoded a row group at a time and each
/// column appended to one array sized for the whole file: a batch
/// spanning many row groups is built by growing its buffers, and batches joined at the end are
/// copied once more, each time into fresh pages; at 10 M rows that cost as much as decoding.
/// Row-group batches are small enough for their memory to be reused batch after batch.
pub(super) fn read_parquet(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<RawTable> {
    read_parquet_split(
        path,
        wanted,
        rayon::current_num_threads(),
        PARALLEL_READ_ROWS,
    )
}

/// Rows from which a file's columns are decoded in parallel groups.
const PARALLEL_READ_ROWS: i64 = 100_000;

/// [`read_parquet`], the columns of a file of `min_rows` or more split into up to `groups`.
fn read_parquet_split(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    groups: usize,
    min_rows: i64,
) -> Result<RawTable> {
    use rayon::prelude::*;
    let groups = column_groups(path, wanted, groups, min_rows);
    if groups.len() < 2 {
        return read_parquet_columns(path, wanted);
    }
    // Each group of columns decoded by a reader of its own, in parallel.
    let parts = groups
        .par_iter()
        .map(|names| read_parquet_columns(path, &|h: &str| names.contains(h)))
        .collect::<Result<Vec<RawTable>>>()?;
    // The columns back in the file's order (a header the file repeats is in one group).
    let mut first = None;
    let mut numeric = BTreeSet::new();
    let mut columns: Vec<(usize, String, ArrayRef)> = Vec::new();
    for part in parts {
        let mut at = 0;
        for (h, c) in part.headers.iter().zip(&part.columns) {
            at += part.all_headers[at..]
                .iter()
                .position(|x| x == h)
                .ok_or_else(|| Error::internal("a column group's header in the file"))?;
            columns.push((at, h.clone(), c.clone()));
            at += 1;
        }
        numeric.extend(part.numeric.iter().cloned());
        first.get_or_insert(part);
    }
    columns.sort_by_key(|c| c.0);
    let first = first.ok_or_else(|| Error::internal("a Parquet read yields a group"))?;
    Ok(RawTable {
        headers: columns.iter().map(|c| c.1.clone()).collect(),
        columns: columns.into_iter().map(|c| c.2).collect(),
        numeric: numeric.into_iter().collect(),
        ..first
    })
}

/// The wanted columns of a flat Parquet file of `min_rows` or more split into up to `n` groups
/// of about equal bytes (the headers of each group); one group (or none) when the file is
/// small, nested or unreadable (it is then read, and any problem reported, as one).
fn column_groups(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    n: usize,
    min_rows: i64,
) -> Vec<std::collections::HashSet<String>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(reader) = SerializedFileReader::new(file) else {
        return Vec::new();
    };
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    if n < 2 || meta.file_metadata().num_rows() < min_rows {
        return Vec::new();
    }
    // A flat file: one leaf a top-level column.
    if schema.root_schema().get_fields().len() != schema.num_columns() {
        return Vec::new();
    }
    let mut sizes: Vec<(String, i64)> = Vec::new();
    for c in 0..schema.num_columns() {
        let name = schema.column(c).name().trim().to_string();
        if !wanted(&name) {
            continue;
        }
        let bytes: i64 = meta
            .row_groups()
            .iter()
            .map(|rg| rg.column(c).uncompressed_size().max(0))
            .sum();
        match sizes.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1 += bytes,
            None => sizes.push((name, bytes)),
        }
    }
    // Largest first, each to the lightest group.
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut groups: Vec<(i64, std::collections::HashSet<String>)> =
        vec![(0, Default::default()); n.min(sizes.len())];
    for (name, bytes) in sizes {
        let g = groups
            .iter_mut()
            .min_by_key(|g| g.0)
            .expect("at least one group");
        g.0 += bytes.max(1);
        g.1.insert(name);
    }
    groups.into_iter().map(|g| g.1).collect()
}

/// [`read_parquet`] by one reader.
fn read_parquet_columns(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<RawTable> {
    use arrow_array::builder::StringBuilder;
    let too_large = || {
        Error::input(
            path,
            "a column is too large to hold in one text array (over 2 GB)",
        )
    };
    let mut first: Option<RawTable> = None;
    let mut builders: Vec<Whole> = Vec::new();
    let mut numeric = BTreeSet::new();
    read_parquet_chunks(path, wanted, Batches::RowGroup, &mut |raw, rows| {
        numeric.extend(raw.numeric.iter().cloned());
        if builders.is_empty() {
            // Sized for the whole file from the first batch's bytes a row (and a little more):
            // Arrow's buffers are 64-byte aligned, so growing one copies it.
            let batch = raw.columns.first().map_or(0, |c| c.len()).max(1);
            builders = raw
                .columns
                .iter()
                .map(|c| {
                    if c.as_any().is::<DictionaryArray<UInt32Type>>() {
                        return Whole::Dict(Box::new(DictColumn::with_capacity(rows)));
                    }
                    let bytes = c.as_any().downcast_ref::<StringArray>().map_or(0, |a| {
                        let o = a.value_offsets();
                        (o[a.len()] - o[0]) as usize
                    });
                    let estimate = bytes as f64 / batch as f64 * rows as f64 * 1.05;
                    Whole::Text(StringBuilder::with_capacity(
                        rows,
                        (estimate as usize).min(i32::MAX as usize),
                    ))
                })
                .collect();
        }
        for (b, c) in builders.iter_mut().zip(&raw.columns) {
            match b {
                Whole::Text(b) => {
                    let text = c
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .ok_or_else(|| Error::internal("a Parquet column read as text"))?;
                    b.append_array(text).map_err(|_| too_large())?;
                }
                Whole::Dict(d) => {
                    let keyed = c
                        .as_any()
                        .downcast_ref::<DictionaryArray<UInt32Type>>()
                        .ok_or_else(|| Error::internal("a Parquet column read as keys"))?;
                    d.append(keyed).ok_or_else(too_large)?;
                }
            }
        }
        if first.is_none() {
            first = Some(RawTable {
                columns: Vec::new(),
                ..raw
            });
        }
        Ok(())
    })?;
    let first = first.ok_or_else(|| Error::internal("a Parquet read yields a batch"))?;
    Ok(RawTable {
        columns: builders
            .into_iter()
            .map(|b| match b {
                Whole::Text(mut b) => Ok(Arc::new(b.finish()) as ArrayRef),
                Whole::Dict(d) => d.finish(),
            })
            .collect::<Result<_>>()?,
        numeric: numeric.into_iter().collect(),
        ..first
    })
}

/// One column of a whole file, appended batch by batch.
enum Whole {
    Text(arrow_array::builder::StringBuilder),
    Dict(Box<DictColumn>),
}

/// A column the file holds dictionary-encoded, appended batch by batch as keys into one
/// dictionary for the whole file. Each row group's dictionary (shared by its batches) is
/// mapped once to the file's keys, so a value is hashed once a row group, not once a row, and
/// the column is never expanded into text (at 10 M people with every source, that expansion
/// and hashing every cell again to compact it cost 14 s of 38 s of reading and 0.8 GB of its
/// peak).
struct DictColumn {
    keys: arrow_array::builder::UInt32Builder,
    values: arrow_array::builder::StringBuilder,
    /// A value's hash → its key (the first value met with that hash).
    index: std::collections::HashMap<u64, u32>,
    /// Values whose hash an earlier, different value holds (rare).
    collided: std::collections::HashMap<String, u32>,
    /// The last batch's dictionary and the file key of each of its values (None: a null).
    last: Option<(ArrayRef, Vec<Option<u32>>)>,
}

impl DictColumn {
    fn with_capacity(rows: usize) -> Self {
        DictColumn {
            keys: arrow_array::builder::UInt32Builder::with_capacity(rows),
            values: arrow_array::builder::StringBuilder::new(),
            index: std::collections::HashMap::new(),
            collided: std::collections::HashMap::new(),
            last: None,
        }
    }

    /// The file key of a value, added when new; None when the values would outgrow 2 GB.
    fn key(&mut self, v: &str) -> Option<u32> {
        let offsets = self.values.offsets_slice();
        let n = offsets.len() - 1;
        let holds = |b: &arrow_array::builder::StringBuilder, k: u32| -> bool {
            let o = b.offsets_slice();
            let (s, e) = (o[k as usize] as usize, o[k as usize + 1] as usize);
            &b.values_slice()[s..e] == v.as_bytes()
        };
        let h = crate::core::hash::h64(v);
        match self.index.get(&h) {
            Some(&k) if holds(&self.values, k) => return Some(k),
            Some(_) => {
                if let Some(&k) = self.collided.get(v) {
                    return Some(k);
                }
            }
            None => {}
        }
        if self.values.values_slice().len() + v.len() > i32::MAX as usize || n >= u32::MAX as usize
        {
            return None;
        }
        let k = n as u32;
        self.values.append_value(v);
        if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(h) {
            e.insert(k);
        } else {
            self.collided.insert(v.to_string(), k);
        }
        Some(k)
    }

    fn append(&mut self, batch: &DictionaryArray<UInt32Type>) -> Option<()> {
        let values = batch.values();
        if !self
            .last
            .as_ref()
            .is_some_and(|(v, _)| Arc::ptr_eq(v, values))
        {
            let text = values.as_any().downcast_ref::<StringArray>()?;
            let mut map = Vec::with_capacity(text.len());
            for i in 0..text.len() {
                map.push(match text.is_valid(i) {
                    true => Some(self.key(text.value(i))?),
                    false => None,
                });
            }
            self.last = Some((values.clone(), map));
        }
        let map = &self.last.as_ref()?.1;
        let keys = batch.keys();
        for (row, &k) in keys.values().iter().enumerate() {
            match map.get(k as usize).copied().flatten() {
                Some(key) if keys.is_valid(row) => self.keys.append_value(key),
                _ => self.keys.append_null(),
            }
        }
        Some(())
    }

    fn finish(mut self) -> Result<ArrayRef> {
        let d = DictionaryArray::try_new(self.keys.finish(), Arc::new(self.values.finish()))
            .map_err(Error::internal)?;
        Ok(Arc::new(d))
    }
}

/// The top-level text columns of `keep` that every row group holds dictionary-encoded only
/// (by the data pages' encodings, which the file's metadata records): read as keys into the
/// row group's dictionary. A column some row group holds plain (its dictionary grew past the
/// writer's limit, as an ID column's does) is read as text.
fn dictionary_columns(
    meta: &parquet::file::metadata::ParquetMetaData,
    schema: &arrow_schema::Schema,
    keep: &[usize],
) -> Vec<usize> {
    use parquet::basic::Encoding;
    let leaves = meta.file_metadata().schema_descr();
    keep.iter()
        .copied()
        .filter(|&i| {
            let field = schema.field(i);
            if field.data_type() != &DataType::Utf8 {
                return false;
            }
            let Some(leaf) = (0..leaves.num_columns()).find(|&c| {
                let column = leaves.column(c);
                let parts = column.path().parts();
                parts.len() == 1 && parts[0] == *field.name()
            }) else {
                return false;
            };
            !meta.row_groups().is_empty()
                && meta.row_groups().iter().all(|rg| {
                    let col = rg.column(leaf);
                    col.dictionary_page_offset().is_some()
                        && col.page_encoding_stats_mask().is_some_and(|m| {
                            m.is_only(Encoding::PLAIN_DICTIONARY)
                                || m.is_only(Encoding::RLE_DICTIONARY)
                        })
                })
        })
        .collect()
}

/// The rows a Parquet file's footer says it holds (the footer alone is read).
pub(super) fn footer_rows(path: &Path) -> Option<usize> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).ok()?).ok()?;
    usize::try_from(reader.metadata().file_metadata().num_rows()).ok()
}

/// How [`read_parquet_chunks`] batches a file's rows.
#[derive(Clone, Copy)]
pub(super) enum Batches {
    /// A row group a batch (at most [`PARQUET_BATCH_ROWS`]).
    RowGroup,
    /// At most this many rows a batch, and no more than the largest row group's.
    AtMost(usize),
}

/// Stream a Parquet file as text tables batched as `batches` says (one empty table when the
/// file has no rows, so its headers are still checked), each with the file's number of rows.
pub(super) fn read_parquet_chunks(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    batches: Batches,
    each: &mut dyn FnMut(RawTable, usize) -> Result<()>,
) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
    let corrupt = |e: &dyn std::fmt::Display| {
        let text = e.to_string();
        if text.contains("Disabled feature") || text.to_ascii_lowercase().contains("brotli") {
            return Error::input(
                path,
                "the file is compressed with a codec lamsach does not read (brotli); save it again with snappy or zstd, e.g. in DuckDB: COPY (SELECT * FROM 'file.parquet') TO 'new.parquet' (COMPRESSION zstd)",
            );
        }
        Error::input(
            path,
            format!(
                "the file is not a readable Parquet file; it may be truncated or corrupt ({e})"
            ),
        )
    };
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| corrupt(&e))?;
    // Column chunks must lie inside the file: the parquet crate asserts this while reading
    // (a panic), so a corrupt footer is refused here first (found by tests/fuzz_readers.rs).
    for rg in builder.metadata().row_groups() {
        for col in rg.columns() {
            // As `ColumnChunkMetaData::byte_range` computes it (and asserts).
            let start = col
                .dictionary_page_offset()
                .unwrap_or_else(|| col.data_page_offset());
            let len = col.compressed_size();
            if start < 0 || len < 0 || (start as u64).saturating_add(len as u64) > file_len {
                return Err(corrupt(&"a column chunk lies outside the file"));
            }
        }
    }
    let all_headers: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().trim().to_string())
        .collect();
    // Project on top-level fields; a nested column is kept so that it is reported, not skipped.
    let keep: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, f)| f.data_type().is_nested() || wanted(&all_headers[*i]))
        .map(|(i, _)| i)
        .collect();
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let largest_group = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as usize)
        .max()
        .unwrap_or(0);
    // Batches within a row group where they can be: the columns a row group holds
    // dictionary-encoded stay keys into its dictionary (see [`DictColumn`]), so the engine
    // works once a distinct value (a batch across two row groups is still read right, its
    // dictionaries merged by the reader).
    let batch_rows = match batches {
        Batches::AtMost(n) => n.min(rows).min(largest_group.max(1)),
        Batches::RowGroup => largest_group.min(PARQUET_BATCH_ROWS),
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), keep.iter().copied());
    let dict = dictionary_columns(builder.metadata(), builder.schema(), &keep);
    let builder = if dict.is_empty() {
        builder
    } else {
        use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
        let schema = builder.schema();
        let fields: Vec<arrow_schema::Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match dict.contains(&i) {
                true => arrow_schema::Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                ),
                false => f.as_ref().clone(),
            })
            .collect();
        let schema = arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone());
        let options = ArrowReaderOptions::new().with_schema(Arc::new(schema));
        let metadata = ArrowReaderMetadata::try_new(builder.metadata().clone(), options)
            .map_err(|e| corrupt(&e))?;
        let file = std::fs::File::open(path)
            .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
        ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
    };
    let reader = builder
        .with_projection(mask)
        .with_batch_size(batch_rows.max(1024))
        .build()
        .map_err(|e| corrupt(&e))?;
    let headers: Vec<String> = keep.iter().map(|&i| all_headers[i].clone()).collect();
    let mut any = false;
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&e))?;
        let mut columns = Vec::with_capacity(headers.len());
        let mut numeric = Vec::new();
        for (i, col) in batch.columns().iter().enumerate() {
            let (text, is_num) = to_text(path, &headers[i], col)?;
            if is_num {
                numeric.push(headers[i].clone());
            }
            columns.push(text);
        }
        any = true;
        let raw = RawTable {
            all_headers: all_headers.clone(),
            headers: headers.clone(),
            columns,
            numeric,
            cell_errors: 0,
            sheets_read: Vec::new(),
            sheets_skipped: Vec::new(),
        };
        each(raw, rows)?;
    }
    if !any {
        let empty = RawTable {
            all_headers,
            columns: headers
                .iter()
                .map(|_| Arc::new(StringArray::from(Vec::<Option<&str>>::new())) as ArrayRef)
                .collect(),
            headers,
            numeric: Vec::new(),
            cell_errors: 0,
            sheets_read: Vec::new(),
            sheets_skipped: Vec::new(),
        };
        each(empty, 0)?;
    }
    Ok(())
}

pub(super) fn concat_text(chunks: &[ArrayRef]) -> Result<ArrayRef> {
    match chunks.len() {
        0 => Ok(Arc::new(StringArray::from(Vec::<Option<&str>>::new()))),
        1 => Ok(chunks[0].clone()),
        _ => {
            // Chunks in one form are joined as they are (dictionaries merged); chunks in both
            // forms (files of one source, one holding a column dictionary-encoded and one
            // not) as text.
            let same = chunks
                .iter()
                .all(|c| c.data_type() == chunks[0].data_type());
            let plain: Vec<ArrayRef> = if same {
                chunks.to_vec()
            } else {
                chunks
                    .iter()
                    .map(|c| arrow_cast::cast(c, &DataType::Utf8))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(Error::internal)?
            };
            let refs: Vec<&dyn Array> = plain.iter().map(|a| a.as_ref()).collect();
            arrow_select::concat::concat(&refs).map_err(Error::internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with text, dictionary-encoded, numeric and repeated-header columns, read whole
    /// and in column groups: the same table.
    #[test]
    fn a_file_read_in_column_groups_is_the_file_read_whole() {
        use arrow_array::{Int64Array, RecordBatch};
        use arrow_schema::{Field, Schema};
        let dir = crate::scratch("groups");
        let path = dir.join("people.parquet");
        let n = 3000;
        let schema = Arc::new(Schema::new(vec![
            Field::new("record_id", DataType::Utf8, false),
            Field::new(" full_name", DataType::Utf8, true),
            Field::new("commune_code", DataType::Utf8, true),
            Field::new("age", DataType::Int64, true),
            Field::new("note", DataType::Utf8, true),
            Field::new("note", DataType::Utf8, true),
            Field::new("unused", DataType::Utf8, true),
        ]));
        let text = |f: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from((0..n).map(f).collect::<Vec<_>>()))
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                text(&|i| Some(format!("R{i}"))),
                text(&|i| (i % 7 != 0).then(|| format!("Nguyễn Văn {}", i % 113))),
                text(&|i| Some(format!("{:05}", 100 + i % 9))),
                Arc::new(Int64Array::from(
                    (0..n)
                        .map(|i| (i % 5 != 0).then_some(i as i64 % 90))
                        .collect::<Vec<_>>(),
                )),
                text(&|i| Some(format!("a{i}"))),
                text(&|i| Some(format!("b{i}"))),
                text(&|_| Some("x".into())),
            ],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(1000))
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let wanted = |h: &str| h != "unused";
        let whole = read_parquet_split(&path, &wanted, 1, 0).unwrap();
        for groups in [2, 3, 8] {
            let split = read_parquet_split(&path, &wanted, groups, 0).unwrap();
            assert_eq!(split.headers, whole.headers, "{groups} groups");
            assert_eq!(split.all_headers, whole.all_headers);
            assert_eq!(split.numeric, whole.numeric);
            assert_eq!(split.numeric, vec!["age".to_string()]);
            assert_eq!(split.columns.len(), 6);
            for (a, b) in split.columns.iter().zip(&whole.columns) {
                assert_eq!(a.to_data(), b.to_data(), "{groups} groups");
            }
        }
        assert_eq!(
            whole.headers,
            [
                "record_id",
                "full_name",
                "commune_code",
                "age",
                "note",
                "note"
            ]
        );
        // A small file is read whole, whatever the threads.
        assert!(column_groups(&path, &wanted, 4, PARALLEL_READ_ROWS).is_empty());
        assert_eq!(column_groups(&path, &wanted, 4, 0).len(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Read in chunks (`dedup`), a column every row group holds dictionary-encoded stays keys
    /// into its row group's dictionary, and every cell reads as written, whether a chunk is
    /// smaller than a row group or would span row groups of other sizes.
    #[test]
    fn chunks_keep_dictionary_columns_as_keys_and_every_cell() {
        use arrow_array::RecordBatch;
        use arrow_schema::{Field, Schema};
        let dir = crate::scratch("chunks");
        let path = dir.join("people.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("record_id", DataType::Utf8, false),
            Field::new("commune_code", DataType::Utf8, true),
        ]));
        let file = std::fs::File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
        let mut want: Vec<(String, Option<String>)> = Vec::new();
        // Row groups of 700, 1000 and 300 rows, each with its own communes.
        for (g, n) in [700usize, 1000, 300].into_iter().enumerate() {
            let rows: Vec<(String, Option<String>)> = (0..n)
                .map(|i| {
                    let id = format!("R{}", want.len() + i);
                    (
                        id,
                        (i % 11 != 0).then(|| format!("{:05}", g * 100 + i % (7 + g))),
                    )
                })
                .collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
                    Arc::new(StringArray::from(
                        rows.iter().map(|r| r.1.as_deref()).collect::<Vec<_>>(),
                    )),
                ],
            )
            .unwrap();
            w.write(&batch).unwrap();
            w.flush().unwrap();
            want.extend(rows);
        }
        w.close().unwrap();
        let cell = |a: &ArrayRef, i: usize| -> Option<String> {
            let text = arrow_cast::cast(a, &DataType::Utf8).unwrap();
            let text = text.as_any().downcast_ref::<StringArray>().unwrap();
            text.is_valid(i).then(|| text.value(i).to_string())
        };
        for chunk in [256, 1000, 5000] {
            let mut got: Vec<(String, Option<String>)> = Vec::new();
            read_parquet_chunks(&path, &|_| true, Batches::AtMost(chunk), &mut |raw, _| {
                let commune = &raw.columns[1];
                assert!(
                    commune.as_any().is::<DictionaryArray<UInt32Type>>(),
                    "communes as keys ({chunk} rows a chunk)"
                );
                got.extend(
                    (0..commune.len())
                        .map(|i| (cell(&raw.columns[0], i).unwrap(), cell(commune, i))),
                );
                Ok(())
            })
            .unwrap();
            assert_eq!(got, want, "{chunk} rows a chunk");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
