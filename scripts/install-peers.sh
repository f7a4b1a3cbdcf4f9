#!/usr/bin/env bash
# Installs the peers `pulsedb bench --compare` measures against, from
# Debian's packages, when missing: Prometheus (with promtool) and
# VictoriaMetrics. Neither starts a service here; the bench starts its own
# instances on loopback with temporary data directories.
set -euo pipefail
cd "$(dirname "$0")"
./install-prometheus.sh
command -v victoria-metrics >/dev/null && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq victoria-metrics >/dev/null
