//! The Python package's native module, `lamsach._lamsach`: the engine's `check` and `dedup`
//! drivers for tables in memory. A table arrives through the Arrow C stream interface
//! (`__arrow_c_stream__`: pyarrow tables and readers, polars and DuckDB results…) without a
//! copy, and the engine runs with the GIL released. Errors keep the engine's plain sentences:
//! bad input or usage is a `ValueError`, anything else a `RuntimeError`.

use std::path::PathBuf;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, RecordBatch};
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table};
use arrow_select::concat::concat_batches;
use lamsach::check::CheckOptions;
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::parse_as_of;
use lamsach::dedup::{parts, DedupOptions};
use lamsach::kernels::link;
use lamsach::kernels::summary as summary_kernels;
use lamsach::read::SourceData;
use lamsach::rules::RuleKey;
use lamsach::Error;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

fn py_err(e: Error) -> PyErr {
    match e {
        Error::Usage(_) | Error::Input { .. } => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

/// A source: a path (str or os.PathLike) is read as a file; anything else must hand its rows
/// over as an Arrow stream.
fn data(obj: &Bound<PyAny>) -> PyResult<SourceData> {
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        return Ok(SourceData::Files(vec![obj.extract::<PathBuf>()?]));
    }
    let table = Table::from_pyarrow_bound(obj).map_err(|e| {
        PyValueError::new_err(format!(
            "a source must be a file path or a table with the Arrow stream interface (pyarrow, polars, DuckDB; pandas through pyarrow.Table.from_pandas): {e}"
        ))
    })?;
    let (batches, schema) = table.into_inner();
    Ok(SourceData::Batches(schema, batches))
}

fn config(path: Option<PathBuf>) -> PyResult<Config> {
    match path {
        Some(p) => Config::load(&p).map_err(py_err),
        None => Ok(Config::default()),
    }
}

/// Run `check` and return summary.json as a string; outputs are written to `out` as by the
/// command line.
#[pyfunction]
#[pyo3(signature = (
    residents, *, out, as_of, vaccination=None, insurance=None, births=None, cmnd_map=None,
    deaths=None, extracts=None, province=None, config_file=None, previous=None, model=None,
    verdicts=None, retrain=false, memory_gb=None
))]
#[allow(clippy::too_many_arguments)]
fn check(
    py: Python<'_>,
    residents: &Bound<PyAny>,
    out: PathBuf,
    as_of: &str,
    vaccination: Option<&Bound<PyAny>>,
    insurance: Option<&Bound<PyAny>>,
    births: Option<&Bound<PyAny>>,
    cmnd_map: Option<&Bound<PyAny>>,
    deaths: Option<&Bound<PyAny>>,
    extracts: Option<&Bound<PyDict>>,
    province: Option<String>,
    config_file: Option<PathBuf>,
    previous: Option<PathBuf>,
    model: Option<PathBuf>,
    verdicts: Option<Vec<PathBuf>>,
    retrain: bool,
    memory_gb: Option<f64>,
) -> PyResult<String> {
    let as_of = as_of_date(as_of)?;
    let memory = memory_gb.map(gigabytes).transpose()?;
    let mut tables = vec![(
        "residents".to_string(),
        SourceKind::Residents,
        data(residents)?,
    )];
    for (name, kind, obj) in [
        ("vaccination", SourceKind::Vaccination, vaccination),
        ("insurance", SourceKind::Insurance, insurance),
        ("births", SourceKind::Births, births),
        ("cmnd_map", SourceKind::CmndMap, cmnd_map),
        ("deaths", SourceKind::Deaths, deaths),
    ] {
        if let Some(obj) = obj {
            tables.push((name.to_string(), kind, data(obj)?));
        }
    }
    if let Some(extracts) = extracts {
        for (name, obj) in extracts.iter() {
            tables.push((name.extract::<String>()?, SourceKind::Extract, data(&obj)?));
        }
    }
    let opts = CheckOptions {
        province,
        config: config(config_file)?,
        previous,
        model,
        verdicts: verdicts.unwrap_or_default(),
        retrain,
        tables,
        memory,
        ..CheckOptions::new(as_of, out)
    };
    opts.validate().map_err(py_err)?;
    let outcome = py.detach(|| lamsach::check::check(&opts)).map_err(py_err)?;
    serde_json::to_string(&outcome.summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// `memory_gb` in bytes, as the command line's `--memory-gb` counts them.
fn gigabytes(memory_gb: f64) -> PyResult<u64> {
    lamsach::machine::budget_bytes(memory_gb)
        .ok_or_else(|| PyValueError::new_err("memory_gb must be a positive number"))
}

/// Run `dedup` (a national register, over spilled partitions) on resident files; returns its
/// summary as a JSON string.
#[pyfunction]
#[pyo3(signature = (residents, *, out, memory_gb=4.0, spill_dir=None, config_file=None))]
fn dedup(
    py: Python<'_>,
    residents: Vec<PathBuf>,
    out: PathBuf,
    memory_gb: f64,
    spill_dir: Option<PathBuf>,
    config_file: Option<PathBuf>,
) -> PyResult<String> {
    let memory = gigabytes(memory_gb)?;
    let opts = DedupOptions {
        residents,
        config: config(config_file)?,
        out,
        spill_dir,
        memory,
        quiet: true,
        group_readable: false,
    };
    let outcome = py.detach(|| lamsach::dedup::dedup(&opts)).map_err(py_err)?;
    serde_json::to_string(&outcome.summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The per-row rules of one source's table (a pyarrow table, or a partition's batches in
/// Spark's `mapInArrow`), as a pyarrow table with the columns of `findings.parquet`.
#[pyfunction]
#[pyo3(signature = (table, *, as_of, source="residents", config_file=None))]
fn rules<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    as_of: &str,
    source: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let as_of = as_of_date(as_of)?;
    let kind = kind_of(source);
    let data = data(table)?;
    let config = config(config_file)?;
    let (schema, batches) = py
        .detach(|| {
            lamsach::kernels::record_rules(source, kind, &data, as_of, &config, &mut Vec::new())
        })
        .map_err(py_err)?;
    table_to_py(py, batches, schema)
}

/// The sources' kinds by their Python names (`extract` for any other name).
const KINDS: [(&str, SourceKind); 7] = [
    ("residents", SourceKind::Residents),
    ("vaccination", SourceKind::Vaccination),
    ("insurance", SourceKind::Insurance),
    ("extract", SourceKind::Extract),
    ("births", SourceKind::Births),
    ("cmnd_map", SourceKind::CmndMap),
    ("deaths", SourceKind::Deaths),
];

/// A source's kind from its name: an extract is any name but the sources' own.
fn kind_of(name: &str) -> SourceKind {
    KINDS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(SourceKind::Extract, |(_, kind)| *kind)
}

fn rule_key(name: &str) -> PyResult<RuleKey> {
    RuleKey::from_name(name).ok_or_else(|| PyValueError::new_err("no such rule key"))
}

/// The keys the rules across rows and sources are checked by, each with the sources (by
/// kind: residents, vaccination, insurance, extract, births, cmnd_map, deaths) whose rows
/// can carry it.
#[pyfunction]
fn rule_key_names() -> Vec<(&'static str, Vec<&'static str>)> {
    RuleKey::ALL
        .iter()
        .map(|k| {
            let reads = KINDS
                .iter()
                .filter(|(_, kind)| k.reads(*kind))
                .map(|(n, _)| *n);
            (k.name(), reads.collect())
        })
        .collect()
}

/// Every rule's code with its indicator group's code, and every group's code, as summary.json
/// counts them (a rule or group with no finding counts 0).
#[pyfunction]
fn rule_codes() -> (Vec<(&'static str, &'static str)>, Vec<&'static str>) {
    use lamsach::core::{Group, Rule};
    let rules = Rule::ALL.iter().map(|r| (r.code(), r.group().code()));
    (
        rules.collect(),
        Group::ALL.iter().map(|g| g.code()).collect(),
    )
}

/// For each of `keys`, the part (of `parts`) each row of one source's table goes to for the
/// rules keyed by it: a pyarrow record batch with one int32 column per key, named by it,
/// null where those rules never look at the row. Rows of one key share a part.
#[pyfunction]
#[pyo3(signature = (table, *, source, keys, parts, config_file=None))]
fn rule_parts<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    source: &str,
    keys: Vec<String>,
    parts: u32,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = keys
        .iter()
        .map(|k| rule_key(k))
        .collect::<PyResult<Vec<_>>>()?;
    let data = data(table)?;
    let config = config(config_file)?;
    let kind = kind_of(source);
    let per_key = py
        .detach(|| {
            lamsach::kernels::rule_keys(source, kind, &data, &keys, &config, &mut Vec::new())
        })
        .map_err(py_err)?;
    let columns: Vec<(&str, ArrayRef, bool)> = keys
        .iter()
        .zip(per_key)
        .map(|(k, v)| {
            let parts: Int32Array = v
                .into_iter()
                .map(|k| k.map(|k| lamsach::kernels::key_part(k, parts) as i32))
                .collect();
            (k.name(), Arc::new(parts) as ArrayRef, true)
        })
        .collect();
    let batch = if columns.is_empty() {
        RecordBatch::new_empty(Arc::new(arrow_schema::Schema::empty()))
    } else {
        RecordBatch::try_from_iter_with_nullable(columns)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
    };
    batch_to_py(py, batch)
}

/// The findings of the rules keyed by `key` over the rows of some of its keys: `sources` is
/// a list of (name, table), each table with its source's columns and its rows in the input's
/// order (a source with no row of those keys may be left out).
#[pyfunction]
#[pyo3(signature = (sources, *, key, as_of, config_file=None))]
fn keyed_rules<'py>(
    py: Python<'py>,
    sources: Vec<(String, Bound<'py, PyAny>)>,
    key: &str,
    as_of: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let key = rule_key(key)?;
    let as_of = as_of_date(as_of)?;
    let config = config(config_file)?;
    let sources = sources
        .iter()
        .map(|(name, table)| Ok((name.clone(), kind_of(name), data(table)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let (schema, batches) = py
        .detach(|| lamsach::kernels::keyed_rules(&sources, key, as_of, &config, &mut Vec::new()))
        .map_err(py_err)?;
    table_to_py(py, batches, schema)
}

/// The schema of `findings.parquet` (what `rules` returns), as a pyarrow schema.
#[pyfunction]
fn findings_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    lamsach::report::tables::findings_schema()
        .as_ref()
        .clone()
        .into_pyarrow(py)
}

/// The date a run is checked as of, or the sentence saying what it takes.
fn as_of_date(as_of: &str) -> PyResult<lamsach::dates::PDate> {
    parse_as_of(as_of)
        .ok_or_else(|| PyValueError::new_err("as_of takes a full date such as 2026-06-30"))
}

/// Batches of one schema as a pyarrow table.
fn table_to_py(
    py: Python<'_>,
    batches: Vec<RecordBatch>,
    schema: arrow_schema::SchemaRef,
) -> PyResult<Bound<'_, PyAny>> {
    Table::try_new(batches, schema)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .into_pyarrow(py)
}

/// One record batch of a pyarrow table (or anything with the Arrow stream interface).
fn one_batch(obj: &Bound<PyAny>) -> PyResult<RecordBatch> {
    let table = Table::from_pyarrow_bound(obj)?;
    let (batches, schema) = table.into_inner();
    concat_batches(&schema, &batches).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn batch_to_py(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    batch.into_pyarrow(py)
}

/// A kernel giving one batch from a part of one source (`source`: its name, which gives its
/// kind), read as `check` reads the source, run without the GIL.
fn source_batch<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    source: &str,
    config_file: Option<PathBuf>,
    kernel: impl FnOnce(SourceKind, &SourceData, &Config) -> Result<RecordBatch, Error> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let data = data(table)?;
    let config = config(config_file)?;
    let kind = kind_of(source);
    let batch = py.detach(|| kernel(kind, &data, &config)).map_err(py_err)?;
    batch_to_py(py, batch)
}

// The summary of the distributed check (`lamsach.spark.check`): see
// `lamsach::kernels::summary`.

/// A part of a source's rows per commune code: a batch of (commune_code, rows).
#[pyfunction]
#[pyo3(signature = (table, *, source, config_file=None))]
fn commune_rows<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    source: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    source_batch(py, table, source, config_file, |kind, data, config| {
        summary_kernels::commune_rows(source, kind, data, config)
    })
}

/// Per row of a part of a source (numbered `rows`): record_id, well-formed personal ID, the
/// person its name and birth date name, data_source.
#[pyfunction]
#[pyo3(signature = (table, rows, *, source, config_file=None))]
fn person_rows<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    rows: Vec<i64>,
    source: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    source_batch(py, table, source, config_file, |kind, data, config| {
        summary_kernels::person_rows(source, kind, data, &rows, config)
    })
}

/// How the summary counts a source's rows beyond records: "people" (the vaccination
/// indicators), "split" (indicators 6 and 7: new entries and matches) or None.
#[pyfunction]
fn counted_by(source: &str) -> Option<&'static str> {
    lamsach::report::indicators::counted_by(source)
}

