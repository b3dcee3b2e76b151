#!/usr/bin/env bash
# A backend's pipeline: scripts/ci/backend.sh NAME STAGE (NAME: users, orders, orders-v2, idp),
# the same locally and in .github/workflows/backend-NAME.yml.
#   build     actionlint of its workflows, hadolint of backends/NAME/Dockerfile; then, with
#             IMAGE set (CI), `docker build` the image (and push it with PUSH=1); without,
#             `cargo build --release -p NAME`, what the Dockerfile's build stage runs (for a
#             machine without a Docker engine)
#   test      cargo test of NAME and the workspace crates it is built from
#   deploy    on the Docker host DOCKER_HOST (e.g. ssh://deploy@origin-1): start IMAGE and a
#             second tunnel connector in its network namespace, wait until both are ready,
#             then stop the previous pair (the connector first, so the tunnel stops sending it
#             requests before its origin stops). Records the previous pair for rollback.
#   verify    GET https://HOSTNAME/healthz through the tunnel (and Cloudflare Access), five
#             times in a row: healthy, from NAME, at the crate's API version
#   rollback  start the previous pair again, then stop the new one
# IMAGE: $IMAGE, else $IMAGE_REGISTRY/NAME:COMMIT (lower case) when IMAGE_REGISTRY is set.
# HOSTNAME: $TUNNEL_HOSTNAME, else the production origin of the upstream called NAME in
# routes.toml. Live stages (DRY_RUN=0) need IMAGE and DOCKER_HOST (deploy, rollback; with
# DEPLOY_SSH_KEY and DEPLOY_KNOWN_HOSTS for an ssh:// host), and CF_ACCESS_CLIENT_ID /
# CF_ACCESS_CLIENT_SECRET when the hostname is behind Cloudflare Access (verify).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

name=${1:-}
stage=${2:-}
case "$name" in
  users | orders | orders-v2 | idp) ;;
  *) usage "scripts/ci/backend.sh" "users|orders|orders-v2|idp build|test|deploy|verify|rollback" ;;
esac
state=$(state_dir "backend-$name")
DOCKER=${DOCKER:-docker}
CURL=${CURL:-curl}
CLOUDFLARED_IMAGE=${CLOUDFLARED_IMAGE:-cloudflare/cloudflared:2025.11.1}
PROBE_IMAGE=${PROBE_IMAGE:-curlimages/curl:8.11.1}
# Where the Docker host keeps the connector's config.yml and each tunnel's credentials
# (deploy/cloudflared/README.md).
CLOUDFLARED_DIR=${CLOUDFLARED_DIR:-/etc/cloudflared}
label="edge-gateway.backend=$name"
if [ -z "${IMAGE:-}" ] && [ -n "${IMAGE_REGISTRY:-}" ]; then
  IMAGE=$(printf '%s/%s:%s' "$IMAGE_REGISTRY" "$name" "$(git_sha)" | tr '[:upper:]' '[:lower:]')
fi

# The port the service listens on: its crate's DEFAULT_PORT.
port() {
  sed -n 's/^pub const DEFAULT_PORT: u16 = \([0-9]*\);$/\1/p' "backends/$name/src/lib.rs"
}

# The crate's version, which is the API version its /healthz reports.
api_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' "backends/$name/Cargo.toml" | head -n1
}

