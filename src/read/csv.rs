//! CSV: UTF-8 (with or without BOM), a header row, `,` `;` tab or `|` as delimiter.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::ArrayRef;

use super::RawTable;
use crate::error::{Error, Result};

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

/// UTF-16 text: its byte-order mark, or (without one) a NUL byte beside most ASCII letters of
/// its start.
fn looks_utf16(data: &[u8]) -> bool {
    if data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &data[..data.len().min(512)];
    if head.len() < 8 {
        return false;
    }
    let (even, odd) = head.chunks_exact(2).fold((0, 0), |(e, o), p| {
        (e + (p[0] == 0) as usize, o + (p[1] == 0) as usize)
    });
    let pairs = head.len() / 2;
    even * 10 >= pairs * 6 || odd * 10 >= pairs * 6
}

pub(super) fn read_csv(path: &Path) -> Result<RawTable> {
    let data = std::fs::read(path)
        .map_err(|e| Error::input(path, format!("the file cannot be read ({e})")))?;
    if looks_utf16(&data) {
        return Err(Error::input(
            path,
            "the file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)",
        ));
    }
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
        sheets_read: Vec::new(),
        sheets_skipped: Vec::new(),
    })
}
