# Sourced by scripts/bench.sh and scripts/soak.sh from the repository root: installs what is
# missing (scripts/setup.sh), puts node_modules/.bin and cargo's bin on PATH, and installs
# Debian's wrk with apt-get (through sudo when not root) when it is not there.
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >&2; fi
fi
