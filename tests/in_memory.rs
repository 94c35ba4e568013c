//! `check` on sources handed over in memory as Arrow batches (what the Python package does
//! with pyarrow, pandas, polars or DuckDB tables): the same findings, pairs and links as from
//! the files, whatever string type the columns arrive in (Utf8, LargeUtf8, Utf8View: Dask and
//! Ray hand strings over as the latter two), and clear errors naming the table.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use lamsach::check::{check as run_check, CheckOptions};
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::PDate;
use lamsach::read::SourceData;

/// A Parquet file's batches, with every text column cast to `text` (and batches of 1 000 rows).
fn batches(path: &Path, text: &DataType) -> SourceData {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(1_000)
        .build()
        .unwrap();
    let mut schema = None;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let (fields, cols): (Vec<Field>, Vec<ArrayRef>) = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                if *f.data_type() == DataType::Utf8 {
                    let cast = arrow_cast::cast(c, text).unwrap();
                    (Field::new(f.name(), text.clone(), true), cast)
                } else {
                    (f.as_ref().clone(), c.clone())
                }
            })
            .unzip();
        let s = Arc::new(Schema::new(fields));
        out.push(RecordBatch::try_new(s.clone(), cols).unwrap());
        schema = Some(s);
    }
    SourceData::Batches(schema.unwrap(), out)
}

fn options(out: &Path) -> CheckOptions {
    CheckOptions::new(PDate::new(2026, 1, 1), out.to_path_buf())
}

/// Findings, duplicate pairs and links, as sets of rows.
type Outputs = (
    BTreeSet<Vec<String>>,
    BTreeSet<Vec<String>>,
    BTreeSet<Vec<String>>,
);

fn outputs(dir: &Path) -> Outputs {
    let set = |file: &str, cols: &[&str]| rows(&dir.join(file), cols).into_iter().collect();
    (
        set(
            "findings.parquet",
            &["source", "record_id", "rule", "field", "related_record_id"],
        ),
        set("duplicates.parquet", &["record_id_a", "record_id_b"]),
        set(
            "links.parquet",
            &["source", "record_id", "resident_record_id"],
        ),
    )
}

#[test]
fn tables_in_memory_give_the_outputs_of_their_files() {
    let dir = scratch("in_memory");
    let data = dir.join("data");
    generate(&data, 5000, 4, &[]);
    let files = dir.join("files");
    let o = check(
        &[
            ("residents", &data.join("residents.parquet")),
            ("vaccination", &data.join("vaccination.parquet")),
            ("deaths", &data.join("deaths.parquet")),
        ],
        &files,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = outputs(&files);
    let sizes = (expected.0.len(), expected.1.len(), expected.2.len());
    assert!(sizes.0 > 300 && sizes.1 > 30 && sizes.2 > 20, "{sizes:?}");

    for text in [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View] {
        let out = dir.join(format!("memory-{text}"));
        let mut opts = options(&out);
        opts.tables = vec![
            (
                "residents".into(),
                SourceKind::Residents,
                batches(&data.join("residents.parquet"), &text),
            ),
            (
                "vaccination".into(),
                SourceKind::Vaccination,
                batches(&data.join("vaccination.parquet"), &text),
            ),
            (
                "deaths".into(),
                SourceKind::Deaths,
                batches(&data.join("deaths.parquet"), &text),
            ),
        ];
        run_check(&opts).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got = outputs(&out);
        assert!(
            got == expected,
            "{text}: the outputs differ from the files'"
        );
    }
}

#[test]
fn a_table_in_memory_without_a_required_column_is_named() {
    let dir = scratch("in_memory_bad");
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, true),
        Field::new("full_name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(arrow_array::StringArray::from(vec!["A1"])) as ArrayRef,
            Arc::new(arrow_array::StringArray::from(vec!["Lê Văn An"])) as ArrayRef,
        ],
    )
    .unwrap();
    let mut opts = options(&dir.join("out"));
    opts.tables = vec![(
        "residents".into(),
        SourceKind::Residents,
        SourceData::Batches(schema, vec![batch]),
    )];
    let err = run_check(&opts).err().expect("refused").to_string();
    assert!(err.contains("the residents table"), "{err}");
    assert!(err.contains("birth_date"), "{err}");
    assert!(!err.contains("Lê Văn An"), "{err}");
}

/// The per-row rules as a kernel over batches (what Spark's mapInArrow runs on each
/// partition): every finding is one the whole check reports, and a table split in two gives
/// the findings of the whole.
#[test]
fn per_row_rules_on_batches_are_the_checks_own() {
    let dir = scratch("in_memory_rules");
    let data = dir.join("data");
    generate(&data, 3000, 6, &[]);
    let whole = dir.join("whole");
    let o = check(
        &[("residents", &data.join("residents.parquet"))],
        &whole,
        &["--as-of", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let cols = ["record_id", "rule", "field", "value", "suggestion"];
    let expected: BTreeSet<Vec<String>> = rows(&whole.join("findings.parquet"), &cols)
        .into_iter()
        .collect();
    let SourceData::Batches(schema, batches) =
        batches(&data.join("residents.parquet"), &DataType::Utf8)
    else {
        unreachable!()
    };
    let kernel = |part: &[RecordBatch]| -> BTreeSet<Vec<String>> {
        let (_, out) = lamsach::kernels::record_rules(
            "residents",
            SourceKind::Residents,
            &SourceData::Batches(schema.clone(), part.to_vec()),
            PDate::new(2026, 1, 1),
            &Config::default(),
            &mut Vec::new(),
        )
        .unwrap();
        out.iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    cols.iter()
                        .map(|c| {
                            let a = b.column_by_name(c).unwrap();
                            let s = a
                                .as_any()
                                .downcast_ref::<arrow_array::StringArray>()
                                .unwrap();
                            if s.is_null(r) {
                                String::new()
                            } else {
                                s.value(r).to_string()
                            }
                        })
                        .collect()
                })
            })
            .collect()
    };
    let all = kernel(&batches);
    let rules: BTreeSet<&str> = all.iter().map(|f| f[1].as_str()).collect();
    assert!(
        all.len() > 20 && rules.len() >= 6,
        "{} findings of {rules:?}",
        all.len()
    );
    let missing: Vec<_> = all.difference(&expected).take(5).collect();
    assert!(missing.is_empty(), "not reported by check: {missing:?}");
    let half = batches.len() / 2;
    let mut split = kernel(&batches[..half]);
    split.extend(kernel(&batches[half..]));
    assert_eq!(split, all, "a table split in two");
}
