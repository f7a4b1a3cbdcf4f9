#!/usr/bin/env bash
# The main job: `cargo run --release -- serve`, storing in ./pulsedb-data and
# listening on 127.0.0.1:9201, after installing build dependencies if
# missing. Extra arguments go to `pulsedb serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
# The build cache lives outside the clone unless the caller says otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pulsedb/target}"
scripts/setup-deps.sh
exec cargo run --release -- serve "$@"
