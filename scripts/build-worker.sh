#!/usr/bin/env bash
# Builds the gateway worker. WORKER_PROFILE=release (the default: `npm run build`, tests,
# benchmarks, deploys) optimises and strips, into build/; WORKER_PROFILE=dev (`npm run dev`)
# is a development build (no optimisation, no wasm-opt) into build-dev/, which rebuilds in
# seconds. Skips the build when nothing it depends on changed since the last one of that
# profile. Set FORCE_BUILD=1 to rebuild anyway. With KEEP_LAST_GOOD=1 (wrangler dev's rebuilds
# under `npm run dev`), a failed development build prints the compiler's errors and exits 0:
# wrangler then reloads the last good worker instead of printing its own error dump.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${WORKER_PROFILE:-release}" in
  release) out=build ;;
  dev) out=build-dev ;;
  *) echo "WORKER_PROFILE must be release or dev, not $WORKER_PROFILE" >&2; exit 2 ;;
esac
stamp=$out/worker/shim.mjs
if [ -z "${FORCE_BUILD:-}" ] && [ -f "$stamp" ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
if [ "$out" = build-dev ]; then
  echo "building the gateway worker (development build)…" >&2
  if ! RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 worker-build --dev --no-opt --out-dir build-dev >&2; then
    echo "worker build failed: the last good worker keeps serving" >&2
    [ -n "${KEEP_LAST_GOOD:-}" ] && [ -f "$stamp" ] && exit 0
    exit 1
  fi
else
  echo "building the gateway worker (release)…" >&2
  worker-build --release >&2
  # worker-build keeps the wasm name section (function names for stack traces): ~110 KB raw,
  # ~26 KB gzipped. Strip it from the deployed bundle; panics still log their message.
  "$WASM_OPT_BIN" --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
    build/index_bg.wasm -o build/index_bg.wasm
fi
touch "$stamp"
