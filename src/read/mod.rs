//! Readers: Parquet, CSV (UTF-8, header row) and XLSX/XLS (first sheet), chosen by file
//! extension; then header mapping to canonical columns and the input checks every file gets
//! (required columns, duplicate record_id). Every value becomes text.
//!
//! Errors are one sentence naming the file and the problem, with line or row numbers but
//! never a cell's content.

mod csv;
#[cfg(target_os = "linux")]
pub mod on_disk;
mod parquet;
mod xlsx;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use rayon::prelude::*;

use self::csv::read_csv;
use self::parquet::{concat_text, read_batches, read_parquet, read_parquet_chunks, Batches};
use self::xlsx::read_xlsx;
use crate::config::Config;
use crate::core::hash::{first_duplicate, h64};
use crate::core::{Column, ColumnKind, SourceKind, Table};
use crate::error::{Error, Result};

/// A file as read: headers and text columns, before mapping.
pub(crate) struct RawTable {
    /// Every header of the file (for messages), including columns not read.
    all_headers: Vec<String>,
    headers: Vec<String>,
    columns: Vec<ArrayRef>,
    /// Headers of columns that arrived as numbers.
    numeric: Vec<String>,
    /// Cells that held a spreadsheet error (#N/A, #REF!…), read as empty.
    cell_errors: usize,
    /// A workbook's sheets read, and those passed over (no header lamsach reads).
    sheets_read: Vec<String>,
    sheets_skipped: Vec<String>,
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
            sheets_read: self.sheets_read,
            sheets_skipped: self.sheets_skipped,
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
    let mut table = concat_parts(name, kind, parts)?;
    check_unique_record_ids(&table)?;
    // Read from files, the columns are the run's own: held compactly from here on. (Batches
    // handed over in memory stay as they are: the caller holds them anyway.)
    table.compact();
    Ok(table)
}

/// Where a source's rows come from: files, or Arrow record batches handed over in memory (the
/// Python package: pyarrow, pandas, polars, DuckDB tables), with their schema.
#[derive(Clone, Debug)]
pub enum SourceData {
    Files(Vec<PathBuf>),
    Batches(arrow_schema::SchemaRef, Vec<arrow_array::RecordBatch>),
}

/// Read one source, from its files or from memory, into a table with canonical columns. A
/// source in memory is named in messages as "the NAME table".
pub fn read_data(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    config: &Config,
    warnings: &mut Warnings,
) -> Result<Table> {
    match data {
        SourceData::Files(paths) => read_source(name, kind, paths, config, warnings),
        SourceData::Batches(schema, batches) => {
            let label = PathBuf::from(format!("the {name} table"));
            let wanted = engine_columns(kind, config);
            let raw = read_batches(&label, batches, schema, &wanted)?;
            let mapped = map_columns(&label, kind, kind.required_columns(), raw, config, warnings)?;
            let table = concat_parts(name, kind, vec![(label, mapped)])?;
            check_unique_record_ids(&table)?;
            Ok(table)
        }
    }
}

/// Which headers the engine reads from a source of `kind`: the columns its rules and matching
/// use, any the config expects to be filled, and, for a source whose records outputs echo
/// (residents and linked extracts), every unknown extra column, to carry it through.
pub fn engine_columns(kind: SourceKind, config: &Config) -> impl Fn(&str) -> bool + '_ {
    wanted_by(config, move |name| match Column::from_name(name) {
        None => kind.is_echoed(),
        Some(c) => {
            kind.reads(c)
                || config
                    .expected_fields
                    .values()
                    .any(|fields| fields.iter().any(|f| f == name))
        }
    })
}

/// The headers whose column (canonical name, or the header itself when it has none) `keep`
/// accepts.
pub fn wanted_by<'a>(
    config: &'a Config,
    keep: impl Fn(&str) -> bool + 'a,
) -> impl Fn(&str) -> bool + 'a {
    move |header: &str| match config.canonical_column(header) {
        Some(c) => keep(c.name()),
        None => keep(header.trim()),
    }
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
    required: &[Column],
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
            "parquet" | "pq" => {
                read_parquet_chunks(path, wanted, Batches::AtMost(chunk_rows), &mut |raw, _| {
                    on_raw(raw)
                })?
            }
            _ => on_raw(read_file(path, wanted)?)?,
        }
    }
    Ok(offset)
}

