//! Every bad input gets one plain sentence naming the file and the problem, exit code 2, no
//! panic, and no output file under a final name.

mod common;

use std::path::Path;

use common::*;

const GOOD_HEADER: &str =
    "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n";

fn check_fails(residents: &Path, expect: &str) {
    let out = residents.parent().unwrap().join("out");
    let o = run(&[
        "check",
        "--residents",
        residents.to_str().unwrap(),
        "--as-of",
        "2026-06-30",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "exit code for {expect}: {err}");
    assert!(
        err.contains(&residents.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains(expect), "expected «{expect}» in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    for f in ["findings.parquet", "summary.json", "duplicates.parquet"] {
        assert!(!out.join(f).exists(), "no {f} after a failed run");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn missing_file() {
    let dir = scratch("bad_missing");
    check_fails(&dir.join("nope.csv"), "does not exist");
}

#[test]
fn unknown_extension() {
    let dir = scratch("bad_ext");
    check_fails(&write(&dir, "residents.json", b"{}"), "not supported");
}

#[test]
fn missing_required_column_is_named_with_the_columns_found() {
    let dir = scratch("bad_column");
    let p = write(
        &dir,
        "r.csv",
        b"record_id,full_name,sex,province_code,commune_code\nA,B,Nam,01,00004\n",
    );
    check_fails(
        &p,
        "no column for birth_date (Ngày sinh); columns recognised: record_id, full_name",
    );
}

/// A file saved without its header row: the first data row becomes the "headers". The
/// message says so and shows none of its cells (an ID, a name, a date).
#[test]
fn a_file_without_header_row_shows_no_cell() {
    let dir = scratch("bad_no_header");
    let p = write(
        &dir,
        "r.csv",
        "A1,067073234567,Trần Thị Bích,1985-03-07,Nữ,01,00004\nA2,067073234568,Lê Văn Tám,1990-01-02,Nam,01,00004\n"
            .as_bytes(),
    );
    check_fails(&p, "the first row may not be a header");
    let q = write(
        &dir,
        "r2.csv",
        "A1,067073234567,067073234567,Trần Thị Bích,1985-03-07\nA2,1,2,3,4\n".as_bytes(),
    );
    check_fails(&q, "columns 2 and 3 have the same header");
    for f in [&p, &q] {
        let o = run(&[
            "check",
            "--residents",
            f.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        let err = stderr(&o);
        for cell in ["067073234567", "Trần", "Bích", "1985"] {
            assert!(!err.contains(cell), "a cell in the message: {err}");
        }
    }
}

#[test]
fn truncated_parquet() {
    let dir = scratch("bad_truncated");
    let data = dir.join("data");
    generate(&data, 300, 1, &[]);
    let bytes = std::fs::read(data.join("residents.parquet")).unwrap();
    let p = write(&dir, "cut.parquet", &bytes[..bytes.len() / 2]);
    check_fails(&p, "not a readable Parquet file");
}

#[test]
fn corrupt_parquet_page() {
    let dir = scratch("bad_corrupt");
    let data = dir.join("data");
    generate(&data, 300, 1, &[]);
    let mut bytes = std::fs::read(data.join("residents.parquet")).unwrap();
    // Overwrite the middle of the first column chunk's data, leave the footer intact.
    for b in &mut bytes[200..400] {
        *b = 0xAB;
    }
    let p = write(&dir, "corrupt.parquet", &bytes);
    check_fails(&p, "not a readable Parquet file");
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = scratch("bad_utf8");
    let mut bytes = GOOD_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"A1,001085012345,Nguyen Van An,1985-03-07,Nam,01,00004\n");
    // "Nguyễn" in TCVN3 bytes: 0xD4 is not valid UTF-8 here.
    bytes.extend_from_slice(b"A2,001085012346,Nguy\xd4n Van B,1985-03-07,Nam,01,00004\n");
    let p = write(&dir, "r.csv", &bytes);
    check_fails(&p, "line 3 is not valid UTF-8");
}

#[test]
fn empty_file() {
    let dir = scratch("bad_empty");
    check_fails(&write(&dir, "r.csv", b""), "the file is empty");
    check_fails(&write(&dir, "r.parquet", b""), "the file is empty");
}

#[test]
fn duplicate_record_id_within_a_file() {
    let dir = scratch("bad_dup_id");
    let mut s = GOOD_HEADER.to_string();
    s.push_str("A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n");
    s.push_str("A2,001085012346,Nguyễn Văn Bình,1985-03-07,Nam,01,00004\n");
    s.push_str("A1,001085012347,Nguyễn Văn Cường,1985-03-07,Nam,01,00004\n");
    check_fails(
        &write(&dir, "r.csv", s.as_bytes()),
        "data rows 1 and 3 carry the same record_id",
    );
}

#[test]
fn ragged_csv_row() {
    let dir = scratch("bad_ragged");
    let mut s = GOOD_HEADER.to_string();
    s.push_str("A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004,extra\n");
    check_fails(
        &write(&dir, "r.csv", s.as_bytes()),
        "line 2 has 8 fields but the header has 7",
    );
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = scratch("bad_dir");
    let sub = dir.join("residents.csv");
    std::fs::create_dir_all(&sub).unwrap();
    check_fails(&sub, "directory");
}

#[test]
fn parquet_named_csv() {
    let dir = scratch("bad_named");
    let data = dir.join("data");
    generate(&data, 100, 1, &[]);
    let bytes = std::fs::read(data.join("residents.parquet")).unwrap();
    check_fails(&write(&dir, "r.csv", &bytes), "holds Parquet or XLSX data");
}

#[test]
fn bad_usage_is_exit_2() {
    let o = run(&[
        "check",
        "--residents",
        "x.csv",
        "--out",
        "/tmp/x",
        "--as-of",
        "31/02/2026",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--as-of"));
    let o = run(&["check", "--out", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--province 99` or `00` is no province: refused before any work, not a clean empty run.
/// A real province with no resident in the file runs, with a warning saying nothing is in scope.
#[test]
fn unknown_province_is_refused_and_an_empty_one_warned() {
    let dir = scratch("bad_province");
    let p = write(
        &dir,
        "r.csv",
        format!("{GOOD_HEADER}A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n").as_bytes(),
    );
    for code in ["99", "00"] {
        let o = run(&[
            "check",
            "--residents",
            p.to_str().unwrap(),
            "--province",
            code,
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{code}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is not a province code"),
            "{}",
            stderr(&o)
        );
    }
    let out = dir.join("o79");
    let o = run(&[
        "check",
        "--residents",
        p.to_str().unwrap(),
        "--province",
        "79",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains("no resident lives in province 79"),
        "{summary}"
    );
}

#[test]
fn utf16_text_is_named_as_such() {
    let dir = scratch("bad_utf16");
    let text = format!("{GOOD_HEADER}A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n");
    let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    check_fails(&write(&dir, "no_bom.csv", &le), "the file is UTF-16 text");
    let mut bom = vec![0xFF, 0xFE];
    bom.extend_from_slice(&le);
    check_fails(&write(&dir, "bom.csv", &bom), "the file is UTF-16 text");
}

#[test]
fn a_csv_named_xlsx_is_named_as_such() {
    let dir = scratch("bad_xlsx_csv");
    let p = write(
        &dir,
        "dan_cu.xlsx",
        format!("{GOOD_HEADER}A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n").as_bytes(),
    );
    check_fails(&p, "is named .xlsx but is not a spreadsheet");
}

#[cfg(unix)]
#[test]
fn a_pipe_is_not_read_as_an_empty_file() {
    let dir = scratch("bad_fifo");
    let p = dir.join("r.csv");
    let o = std::process::Command::new("mkfifo")
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success());
    check_fails(&p, "not a regular file");
}

#[test]
fn a_file_given_twice_is_refused() {
    let dir = scratch("bad_twice");
    let p = write(
        &dir,
        "r.csv",
        format!("{GOOD_HEADER}A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n").as_bytes(),
    );
    let f = p.to_str().unwrap();
    let o = run(&[
        "check",
        "--residents",
        f,
        "--vaccination",
        f,
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is given twice (as --residents and as --vaccination)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nonsense_settings_are_refused() {
    let dir = scratch("bad_settings");
    let p = write(
        &dir,
        "r.csv",
        format!("{GOOD_HEADER}A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004\n").as_bytes(),
    );
    let cfg = write(
        &dir,
        "c.toml",
        b"[[thresholds]]\nrule = \"id.format\"\nmax_percent = -1\n",
    );
    let o = run(&[
        "check",
        "--residents",
        p.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("max_percent must be between 0 and 100"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "check",
        "--residents",
        p.to_str().unwrap(),
        "--threads",
        "10000",
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--threads 10000"), "{}", stderr(&o));
    for budget in ["0", "-1", "NaN"] {
        let o = run(&[
            "check",
            "--residents",
            p.to_str().unwrap(),
            &format!("--memory-gb={budget}"),
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "--memory-gb {budget}");
        assert!(
            stderr(&o).contains("--memory-gb takes a positive number"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn absurdly_wide_files_are_refused_and_wide_ones_capped() {
    let dir = scratch("bad_wide");
    let mut header = GOOD_HEADER.trim_end().to_string();
    let mut row = "A1,001085012345,Nguyễn Văn An,1985-03-07,Nam,01,00004".to_string();
    for i in 0..20_000 {
        header.push_str(&format!(",c{i}"));
        row.push_str(",x");
    }
    let p = write(&dir, "r.csv", format!("{header}\n{row}\n").as_bytes());
    check_fails(&p, "the file has 20007 columns");
    // 300 unknown columns: the run completes, 256 are carried through, the rest warned.
    let mut header = GOOD_HEADER.trim_end().to_string();
    let mut row = "A1,12345,Nguyễn Văn An,1985-03-07,Nam,01,00004".to_string();
    for i in 0..300 {
        header.push_str(&format!(",c{i}"));
        row.push_str(",x");
    }
    let p = write(&dir, "r2.csv", format!("{header}\n{row}\n").as_bytes());
    let out = dir.join("o2");
    let o = run(&[
        "check",
        "--residents",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("44 more were not"), "{summary}");
}

/// Spark and older tools write gzip; lz4 is common too: both are read. (Brotli is refused
/// with a sentence saying how to convert.)
#[test]
fn gzip_and_lz4_parquet_are_read() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::basic::{Compression, GzipLevel};
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let dir = scratch("parquet_codecs");
    let col = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    let batch = RecordBatch::try_from_iter(vec![
        ("record_id", col("A1")),
        ("personal_id", col("12345")),
        ("full_name", col("Nguyễn Văn An")),
        ("birth_date", col("1985-03-07")),
        ("sex", col("Nam")),
        ("province_code", col("01")),
        ("commune_code", col("00004")),
    ])
    .unwrap();
    for (name, codec) in [
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("lz4", Compression::LZ4_RAW),
    ] {
        let p = dir.join(format!("{name}.parquet"));
        let props = WriterProperties::builder().set_compression(codec).build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&p).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let out = dir.join(format!("o_{name}"));
        let o = run(&[
            "check",
            "--residents",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let f = rows(&out.join("findings.parquet"), &["rule"]);
        assert!(f.iter().any(|r| r[0] == "id.format"), "{name}");
    }
}
