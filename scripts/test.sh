#!/usr/bin/env bash
# Installs build dependencies if missing, then runs the whole test suite.
# Extra arguments go to cargo test (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
# The build cache lives outside the clone unless the caller says otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pulsedb/target}"
scripts/setup-deps.sh
exec cargo test --workspace "$@"
