#!/usr/bin/env bash
# `npm run fuzz`: the property tests of tests/props.rs at scale — 1,000,000 generated cases
# per target (PROPS_CASES overrides), release build; prints how many ran per target.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export PROPS_CASES="${PROPS_CASES:-1000000}"
started=$SECONDS
cargo test --release -p gateway --test props -- --nocapture --test-threads=2 2>&1 |
  grep -E '^props: |test result|panicked|FAILED' 
echo "fuzz: done in $((SECONDS - started)) s"
