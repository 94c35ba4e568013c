#!/usr/bin/env bash
# The Python package's tests: build the CLI and the package (maturin, into a venv of its own),
# then run py/tests/*.py against the CLI's outputs, Spark's in local mode (Java 17 from the
# system packages: openjdk-17-jre-headless). Installs what it needs from PyPI when
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
# Spark (for py/tests/test_spark.py, which says so and skips without it or without Java).
if ! "$venv/bin/python" -c "import pyspark" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'pyspark>=4,<5' \
    || echo "py/test.sh: pyspark cannot be installed from PyPI; the Spark test is skipped" >&2
fi
if ! command -v java >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1 \
    || echo "py/test.sh: Java 17 cannot be installed; the Spark test is skipped" >&2
fi
export PYSPARK_PYTHON="$PWD/$venv/bin/python"
cargo build --release --quiet
(cd py && VIRTUAL_ENV="$PWD/../$venv" PATH="$PWD/../$venv/bin:$PATH" maturin develop --release --quiet)
for t in py/tests/test_*.py; do
  echo "== $t"
  LAMSACH_BIN=target/release/lamsach "$venv/bin/python" "$t"
done
