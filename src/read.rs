//! Readers: Parquet, CSV (UTF-8, header row) and XLSX/XLS (first sheet), chosen by file
//! extension; then header mapping to canonical columns and the input checks every file gets
//! (required columns, duplicate record_id). Every value becomes text.
//!
//! Errors are one sentence naming the file and the problem, with line or row numbers but
//! never a cell's content.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, StringArray};
use arrow_schema::DataType;
use rayon::prelude::*;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::schema::SourceKind;
use crate::table::Table;

/// Columns whose values are identifiers: stored as numbers, they lose leading zeros.
const ID_COLUMNS: &[&str] = &[
    "personal_id",
    "old_id",
    "phone",
    "social_insurance_code",
    "commune_code",
    "province_code",
];

/// A file as read: headers and text columns, before mapping.
struct RawTable {
    /// Every header of the file (for messages), including columns not read.
    all_headers: Vec<String>,
    headers: Vec<String>,
    columns: Vec<ArrayRef>,
    /// Headers of columns that arrived as numbers.
    numeric: Vec<String>,
    /// Cells that held a spreadsheet error (#N/A, #REF!…), read as empty.
    cell_errors: usize,
}

impl RawTable {
    /// Keep only the wanted columns (their headers stay in `all_headers`).
    fn project(self, wanted: &dyn Fn(&str) -> bool) -> RawTable {
        let (headers, columns): (Vec<String>, Vec<ArrayRef>) = self
            .headers
            .into_iter()
            .zip(self.columns)
            .filter(|(h, _)| wanted(h))
            .unzip();
        let numeric = self.numeric.into_iter().filter(|h| wanted(h)).collect();
        RawTable {
            all_headers: self.all_headers,
            headers,
            columns,
            numeric,
            cell_errors: self.cell_errors,
        }
    }
}

/// A problem that did not stop the run (reported in the summary; no personal data).
pub type Warnings = Vec<String>;

/// Read one or more files of one source into a table with canonical columns.
pub fn read_source(
    name: &str,
    kind: SourceKind,
    paths: &[PathBuf],
    config: &Config,
    warnings: &mut Warnings,
) -> Result<Table> {
    let mut parts = Vec::with_capacity(paths.len());
    let wanted = engine_columns(kind, config);
    for path in paths {
        let raw = read_file(path, &wanted)?;
        let mapped = map_columns(path, kind, kind.required_columns(), raw, config, warnings)?;
        parts.push((path.clone(), mapped));
    }
    let table = concat_parts(name, kind, parts)?;
    check_unique_record_ids(&table)?;
    Ok(table)
}

/// Which headers the engine reads from a source of `kind`: the columns its rules and matching
/// use, any the config expects to be filled, and, for a source whose records outputs echo
/// (residents and linked extracts), every unknown extra column, to carry it through.
pub fn engine_columns(kind: SourceKind, config: &Config) -> impl Fn(&str) -> bool + '_ {
    let echoed = !matches!(kind, SourceKind::CmndMap | SourceKind::Deaths);
    wanted_by(config, move |canon| {
        (echoed && !crate::schema::is_canonical(canon))
            || crate::schema::engine_reads(kind, canon)
            || config
                .expected_fields
                .values()
                .any(|fields| fields.iter().any(|f| f == canon))
    })
}

/// The headers whose column (canonical name, or the header itself when it has none) `keep`
/// accepts.
pub fn wanted_by<'a>(
    config: &'a Config,
    keep: impl Fn(&str) -> bool + 'a,
) -> impl Fn(&str) -> bool + 'a {
    move |header: &str| keep(config.canonical_column(header).unwrap_or(header.trim()))
}

/// A source read chunk by chunk: its name in outputs, its kind, its files and the config that
/// maps their headers.
#[derive(Clone, Copy)]
pub struct ChunkSource<'a> {
    pub name: &'a str,
    pub kind: SourceKind,
    pub paths: &'a [PathBuf],
    pub config: &'a Config,
}

