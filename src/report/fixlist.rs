//! The fix lists: `fixlists/<commune_code>.csv` (UTF-8 with BOM, for Excel) and `.xlsx`, one
//! per commune, in Vietnamese, for the commune police office that fixes the records.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::tables::shorten;
use super::view::{Extras, Records, View};
use crate::config::Config;
use crate::core::{Column, Finding, Group};
use crate::error::{Error, Result};
use crate::output::Staging;

/// Column headers of the fix lists, in Vietnamese.
pub const FIXLIST_HEADERS: &[&str] = &[
    "Nguồn",
    "Mã bản ghi",
    "Số định danh",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Trạng thái",
    "Mức độ",
    "Nhóm",
    "Quy tắc",
    "Mô tả",
    "Trường",
    "Giá trị hiện tại",
    "Đề xuất sửa",
    "Bản ghi liên quan",
    "Họ tên bản ghi liên quan",
    "Ngày sinh bản ghi liên quan",
    "Xác suất trùng",
    "Ghi chú",
];

/// The fix lists' headers: the Vietnamese ones, then the extra columns carried through (a
/// header that is already a fix-list header gets " (tệp gốc)", "original file", after it).
fn fixlist_headers(extras: &Extras) -> Vec<String> {
    let mut headers: Vec<String> = FIXLIST_HEADERS.iter().map(|h| h.to_string()).collect();
    headers.extend(extras.names(FIXLIST_HEADERS, "", " (tệp gốc)"));
    headers
}

fn fixlist_row(view: &View, config: &Config, f: &Finding, open: bool) -> Vec<String> {
    let mut row = vec![
        view.source(f.at).to_string(),
        view.cell(f.at, Column::RecordId).to_string(),
        view.cell(f.at, Column::PersonalId).to_string(),
        shorten(view.cell(f.at, Column::FullName)).into_owned(),
        view.cell(f.at, Column::BirthDate).to_string(),
        view.cell(f.at, Column::Sex).to_string(),
        if open { "Đang mở" } else { "Mới" }.to_string(),
        config.severity(f.rule).label_vi().to_string(),
        f.rule.group().label_vi().to_string(),
        f.rule.code().to_string(),
        f.rule.description_vi().to_string(),
        f.field.map_or("", Column::label_vi).to_string(),
        f.value
            .as_deref()
            .map(shorten)
            .unwrap_or_default()
            .into_owned(),
        f.suggestion
            .as_deref()
            .map(shorten)
            .unwrap_or_default()
            .into_owned(),
        f.related
            .map(|r| format!("{} {}", view.source(r), view.cell(r, Column::RecordId)))
            .unwrap_or_default(),
        // The other record beside this one (duplicates, shared IDs, links).
        f.related
            .map(|r| view.cell(r, Column::FullName).to_string())
            .unwrap_or_default(),
        f.related
            .map(|r| view.cell(r, Column::BirthDate).to_string())
            .unwrap_or_default(),
        f.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
        f.note.clone().unwrap_or_default(),
    ];
    row.extend(
        (0..view.extras.headers.len())
            .map(|i| shorten(view.extras.get(f.at, i).unwrap_or_default()).into_owned()),
    );
    row
}

fn csv_escape(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A commune code safe to use as a file name ("khong_ro" when the record has none).
fn commune_file(code: &str) -> String {
    let c: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if c.is_empty() {
        "khong_ro".to_string()
    } else {
        c
    }
}

/// Write `fixlists/<commune_code>.csv` (UTF-8 with BOM) and `.xlsx`, one per commune with
/// findings, rows sorted by severity then rule; new rows marked.
pub fn write_fixlists(staging: &Staging, view: &View, config: &Config) -> Result<()> {
    let mut by_commune: BTreeMap<String, Vec<(&Finding, bool)>> = BTreeMap::new();
    for (f, open) in view.findings.iter().zip(&view.open) {
        by_commune
            .entry(commune_file(view.cell(f.at, Column::CommuneCode)))
            .or_default()
            .push((f, *open));
    }
    let headers = fixlist_headers(&view.extras);
    by_commune.par_iter().try_for_each(|(commune, findings)| {
        let mut rows: Vec<(&Finding, bool)> = findings.clone();
        let severity = |f: &Finding| config.severity(f.rule);
        rows.sort_by_key(|(f, _)| (severity(f), f.rule, f.at));
        let mut csv = String::from("\u{feff}");
        for (i, h) in headers.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            csv_escape(h, &mut csv);
        }
        csv.push_str("\r\n");
        let table: Vec<(Group, Vec<String>)> = rows
            .iter()
            .map(|(f, open)| (f.rule.group(), fixlist_row(view, config, f, *open)))
            .collect();
        for (_, row) in &table {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    csv.push(',');
                }
                csv_escape(cell, &mut csv);
            }
            csv.push_str("\r\n");
        }
        staging.write_bytes(&format!("fixlists/{commune}.csv"), csv.as_bytes())?;
        let xlsx = fixlist_xlsx(commune, &headers, &table, view.input.as_of)
            .map_err(|e| Error::output(&staging.dir().join("fixlists"), e))?;
        staging.write_bytes(&format!("fixlists/{commune}.xlsx"), &xlsx)
    })
}

fn fixlist_xlsx(
    commune: &str,
    headers: &[String],
    table: &[(Group, Vec<String>)],
    as_of: crate::dates::PDate,
) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    // Deflate level 1: a commune's list saves about 3x faster than at the default level 6,
    // for a file a little larger (measured in docs/BENCHMARKS.md).
    wb.set_zip_compression_level(1);
    // Dated by --as-of, not by the clock: the same run gives the same bytes.
    let created = ExcelDateTime::from_ymd(as_of.year, as_of.month.max(1), as_of.day.max(1))?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let bold = Format::new().set_bold();
    let reference = crate::reference::reference();
    let first = wb.add_worksheet();
    first.set_name("Tổng hợp")?;
    let commune_name = reference.commune_label(commune);
    first.write_with_format(0, 0, "Mã xã", &bold)?;
    first.write(0, 1, commune)?;
    first.write_with_format(1, 0, "Tên xã", &bold)?;
    first.write(1, 1, commune_name)?;
    first.write_with_format(3, 0, "Nhóm", &bold)?;
    first.write_with_format(3, 1, "Số trường hợp", &bold)?;
    for (i, g) in Group::ALL.iter().enumerate() {
        let n = table.iter().filter(|(tg, _)| tg == g).count();
        first.write(4 + i as u32, 0, g.label_vi())?;
        first.write(4 + i as u32, 1, n as u32)?;
    }
    first.set_column_width(0, 18)?;
    first.set_column_width(1, 40)?;
    for g in Group::ALL {
        let ws = wb.add_worksheet();
        ws.set_name(g.label_vi())?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_with_format(0, c as u16, h, &bold)?;
        }
        for (r, (_, row)) in (1u32..).zip(table.iter().filter(|(tg, _)| *tg == g)) {
            for (c, cell) in row.iter().enumerate() {
                ws.write(r, c as u16, cell)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}
