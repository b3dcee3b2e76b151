#!/usr/bin/env bash
# Builds the gateway worker into build/ (release). Skips the build when nothing it depends on
# changed since the last one. Set FORCE_BUILD=1 to rebuild anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=build/worker/shim.mjs
if [ -z "${FORCE_BUILD:-}" ] && [ -f "$stamp" ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
echo "building the gateway worker (release)…" >&2
worker-build --release >&2
# worker-build keeps the wasm name section (function names for stack traces): ~110 KB raw,
# ~26 KB gzipped. Strip it from the deployed bundle; panics still log their message.
"$WASM_OPT_BIN" --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
  build/index_bg.wasm -o build/index_bg.wasm
touch "$stamp"
