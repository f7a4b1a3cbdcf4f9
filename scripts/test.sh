#!/usr/bin/env bash
# Installs build dependencies if missing, then runs the whole test suite.
# Extra arguments go to cargo test (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
exec cargo test --workspace "$@"
