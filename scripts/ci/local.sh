#!/usr/bin/env bash
# `npm test`'s pipelines phase: every component's pipeline as far as it runs without an
# account, with the scripts the workflows call (DRY_RUN=1: deploy and verify stop where an
# account or a Docker host would be needed, and say what they would do).
#   - shellcheck of the pipeline scripts; the coupling figure with every crossing
#   - the pipeline tests (tests/ci/): which workflows a change triggers, what `cargo test -p`
#     of each component compiles, the stage scripts' decisions
#   - gateway: build (reuses build/), deploy (`wrangler deploy --dry-run`), verify; its test
#     stage is npm test's native, wasm and end-to-end phases
#   - routes: build, test, deploy (diff, then publish into a fresh local state), verify
#   - each backend: build (actionlint, hadolint, the release binary), test, deploy, verify
# Each build stage lints its own workflow files (actionlint) and Dockerfile (hadolint).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh
export DRY_RUN=1
started=$SECONDS
step() { printf -- '--- %s (%ds)\n' "$*" $((SECONDS - started)); }

step "shellcheck: scripts/ci, scripts/lib/lint-tools.sh"
lint_tools
shellcheck -x scripts/ci/*.sh scripts/lib/lint-tools.sh

step "coupling: cross-component dependencies / all dependencies"
node scripts/coupling.mjs --list

step "pipeline tests (tests/ci)"
node --test --test-reporter=spec 'tests/ci/*.test.mjs'

step "gateway: build, deploy (dry run), verify (dry run)"
for stage in build deploy verify; do bash scripts/ci/gateway.sh "$stage"; done

step "routes: build, test, deploy (local state), verify"
for stage in build test deploy verify; do bash scripts/ci/routes.sh "$stage"; done

for name in users orders orders-v2 idp; do
  step "backend $name: build, test, deploy (dry run), verify (dry run)"
  for stage in build test deploy verify; do bash scripts/ci/backend.sh "$name" "$stage"; done
done
step "pipelines done"
