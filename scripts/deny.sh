#!/usr/bin/env bash
# Dependency hygiene: `cargo deny check bans licenses sources` against the committed deny.toml.
# Installs a pinned cargo-deny into .tools/cargo the first time (about 5 minutes), then reuses it.
# `cargo deny check advisories` needs the advisory database from the network: the GitHub workflow
# runs it; this script does not.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
root="$PWD/.tools/cargo"
bin="$root/bin/cargo-deny"

if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then
  echo "installing cargo-deny $CARGO_DENY_VERSION into .tools/cargo (first run only, ~5 minutes)" >&2
  # A private target dir: never waits on (or invalidates) the workspace's build lock.
  CARGO_TARGET_DIR="$PWD/.tools/cargo-deny-build" \
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$root"
  rm -rf "$PWD/.tools/cargo-deny-build"
fi

exec "$bin" --manifest-path Cargo.toml --workspace --all-features check bans licenses sources "$@"
