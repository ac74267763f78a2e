#!/usr/bin/env bash
# Part 3 of `make bench`, Node (see bench/lang/README.md for the interface):
# the authenticated GET loop through the starmile binding (koffi, from
# bindings/node with STARMILE_LIB) against Node's built-in fetch, one request
# at a time and from 16 concurrent workers.
#
#   bench/lang/node.sh setup   node and npm from apt when missing; npm ci in bindings/node
#   bench/lang/node.sh run     prints two rows of section 3
#
# The binding runs each call on libuv's thread pool: UV_THREADPOOL_SIZE is
# passed through when set (the default is 4) and shown in the rows.
set -euo pipefail

ROOT=${STARMILE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORK=${BENCH_WORK:-$ROOT/target/bench}
BINDING=$ROOT/bindings/node
CONCURRENCY=16

setup() {
  if ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  fi
  # As bindings/node's Makefile: npm ci when node_modules is missing or older than the lockfile.
  if [ ! -f "$BINDING/node_modules/.package-lock.json" ] \
    || [ "$BINDING/package-lock.json" -nt "$BINDING/node_modules/.package-lock.json" ]; then
    (cd "$BINDING" && npm ci --no-audit --no-fund)
  else
    echo "node: $BINDING/node_modules is up to date"
  fi
}

run() {
  local rounds=${BENCH_LANG_ROUNDS:-3} warmup=100 out=$WORK/results/p3.node.$BENCH_PINNING
  if [ "$BENCH_SMOKE" = 1 ]; then rounds=1 warmup=20; fi
  # shellcheck disable=SC2086 # BENCH_PIN is a command prefix, split on purpose
  $BENCH_PIN node "$ROOT/bench/lang/node/request_loop.js" "$BENCH_REQUESTS" "$rounds" "$warmup" "$CONCURRENCY" >"$out"
  sed "s/^/node $BENCH_PINNING: /" "$out" >&2

  # What the server saw: one token per side, every request answered (each
  # side runs a sequential and a concurrent loop).
  local sides=2
  expect_sandbox_saw node "$sides" $((2 * sides * (warmup + rounds * BENCH_REQUESTS)))

  local pool
  pool="UV_THREADPOOL_SIZE=$(kv "$out" uv_threadpool_size)"
  LANGUAGE="Node $(kv "$out" node)"
  row "starmile (koffi), sequential awaits, $pool" ours \
    "built-in \`fetch\` (undici $(kv "$out" undici.version)), sequential awaits" fetch 1.5
  row "starmile (koffi), $CONCURRENCY concurrent, $pool" "ours_c$CONCURRENCY" \
    "built-in \`fetch\`, $CONCURRENCY concurrent" "fetch_c$CONCURRENCY"
}


case ${1:-} in
  setup) setup ;;
  run) run ;;
  *) echo "usage: $0 setup|run" >&2; exit 2 ;;
esac
