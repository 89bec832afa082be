#!/usr/bin/env bash
# System packages the client-compatibility tests drive (test/clients/): Prometheus Alertmanager.
# Idempotent: installs only what is missing; uses sudo when not root and sudo exists.
set -euo pipefail

if command -v prometheus-alertmanager >/dev/null 2>&1; then
  exit 0
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-test-deps: prometheus-alertmanager is missing and neither root nor sudo is available to install it" >&2
    exit 1
  fi
}

echo "install-test-deps: installing prometheus-alertmanager (Debian package)"
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-alertmanager