/// summary.json of a distributed check, as JSON: `sources` (name, rows read) in the run's
/// order, its findings (a findings.parquet table), the people of flagged rows (`source`,
/// `record_id`, `kind` int8, `value` int64), the driver's figures (JSON) and model.json; with
/// `previous` (a former run's output directory), what changed since it.
#[pyfunction]
#[pyo3(signature = (sources, findings, people, figures, model, *, previous=None,
                    config_file=None))]
#[allow(clippy::too_many_arguments)]
fn check_summary(
    py: Python<'_>,
    sources: Vec<(String, usize)>,
    findings: &Bound<PyAny>,
    people: &Bound<PyAny>,
    figures: &str,
    model: &str,
    previous: Option<PathBuf>,
    config_file: Option<PathBuf>,
) -> PyResult<String> {
    let sources: Vec<(String, SourceKind, usize)> = sources
        .into_iter()
        .map(|(name, rows)| {
            let kind = kind_of(&name);
            (name, kind, rows)
        })
        .collect();
    let findings = Table::from_pyarrow_bound(findings)?.into_inner().0;
    let people = Table::from_pyarrow_bound(people)?.into_inner().0;
    let config = config(config_file)?;
    py.detach(|| {
        let previous = previous
            .as_deref()
            .map(lamsach::nightly::load_previous)
            .transpose()?;
        let summary = summary_kernels::check_summary(
            &sources,
            &findings,
            &people,
            figures,
            model,
            previous.as_ref(),
            &config,
        )?;
        lamsach::summary::to_json(&summary)
    })
    .map_err(py_err)
}

