//! Kernels over Arrow batches for drivers outside this binary (the Python package; Spark's
//! `mapInArrow`, which hands one partition's batches at a time): no file is read or written.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::config::Config;
use crate::core::{CheckInput, Context, Prepared, SourceKind, Table};
use crate::dates::PDate;
use crate::error::Result;
use crate::read::{read_data, SourceData, Warnings};
use crate::report::tables::{findings_batches, findings_schema};
use crate::report::view::Extras;

/// The per-row rules (ID format, dates, names, sex, missing fields…) of one source's rows, as
/// `findings.parquet` rows. Rules that need other rows or sources (households, shared IDs,
/// duplicates, links, deaths) are not per-row and are not run. Every batch may be checked on
/// its own: the findings of a table are those of its batches, in order.
pub fn record_rules(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    as_of: PDate,
    config: &Config,
    warnings: &mut Warnings,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let table = read_data(name, kind, data, config, warnings)?;
    // The engine's sources start with the residents (its ID index is theirs): an extract is
    // checked beside an empty register.
    let tables = if kind == SourceKind::Residents {
        vec![table]
    } else {
        vec![
            Table::from_columns("residents", SourceKind::Residents, Vec::new()),
            table,
        ]
    };
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let ctx = Context {
        cmnd_map: None,
        deaths: None,
        as_of,
        province: None,
        matching: config.matching,
        alive: config.alive,
        residence: config.residence.clone(),
        expected: tables
            .iter()
            .map(|t| config.expected_fields_for(&t.name, t.kind))
            .collect(),
    };
    let input = CheckInput::new(&tables, &prepared, ctx);
    let mut findings = crate::rules::run_record_rules(&input);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let open = vec![false; findings.len()];
    let batches = findings_batches(&findings, &open, &input, config, &Extras::none())?;
    Ok((findings_schema(), batches))
}
