"""lamsach.spark.link on a local Spark with 2 executor threads links the extracts' rows as the
command line's `lamsach check` does: the same links (row, resident, personal ID, probability)
and per source the same rows to link, rows linked and calibration shares — on 20 000
generated people of each noise profile with vaccination and insurance extracts, read as
DataFrames of several partitions, and again under a block cap of 4. Skipped, saying why, when pyspark or Java is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from local_spark import local_spark

BIN = os.environ.get("LAMSACH_BIN", "target/release/lamsach")


def rows(path):
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return sorted(zip(*[t.column(c).to_pylist() for c in t.column_names]), key=repr)


def same_links(spark, tmp, noise, cap=None):
    from lamsach import spark as ls

    data = os.path.join(tmp, noise)
    if not os.path.exists(data):
        # Two provinces and many duplicates: crowded blocks and clusters.
        subprocess.run([BIN, "generate", "--out", data, "--people", "20000", "--seed", "5",
                        "--noise", noise, "--provinces", "2", "--dup-rate", "0.08",
                        "--error-rate", "0.05", "--quiet"], check=True)
    config = []
    if cap is not None:
        # The config reaches the executors: a block cap under which a pass keeps only the
        # first residents of a block in its scope, in row order.
        config = [os.path.join(tmp, "cap.toml")]
        with open(config[0], "w") as f:
            f.write(f"[matching]\nmax_block_size = {cap}\n")
    name = f"{noise}-{cap}"
    p = lambda f: f"{data}/{f}.parquet"  # noqa: E731
    cli = os.path.join(tmp, f"{name}-cli")
    subprocess.run([BIN, "check", "--as-of", "2026-01-01", "--residents", p("residents"),
                    "--vaccination", p("vaccination"), "--insurance", p("insurance"),
                    "--cmnd-map", p("cmnd_map"), "--deaths", p("deaths"), "--births",
                    p("births"), "--out", cli, "--quiet",
                    *[a for c in config for a in ("--config", c)]], check=True)
    out = os.path.join(tmp, f"{name}-spark")
    # Extracts as tables in memory, in several partitions that keep the rows' order.
    import pyarrow.parquet as pq

    def read(f):
        df = spark.createDataFrame(pq.read_table(p(f)))
        assert df.rdd.getNumPartitions() > 1
        return df

    summary = ls.link(spark, spark.read.parquet(p("residents")), vaccination=read("vaccination"),
                      insurance=read("insurance"), out=out,
                      config_file=config[0] if config else None)
    with open(os.path.join(cli, "summary.json")) as f:
        want = json.load(f)
    for source in ("vaccination", "insurance"):
        assert summary["linking"][source] == want["linking"][source], (
            source, summary["linking"][source], want["linking"][source])
    got, exp = rows(os.path.join(out, "links.parquet")), rows(os.path.join(cli, "links.parquet"))
    assert got == exp, (len(got), len(exp), [r for r in got if r not in exp][:3],
                        [r for r in exp if r not in got][:3])
    linked = sum(want["linking"][s]["linked"] for s in ("vaccination", "insurance"))
    assert len(exp) == linked and linked > 200, (len(exp), linked)
    print(f"ok  spark link ({noise}, block cap {cap}): {len(exp)} links as the command line's, "
          f"{sum(want['linking'][s]['rows_to_link'] for s in ('vaccination', 'insurance'))} "
          "rows to link")


def main():
    spark = local_spark("lamsach-test-link")
    if spark is None:
        return 0
    tmp = tempfile.mkdtemp(prefix="lamsach-spark-link-")
    try:
        for noise, cap in [("standard", None), ("registers", None), ("registers", 4)]:
            same_links(spark, tmp, noise, cap)
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
