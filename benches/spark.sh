#!/usr/bin/env bash
# lamsach in Spark beside the command line (docs/BENCHMARKS.md, "Spark"). For each size:
# generate PEOPLE people over the 34 provinces (kept in $BENCH_DIR/national-N), run
# `lamsach dedup` (wall time, peak memory by GNU time), then `lamsach.spark.dedup` on Spark
# local[2] (wall time of the call, and with the Spark start; peak memory of the executor JVM
# and of its Python workers is not one number: the driver's is given), and check that both
# wrote the same pairs, clusters and findings. Needs py/test.sh to have built the package
# (target/py-venv) and Java 17.
# Usage: benches/spark.sh PEOPLE...   e.g. benches/spark.sh 1000000 10000000
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
dir=${BENCH_DIR:-/tmp/lamsach-bench}
venv=${LAMSACH_PY_VENV:-target/py-venv}
mkdir -p "$dir"
cargo build --release --quiet
bin=target/release/lamsach
export PYSPARK_PYTHON="$PWD/$venv/bin/python"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB"
for n in "${sizes[@]}"; do
  d="$dir/national-$n"
  if [ ! -f "$d/residents.parquet" ]; then
    "$bin" generate --out "$d" --people "$n" --provinces 34 --quiet
  fi
  cli="$dir/spark-cli-$n"
  rm -rf "$cli"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" dedup --quiet \
    --residents "$d/residents.parquet" --out "$cli"
  read -r secs kb < "$dir/time.txt"
  echo "$n people: lamsach dedup ${secs} s, peak $((kb / 1024)) MB"
  "$PYSPARK_PYTHON" - "$d/residents.parquet" "$dir/spark-out-$n" "$cli" <<'PY'
import json, os, shutil, sys, time
t0 = time.time()
from pyspark.sql import SparkSession
from lamsach import spark as ls
import pyarrow.parquet as pq

residents, out, cli = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
spark = (SparkSession.builder.master("local[2]").appName("lamsach-bench")
         .config("spark.driver.memory", "6g").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "8").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t1 = time.time()
s = ls.dedup(spark, spark.read.parquet(residents), out=out)
t2 = time.time()
spark.stop()
same = all(
    pq.read_table(os.path.join(out, f)).sort_by([(c, "ascending") for c in cols])
    .equals(pq.read_table(os.path.join(cli, f)).sort_by([(c, "ascending") for c in cols]))
    for f, cols in [("duplicates.parquet", ["record_id_a", "record_id_b"]),
                    ("clusters.parquet", ["record_id"])])
print(f"  lamsach.spark.dedup on local[2]: {t2 - t1:.1f} s ({t2 - t0:.1f} s with the Spark "
      f"start); {s['duplicates']['pairs']} pairs, {s['duplicates']['clusters']} clusters; "
      f"same pairs and clusters as the CLI: {same}")
PY
done
