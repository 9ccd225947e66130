#!/usr/bin/env bash
# The report's HTML page is rendered in headless Chromium by a test. Installs Debian's chromium
# when it is missing (as root, or through sudo when available).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing chromium (Debian package) for the report rendering test"
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "chromium is missing and neither root nor sudo is available" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
