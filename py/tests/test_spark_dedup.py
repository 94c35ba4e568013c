"""lamsach.spark.dedup on a local Spark with 2 executor threads gives the command line's
`lamsach dedup` answer: the same duplicate pairs (with their probabilities and levels), pairs
for review, clusters with the same record to keep, and findings — on 60 000 generated people
with IDs (the model trained on the pairs sharing an ID), and on 20 000 of a register without
IDs in a DataFrame of several partitions (the model trained on candidate pairs). Skipped,
saying why, when pyspark or Java is missing."""
import os
import shutil
import subprocess
import sys
import tempfile

from local_spark import local_spark

BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")
FILES = ["duplicates.parquet", "review.parquet", "clusters.parquet", "findings.parquet"]


def rows(path):
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return sorted(zip(*[t.column(c).to_pylist() for c in t.column_names]), key=repr)


def same_answer(spark, tmp, name, people, generate_args, in_memory=False):
    from lamsach import spark as ls

    data = os.path.join(tmp, name)
    subprocess.run([BIN, "generate", "--out", data, "--people", str(people), "--quiet",
                    *generate_args], check=True)
    cli = os.path.join(tmp, f"{name}-cli")
    subprocess.run([BIN, "dedup", "--residents", f"{data}/residents.parquet", "--out", cli,
                    "--quiet"], check=True)
    out = os.path.join(tmp, f"{name}-spark")
    if in_memory:
        # A DataFrame of a table in memory, in several partitions that keep the rows' order.
        import pyarrow.parquet as pq

        df = spark.createDataFrame(pq.read_table(f"{data}/residents.parquet"))
        assert df.rdd.getNumPartitions() > 1
    else:
        df = spark.read.parquet(f"{data}/residents.parquet")
    summary = ls.dedup(spark, df, out=out)
    import json

    with open(os.path.join(cli, "summary.json")) as f:
        want = json.load(f)
    assert summary["rows_read"] == want["rows_read"], summary["rows_read"]
    assert summary["duplicates"] == want["duplicates"], (summary["duplicates"],
                                                         want["duplicates"])
    assert summary["findings_per_rule"] == want["findings_per_rule"]
    assert summary["matching"]["training"]["method"] == want["matching"]["training"]["method"]
    for f in FILES:
        got, exp = rows(os.path.join(out, f)), rows(os.path.join(cli, f))
        assert got == exp, (f, len(got), len(exp), [r for r in got if r not in exp][:3],
                            [r for r in exp if r not in got][:3])
    d = want["duplicates"]
    assert d["pairs"] > 200 and d["clusters"] > 150, d
    print(f"ok  spark dedup ({name}): {d['pairs']} pairs, {d['review_pairs']} to review, "
          f"{d['clusters']} clusters, {sum(want['findings_per_rule'].values())} findings, "
          f"training '{want['matching']['training']['method']}' — as `lamsach dedup`")


def main():
    spark = local_spark("lamsach-dedup-test")
    if spark is None:
        return 0
    from lamsach import spark as ls

    tmp = tempfile.mkdtemp(prefix="lamsach-spark-dedup-")
    try:
        same_answer(spark, tmp, "ids", 60000, ["--seed", "9"])
        same_answer(spark, tmp, "registers-noids", 20000,
                    ["--seed", "10", "--noise", "registers", "--without-ids"], in_memory=True)
        # Bad input is refused on the driver with the engine's sentence, and nothing is written.
        bad = spark.createDataFrame([("r1", "Nguyễn Văn A")], "record_id string, full_name string")
        out = os.path.join(tmp, "bad")
        try:
            ls.dedup(spark, bad, out=out)
            raise AssertionError("a table without the required columns was accepted")
        except ValueError as e:
            said = str(e)
        assert "residents" in said and "Nguyễn" not in said, said
        assert not os.path.exists(os.path.join(out, "summary.json"))
        print(f"ok  spark dedup refuses a table without its columns: {said}")
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
