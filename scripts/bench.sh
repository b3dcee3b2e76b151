#!/usr/bin/env bash
# `npm run bench`: build release bundles and the sample backends (the `users` origin and the
# `idp` identity provider), make sure wrk is there, then run the harness (bench/run.mjs). Extra
# arguments go to the harness (--smoke, --rounds N, --duration 10s, --connections 16).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >&2; fi
fi
cargo build --quiet --release -p users -p idp
cargo build --quiet -p gatewayctl
bash scripts/build-worker.sh
exec node bench/run.mjs "$@"
