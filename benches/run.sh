#!/usr/bin/env bash
# Whole-run figures of docs/BENCHMARKS.md: generate, check and eval at each size, with wall
# time and peak memory (GNU time). Usage: benches/run.sh [SIZE ...]   (default: 1000000)
# Data goes to ${BENCH_DIR:-/tmp/lamsach-bench}; nothing is written in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/lamsach
dir=${BENCH_DIR:-/tmp/lamsach-bench}
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000000)
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" >/dev/null
  read -r secs kb < "$dir/time.txt"
  printf '%-34s %8.1f s %8.0f MB\n' "$label" "$secs" "$((kb / 1024))"
}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB, $(uname -m)"
for n in "${sizes[@]}"; do
  d="$dir/data-$n"; r="$dir/run-$n"
  rm -rf "$d" "$r"
  measure "generate --people $n" "$bin" generate --out "$d" --people "$n" --quiet
  measure "check (all rules + matching)" "$bin" check --quiet --as-of 2026-01-01 --out "$r" \
    --residents "$d/residents.parquet" --vaccination "$d/vaccination.parquet" \
    --insurance "$d/insurance.parquet" --cmnd-map "$d/cmnd_map.parquet" --deaths "$d/deaths.parquet"
  python3 - "$r/summary.json" <<'PY' || true
import json, sys
s = json.load(open(sys.argv[1]))
print("  rows read:", s["rows_read"])
print("  phases (s):", {k: v for k, v in s["timings_seconds"].items()})
print("  candidate pairs compared:", s["duplicates"]["pairs_compared"])
PY
  "$bin" eval --run "$r" --truth "$d" | grep -E "^(duplicate pairs|links|twin)" | sed 's/^/  /'
done
