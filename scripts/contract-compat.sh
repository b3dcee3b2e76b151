#!/usr/bin/env bash
# Backward compatibility of the services' contracts: compares each backends/NAME/openapi.json
# with its previous version and fails when a change is breaking (removed operation, new
# required parameter, removed or retyped response field, …) while the document's
# info.version (the backend's crate version) has no higher major version.
#
# Each is compared with the first committed version of its current major version (so every
# breaking change since that release counts, however many commits it took), or, when the
# working copy starts a new major version, with the last committed version.
# CONTRACT_BASE=REV compares every contract with revision REV instead.
# `npm test` runs this; run it alone with `bash scripts/contract-compat.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
gatewayctl=${GATEWAYCTL:-target/debug/gatewayctl}
[ -x "$gatewayctl" ] || cargo build --quiet -p gatewayctl
if ! git rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
  echo "contract-compat: not a git work tree with commits; nothing to compare"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
# The major version of a document (the first `"version"` is info.version in the generated
# documents, whose `info` comes before any schema).
major() { sed -n 's/^ *"version": "\([0-9][0-9]*\)\..*/\1/p' | head -n 1; }
for doc in backends/*/openapi.json; do
  rev=${CONTRACT_BASE:-}
  if [ -z "$rev" ]; then
    current=$(major < "$doc")
    for commit in $(git log --reverse --format=%H -- "$doc"); do
      if [ "$(git show "$commit:$doc" 2>/dev/null | major)" = "$current" ]; then
        rev=$commit
        break
      fi
    done
    rev=${rev:-HEAD}
  fi
  if ! git cat-file -e "$rev:$doc" 2>/dev/null; then
    echo "$doc: no earlier version at ${rev}; nothing to compare"
    continue
  fi
  old="$tmp/$(git rev-parse --short "$rev")-$(basename "$(dirname "$doc")").json"
  git show "$rev:$doc" > "$old"
  echo "== $doc against $(git rev-parse --short "$rev") (version $(major < "$old").x)"
  "$gatewayctl" contract-diff "$old" "$doc" || failed=1
done
exit $failed
