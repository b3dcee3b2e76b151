#!/usr/bin/env bash
# `npm test`: every test — native Rust (pure core, gatewayctl, backends), WASM (the runtime
# layer in Node via wasm-bindgen-test) and end to end (wrangler dev + real backends).
# Installs what is missing first. Pass E2E_ONLY=1, SKIP_E2E=1 or SKIP_BENCH_SMOKE=1 to run a part.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
started=$SECONDS
phase() { printf '\n=== %s (%ds)\n' "$*" $((SECONDS - started)); }

if [ -z "${E2E_ONLY:-}" ]; then
  phase "native tests: cargo test --workspace"
  cargo test --workspace --quiet

  phase "wasm tests: the runtime layer under wasm-bindgen-test (Node)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown -p gateway --lib
fi

if [ -z "${SKIP_E2E:-}" ]; then
  phase "building the worker, gatewayctl and the sample backends"
  cargo build --quiet -p gatewayctl -p users -p orders -p orders-v2 -p idp
  bash scripts/build-worker.sh

  phase "end-to-end tests: wrangler dev (local KV, D1) + real backends"
  node --test --test-concurrency=1 --test-reporter=spec 'tests/e2e/*.test.mjs'
fi

if [ -z "${SKIP_BENCH_SMOKE:-}" ] && [ -z "${E2E_ONLY:-}" ]; then
  phase "benchmark harness smoke run (every step briefly; no timing assertions)"
  bash scripts/bench.sh --smoke > .tmp-bench-smoke.log 2>&1 || { cat .tmp-bench-smoke.log; exit 1; }
  grep -A8 'contender' .tmp-bench-smoke.log
  rm -f .tmp-bench-smoke.log
fi
phase "all tests passed"
