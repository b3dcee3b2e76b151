#!/usr/bin/env bash
# The route table's pipeline: scripts/ci/routes.sh STAGE, the same locally and in
# .github/workflows/routes.yml.
#   build     actionlint of this workflow; gatewayctl, and routes.toml compiled for each
#             environment (.tmp/ci/routes/)
#   test      `gatewayctl check` (every environment, the bindings wrangler.toml declares, the
#             contracts) and the tests of gatewayctl and the crates it is built from
#   deploy    the diff against the active version, then a canary of the new table:
#             `gatewayctl publish --canary 10 --steps 10,50,100 --interval 10m` (the first
#             version is published plainly; an unchanged table publishes nothing)
#   verify    waits until the gateway promotes the canary (fails when its judge aborts it),
#             then until $GATEWAY_URL serves the new version (when GATEWAY_URL is set)
#   rollback  aborts the canary if it still runs, or rolls back to the recorded version if it
#             was promoted; nothing when the judge aborted it already
# Live (DRY_RUN=0) the target is `--env production` (CLOUDFLARE_API_TOKEN and
# CLOUDFLARE_ACCOUNT_ID); verify also reads GATEWAY_URL and ADMIN_TOKEN if set. A dry run
# does the same against a fresh local state (.tmp/ci/routes/state: wrangler's local KV and D1),
# seeded with routes.toml as of ROUTES_BASE (a git revision, default HEAD, or a file) as the
# active version. ROUTES_FILE (default routes.toml) is the table to release.
# CANARY_PERCENT, CANARY_STEPS, CANARY_INTERVAL and VERIFY_TIMEOUT_S (default 2700: how long
# verify waits for the promotion) tune it.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

stage=${1:-}
state=$(state_dir routes)
GATEWAYCTL=${GATEWAYCTL:-target/debug/gatewayctl}
WRANGLER=${WRANGLER:-wrangler}
CURL=${CURL:-curl}
percent=${CANARY_PERCENT:-10}
steps=${CANARY_STEPS:-10,50,100}
interval=${CANARY_INTERVAL:-10m}
author="ci:${GITHUB_ACTOR:-${USER:-local}}"
file=${ROUTES_FILE:-routes.toml}

if live; then
  target=(--env production)
else
  target=(--local --persist-to "$state/state")
fi

# An artifact download loses the executable bit.
[ ! -f "$GATEWAYCTL" ] || [ -x "$GATEWAYCTL" ] || chmod +x "$GATEWAYCTL"

ctl() { "$GATEWAYCTL" "$@"; }

# Reads the release in force into $active and $canary (empty when none), from `gatewayctl
# status`.
read_release() {
  local out
  out=$(ctl status "${target[@]}") || { printf '%s\n' "$out" >&2; return 1; }
  active=$(sed -n 's/^active in KV: //p' <<<"$out")
  [ "$active" != none ] || active=
  canary=$(sed -n 's/^canary: \([^ ]*\) on .*/\1/p' <<<"$out")
}

# The gateway at $GATEWAY_URL serves version $1 (GET /__gateway/routes).
serving() {
  "$CURL" -fsS --max-time 10 -H "authorization: Bearer $ADMIN_TOKEN" "$GATEWAY_URL/__gateway/routes" |
    node scripts/ci/inspect.mjs serving "$1"
}

