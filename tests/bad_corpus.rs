//! The bad-input corpus of testdata/bad: each file gets exit code 2 and one sentence naming the
//! file and the row or line — or, where the data is merely odd, a clean run with a warning —
//! never a panic, never an output file under its final name after a failure. The binary
//! fixtures (Parquet, XLSX) are made by `cargo test --release --test bad_corpus -- --ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::*;

fn bad(name: &str) -> PathBuf {
    testdata(&format!("bad/{name}"))
}

/// Run check on one residents file; returns (exit code, stderr, output dir).
fn check(file: &Path, name: &str) -> (Option<i32>, String, PathBuf) {
    let out = scratch(&format!("corpus_{name}"));
    let o = common::check(&[("residents", file)], &out, &["--as-of", "2026-06-30"]);
    (o.status.code(), stderr(&o), out)
}

fn fails(name: &str, expect: &str) {
    let file = bad(name);
    let (code, err, out) = check(&file, name);
    assert_eq!(code, Some(2), "{name}: {err}");
    assert!(
        err.contains(&file.display().to_string()),
        "{name} names the file: {err}"
    );
    assert!(err.contains(expect), "{name}: expected «{expect}» in {err}");
    assert_eq!(err.trim().lines().count(), 1, "{name}: one sentence: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // No personal data in errors: no ID, no name from the file.
    assert!(
        !err.contains("0010850123") && !err.contains("Nguy") && !err.contains("Bình"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "{name}: nothing under a final name after a failure: {left:?}"
    );
}

fn runs_with_warning(file: &Path, name: &str, warning: &str) -> PathBuf {
    let (code, err, out) = check(file, name);
    assert_eq!(code, Some(0), "{name}: {err}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains(warning),
        "{name}: warning «{warning}» in {summary}"
    );
    out
}

#[test]
fn missing_required_column() {
    fails("missing_column.csv", "has no column for birth_date");
}

#[test]
fn wrong_column_type() {
    fails(
        "wrong_type.parquet",
        "column \"full_name\" has a nested type",
    );
}

#[test]
fn truncated_parquet() {
    fails("truncated.parquet", "not a readable Parquet file");
}

#[test]
fn parquet_with_a_corrupt_page() {
    fails("corrupt_page.parquet", "not a readable Parquet file");
}

#[test]
fn invalid_utf8_names_the_line() {
    fails("invalid_utf8.csv", "line 3 is not valid UTF-8");
}

#[test]
fn ragged_rows_name_the_line() {
    fails("ragged.csv", "line 2 has 8 fields but the header has 7");
}

#[test]
fn legacy_encodings_are_named() {
    fails(
        "tcvn3.csv",
        "legacy Vietnamese encoding (TCVN3, VNI or Windows-1258)",
    );
    fails(
        "cp1258.csv",
        "legacy Vietnamese encoding (TCVN3, VNI or Windows-1258)",
    );
}

#[test]
fn empty_file() {
    fails("empty.csv", "the file is empty");
}

#[test]
fn nul_bytes_name_the_line() {
    fails("nul_bytes.csv", "line 2 contains a NUL byte");
}

#[test]
fn duplicate_record_ids_name_the_rows() {
    fails(
        "duplicate_ids.csv",
        "data rows 1 and 3 carry the same record_id",
    );
}

#[test]
fn a_directory_is_named() {
    let dir = scratch("corpus_dir_input").join("residents.csv");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, err, _) = check(&dir, "dir");
    assert_eq!(code, Some(2));
    assert!(err.contains("directory"), "{err}");
}

#[test]
fn header_only_file_runs_clean_with_a_warning() {
    let out = runs_with_warning(
        &bad("header_only.csv"),
        "header_only",
        "has a header but no rows",
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_read"]["residents"], 0);
    assert!(out.join("findings.parquet").exists());
}

#[test]
fn merged_cells_and_formulas_run_clean() {
    let out = runs_with_warning(
        &bad("merged_formulas.xlsx"),
        "merged",
        "1 cells hold spreadsheet errors",
    );
    // The formula's cached value is read (as a number: its leading zeros are restored), the
    // error cell is empty, and the merged cell's covered row has no commune.
    let f = findings(&out);
    assert!(
        !f.iter().any(|x| x.0 == "A1" && x.2 == "personal_id"),
        "the restored ID is well formed: {f:?}"
    );
    assert!(has(&f, "A2", "id.missing"), "{f:?}");
    assert!(
        f.contains(&(
            "A2".into(),
            "field.missing".into(),
            "commune_code".into(),
            "".into()
        )),
        "{f:?}"
    );
}

#[test]
fn a_10_mb_cell_is_read_and_echoed_shortened() {
    let dir = scratch("corpus_big_cell_input");
    let file = dir.join("big.csv");
    let name = "Nguyễn ".repeat(10 * 1024 * 1024 / 9);
    std::fs::write(
        &file,
        format!("record_id,full_name,birth_date,sex,province_code,commune_code\nA1,{name},1985-03-07,Nam,01,00004\n"),
    )
    .unwrap();
    let (code, err, out) = check(&file, "big_cell");
    assert_eq!(code, Some(0), "{err}");
    let f = rows(&out.join("findings.parquet"), &["rule", "value"]);
    let unnormalized = f
        .iter()
        .find(|r| r[0] == "name.unnormalized")
        .expect("a finding");
    assert!(
        unnormalized[1].chars().count() <= 1001,
        "the echoed value is shortened"
    );
}

// ------------------------------------------------------------------ fixture makers

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn text(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

#[test]
#[ignore = "writes the binary fixtures of testdata/bad"]
fn make_corpus() {
    // A nested (list) column where a name is expected.
    let mut names = ListBuilder::new(StringBuilder::new());
    names.values().append_value("Nguyễn");
    names.values().append_value("Văn An");
    names.append(true);
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new(
            "full_name",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        ),
        Field::new("birth_date", DataType::Utf8, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("province_code", DataType::Utf8, false),
        Field::new("commune_code", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            text(&["A1"]),
            Arc::new(names.finish()),
            text(&["1985-03-07"]),
            text(&["Nam"]),
            text(&["01"]),
            text(&["00004"]),
        ],
    )
    .unwrap();
    write_parquet(&bad("wrong_type.parquet"), &batch);

    // A valid small residents file, then cut in half, then with a damaged page.
    let data = scratch("corpus_make");
    generate(&data, 200, 1, &[]);
    let bytes = std::fs::read(data.join("residents.parquet")).unwrap();
    std::fs::write(bad("truncated.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    let mut damaged = bytes.clone();
    for b in &mut damaged[200..400] {
        *b = 0xAB;
    }
    std::fs::write(bad("corrupt_page.parquet"), &damaged).unwrap();

    // Merged cells, a formula with its cached result, and an error cell.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "Mã bản ghi",
        "Số định danh cá nhân",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "Mã tỉnh",
        "Mã xã",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    let fmt = rust_xlsxwriter::Format::new();
    ws.write(1, 0, "A1").unwrap();
    ws.write_formula(
        1,
        1,
        rust_xlsxwriter::Formula::new("=\"001085012345\"").set_result("001085012345"),
    )
    .unwrap();
    ws.write(1, 2, "Nguyễn Văn An").unwrap();
    ws.write(1, 3, "1985-03-07").unwrap();
    ws.write(1, 4, "Nam").unwrap();
    ws.write(1, 5, "01").unwrap();
    // The commune code merged over two rows: only the first row holds it.
    ws.merge_range(1, 6, 2, 6, "00004", &fmt).unwrap();
    ws.write(2, 0, "A2").unwrap();
    ws.write_formula(
        2,
        1,
        rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
    )
    .unwrap();
    ws.write(2, 2, "Trần Thị Bình").unwrap();
    ws.write(2, 3, "1990-05-12").unwrap();
    ws.write(2, 4, "Nữ").unwrap();
    ws.write(2, 5, "01").unwrap();
    wb.save(bad("merged_formulas.xlsx")).unwrap();
}
