#!/usr/bin/env bash
# The gateway's pipeline: scripts/ci/gateway.sh STAGE, the same locally and in
# .github/workflows/gateway.yml.
#   build                 the release worker (build/; skipped when src/ is unchanged), after
#                         actionlint of this workflow
#   test [PART…]          native (cargo test of the gateway crate and the crates it is built
#                         from), wasm (the runtime layer under wasm-bindgen-test), e2e (wrangler
#                         dev with the sample backends); all three without PART
#   deploy                D1 migrations, then `wrangler deploy --env production`; records the
#                         version that served before. Dry run: `wrangler deploy --dry-run`
#   verify                the deployed version serves 100 % and answers a health request
#   rollback              `wrangler rollback` to the recorded version, if it changed
# Live stages (DRY_RUN=0) need CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID; verify also
# needs GATEWAY_URL (https://api.example.com) and ADMIN_TOKEN. WORKER_PREBUILT=1 deploys the
# worker in build/ as it is (the release job downloads the build job's).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

stage=${1:-}
[ $# -gt 0 ] && shift
state=$(state_dir gateway)
WRANGLER=${WRANGLER:-wrangler}
CURL=${CURL:-curl}

# The version id of the production deployment (the first if it splits traffic), or `none`.
deployed_version() {
  { "$WRANGLER" deployments status --env production --json 2>/dev/null || true; } |
    node scripts/ci/inspect.mjs deployment-version
}

# Version $1 alone serves the production deployment.
serves_only() {
  "$WRANGLER" deployments status --env production --json | node scripts/ci/inspect.mjs deployment-is "$1"
}

# One health request: `GET /__gateway/health` answers 200 with a report naming the route table
# version it serves (so the worker runs, reads KV and D1) and the gateway's x-request-id.
healthy() {
  local headers body status id
  headers=$(mktemp)
  body=$("$CURL" -sS --max-time 10 -D "$headers" -H "authorization: Bearer $ADMIN_TOKEN" \
    "$GATEWAY_URL/__gateway/health") || { rm -f "$headers"; return 1; }
  status=$(head -n1 "$headers" | tr -d '\r' | awk '{print $2}')
  id=$(tr -d '\r' <"$headers" | sed -n 's/^[Xx]-[Rr]equest-[Ii][Dd]: *//p')
  rm -f "$headers"
  if [ "$status" != 200 ] || [ -z "$id" ]; then
    say gateway "health: HTTP ${status:-?}${id:+, x-request-id $id}"
    return 1
  fi
  printf '%s' "$body" | node scripts/ci/inspect.mjs gateway-health
}

case "$stage" in
  build)
    bash scripts/setup.sh
    lint_tools
    actionlint .github/workflows/gateway.yml
    bash scripts/build-worker.sh
    ;;

  test)
    parts=("$@")
    [ ${#parts[@]} -gt 0 ] || parts=(native wasm e2e)
    for part in "${parts[@]}"; do
      case "$part" in
        native)
          node scripts/coupling.mjs
          mapfile -t crates < <(workspace_packages gateway | awk '{ print "-p"; print }')
          say gateway "native tests: ${crates[*]}"
          cargo test --quiet "${crates[@]}"
          ;;
        wasm)
          CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
            cargo test --target wasm32-unknown-unknown -p gateway --lib
          ;;
        e2e)
          # The end-to-end tests run the release worker against the sample backends, built
          # from source here as test fixtures (they deploy through their own pipelines).
          cargo build --quiet -p gatewayctl -p users -p orders -p orders-v2 -p idp
          bash scripts/build-worker.sh
          node --test --test-concurrency=1 --test-reporter=spec 'tests/e2e/*.test.mjs'
          ;;
        *) usage "scripts/ci/gateway.sh test" "[native|wasm|e2e]…" ;;
      esac
    done
    ;;

  deploy)
    need CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
    npm_packages
    if live; then
      deployed_version >"$state/previous"
    else
      echo none >"$state/previous"
    fi
    say gateway "serving before: $(cat "$state/previous")"
    # Migrations only add (a down script undoes each, docs/architecture.md): the worker that
    # serves now keeps working with the new schema, and so does a rolled-back one.
    act "$WRANGLER" d1 migrations apply DB --env production --remote
    if live; then
      # WORKER_PREBUILT=1: build/ is the build job's artifact of this commit. wrangler runs
      # scripts/build-worker.sh first, which skips only when build/ is newer than the sources.
      if [ "${WORKER_PREBUILT:-}" = 1 ]; then touch build/worker/shim.mjs; fi
      "$WRANGLER" deploy --env production --message "$(git_sha)"
      deployed_version >"$state/deployed"
      say gateway "deployed $(cat "$state/deployed")"
    else
      # Builds (reusing build/) and checks the production configuration; uploads nothing.
      out="$state/dry-run"
      rm -rf "$out"
      "$WRANGLER" deploy --dry-run --env production --outdir "$out" >"$state/dry-run.log" 2>&1 ||
        { cat "$state/dry-run.log" >&2; exit 1; }
      grep -E 'Total Upload|--dry-run' "$state/dry-run.log" | sed 's/^/[gateway] /' >&2 || true
      echo dry-run >"$state/deployed"
    fi
    ;;

  verify)
    need CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID GATEWAY_URL ADMIN_TOKEN
    npm_packages
    deployed=$(cat "$state/deployed" 2>/dev/null || echo none)
    if ! live; then
      [ -n "$(ls "$state/dry-run" 2>/dev/null)" ] ||
        { say gateway "no dry-run bundle in $state/dry-run: run deploy first"; exit 1; }
      say gateway "dry run: the bundle is in $state/dry-run; live, verify would wait until the" \
        "new version serves 100 % and GET \$GATEWAY_URL/__gateway/health answers 200 three times"
      exit 0
    fi
    poll 12 5 serves_only "$deployed" || { say gateway "$deployed does not serve 100 %"; exit 1; }
    # Three health requests in a row, within two minutes.
    in_a_row 3 24 5 healthy || { say gateway "not healthy three times in a row within 2 minutes"; exit 1; }
    say gateway "verified $deployed"
    ;;

  rollback)
    need CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
    npm_packages
    previous=$(cat "$state/previous" 2>/dev/null || echo none)
    if ! live; then
      act "$WRANGLER" rollback "<version-recorded-by-deploy>" --env production -y \
        --message "verify failed for $(git_sha)"
      exit 0
    fi
    if [ "$previous" = none ]; then
      say gateway "no earlier version was recorded: nothing to roll back to"
      exit 1
    fi
    current=$(deployed_version)
    if [ "$current" = "$previous" ]; then
      say gateway "$previous serves already: nothing to roll back"
      exit 0
    fi
    "$WRANGLER" rollback "$previous" --env production -y --message "verify failed for $(git_sha)"
    ;;

  *) usage "scripts/ci/gateway.sh" "build|test [native|wasm|e2e]…|deploy|verify|rollback" ;;
esac
