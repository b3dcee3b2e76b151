#!/usr/bin/env bash
# `npm test`: every test — native Rust (pure core, gatewayctl with the contract check of
# routes.toml, backends with their contract tests), the backends' contract compatibility, WASM
# (the runtime layer in Node via wasm-bindgen-test), end to end (wrangler dev + real backends),
# and every component's pipeline as far as it runs without an account (scripts/ci/local.sh).
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

  phase "contracts: routes.toml reaches the services' contracts; no breaking change without a major version bump"
  cargo run --quiet -p gatewayctl -- check
  bash scripts/contract-compat.sh

  phase "wasm tests: the runtime layer under wasm-bindgen-test (Node)"
  bash scripts/ci/gateway.sh test wasm
fi

if [ -z "${SKIP_E2E:-}" ]; then
  phase "end-to-end tests: wrangler dev (local KV, D1) + real backends (built first, with the worker and gatewayctl)"
  bash scripts/ci/gateway.sh test e2e
fi

if [ -z "${SKIP_BENCH_SMOKE:-}" ] && [ -z "${E2E_ONLY:-}" ]; then
  phase "benchmark harness smoke run (every step briefly; no timing assertions)"
  bash scripts/bench.sh --smoke > .tmp-bench-smoke.log 2>&1 || { cat .tmp-bench-smoke.log; exit 1; }
  grep -A8 'contender' .tmp-bench-smoke.log
  rm -f .tmp-bench-smoke.log
fi
if [ -z "${E2E_ONLY:-}" ]; then
  phase "pipelines: lints, which pipelines a change runs, each component's stages (deploy as a dry run)"
  bash scripts/ci/local.sh
fi
phase "all tests passed"
