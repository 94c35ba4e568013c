"""lamsach inside Apache Spark (started: the per-row rules).

    from lamsach import spark as ls
    findings = ls.rules(spark.read.parquet("residents/"), as_of="2026-06-30")
    findings.write.parquet("findings/")

`rules` runs the engine's per-row rules (ID format, dates, names, sex, missing fields…) on
each partition with `mapInArrow`: the partition's Arrow batches go to the engine without a
copy, one engine thread per task (RAYON_NUM_THREADS=1; Spark runs the tasks in parallel).
Rules across rows and sources (households, shared IDs, duplicates, links) and the rest of
`check` are not distributed yet: run `lamsach.check` on one machine for those.
The lamsach wheel must be installed on every executor (a cluster venv, or --py-files).
"""
from __future__ import annotations

import os


def _spark_schema():
    from pyspark.sql.pandas.types import from_arrow_schema

    from . import _lamsach

    return from_arrow_schema(_lamsach.findings_schema())


def rules(df, *, as_of: str, source: str = "residents"):
    """A DataFrame of the per-row findings of `df` (the columns of findings.parquet)."""

    def kernel(batches):
        os.environ.setdefault("RAYON_NUM_THREADS", "1")
        import pyarrow as pa

        import lamsach

        for batch in batches:
            found = lamsach.rules(pa.Table.from_batches([batch]), as_of=as_of, source=source)
            yield from found.to_batches()

    return df.mapInArrow(kernel, _spark_schema())
