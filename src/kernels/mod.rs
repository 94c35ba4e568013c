//! Kernels over Arrow batches for drivers outside this binary (the Python package; Spark's
//! `mapInArrow`, which hands one partition's batches at a time): no file is read or written.

pub mod fixlist;
pub mod link;
pub mod summary;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::config::Config;
use crate::core::{CheckInput, Context, Prepared, SourceKind, Table};
use crate::dates::PDate;
use crate::error::Result;
use crate::read::{read_data, SourceData, Warnings};
use crate::report::tables::{findings_batches, findings_schema};
use crate::report::view::Extras;
use crate::rules::RuleKey;

/// A part of a source read as `check` reads the source, its rows numbered `rows` (one per
/// record): what the per-row kernels of the distributed drivers start from.
pub(crate) fn read_numbered(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    rows: &[i64],
    config: &Config,
) -> Result<Table> {
    let t = read_data(name, kind, data, config, &mut Warnings::new())?;
    if t.len() != rows.len() {
        return Err(crate::error::Error::Internal(format!(
            "a part of {name} came with row numbers of another length than its records"
        )));
    }
    Ok(t)
}

/// A column's cells as text, as the engine reads them (trimmed; "" when absent), for the
/// `n` rows of its table.
pub(crate) fn text_column(c: &crate::core::Col, n: usize) -> arrow_array::ArrayRef {
    std::sync::Arc::new(arrow_array::StringArray::from_iter_values(
        (0..n).map(|i| c.get(i)),
    ))
}

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
    let tables = with_residents(vec![table]);
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let input = CheckInput::new(
        &tables,
        &prepared,
        context(&tables, None, None, as_of, config),
    );
    let findings = crate::rules::run_record_rules(&input);
    findings_out(findings, &input, config)
}

/// The key of every row of one source's table (or of `--cmnd-map` or `--deaths`) for the
/// whole-source rules keyed by each of `keys` (one vector per key), or `None` for a row those
/// rules never look at. The rows of one key, from every source, checked by [`keyed_rules`],
/// get the findings the whole input gives them (see [`RuleKey`]).
pub fn rule_keys(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    keys: &[RuleKey],
    config: &Config,
    warnings: &mut Warnings,
) -> Result<Vec<Vec<Option<u64>>>> {
    let table = read_data(name, kind, data, config, warnings)?;
    if matches!(kind, SourceKind::CmndMap | SourceKind::Deaths) {
        return Ok(keys
            .iter()
            .map(|k| {
                (0..table.len())
                    .map(|r| k.of_reference(&table, r))
                    .collect()
            })
            .collect());
    }
    let tables = with_residents(vec![table]);
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    // The keys do not depend on the date.
    let ctx = context(&tables, None, None, PDate::new(2000, 1, 1), config);
    let input = CheckInput::new(&tables, &prepared, ctx);
    let s = tables.len() - 1;
    Ok(keys
        .iter()
        .map(|k| {
            (0..tables[s].len())
                .map(|r| k.of_row(&input, s, r))
                .collect()
        })
        .collect())
}

/// The part (of `parts`) a key's rows go to: its 64 bits mixed, so that IDs and codes spread
/// evenly.
pub fn key_part(key: u64, parts: u32) -> u32 {
    (crate::core::hash::mix(&[key]) % parts.max(1) as u64) as u32
}

/// The findings of the whole-source rules keyed by `key` over the rows of some of its keys,
/// from every source (each source's table with its own columns; a source with no row of those
/// keys may be left out; `--cmnd-map` and `--deaths` as sources of those kinds), as `findings.parquet`
/// rows. Given every row of each key it covers, in the input's order, it gives those rows the
/// findings `check` gives them.
pub fn keyed_rules(
    sources: &[(String, SourceKind, SourceData)],
    key: RuleKey,
    as_of: PDate,
    config: &Config,
    warnings: &mut Warnings,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (mut tables, mut cmnd_map, mut deaths) = (Vec::new(), None, None);
    for (name, kind, data) in sources {
        let t = read_data(name, *kind, data, config, warnings)?;
        match kind {
            SourceKind::CmndMap => cmnd_map = Some(t),
            SourceKind::Deaths => deaths = Some(t),
            _ => tables.push(t),
        }
    }
    tables.sort_by_key(|t| t.kind != SourceKind::Residents);
    let tables = with_residents(tables);
    let prepared: Vec<Prepared> = tables.iter().map(Prepared::new).collect();
    let ctx = context(&tables, cmnd_map.as_ref(), deaths.as_ref(), as_of, config);
    let input = CheckInput::new(&tables, &prepared, ctx);
    findings_out(crate::rules::run_keyed_rules(&input, key), &input, config)
}

/// The sources with the residents first: an empty register when none is given.
fn with_residents(mut tables: Vec<Table>) -> Vec<Table> {
    if tables
        .first()
        .is_none_or(|t| t.kind != SourceKind::Residents)
    {
        tables.insert(
            0,
            Table::from_columns("residents", SourceKind::Residents, Vec::new()),
        );
    }
    tables
}

pub(crate) fn context<'a>(
    tables: &[Table],
    cmnd_map: Option<&'a Table>,
    deaths: Option<&'a Table>,
    as_of: PDate,
    config: &Config,
) -> Context<'a> {
    Context {
        cmnd_map,
        deaths,
        as_of,
        province: None,
        matching: config.matching,
        alive: config.alive,
        residence: config.residence.clone(),
        expected: tables
            .iter()
            .map(|t| config.expected_fields_for(&t.name, t.kind))
            .collect(),
    }
}

/// Findings as `findings.parquet` rows (without the sources' extra columns: a part of the
/// input does not know every source's), in the engine's order.
fn findings_out(
    mut findings: Vec<crate::core::Finding>,
    input: &CheckInput,
    config: &Config,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let open = vec![false; findings.len()];
    let batches = findings_batches(&findings, &open, input, config, &Extras::none())?;
    Ok((findings_schema(), batches))
}
