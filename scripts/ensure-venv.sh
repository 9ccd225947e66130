#!/usr/bin/env bash
# Creates the project-local virtualenv .venv with moto (the local AWS emulator) from the pinned
# lock file, and reinstalls only when the lock file changes. Used by `make test` and `make demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOCK=tests/moto/requirements.lock
want="$({ python3 --version 2>&1; cat "$LOCK"; } | sha256sum | cut -d' ' -f1)"
if [[ -f .venv/.stamp && "$(cat .venv/.stamp)" == "$want" ]]; then
  exit 0
fi
echo "==> installing moto into .venv (pinned: $LOCK)"
rm -rf .venv
python3 -m venv .venv
PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/pip install --quiet --requirement "$LOCK"
echo "$want" > .venv/.stamp
