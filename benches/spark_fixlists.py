"""Time spark.check's fix-list step alone on a finished run (no whole rerun): the step reads
the run's duplicates, review and clusters, its findings and links, and the inputs, writes the
fix lists into a scratch directory and compares every file with the CLI's byte for byte.

    SPARK_PARTITIONS=64 PYSPARK_PYTHON=… python benches/spark_fixlists.py \\
        DATA_DIR SPARK_RUN_DIR CLI_RUN_DIR SCRATCH_DIR

(the directories benches/spark.sh leaves with SPARK_BENCH=check: national-N,
spark-whole-N, spark-whole-cli-N). Prints seconds and file counts, never a cell value."""
import filecmp
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_spark import session  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402
from lamsach import spark as ls  # noqa: E402

data, run, cli, out = sys.argv[1:5]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
for f in ("duplicates", "review", "clusters"):
    shutil.copy(os.path.join(run, f"{f}.parquet"), out)
spark = session()
sources = [(s, spark.read.parquet(os.path.join(data, f"{s}.parquet")))
           for s in ("residents", "vaccination", "insurance", "births")]
found = pq.read_table(os.path.join(run, "findings.parquet"))
links = pq.read_table(os.path.join(run, "links.parquet"))
t = time.time()
files = ls._fixlists(spark, sources, found, links, out, "2026-01-01", None)
secs = time.time() - t
spark.stop()
same = all(filecmp.cmp(os.path.join(out, f), os.path.join(cli, f), shallow=False)
           for f in files)
listed = len(os.listdir(os.path.join(cli, "fixlists")))
print(f"fix lists: {secs:.1f} s, {len(files)} files (the CLI's: {listed}); "
      f"the same bytes: {same and len(files) == listed}")
