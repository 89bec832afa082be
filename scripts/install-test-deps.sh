#!/usr/bin/env bash
# System packages the test suites drive: Prometheus Alertmanager (test/clients/) and Chromium,
# which playwright-core drives for the console's browser tests (test/console/).
# Idempotent: installs only what is missing; uses sudo when not root and sudo exists.
set -euo pipefail

missing=()
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-test-deps: ${missing[*]} missing and neither root nor sudo is available to install them" >&2
    exit 1
  fi
}

echo "install-test-deps: installing ${missing[*]} (Debian packages)"
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