/// Read the columns `wanted` accepts of a file, headers unmapped and no checks (returned fix
/// lists, verdict tables).
pub fn read_columns(path: &Path, name: &str, wanted: &dyn Fn(&str) -> bool) -> Result<Table> {
    let raw = read_file(path, wanted)?;
    let cols = raw.headers.into_iter().zip(raw.columns).collect();
    let mut t = Table::from_columns(name, SourceKind::Extract, cols);
    t.files = vec![(path.to_path_buf(), 0)];
    Ok(t)
}

/// Read a file as it is, headers unmapped and no checks (for lamsach's own outputs).
pub fn read_plain(path: &Path, name: &str) -> Result<Table> {
    read_columns(path, name, &|_| true)
}

/// A spreadsheet starts as a zip (XLSX, ODS) or an OLE file (XLS); text under such a name is
/// a CSV saved with the wrong extension.
fn check_spreadsheet_bytes(path: &Path, ext: &str) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(());
    }
    if head.starts_with(b"PAR1") {
        return Err(Error::input(
            path,
            format!("the file is named .{ext} but holds Parquet data; name it .parquet"),
        ));
    }
    Err(Error::input(
        path,
        format!("the file is named .{ext} but is not a spreadsheet (it may be text, such as CSV); give it the right extension"),
    ))
}

/// The rows of a source's files as their Parquet footers give them, read before the data;
/// `None` when a file is not Parquet or its footer cannot be read (reading it says why).
pub fn footer_rows(paths: &[PathBuf]) -> Option<usize> {
    paths
        .iter()
        .map(|path| match check_file(path).ok()?.as_str() {
            "parquet" | "pq" => parquet::footer_rows(path),
            _ => None,
        })
        .sum()
}

/// At most how many rows a source's files hold, known before they are parsed: a Parquet
/// file's footer, a text file's lines (a line break inside quotes makes rows fewer, never
/// more; the header counts as one); `None` for a spreadsheet, or a file that cannot be read
/// (reading it says why).
pub fn rows_at_most(paths: &[PathBuf]) -> Option<usize> {
    paths
        .iter()
        .map(|path| match check_file(path).ok()?.as_str() {
            "parquet" | "pq" => parquet::footer_rows(path),
            "csv" | "txt" | "tsv" => lines(path),
            _ => None,
        })
        .sum()
}

