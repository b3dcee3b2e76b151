#!/usr/bin/env bash
# `npm run dev`: install what is missing, build (the worker as a development build), then run
# the local stack (scripts/dev.mjs), which reloads what changes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --quiet -p gatewayctl -p users -p orders -p orders-v2 -p idp
WORKER_PROFILE=dev bash scripts/build-worker.sh
exec node_modules/.bin/node scripts/dev.mjs