/// Read a source chunk by chunk, in row order, for data larger than memory: `each` gets
/// tables of at most about `chunk_rows` rows with canonical columns (only those `wanted`
/// accepts), and the number of rows before the chunk. Each file must have the `required`
/// columns. Parquet files are streamed by batch;
/// a CSV or XLSX file is read whole, then handed over in slices. Returns the rows read.
pub fn for_each_chunk(
    source: &ChunkSource,
    wanted: &dyn Fn(&str) -> bool,
    required: &[&str],
    chunk_rows: usize,
    warnings: &mut Warnings,
    each: &mut dyn FnMut(Table, usize) -> Result<()>,
) -> Result<usize> {
    let ChunkSource {
        name,
        kind,
        paths,
        config,
    } = *source;
    let mut offset = 0;
    for path in paths {
        let mut first = true;
        let mut on_raw = |raw: RawTable| -> Result<()> {
            // Messages about the file's columns are the same for every chunk: keep the first.
            let mut w = Warnings::new();
            let cols = map_columns(path, kind, required, raw, config, &mut w)?;
            if std::mem::take(&mut first) {
                warnings.extend(w);
            }
            let mut t = Table::from_columns(name, kind, cols);
            t.files = vec![(path.clone(), offset)];
            let n = t.len();
            let mut start = 0;
            while start < n {
                let len = chunk_rows.min(n - start);
                let mut part = t.clone();
                part.batch = t.batch.slice(start, len);
                each(part, offset + start)?;
                start += len;
            }
            offset += n;
            Ok(())
        };
        match check_file(path)?.as_str() {
            "parquet" | "pq" => read_parquet_chunks(path, wanted, chunk_rows, &mut on_raw)?,
            _ => on_raw(read_file(path, wanted)?)?,
        }
    }
    Ok(offset)
}

/// Read a file as it is, headers unmapped and no checks (for lamsach's own outputs).
pub fn read_plain(path: &Path, name: &str) -> Result<Table> {
    let raw = read_file(path, &|_| true)?;
    let cols = raw.headers.into_iter().zip(raw.columns).collect();
    let mut t = Table::from_columns(name, SourceKind::Extract, cols);
    t.files = vec![(path.to_path_buf(), 0)];
    Ok(t)
}

/// The lower-case extension of a file that exists, is a file and is not empty.
fn check_file(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::input(path, "the file does not exist"),
        std::io::ErrorKind::PermissionDenied => {
            Error::input(path, "the file cannot be read (permission denied)")
        }
        _ => Error::input(path, format!("the file cannot be read ({e})")),
    })?;
    if meta.is_dir() {
        return Err(Error::input(path, "this is a directory, not a data file"));
    }
    if meta.len() == 0 {
        return Err(Error::input(path, "the file is empty"));
    }
    Ok(path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default())
}

/// Read a file; only the columns whose header `wanted` accepts are decoded and kept (the
/// engine never looks at the others, and at 10 million rows they are gigabytes).
fn read_file(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<RawTable> {
    let ext = check_file(path)?;
    match ext.as_str() {
        "parquet" | "pq" => read_parquet(path, wanted),
        "csv" | "txt" | "tsv" => read_csv(path).map(|raw| raw.project(wanted)),
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => read_xlsx(path).map(|raw| raw.project(wanted)),
        "" => Err(Error::input(
            path,
            "the file has no extension; name it .parquet, .csv or .xlsx so lamsach knows how to read it",
        )),
        other => Err(Error::input(
            path,
            format!("files of type .{other} are not supported; use .parquet, .csv or .xlsx"),
        )),
    }
}

// ---------------------------------------------------------------- CSV

fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let n = first_line.iter().filter(|b| **b == d).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

fn looks_legacy_bytes(bytes: &[u8]) -> bool {
    // TCVN3 and Windows-1258 text is mostly ASCII with single high bytes between letters.
    let high = bytes.iter().filter(|b| **b >= 0x80).count();
    high > 0 && std::str::from_utf8(bytes).is_err()
}

fn read_csv(path: &Path) -> Result<RawTable> {
    let data = std::fs::read(path)
        .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::input(path, "the file is empty"));
    }
    if data.starts_with(b"PAR1") || data.starts_with(b"PK\x03\x04") {
        return Err(Error::input(
            path,
            "the file is named .csv but holds Parquet or XLSX data; give it the right extension",
        ));
    }
    let first_line_end = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
    let delimiter = sniff_delimiter(&body[..first_line_end]);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let header_rec = rdr
        .byte_headers()
        .map_err(|e| Error::input(path, format!("the header line cannot be read ({e})")))?
        .clone();
    let mut headers = Vec::with_capacity(header_rec.len());
    for h in header_rec.iter() {
        let h = std::str::from_utf8(h).map_err(|_| {
            Error::input(
                path,
                "line 1 (the header) is not valid UTF-8; save the file as UTF-8 (it may be in TCVN3, VNI or Windows-1258)",
            )
        })?;
        headers.push(h.trim().to_string());
    }
    let width = headers.len();
    let estimate = body.len() / (first_line_end.max(16) * 2) + 16;
    let mut builders: Vec<StringBuilder> = (0..width)
        .map(|_| StringBuilder::with_capacity(estimate, body.len() / width.max(1)))
        .collect();
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(Error::input(
                    path,
                    format!("line {line} cannot be parsed as CSV"),
                ));
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) && width > 1 {
            continue; // a blank line
        }
        if rec.len() != width {
            return Err(Error::input(
                path,
                format!(
                    "line {line} has {} fields but the header has {width}",
                    rec.len()
                ),
            ));
        }
        for (i, field) in rec.iter().enumerate() {
            if field.contains(&0) {
                return Err(Error::input(
                    path,
                    format!("line {line} contains a NUL byte"),
                ));
            }
            let s = std::str::from_utf8(field).map_err(|_| {
                let hint = if looks_legacy_bytes(field) {
                    "; the file looks like it was saved in a legacy Vietnamese encoding (TCVN3, VNI or Windows-1258): save it as UTF-8"
                } else {
                    ""
                };
                Error::input(path, format!("line {line} is not valid UTF-8{hint}"))
            })?;
            builders[i].append_value(s);
        }
    }
    let columns = builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    Ok(RawTable {
        all_headers: headers.clone(),
        headers,
        columns,
        numeric: Vec::new(),
        cell_errors: 0,
    })
}