/// report.html of a run from its summary.json and its duplicate pairs' probabilities.
#[pyfunction]
fn report_html(py: Python<'_>, summary: &str, probabilities: Vec<f64>) -> PyResult<String> {
    let summary: lamsach::summary::Summary = serde_json::from_str(summary)
        .map_err(|_| PyValueError::new_err("not a summary.json of check"))?;
    Ok(py.detach(|| lamsach::report::html::render(&summary, &probabilities)))
}

/// The communes' fix lists of a distributed check, written into `out` as `check` writes them:
/// `sources` (name, table) holds, residents first and in the run's order, each source's
/// records the outputs name (every column, in the source's order); `findings`, `duplicates`,
/// `review`, `clusters` and `links` are the run's output tables. With `previous` (a former
/// run's output directory) or `verdicts` (returned fix lists or verdict tables), as `check
/// --previous --verdicts` does: the tables they change are written again (findings.parquet
/// with each finding's status, resolved, duplicates, clusters, review, verdicts.parquet).
/// Returns the files written, relative to `out`, and what changed (JSON: the verdicts'
/// figures, the duplicate figures, the warnings).
#[pyfunction]
#[pyo3(signature = (out, sources, findings, duplicates, review, clusters, links, *, as_of,
                    previous=None, verdicts=Vec::new(), config_file=None))]
