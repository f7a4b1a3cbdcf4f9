#!/usr/bin/env bash
# The main job on an embedded default data directory (./pulsedb-data):
# installs build dependencies if missing, then runs pulsedb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
exec cargo run --release --example quickstart -- "${@:-pulsedb-data}"
