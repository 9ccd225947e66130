#!/usr/bin/env bash
# The weekly-reporter Lambda binary must stay under 15 MiB (15*1024*1024 bytes): it embeds a
# font and an SVG renderer for the report chart. Builds the release binary and fails when it is
# larger, printing the size either way.
#
#   bash scripts/binary-size.sh            host release build (target/release/weekly-reporter;
#                                          the release profile strips it), works offline
#   bash scripts/binary-size.sh --lambda   also the deployed artefact: `cargo lambda build
#                                          --release --arm64` (target/lambda/weekly-reporter/
#                                          bootstrap); needs cargo-lambda and zig (pip install
#                                          cargo-lambda, see shared/TOOLCHAIN.md) and the aarch64
#                                          target, which cargo-lambda installs on first use
#
# Release builds take several minutes on 2 cores (LTO, codegen-units = 1).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=weekly-reporter
LIMIT=$((15 * 1024 * 1024))
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
status=0

check() { # label path
  local size
  size=$(stat -c %s "$2")
  if [ "$size" -gt "$LIMIT" ]; then
    printf '%s: %s is %d bytes (%.2f MiB), over the %d-byte limit\n' \
      "$1" "$2" "$size" "$(awk "BEGIN { print $size / 1048576 }")" "$LIMIT" >&2
    status=1
  else
    printf '%s: %s is %d bytes (%.2f MiB), under the %d-byte limit\n' \
      "$1" "$2" "$size" "$(awk "BEGIN { print $size / 1048576 }")" "$LIMIT"
  fi
}

echo "==> cargo build --release --bin $BIN" >&2
cargo build --release --bin "$BIN"
check "host release" "$target_dir/release/$BIN"

if [ "${1:-}" = "--lambda" ]; then
  # cargo-lambda finds zig only when the venv's python comes first on PATH.
  if [ -x .venv/bin/cargo-lambda ]; then
    export PATH="$PWD/.venv/bin:$PATH"
  fi
  if ! command -v cargo-lambda >/dev/null 2>&1; then
    echo "cargo-lambda is not installed (python3 -m venv .venv && .venv/bin/pip install cargo-lambda)" >&2
    exit 2
  fi
  echo "==> cargo lambda build --release --arm64 --bin $BIN" >&2
  cargo lambda build --release --arm64 --bin "$BIN"
  check "lambda arm64" "$target_dir/lambda/$BIN/bootstrap"
fi

exit "$status"
