"""lamsach inside Apache Spark: the per-row rules and the national duplicate search.

    from lamsach import spark as ls
    findings = ls.rules(spark.read.parquet("residents/"), as_of="2026-06-30")
    findings.write.parquet("findings/")
    summary = ls.dedup(spark, spark.read.parquet("residents/"), out="national")

`rules` runs the engine's per-row rules (ID format, dates, names, sex, missing fields…) on
each partition with `mapInArrow`: the partition's Arrow batches go to the engine without a
copy, one engine thread per task (RAYON_NUM_THREADS=1; Spark runs the tasks in parallel).
`dedup` runs `lamsach dedup` over Spark's partitions with the command line's answer (see
docs/distributed.md). The rest of `check` across rows and sources (households, cross-source
references, deaths, links, fix lists) is not distributed yet: run `lamsach.check` on one
machine for it. The lamsach wheel must be installed on every executor (a cluster venv: it
holds a native library, which --py-files does not ship).
"""
from __future__ import annotations

import os
import sys


def _spark_schema():
    from pyspark.sql.pandas.types import from_arrow_schema

    from . import _lamsach

    return from_arrow_schema(_lamsach.findings_schema())


def rules(df, *, as_of: str, source: str = "residents", config_file=None):
    """A DataFrame of the per-row findings of `df` (the columns of findings.parquet)."""
    cfg = None if config_file is None else os.fspath(config_file)

    def kernel(batches):
        os.environ.setdefault("RAYON_NUM_THREADS", "1")
        import pyarrow as pa

        import lamsach

        for batch in batches:
            found = lamsach.rules(pa.Table.from_batches([batch]), as_of=as_of, source=source,
                                  config=cfg)
            yield from found.to_batches()

    return df.mapInArrow(kernel, _spark_schema())


# ---------------------------------------------------------------------------------------------
# findings: every rule of `check`, across rows and sources too.

_KEY, _SRC, _ORD = "_lamsach_key", "_lamsach_src", "_lamsach_ord"


def findings(spark, residents, *, as_of: str, vaccination=None, insurance=None, births=None,
             cmnd_map=None, deaths=None, extracts=None, config_file=None, partitions=None):
    """A DataFrame of the findings `lamsach check` gives these sources by its rules: the
    per-row rules on each partition, and the rules across rows and sources (households,
    CMND resolution, cross references, deaths, residence, insurance codes) on the rows of
    each of their keys brought together by a shuffle (see docs/distributed.md). The columns
    are findings.parquet's, without the sources' extra columns. The findings of matching
    (dup.*, id.shared, link.*, birth.*, alive.probably_deceased) are not rules: `dedup` gives
    the register's duplicates.

    Each source is a DataFrame; rows are taken in the DataFrame's order (partition by
    partition), as the command line takes a file's. `extracts` maps an extract's name to its
    DataFrame. `partitions`: shuffle partitions (default spark.sql.shuffle.partitions).
    """
    from functools import reduce

    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType

    L = _engine()
    cfg = None if config_file is None else os.fspath(config_file)
    nparts = int(partitions or spark.conf.get("spark.sql.shuffle.partitions"))
    # The command line's order of sources: residents, vaccination, insurance, extracts, births,
    # then the reference inputs.
    named = [("residents", residents), ("vaccination", vaccination), ("insurance", insurance)]
    named += list((extracts or {}).items())
    named += [("births", births), ("cmnd_map", cmnd_map), ("deaths", deaths)]
    sources = [(name, df) for name, df in named if df is not None]
    reserved = {"residents", "vaccination", "insurance", "births", "cmnd_map", "deaths"}
    for name in (extracts or {}):
        if not name or name in reserved:
            raise ValueError(f'"{name}" cannot be used as an extract name')
    # The engine reads each source's first rows on the driver: a missing column fails here
    # with its plain sentence, not inside an executor's stack trace.
    for name, df in sources:
        L.rule_keys(df.limit(100).toArrow(), source=name, key="personal_id", config_file=cfg)

    found = [rules(df, as_of=as_of, source=name, config_file=cfg)
             for name, df in sources if name not in ("cmnd_map", "deaths")]

    # One union per key needs one type per column name: a column typed differently by two
    # sources is read as text in both (the engine reads any column as text).
    types = {}
    for _, df in sources:
        for f in df.schema.fields:
            types.setdefault(f.name, set()).add(f.dataType.simpleString())
    mixed = {c for c, t in types.items() if len(t) > 1}
    ordered = []
    for i, (name, df) in enumerate(sources):
        cols = [F.col(f"`{c}`").cast("string").alias(c) if c in mixed else F.col(f"`{c}`")
                for c in df.columns]
        ordered.append(df.select(*cols).withColumn(_ORD, F.monotonically_increasing_id())
                       .withColumn(_SRC, F.lit(i)))
    columns = [list(df.columns) for _, df in sources]
    kinds = {k: set(reads) for k, reads in L.rule_key_names()}

    def kind(name):
        return name if name in reserved else "extract"

    names = [name for name, _ in sources]
    for key, reads in kinds.items():
        # The sources whose rows can carry the key: the key's rules read no other.
        parts = [i for i, name in enumerate(names) if kind(name) in reads]
        if not parts:
            continue
        keyed = []
        for i in parts:
            df = ordered[i]
            schema = StructType(df.schema.fields + [StructField(_KEY, LongType(), True)])
            keyed.append(df.mapInArrow(_key_kernel(names[i], key, cfg), schema)
                         .where(F.col(_KEY).isNotNull()))
        union = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), keyed)
        group = [(i, names[i], columns[i]) for i in parts]
        found.append(union.repartition(nparts, _KEY).sortWithinPartitions(_SRC, _ORD)
                     .mapInArrow(_rules_kernel(group, key, as_of, cfg), _spark_schema()))
    return reduce(lambda a, b: a.unionByName(b), found)