#[allow(clippy::too_many_arguments)]
fn fixlists(
    py: Python<'_>,
    out: PathBuf,
    sources: Vec<(String, Bound<PyAny>)>,
    findings: &Bound<PyAny>,
    duplicates: &Bound<PyAny>,
    review: &Bound<PyAny>,
    clusters: &Bound<PyAny>,
    links: &Bound<PyAny>,
    as_of: &str,
    previous: Option<PathBuf>,
    verdicts: Vec<PathBuf>,
    config_file: Option<PathBuf>,
) -> PyResult<(Vec<String>, String)> {
    let sources = sources
        .into_iter()
        .map(|(name, table)| {
            let kind = kind_of(&name);
            Ok((name, kind, data(&table)?))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let batches = |t: &Bound<PyAny>| -> PyResult<Vec<RecordBatch>> {
        Ok(Table::from_pyarrow_bound(t)?.into_inner().0)
    };
    let (findings, duplicates, review) =
        (batches(findings)?, batches(duplicates)?, batches(review)?);
    let (clusters, links) = (batches(clusters)?, batches(links)?);
    let as_of = as_of_date(as_of)?;
    let config = config(config_file)?;
    py.detach(|| {
        let previous = previous
            .as_deref()
            .map(lamsach::nightly::load_previous)
            .transpose()?;
        let run = lamsach::kernels::fixlist::RunTables {
            sources,
            findings: &findings,
            duplicates: &duplicates,
            review: &review,
            clusters: &clusters,
            links: &links,
        };
        let nightly = lamsach::kernels::fixlist::Nightly {
            previous: previous.as_ref(),
            verdicts: &verdicts,
        };
        let (files, finished) =
            lamsach::kernels::fixlist::write_fixlists(&out, run, as_of, &config, &nightly)?;
        let finished = serde_json::to_string(&finished).map_err(Error::internal)?;
        Ok((files, finished))
    })
    .map_err(py_err)
}

/// Step 3 of a nightly run: the model reused instead of estimated — the file `model`, else the
/// `previous` run's unless `retrain` — for a register of `records`, as model.json and how it
/// was trained (JSON, as `dedup_train` gives them); None when the run estimates its own.
#[pyfunction]
#[pyo3(signature = (records, *, model=None, previous=None, retrain=false, config_file=None))]
fn dedup_reuse(
    py: Python<'_>,
    records: usize,
    model: Option<PathBuf>,
    previous: Option<PathBuf>,
    retrain: bool,
    config_file: Option<PathBuf>,
) -> PyResult<Option<(String, String)>> {
    let config = config(config_file)?;
    py.detach(|| {
        parts::reuse(
            model.as_deref(),
            retrain,
            previous.as_deref(),
            records,
            &config,
        )
    })
    .map_err(py_err)
}

/// How the model was trained (`dedup_train`'s second answer) with how far the estimated model
/// moved from the `previous` run's.
#[pyfunction]
#[pyo3(signature = (trained, model, previous, *, retrain=false))]
fn dedup_model_change(
    py: Python<'_>,
    trained: &str,
    model: &str,
    previous: PathBuf,
    retrain: bool,
) -> PyResult<String> {
    py.detach(|| parts::model_change(trained, model, &previous, retrain))
        .map_err(py_err)
}

// The steps of the distributed dedup (`lamsach.spark.dedup`), one per function of
// `lamsach::dedup::parts`: see there for what each takes and returns.

/// Step 1: the matching features of a part of the register, its rows numbered `rows`.
#[pyfunction]
#[pyo3(signature = (table, rows, *, config_file=None))]
fn dedup_features<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    rows: Vec<i64>,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = data(table)?;
    let config = config(config_file)?;
    let batch = py
        .detach(|| parts::features(&data, &rows, &config))
        .map_err(py_err)?;
    batch_to_py(py, batch)
}

/// Step 2: the blocks that span birth years, of a partition sorted by (pass, key, probe, row).
#[pyfunction]
#[pyo3(signature = (table, *, config_file=None))]
fn dedup_cross<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let cap = config(config_file)?.matching.max_block_size;
    let out = py.detach(|| parts::cross(&batch, cap)).map_err(py_err)?;
    batch_to_py(py, out)
}

