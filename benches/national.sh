#!/usr/bin/env bash
# National deduplication with partitions spilled to disk (docs/BENCHMARKS.md, "National scale").
# For each size: generate PEOPLE people over the 34 provinces (kept in $BENCH_DIR/national-N;
# generating 100 M takes ~25 min and 17 GB of disk), run `lamsach dedup` on the residents with
# LAMSACH_TRACE=1 (seconds and RSS after each phase: the memory curve), wall time and peak
# memory by GNU time, bytes spilled, and duplicate-pair F1 against the truth scored by DuckDB
# out of core (benches/peers/pair_f1.py, in the peers' virtual environment).
# Usage: benches/national.sh [MEMORY_GB] PEOPLE...   e.g. benches/national.sh 4 10000000 100000000
set -euo pipefail
cd "$(dirname "$0")/.."
mem=${1:-4}; shift || true
sizes=("${@:-10000000}")
dir=${BENCH_DIR:-/tmp/lamsach-bench}
venv="$dir/venv"
mkdir -p "$dir"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
cargo build --release --quiet
. benches/fresh.sh
bin=target/release/lamsach
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB; dedup --memory-gb $mem"
for n in "${sizes[@]}"; do
  d="$dir/national-$n"
  if [ ! -f "$d/residents.parquet" ]; then
    "$bin" generate --out "$d" --people "$n" --provinces 34 --quiet
  fi
  out=$(fresh "$dir/national-run-$n")
  LAMSACH_TRACE=1 /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$bin" dedup --quiet \
    --residents "$d/residents.parquet" --memory-gb "$mem" --out "$out" 2> "$dir/trace.txt"
  read -r secs kb < "$dir/time.txt"
  python3 - "$out/summary.json" "$n" "$secs" "$kb" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n, secs, kb = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = s["rows_read"]["residents"]
p = s["partitions"]
print(f"{n} people: {rows} resident rows, {secs:.1f} s ({secs / rows * 1e6:.2f} s per M rows), "
      f"peak {kb / 1024:.0f} MB; {p['units']} units (largest {p['largest_unit_records']} records), "
      f"spilled {p['spilled_bytes'] / 1e9:.1f} GB; {s['matching']['pairs_compared']} pairs compared, "
      f"{s['duplicates']['pairs']} duplicate pairs")
PY
  grep '^trace' "$dir/trace.txt" | sed 's/^/  /'
  echo "  F1: $("$venv/bin/python" benches/peers/pair_f1.py "$d" "$out/duplicates.parquet")"
  [ -n "${KEEP_DATA:-}" ] || rm -rf "$d"
done
for n in "${sizes[@]}"; do prune "$dir/national-run-$n"; done
