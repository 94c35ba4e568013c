"""lamsach for Python: check a province's tables in memory, as the command line checks files.

    import lamsach, pyarrow.parquet as pq
    result = lamsach.check(residents=pq.read_table("residents.parquet"),
                           vaccination=polars_df, as_of="2026-06-30", out="run")
    result.summary["findings_total"], result.findings.num_rows

A source is a file path, or any table with the Arrow stream interface (pyarrow Table or
RecordBatchReader, polars DataFrame, DuckDB relation); a pandas DataFrame is converted with
pyarrow. Columns may be strings of any Arrow string type (string, large_string, string_view).
The rows reach the engine without a copy, and the engine runs with the GIL released.
Outputs are the command line's (findings.parquet, duplicates.parquet, fixlists/, report.html,
summary.json) in `out`. `memory_gb` is the command line's `--memory-gb`: over it (by default,
over nine tenths of the memory free when the run starts), the tables are held on disk for the
run, memory-mapped, with the same outputs. A table handed over from memory also stays in
Python's memory, so the budget saves most when the sources are file paths.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from . import _lamsach

__version__ = _lamsach.__version__
__all__ = ["check", "dedup", "rules", "CheckResult"]


def _source(obj: Any) -> Any:
    """A path stays a path; a pandas DataFrame goes through pyarrow; others are passed on."""
    if obj is None or isinstance(obj, (str, os.PathLike)):
        return obj
    if hasattr(obj, "__arrow_c_stream__"):
        return obj
    try:
        import pandas  # noqa: F401  (only to recognise a DataFrame)
        import pyarrow as pa

        if isinstance(obj, pandas.DataFrame):
            return pa.Table.from_pandas(obj, preserve_index=False)
    except ImportError:
        pass
    return obj


@dataclass
class CheckResult:
    """What a run wrote to `out`: its summary, and its tables read back lazily."""

    out: str
    summary: dict

    def _table(self, name: str):
        import pyarrow.parquet as pq

        return pq.read_table(os.path.join(self.out, name))

    @property
    def findings(self):
        return self._table("findings.parquet")

    @property
    def duplicates(self):
        return self._table("duplicates.parquet")

    @property
    def clusters(self):
        return self._table("clusters.parquet")

    @property
    def links(self):
        return self._table("links.parquet")

    @property
    def review(self):
        return self._table("review.parquet")


def check(
    residents: Any,
    *,
    out: str | os.PathLike,
    as_of: str,
    vaccination: Any = None,
    insurance: Any = None,
    births: Any = None,
    cmnd_map: Any = None,
    deaths: Any = None,
    extracts: Optional[Mapping[str, Any]] = None,
    province: Optional[str] = None,
    config: Optional[str | os.PathLike] = None,
    previous: Optional[str | os.PathLike] = None,
    model: Optional[str | os.PathLike] = None,
    verdicts: Optional[list] = None,
    retrain: bool = False,
    memory_gb: Optional[float] = None,
) -> CheckResult:
    """Run `lamsach check` on tables in memory (or files); see the module's documentation."""
    summary = _lamsach.check(
        _source(residents),
        out=os.fspath(out),
        as_of=as_of,
        vaccination=_source(vaccination),
        insurance=_source(insurance),
        births=_source(births),
        cmnd_map=_source(cmnd_map),
        deaths=_source(deaths),
        extracts={k: _source(v) for k, v in (extracts or {}).items()} or None,
        province=province,
        config_file=None if config is None else os.fspath(config),
        previous=None if previous is None else os.fspath(previous),
        model=None if model is None else os.fspath(model),
        verdicts=None if verdicts is None else [os.fspath(v) for v in verdicts],
        retrain=retrain,
        memory_gb=memory_gb,
    )
    return CheckResult(out=os.fspath(out), summary=json.loads(summary))


def dedup(residents, *, out, memory_gb: float = 4.0, spill_dir=None, config=None) -> dict:
    """Run `lamsach dedup` on resident files (a national register); returns its summary."""
    files = [residents] if isinstance(residents, (str, os.PathLike)) else list(residents)
    return json.loads(
        _lamsach.dedup(
            [os.fspath(f) for f in files],
            out=os.fspath(out),
            memory_gb=memory_gb,
            spill_dir=None if spill_dir is None else os.fspath(spill_dir),
            config_file=None if config is None else os.fspath(config),
        )
    )


def rules(table: Any, *, as_of: str, source: str = "residents", config=None):
    """The per-row rules (ID format, dates, names, sex, missing fields…) of one source's
    table, as a pyarrow table with the columns of findings.parquet. Rules that need other
    rows or sources (households, shared IDs, duplicates, links) are `check`'s. Any part of a
    table may be checked alone: Spark runs this on each partition (`mapInArrow`)."""
    return _lamsach.rules(_source(table), as_of=as_of, source=source,
                          config_file=None if config is None else os.fspath(config))