/// The rows of the model's sample, in its order (those `lamsach dedup` samples).
#[pyfunction]
fn dedup_sample_rows<'py>(py: Python<'py>, records: usize) -> PyResult<Bound<'py, PyAny>> {
    let rows = py.detach(|| parts::sample_rows(records));
    let rows: Vec<i64> = rows.into_iter().map(i64::from).collect();
    let batch = RecordBatch::try_from_iter([(
        "row",
        std::sync::Arc::new(arrow_array::Int64Array::from(rows)) as arrow_array::ArrayRef,
    )])
    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    batch_to_py(py, batch)
}

/// Step 3: the model (model.json) and how it was trained, both as JSON.
#[pyfunction]
#[pyo3(signature = (sample, names, members, member_recs, records, *, config_file=None))]
fn dedup_train(
    py: Python<'_>,
    sample: &Bound<PyAny>,
    names: &Bound<PyAny>,
    members: &Bound<PyAny>,
    member_recs: &Bound<PyAny>,
    records: usize,
    config_file: Option<PathBuf>,
) -> PyResult<(String, String)> {
    let (sample, names) = (one_batch(sample)?, one_batch(names)?);
    let (members, member_recs) = (one_batch(members)?, one_batch(member_recs)?);
    let config = config(config_file)?;
    py.detach(|| parts::train(&sample, &names, &members, &member_recs, records, &config))
        .map_err(py_err)
}

