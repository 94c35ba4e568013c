//! XLSX, XLS and ODS spreadsheets: the first sheet, its first non-empty row as the header.

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

pub(super) fn read_xlsx(path: &Path) -> Result<RawTable> {
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
