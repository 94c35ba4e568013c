//! The communes' fix lists of a distributed check (`lamsach::kernels::fixlist`), laid out
//! from the run's output tables and its sources' records as a driver that never ran `check`
//! holds them, are the command line's lists byte for byte: the same communes, rows, cells,
//! order and sheets; the findings, pairs and clusters it writes again are check's tables.
//! With a previous run and returned verdicts, the tables these change (findings with their
//! status, resolved, pairs, clusters, review, verdicts) are the command line's too.

mod common;

use std::path::Path;

use arrow_array::RecordBatch;
use common::*;
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::PDate;
use lamsach::kernels::fixlist::{write_fixlists, Nightly, RunTables};
use lamsach::read::SourceData;

/// The sources of a generated data set in check's order, residents first.
fn sources(data: &Path) -> Vec<(String, SourceKind, SourceData)> {
    [
        ("residents", SourceKind::Residents),
        ("vaccination", SourceKind::Vaccination),
        ("insurance", SourceKind::Insurance),
        ("births", SourceKind::Births),
    ]
    .map(|(name, kind)| {
        let file = data.join(format!("{name}.parquet"));
        (name.to_string(), kind, SourceData::Files(vec![file]))
    })
    .to_vec()
}

/// The fix lists of two run directories are the same files, byte for byte; how many.
fn same_fixlists(got: &Path, want: &Path) -> usize {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d.join("fixlists"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let expected = names(want);
    assert_eq!(names(got), expected);
    for name in &expected {
        let rel = format!("fixlists/{name}");
        let same =
            std::fs::read(got.join(&rel)).unwrap() == std::fs::read(want.join(&rel)).unwrap();
        assert!(same, "{rel} differs from the command line's");
    }
    expected.len()
}

/// A run's Parquet table `name`, its row groups joined.
fn whole(dir: &Path, name: &str) -> RecordBatch {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let path = dir.join(format!("{name}.parquet"));
    let file = std::fs::File::open(&path).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .schema()
        .clone();
    arrow_select::concat::concat_batches(&schema, &batches(&path)).unwrap()
}

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
    let run = RunTables {
        sources: sources(&data),
        findings: &findings,
        duplicates: &duplicates,
        review: &review,
        clusters: &clusters,
        links: &links,
    };
    let (written, _) = write_fixlists(
        &out,
        run,
        PDate::new(2026, 1, 1),
        &Config::default(),
        &Nightly::default(),
    )
    .expect("fix lists");
    let mut lists: Vec<String> = std::fs::read_dir(cli.join("fixlists"))
        .unwrap()
        .map(|e| format!("fixlists/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert!(lists.len() > 20, "{} fix lists", lists.len());
    // The tables the step writes again are check's: findings in its order, with their extra
    // columns, and the pairs and clusters.
    let tables = ["findings", "resolved", "duplicates", "clusters", "review"];
    for t in tables {
        assert!(
            whole(&out, t) == whole(&cli, t),
            "{t}.parquet differs from the command line's"
        );
    }
    let mut expected = lists.clone();
    expected.extend(tables.map(|t| format!("{t}.parquet")));
    expected.sort();
    let mut written = written;
    written.sort();
    assert_eq!(written, expected);
    lists.sort();
    let mut duplicate_rows = 0;
    for name in &lists {
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

#[test]
fn a_second_night_from_the_outputs_is_the_command_lines() {
    let dir = scratch("distributed-nightly");
    let (first, tonight) = (dir.join("data1"), dir.join("data2"));
    // The same people both nights; tonight's data has fewer errors (some were fixed) and others.
    let extra = |rate| ["--dup-rate", "0.08", "--error-rate", rate];
    generate(&first, 3000, 12, &extra("0.05"));
    generate(&tonight, 3000, 12, &extra("0.03"));
    let (night1, raw, cli, out) = (
        dir.join("night1"),
        dir.join("raw"),
        dir.join("cli"),
        dir.join("out"),
    );
    let o = check_generated(&first, &night1, &[]);
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    // Tonight's outputs as a distributed run holds them before the last step: no previous run.
    let o = check_generated(&tonight, &raw, &[]);
    assert!(o.status.success(), "check failed: {}", stderr(&o));
    // Returned verdicts: three findings are not errors, two duplicate pairs are two people.
    let found = rows(
        &raw.join("findings.parquet"),
        &["source", "record_id", "rule", "related_record_id"],
    );
    let mut verdicts = String::from("source,record_id,rule,related_record_id,verdict\n");
    let dups = found.iter().filter(|f| f[2] == "dup.in_province").take(2);
    let alone = found
        .iter()
        .filter(|f| f[3].is_empty() && f[0] == "residents")
        .take(3);
    for (f, verdict) in dups
        .map(|f| (f, "Không trùng"))
        .chain(alone.map(|f| (f, "Không phải lỗi")))
    {
        verdicts += &format!("{},{},{},{},{verdict}\n", f[0], f[1], f[2], f[3]);
    }
    let returned = dir.join("returned.csv");
    std::fs::write(&returned, verdicts).unwrap();
    let (n1, ret) = (night1.to_str().unwrap(), returned.to_str().unwrap());
    // The same model as the raw run's: estimated again.
    let o = check_generated(
        &tonight,
        &cli,
        &["--previous", n1, "--verdicts", ret, "--retrain"],
    );
    assert!(o.status.success(), "check failed: {}", stderr(&o));

    let read = |name: &str| batches(&raw.join(format!("{name}.parquet")));
    let (findings, duplicates, review) = (read("findings"), read("duplicates"), read("review"));
    let (clusters, links) = (read("clusters"), read("links"));
    let run = RunTables {
        sources: sources(&tonight),
        findings: &findings,
        duplicates: &duplicates,
        review: &review,
        clusters: &clusters,
        links: &links,
    };
    let previous = lamsach::nightly::load_previous(&night1).unwrap();
    let nightly = Nightly {
        previous: Some(&previous),
        verdicts: std::slice::from_ref(&returned),
    };
    let (_, finished) = write_fixlists(
        &out,
        run,
        PDate::new(2026, 1, 1),
        &Config::default(),
        &nightly,
    )
    .expect("fix lists");
    let all = |d: &Path, name: &str, cols: &[&str]| {
        let mut r = rows(&d.join(format!("{name}.parquet")), cols);
        r.sort();
        r
    };
    let tables: [(&str, &[&str]); 6] = [
        (
            "findings",
            &[
                "source",
                "record_id",
                "rule",
                "field",
                "related_record_id",
                "status",
            ],
        ),
        ("resolved", &["source", "record_id", "rule", "field"]),
        (
            "duplicates",
            &["record_id_a", "record_id_b", "cluster_id", "evidence"],
        ),
        ("clusters", &["source", "record_id", "cluster_id", "keep"]),
        ("review", &["rule", "record_id_a", "record_id_b", "reason"]),
        ("verdicts", &["source", "record_id", "rule", "verdict"]),
    ];
    for (name, cols) in tables {
        assert!(
            all(&out, name, cols) == all(&cli, name, cols),
            "{name}.parquet differs from the command line's"
        );
    }
    assert!(same_fixlists(&out, &cli) > 20);
    // What a second night is for: findings open and new, resolved ones, verdicts applied.
    let status = all(&out, "findings", &["status"]);
    let open = status.iter().filter(|s| s[0] == "open").count();
    let resolved = all(&out, "resolved", &["record_id"]).len();
    assert!(open > 100 && status.len() - open > 10, "{open} open");
    assert!(resolved > 10, "{resolved} resolved");
    assert_eq!(finished.verdicts.read, 5);
    assert!(finished.verdicts.findings_withdrawn >= 5);
    assert_eq!(
        finished.pairs,
        all(&cli, "duplicates", &["record_id_a"]).len()
    );
}