# The tunnel hostname: TUNNEL_HOSTNAME, else routes.toml's production origin for upstream NAME.
hostname() {
  if [ -n "${TUNNEL_HOSTNAME:-}" ]; then
    printf '%s\n' "$TUNNEL_HOSTNAME"
    return
  fi
  awk -v section="[upstreams.$name.env.production]" '
    $0 == section { inside = 1; next }
    /^\[/ { inside = 0 }
    inside && /^origins *=/ { if (match($0, /https:\/\/[^"\/]+/)) { print substr($0, RSTART + 8, RLENGTH - 8); exit } }
  ' routes.toml
}

# The containers of this backend that run (origins and connectors), oldest first.
running() {
  "$DOCKER" ps --filter "label=$label" --format '{{.CreatedAt}}\t{{.Names}}' | sort | cut -f2
}

# start SUFFIX IMAGE: an origin container NAME-SUFFIX and its connector NAME-SUFFIX-tunnel,
# then waits until both are ready.
start() {
  local origin="$name-$1" image=$2
  act "$DOCKER" run -d --name "$origin" --label "$label" --restart unless-stopped \
    --read-only --cap-drop ALL --security-opt no-new-privileges \
    -e PORT="$(port)" "$image"
  act "$DOCKER" run -d --name "$origin-tunnel" --label "$label" --restart unless-stopped \
    --network "container:$origin" --read-only --cap-drop ALL \
    -v "$CLOUDFLARED_DIR:/etc/cloudflared:ro" "$CLOUDFLARED_IMAGE" \
    tunnel --config /etc/cloudflared/config.yml --no-autoupdate --metrics 127.0.0.1:2000 \
    --grace-period 30s run --cred-file "/etc/cloudflared/$name.json" "$name"
  ready "$origin"
}

# ready ORIGIN: waits until ORIGIN answers /healthz and its connector has edge connections
# (cloudflared's /ready), probing from inside ORIGIN's network namespace (the images have no
# shell or curl).
ready() {
  local origin=$1
  local probe=("$DOCKER" run --rm --network "container:$origin" "$PROBE_IMAGE" -fsS --max-time 3 -o /dev/null)
  if ! live; then
    act "${probe[@]}" "http://127.0.0.1:$(port)/healthz"
    act "${probe[@]}" "http://127.0.0.1:2000/ready"
    return 0
  fi
  poll 30 2 "${probe[@]}" "http://127.0.0.1:$(port)/healthz" ||
    { say "$name" "$origin is not healthy after a minute"; return 1; }
  poll 30 2 "${probe[@]}" "http://127.0.0.1:2000/ready" ||
    { say "$name" "$origin-tunnel has no edge connection after a minute"; return 1; }
}

# stop CONTAINER…: connectors first (each finishes its in-flight requests within its grace
# period while the edge sends new ones to the other connector), then origins (which drain too).
stop() {
  local c
  for c in "$@"; do
    if [[ "$c" == *-tunnel ]]; then act "$DOCKER" stop --time 35 "$c"; fi
  done
  for c in "$@"; do
    if [[ "$c" != *-tunnel ]]; then act "$DOCKER" stop --time 30 "$c"; fi
  done
}

# The key and known host entry for DOCKER_HOST=ssh://…, from DEPLOY_SSH_KEY and
# DEPLOY_KNOWN_HOSTS, in ~/.ssh (kept for the job's later steps).
ssh_setup() {
  [ -n "${DEPLOY_SSH_KEY:-}" ] && live || return 0
  mkdir -p ~/.ssh
  chmod 700 ~/.ssh
  (umask 077 && printf '%s\n' "$DEPLOY_SSH_KEY" >~/.ssh/edge-gateway-deploy)
  printf '%s\n' "${DEPLOY_KNOWN_HOSTS:-}" >>~/.ssh/known_hosts
  printf 'Host *\n  IdentityFile ~/.ssh/edge-gateway-deploy\n' >>~/.ssh/config
}

# One verification request through the tunnel.
healthy() {
  local host body
  host=$(hostname)
  local access=()
  if [ -n "${CF_ACCESS_CLIENT_ID:-}" ]; then
    access=(-H "cf-access-client-id: $CF_ACCESS_CLIENT_ID" -H "cf-access-client-secret: $CF_ACCESS_CLIENT_SECRET")
  fi
  body=$("$CURL" -fsS --max-time 10 "${access[@]}" "https://$host/healthz") || return 1
  printf '%s' "$body" | node scripts/ci/inspect.mjs backend-health "$name" "$(api_version)"
}

case "$stage" in
  build)
    lint_tools
    actionlint .github/workflows/backend.yml ".github/workflows/backend-$name.yml"
    hadolint "backends/$name/Dockerfile"
    if [ -n "${IMAGE:-}" ]; then
      "$DOCKER" build -f "backends/$name/Dockerfile" -t "$IMAGE" .
      if [ "${PUSH:-0}" = 1 ]; then "$DOCKER" push "$IMAGE"; fi
    else
      say "$name" "no IMAGE: building what the image's build stage builds"
      cargo build --quiet --release --locked -p "$name"
      say "$name" "target/release/$name: $(du -k "target/release/$name" | cut -f1) KiB"
    fi
    ;;

  test)
    node scripts/coupling.mjs
    mapfile -t crates < <(workspace_packages "$name" | awk '{ print "-p"; print }')
    say "$name" "tests: ${crates[*]}"
    cargo test --quiet "${crates[@]}"
    ;;

  deploy)
    need IMAGE DOCKER_HOST
    ssh_setup
    image=${IMAGE:-<IMAGE>}
    suffix=$(git_sha | cut -c1-12)
    if live; then running >"$state/previous"; else : >"$state/previous"; fi
    mapfile -t previous <"$state/previous"
    # A dry run reads no host: it shows the previous pair as a placeholder.
    live || previous=("$name-<previous>" "$name-<previous>-tunnel")
    say "$name" "running before: ${previous[*]:-nothing}"
    if grep -qx "$name-$suffix" "$state/previous"; then
      say "$name" "$name-$suffix runs already: nothing to deploy"
      echo "$name-$suffix" >"$state/deployed"
      exit 0
    fi
    # A stopped pair of this commit (an earlier run that failed) is removed first.
    if live; then "$DOCKER" rm -f "$name-$suffix-tunnel" "$name-$suffix" >/dev/null 2>&1 || true; fi
    start "$suffix" "$image"
    echo "$name-$suffix" >"$state/deployed"
    stop "${previous[@]}"
    # Keep the stopped pair just replaced (for rollback); remove older stopped ones.
    if live; then
      "$DOCKER" ps -a --filter "label=$label" --filter status=exited --format '{{.Names}}' |
        grep -vxF -f "$state/previous" | xargs -r "$DOCKER" rm
    fi
    ;;

  verify)
    host=$(hostname)
    if [ -z "$host" ]; then
      say "$name" "no tunnel hostname: routes.toml names no production origin for it; set TUNNEL_HOSTNAME"
      live && exit 1
      host='<TUNNEL_HOSTNAME>'
    fi
    if ! live; then
      say "$name" "dry run: live, verify would GET https://$host/healthz until five answers" \
        "in a row say healthy, service $name, version $(api_version) (within 2 minutes)"
      exit 0
    fi
    in_a_row 5 40 3 healthy || { say "$name" "not healthy through https://$host within 2 minutes"; exit 1; }
    say "$name" "verified through https://$host"
    ;;

  rollback)
    need DOCKER_HOST
    ssh_setup
    deployed=$(cat "$state/deployed" 2>/dev/null || true)
    mapfile -t previous < <(cat "$state/previous" 2>/dev/null || true)
    if [ ${#previous[@]} -eq 0 ] && live; then
      say "$name" "nothing ran before this deploy: stopping it leaves no origin; leaving it"
      exit 1
    fi
    if [ ${#previous[@]} -eq 0 ]; then
      previous=("$name-<previous>" "$name-<previous>-tunnel") # a dry run records none
    fi
    # The previous pair's origin starts before its connector, and both are ready before the
    # new pair stops: the tunnel always has a ready connector.
    for c in "${previous[@]}"; do
      if [[ "$c" != *-tunnel ]]; then act "$DOCKER" start "$c" "$c-tunnel"; ready "$c"; fi
    done
    if [ -n "$deployed" ]; then stop "$deployed-tunnel" "$deployed"; fi
    ;;

  *) usage "scripts/ci/backend.sh NAME" "build|test|deploy|verify|rollback" ;;
esac
