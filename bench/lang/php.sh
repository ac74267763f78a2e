#!/usr/bin/env bash
# Part 3 of `make bench`, PHP (see bench/lang/README.md for the interface):
# the authenticated GET loop through the starmile binding (FFI, from
# bindings/php with STARMILE_LIB) against ext-curl with one reused handle.
#
#   bench/lang/php.sh setup   apt-get install php8.2-cli php8.2-curl when missing
#   bench/lang/php.sh run     prints one row of section 3
set -euo pipefail

ROOT=${STARMILE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORK=${BENCH_WORK:-$ROOT/target/bench}

setup() {
  local missing=()
  { command -v php >/dev/null && php -m | grep -qx FFI; } || missing+=(php8.2-cli)
  { command -v php >/dev/null && php -m | grep -qx curl; } || missing+=(php8.2-curl)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "php: installing ${missing[*]}"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "php: php with FFI and curl already installed"
  fi
}

run() {
  local rounds=${BENCH_LANG_ROUNDS:-3} warmup=100 out=$WORK/results/p3.php.$BENCH_PINNING
  if [ "$BENCH_SMOKE" = 1 ]; then rounds=1 warmup=20; fi
  # shellcheck disable=SC2086 # BENCH_PIN is a command prefix, split on purpose
  $BENCH_PIN php "$ROOT/bench/lang/php/request_loop.php" "$BENCH_REQUESTS" "$rounds" "$warmup" >"$out"
  sed "s/^/php $BENCH_PINNING: /" "$out" >&2

  # What the server saw: one token per loop, every request answered.
  local loops=2
  expect_sandbox_saw php "$loops" $((loops * (warmup + rounds * BENCH_REQUESTS)))

  LANGUAGE="PHP $(kv "$out" php)"
  row "starmile (FFI)" ours "ext-curl (libcurl $(kv "$out" curl.version)), one reused handle" curl 1.0
}


case ${1:-} in
  setup) setup ;;
  run) run ;;
  *) echo "usage: $0 setup|run" >&2; exit 2 ;;
esac