// ---------------------------------------------------------------- Parquet

fn float_to_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Any Arrow column as text; numbers that are whole are written without a decimal point.
fn to_text(path: &Path, header: &str, array: &ArrayRef) -> Result<(ArrayRef, bool)> {
    let numeric = array.data_type().is_numeric();
    let out: ArrayRef = match array.data_type() {
        DataType::Utf8 => array.clone(),
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

/// Rows decoded per Parquet batch: a whole province's column in one array where it fits, so
/// columns need no concatenation (which would copy them once more), but bounded so one text
/// array stays far below Arrow's 2 GB offset limit.
const PARQUET_BATCH_ROWS: usize = 4 << 20;

fn read_parquet(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<RawTable> {
    let mut first: Option<RawTable> = None;
    let mut parts: Vec<Vec<ArrayRef>> = Vec::new();
    let mut numeric = BTreeSet::new();
    read_parquet_chunks(path, wanted, PARQUET_BATCH_ROWS, &mut |raw| {
        numeric.extend(raw.numeric.iter().cloned());
        if parts.is_empty() {
            parts = vec![Vec::new(); raw.columns.len()];
        }
        for (p, c) in parts.iter_mut().zip(&raw.columns) {
            p.push(c.clone());
        }
        first.get_or_insert(raw);
        Ok(())
    })?;
    let first = first.ok_or_else(|| Error::internal("a Parquet read yields a batch"))?;
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
        all_headers: first.all_headers,
        headers: first.headers,
        columns,
        numeric: numeric.into_iter().collect(),
        cell_errors: 0,
    })
}

/// Stream a Parquet file as text tables of at most `batch_rows` rows (one empty table when
/// the file has no rows, so its headers are still checked).
fn read_parquet_chunks(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    batch_rows: usize,
    each: &mut dyn FnMut(RawTable) -> Result<()>,
) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
    let corrupt = |e: &dyn std::fmt::Display| {
        Error::input(
            path,
            format!(
                "the file is not a readable Parquet file; it may be truncated or corrupt ({e})"
            ),
        )
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| corrupt(&e))?;
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
    let mask = ProjectionMask::roots(builder.parquet_schema(), keep.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(rows.clamp(1024, batch_rows.max(1024)))
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
        each(RawTable {
            all_headers: all_headers.clone(),
            headers: headers.clone(),
            columns,
            numeric,
            cell_errors: 0,
        })?;
    }
    if !any {
        each(RawTable {
            all_headers,
            columns: headers
                .iter()
                .map(|_| Arc::new(StringArray::from(Vec::<Option<&str>>::new())) as ArrayRef)
                .collect(),
            headers,
            numeric: Vec::new(),
            cell_errors: 0,
        })?;
    }
    Ok(())
}

