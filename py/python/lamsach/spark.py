"""lamsach inside Apache Spark: the rules, the national duplicate search, the links, `check`.

    from lamsach import spark as ls
    findings = ls.rules(spark.read.parquet("residents/"), as_of="2026-06-30")
    findings.write.parquet("findings/")
    summary = ls.dedup(spark, spark.read.parquet("residents/"), out="national")
    summary = ls.check(spark, spark.read.parquet("residents/"), as_of="2026-06-30",
                       vaccination=spark.read.parquet("vaccination/"), out="province")

`rules` runs the engine's per-row rules (ID format, dates, names, sex, missing fields…) on
each partition with `mapInArrow`: the partition's Arrow batches go to the engine without a
copy, one engine thread per task (RAYON_NUM_THREADS=1; Spark runs the tasks in parallel).
`findings` gives every rule finding of `check`; `dedup` runs `lamsach dedup` over Spark's
partitions with the command line's answer; `link` adds the extracts' links as `check` makes
them; `check` gives all of these with every rule's findings, the births judged against their
residents and the deaths linked by name, and check's summary.json (indicators, rule and
commune figures), model.json, report.html and the communes' fix lists (see
docs/distributed.md). The lamsach wheel must be installed on every executor (a cluster venv:
it holds a native library, which --py-files does not ship).
"""
from __future__ import annotations

import os
import sys
from collections import Counter


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
    a death registered without an ID, linked by name) are not rules: `check` adds the
    register's duplicates and the extracts' links.

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


# Rows looked up at once against a set of wanted record IDs (see `_fixlists`).
_LOOKUP_ROWS = 262_144


def _chunks(batches, rows):
    """A partition's batches as pyarrow tables of at least `rows` rows (the last one fewer):
    the memory of `rows` rows at a time, not of the partition."""
    import pyarrow as pa

    held, n = [], 0
    for batch in batches:
        held.append(batch)
        n += batch.num_rows
        if n >= rows:
            yield pa.Table.from_batches(held)
            held, n = [], 0
    if held:
        yield pa.Table.from_batches(held)


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
        self.t = self.start = self.clock()
        # Seconds per step, and in total, as summary.json's timings_seconds.
        self.seconds = {}

    def __call__(self, step):
        now = self.clock()
        if self.on:
            print(f"lamsach.spark: {step} {now - self.t:.1f} s", file=sys.stderr)
        self.seconds[step] = round(now - self.t, 3)
        self.seconds["total"] = round(now - self.start, 3)
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
    import shutil
    import tempfile

    cfg = None if config_file is None else os.fspath(config_file)
    nparts = int(partitions or spark.conf.get("spark.sql.shuffle.partitions"))
    lap = _Laps()
    own_work = work_dir is None
    work = tempfile.mkdtemp(prefix="lamsach-spark-dedup-") if own_work else os.fspath(work_dir)
    try:
        return _dedup_steps(spark, residents, out, cfg, nparts, work, lap, False)["summary"]
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _train(spark, L, feats, cross, n, cfg):
    """The model, estimated on the driver from a sample, the name counts and the records
    sharing an ID: model.json and how it was trained (JSON)."""
    import pyarrow as pa
    from pyspark.sql import functions as F

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
    return L.dedup_train(sample.toArrow(), names.toArrow(), member_rows,
                         member_recs.toArrow(), n, config_file=cfg)


def _dedup_steps(spark, residents, out, cfg, nparts, work, lap, as_check, nightly=None):
    """The steps of `dedup` (see there), its outputs written to `out` (`as_check`: as `check`
    writes them, the pairs a cluster implies with their levels; `nightly`: `check`'s
    `previous`, `model` and `retrain`, which say whether a saved model is reused and how far
    an estimated one moved from the previous run's). Returns summary.json as
    a dict, the model (JSON), the record count, the features DataFrame (in `work`) and the
    residents with their order (`_MID`) and partitions' offsets (see `_numbered`)."""
    import json

    import pyarrow as pa
    from pyspark.sql import functions as F

    L = _engine()
    # The engine reads the first rows on the driver: a missing column or a wrong config
    # fails here with its plain sentence, not inside an executor's stack trace.
    head = residents.limit(1000).toArrow()
    L.dedup_features(head, list(range(head.num_rows)), config_file=cfg)
    ided, offsets, n = _numbered(residents)
    lap("row numbers")

    def features(batches):
        eng = _engine()
        for batch in batches:
            table, rows = _with_rows(batch, offsets)
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

    nightly = nightly or {}
    reused = L.dedup_reuse(n, model=nightly.get("model"), previous=nightly.get("previous"),
                           retrain=bool(nightly.get("retrain")), config_file=cfg)
    if reused is not None:
        model, trained = reused
    else:
        model, trained = _train(spark, L, feats, cross, n, cfg)
        if nightly.get("previous") is not None:
            trained = L.dedup_model_change(trained, model, nightly["previous"],
                                           retrain=bool(nightly.get("retrain")))
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
                             buckets=buckets, config_file=cfg, as_check=as_check)
    lap("outputs")
    return {"summary": json.loads(summary), "model": model, "records": n, "feats": feats,
            "residents": ided, "offsets": offsets}


# ---------------------------------------------------------------------------------------------
# Links of extracts: the rows without a usable ID, whose ID no resident carries, or whose ID is
# a resident's with another name, linked to the residents' people (lamsach::kernels::link).

# A row to link's id: its source, its role (a row owed a link, a row sampled to calibrate the
# source, a row to link taken for EM) and its row in the source.
_OWED, _SAMPLED, _EM = 0, 1, 2
_SRC_SHIFT, _ROLE_SHIFT = 42, 40
# As the command line samples a source (lamsach::matching::link::Sample).
_VISIT, _SAMPLE, _EM_SAMPLE = 100_000, 5_000, 20_000


def _link_schema(step):
    from pyspark.sql.pandas.types import from_arrow_schema

    from . import _lamsach

    return from_arrow_schema(_lamsach.link_schema(step))


