#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests where it is missing and we may.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium from Debian's packages for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif [ "${CI:-}" = "true" ]; then
  echo "CI: /usr/bin/chromium is required and cannot be installed here" >&2
  exit 1
else
  echo "Chromium not found: install it with 'apt-get install chromium'; browser tests will fail" >&2
fi