case "$stage" in
  build)
    lint_tools
    actionlint .github/workflows/routes.yml
    cargo build --quiet -p gatewayctl
    for env in local production; do
      ctl compile "$file" --env "$env" >"$state/routes.$env.json"
    done
    say routes "compiled: $(printf '%s ' "$state"/routes.*.json)"
    ;;

  test)
    node scripts/coupling.mjs
    ctl check "$file"
    mapfile -t crates < <(workspace_packages gatewayctl | awk '{ print "-p"; print }')
    say routes "tests: ${crates[*]}"
    cargo test --quiet "${crates[@]}"
    ;;

  deploy)
    need CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
    npm_packages
    rm -f "$state/previous" "$state/candidate"
    if ! live; then
      # A fresh local state, with the base table active: what production would hold.
      rm -rf "$state/state"
      "$WRANGLER" d1 migrations apply DB --local --persist-to "$state/state" >"$state/wrangler.log" 2>&1 ||
        { cat "$state/wrangler.log" >&2; exit 1; }
      base=${ROUTES_BASE:-HEAD}
      if [ -f "$base" ]; then
        cp "$base" "$state/base.toml"
      else
        git show "$base:routes.toml" >"$state/base.toml" 2>/dev/null ||
          { say routes "no routes.toml at $base: the base is $file itself"; cp "$file" "$state/base.toml"; }
      fi
      active=$(ctl publish "$state/base.toml" "${target[@]}" --author "$author" --note "base" 2>"$state/gatewayctl.log") ||
        { cat "$state/gatewayctl.log" >&2; exit 1; }
      canary=
    else
      read_release
    fi
    printf '%s\n' "${active:-none}" >"$state/previous"
    if [ -n "$canary" ]; then
      say routes "a canary of $canary runs: promote or abort it first"
      exit 1
    fi
    if [ -z "$active" ]; then
      say routes "nothing is published yet: publishing the first version"
      ctl publish "$file" "${target[@]}" --author "$author" --note "$(git_sha)" >"$state/candidate"
      exit 0
    fi
    if live; then
      ctl diff "$file" "${target[@]}" --against active >"$state/diff.txt"
    else
      # The same comparison, with the base compiled for production from its file.
      ctl diff "$file" --env production --against "$state/base.toml" >"$state/diff.txt"
    fi
    sed 's/^/[routes] /' "$state/diff.txt" >&2
    if grep -qx 'routes: no changes' "$state/diff.txt" &&
      grep -qx 'requests that would be served differently: 0 of [0-9]*' "$state/diff.txt"; then
      say routes "routes.toml is what $active serves: nothing to release"
      echo none >"$state/candidate"
      exit 0
    fi
    ctl publish "$file" "${target[@]}" --canary "$percent" --steps "$steps" --interval "$interval" \
      --author "$author" --note "$(git_sha)" >"$state/candidate"
    say routes "canary $(cat "$state/candidate") on $percent % beside $active"
    ;;

  verify)
    npm_packages
    candidate=$(cat "$state/candidate" 2>/dev/null || echo none)
    previous=$(cat "$state/previous" 2>/dev/null || echo none)
    if [ "$candidate" = none ]; then
      say routes "nothing was released"
      exit 0
    fi
    tries=$((${VERIFY_TIMEOUT_S:-2700} / 30 + 1))
    for ((n = 1; ; n++)); do
      read_release
      if [ "$canary" = "$candidate" ]; then
        if ! live; then
          say routes "dry run: the canary of $candidate runs; live, verify would wait for the" \
            "gateway to promote it (steps $steps every $interval)"
          exit 0
        fi
        [ "$n" -lt "$tries" ] || { say routes "the canary of $candidate was not promoted in time"; exit 1; }
        pause 30
        continue
      fi
      if [ "$active" = "$candidate" ] && [ -z "$canary" ]; then
        say routes "$candidate is the active version"
        break
      fi
      if [ "$active" = "$previous" ]; then
        say routes "the canary of $candidate was aborted (gatewayctl history shows why)"
      else
        say routes "another release replaced this one: active ${active:-none}, canary ${canary:-none}"
      fi
      exit 1
    done
    if live && [ -n "${GATEWAY_URL:-}" ]; then
      need ADMIN_TOKEN
      # KV takes up to a minute to reach every location; then three answers in a row.
      in_a_row 3 30 10 serving "$candidate" || { say routes "$GATEWAY_URL does not serve $candidate"; exit 1; }
    fi
    ;;

  rollback)
    need CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID
    npm_packages
    candidate=$(cat "$state/candidate" 2>/dev/null || echo none)
    previous=$(cat "$state/previous" 2>/dev/null || echo none)
    [ "$candidate" != none ] || { say routes "nothing was released: nothing to roll back"; exit 0; }
    read_release
    note="verify failed for $(git_sha)"
    if [ "$canary" = "$candidate" ]; then
      ctl abort "${target[@]}" --author "$author" --note "$note"
    elif [ "$active" = "$candidate" ] && [ "$previous" != none ]; then
      ctl rollback "${target[@]}" --to "$previous" --author "$author" --note "$note"
    elif [ "$active" = "$candidate" ]; then
      say routes "$candidate was the first version: there is none to roll back to"
      exit 1
    else
      say routes "$candidate does not serve (active ${active:-none}): nothing to roll back"
    fi
    ;;

  *) usage "scripts/ci/routes.sh" "build|test|deploy|verify|rollback" ;;
esac
