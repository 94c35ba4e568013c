//! The summary of a distributed `check` (summary.json, report.html): what the command line's
//! [`crate::report::summary`] counts, from the figures the driver gathered — each source's rows
//! per commune, the vaccination rows' people, the split of the extracts indicators (6) and (7)
//! count — and the run's findings as `findings.parquet` holds them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::builder::Int64Builder;
use arrow_array::{Array, Int64Array, Int8Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Deserialize;

use crate::config::Config;
use crate::core::hash::h64;
use crate::core::{Column, Prepared, Rule, SourceKind};
use crate::dedup::parts::{column, model_of};
use crate::error::{Error, Result};
use crate::nightly::{FindingKey, Previous};
use crate::read::{read_data, SourceData, Warnings};
use crate::report::indicators::{named_person, People, Person};
use crate::report::summary::{self, Counted, RunFacts, SourceRows, Tally};
use crate::summary::{DuplicateStats, LinkingStat, SourceSplit, VerdictStats};

/// The columns of [`commune_rows`].
pub fn commune_rows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("commune_code", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
    ]))
}

/// A source's rows per commune code (as the source writes it, trimmed): the records each
/// commune's figures are over.
pub fn commune_rows(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    config: &Config,
) -> Result<RecordBatch> {
    let t = read_data(name, kind, data, config, &mut Warnings::new())?;
    let communes = t.column(Column::CommuneCode);
    let mut per: BTreeMap<&str, i64> = BTreeMap::new();
    for r in 0..t.len() {
        *per.entry(communes.get(r)).or_default() += 1;
    }
    RecordBatch::try_new(
        commune_rows_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(per.keys())),
            Arc::new(Int64Array::from_iter_values(per.values().copied())),
        ],
    )
    .map_err(Error::internal)
}

/// The columns of [`person_rows`].
pub fn person_rows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int64, false),
        Field::new("record_id", DataType::Utf8, false),
        Field::new("pid", DataType::Int64, true),
        Field::new("named", DataType::Int64, false),
        Field::new("data_source", DataType::Utf8, false),
    ]))
}

/// Per row of a source (numbered `rows`): its record_id, its well-formed personal ID, the
/// person its name and birth date name ([`named_person`]) and its `data_source` — what the
/// vaccination indicators count people by and indicators (6) and (7) split rows by.
pub fn person_rows(
    name: &str,
    kind: SourceKind,
    data: &SourceData,
    rows: &[i64],
    config: &Config,
) -> Result<RecordBatch> {
    let t = super::read_numbered(name, kind, data, rows, config)?;
    let prepared = Prepared::new(&t);
    let (ids, names) = (t.column(Column::RecordId), t.column(Column::FullName));
    let (births, sources) = (t.column(Column::BirthDate), t.column(Column::DataSource));
    let n = t.len();
    let mut pid = Int64Builder::with_capacity(n);
    let mut named = Int64Builder::with_capacity(n);
    for r in 0..n {
        let facts = prepared.rows[r];
        pid.append_option(facts.pid.is_valid().then_some(facts.pid.value as i64));
        named.append_value(named_person(names.get(r), births.get(r)) as i64);
    }
    let text = |c: &crate::core::Col| super::text_column(c, n);
    RecordBatch::try_new(
        person_rows_schema(),
        vec![
            Arc::new(Int64Array::from(rows.to_vec())),
            text(&ids),
            Arc::new(pid.finish()),
            Arc::new(named.finish()),
            text(&sources),
        ],
    )
    .map_err(Error::internal)
}

/// What the driver measured for the summary beyond the findings.
#[derive(Deserialize)]
pub struct Figures {
    pub as_of: String,
    /// Rows read of the reference inputs (`cmnd_map`, `deaths`).
    #[serde(default)]
    pub reference_rows: Vec<(String, usize)>,
    /// Per commune: the checked sources' rows there ([`commune_rows`], summed).
    pub commune_rows: BTreeMap<String, usize>,
    /// The people among every row of the sources counted by person.
    #[serde(default)]
    pub people_evaluated: usize,
    #[serde(default)]
    pub splits: Vec<SourceSplit>,
    pub duplicates: DuplicateStats,
    /// The iterations EM took (model.json does not keep them).
    #[serde(default)]
    pub em_iterations: usize,
    pub linking: BTreeMap<String, LinkingStat>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub timings_seconds: BTreeMap<String, f64>,
    /// What the officers' verdicts did ([`super::fixlist::Finished`]).
    #[serde(default)]
    pub verdicts: VerdictStats,
}

