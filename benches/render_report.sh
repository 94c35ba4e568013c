#!/usr/bin/env bash
# Render report.html in headless Chromium (Debian's chromium package) and save a screenshot:
# checks that the page renders with no network and no script. Usage:
#   benches/render_report.sh [RUN_DIR] [OUT_PNG]
# Without RUN_DIR it runs `lamsach demo` first. Not part of CI (Chromium is not installed there).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "install Chromium first: apt-get install chromium" >&2; exit 1; }
run=${1:-}
png=${2:-docs/report.png}
if [ -z "$run" ]; then
  cargo run --release --quiet -- demo --out /tmp/lamsach-render --quiet
  run=/tmp/lamsach-render/run
fi
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1100,1400 \
  --screenshot="$png" "file://$(readlink -f "$run/report.html")" 2>/dev/null
rm -rf "$profile"
test -s "$png" && echo "rendered $run/report.html -> $png ($(stat -c %s "$png") bytes)"