/// The shared IDs' blocks training compares (`pass`, `key`), of the ID members.
#[pyfunction]
fn dedup_training_blocks<'py>(
    py: Python<'py>,
    members: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let members = one_batch(members)?;
    let out = py
        .detach(|| parts::training_blocks(&members))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// Step 4: the decided pairs of a partition's birth-year buckets.
#[pyfunction]
#[pyo3(signature = (table, model, wider, records, *, config_file=None))]
fn dedup_match<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    model: &str,
    wider: &Bound<'py, PyAny>,
    records: usize,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let wider = parts::wider_of(&one_batch(wider)?).map_err(py_err)?;
    let config = config(config_file)?;
    let out = py
        .detach(|| parts::match_buckets(&batch, model, &wider, records, &config))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// Step 4 across birth-year buckets: the decided pairs of the blocks that span them.
#[pyfunction]
#[pyo3(signature = (table, model, records, *, config_file=None))]
fn dedup_judge<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    model: &str,
    records: usize,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let config = config(config_file)?;
    let out = py
        .detach(|| parts::judge_pairs(&batch, model, records, &config))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// Step 5: every output of `dedup` in `out`; returns summary.json. `as_check`: the pairs
/// a cluster implies get their per-field levels, and summary.json worked examples, as `check`
/// gives them.
#[pyfunction]
#[pyo3(signature = (
    judged, cross_rows, texts, records, model, trained, *, out, units, buckets,
    config_file=None, as_check=false
))]
#[allow(clippy::too_many_arguments)]
fn dedup_finish(
    py: Python<'_>,
    judged: &Bound<PyAny>,
    cross_rows: &Bound<PyAny>,
    texts: &Bound<PyAny>,
    records: usize,
    model: &str,
    trained: &str,
    out: PathBuf,
    units: usize,
    buckets: usize,
    config_file: Option<PathBuf>,
    as_check: bool,
) -> PyResult<String> {
    let judged = Table::from_pyarrow_bound(judged)?.into_inner().0;
    let (cross_rows, texts) = (one_batch(cross_rows)?, one_batch(texts)?);
    let config = config(config_file)?;
    let partitions = lamsach::summary::Partitions {
        birth_year_buckets: buckets,
        units,
        ..Default::default()
    };
    py.detach(|| {
        parts::finish(
            &judged,
            &cross_rows,
            &texts,
            records,
            model,
            trained,
            partitions,
            &out,
            &config,
            false,
            as_check,
        )
    })
    .map_err(py_err)
}

// The steps of the distributed linking (`lamsach.spark.check`), one per function of
// `lamsach::kernels::link`: see there for what each takes and returns.

/// What linking reads of each row of a part of a source (`source`: its name), numbered `rows`.
#[pyfunction]
#[pyo3(signature = (table, rows, *, source, config_file=None))]
fn link_rows<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    rows: Vec<i64>,
    source: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    source_batch(py, table, source, config_file, |kind, data, config| {
        link::link_rows(source, kind, data, &rows, config)
    })
}

/// A step over one batch: `resident_lookups`, `owed_lookups`, `owed_rows`.
#[pyfunction]
fn link_step<'py>(
    py: Python<'py>,
    step: &str,
    table: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let f = match step {
        "resident_lookups" => link::resident_lookups,
        "owed_lookups" => link::owed_lookups,
        "owed_rows" => link::owed_rows,
        _ => return Err(PyValueError::new_err("no such step")),
    };
    let out = py.detach(|| f(&batch)).map_err(py_err)?;
    batch_to_py(py, out)
}