def _key_kernel(name, key, cfg):
    """mapInArrow: a source's rows with their key for the rules keyed by `key` appended."""

    def kernel(batches):
        import pyarrow as pa

        eng = _engine()
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            keys = eng.rule_keys(table.drop_columns([_ORD, _SRC]), source=name, key=key,
                                 config_file=cfg)
            yield from table.append_column(_KEY, pa.chunked_array([keys])).to_batches()

    return kernel


def _rules_kernel(group, key, as_of, cfg):
    """mapInArrow over the rows of some keys, sorted by source and order: their findings.
    `group` lists the sources carrying the key as (index, name, columns)."""

    def kernel(batches):
        import pyarrow.compute as pc

        eng = _engine()
        table = _whole(batches)
        if table is None:
            return
        src = table.column(_SRC)
        tables = [(name, table.filter(pc.equal(src, i)).select(cols)) for i, name, cols in group]
        yield from eng.keyed_rules(tables, key=key, as_of=as_of, config_file=cfg).to_batches()

    return kernel


# ---------------------------------------------------------------------------------------------
# dedup: the national duplicate search, distributed.

_MID = "_lamsach_mid"
# cross kinds and judged kinds (lamsach::dedup::parts::{cross_kind, judged_kind}).
_PAIR, _LARGE, _ID_MEMBER, _SKIPPED = 0, 1, 2, 3
# Pairs across birth-year buckets broadcast to the records' join (~40 bytes a pair).
_BROADCAST_PAIRS = 2_000_000


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


