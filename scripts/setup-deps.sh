#!/usr/bin/env bash
# Installs the Debian packages pulsedb builds against, when missing:
#   librocksdb-dev  RocksDB 7.8.3, linked instead of compiling its C++ (~25 min per profile on 2 cores)
#   libclang-dev    bindgen, for librocksdb-sys
#   libzstd-dev     the system zstd, through pkg-config
#   pkg-config, clang
#   prometheus      Prometheus 2.42 with promtool: the real client of tests/prometheus_client.rs
#                   and the checker of /metrics (tests start their own instance on loopback)
#   prometheus-alertmanager  Alertmanager 0.25: the receiver of alert notifications in cli/tests/it/server_alertmanager.rs
#   victoria-metrics  VictoriaMetrics 1.79 (and vmagent): a real remote-write receiver for the forwarding tests
#   chromium, chromium-driver  the headless browser and its WebDriver for the UI's tests (cli/tests/it/ui_browser.rs)
#   nodejs, npm     only when `npm` is missing: ui/build.rs runs `npm ci` for the chart library (uPlot)
# Idempotent and quiet when everything is present. Needs root (or sudo) to install.
set -euo pipefail

packages=(librocksdb-dev libclang-dev libzstd-dev pkg-config clang prometheus prometheus-alertmanager victoria-metrics chromium chromium-driver)
missing=()
# A machine that already has Node (from any source) needs no second one:
# Debian's nodejs conflicts with NodeSource's.
command -v npm >/dev/null || missing+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