/// The candidates of owed rows per (pass, key) block, of a partition sorted by pass, key,
/// side and row.
#[pyfunction]
#[pyo3(signature = (table, *, config_file=None))]
fn link_block_candidates<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let cap = config(config_file)?.matching.max_block_size;
    let out = py
        .detach(|| link::block_candidates(&batch, cap))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// Per personal ID: rows found among the residents, owners, births' residents.
#[pyfunction]
fn link_by_id<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    births: Vec<i32>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let out = py.detach(|| link::by_id(&batch, &births)).map_err(py_err)?;
    batch_to_py(py, out)
}

/// Comparisons of sampled rows (with `ids`: `id`, `pid`) or of rows to link (EM), per group,
/// names marked common as `model`'s register counted them.
#[pyfunction]
#[pyo3(signature = (table, model, ids=None))]
fn link_patterns<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    model: &str,
    ids: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let ids = ids.map(one_batch).transpose()?;
    let out = py
        .detach(|| link::patterns(&batch, ids.as_ref(), model))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// A source's calibration as JSON from its sampled rows' patterns; None: calibrate by EM.
#[pyfunction]
#[pyo3(signature = (model, residents, rho, sampled, patterns, owed_rows, *, config_file=None))]
#[allow(clippy::too_many_arguments)]
fn link_calibrate(
    py: Python<'_>,
    model: &str,
    residents: usize,
    rho: f64,
    sampled: usize,
    patterns: &Bound<PyAny>,
    owed_rows: usize,
    config_file: Option<PathBuf>,
) -> PyResult<Option<String>> {
    let patterns = one_batch(patterns)?;
    let config = config(config_file)?;
    py.detach(|| {
        link::calibrate(
            model, residents, rho, sampled, &patterns, owed_rows, &config,
        )
    })
    .map_err(py_err)
}

/// A source's calibration as JSON by EM on its rows' patterns with every candidate.
#[pyfunction]
#[pyo3(signature = (model, residents, sampled, patterns, *, config_file=None))]
fn link_calibrate_by_em(
    py: Python<'_>,
    model: &str,
    residents: usize,
    sampled: usize,
    patterns: &Bound<PyAny>,
    config_file: Option<PathBuf>,
) -> PyResult<String> {
    let patterns = one_batch(patterns)?;
    let config = config(config_file)?;
    py.detach(|| link::calibrate_by_em(model, residents, sampled, &patterns, &config))
        .map_err(py_err)
}

/// Each group's row decided with its source's calibration.
#[pyfunction]
#[pyo3(signature = (table, calibration, *, require_id=true, config_file=None))]
fn link_decide<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    calibration: &str,
    require_id: bool,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = one_batch(table)?;
    let config = config(config_file)?;
    let out = py
        .detach(|| link::decide(&batch, calibration, require_id, &config))
        .map_err(py_err)?;
    batch_to_py(py, out)
}

/// What `check` writes of one source's decisions: its link findings (a pyarrow table of
/// findings.parquet rows) and its rows for review (a batch of review.parquet rows). `rows`
/// holds the decided rows of `source` with their columns, `ids` their decisions' ids;
/// `residents` the residents the decisions name, `resident_rows` their rows.
#[pyfunction]
#[pyo3(signature = (rows, ids, residents, resident_rows, decided, *, source, config_file=None))]
#[allow(clippy::too_many_arguments)]
fn link_outputs<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    ids: Vec<i64>,
    residents: &Bound<'py, PyAny>,
    resident_rows: Vec<i64>,
    decided: &Bound<'py, PyAny>,
    source: &str,
    config_file: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (rows, residents) = (data(rows)?, data(residents)?);
    let decided = one_batch(decided)?;
    let config = config(config_file)?;
    let kind = kind_of(source);
    let (found, review) = py
        .detach(|| {
            link::link_outputs(
                source,
                kind,
                (&rows, &ids),
                (&residents, &resident_rows),
                &decided,
                &config,
            )
        })
        .map_err(py_err)?;
    let found = table_to_py(py, found, lamsach::report::tables::findings_schema())?;
    Ok((found, batch_to_py(py, review)?))
}

