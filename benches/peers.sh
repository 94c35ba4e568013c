#!/usr/bin/env bash
# Side by side on the same generated data (docs/BENCHMARKS.md, "Against DuckDB and Splink"):
#   1. lamsach check on the residents (every rule, duplicates, all outputs), and lamsach dedup
#      (duplicate detection only: the like-for-like peer of Splink);
#   2. DuckDB running the ID-structure, completeness and household checks as SQL over the
#      same Parquet file (benches/peers/duckdb_checks.py), writing its findings to Parquet;
#   3. Splink 5 on DuckDB deduplicating the same residents (benches/peers/splink_dedup.py).
# Wall time and peak memory by GNU time for each; duplicate F1 against the truth for 1 and 3.
# The peers install from PyPI into a virtual environment this script creates.
# Usage: benches/peers.sh [PEOPLE]   (default 1000000). Nothing is written in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
dir=${BENCH_DIR:-/tmp/lamsach-bench}
venv="$dir/venv"
mkdir -p "$dir"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb 'splink>=5,<6'
fi
echo "peers: $("$venv/bin/python" -c 'import duckdb, splink; print("duckdb", duckdb.__version__, "splink", splink.__version__)')"
cargo build --release --quiet
bin=target/release/lamsach
d="$dir/data-$n"
if [ ! -f "$d/residents.parquet" ]; then
  "$bin" generate --out "$d" --people "$n" --quiet
fi
measure() { # label, command... ; prints wall seconds and peak MB, keeps stdout in $dir/out.txt
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > "$dir/out.txt"
  read -r secs kb < "$dir/time.txt"
  printf '%-46s %8.1f s %8.0f MB\n' "$label" "$secs" "$((kb / 1024))"
}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB; generate --people $n"
. benches/fresh.sh
run=$(fresh "$dir/peers-run")
measure "lamsach check --residents (all rules+dedup)" "$bin" check --quiet --as-of 2026-01-01 \
  --residents "$d/residents.parquet" --out "$run"
python3 - "$run/summary.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["timings_seconds"]
print("  resident rows:", json.load(open(sys.argv[1]))["rows_read"]["residents"])
print("  of which read+prepare+rules: %.1f s, matching %.1f s, outputs+fix lists %.1f s"
      % (t["read"] + t["prepare"] + t["rules"],
         sum(v for k, v in t.items() if k.startswith("matching.")), t["outputs"]))
PY
"$bin" eval --run "$run" --truth "$d" | grep -E "^duplicate pairs" | sed 's/^/  /'
dedup=$(fresh "$dir/peers-dedup")
measure "lamsach dedup --residents (duplicates only)" "$bin" dedup --quiet \
  --residents "$d/residents.parquet" --out "$dedup"
echo "  duplicate pairs: $("$venv/bin/python" benches/peers/pair_f1.py "$d" "$dedup/duplicates.parquet")"
measure "DuckDB SQL: ID structure, completeness, households" "$venv/bin/python" \
  benches/peers/duckdb_checks.py "$d/residents.parquet" reference/id_province_codes.csv \
  "$dir/duckdb-findings.parquet"
sed 's/^/  /' "$dir/out.txt"
measure "Splink 5 (DuckDB) dedup" "$venv/bin/python" benches/peers/splink_dedup.py "$d" \
  "$dir/splink-pairs.parquet"
sed 's/^/  /' "$dir/out.txt"
prune "$dir/peers-run" "$dir/peers-dedup"
