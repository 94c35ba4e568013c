//! The review loop: officers return their fix lists with a verdict per row; the next run
//! leaves out what they marked "Không phải lỗi" (not an error) or "Không trùng" (not the same
//! person) while the records are unchanged, keeps those verdicts for the nights after, and
//! brings a finding back when its record is edited.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The same rows as an XLSX workbook as an officer returns it: a summary sheet first.
fn write_xlsx(path: &Path, headers: &[String], rows: &[Vec<String>]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let first = wb.add_worksheet();
    first.set_name("Tổng hợp").unwrap();
    first.write(0, 0, "Mã xã").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Đúng").unwrap();
    for (c, h) in headers.iter().enumerate() {
        ws.write(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(r as u32 + 1, c as u16, v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

/// Rewrite residents.parquet with one record's full_name changed.
fn edit_name(path: &Path, record_id: &str, name: &str) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    let ri = schema.index_of("record_id").unwrap();
    let ni = schema.index_of("full_name").unwrap();
    let edited: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| {
            let ids = b.column(ri).as_any().downcast_ref::<StringArray>().unwrap();
            let names = b.column(ni).as_any().downcast_ref::<StringArray>().unwrap();
            let new: StringArray = (0..b.num_rows())
                .map(|i| {
                    if ids.value(i) == record_id {
                        Some(name.to_string())
                    } else if names.is_null(i) {
                        None
                    } else {
                        Some(names.value(i).to_string())
                    }
                })
                .collect();
            let mut cols: Vec<ArrayRef> = b.columns().to_vec();
            cols[ni] = Arc::new(new);
            RecordBatch::try_new(b.schema(), cols).unwrap()
        })
        .collect();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    for b in &edited {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn verdicts_withdraw_findings_until_the_record_changes() {
    let dir = scratch("verdicts");
    let data = dir.join("data");
    generate(&data, 5_000, 11, &[]);
    let residents = data.join("residents.parquet");
    let first = dir.join("night1");
    let o = check(
        &[("residents", &residents)],
        &first,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // The officers mark 50 single-record findings "Không phải lỗi" and 20 pairs "Không trùng".
    let (headers, listed) = fix_list_rows(&first);
    let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let (rule, verdict, related) = (
        col("Quy tắc"),
        col("Kết quả xác minh"),
        col("Bản ghi liên quan"),
    );
    let mut singles: Vec<Vec<String>> = listed
        .iter()
        .filter(|r| r[related].is_empty() && r[rule] != "household.no_head")
        .take(50)
        .cloned()
        .collect();
    assert_eq!(singles.len(), 50);
    let mut seen = BTreeSet::new();
    let mut pairs: Vec<Vec<String>> = listed
        .iter()
        .filter(|r| r[rule] == "dup.in_province" || r[rule] == "dup.out_of_province")
        // One row per pair: the officer of one commune answers for both.
        .filter(|r| {
            let other = r[related].rsplit(' ').next().unwrap().to_string();
            let mut k = [r[col("Mã bản ghi")].clone(), other];
            k.sort();
            seen.insert(k)
        })
        .take(20)
        .cloned()
        .collect();
    assert_eq!(
        pairs.len(),
        20,
        "the generated province has 20 duplicate pairs"
    );
    for r in &mut singles {
        r[verdict] = "Không phải lỗi".into();
    }
    for r in &mut pairs {
        r[verdict] = "Không trùng".into();
    }
    let returned_csv = dir.join("tra_ve.csv");
    write_csv(&returned_csv, &headers, &singles[..30]);
    let returned_xlsx = dir.join("tra_ve.xlsx");
    let mut rest = singles[30..].to_vec();
    rest.extend(pairs.iter().cloned());
    write_xlsx(&returned_xlsx, &headers, &rest);

    let second = dir.join("night2");
    let o = check(
        &[("residents", &residents)],
        &second,
        &[
            "--as-of",
            "2026-01-01",
            "--previous",
            first.to_str().unwrap(),
            "--verdicts",
            returned_csv.to_str().unwrap(),
            returned_xlsx.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = finding_keys(&first);
    let before_rows: Vec<Vec<String>> = rows(
        &first.join("findings.parquet"),
        &["source", "record_id", "rule", "related_record_id"],
    );
    let before_rows: Vec<Key> = before_rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
        .collect();
    let after = finding_keys(&second);
    let rid = col("Mã bản ghi");
    for r in &singles {
        assert!(
            !after.iter().any(|k| k.1 == r[rid] && k.2 == r[rule]),
            "{} {} is still reported",
            r[rid],
            r[rule]
        );
    }
    // Both rows of each pair are gone, and the pair from duplicates.parquet.
    let dups = rows(
        &second.join("duplicates.parquet"),
        &["record_id_a", "record_id_b"],
    );
    for r in &pairs {
        let other = r[related].rsplit(' ').next().unwrap().to_string();
        assert!(!after.iter().any(|k| k.1 == r[rid] && k.3 == other));
        assert!(!after.iter().any(|k| k.1 == other && k.3 == r[rid]));
        assert!(!dups
            .iter()
            .any(|d| (d[0] == r[rid] && d[1] == other) || (d[1] == r[rid] && d[0] == other)));
    }
    // The findings the verdicts answer: each row's own, and a pair's other row.
    let answered: BTreeSet<usize> = singles
        .iter()
        .chain(&pairs)
        .flat_map(|r| {
            let other = r[related].rsplit(' ').next().unwrap_or("").to_string();
            let (id, rule) = (r[rid].clone(), r[rule].clone());
            before_rows
                .iter()
                .enumerate()
                .filter(move |(_, k)| {
                    k.2 == rule
                        && ((k.1 == id && k.3 == other)
                            || (!other.is_empty() && k.1 == other && k.3 == id))
                })
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
        .collect();
    let count = |out: &Path| rows(&out.join("findings.parquet"), &["rule"]).len();
    assert_eq!(answered.len(), 50 + 2 * 20);
    assert_eq!(
        count(&first) - count(&second),
        50 + 2 * 20,
        "nothing else withdrawn"
    );
    assert!(before.len() > after.len());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(second.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["verdicts"]["read"], 70);
    assert_eq!(summary["verdicts"]["findings_withdrawn"], 90);
    assert_eq!(summary["verdicts"]["per_verdict"]["Không trùng"], 20);

    // The next night, with no list returned, the verdicts still hold (kept in the run).
    let third = dir.join("night3");
    let o = check(
        &[("residents", &residents)],
        &third,
        &[
            "--as-of",
            "2026-01-01",
            "--previous",
            second.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(finding_keys(&third), after);

    // An officer edits one of those records: its finding comes back.
    let edited = &singles[0];
    edit_name(&residents, &edited[rid], "Tên Đã Sửa Khác");
    let fourth = dir.join("night4");
    let o = check(
        &[("residents", &residents)],
        &fourth,
        &[
            "--as-of",
            "2026-01-01",
            "--previous",
            third.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let now = finding_keys(&fourth);
    assert!(
        now.iter()
            .any(|k| k.1 == edited[rid] && k.2 == edited[rule]),
        "the edited record's finding is back"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fourth.join("summary.json")).unwrap()).unwrap();
    // The verdicts on the edited record lapse (it may have had several); the others hold.
    let lapsed = summary["verdicts"]["records_changed"].as_u64().unwrap();
    assert!((1..=3).contains(&lapsed), "{lapsed}");
    assert_eq!(summary["verdicts"]["read"].as_u64().unwrap(), 70);
    assert_eq!(
        summary["verdicts"]["findings_withdrawn"].as_u64().unwrap(),
        90 - lapsed
    );
}

/// A returned list that lost the column naming the record, the rule or the source cannot be
/// matched to findings: the run refuses it in one sentence naming the file and the column,
/// rather than dropping the officers' answers without a word. Without the record code the
/// verdicts still hold.
#[test]
fn a_returned_list_without_the_columns_naming_its_findings_is_refused() {
    let dir = scratch("verdicts_columns");
    let data = dir.join("data");
    generate(&data, 1_000, 5, &[]);
    let residents = data.join("residents.parquet");
    let first = dir.join("night1");
    let o = check(
        &[("residents", &residents)],
        &first,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (headers, mut listed) = fix_list_rows(&first);
    let verdict = headers
        .iter()
        .position(|h| h == "Kết quả xác minh")
        .unwrap();
    listed.truncate(5);
    for r in &mut listed {
        r[verdict] = "Không phải lỗi".into();
    }
    for (column, refused) in [
        ("Mã bản ghi", true),
        ("Quy tắc", true),
        ("Nguồn", true),
        ("Mã kiểm tra (không sửa)", false),
    ] {
        let c = headers.iter().position(|h| h == column).unwrap();
        let mut h = headers.clone();
        h.remove(c);
        let rows: Vec<Vec<String>> = listed
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.remove(c);
                r
            })
            .collect();
        let returned = dir.join("tra_ve.csv");
        write_csv(&returned, &h, &rows);
        let second = dir.join("night2");
        let o = check(
            &[("residents", &residents)],
            &second,
            &[
                "--as-of",
                "2026-01-01",
                "--previous",
                first.to_str().unwrap(),
                "--verdicts",
                returned.to_str().unwrap(),
            ],
        );
        let err = stderr(&o);
        if refused {
            assert_eq!(o.status.code(), Some(2), "{column}: {err}");
            assert!(err.contains("tra_ve.csv") && err.contains(column), "{err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        } else {
            assert!(o.status.success(), "{column}: {err}");
            // Each row's finding goes, and a pair's row takes the other record's with it.
            let gone = finding_keys(&first).len() - finding_keys(&second).len();
            assert!((5..=10).contains(&gone), "{column}: {gone} withdrawn");
        }
    }
}
