#!/usr/bin/env bash
# Part 3 of `make bench`, Python (see bench/lang/README.md for the interface):
# the authenticated GET loop through the starmile binding (ctypes, imported
# from bindings/python with STARMILE_LIB) against requests + requests-oauthlib
# (one OAuth2Session) and httpx (one Client with a Bearer header).
#
#   bench/lang/python.sh setup   a venv under $BENCH_WORK with the peers, pinned
#   bench/lang/python.sh run     prints two rows of section 3
set -euo pipefail

ROOT=${STARMILE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORK=${BENCH_WORK:-$ROOT/target/bench}
VENV=$WORK/python-venv
PY=$VENV/bin/python
# Pinned, so that two runs of the benchmark compare the same peers.
PEERS=(requests==2.34.2 requests-oauthlib==2.0.0 httpx==0.28.1)

setup() {
  if ! { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv
  fi
  [ -x "$PY" ] || python3 -m venv "$VENV"
  # Skip pip when every pinned peer is already there (a second run).
  if "$PY" - "${PEERS[@]}" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    sys.exit(any(version(name) != wanted for name, wanted in (peer.split("==") for peer in sys.argv[1:])))
except PackageNotFoundError:
    sys.exit(1)
EOF
  then
    echo "python: peers already installed in $VENV"
  else
    "$PY" -m pip install --quiet --disable-pip-version-check "${PEERS[@]}"
  fi
}

run() {
  local rounds=${BENCH_LANG_ROUNDS:-3} warmup=100 out=$WORK/results/p3.python.$BENCH_PINNING
  if [ "$BENCH_SMOKE" = 1 ]; then rounds=1 warmup=20; fi
  # shellcheck disable=SC2086 # BENCH_PIN is a command prefix, split on purpose
  PYTHONPATH=$ROOT/bindings/python $BENCH_PIN "$PY" "$ROOT/bench/lang/python/request_loop.py" \
    --requests "$BENCH_REQUESTS" --rounds "$rounds" --warmup "$warmup" >"$out"
  sed "s/^/python $BENCH_PINNING: /" "$out" >&2

  # What the server saw: one token per loop, every request answered.
  local loops=3
  expect_sandbox_saw python "$loops" $((loops * (warmup + rounds * BENCH_REQUESTS)))

  LANGUAGE="Python $(kv "$out" python)"
  row "starmile (ctypes)" ours \
    "requests $(kv "$out" requests.version) + requests-oauthlib $(kv "$out" requests_oauthlib.version), one \`OAuth2Session\`" requests 5
  row "starmile (ctypes)" ours "httpx $(kv "$out" httpx.version), one \`Client\`, Bearer header" httpx
}


case ${1:-} in
  setup) setup ;;
  run) run ;;
  *) echo "usage: $0 setup|run" >&2; exit 2 ;;
esac