fn concat_text(chunks: &[ArrayRef]) -> Result<ArrayRef> {
    match chunks.len() {
        0 => Ok(Arc::new(StringArray::from(Vec::<Option<&str>>::new()))),
        1 => Ok(chunks[0].clone()),
        _ => {
            let refs: Vec<&dyn Array> = chunks.iter().map(|a| a.as_ref()).collect();
            arrow_select::concat::concat(&refs).map_err(Error::internal)
        }
    }
}

// ---------------------------------------------------------------- XLSX

fn excel_serial_to_date(serial: f64) -> String {
    // Excel's day 0 is 1899-12-30 (with the 1900 leap-year bug absorbed).
    let days = serial.floor() as i32 + crate::dates::days_from_civil(1899, 12, 30);
    crate::dates::civil_from_days(days).to_string()
}

fn read_xlsx(path: &Path) -> Result<RawTable> {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut wb = open_workbook_auto(path).map_err(|e| {
        Error::input(
            path,
            format!("the file is not a readable spreadsheet ({e})"),
        )
    })?;
    let range = match wb.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            return Err(Error::input(
                path,
                format!("the first sheet cannot be read ({e})"),
            ));
        }
        None => return Err(Error::input(path, "the workbook has no sheet")),
    };
    let mut rows = range
        .rows()
        .enumerate()
        .skip_while(|(_, r)| r.iter().all(|c| matches!(c, Data::Empty)));
    let Some((_, header_row)) = rows.next() else {
        return Err(Error::input(path, "the first sheet is empty"));
    };
    let headers: Vec<String> = header_row
        .iter()
        .map(|c| match c {
            Data::Empty => String::new(),
            c => c.to_string().trim().to_string(),
        })
        .collect();
    let width = headers.len();
    let mut builders: Vec<StringBuilder> = (0..width).map(|_| StringBuilder::new()).collect();
    let mut numeric = vec![false; width];
    let mut cell_errors = 0usize;
    for (_, row) in rows {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        for (i, b) in builders.iter_mut().enumerate() {
            match row.get(i).unwrap_or(&Data::Empty) {
                Data::Empty => b.append_value(""),
                Data::String(s) => b.append_value(s),
                Data::Float(f) => {
                    numeric[i] = true;
                    b.append_value(float_to_text(*f));
                }
                Data::Int(v) => {
                    numeric[i] = true;
                    b.append_value(v.to_string());
                }
                Data::Bool(v) => b.append_value(if *v { "true" } else { "false" }),
                Data::DateTime(dt) => b.append_value(excel_serial_to_date(dt.as_f64())),
                Data::DateTimeIso(s) | Data::DurationIso(s) => b.append_value(s),
                Data::Error(_) => {
                    cell_errors += 1;
                    b.append_value("");
                }
            }
        }
    }
    let columns = builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    Ok(RawTable {
        all_headers: headers.clone(),
        numeric: headers
            .iter()
            .zip(&numeric)
            .filter(|(_, n)| **n)
            .map(|(h, _)| h.clone())
            .collect(),
        headers,
        columns,
        cell_errors,
    })
}

// ---------------------------------------------------------------- mapping and checks

/// Rename recognised headers to canonical names; check required columns.
fn map_columns(
    path: &Path,
    kind: SourceKind,
    required: &[&str],
    raw: RawTable,
    config: &Config,
    warnings: &mut Warnings,
) -> Result<Vec<(String, ArrayRef)>> {
    let mut out: Vec<(String, ArrayRef)> = Vec::with_capacity(raw.headers.len());
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (i, (header, column)) in raw.headers.iter().zip(raw.columns).enumerate() {
        let canon = config.canonical_column(header).map(str::to_string);
        let name = match canon {
            Some(c) if !taken.contains(&c) => c,
            Some(c) => {
                warnings.push(format!(
                    "{}: column \"{header}\" also means {c}; the first such column is used and this one is kept as is",
                    path.display()
                ));
                header.clone()
            }
            None if header.is_empty() => format!("column_{}", i + 1),
            None => header.clone(),
        };
        if taken.contains(&name) {
            return Err(Error::input(
                path,
                format!("the header \"{header}\" appears twice"),
            ));
        }
        taken.insert(name.clone());
        out.push((name, column));
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !taken.contains(*c))
        .collect();
    if let Some(first) = missing.first() {
        let label = crate::schema::vietnamese_label(first);
        let found = raw
            .all_headers
            .iter()
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if missing.len() > 1 {
            format!(" (also missing: {})", missing[1..].join(", "))
        } else {
            String::new()
        };
        return Err(Error::input(
            path,
            format!(
                "the {} file has no column for {first} ({label}){more}; columns found: {found}",
                kind.label()
            ),
        ));
    }
    for header in &raw.numeric {
        let canon = config.canonical_column(header).map(str::to_string);
        if let Some(c) = canon.filter(|c| ID_COLUMNS.contains(&c.as_str())) {
            warnings.push(format!(
                "{}: column {c} is stored as numbers, so leading zeros may have been lost (an 11-digit personal ID is restored where it is consistent)",
                path.display()
            ));
        }
    }
    let rows = out.first().map(|(_, a)| a.len()).unwrap_or(0);
    if rows == 0 {
        warnings.push(format!(
            "{}: the file has a header but no rows",
            path.display()
        ));
    }
    if raw.cell_errors > 0 {
        warnings.push(format!(
            "{}: {} cells hold spreadsheet errors (#N/A, #REF!…) and were read as empty",
            path.display(),
            raw.cell_errors
        ));
    }
    Ok(out)
}