/// The lines of a text file (a last line without its line break counts), read 1 MB at a time.
fn lines(path: &Path) -> Option<usize> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut n, mut last) = (0, b'\n');
    loop {
        let k = file.read(&mut buf).ok()?;
        if k == 0 {
            return Some(n + usize::from(last != b'\n'));
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count();
        last = buf[k - 1];
    }
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
    if !meta.is_file() {
        return Err(Error::input(
            path,
            "this is not a regular file (a pipe, socket or device); save the data to a file and give that",
        ));
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
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => {
            check_spreadsheet_bytes(path, &ext)?;
            read_xlsx(path, wanted).map(|raw| raw.project(wanted))
        }
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

// ---------------------------------------------------------------- mapping and checks

/// Restore the leading zeros of a digit column stored as numbers, where the width is known:
/// a personal ID of 10 or 11 digits whose 12-digit form has a real province prefix, a mobile
/// number that lost its 0 (9 digits beginning 5, 7, 8 or 9 in an ID or phone column), a CMND
/// of 8 digits, province (2), commune (5) and social-insurance (10) codes. Returns the column
/// and how many values changed.
fn restore_zeros(column: Column, array: &ArrayRef) -> (ArrayRef, usize) {
    use arrow_array::{Array, StringArray};
    let Some(a) = array.as_any().downcast_ref::<StringArray>() else {
        return (array.clone(), 0);
    };
    let reference = crate::reference::reference();
    let pad = |s: &str, width: usize| format!("{}{s}", "0".repeat(width - s.len()));
    let fix = |s: &str| -> Option<String> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mobile = t.len() == 9 && matches!(t.as_bytes()[0], b'5' | b'7' | b'8' | b'9');
        match column {
            Column::PersonalId => match t.len() {
                // 84 and a mobile prefix: a phone number written internationally.
                11 if t.starts_with("84")
                    && matches!(t.as_bytes()[2], b'3' | b'5' | b'7' | b'8' | b'9') =>
                {
                    None
                }
                10 | 11 => {
                    let full = pad(t, 12);
                    let prefix: u16 = full[..3].parse().ok()?;
                    reference.id_province(prefix).map(|_| full)
                }
                9 if mobile => Some(pad(t, 10)),
                8 => Some(pad(t, 9)),
                _ => None,
            },
            Column::OldId if t.len() == 8 => Some(pad(t, 9)),
            Column::Phone if mobile => Some(pad(t, 10)),
            Column::ProvinceCode if t.len() < 2 => Some(pad(t, 2)),
            Column::CommuneCode if t.len() < 5 => Some(pad(t, 5)),
            Column::SocialInsuranceCode if t.len() < 10 => Some(pad(t, 10)),
            _ => None,
        }
    };
    let mut changed = 0;
    let out: StringArray = a
        .iter()
        .map(|v| {
            v.map(|s| match fix(s) {
                Some(f) => {
                    changed += 1;
                    f
                }
                None => s.to_string(),
            })
        })
        .collect();
    (std::sync::Arc::new(out), changed)
}

/// Excel's widest sheet: a file with more columns is not an extract (and would make every
/// output that carries its columns through as wide).
const MAX_COLUMNS: usize = 16_384;
/// Unknown columns carried through to findings.parquet and the fix lists, at most.
const MAX_EXTRA_COLUMNS: usize = 256;

/// ", and the first row does not look like a header" when none of its cells is a header
/// lamsach knows (a file saved without its header row).
fn not_a_header_hint(headers: &[String], config: &Config) -> &'static str {
    if headers.iter().any(|h| config.canonical_column(h).is_some()) {
        ""
    } else {
        ", and the first row does not look like a header (no column name lamsach knows)"
    }
}

