#!/usr/bin/env bash
# `npm run soak`: build the release worker bundle, the `users` origin (release) and gatewayctl,
# make sure wrk is there, then run the soak (bench/soak.mjs, ≈ 8 minutes). Extra arguments go
# to it (--minutes 5, --connections 16, --swaps 20).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-tools.sh
cargo build --quiet --release -p users
cargo build --quiet -p gatewayctl
bash scripts/build-worker.sh
exec node bench/soak.mjs "$@"
