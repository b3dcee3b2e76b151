#!/usr/bin/env bash
# `npm run lint`: rustfmt and clippy (warnings are errors here, not in source), natively and
# for wasm32 so the runtime layer is linted too; actionlint, hadolint and shellcheck for the
# pipelines (workflows, Dockerfiles, scripts/ci).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p gateway --target wasm32-unknown-unknown --lib --tests --quiet -- -D warnings
bin=$(bash scripts/lib/lint-tools.sh)
"$bin/actionlint" .github/workflows/*.yml
"$bin/hadolint" backends/*/Dockerfile
"$bin/shellcheck" -x scripts/ci/*.sh scripts/lib/lint-tools.sh
