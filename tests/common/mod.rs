//! Helpers shared by the integration tests: run the binary, read outputs back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lamsach::read::read_plain;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lamsach"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run lamsach")
}

/// A fresh scratch directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Rows of a Parquet/CSV file as (column → value) lookups.
pub fn rows(path: &Path, columns: &[&str]) -> Vec<Vec<String>> {
    let t = read_plain(path, "test").expect("readable output");
    (0..t.len())
        .map(|r| {
            columns
                .iter()
                .map(|c| t.col(c).raw(r).to_string())
                .collect()
        })
        .collect()
}

/// Findings as (record_id, rule, field, suggestion).
pub fn findings(dir: &Path) -> Vec<(String, String, String, String)> {
    rows(
        &dir.join("findings.parquet"),
        &["record_id", "rule", "field", "suggestion"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
    .collect()
}

pub fn has(f: &[(String, String, String, String)], record: &str, rule: &str) -> bool {
    f.iter().any(|x| x.0 == record && x.1 == rule)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Generate a small dataset (cached per name within one test binary run).
pub fn generate(dir: &Path, people: usize, seed: u64, extra: &[&str]) {
    let people = people.to_string();
    let seed = seed.to_string();
    let mut args = vec![
        "generate",
        "--out",
        dir.to_str().unwrap(),
        "--people",
        &people,
        "--seed",
        &seed,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "generate failed: {}", stderr(&o));
}

/// Run `check` with `--quiet`: each (flag, file) of `inputs` (e.g. `("residents", path)`),
/// `--out out`, then `extra` arguments (`--as-of`, `--config`…).
pub fn check(inputs: &[(&str, &Path)], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["check".into(), "--quiet".into()];
    for (flag, path) in inputs {
        args.push(format!("--{flag}"));
        args.push(path.to_str().unwrap().into());
    }
    args.push("--out".into());
    args.push(out.to_str().unwrap().into());
    args.extend(extra.iter().map(|a| a.to_string()));
    bin().args(&args).output().expect("run lamsach")
}

/// Run check on a generated dataset.
pub fn check_generated(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let p = |f: &str| data.join(f).to_str().unwrap().to_string();
    let (r, v, i, c, d, b) = (
        p("residents.parquet"),
        p("vaccination.parquet"),
        p("insurance.parquet"),
        p("cmnd_map.parquet"),
        p("deaths.parquet"),
        p("births.parquet"),
    );
    let mut args = vec![
        "check",
        "--residents",
        &r,
        "--vaccination",
        &v,
        "--insurance",
        &i,
        "--cmnd-map",
        &c,
        "--deaths",
        &d,
        "--births",
        &b,
        "--as-of",
        "2026-01-01",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// (source, record_id, rule, related record_id) of a finding.
pub type Key = (String, String, String, String);

/// Every finding of a run as its [`Key`].
pub fn finding_keys(out: &Path) -> std::collections::BTreeSet<Key> {
    rows(
        &out.join("findings.parquet"),
        &["source", "record_id", "rule", "related_record_id"],
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
    .collect()
}

/// Every fix-list row of a run (its CSV files, in name order), with the lists' headers.
pub fn fix_list_rows(out: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers = Vec::new();
    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(out.join("fixlists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        headers = r.headers().unwrap().iter().map(String::from).collect();
        for row in r.records() {
            all.push(row.unwrap().iter().map(String::from).collect());
        }
    }
    (headers, all)
}

/// A Parquet file of `header` and `rows`, every column text: what [`write_csv`] writes, as a
/// Parquet file.
pub fn write_parquet<S: AsRef<str>>(path: &Path, header: &[S], rows: &[Vec<String>]) {
    use std::sync::Arc;
    let fields: Vec<arrow_schema::Field> = header
        .iter()
        .map(|h| arrow_schema::Field::new(h.as_ref(), arrow_schema::DataType::Utf8, true))
        .collect();
    let cols: Vec<arrow_array::ArrayRef> = (0..fields.len())
        .map(|i| {
            let values: Vec<&str> = rows.iter().map(|r| r[i].as_str()).collect();
            Arc::new(arrow_array::StringArray::from(values)) as arrow_array::ArrayRef
        })
        .collect();
    let batch =
        arrow_array::RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols)
            .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A CSV file of `header` and `rows`.
pub fn write_csv<S: AsRef<str>>(path: &Path, header: &[S], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header.iter().map(|h| h.as_ref())).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}
