# Sourced by scripts/ci/<component>.sh from the repository root: what every pipeline stage
# shares.
#
# DRY_RUN (default 1): a stage that would change something outside this machine (a deploy, a
# rollback) or needs an account (verify) prints the commands it would run, marked `[dry-run]`,
# and runs only what needs no account. The workflows set DRY_RUN=0 in their release jobs; a
# developer running a stage by hand never deploys by accident.
# CI_STATE_DIR (default .tmp/ci/<component>): what deploy records for verify and rollback (the
# version that served before, the one deployed). The three stages run in one job.
# shellcheck shell=bash

export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
DRY_RUN="${DRY_RUN:-1}"

# say COMPONENT MESSAGE…: one line on stderr.
say() {
  local who=$1
  shift
  printf '[%s] %s\n' "$who" "$*" >&2
}

# live: true when this run may touch production.
live() { [ "$DRY_RUN" = 0 ]; }

# act COMMAND…: runs COMMAND when live, else prints it.
act() {
  if live; then
    "$@"
  else
    local arg line='[dry-run] would run:'
    for arg in "$@"; do
      if [[ "$arg" =~ [[:space:]\"\'\$] ]]; then line+=" '$arg'"; else line+=" $arg"; fi
    done
    printf '%s\n' "$line" >&2
  fi
}

# state_dir COMPONENT: the directory deploy, verify and rollback share (created).
state_dir() {
  local dir="${CI_STATE_DIR:-.tmp/ci/$1}"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}

# need VAR…: fails naming every variable that is unset or empty (only when live).
need() {
  live || return 0
  local missing=() var
  for var in "$@"; do
    [ -n "${!var:-}" ] || missing+=("$var")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'missing settings: %s (see docs/architecture.md#pipelines)\n' "${missing[*]}" >&2
    return 1
  fi
}

# lint_tools: puts the pipeline linters (actionlint, hadolint, shellcheck) on PATH, installing
# them first if needed.
lint_tools() {
  local bin
  bin=$(bash scripts/lib/lint-tools.sh)
  export PATH="$bin:$PATH"
}

# workspace_packages PACKAGE: PACKAGE and every workspace crate it depends on (normal, dev or
# build dependencies, transitively), one per line: the crates a change to which can change
# PACKAGE, and whose tests its pipeline runs.
workspace_packages() {
  cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
    node scripts/ci/workspace.mjs closure "$1"
}

# npm_packages: installs the npm packages (wrangler) if they are missing: what a release job,
# which runs no full setup, needs.
npm_packages() {
  [ -x node_modules/.bin/wrangler ] || npm install --no-audit --no-fund --loglevel=error >&2
}

# git_sha: the commit being built (GITHUB_SHA in Actions), for notes and image tags.
git_sha() { printf '%s\n' "${GITHUB_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"; }

# pause SECONDS: sleeps, SECONDS × CI_PAUSE (default 1; the pipeline tests set 0).
pause() { sleep $(($1 * ${CI_PAUSE:-1})); }

# poll TRIES INTERVAL COMMAND…: runs COMMAND until it succeeds, at most TRIES times, pausing
# INTERVAL seconds in between.
poll() {
  local tries=$1 every=$2 n
  shift 2
  for ((n = 1; n <= tries; n++)); do
    "$@" && return 0
    [ "$n" -eq "$tries" ] || pause "$every"
  done
  return 1
}

# in_a_row TIMES TRIES INTERVAL COMMAND…: succeeds once COMMAND has succeeded TIMES times in a
# row, within TRIES runs INTERVAL seconds apart.
in_a_row() {
  local times=$1 tries=$2 every=$3 ok=0 n
  shift 3
  for ((n = 1; n <= tries; n++)); do
    if "$@"; then ok=$((ok + 1)); else ok=0; fi
    [ "$ok" -lt "$times" ] || return 0
    [ "$n" -eq "$tries" ] || pause "$every"
  done
  return 1
}

# usage COMPONENT STAGES: the message for a wrong stage.
usage() {
  printf 'usage: %s %s\n' "$1" "$2" >&2
  exit 2
}
