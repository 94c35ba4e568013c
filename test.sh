#!/usr/bin/env bash
# The one test command (README, CI): the engine's Rust tests, then the Python package's.
# `cargo test --release` alone stays the quick loop for Rust-only work.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --release
py/test.sh
