#!/usr/bin/env bash
# Print one commune's fix list as a commune officer would (LibreOffice, headless) and save its
# first data page as a PNG: checks the print setup (A4 landscape, three pages wide, header row
# and record columns repeated). Usage:
#   benches/render_fixlist.sh [FIXLIST.xlsx] [OUT_PNG]
# Without a file it runs `lamsach demo --people 20000` and takes a mid-sized commune's list.
# Needs libreoffice-calc and poppler-utils (Debian packages); not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v soffice >/dev/null || { echo "install LibreOffice first: apt-get install libreoffice-calc-nogui" >&2; exit 1; }
command -v pdftoppm >/dev/null || { echo "install poppler-utils first" >&2; exit 1; }
xlsx=${1:-}
png=${2:-docs/fixlist.png}
if [ -z "$xlsx" ]; then
  cargo run --release --quiet -- demo --people 20000 --out /tmp/lamsach-fixlist --quiet >/dev/null
  xlsx=$(ls -S /tmp/lamsach-fixlist/run/fixlists/*.xlsx | sed -n 20p)
fi
work=$(mktemp -d)
cp "$xlsx" "$work/list.xlsx"
(cd "$work" && soffice --headless --convert-to pdf list.xlsx >/dev/null 2>&1)
# Page 1 is the summary sheet, page 2 the guide; page 3 the first rows of the "Đúng" sheet.
pdftoppm -png -r 90 -f 3 -l 3 -singlefile "$work/list.pdf" "$work/page"
cp "$work/page.png" "$png"
rm -rf "$work"
echo "printed $xlsx -> $png ($(stat -c %s "$png") bytes)"