/// The birth rules' findings of birth registrations (`births`, in their order) against their
/// residents: `resident` gives per registration its resident's row (or None), `ambiguous`
/// whether it fits several; `residents` holds those residents, `resident_rows` their rows.
#[pyfunction]
#[pyo3(signature = (births, residents, resident_rows, resident, ambiguous, *, as_of, config_file=None))]
#[allow(clippy::too_many_arguments)]
fn birth_findings<'py>(
    py: Python<'py>,
    births: &Bound<'py, PyAny>,
    residents: &Bound<'py, PyAny>,
    resident_rows: Vec<i64>,
    resident: Vec<Option<i64>>,
    ambiguous: Vec<bool>,
    as_of: &str,
    config_file: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let as_of = as_of_date(as_of)?;
    if resident.len() != ambiguous.len() {
        return Err(PyValueError::new_err(
            "resident and ambiguous differ in length",
        ));
    }
    let (births, residents) = (data(births)?, data(residents)?);
    let config = config(config_file)?;
    let found: Vec<(Option<i64>, bool)> = resident.into_iter().zip(ambiguous).collect();
    let batches = py
        .detach(|| {
            link::birth_findings(
                &births,
                (&residents, &resident_rows),
                &found,
                as_of,
                &config,
            )
        })
        .map_err(py_err)?;
    table_to_py(py, batches, lamsach::report::tables::findings_schema())
}

/// The schemas of the distributed linking's steps, by name.
#[pyfunction]
fn link_schema<'py>(py: Python<'py>, step: &str) -> PyResult<Bound<'py, PyAny>> {
    let schema = match step {
        "rows" => link::rows_schema(),
        "lookups" => link::lookups_schema(),
        "candidates" => link::candidates_schema(),
        "by_id" => link::by_id_schema(),
        "owed" => link::owed_schema(),
        "groups" => link::groups_schema(),
        "patterns" => link::patterns_schema(),
        "decided" => link::decided_schema(),
        _ => return Err(PyValueError::new_err("no such step")),
    };
    schema.as_ref().clone().into_pyarrow(py)
}

/// The schemas of the distributed dedup's steps, by name.
#[pyfunction]
fn dedup_schema<'py>(py: Python<'py>, step: &str) -> PyResult<Bound<'py, PyAny>> {
    let schema = match step {
        "features" => parts::features_schema(),
        "cross" => parts::cross_schema(),
        "judged" => parts::judged_schema(),
        _ => return Err(PyValueError::new_err("no such step")),
    };
    schema.as_ref().clone().into_pyarrow(py)
}

#[pymodule]
fn _lamsach(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_function(wrap_pyfunction!(findings_schema, m)?)?;
    m.add_function(wrap_pyfunction!(rule_key_names, m)?)?;
    m.add_function(wrap_pyfunction!(rule_codes, m)?)?;
    m.add_function(wrap_pyfunction!(rule_parts, m)?)?;
    m.add_function(wrap_pyfunction!(keyed_rules, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_features, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_cross, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_train, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_reuse, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_model_change, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_sample_rows, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_training_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_match, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_judge, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_finish, m)?)?;
    m.add_function(wrap_pyfunction!(dedup_schema, m)?)?;
    for f in [
        wrap_pyfunction!(link_rows, m)?,
        wrap_pyfunction!(link_step, m)?,
        wrap_pyfunction!(link_block_candidates, m)?,
        wrap_pyfunction!(link_by_id, m)?,
        wrap_pyfunction!(link_patterns, m)?,
        wrap_pyfunction!(link_calibrate, m)?,
        wrap_pyfunction!(link_calibrate_by_em, m)?,
        wrap_pyfunction!(link_decide, m)?,
        wrap_pyfunction!(link_outputs, m)?,
        wrap_pyfunction!(birth_findings, m)?,
        wrap_pyfunction!(link_schema, m)?,
        wrap_pyfunction!(commune_rows, m)?,
        wrap_pyfunction!(person_rows, m)?,
        wrap_pyfunction!(counted_by, m)?,
        wrap_pyfunction!(check_summary, m)?,
        wrap_pyfunction!(report_html, m)?,
        wrap_pyfunction!(fixlists, m)?,
    ] {
        m.add_function(f)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
