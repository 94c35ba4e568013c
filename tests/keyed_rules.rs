//! The rules across rows and sources checked part by part, as a driver that never holds the
//! whole input does it (Spark, partition by partition): every source's rows split by their
//! key for each `RuleKey`, each part checked on its own, give the findings `check` gives the
//! whole input — and the per-row rules, batch by batch, the rest of its rule findings.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use arrow_array::{BooleanArray, RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use common::*;
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::PDate;
use lamsach::kernels::{key_part, keyed_rules, record_rules, rule_keys};
use lamsach::read::SourceData;
use lamsach::rules::RuleKey;

const COLUMNS: [&str; 14] = [
    "source",
    "record_id",
    "province_code",
    "commune_code",
    "group",
    "rule",
    "field",
    "value",
    "suggestion",
    "related_record_id",
    "score",
    "related_source",
    "note",
    "severity",
];

/// The findings of the matching phase (pairs, links and what rests on them — a death
/// registered without an ID and linked by name carries the link's score): not rules.
fn from_matching(row: &[String]) -> bool {
    let (rule, score) = (row[5].as_str(), row[10].as_str());
    rule.starts_with("dup.")
        || rule.starts_with("link.")
        || rule.starts_with("birth.")
        || rule == "id.shared"
        || rule == "alive.probably_deceased"
        || (rule == "alive.deceased_active" && !score.is_empty())
}

fn whole(path: &Path) -> RecordBatch {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn one(batch: &RecordBatch) -> SourceData {
    SourceData::Batches(batch.schema(), vec![batch.clone()])
}

/// Findings batches as rows of text, through a Parquet file (read back as outputs are).
fn found(dir: &Path, name: &str, schema: SchemaRef, batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let path = dir.join(format!("{name}.parquet"));
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    rows(&path, &COLUMNS)
}

#[test]
fn rules_checked_key_by_key_give_the_findings_of_the_whole_input() {
    let dir = scratch("keyed_rules");
    let data = dir.join("data");
    generate(&data, 6000, 11, &[]);
    let out = dir.join("check");
    let o = check_generated(&data, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want: BTreeSet<Vec<String>> = rows(&out.join("findings.parquet"), &COLUMNS)
        .into_iter()
        .filter(|r| !from_matching(r))
        .collect();

    let config = Config::default();
    let as_of = PDate::new(2026, 1, 1);
    let sources: Vec<(&str, SourceKind, RecordBatch)> = [
        ("residents", SourceKind::Residents),
        ("vaccination", SourceKind::Vaccination),
        ("insurance", SourceKind::Insurance),
        ("births", SourceKind::Births),
        ("cmnd_map", SourceKind::CmndMap),
        ("deaths", SourceKind::Deaths),
    ]
    .into_iter()
    .map(|(name, kind)| (name, kind, whole(&data.join(format!("{name}.parquet")))))
    .collect();

    let mut got: Vec<Vec<String>> = Vec::new();
    // The per-row rules, on batches of 700 rows.
    for (name, kind, batch) in &sources {
        if matches!(kind, SourceKind::CmndMap | SourceKind::Deaths) {
            continue;
        }
        for start in (0..batch.num_rows()).step_by(700) {
            let part = batch.slice(start, 700.min(batch.num_rows() - start));
            let (schema, batches) =
                record_rules(name, *kind, &one(&part), as_of, &config, &mut Vec::new()).unwrap();
            got.extend(found(&dir, "part", schema, &batches));
        }
    }
    // The rules across rows, each key's rows in one of three parts, every part alone.
    const PARTS: u32 = 3;
    let mut per_key = Vec::new();
    for key in RuleKey::ALL {
        let keys: Vec<Vec<Option<u64>>> = sources
            .iter()
            .map(|(name, kind, batch)| {
                let mut keys =
                    rule_keys(name, *kind, &one(batch), &[key], &config, &mut Vec::new()).unwrap();
                keys.pop().unwrap()
            })
            .collect();
        let mut findings = 0;
        for part in 0..PARTS {
            let tables: Vec<(String, SourceKind, SourceData)> = sources
                .iter()
                .zip(&keys)
                .map(|((name, kind, batch), keys)| {
                    let mask: BooleanArray = keys
                        .iter()
                        .map(|k| Some(k.is_some_and(|k| key_part(k, PARTS) == part)))
                        .collect();
                    let rows = arrow_select::filter::filter_record_batch(batch, &mask).unwrap();
                    (name.to_string(), *kind, one(&rows))
                })
                .collect();
            let (schema, batches) =
                keyed_rules(&tables, key, as_of, &config, &mut Vec::new()).unwrap();
            let rows = found(&dir, "part", schema, &batches);
            findings += rows.len();
            got.extend(rows);
        }
        per_key.push((key.name(), findings));
    }
    // Every key's rules fire on this data.
    for (key, n) in &per_key {
        assert!(*n > 20, "{key}: only {n} findings ({per_key:?})");
    }
    let got_set: BTreeSet<Vec<String>> = got.iter().cloned().collect();
    assert_eq!(got.len(), got_set.len(), "a finding was given twice");
    let missing: Vec<_> = want.difference(&got_set).take(5).collect();
    let extra: Vec<_> = got_set.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} of {} findings missing, {} extra; e.g. missing {missing:?}, extra {extra:?}",
        want.difference(&got_set).count(),
        want.len(),
        got_set.difference(&want).count()
    );
}
