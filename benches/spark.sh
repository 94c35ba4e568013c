#!/usr/bin/env bash
# lamsach in Spark beside the command line (docs/BENCHMARKS.md, "Spark"). For each size:
# generate PEOPLE people over the 34 provinces (kept in $BENCH_DIR/national-N), run
# `lamsach dedup` (wall time, peak memory by GNU time), then `lamsach.spark.dedup` on Spark
# local[2] (wall time of the call, and with the Spark start; peak memory of the executor JVM
# and of its Python workers is not one number: the driver's is given), and check that both
# wrote the same pairs, clusters and findings. Then the rules of `check` over every source:
# `lamsach check` (its read, prepare and rules phases from summary.json's timings, and the
# whole run) beside `lamsach.spark.findings` written to Parquet, and whether both give the same
# rule findings. Needs py/test.sh to have built the package (target/py-venv) and Java 17.
# Usage: benches/spark.sh PEOPLE...   e.g. benches/spark.sh 1000000 10000000
# Then the links of extracts: `lamsach check` with the vaccination and insurance extracts beside
# `lamsach.spark.link`, and whether both give the same links.parquet and linking figures.
# Then the whole `check` (SPARK_BENCH=check, not part of "all"): `lamsach check` with the
# extracts, the births, the CMND map and the deaths beside `lamsach.spark.check`, and whether both write the same
# findings, duplicates, clusters, review rows, links, summary.json figures and fix lists.
# SPARK_BENCH=nightly runs the whole check, then the next night of each with --previous.
# SPARK_BENCH=dedup, findings, link or check runs one of them; SPARK_PARTITIONS sets the
# shuffle partitions (default 8; 64 at 10 M people keeps each task small).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000}")
dir=${BENCH_DIR:-/tmp/lamsach-bench}
venv=${LAMSACH_PY_VENV:-target/py-venv}
mkdir -p "$dir"
cargo build --release --quiet
. benches/fresh.sh
bin=target/release/lamsach
case $venv in /*) ;; *) venv="$PWD/$venv" ;; esac
export PYSPARK_PYTHON="$venv/bin/python"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB"
steps=${SPARK_BENCH:-all}
# The whole `check` with every source, the command line's then Spark's, and whether both
# write the same outputs: whole_check PEOPLE CLI_OUT SPARK_OUT AS_OF [CLI_PREVIOUS SPARK_PREVIOUS].
whole_check() {
  local n=$1 cli=$2 out=$3 as_of=$4 cli_prev=${5:-} spark_prev=${6:-}
  local d="$dir/national-$n"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" check --quiet --as-of "$as_of" \
    --residents "$d/residents.parquet" --vaccination "$d/vaccination.parquet" \
    --insurance "$d/insurance.parquet" --cmnd-map "$d/cmnd_map.parquet" \
    --births "$d/births.parquet" --deaths "$d/deaths.parquet" --out "$cli" \
    ${cli_prev:+--previous "$cli_prev"} || true
  read -r secs kb < "$dir/time.txt"
  echo "$n people, every source${cli_prev:+, second night}: lamsach check ${secs} s, peak $((kb / 1024)) MB"
  "$PYSPARK_PYTHON" - "$d" "$out" "$cli" "$as_of" "$spark_prev" <<'PY'
import os, shutil, sys, time
t0 = time.time()
sys.path.insert(0, "benches")
from bench_spark import session
from lamsach import spark as ls
import pyarrow.parquet as pq

data, out, cli, as_of, previous = sys.argv[1:6]
shutil.rmtree(out, ignore_errors=True)
spark = session()
t1 = time.time()
read = lambda s: spark.read.parquet(f"{data}/{s}.parquet")
s = ls.check(spark, read("residents"), as_of=as_of, vaccination=read("vaccination"),
             insurance=read("insurance"), cmnd_map=read("cmnd_map"), births=read("births"),
             deaths=read("deaths"), out=out, previous=previous or None)
t2 = time.time()
spark.stop()
rows = lambda p: sorted(zip(*[c.to_pylist() for c in pq.read_table(p).columns]), key=repr)
files = ("findings", "duplicates", "clusters", "review", "links", "resolved")
differ = [f for f in files if rows(f"{out}/{f}.parquet") != rows(f"{cli}/{f}.parquet")]
# summary.json: every figure but the seconds, the candidate pairs compared and per pass, and
# where the previous run and its model are.
import json
want = json.load(open(f"{cli}/summary.json"))
process = ("pairs_compared", "pairs_per_blocking_pass", "pairs_proposed_by_one_pass_only")
for k in want:
    if k == "duplicates":
        if "training" in want[k] and want[k]["training"].get("reused_from"):
            s[k]["training"]["reused_from"] = want[k]["training"]["reused_from"]
        differ += [f"duplicates.{d}" for d in want[k] if d not in process
                   and want[k][d] != s[k].get(d)]
    elif k not in ("timings_seconds", "previous") and want[k] != s.get(k):
        differ.append(k)
# The communes' fix lists, file for file.
lists = sorted(os.listdir(f"{cli}/fixlists"))
if sorted(os.listdir(f"{out}/fixlists")) != lists:
    differ.append("fixlists (files)")
differ += [f"fixlists/{n}" for n in lists if os.path.exists(f"{out}/fixlists/{n}")
           and open(f"{out}/fixlists/{n}", "rb").read() != open(f"{cli}/fixlists/{n}", "rb").read()][:5]
new = sum(1 for x in pq.read_table(f"{out}/findings.parquet", columns=["status"])
          .column(0).to_pylist() if x == "new")
print(f"  lamsach.spark.check on local[2]{' (second night)' if previous else ''}: "
      f"{t2 - t1:.1f} s ({t2 - t0:.1f} s with the Spark start); {s['findings_total']} findings "
      f"({new} new), {s['duplicates']['links']} links, model {s['duplicates']['training']['method']}; "
      f"the same {', '.join(files)}, summary.json and {len(lists)} fix-list files as the CLI: "
      f"{not differ} {differ or ''}")
PY
}

for n in "${sizes[@]}"; do
  d="$dir/national-$n"
  if [ ! -f "$d/residents.parquet" ]; then
    "$bin" generate --out "$d" --people "$n" --provinces 34 --quiet
  fi
  if [ "$steps" = all ] || [ "$steps" = dedup ]; then
  cli=$(fresh "$dir/spark-cli-$n")
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" dedup --quiet \
    --residents "$d/residents.parquet" --out "$cli"
  read -r secs kb < "$dir/time.txt"
  echo "$n people: lamsach dedup ${secs} s, peak $((kb / 1024)) MB"
  "$PYSPARK_PYTHON" - "$d/residents.parquet" "$(fresh "$dir/spark-out-$n")" "$cli" <<'PY'
import json, os, shutil, sys, time
t0 = time.time()
sys.path.insert(0, "benches")
from bench_spark import session
from lamsach import spark as ls
import pyarrow.parquet as pq

residents, out, cli = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
spark = session()
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
  fi
  if [ "$steps" = all ] || [ "$steps" = findings ]; then
  cli=$(fresh "$dir/spark-check-$n")
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" check --quiet --as-of 2026-01-01 \
    --residents "$d/residents.parquet" --vaccination "$d/vaccination.parquet" \
    --insurance "$d/insurance.parquet" --births "$d/births.parquet" \
    --cmnd-map "$d/cmnd_map.parquet" --deaths "$d/deaths.parquet" --out "$cli" || true
  read -r secs kb < "$dir/time.txt"
  rules=$("$PYSPARK_PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1]))["timings_seconds"]; print(round(sum(t.get(k,0) for k in ("read","prepare","rules")),1))' "$cli/summary.json")
  echo "$n people, every source: lamsach check ${secs} s (read + prepare + rules ${rules} s), peak $((kb / 1024)) MB"
  "$PYSPARK_PYTHON" - "$d" "$(fresh "$dir/spark-findings-$n")" "$cli" <<'PY'
import os, shutil, sys, time
from collections import Counter
t0 = time.time()
sys.path.insert(0, "benches")
from bench_spark import session
from lamsach import spark as ls
import pyarrow.parquet as pq

data, out, cli = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
spark = session()
t1 = time.time()
src = {s: spark.read.parquet(f"{data}/{s}.parquet")
       for s in ["residents", "vaccination", "insurance", "births", "cmnd_map", "deaths"]}
ls.findings(spark, src.pop("residents"), as_of="2026-01-01", **src).write.parquet(out)
t2 = time.time()
spark.stop()
matching = ("dup.", "link.", "birth.", "id.shared", "alive.probably_deceased")
def rows(t):
    t = t.drop_columns([c for c in t.column_names if c == "status"])
    return Counter(r for r in zip(*[t.column(c).to_pylist() for c in sorted(t.column_names)])
                   if not (r[sorted(t.column_names).index("rule")].startswith(matching)))
want = pq.read_table(os.path.join(cli, "findings.parquet"))
want = want.select(pq.read_table(out).column_names)
got = rows(pq.read_table(out))
linked_deaths = sum(1 for r, s in zip(want.column("rule").to_pylist(), want.column("score").to_pylist())
                    if r == "alive.deceased_active" and s is not None)
print(f"  lamsach.spark.findings on local[2]: {t2 - t1:.1f} s ({t2 - t0:.1f} s with the Spark "
      f"start); {sum(got.values())} findings; the same as the CLI's rule findings: "
      f"{got == rows(want)} (deaths linked by name, not rules: {linked_deaths})")
PY
  fi
  if [ "$steps" = all ] || [ "$steps" = link ]; then
  cli=$(fresh "$dir/spark-link-cli-$n")
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" check --quiet --as-of 2026-01-01 \
    --residents "$d/residents.parquet" --vaccination "$d/vaccination.parquet" \
    --insurance "$d/insurance.parquet" --out "$cli" || true
  read -r secs kb < "$dir/time.txt"
  echo "$n people, vaccination and insurance: lamsach check ${secs} s, peak $((kb / 1024)) MB"
  "$PYSPARK_PYTHON" - "$d" "$(fresh "$dir/spark-link-$n")" "$cli" <<'PY'
import json, os, shutil, sys, time
t0 = time.time()
sys.path.insert(0, "benches")
from bench_spark import session
from lamsach import spark as ls
import pyarrow.parquet as pq

data, out, cli = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
spark = session()
t1 = time.time()
read = lambda s: spark.read.parquet(f"{data}/{s}.parquet")
s = ls.link(spark, read("residents"), vaccination=read("vaccination"),
            insurance=read("insurance"), out=out)
t2 = time.time()
spark.stop()
rows = lambda p: sorted(zip(*[c.to_pylist() for c in pq.read_table(p).columns]), key=repr)
want = json.load(open(os.path.join(cli, "summary.json")))["linking"]
same = rows(f"{out}/links.parquet") == rows(f"{cli}/links.parquet") and all(
    s["linking"][k] == want[k] for k in ("vaccination", "insurance"))
print(f"  lamsach.spark.link on local[2] (dedup, then links): {t2 - t1:.1f} s ({t2 - t0:.1f} s "
      f"with the Spark start); {s['links']} links; the same links and linking figures as the "
      f"CLI: {same}")
PY
  fi
  if [ "$steps" = check ] || [ "$steps" = nightly ]; then
  first_cli=$(fresh "$dir/spark-whole-cli-$n") first=$(fresh "$dir/spark-whole-$n")
  whole_check "$n" "$first_cli" "$first" 2026-01-01
  fi
  if [ "$steps" = nightly ]; then
  # The next night on the same data: each compares with its own first night (findings open,
  # cluster IDs kept, the model reused).
  whole_check "$n" "$(fresh "$dir/spark-whole-cli-$n-night2")" \
    "$(fresh "$dir/spark-whole-$n-night2")" 2026-01-02 "$first_cli" "$first"
  fi
done
for n in "${sizes[@]}"; do
  for base in spark-cli spark-out spark-check spark-findings spark-link-cli spark-link \
      spark-whole-cli spark-whole; do
    prune "$dir/$base-$n" "$dir/$base-$n-night2"
  done
done