class _Laps:
    """Seconds per step on stderr with LAMSACH_SPARK_TRACE=1 (the executors' engine stays quiet;
    LAMSACH_TRACE=1 would trace every partition's phases)."""

    def __init__(self):
        import time

        self.on = os.environ.get("LAMSACH_SPARK_TRACE") == "1"
        self.clock = time.monotonic
        self.t = self.clock()

    def __call__(self, step):
        if self.on:
            now = self.clock()
            print(f"lamsach.spark: {step} {now - self.t:.1f} s", file=sys.stderr)
            self.t = now


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
    lap = _Laps()
    own_work = work_dir is None
    work = tempfile.mkdtemp(prefix="lamsach-spark-dedup-") if own_work else os.fspath(work_dir)
    try:
        # The engine reads the first rows on the driver: a missing column or a wrong config
        # fails here with its plain sentence, not inside an executor's stack trace.
        head = residents.limit(1000).toArrow()
        L.dedup_features(head, list(range(head.num_rows)), config_file=cfg)
        # Row numbers: the partition's offset plus the position in it.
        ided = residents.withColumn(_MID, F.monotonically_increasing_id())
        counts = dict(ided.groupBy(F.shiftright(_MID, 33).alias("p")).count().collect())
        offsets, n = {}, 0
        for p in sorted(counts):
            offsets[p] = n
            n += counts[p]
        mask = (1 << 33) - 1
        lap("row numbers")

        def features(batches):
            eng = _engine()
            for batch in batches:
                mids = batch.column(_MID).to_pylist()
                rows = [offsets[m >> 33] + (m & mask) for m in mids]
                table = pa.Table.from_batches([batch]).drop_columns([_MID])
                yield eng.dedup_features(table, rows, config_file=cfg)

        (ided.mapInArrow(features, _schema("features"))
         .write.mode("overwrite").parquet(f"{work}/features"))
        feats = spark.read.parquet(f"{work}/features")
        lap("features")
        if feats.groupBy("record_id").count().where("count > 1").limit(1).count():
            raise ValueError(
                "the residents DataFrame: record_id is not unique: two records carry the same "
                "record_id")
        lap("record_id unique")

        # The blocks that span birth years: personal ID, CMND, the year-free passes, and the
        # IDs a malformed ID could have been.
        # One scan: every record's keys as (pass, key) rows, and the probes of malformed IDs.
        keys = [c for c in feats.columns if c.startswith("key")]
        # The year-free passes' entries carry what their scope reads (~40 bytes), so the
        # pairs a scope leaves out never reach the join with the records.
        no_scope = F.lit(None).cast("binary")
        entries = [F.struct(F.lit(int(k[3:])).cast("int").alias("pass"), F.col(k).alias("key"),
                            F.lit(False).alias("probe"),
                            (F.col("scope") if int(k[3:]) >= 2 else no_scope).alias("scope"))
                   for k in keys]
        probe = F.transform(F.coalesce("typed_keys", F.array().cast("array<bigint>")),
                            lambda k: F.struct(F.lit(0).cast("int").alias("pass"),
                                               k.alias("key"), F.lit(True).alias("probe"),
                                               no_scope.alias("scope")))
        blocks = (feats.select("row", "bucket",
                               F.explode(F.concat(F.array(*entries), probe)).alias("e"))
                  .where(F.col("e.key").isNotNull())
                  .select(F.col("e.pass").alias("pass"), F.col("e.key").alias("key"), "row",
                          "bucket", F.col("e.probe").alias("probe"),
                          F.col("e.scope").alias("scope")))

        def cross_kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.dedup_cross(table, config_file=cfg)

        (blocks.repartition(nparts, "pass", "key")
         .sortWithinPartitions("pass", "key", "probe", "row")
         .mapInArrow(cross_kernel, _schema("cross")).write.mode("overwrite").parquet(f"{work}/cross"))
        cross = spark.read.parquet(f"{work}/cross")
        lap("blocks across birth years")

        # The model, on the driver: a sample, the name counts, the records sharing an ID.
        parts = F.explode(F.array(*[F.struct(F.lit(i).cast("int").alias("part"),
                                             F.col(c).alias("hash"))
                                    for i, c in enumerate(["given", "family", "middle"])]))
        names = (feats.select(parts.alias("e")).where(F.col("e.hash").isNotNull())
                 .groupBy(F.col("e.part").alias("part"), F.col("e.hash").alias("hash")).count())
        # The rows `lamsach dedup` samples (every row up to a million), in its order.
        slots = L.dedup_sample_rows(n)
        slots = pa.Table.from_batches([slots]).append_column(
            "slot", pa.array(range(slots.num_rows), pa.int64()))
        sample = (feats.select("row", "rec")
                  .join(spark.createDataFrame(slots), "row").orderBy("slot"))
        # The records sharing an ID: their (pass, key, row) to the driver (20 bytes each), the
        # features only of the blocks training samples (~2 M pairs at most, as dedup's).
        members = (cross.where(F.col("kind") == _ID_MEMBER)
                   .select("pass", "key", F.col("a").alias("row")))
        member_rows = members.toArrow()
        blocks = spark.createDataFrame(
            pa.Table.from_batches([L.dedup_training_blocks(member_rows)]),
            "pass int, key bigint")
        member_recs = (members.join(F.broadcast(blocks), ["pass", "key"]).select("row")
                       .distinct().join(feats.select("row", "rec"), "row"))
        model, trained = L.dedup_train(sample.toArrow(), names.toArrow(), member_rows,
                                       member_recs.toArrow(), n, config_file=cfg)
        wider = cross.where(F.col("kind") == _LARGE).select("pass", "key").toArrow()
        lap("model")

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
        pairs = (cross.where(F.col("kind") == _PAIR).groupBy("a", "b")
                 .agg(F.collect_set("pass").alias("passes")))
        # Pairs across buckets are few (52 000 of 495 000 compared at 1 M people, once the
        # scopes are applied): joined to the records without shuffling the records, while
        # they fit a broadcast.
        if pairs.count() <= _BROADCAST_PAIRS:
            pairs = F.broadcast(pairs)
            across = side["a"].join(pairs, "a").join(side["b"], "b")
        else:
            across = pairs.join(side["a"], "a").join(side["b"], "b")
        across = across.mapInArrow(judge_kernel, _schema("judged"))
        within.write.mode("overwrite").parquet(f"{work}/judged/within")
        lap("decisions within birth-year buckets")
        across.write.mode("overwrite").parquet(f"{work}/judged/across")
        judged = spark.read.parquet(f"{work}/judged/within", f"{work}/judged/across")
        lap("decisions across them")

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
        lap("outputs")
        return json.loads(summary)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
