#!/usr/bin/env bash
# Runs every fuzz target for the given number of seconds each (default 60),
# or until it has made the given number of executions if that comes first
# (second argument; 0 = no cap), starting from the checked-in corpus, and
# prints each target's executions.
# Crashes are written to fuzz/artifacts/<target>/; turn each into a named
# regression input under fuzz/corpus/<target>/ (tests/it/fuzz_corpora.rs
# replays them in the normal suite). The corpus the fuzzer grows stays in
# fuzz/corpus-work/, which is not checked in.
#
#   fuzz/run-all.sh 600 10000000     # the reliability issue's bar: 10 min or 10 M runs
#
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
max_runs="${2:-0}"
runs_flag=()
[ "$max_runs" -gt 0 ] && runs_flag=(-runs="$max_runs")
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list)
for t in $targets; do
  # The fuzzer grows corpus-work/ (not checked in); corpus/ holds the seeds
  # and named regression inputs.
  mkdir -p "corpus/$t" "corpus-work/$t"
  echo "== $t for ${seconds}s"
  # Keep going after a crash in one target; report it and fail at the end.
  if ! cargo fuzz run -O "$t" "corpus-work/$t" "corpus/$t" -- -max_total_time="$seconds" "${runs_flag[@]}" -rss_limit_mb=2048 >"/tmp/fuzz-$t.log" 2>&1; then
    failed="${failed:-} $t"
  fi
  grep -E "Done [0-9]+ runs|SUMMARY|panicked at" "/tmp/fuzz-$t.log" | tail -3
done
if [ -n "${failed:-}" ]; then
  echo "crashes in:$failed (inputs in fuzz/artifacts/)"
  exit 1
fi
