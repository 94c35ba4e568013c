"""lamsach.spark on a local Spark with 2 executor threads: the per-row findings of a
residents DataFrame in 3 partitions are those of lamsach.rules on the whole table. Skipped,
saying why, when pyspark or Java is missing."""
import os
import shutil
import subprocess
import sys
import tempfile

from local_spark import local_spark

BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")


def main():
    spark = local_spark("lamsach-test")
    if spark is None:
        return 0
    import pyarrow.parquet as pq
    import lamsach
    from lamsach import spark as ls

    tmp = tempfile.mkdtemp(prefix="lamsach-spark-")
    data = os.path.join(tmp, "data")
    subprocess.run([BIN, "generate", "--out", data, "--people", "20000", "--seed", "8",
                    "--quiet"], check=True)
    try:
        df = spark.read.parquet(f"{data}/residents.parquet").repartition(3)
        got = ls.rules(df, as_of="2026-01-01").select("record_id", "rule", "field").collect()
        got = sorted((r.record_id, r.rule, r.field) for r in got)
        table = lamsach.rules(pq.read_table(f"{data}/residents.parquet"), as_of="2026-01-01")
        want = sorted(zip(*[table.column(c).to_pylist() for c in ["record_id", "rule", "field"]]))
        assert len(want) > 100, len(want)
        assert got == want, (len(got), len(want))
        print(f"ok  spark rules: {len(got)} per-row findings over 3 partitions, as on one machine")
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
