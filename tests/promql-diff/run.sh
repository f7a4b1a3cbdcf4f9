#!/usr/bin/env bash
# PromQL differential test against a real Prometheus (Debian's 2.42):
# generates one data set, loads it into Prometheus (promtool create-blocks)
# and into pulsedb, runs every query of queries.txt against both, and writes
# the mismatches to tests/promql-diff/report.txt. Not part of `cargo test`:
# it needs the Prometheus package (installed here when missing).
#
#   tests/promql-diff/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup-deps.sh
scripts/install-prometheus.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pulsedb/target}"
cargo build --release --quiet -p pulsedb-cli --bin pulsedb && cargo build --release --quiet -p pulsedb-bench --example promql_diff_data

work=$(mktemp -d)
trap 'kill "${prom_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$CARGO_TARGET_DIR/release/examples/promql_diff_data" "$work" >/dev/null
mkdir -p "$work/prometheus"
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prometheus" >/dev/null
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
port=$((20000 + RANDOM % 20000))
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
  sleep 0.5
done
python3 tests/promql-diff/diff.py "http://127.0.0.1:$port" "$CARGO_TARGET_DIR/release/pulsedb" \
  "$work/pulsedb" tests/promql-diff/report.txt tests/promql-diff/queries.txt
