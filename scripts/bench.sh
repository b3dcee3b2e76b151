#!/usr/bin/env bash
# `npm run bench`: build release bundles and the sample backends (the `users` origin and the
# `idp` identity provider), make sure wrk is there, then run the harness (bench/run.mjs). Extra
# arguments go to the harness (--smoke, --rounds N, --duration 10s, --connections 16).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-tools.sh
cargo build --quiet --release -p users -p idp
cargo build --quiet -p gatewayctl
bash scripts/build-worker.sh
exec node bench/run.mjs "$@"