# monotonically_increasing_id(): the partition in the upper bits, the row within it below.
_PART_SHIFT = 33


def _numbered(df):
    """The DataFrame with its rows' order (`_MID`), the partitions' offsets and the row count:
    a row's number is its partition's offset plus its place in it, the files' order."""
    from pyspark.sql import functions as F

    ided = df.withColumn(_MID, F.monotonically_increasing_id())
    counts = dict(ided.groupBy(F.shiftright(_MID, _PART_SHIFT).alias("p")).count().collect())
    offsets, n = {}, 0
    for p in sorted(counts):
        offsets[p] = n
        n += counts[p]
    return ided, offsets, n


def _with_rows(batch, offsets):
    """A batch of a `_numbered` DataFrame as a table without `_MID`, and its rows' numbers."""
    import pyarrow as pa

    mask = (1 << _PART_SHIFT) - 1
    rows = [offsets[m >> _PART_SHIFT] + (m & mask) for m in batch.column(_MID).to_pylist()]
    return pa.Table.from_batches([batch]).drop_columns([_MID]), rows


def _ceil_div(a, b):
    return max(1, -(-a // b))


def link(spark, residents, *, out, vaccination=None, insurance=None, extracts=None,
         config_file=None, work_dir=None, partitions=None):
    """The links of extracts in Spark, as `lamsach check` makes them: `dedup` on the residents
    (its outputs written to `out`: a person's records count as one person), then each
    extract's rows owed a link (no usable ID, an ID no resident carries, an ID whose resident
    has another name) linked to the resident who is their person, written to
    `out/links.parquet` as the command line writes it, with their findings (`link.suggested`,
    `link.ambiguous`) in `out/findings.parquet` and the plausible residents of rows that fit
    several in `out/review.parquet`. Returns summary.json as a dict, with per source what
    linking measured under "linking". `check` adds every rule's findings.

    Sources are DataFrames taken in their order (partition by partition), as `check` reads
    files; `extracts` maps an extract's name to its DataFrame.
    """
    named = [("vaccination", vaccination), ("insurance", insurance)]
    named += list((extracts or {}).items())
    return _run(spark, residents, named, None, None, out, None, config_file, work_dir,
                partitions)


def check(spark, residents, *, out, as_of: str, vaccination=None, insurance=None, births=None,
          cmnd_map=None, deaths=None, extracts=None, previous=None, verdicts=None, model=None,
          retrain=False, config_file=None, work_dir=None, partitions=None):
    """`lamsach check` in Spark: every rule's findings (`findings`), the register's duplicates
    and clusters (`dedup`), the extracts' links (`link`), the birth registrations judged
    against their residents (found by ID or linked) and the deaths registered without a
    usable ID linked to theirs by name, written to `out` as the command line
    writes findings.parquet, duplicates.parquet, clusters.parquet, review.parquet,
    links.parquet, resolved.parquet, model.json, summary.json, report.html and the communes'
    fix lists (fixlists/<commune>.csv and .xlsx, laid out on the driver from the records the
    findings name); returns summary.json as a dict.

    A nightly run, as the command line's `--previous`, `--verdicts`, `--model` and
    `--retrain`: `previous` (a former run's output directory, on the driver) marks each
    finding `open` or `new`, lists in resolved.parquet the findings that no longer fire, keeps
    unchanged clusters' IDs and reuses that run's model.json unless `retrain`; `verdicts`
    (returned fix lists, XLSX or CSV, or verdict tables, on the driver) withdraw the findings
    and pairs the officers judged wrong while their records are unchanged, kept for the next
    night in verdicts.parquet; `model` reuses a saved model.json.

    summary.json is the command line's: rows read and accounted for, findings per rule,
    group, source and commune, the ministry's indicators (the vaccination rows' people, the
    prisoners' and industrial zones' new entries and matches), rule and commune figures,
    duplicate and linking figures with the report's worked examples — but for the candidate
    pairs compared and counted per blocking pass, which are `dedup`'s. Arguments as
    `findings` and `dedup` take them.
    """
    if model is not None and retrain:
        raise ValueError("model and retrain cannot be given together: model reuses a model, "
                         "retrain estimates a new one")
    if isinstance(verdicts, (str, os.PathLike)):
        verdicts = [verdicts]
    verdicts = [os.fspath(v) for v in verdicts or []]
    # What a nightly run reads on the driver is refused before any work, as the command line
    # refuses it.
    if previous is not None:
        previous = os.fspath(previous)
        if not os.path.isfile(os.path.join(previous, "findings.parquet")):
            raise ValueError(f"{previous}: previous must name a former run's output directory")
        if os.path.realpath(previous) == os.path.realpath(os.fspath(out)):
            raise ValueError(f"{previous}: previous names the output directory itself; write "
                             "each night's run to a directory of its own")
    for v in verdicts:
        if not os.path.isfile(v):
            raise ValueError(f"{v}: the verdict file does not exist")
    nightly = {"previous": previous, "verdicts": verdicts,
               "model": None if model is None else os.fspath(model), "retrain": retrain}
    rules = findings(spark, residents, as_of=as_of, vaccination=vaccination,
                     insurance=insurance, births=births, cmnd_map=cmnd_map, deaths=deaths,
                     extracts=extracts, config_file=config_file, partitions=partitions)
    named = [("vaccination", vaccination), ("insurance", insurance)]
    named += list((extracts or {}).items())
    every = [("residents", residents)] + named
    every += [("births", births), ("cmnd_map", cmnd_map), ("deaths", deaths)]
    lap = _Laps()
    # Every checked source's rows per commune, and so its rows; the reference inputs' rows.
    counts, communes = _commune_rows(every, config_file)
    counts.update({name: df.count() for name, df in every
                   if df is not None and name in ("cmnd_map", "deaths")})
    counts = {name: counts[name] for name, df in every if df is not None}
    checked = {"findings": rules, "as_of": as_of, "counts": counts, "lap": lap,
               "communes": communes, "nightly": nightly}
    lap("rows per source and commune")
    return _run(spark, residents, named, births, deaths, out, checked, config_file, work_dir,
                partitions)


def _run(spark, residents, named, births, deaths, out, checked, config_file, work_dir,
         partitions):
    """dedup, then the links of the sources `named` (name, DataFrame or None), and with
    `checked` (`findings`: the rule findings' DataFrame, `as_of`, `counts`: every source's
    rows) every finding, the births' and the deaths' too: see `check`."""
    import json
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    cfg = None if config_file is None else os.fspath(config_file)
    nparts = int(partitions or spark.conf.get("spark.sql.shuffle.partitions"))
    lap = checked["lap"] if checked is not None else _Laps()
    sources = [(name, df) for name, df in named if df is not None]
    for name, _ in named[2:]:
        if not name or name in _SOURCES:
            raise ValueError(f'"{name}" cannot be used as an extract name')
    found = []
    if checked is not None:
        found.append(checked["findings"].toArrow())
        lap("rule findings")
    own_work = work_dir is None
    work = tempfile.mkdtemp(prefix="lamsach-spark-check-") if own_work else os.fspath(work_dir)
    out = os.fspath(out)
    try:
        nightly = checked["nightly"] if checked is not None else {}
        d = _dedup_steps(spark, residents, out, cfg, nparts, work, lap, True, nightly)
        # dedup's outputs are this run's: an earlier run's links must not stand beside them.
        try:
            os.remove(os.path.join(out, "links.parquet"))
        except FileNotFoundError:
            pass
        births = None if checked is None or births is None else (births, checked["as_of"])
        deaths = None if checked is None else deaths
        links, stats, link_found, link_review, facts = _links(spark, d, sources, births, deaths,
                                                              out, cfg, nparts, work, lap)
        # Findings by source in the command line's order: the rules', dedup's, the links',
        # the births' and the deaths'.
        found += [pq.read_table(os.path.join(out, "findings.parquet"))] + link_found
        schema = _engine().findings_schema()
        found = pa.concat_tables([t.cast(schema) for t in found])
        order = {name: i for i, name in enumerate(
            ["residents"] + [n for n, _ in sources] + ["births", "cmnd_map", "deaths"])}
        rank = pa.array([order.get(x, len(order)) for x in found.column("source").to_pylist()],
                        pa.int32())
        found = found.append_column("_rank", rank).sort_by("_rank").drop_columns(["_rank"])
        review = pa.concat_tables([pq.read_table(os.path.join(out, "review.parquet"))]
                                  + [pa.Table.from_batches([r]) for r in link_review])
        _write_parquet(found, os.path.join(out, "findings.parquet"))
        _write_parquet(review, os.path.join(out, "review.parquet"))
        _write_parquet(links, os.path.join(out, "links.parquet"))
        # The run's list of its files (the next run in `out` removes what it does not write).
        listed = os.path.join(out, ".lamsach.files")
        with open(listed, encoding="utf-8") as f:
            files = f.read().split()
        if "links.parquet" not in files:
            with open(listed, "a", encoding="utf-8") as f:
                f.write("links.parquet\n")
        if checked is None:
            summary = d["summary"]
            summary["linking"] = stats
            summary["links"] = links.num_rows
            summary.update(_finding_counts(found))
            _write_json(summary, os.path.join(out, "summary.json"))
            lap("outputs written")
            return summary
        # The communes' fix lists, and the findings, pairs and clusters written again as check
        # writes them (on a nightly run, as the previous run and the verdicts leave them).
        lists, finished = _fixlists(spark, [("residents", residents)] + sources
                                    + ([("births", births[0])] if births is not None else []),
                                    found, links, out, checked["as_of"], cfg, nightly)
        finished = json.loads(finished)
        # The findings as the engine wrote them again: in check's order, with the sources'
        # extra columns and (with a previous run) each one's status.
        found = pq.read_table(os.path.join(out, "findings.parquet"))
        lap("fix lists")
        # check's summary.json, model.json and report.html, as the command line writes them.
        people, figures = _counted(spark, facts, found, cfg)
        dd, dm = d["summary"]["duplicates"], d["summary"]["matching"]
        counts = checked["counts"]
        reference = ("cmnd_map", "deaths")
        lap("outputs written")
        figures.update({
            "as_of": checked["as_of"],
            "reference_rows": [(n, counts[n]) for n in reference if n in counts],
            "commune_rows": checked["communes"],
            "duplicates": {
                "pairs": finished["pairs"], "pairs_from_clusters": finished["pairs_from_clusters"],
                "review_pairs": finished["review_pairs"], "clusters": finished["clusters"],
                "links": links.num_rows, "pairs_compared": dm["pairs_compared"],
                "pairs_per_blocking_pass": dm["pairs_per_pass"],
                "blocks_skipped_pairs": dm["pairs_in_oversized_blocks_skipped"],
                "training": dm["training"], "examples": dm.get("examples", [])},
            "em_iterations": dm["model"]["em_iterations"],
            "linking": stats,
            "warnings": finished["warnings"] + d["summary"]["warnings"],
            "verdicts": finished["verdicts"],
            "timings_seconds": lap.seconds})
        summary = _engine().check_summary(
            [(n, c) for n, c in counts.items() if n not in reference], found, people,
            json.dumps(figures), d["model"], previous=nightly["previous"], config_file=cfg)
        probabilities = pq.read_table(os.path.join(out, "duplicates.parquet"),
                                      columns=["probability"]).column(0).to_pylist()
        for name, text in (("summary.json", summary), ("model.json", d["model"]),
                           ("report.html", _engine().report_html(summary, probabilities))):
            _write_text(text, os.path.join(out, name))
        with open(listed, encoding="utf-8") as f:
            files = set(f.read().split())
        with open(listed, "a", encoding="utf-8") as f:
            f.write("".join(f"{name}\n" for name in ["model.json", "report.html"] + lists
                            if name not in files))
        return json.loads(summary)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _fixlists(spark, sources, found, links, out, as_of, cfg, nightly):
    """The communes' fix lists, written into `out` as `check` writes them, from the run's
    findings (`found`), links and the pairs and clusters written in `out`: each source's
    records these name (and the residents carrying a flagged extract row's valid ID, its
    person) are fetched by record ID from the source, in its order, and the engine lays them
    out, with the `nightly` run's previous run and verdicts (see `check`); findings.parquet,
    resolved, duplicates, clusters and review are written again as check writes them. Returns
    the files written, relative to `out`, and what the engine changed (JSON)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    read = {name: pq.read_table(os.path.join(out, f"{name}.parquet"))
            for name in ("duplicates", "review", "clusters")}
    wanted = {name: set() for name, _ in sources}

    def add(table, src, rec):
        for s, r in zip(table.column(src).to_pylist(), table.column(rec).to_pylist()):
            if s is not None and r is not None and s in wanted:
                wanted[s].add(r)

    add(found, "source", "record_id")
    add(found, "related_source", "related_record_id")
    for t in (read["duplicates"], read["review"]):
        add(t, "source_a", "record_id_a")
        add(t, "source_b", "record_id_b")
    add(read["clusters"], "source", "record_id")
    # A flagged extract row's person: its linked resident.
    for s, r, res in zip(*[links.column(c).to_pylist()
                           for c in ("source", "record_id", "resident_record_id")]):
        if r in wanted.get(s, ()):
            wanted["residents"].add(res)
    pids, fetched = set(), {}
    # The extracts first: the residents carrying their rows' valid IDs are wanted too. One
    # pass a source: each part's rows keyed as the engine reads them, those wanted kept whole
    # with their place in the source (`_MID`: the partition, then the row).
    for name, df in sorted(sources, key=lambda x: x[0] == "residents"):
        ids = pa.array(sorted(wanted[name]), pa.string())
        by_pid = pa.array(sorted(pids) if name == "residents" else [], pa.int64())

        def kernel(batches, name=name, ids=ids, by_pid=by_pid):
            import pyarrow.compute as pc

            eng = _engine()
            # `is_in` builds its hash set of the wanted IDs on every call: over Spark's
            # 10 000-row batches that was most of the step at 10 M people (a 2 M-ID set costs
            # ~0.5 s to build), so the batches are looked up a few hundred thousand rows at once.
            for table in _chunks(batches, _LOOKUP_ROWS):
                part = table.drop_columns([_MID])
                keys = eng.person_rows(part, list(range(table.num_rows)), source=name,
                                       config_file=cfg)
                keep = pc.or_(pc.is_in(keys.column("record_id"), value_set=ids),
                              pc.fill_null(pc.is_in(keys.column("pid"), value_set=by_pid),
                                           False))
                picked = table.filter(keep).append_column("_pid",
                                                          keys.column("pid").filter(keep))
                yield from picked.combine_chunks().to_batches()

        ided = df.withColumn(_MID, F.monotonically_increasing_id())
        schema = T.StructType(ided.schema.fields + [T.StructField("_pid", T.LongType())])
        got = ided.mapInArrow(kernel, schema).toArrow().sort_by(_MID)
        if name != "residents":
            pids.update(p for p in got.column("_pid").to_pylist() if p is not None)
        fetched[name] = got.drop_columns([_MID, "_pid"])
    tables = [(name, fetched[name]) for name, _ in sources]
    return _engine().fixlists(out, tables, found, read["duplicates"], read["review"],
                              read["clusters"], links, as_of=as_of,
                              previous=nightly["previous"], verdicts=nightly["verdicts"],
                              config_file=cfg)


def _finding_counts(found):
    """summary.json's counts of findings: in total, per rule, group, source and commune, and
    the records with findings per group."""
    rules, groups = _engine().rule_codes()
    per_rule = {code: 0 for code, _ in rules}
    per_group = {code: 0 for code in groups}
    group_of = dict(rules)
    per_source, per_commune, records = {}, {}, set()
    cols = [found.column(c).to_pylist() for c in ("rule", "source", "commune_code", "record_id")]
    for rule, source, commune, record in zip(*cols):
        per_rule[rule] += 1
        per_group[group_of[rule]] += 1
        records.add((group_of[rule], source, record))
        src = per_source.setdefault(source, {})
        src[rule] = src.get(rule, 0) + 1
        per_commune[commune] = per_commune.get(commune, 0) + 1
    on_records = Counter(g for g, _, _ in records)
    return {"findings_total": found.num_rows,
            "findings_per_rule": dict(sorted(per_rule.items())),
            "findings_per_group": dict(sorted(per_group.items())),
            # A record in several pairs (or with several findings of a group) counted once.
            "records_per_group": {g: on_records.get(g, 0) for g in sorted(per_group)},
            "findings_per_source": {s: dict(sorted(r.items()))
                                    for s, r in sorted(per_source.items())},
            "findings_per_commune": dict(sorted(per_commune.items()))}


def _commune_rows(every, config_file):
    """The rows of every checked source (name, DataFrame or None; not the reference inputs),
    and per commune code the rows of all of them there: the records each commune's figures
    are over."""
    from functools import reduce

    from pyspark.sql import functions as F

    cfg = None if config_file is None else os.fspath(config_file)

    def kernel(name):
        def run(batches):
            eng = _engine()
            for batch in batches:
                yield eng.commune_rows(batch, source=name, config_file=cfg)
        return run

    parts = [df.mapInArrow(kernel(name), "commune_code string, rows bigint")
             .withColumn("source", F.lit(name))
             for name, df in every if df is not None and name not in ("cmnd_map", "deaths")]
    got = (reduce(lambda a, b: a.unionByName(b), parts).groupBy("source", "commune_code")
           .agg(F.sum("rows").alias("rows")).toArrow())
    rows, communes = {name: 0 for name, df in every if df is not None}, {}
    for source, commune, n in zip(*[got.column(c).to_pylist()
                                    for c in ("source", "commune_code", "rows")]):
        rows[source] += n
        communes[commune] = communes.get(commune, 0) + n
    return rows, communes


def _counted(spark, facts, found, cfg):
    """What summary.json counts of the linked sources' rows beyond their findings (`facts` of
    `_links`, `found` the run's findings): the people of the sources counted by person, among
    all their rows and who each flagged row is (a pyarrow table), and the split of the
    extracts indicators (6) and (7) count into new entries (no resident) and matches (a
    resident carries the row's ID under an agreeing name, or the row is linked)."""
    from functools import reduce

    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark.sql import functions as F

    L = _engine()
    schema = pa.schema([("source", pa.string()), ("record_id", pa.string()),
                        ("kind", pa.int8()), ("value", pa.int64())])
    people, persons, splits = [], [], []
    names = [] if facts is None else facts["names"]
    for i, name in enumerate(names):
        how = L.counted_by(name)
        if how is None or name in ("births", "deaths"):
            continue
        ided, offsets = facts["numbered"][i]

        def kernel(batches, name=name, offsets=offsets):
            eng = _engine()
            for batch in batches:
                table, rows = _with_rows(batch, offsets)
                yield eng.person_rows(table, rows, source=name, config_file=cfg)

        linked = facts["linked"]
        mine = linked.filter(pc.equal(linked.column("src"), i))
        lk = spark.createDataFrame(pa.table({
            "row": pc.cast(mine.column("srow"), pa.int64()),
            "lpid": pc.cast(mine.column("personal_id"), pa.int64())}), "row bigint, lpid bigint")
        rows = (ided.mapInArrow(kernel, "row bigint, record_id string, pid bigint, named bigint,"
                                        " data_source string")
                .join(F.broadcast(lk), "row", "left"))
        if how == "people":
            # A linked row is its resident's ID; else its own well-formed ID, else its name
            # and birth date (lamsach::report::indicators::person).
            by_id = F.col("lpid").isNotNull() | F.col("pid").isNotNull()
            who = rows.select("record_id", F.when(by_id, 2).otherwise(3).cast("byte").alias("kind"),
                              F.coalesce("lpid", "pid", "named").alias("value"))
            persons.append(who.select("kind", "value"))
            flagged = pc.unique(found.filter(pc.equal(found.column("source"), name))
                                .column("record_id"))
            wanted = spark.createDataFrame(pa.table({"record_id": flagged}), "record_id string")
            got = (who.join(F.broadcast(wanted), "record_id").dropDuplicates(["record_id"])
                   .toArrow())
            people.append(pa.table({
                "source": pa.array([name] * got.num_rows, pa.string()),
                "record_id": got.column("record_id"),
                "kind": pc.cast(got.column("kind"), pa.int8()),
                "value": got.column("value")}, schema=schema))
        else:
            agrees = facts["info"].where(F.col("src") == i).select("row", "agrees")
            matched = F.coalesce("agrees", F.lit(False)) | F.col("lpid").isNotNull()
            got = (rows.join(agrees, "row", "left")
                   .groupBy("data_source", matched.alias("matched")).count().toArrow())
            per = {}
            for ds, m, n in zip(*[got.column(c).to_pylist()
                                  for c in ("data_source", "matched", "count")]):
                per.setdefault(ds.strip(), [0, 0])[1 if m else 0] += n
            splits += [{"source": name, "data_source": ds, "rows": new + matches,
                        "nhap_moi": new, "doi_khop": matches}
                       for ds, (new, matches) in sorted(per.items())]
    evaluated = 0
    if persons:
        evaluated = reduce(lambda a, b: a.unionByName(b), persons).distinct().count()
    people = pa.concat_tables(people) if people else schema.empty_table()
    return people, {"people_evaluated": evaluated, "splits": splits}


def _write_json(value, path):
    """summary.json as the command line writes it: indented, owner-only, moved into place."""
    import json

    _write_text(json.dumps(value, ensure_ascii=False, indent=2), path)


def _write_text(text, path):
    """Written beside its place, owner-only, then moved into it."""
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _links_schema():
    """links.parquet's columns, as the command line writes them."""
    import pyarrow as pa

    return pa.schema([("source", pa.string()), ("record_id", pa.string()),
                      ("resident_record_id", pa.string()), ("personal_id", pa.string()),
                      pa.field("probability", pa.float64(), nullable=False)])


def _write_parquet(table, path):
    """Written beside its place, owner-only, then moved into it."""
    import pyarrow.parquet as pq

    tmp = f"{path}.partial"
    pq.write_table(table, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _links(spark, d, sources, births, deaths, out, cfg, nparts, work, lap):
    """The links of the extracts `sources` (name, DataFrame), with `births` (DataFrame, date
    as of) the birth registrations' residents, with `deaths` (DataFrame) the residents of
    deaths registered without a usable ID. Returns links.parquet, summary.json's "linking",
    the findings (links', births', deaths') and review rows as pyarrow tables, and what the
    summary counts of the rows linked (`_counted`)."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    L = _engine()
    feats, model, n_res = d["feats"], d["model"], d["records"]

    def rows_kernel(name, offsets):
        def kernel(batches):
            eng = _engine()
            for batch in batches:
                table, rows = _with_rows(batch, offsets)
                yield eng.link_rows(table, rows, source=name, config_file=cfg)
        return kernel

    def step_kernel(step):
        def kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.link_step(step, table)
        return kernel

    # What linking reads of each row: every source's rows, the residents' for their IDs. The
    # birth registrations come after the extracts (source `nb`), linked to find the child's
    # record, then the deaths (source `nd`).
    extracts = len(sources)
    nb = nd = -1
    if births is not None:
        nb = len(sources)
        sources = sources + [("births", births[0])]
    if deaths is not None:
        nd = len(sources)
        sources = sources + [("deaths", deaths)]
    rows_schema = _link_schema("rows")
    for name, df in sources:
        head = df.limit(100).toArrow()
        L.link_rows(head, list(range(head.num_rows)), source=name, config_file=cfg)
    res_rows = d["residents"].mapInArrow(rows_kernel("residents", d["offsets"]), rows_schema)
    counts, numbered = [], []
    for i, (name, df) in enumerate(sources):
        ided, offsets, n = _numbered(df)
        (ided.mapInArrow(rows_kernel(name, offsets), rows_schema)
         .withColumn("src", F.lit(i).cast("int"))
         .write.mode("overwrite").parquet(f"{work}/link/rows/{i}"))
        counts.append(n)
        numbered.append((ided, offsets))
    if not sources:
        return _links_schema().empty_table(), {}, [], [], None
    allrows = spark.read.parquet(*[f"{work}/link/rows/{i}" for i in range(len(sources))])
    lap("rows to link")

    # Per personal ID: whether a resident carries it, the resident whose name a row's own
    # disagrees with (xref.mismatch on full_name).
    def by_id_kernel(batches):
        eng, table = _engine(), _whole(batches)
        if table is not None:
            yield eng.link_by_id(table, [nb] if nb >= 0 else [])

    cols = ["key", "side", "src", "row", "valid", "name", "birth"]
    residents_side = (res_rows.where("valid")
                      .select(F.col("usable_id").alias("key"), F.lit(0).cast("int").alias("side"),
                              F.lit(-1).cast("int").alias("src"), "row", "valid", "name", "birth"))
    rows_side = (allrows.where(F.col("usable_id").isNotNull())
                 .select(F.col("usable_id").alias("key"), F.lit(1).cast("int").alias("side"),
                         "src", "row", "valid", "name", "birth"))
    (residents_side.select(cols).unionByName(rows_side.select(cols))
     .repartition(nparts, "key").sortWithinPartitions("key", "side", "row")
     .mapInArrow(by_id_kernel, _link_schema("by_id"))
     .write.mode("overwrite").parquet(f"{work}/link/by_id"))
    by_id = spark.read.parquet(f"{work}/link/by_id").select("src", "row", "found", "owner",
                                                            "birth_resident", "agrees")
    info = allrows.join(by_id, ["src", "row"], "left")
    why = (F.when(F.col("usable_id").isNull(), 0).when(~F.col("found"), 2)
           .when(F.col("owner").isNotNull(), 1))
    # A registration is linked unless its ID finds its resident (as a row without an ID).
    why = F.when(F.col("src") == nb, F.when(F.col("birth_resident").isNull(), 0)).otherwise(why)
    # A death is linked by name when its ID is not well formed (else the rules matched it).
    why = F.when(F.col("src") == nd, F.when(~F.col("valid"), 0)).otherwise(why)
    ident = (F.col("src").cast("long") * (1 << _SRC_SHIFT) + F.col("row"))
    owed = (info.withColumn("why", why.cast("int")).where(F.col("why").isNotNull())
            .select((ident + _OWED * (1 << _ROLE_SHIFT)).alias("id"), "src", "row", "rec", "why",
                    F.when(F.col("why") == 1, F.col("owner")).alias("owner"),
                    F.when(F.col("valid"), F.col("usable_id")).alias("valid_id")))
    owed.write.mode("overwrite").parquet(f"{work}/link/owed")
    owed = spark.read.parquet(f"{work}/link/owed")
    lap("rows owed a link")

    # The rows sampled to calibrate each source, as the command line samples them.
    owed_rows = owed.select("src", "row").toArrow()
    owed_by_src = {}
    for s, r in zip(owed_rows.column("src").to_pylist(), owed_rows.column("row").to_pylist()):
        owed_by_src.setdefault(s, []).append(r)
    sampled, em, rho = [], [], {}
    for i, n in enumerate(counts):
        stride = _ceil_div(n, _VISIT)
        visited = (info.where((F.col("src") == i) & F.col("valid")
                              & (F.col("row") % stride == 0))
                   .select("row", "found", "usable_id").toArrow().sort_by("row"))
        found = [(r, p) for r, f, p in zip(visited.column("row").to_pylist(),
                                            visited.column("found").to_pylist(),
                                            visited.column("usable_id").to_pylist()) if f]
        rho[i] = (len(found) + 1) / (visited.num_rows + 2)
        mine = sorted(owed_by_src.get(i, []))
        if not mine:
            continue
        sampled += [(i, r, p) for r, p in found[::_ceil_div(len(found), _SAMPLE)]]
        em += [(i, r) for r in mine[::_ceil_div(len(mine), _EM_SAMPLE)]]
    ids = pa.table({
        "id": pa.array([(s << _SRC_SHIFT) + (_SAMPLED << _ROLE_SHIFT) + r for s, r, _ in sampled],
                       pa.int64()),
        "pid": pa.array([p for _, _, p in sampled], pa.int64())})
    picked = spark.createDataFrame(pa.table({
        "src": pa.array([s for s, _, _ in sampled] + [s for s, _ in em], pa.int32()),
        "row": pa.array([r for _, r, _ in sampled] + [r for _, r in em], pa.int64()),
        "role": pa.array([_SAMPLED] * len(sampled) + [_EM] * len(em), pa.int64())}),
        "src int, row bigint, role bigint")
    owed_recs = owed.select("id", "rec", "why", "owner", "valid_id").mapInArrow(
        step_kernel("owed_rows"), _link_schema("owed"))
    owed_recs.write.mode("overwrite").parquet(f"{work}/link/tolink/owed")
    owed_recs = spark.read.parquet(f"{work}/link/tolink/owed")
    role_id = (F.col("src").cast("long") * (1 << _SRC_SHIFT) + F.col("role") * (1 << _ROLE_SHIFT)
               + F.col("row"))
    # Sampled rows as the source's rows are compared (no ID); EM's as owed, without a reason.
    sample_rows = (allrows.join(F.broadcast(picked.where(F.col("role") == _SAMPLED)),
                                ["src", "row"])
                   .select(role_id.alias("id"), "rec"))
    em_rows = (owed_recs.withColumn("src", F.shiftright("id", _SRC_SHIFT).cast("int"))
               .withColumn("row", F.col("id").bitwiseAND((1 << _ROLE_SHIFT) - 1))
               .join(F.broadcast(picked.where(F.col("role") == _EM)), ["src", "row"])
               .select(role_id.alias("id"), "rec"))
    none_int, none_long = F.lit(None).cast("int"), F.lit(None).cast("long")
    tolink = owed_recs.unionByName(
        sample_rows.unionByName(em_rows).select("id", "rec", F.lit(0).cast("int").alias("why"),
                                                none_long.alias("owner")))
    tolink.write.mode("overwrite").parquet(f"{work}/link/tolink/all")
    tolink = spark.read.parquet(f"{work}/link/tolink/all")
    lap("rows sampled")

    # Candidates per (pass, key) block: every resident with a key looked up, whole.
    lookups = _link_schema("lookups")
    owed_lk = tolink.select("id", "rec", "why").mapInArrow(step_kernel("owed_lookups"), lookups)
    res_lk = (feats.select("row", "rank", "rec").mapInArrow(step_kernel("resident_lookups"),
                                                            lookups)
              .join(owed_lk.select("pass", "key").distinct(), ["pass", "key"], "left_semi")
              .join(feats.select("row", "rec"), "row"))
    blocks = (res_lk.select("pass", "key", F.lit(0).cast("int").alias("side"), "row", "rec")
              .unionByName(owed_lk.join(tolink.select(F.col("id").alias("row"), "rec"), "row")
                           .select("pass", "key", F.lit(1).cast("int").alias("side"), "row",
                                   "rec")))

    def cand_kernel(batches):
        eng, table = _engine(), _whole(batches)
        if table is not None:
            yield eng.link_block_candidates(table, config_file=cfg)

    (blocks.repartition(nparts, "pass", "key").sortWithinPartitions("pass", "key", "side", "row")
     .mapInArrow(cand_kernel, _link_schema("candidates"))
     .write.mode("overwrite").parquet(f"{work}/link/candidates"))
    cands = spark.read.parquet(f"{work}/link/candidates")
    lap("candidates")

    # Each row's group: its candidates, its owner, the records kept for their clusters.
    import pyarrow.parquet as pq

    members = pq.read_table(os.path.join(os.fspath(out), "clusters.parquet"))
    members = members.filter(pc.equal(members.column("source"), "residents"))
    cl = (spark.createDataFrame(members.select(["record_id", "cluster_id", "keep"]))
          .join(feats.select("record_id", "row"), "record_id")
          .select("row", F.substring("cluster_id", 2, 20).cast("long").alias("cluster"), "keep"))
    kept = cl.where("keep").select("cluster", F.col("row").alias("kept"))
    cl = cl.select("row", "cluster").join(kept, "cluster")
    need = (cands.select("id", "row", F.lit(True).alias("candidate"))
            .unionByName(tolink.where(F.col("owner").isNotNull())
                         .select("id", F.col("owner").alias("row"),
                                 F.lit(False).alias("candidate"))))
    need = (need.unionByName(need.join(cl, "row")
                             .select("id", F.col("kept").alias("row"),
                                     F.lit(False).alias("candidate")))
            .groupBy("id", "row").agg(F.max("candidate").alias("candidate")))
    group_cols = ["id", "side", "row", "rec", "why", "owner", "indexed", "cluster", "kept",
                  "candidate"]
    res_side = (need.join(feats.select("row", "rec", "rank"), "row").join(cl, "row", "left")
                .select("id", F.lit(1).cast("int").alias("side"), "row", "rec",
                        none_int.alias("why"), none_long.alias("owner"),
                        (F.col("rank") >= 128).alias("indexed"), "cluster", "kept",
                        "candidate"))
    owed_side = tolink.select("id", F.lit(0).cast("int").alias("side"), none_long.alias("row"),
                              "rec", "why", "owner", F.lit(None).cast("boolean").alias("indexed"),
                              none_long.alias("cluster"), none_long.alias("kept"),
                              F.lit(None).cast("boolean").alias("candidate"))
    groups = (owed_side.select(group_cols).unionByName(res_side.select(group_cols))
              .repartition(nparts, "id").sortWithinPartitions("id", "side", "row")
              .persist(StorageLevel.MEMORY_AND_DISK))
    role = F.shiftright("id", _ROLE_SHIFT).bitwiseAND(3)

    # Calibration per source, on the driver, from the sampled rows' comparisons.
    def patterns_kernel(with_ids):
        def kernel(batches):
            eng, table = _engine(), _whole(batches)
            if table is not None:
                yield eng.link_patterns(table, model, ids if with_ids else None)
        return kernel

    def per_src(table):
        src = pc.shift_right(table.column("id"), _SRC_SHIFT)
        return {i: table.filter(pc.equal(src, i)) for i in range(len(sources))}

    patterns = _link_schema("patterns")
    found = per_src(groups.where(role == _SAMPLED).mapInArrow(patterns_kernel(True), patterns)
                    .toArrow())
    need_em = []
    cals = {}
    for i in range(len(sources)):
        owed_n = len(owed_by_src.get(i, []))
        n_sampled = sum(1 for s, _, _ in sampled if s == i)
        cal = L.link_calibrate(model, n_res, rho[i], n_sampled, found[i], owed_n,
                               config_file=cfg)
        if cal is None:
            need_em.append(i)
        else:
            cals[i] = cal
    if need_em:
        em_found = per_src(groups.where(role == _EM).mapInArrow(patterns_kernel(False),
                                                                patterns).toArrow())
        for i in need_em:
            n_em = sum(1 for s, _ in em if s == i)
            cals[i] = L.link_calibrate_by_em(model, n_res, n_em, em_found[i], config_file=cfg)
    lap("calibration")

    # The decisions, each row against its group, with its source's calibration.
    def decide_kernel(batches):
        eng, table = _engine(), _whole(batches)
        if table is None:
            return
        src = pc.shift_right(table.column("id"), _SRC_SHIFT)
        for i, cal in cals.items():
            part = table.filter(pc.equal(src, i))
            if part.num_rows:
                yield eng.link_decide(part, cal, require_id=i != nb, config_file=cfg)

    (groups.where(role == _OWED).mapInArrow(decide_kernel, _link_schema("decided"))
     .write.mode("overwrite").parquet(f"{work}/link/decided"))
    decided = (spark.read.parquet(f"{work}/link/decided")
               .withColumn("src", F.shiftright("id", _SRC_SHIFT).cast("int")))
    # links.parquet holds the extracts' links; a registration's or a death's resident gives
    # its findings.
    linked = (decided.where((F.col("kind") == 1) & ~F.col("src").isin(nb, nd))
              .withColumn("srow", F.col("id").bitwiseAND((1 << _ROLE_SHIFT) - 1))
              .join(allrows.select("src", F.col("row").alias("srow"), "record_id"),
                    ["src", "srow"])
              .join(feats.select(F.col("row").alias("resident"),
                                 F.col("record_id").alias("resident_record_id")), "resident")
              .select("src", "srow", "record_id", "resident_record_id", "personal_id",
                      "probability")
              .toArrow().sort_by([("src", "ascending"), ("srow", "ascending")]))
    groups.unpersist()
    names = [name for name, _ in sources]
    # Each extract's link findings and rows for review (the deaths': the residents still
    # alive), from its decided rows and the residents they name, fetched with their columns.
    findings, review = [], []
    mask = (1 << _ROLE_SHIFT) - 1
    deaths_linked = 0
    for i, name in enumerate(names):
        if i == nb:
            continue
        mine = decided.where(F.col("src") == i).drop("src").toArrow()
        if mine.num_rows == 0:
            continue
        ids = sorted(set(mine.column("id").to_pylist()))
        rows, _ = _rows_of(spark, *numbered[i], [x & mask for x in ids])
        people, res_rows = _rows_of(spark, d["residents"], d["offsets"],
                                    sorted(set(mine.column("resident").to_pylist())))
        f, r = L.link_outputs(rows, ids, people, res_rows, mine, source=name, config_file=cfg)
        findings.append(f)
        review.append(r)
        if i == nd:
            deaths_linked = pc.sum(pc.equal(mine.column("kind"), 1)).as_py() or 0
    births_linked = 0
    if nb >= 0:
        # Every registration judged against its resident: the one its ID finds, else the one
        # it was linked to; one that fits several residents is not claimed missing.
        mine = decided.where(F.col("src") == nb).select("id", "kind", "resident").toArrow()
        resident = [None] * counts[nb]
        ambiguous = [False] * counts[nb]
        by_id = (info.where((F.col("src") == nb) & F.col("birth_resident").isNotNull())
                 .select("row", "birth_resident").toArrow())
        for r, res in zip(by_id.column("row").to_pylist(),
                          by_id.column("birth_resident").to_pylist()):
            resident[r] = res
        for x, kind, res in zip(*[mine.column(c).to_pylist() for c in ("id", "kind", "resident")]):
            if kind == 1:
                resident[x & mask] = res
                births_linked += 1
            else:
                ambiguous[x & mask] = True
        regs, _ = _rows_of(spark, *numbered[nb], None)
        people, res_rows = _rows_of(spark, d["residents"], d["offsets"],
                                    sorted({r for r in resident if r is not None}))
        findings.append(L.birth_findings(regs, people, res_rows, resident, ambiguous,
                                         as_of=births[1], config_file=cfg))
    links = pa.table({
        "source": pa.array([names[s] for s in linked.column("src").to_pylist()], pa.string()),
        "record_id": linked.column("record_id"),
        "resident_record_id": linked.column("resident_record_id"),
        "personal_id": linked.column("personal_id"),
        "probability": pa.array(linked.column("probability").to_pylist(), pa.float64()),
    }, schema=_links_schema())
    srcs = linked.column("src").to_pylist()
    stats = {}
    for i, name in enumerate(names):
        c = json.loads(cals[i])
        stats[name] = {
            "candidate_recall": None if c["beta"] is None else round(c["beta"], 4),
            "ids_found_in_residents": round(c["rho"], 4),
            "linked": {nb: births_linked, nd: deaths_linked}.get(i, srcs.count(i)),
            "rows_to_link": len(owed_by_src.get(i, []))}
    lap("decisions")
    facts = {"numbered": numbered, "info": info, "linked": linked, "names": names}
    return links, stats, findings, review, facts


def _rows_of(spark, ided, offsets, rows):
    """The rows numbered `rows` (sorted; None: every row) of a `_numbered` DataFrame, with its
    columns, on the driver, and their numbers."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    starts = spark.createDataFrame(pa.table({
        "_p": pa.array(list(offsets), pa.int64()),
        "_start": pa.array(list(offsets.values()), pa.int64())}))
    got = (ided.withColumn("_p", F.shiftright(_MID, _PART_SHIFT)).join(F.broadcast(starts), "_p")
           .withColumn("_row", F.col("_start")
                       + F.col(_MID).bitwiseAND((1 << _PART_SHIFT) - 1))
           .drop(_MID, "_p", "_start"))
    if rows is not None:
        wanted = spark.createDataFrame(pa.table({"_row": pa.array(rows, pa.int64())}))
        got = got.join(F.broadcast(wanted), "_row")
    got = got.toArrow().sort_by("_row")
    numbers = got.column("_row").to_pylist()
    if rows is None:
        rows = list(range(len(numbers)))
    if numbers != rows:
        raise RuntimeError("lamsach.spark: rows of a decision are missing from their source")
    return got.drop_columns(["_row"]), numbers