/// Concatenate the files of one source; columns missing from a file are empty there.
fn concat_parts(
    name: &str,
    kind: SourceKind,
    parts: Vec<(PathBuf, Vec<(String, ArrayRef)>)>,
) -> Result<Table> {
    if parts.len() == 1 {
        let (path, cols) = parts.into_iter().next().expect("one part");
        let mut t = Table::from_columns(name, kind, cols);
        t.files = vec![(path, 0)];
        return Ok(t);
    }
    let mut names: Vec<String> = Vec::new();
    for (_, cols) in &parts {
        for (n, _) in cols {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let mut files = Vec::new();
    let mut start = 0;
    let mut per_column: Vec<Vec<ArrayRef>> = vec![Vec::new(); names.len()];
    for (path, cols) in &parts {
        let rows = cols.first().map(|(_, a)| a.len()).unwrap_or(0);
        files.push((path.clone(), start));
        start += rows;
        for (i, n) in names.iter().enumerate() {
            let a = cols
                .iter()
                .find(|(c, _)| c == n)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| Arc::new(StringArray::from(vec![None::<&str>; rows])));
            per_column[i].push(a);
        }
    }
    let columns = names
        .into_iter()
        .zip(per_column)
        .map(|(n, chunks)| Ok((n, concat_text(&chunks)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut t = Table::from_columns(name, kind, columns);
    t.files = files;
    Ok(t)
}

/// A record_id must identify one row of a source. Rows are sorted by a hash of their
/// record_id (integers, not strings) and only rows with equal hashes are compared as text.
fn check_unique_record_ids(table: &Table) -> Result<()> {
    use crate::matching::features::h64;
    let ids = table.col("record_id");
    let mut order: Vec<(u64, u32)> = (0..table.len() as u32)
        .into_par_iter()
        .with_min_len(4096)
        .map(|r| (h64(ids.get(r as usize)), r))
        .filter(|(h, _)| *h != 0)
        .collect();
    order.par_sort_unstable();
    let duplicate = order
        .chunk_by(|x, y| x.0 == y.0)
        .filter(|g| g.len() > 1)
        .flat_map(|g| {
            g.iter().enumerate().flat_map(move |(i, x)| {
                g[i + 1..]
                    .iter()
                    .filter(move |y| ids.get(x.1 as usize) == ids.get(y.1 as usize))
                    .map(move |y| (x.1 as usize, y.1 as usize))
            })
        })
        .min();
    if let Some((a, b)) = duplicate {
        return Err(duplicate_record_id(&table.files, a, b));
    }
    Ok(())
}

/// The error for rows `a` < `b` (counted over all files of a source, which start at the rows
/// given in `files`) carrying the same record_id: where they are, never the value.
pub fn duplicate_record_id(files: &[(PathBuf, usize)], a: usize, b: usize) -> Error {
    // The file of a row, and the row's number among that file's data rows.
    let locate = |r: usize| {
        let (path, start) = files
            .iter()
            .rev()
            .find(|(_, s)| *s <= r)
            .map(|(p, s)| (p.clone(), *s))
            .unwrap_or_default();
        (path, r - start + 1)
    };
    let ((fa, ra), (fb, rb)) = (locate(a), locate(b));
    let msg = if fa == fb {
        format!("record_id is not unique: data rows {ra} and {rb} carry the same record_id")
    } else {
        format!(
            "record_id is not unique: data row {ra} carries the same record_id as data row {rb} of {}",
            fb.display()
        )
    };
    Error::input(&fa, msg)
}
