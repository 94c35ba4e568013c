//! A fuzz harness over the file readers (CSV, XLSX, Parquet) and the config parser: bytes
//! built from real files and mutated, or made up, must give a table or a plain input error
//! (exit code 2) — never a panic, never an internal error — and an error never echoes a cell.
//! CI runs a fixed number of cases; for hours, e.g.
//! `PROPTEST_CASES=200000 cargo test --release --test fuzz_readers` (docs/reliability.md).

use std::path::{Path, PathBuf};

use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::read::read_source;
use proptest::prelude::*;

/// A cell value the inputs carry: no error message may contain it.
const SECRET: &str = "079301999888";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

fn scratch() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz_readers");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn valid_csv() -> Vec<u8> {
    format!(
        "record_id,personal_id,full_name,birth_date,sex,province_code,commune_code\n\
         A1,{SECRET},Nguyễn Văn An,1985-03-07,Nam,79,26734\n\
         A2,001085012345,Trần Thị Bích,07/03/1985,Nữ,01,00004\n"
    )
    .into_bytes()
}

fn valid_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let text = String::from_utf8(valid_csv()).unwrap();
    for (r, line) in text.lines().enumerate() {
        for (c, v) in line.split(',').enumerate() {
            ws.write(r as u32, c as u16, v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

fn valid_parquet() -> Vec<u8> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let text = String::from_utf8(valid_csv()).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let cols: Vec<(&str, ArrayRef)> = (0..lines[0].len())
        .map(|c| {
            let v: Vec<&str> = lines[1..].iter().map(|l| l[c]).collect();
            (lines[0][c], Arc::new(StringArray::from(v)) as ArrayRef)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

/// Mutations of a valid file: bytes flipped, cut, repeated or inserted.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = base.len();
    prop::collection::vec((0..n.max(1), any::<u8>(), 0u8..4), 1..12).prop_map(move |edits| {
        let mut b = base.clone();
        for (at, byte, kind) in edits {
            if b.is_empty() {
                b.push(byte);
                continue;
            }
            let at = at % b.len();
            match kind {
                0 => b[at] = byte,
                1 => b.truncate(at.max(1)),
                2 => b.insert(at, byte),
                _ => {
                    let piece: Vec<u8> = b[at..(at + 16).min(b.len())].to_vec();
                    b.splice(at..at, piece);
                }
            }
        }
        b
    })
}

fn read(path: &Path) {
    let mut warnings = Vec::new();
    let paths = [path.to_path_buf()];
    match read_source(
        "residents",
        SourceKind::Residents,
        &paths,
        &Config::default(),
        &mut warnings,
    ) {
        Ok(_) => {}
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "an input error, not an internal one: {e}");
            let msg = e.to_string();
            assert!(!msg.contains(SECRET), "a cell in the message: {msg}");
            assert_eq!(msg.lines().count(), 1, "one sentence: {msg}");
        }
    }
    for w in &warnings {
        assert!(!w.contains(SECRET), "a cell in a warning: {w}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_survives_any_bytes(bytes in prop_oneof![
        3 => mutated(valid_csv()),
        1 => prop::collection::vec(any::<u8>(), 0..400),
    ]) {
        let p = scratch().join("f.csv");
        std::fs::write(&p, &bytes).unwrap();
        read(&p);
    }

    #[test]
    fn xlsx_reader_survives_any_bytes(bytes in mutated(valid_xlsx())) {
        let p = scratch().join("f.xlsx");
        std::fs::write(&p, &bytes).unwrap();
        read(&p);
    }

    #[test]
    fn parquet_reader_survives_any_bytes(bytes in mutated(valid_parquet())) {
        let p = scratch().join("f.parquet");
        std::fs::write(&p, &bytes).unwrap();
        read(&p);
    }

    #[test]
    fn config_parser_survives_any_text(text in prop_oneof![
        "\\[(matching|columns|severity|expected_fields)\\]\n[a-z_\"]{1,20} = (-?[0-9.]{1,6}|\"[a-z.*]{0,12}\"|\\[\\]|true)\n",
        "\\[\\[thresholds\\]\\]\nrule = \"[a-z.*]{0,15}\"\n(max_percent|max_findings|max_new) = -?[0-9.e]{1,8}\n",
        any::<String>(),
    ]) {
        let p = scratch().join("c.toml");
        std::fs::write(&p, &text).unwrap();
        if let Err(e) = Config::load(&p) {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
    }
}

/// The harness starts from files the readers accept: the mutations are of real inputs.
#[test]
fn the_unmutated_files_read_as_two_residents() {
    for (name, bytes) in [
        ("base.csv", valid_csv()),
        ("base.xlsx", valid_xlsx()),
        ("base.parquet", valid_parquet()),
    ] {
        let p = scratch().join(name);
        std::fs::write(&p, bytes).unwrap();
        let mut warnings = Vec::new();
        let t = read_source(
            "residents",
            SourceKind::Residents,
            &[p],
            &Config::default(),
            &mut warnings,
        )
        .unwrap();
        assert_eq!(t.len(), 2, "{name}");
    }
}
