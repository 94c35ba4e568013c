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

_ORD = "_lamsach_ord"
_SOURCES = ("residents", "vaccination", "insurance", "births", "cmnd_map", "deaths")


def findings(spark, residents, *, as_of: str, vaccination=None, insurance=None, births=None,
             cmnd_map=None, deaths=None, extracts=None, config_file=None, partitions=None):
    """A DataFrame of the findings `lamsach check` gives these sources by its rules: the
    per-row rules on each input partition, and the rules across rows and sources (households,
    CMND resolution, cross references, deaths, residence, insurance codes) on the rows of
    each of their keys brought together by one shuffle (see docs/distributed.md). The columns
    are findings.parquet's, without the sources' extra columns. The findings of matching
    (dup.*, id.shared, link.*, birth.*, alive.probably_deceased, and alive.deceased_active of
    a death registered without an ID, linked by name) are not rules: `dedup` gives the
    register's duplicates; links of extracts are not distributed yet.

    Each source is a DataFrame; rows are taken in the DataFrame's order (partition by
    partition), as the command line takes a file's. `extracts` maps an extract's name to its
    DataFrame. `partitions`: shuffle partitions (default spark.sql.shuffle.partitions).
    Every province's findings are given (the command line's `--province` view is a filter on
    province_code and related records, left to the caller).
    """
    from functools import reduce

    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    L = _engine()
    cfg = None if config_file is None else os.fspath(config_file)
    nparts = int(partitions or spark.conf.get("spark.sql.shuffle.partitions"))
    for name in (extracts or {}):
        if not name or name in _SOURCES:
            raise ValueError(f'"{name}" cannot be used as an extract name')
    # The command line's order of sources: residents, vaccination, insurance, extracts, births,
    # then the reference inputs.
    named = [("residents", residents), ("vaccination", vaccination), ("insurance", insurance)]
    named += list((extracts or {}).items())
    named += [("births", births), ("cmnd_map", cmnd_map), ("deaths", deaths)]
    sources = [(name, df) for name, df in named if df is not None]
    # The engine reads each source's first rows on the driver: a missing column fails here
    # with its plain sentence, not inside an executor's stack trace.
    for name, df in sources:
        L.rule_parts(df.limit(100).toArrow(), source=name, keys=[], parts=1, config_file=cfg)

    # Each source is read once: its per-row findings, and per key its rows carry, the rows of
    # each part serialised together (Arrow IPC), so that the shuffle moves a few large values
    # rather than millions of rows.
    reads = dict(L.rule_key_names())
    names = [name for name, _ in sources]
    kind = [name if name in _SOURCES else "extract" for name in names]
    blobs = []
    for i, (name, df) in enumerate(sources):
        keys = [k for k, kinds in reads.items() if kind[i] in kinds]
        per_row = name not in ("cmnd_map", "deaths")
        blobs.append(df.withColumn(_ORD, F.monotonically_increasing_id())
                     .mapInArrow(_parts_kernel(name, i, keys, per_row, nparts, as_of, cfg),
                                 from_arrow_schema(_parts_schema())))
    return (reduce(lambda a, b: a.unionByName(b), blobs)
            .repartition(nparts, "key", "part").sortWithinPartitions("key", "part", "src")
            .mapInArrow(_keyed_kernel(names, as_of, cfg), _spark_schema()))


# The key of the per-row findings among the serialised pieces (they are passed through).
_PER_ROW = ""


def _ipc(table):
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _parts_kernel(name, src, keys, per_row, nparts, as_of, cfg):
    """mapInArrow over one source's rows (with their order): its per-row findings, and per key
    and part, the rows carrying the key, each as one Arrow IPC stream."""

    def kernel(batches):
        import pyarrow as pa
        import pyarrow.compute as pc

        eng = _engine()
        out = {"key": [], "part": [], "src": [], "rows": []}
        for n, table in enumerate(_chunks(batches, _CHUNK_ROWS)):
            data = table.drop_columns([_ORD])
            if per_row:
                found = eng.rules(data, as_of=as_of, source=name, config_file=cfg)
                if found.num_rows:
                    out["key"].append(_PER_ROW)
                    out["part"].append(n % nparts)
                    out["src"].append(src)
                    out["rows"].append(_ipc(found))
            parts = eng.rule_parts(data, source=name, keys=keys, parts=nparts, config_file=cfg)
            for key in keys:
                part = parts.column(key)
                carrying = pc.is_valid(part)
                rows, part = table.filter(carrying), part.filter(carrying)
                if rows.num_rows == 0:
                    continue
                order = pc.sort_indices(part)
                rows, part = rows.take(order), part.take(order)
                runs = pc.run_end_encode(part)
                start = 0
                for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist()):
                    out["key"].append(key)
                    out["part"].append(value)
                    out["src"].append(src)
                    out["rows"].append(_ipc(rows.slice(start, end - start)))
                    start = end
            if len(out["rows"]) >= 64:
                yield pa.RecordBatch.from_pydict(out, schema=_parts_schema())
                out = {k: [] for k in out}
        if out["rows"]:
            yield pa.RecordBatch.from_pydict(out, schema=_parts_schema())

    return kernel


# Rows a task serialises together: Spark hands batches of 10 000 rows; fewer, larger pieces
# cost less to split and to move.
_CHUNK_ROWS = 50_000


def _chunks(batches, rows):
    """The batches joined into tables of about `rows` rows (the last may be smaller)."""
    import pyarrow as pa

    held, n = [], 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        held.append(batch)
        n += batch.num_rows
        if n >= rows:
            yield pa.Table.from_batches(held).combine_chunks()
            held, n = [], 0
    if held:
        yield pa.Table.from_batches(held).combine_chunks()


def _parts_schema():
    """The serialised pieces: key, part, source index, rows as one Arrow IPC stream."""
    import pyarrow as pa

    return pa.schema([("key", pa.string()), ("part", pa.int32()), ("src", pa.int32()),
                      ("rows", pa.binary())])


def _keyed_kernel(names, as_of, cfg):
    """mapInArrow over the serialised rows sorted by key, part and source: per key and part,
    every source's rows in their order, checked by the rules of the key."""

    def kernel(batches):
        import pyarrow as pa
        import pyarrow.compute as pc

        eng = _engine()
        table = _whole(batches)
        if table is None:
            return
        keys, parts = table.column("key").to_pylist(), table.column("part").to_pylist()
        srcs, blobs = table.column("src").to_pylist(), table.column("rows")
        i = 0
        while i < len(keys):
            j = i
            while j < len(keys) and keys[j] == keys[i] and parts[j] == parts[i]:
                j += 1
            if keys[i] == _PER_ROW:
                for k in range(i, j):
                    yield from pa.ipc.open_stream(blobs[k].as_buffer()).read_all().to_batches()
                i = j
                continue
            rows = {}
            for k in range(i, j):
                rows.setdefault(srcs[k], []).append(
                    pa.ipc.open_stream(blobs[k].as_buffer()).read_all())
            # Only sources that can carry the key sent rows of it; in the run's order.
            tables = []
            for s in sorted(rows):
                t = pa.concat_tables(rows[s])
                t = t.take(pc.sort_indices(t.column(_ORD))).drop_columns([_ORD])
                tables.append((names[s], t))
            found = eng.keyed_rules(tables, key=keys[i], as_of=as_of, config_file=cfg)
            yield from found.to_batches()
            i = j

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
