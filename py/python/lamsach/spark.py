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


# ---------------------------------------------------------------------------------------------
# dedup: the national duplicate search, distributed.

_MID = "_lamsach_mid"
# cross kinds and judged kinds (lamsach::dedup::parts::{cross_kind, judged_kind}).
_PAIR, _LARGE, _ID_MEMBER, _SKIPPED = 0, 1, 2, 3


def _schema(step):
    from pyspark.sql.pandas.types import from_arrow_schema

    from . import _lamsach

    return from_arrow_schema(_lamsach.dedup_schema(step))


def _whole(batches):
    """A partition's batches as one pyarrow table (None when the partition is empty)."""
    import pyarrow as pa

    batches = list(batches)
    return pa.Table.from_batches(batches) if batches else None


def _engine():
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    from lamsach import _lamsach

    return _lamsach


def dedup(spark, residents, *, out, config_file=None, work_dir=None, partitions=None):
    """`lamsach dedup` on a residents DataFrame, in Spark: the outputs (findings, duplicates,
    clusters, review, summary.json) are written to `out` on the driver, as the command line
    writes them, and summary.json is returned as a dict.

    Rows are numbered in the DataFrame's order (partition by partition), so a DataFrame read
    from the files `lamsach dedup` reads gives its answer. `work_dir` holds the steps'
    Parquet files (default: a temporary directory; on a cluster, a path every executor can
    write, such as HDFS or S3); `config_file` must be readable on the executors. `partitions`:
    shuffle partitions (default spark.sql.shuffle.partitions).
    """
    import json
    import shutil
    import tempfile

    import pyarrow as pa
    from pyspark.sql import functions as F

    L = _engine()
    cfg = None if config_file is None else os.fspath(config_file)
    nparts = int(partitions or spark.conf.get("spark.sql.shuffle.partitions"))
    own_work = work_dir is None
    work = tempfile.mkdtemp(prefix="lamsach-spark-dedup-") if own_work else os.fspath(work_dir)
    try:
        # Row numbers: the partition's offset plus the position in it.
        ided = residents.withColumn(_MID, F.monotonically_increasing_id())
        counts = dict(ided.groupBy(F.shiftright(_MID, 33).alias("p")).count().collect())
        offsets, n = {}, 0
        for p in sorted(counts):
            offsets[p] = n
            n += counts[p]
        mask = (1 << 33) - 1

        def features(batches):
            eng = _engine()
            for batch in batches:
                mids = batch.column(_MID).to_pylist()
                rows = [offsets[m >> 33] + (m & mask) for m in mids]
                table = pa.Table.from_batches([batch]).drop_columns([_MID])
                yield eng.dedup_features(table, rows, config_file=cfg)

        ided.mapInArrow(features, _schema("features")).write.parquet(f"{work}/features")
        feats = spark.read.parquet(f"{work}/features")
        if feats.groupBy("record_id").count().where("count > 1").limit(1).count():
            raise ValueError(
                "the residents DataFrame: record_id is not unique: two records carry the same "
                "record_id")

        # The blocks that span birth years: personal ID, CMND, the year-free passes, and the
        # IDs a malformed ID could have been.
        keys = [c for c in feats.columns if c.startswith("key")]
        blocks = None
        for k in keys:
            part = feats.where(F.col(k).isNotNull()).select(
                F.lit(int(k[3:])).cast("int").alias("pass"), F.col(k).alias("key"), "row",
                "bucket", F.lit(False).alias("probe"))
            blocks = part if blocks is None else blocks.unionByName(part)
        probes = feats.where(F.col("typed_keys").isNotNull()).select(
            F.lit(0).cast("int").alias("pass"), F.explode("typed_keys").alias("key"), "row",
            "bucket", F.lit(True).alias("probe"))

        def cross_kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.dedup_cross(table, config_file=cfg)

        (blocks.unionByName(probes).repartition(nparts, "pass", "key")
         .sortWithinPartitions("pass", "key", "probe", "row")
         .mapInArrow(cross_kernel, _schema("cross")).write.parquet(f"{work}/cross"))
        cross = spark.read.parquet(f"{work}/cross")

        # The model, on the driver: a sample, the name counts, the records sharing an ID.
        names = None
        for i, c in enumerate(["given", "family", "middle"]):
            part = feats.where(F.col(c).isNotNull()).groupBy(c).count().select(
                F.lit(i).cast("int").alias("part"), F.col(c).alias("hash"), "count")
            names = part if names is None else names.unionByName(part)
        sample = feats.select("row", "rec")
        if n > L.DEDUP_SAMPLE:
            sample = sample.sample(fraction=L.DEDUP_SAMPLE / n, seed=1)
        members = (cross.where(F.col("kind") == _ID_MEMBER)
                   .select("pass", "key", F.col("a").alias("row"))
                   .join(feats.select("row", "rec"), "row"))
        model, trained = L.dedup_train(sample.orderBy("row").toArrow(), names.toArrow(),
                                       members.toArrow(), n, config_file=cfg)
        wider = cross.where(F.col("kind") == _LARGE).select("pass", "key").toArrow()

        # Decisions: within birth-year buckets, and across them.
        def match_kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.dedup_match(table, model, wider, n, config_file=cfg)

        def judge_kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.dedup_judge(table, model, n, config_file=cfg)

        within = (feats.select("row", "bucket", "rank", "rec").repartition(nparts, "bucket")
                  .sortWithinPartitions("bucket", "row")
                  .mapInArrow(match_kernel, _schema("judged")))
        side = {s: feats.select(F.col("row").alias(s), F.col("rec").alias(f"rec_{s}"),
                                F.col("rank").alias(f"rank_{s}")) for s in "ab"}
        across = (cross.where(F.col("kind") == _PAIR).groupBy("a", "b")
                  .agg(F.collect_set("pass").alias("passes"))
                  .join(side["a"], "a").join(side["b"], "b")
                  .mapInArrow(judge_kernel, _schema("judged")))
        within.unionByName(across).write.parquet(f"{work}/judged")
        judged = spark.read.parquet(f"{work}/judged")

        # The outputs, on the driver: what they name is fetched for the records they hold.
        cross_rows = (cross.where(F.col("kind").isin(_ID_MEMBER, _SKIPPED))
                      .select("kind", "pass", "key", F.col("a").alias("row")))
        needed = (judged.where(F.col("kind") <= 2).select(F.col("a").alias("row"))
                  .unionByName(judged.where(F.col("kind") <= 2).select(F.col("b").alias("row")))
                  .unionByName(cross_rows.where((F.col("kind") == _ID_MEMBER)
                                                & (F.col("pass") == 0)).select("row"))
                  .distinct())
        texts = feats.join(needed, "row").select(
            "row", "rank", "rec", "record_id", "province_code", "commune_code")
        buckets = feats.select("bucket").distinct().count()
        summary = L.dedup_finish(judged.toArrow(), cross_rows.toArrow(), texts.toArrow(), n,
                                 model, trained, out=os.fspath(out), units=nparts,
                                 buckets=buckets, config_file=cfg)
        return json.loads(summary)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
