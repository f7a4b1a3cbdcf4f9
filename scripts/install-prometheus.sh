#!/usr/bin/env bash
# Installs Prometheus (with promtool) from Debian's packages when missing.
# Debian's package starts no service in a container without systemd; tests
# start their own instance on loopback with a temporary data directory.
set -euo pipefail
command -v prometheus >/dev/null && command -v promtool >/dev/null && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq prometheus >/dev/null
