//! The communes' fix lists of a distributed check (`lamsach::kernels::fixlist`), laid out
//! from the run's output tables and its sources' records as a driver that never ran `check`
//! holds them, are the command line's lists byte for byte: the same communes, rows, cells,
//! order and sheets.

mod common;

use std::path::Path;

use arrow_array::RecordBatch;
use common::*;
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::PDate;
use lamsach::kernels::fixlist::{write_fixlists, RunTables};
use lamsach::read::SourceData;

fn batches(path: &Path) -> Vec<RecordBatch> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn fix_lists_from_the_outputs_are_the_command_lines() {
    let dir = scratch("distributed-fixlists");
    let (data, cli, out) = (dir.join("data"), dir.join("cli"), dir.join("out"));
    generate(
        &data,
        3000,
        11,
        &["--dup-rate", "0.08", "--error-rate", "0.05"],
    );
    let o = check_generated(&data, &cli, &[]);
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    let read = |name: &str| batches(&cli.join(format!("{name}.parquet")));
    let (findings, duplicates, review) = (read("findings"), read("duplicates"), read("review"));
    let (clusters, links) = (read("clusters"), read("links"));
    // The sources in check's order, residents first.
    let sources = [
        ("residents", SourceKind::Residents),
        ("vaccination", SourceKind::Vaccination),
        ("insurance", SourceKind::Insurance),
        ("births", SourceKind::Births),
    ]
    .map(|(name, kind)| {
        let file = data.join(format!("{name}.parquet"));
        (name.to_string(), kind, SourceData::Files(vec![file]))
    })
    .to_vec();
    let run = RunTables {
        sources,
        findings: &findings,
        duplicates: &duplicates,
        review: &review,
        clusters: &clusters,
        links: &links,
    };
    let written =
        write_fixlists(&out, run, PDate::new(2026, 1, 1), &Config::default()).expect("fix lists");
    let mut expected: Vec<String> = std::fs::read_dir(cli.join("fixlists"))
        .unwrap()
        .map(|e| format!("fixlists/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    expected.sort();
    let mut written = written;
    written.sort();
    assert_eq!(written, expected);
    assert!(expected.len() > 20, "{} fix lists", expected.len());
    let mut duplicate_rows = 0;
    for name in &expected {
        let (got, want) = (
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(cli.join(name)).unwrap(),
        );
        assert!(got == want, "{name} differs from the command line's");
        if name.ends_with(".csv") {
            duplicate_rows += String::from_utf8_lossy(&want).matches("dup.").count();
        }
    }
    // The lists hold duplicates to decide on (with their record to keep and match reasons).
    assert!(duplicate_rows > 50, "{duplicate_rows} duplicate rows");
}
