//! The Python package's native module, `lamsach._lamsach`: the engine's `check` and `dedup`
//! drivers for tables in memory. A table arrives through the Arrow C stream interface
//! (`__arrow_c_stream__`: pyarrow tables and readers, polars and DuckDB results…) without a
//! copy, and the engine runs with the GIL released. Errors keep the engine's plain sentences:
//! bad input or usage is a `ValueError`, anything else a `RuntimeError`.

use std::path::PathBuf;

use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table};
use lamsach::check::CheckOptions;
use lamsach::config::Config;
use lamsach::core::SourceKind;
use lamsach::dates::parse_as_of;
use lamsach::dedup::DedupOptions;
use lamsach::read::SourceData;
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
    verdicts=None
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
) -> PyResult<String> {
    let as_of = parse_as_of(as_of)
        .ok_or_else(|| PyValueError::new_err("as_of takes a full date such as 2026-06-30"))?;
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
        tables,
        ..CheckOptions::new(as_of, out)
    };
    opts.validate().map_err(py_err)?;
    let outcome = py.detach(|| lamsach::check::check(&opts)).map_err(py_err)?;
    serde_json::to_string(&outcome.summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))
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
    if !(memory_gb.is_finite() && memory_gb > 0.0) {
        return Err(PyValueError::new_err("memory_gb must be a positive number"));
    }
    let opts = DedupOptions {
        residents,
        config: config(config_file)?,
        out,
        spill_dir,
        memory: (memory_gb * (1u64 << 30) as f64) as u64,
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
    let as_of = parse_as_of(as_of)
        .ok_or_else(|| PyValueError::new_err("as_of takes a full date such as 2026-06-30"))?;
    let kind = match source {
        "residents" => SourceKind::Residents,
        "vaccination" => SourceKind::Vaccination,
        "insurance" => SourceKind::Insurance,
        "births" => SourceKind::Births,
        _ => SourceKind::Extract,
    };
    let data = data(table)?;
    let config = config(config_file)?;
    let (schema, batches) = py
        .detach(|| {
            lamsach::kernels::record_rules(source, kind, &data, as_of, &config, &mut Vec::new())
        })
        .map_err(py_err)?;
    Table::try_new(batches, schema)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .into_pyarrow(py)
}

/// The schema of `findings.parquet` (what `rules` returns), as a pyarrow schema.
#[pyfunction]
fn findings_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    lamsach::report::tables::findings_schema()
        .as_ref()
        .clone()
        .into_pyarrow(py)
}

#[pymodule]
fn _lamsach(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(dedup, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_function(wrap_pyfunction!(findings_schema, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