/// Rename recognised headers to canonical names; check required columns.
fn map_columns(
    path: &Path,
    kind: SourceKind,
    required: &[Column],
    raw: RawTable,
    config: &Config,
    warnings: &mut Warnings,
) -> Result<Vec<(String, ArrayRef)>> {
    let mut out: Vec<(String, ArrayRef)> = Vec::with_capacity(raw.headers.len());
    let mut taken: BTreeSet<String> = BTreeSet::new();
    // Where each header was first seen (1-based), to name both columns of a repeated one by
    // position: a "header" may be a data row, so its text is never shown.
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, header) in raw.all_headers.iter().enumerate() {
        if let Some(first) = seen.get(header.as_str()) {
            if !header.is_empty() {
                return Err(Error::input(
                    path,
                    format!(
                        "columns {first} and {} have the same header{}",
                        i + 1,
                        not_a_header_hint(&raw.all_headers, config)
                    ),
                ));
            }
        }
        seen.entry(header.as_str()).or_insert(i + 1);
    }
    if raw.all_headers.len() > MAX_COLUMNS {
        return Err(Error::input(
            path,
            format!(
                "the file has {} columns, more than a spreadsheet holds ({MAX_COLUMNS}); it is not a register extract",
                raw.all_headers.len()
            ),
        ));
    }
    let mut extras = 0usize;
    let mut dropped = 0usize;
    for (i, (header, column)) in raw.headers.iter().zip(raw.columns).enumerate() {
        let canon = config
            .canonical_column(header)
            .map(|c| c.name().to_string());
        let name = match canon {
            Some(c) if !taken.contains(&c) => c,
            Some(c) => {
                warnings.push(format!(
                    "{}: column \"{header}\" also means {c}; the first such column is used and this one is kept as is",
                    path.display()
                ));
                header.clone()
            }
            None if extras >= MAX_EXTRA_COLUMNS => {
                dropped += 1;
                continue;
            }
            None if header.is_empty() => {
                extras += 1;
                format!("column_{}", i + 1)
            }
            None => {
                extras += 1;
                header.clone()
            }
        };
        if taken.contains(&name) {
            return Err(Error::input(
                path,
                format!("two columns have the header {name}"),
            ));
        }
        taken.insert(name.clone());
        out.push((name, column));
    }
    if dropped > 0 {
        warnings.push(format!(
            "{}: only the first {MAX_EXTRA_COLUMNS} columns lamsach does not know are carried through to the outputs; {dropped} more were not",
            path.display()
        ));
    }
    let missing: Vec<&str> = required
        .iter()
        .map(|c| c.name())
        .filter(|c| !taken.contains(*c))
        .collect();
    if let Some(first) = missing.first() {
        let label = crate::core::column::label_of(first);
        // Only headers lamsach recognises are named: an unknown "header" may be a data row.
        let known: Vec<String> = raw
            .all_headers
            .iter()
            .filter_map(|h| config.canonical_column(h).map(|c| c.name().to_string()))
            .collect();
        let others = raw.all_headers.len() - known.len();
        let found = if known.is_empty() {
            format!(
                "none of its {} column headers is a name lamsach knows, so the first row may not be a header",
                raw.all_headers.len()
            )
        } else {
            let more = if others > 0 {
                format!(" and {others} other column(s)")
            } else {
                String::new()
            };
            format!("columns recognised: {}{more}", known.join(", "))
        };
        let more = if missing.len() > 1 {
            format!(" (also missing: {})", missing[1..].join(", "))
        } else {
            String::new()
        };
        return Err(Error::input(
            path,
            format!(
                "the {} file has no column for {first} ({label}){more}; {found}",
                kind.label()
            ),
        ));
    }
    // Digit columns a spreadsheet or pandas stored as numbers lost their leading zeros: the
    // zero-padded text is restored where the width is known, and said once per column.
    for header in &raw.numeric {
        let Some(c) = config
            .canonical_column(header)
            .filter(|c| c.kind() == ColumnKind::Digits)
        else {
            continue;
        };
        let Some(slot) = out.iter_mut().find(|(n, _)| n == c.name()) else {
            continue;
        };
        let (restored, n) = restore_zeros(c, &slot.1);
        slot.1 = restored;
        warnings.push(format!(
            "{}: column {} is stored as numbers, so leading zeros were lost; {n} values were restored to their full width",
            path.display(),
            c.name()
        ));
    }
    let rows = out.first().map(|(_, a)| a.len()).unwrap_or(0);
    if rows == 0 {
        warnings.push(format!(
            "{}: the file has a header but no rows",
            path.display()
        ));
    }
    if raw.sheets_read.len() > 1 {
        warnings.push(format!(
            "{}: rows read from {} sheets with the same header ({})",
            path.display(),
            raw.sheets_read.len(),
            raw.sheets_read.join(", ")
        ));
    }
    if !raw.sheets_skipped.is_empty() {
        warnings.push(format!(
            "{}: sheets without a data header were not read ({})",
            path.display(),
            raw.sheets_skipped.join(", ")
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
    let ids = table.column(Column::RecordId);
    let mut order: Vec<(u64, u32)> = (0..table.len() as u32)
        .into_par_iter()
        .with_min_len(4096)
        .map(|r| (h64(ids.get(r as usize)), r))
        .filter(|(h, _)| *h != 0)
        .collect();
    crate::core::sort::sort_hashed(&mut order);
    let duplicate = first_duplicate(
        order
            .chunk_by(|x, y| x.0 == y.0)
            .filter(|g| g.len() > 1)
            .map(|g| {
                g.iter()
                    .map(|e| (ids.get(e.1 as usize), e.1 as usize))
                    .collect()
            }),
    );
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
