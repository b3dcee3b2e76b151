#!/usr/bin/env bash
# `npm run lint`: rustfmt and clippy (warnings are errors here, not in source), natively and
# for wasm32 so the runtime layer is linted too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p gateway --target wasm32-unknown-unknown --lib --tests --quiet -- -D warnings