/// summary.json of a distributed `check`: its `sources` (name, kind, rows read, in the run's
/// order), its `findings` (findings.parquet's batches), the people of its flagged rows of the
/// sources counted by person (`people`: `source`, `record_id`, `kind`, `value`; see
/// [`crate::report::indicators::person`]), the driver's `figures` (JSON of [`Figures`]) and
/// the matching model (model.json's). With the `previous` run, the findings it had that no
/// longer fire are counted as resolved and its indicators are set beside this run's. Returns
/// the summary, as the command line makes it.
pub fn check_summary(
    sources: &[(String, SourceKind, usize)],
    findings: &[RecordBatch],
    people: &[RecordBatch],
    figures: &str,
    model_json: &str,
    previous: Option<&Previous>,
    config: &Config,
) -> Result<crate::summary::Summary> {
    let mut figures: Figures = serde_json::from_str(figures)
        .map_err(|_| Error::internal("summary figures it cannot read"))?;
    let mut model = model_of(model_json)?;
    model.em_iterations = figures.em_iterations;
    figures.duplicates.model = Some(crate::matching::summarise(&model));
    let index: HashMap<&str, u32> = sources
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| (name.as_str(), i as u32))
        .collect();
    let source_of = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or_else(|| Error::internal("a finding of a source the run did not check"))
    };
    let mut counted = Vec::new();
    let mut now: HashSet<FindingKey> = HashSet::new();
    for b in findings {
        let src = column::<StringArray>(b, "source")?;
        let rec = column::<StringArray>(b, "record_id")?;
        let rule = column::<StringArray>(b, "rule")?;
        let commune = column::<StringArray>(b, "commune_code")?;
        let value = column::<StringArray>(b, "value")?;
        let status = column::<StringArray>(b, "status")?;
        let field = column::<StringArray>(b, "field")?;
        for i in 0..b.num_rows() {
            if previous.is_some() {
                now.insert([src.value(i), rec.value(i), rule.value(i), field.value(i)]);
            }
            counted.push(Counted {
                source: source_of(src.value(i))?,
                record: h64(rec.value(i)),
                rule: Rule::from_code(rule.value(i))
                    .ok_or_else(|| Error::internal("a finding of an unknown rule"))?,
                commune: commune.value(i),
                value: if value.is_null(i) { "" } else { value.value(i) },
                new: status.is_null(i) || status.value(i) != "open",
            });
        }
    }
    let mut of: HashMap<(u32, u64), Person> = HashMap::new();
    for b in people {
        let src = column::<StringArray>(b, "source")?;
        let rec = column::<StringArray>(b, "record_id")?;
        let kind = column::<Int8Array>(b, "kind")?;
        let value = column::<Int64Array>(b, "value")?;
        for i in 0..b.num_rows() {
            let key = (source_of(src.value(i))?, h64(rec.value(i)));
            of.insert(key, (kind.value(i) as u8, value.value(i) as u64));
        }
    }
    let checked: HashSet<&str> = sources.iter().map(|(name, _, _)| name.as_str()).collect();
    let resolved = previous
        .map(|p| crate::nightly::resolved(p, |k| now.contains(k), &checked, None))
        .unwrap_or_default();
    let verdicts = std::mem::take(&mut figures.verdicts);
    let tally = Tally {
        sources: sources
            .iter()
            .map(|(name, kind, rows)| SourceRows {
                name: name.clone(),
                kind: *kind,
                rows: *rows,
                in_scope: *rows,
            })
            .collect(),
        reference_rows: figures.reference_rows,
        findings: counted,
        resolved: &resolved,
        previous,
        commune_rows: figures.commune_rows,
        people: People {
            evaluated: figures.people_evaluated,
            of,
        },
        splits: figures.splits,
        duplicates: figures.duplicates,
        linking: figures.linking,
    };
    let rule_stats = summary::rule_stats(&tally, config);
    let breached = crate::nightly::breached(&config.thresholds, &rule_stats);
    let facts = RunFacts {
        as_of: figures.as_of,
        province: None,
        warnings: &figures.warnings,
        timings: figures.timings_seconds,
        config,
    };
    let mut summary = summary::build(tally, facts, rule_stats, breached);
    summary.verdicts = verdicts;
    Ok(summary)
}
