#!/usr/bin/env bash
# The Python package's tests: build the CLI and the package (maturin, into a venv of its own),
# then run py/tests/*.py against the CLI's outputs. Installs what it needs from PyPI when
# missing; when it cannot (no network, no python3 venv), it says so and skips, exit 0 — set
# LAMSACH_REQUIRE_PY=1 to make that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LAMSACH_PY_VENV:-target/py-venv}
skip() {
  echo "py/test.sh: $1; the Python package's tests are skipped" >&2
  [ "${LAMSACH_REQUIRE_PY:-0}" = 1 ] && exit 1
  exit 0
}
command -v python3 >/dev/null || skip "python3 is not installed"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || skip "python3 cannot create a virtual environment"
fi
if ! "$venv/bin/python" -c "import maturin, pyarrow, pandas, polars" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check maturin 'pyarrow>=14' 'pandas<3' polars \
    || skip "maturin, pyarrow, pandas and polars cannot be installed from PyPI"
fi
cargo build --release --quiet
(cd py && VIRTUAL_ENV="$PWD/../$venv" PATH="$PWD/../$venv/bin:$PATH" maturin develop --release --quiet)
for t in py/tests/test_*.py; do
  echo "== $t"
  LAMSACH_BIN=target/release/lamsach "$venv/bin/python" "$t"
done
