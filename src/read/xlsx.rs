//! XLSX, XLS and ODS spreadsheets: every sheet whose header (its first non-empty row) names
//! columns lamsach reads, concatenated when they share one header; other sheets
//! (instructions, summaries) are passed over and named in the warnings.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::ArrayRef;

use super::RawTable;
use crate::error::{Error, Result};

fn excel_serial_to_date(serial: f64) -> String {
    // Excel's day 0 is 1899-12-30 (with the 1900 leap-year bug absorbed).
    let days = serial.floor() as i32 + crate::dates::days_from_civil(1899, 12, 30);
    crate::dates::civil_from_days(days).to_string()
}

pub(super) fn read_xlsx(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<RawTable> {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut wb = open_workbook_auto(path).map_err(|e| {
        Error::input(
            path,
            format!("the file is not a readable spreadsheet ({e})"),
        )
    })?;
    let names = wb.sheet_names();
    if names.is_empty() {
        return Err(Error::input(path, "the workbook has no sheet"));
    }
    // Each sheet with its first non-empty row as the header.
    let mut sheets: Vec<(String, calamine::Range<Data>, usize, Vec<String>)> = Vec::new();
    for name in &names {
        let range = match wb.worksheet_range(name) {
            Ok(r) => r,
            // A chart sheet or an unreadable one: not data.
            Err(_) => continue,
        };
        let Some(at) = range
            .rows()
            .position(|r| !r.iter().all(|c| matches!(c, Data::Empty)))
        else {
            continue;
        };
        let headers: Vec<String> = range
            .rows()
            .nth(at)
            .unwrap_or_default()
            .iter()
            .map(|c| match c {
                Data::Empty => String::new(),
                c => c.to_string().trim().to_string(),
            })
            .collect();
        sheets.push((name.clone(), range, at, headers));
    }
    if sheets.is_empty() {
        return Err(Error::input(path, "every sheet of the workbook is empty"));
    }
    // The data sheets: those whose header names a column lamsach reads. An instructions or
    // summary sheet before them is passed over; with none, the first sheet is read (so a
    // missing column is reported by name).
    let known = |h: &[String]| h.iter().filter(|h| !h.is_empty() && wanted(h)).count();
    let best = sheets.iter().map(|s| known(&s.3)).max().unwrap_or(0);
    let data: Vec<usize> = if best == 0 {
        vec![0]
    } else {
        (0..sheets.len())
            .filter(|&i| known(&sheets[i].3) * 2 >= best && known(&sheets[i].3) > 0)
            .collect()
    };
    let first = &sheets[data[0]].3;
    let differing: Vec<&str> = data
        .iter()
        .filter(|&&i| sheets[i].3 != *first)
        .map(|&i| sheets[i].0.as_str())
        .collect();
    if !differing.is_empty() {
        let all: Vec<&str> = data.iter().map(|&i| sheets[i].0.as_str()).collect();
        return Err(Error::input(
            path,
            format!(
                "the sheets {} hold data under different headers; put the rows on one sheet with one header, or give each sheet as its own file",
                all.join(", ")
            ),
        ));
    }
    let headers = first.clone();
    let width = headers.len();
    let mut builders: Vec<StringBuilder> = (0..width).map(|_| StringBuilder::new()).collect();
    let mut numeric = vec![false; width];
    let mut cell_errors = 0usize;
    for &i in &data {
        let (_, range, at, _) = &sheets[i];
        for row in range.rows().skip(at + 1) {
            if row.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            for (i, b) in builders.iter_mut().enumerate() {
                match row.get(i).unwrap_or(&Data::Empty) {
                    Data::Empty => b.append_value(""),
                    Data::String(s) => b.append_value(s),
                    Data::Float(f) => {
                        numeric[i] = true;
                        b.append_value(super::parquet::float_to_text(*f));
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
    }
    let skipped: Vec<String> = (0..sheets.len())
        .filter(|i| !data.contains(i))
        .map(|i| sheets[i].0.clone())
        .collect();
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
        sheets_read: data.iter().map(|&i| sheets[i].0.clone()).collect(),
        sheets_skipped: skipped,
    })
}
