"""lamsach.spark.findings on a local Spark with 2 executor threads gives the rule findings of
`lamsach check`: 20 000 generated people with every source (residents, vaccination,
insurance, births, the CMND crosswalk, deaths), each a DataFrame of several partitions, the
rules across rows and sources run on the rows of each key brought together by a shuffle.
Every finding row but the matching phase's is compared. Skipped, saying why, when pyspark or
Java is missing."""
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

from local_spark import local_spark

BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")
SOURCES = ["residents", "vaccination", "insurance", "births", "cmnd_map", "deaths"]
# The matching phase's findings (pairs, links and what rests on them) are not rules.
MATCHING = ("dup.", "link.", "birth.", "id.shared", "alive.probably_deceased")


def as_rows(table):
    table = table.drop_columns([c for c in table.column_names if c == "status"])
    cols = sorted(table.column_names)
    return Counter(zip(*[table.column(c).to_pylist() for c in cols])), cols


def main():
    spark = local_spark("lamsach-test-findings")
    if spark is None:
        return 0
    import pyarrow as pa
    import pyarrow.parquet as pq
    from lamsach import spark as ls

    tmp = tempfile.mkdtemp(prefix="lamsach-spark-findings-")
    data = os.path.join(tmp, "data")
    subprocess.run([BIN, "generate", "--out", data, "--people", "20000", "--seed", "8",
                    "--quiet"], check=True)
    cli = os.path.join(tmp, "cli")
    args = [BIN, "check", "--as-of", "2026-01-01", "--quiet", "--out", cli]
    for s in SOURCES:
        args += [f"--{s.replace('_', '-')}", f"{data}/{s}.parquet"]
    subprocess.run(args, check=True)
    try:
        # DataFrames of tables in memory: several partitions that keep the rows' order.
        dfs = {s: spark.createDataFrame(pq.read_table(f"{data}/{s}.parquet")) for s in SOURCES}
        assert dfs["residents"].rdd.getNumPartitions() > 1
        got = ls.findings(spark, dfs["residents"], as_of="2026-01-01",
                          **{s: dfs[s] for s in SOURCES[1:]}).toArrow()
        want = pq.read_table(f"{cli}/findings.parquet")
        # A death registered without an ID and linked by name carries the link's score.
        want = want.filter(pa.array([
            not (r.startswith(MATCHING) or (r == "alive.deceased_active" and s is not None))
            for r, s in zip(want.column("rule").to_pylist(), want.column("score").to_pylist())]))
        got_rows, got_cols = as_rows(got)
        want_rows, want_cols = as_rows(want)
        assert got_cols == want_cols, (got_cols, want_cols)
        rules = Counter(r for r in want.column("rule").to_pylist())
        # The rules across rows and sources all fire on this data.
        for rule in ["household.no_head", "household.multiple_heads", "cmnd.mapped",
                     "cmnd.unmapped", "xref.not_found", "xref.mismatch",
                     "alive.deceased_active", "alive.event_after_death",
                     "alive.linked_deceased", "insurance.code_shared",
                     "insurance.multiple_codes", "residence.not_registered"]:
            assert rules[rule] > 3, (rule, rules[rule])
        missing, extra = want_rows - got_rows, got_rows - want_rows
        assert not missing and not extra, (sum(missing.values()), sum(extra.values()),
                                           list(missing)[:3], list(extra)[:3])
        print(f"ok  spark findings: {want.num_rows} rule findings of {len(rules)} rules over "
              "6 sources in several partitions, as the command line's")
        # A source without a required column is refused on the driver, in one sentence that
        # names the source and the column, before any task runs, and no cell is quoted.
        broken = dfs["vaccination"].drop("full_name")
        try:
            ls.findings(spark, dfs["residents"], as_of="2026-01-01", vaccination=broken)
        except ValueError as e:
            message = str(e)
            assert "vaccination" in message and "full_name" in message, message
            first = dfs["vaccination"].first()
            assert first.record_id not in message and first.personal_id not in message
        else:
            raise AssertionError("a source without full_name was accepted")
        print("ok  spark findings: a source without a required column is named on the driver")
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
