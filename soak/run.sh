#!/usr/bin/env bash
# The soak (`make soak`): 32 threads share one client for 10 minutes while the
# sandbox injects faults on a schedule; prints the figures and fails on a
# crash, an outcome no fault explains, an unkeyed write sent twice, or
# resident memory growing after the warm-up. See soak/soak.c.
#
#   soak/run.sh                      10 minutes
#   SOAK_SECONDS=60 soak/run.sh      shorter
#   SOAK_THREADS, SOAK_TOKEN_LIFETIME, SOAK_PAUSE_MS    see soak/soak.c
#
# Everything stays on loopback: the sandbox listens on 127.0.0.1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
release="$root/target/release"
out="$root/target/soak"
export STARMILE_SANDBOX_BIN=${STARMILE_SANDBOX_BIN:-$release/starmile-sandbox}

if [ ! -f "$release/libstarmile.so" ] || [ ! -x "$STARMILE_SANDBOX_BIN" ]; then
  (cd "$root" && cargo build --release --features sandbox)
fi
mkdir -p "$out"
gcc -std=c99 -O2 -g -Wall -Wextra -Werror -pthread -I"$root/include" \
  "$root/soak/soak.c" -o "$out/soak" -L"$release" -lstarmile

set +e
LD_LIBRARY_PATH="$release" "$out/soak"
code=$?
set -e
if [ $code -gt 128 ]; then
  echo "soak: CRASH (killed by signal $((code - 128)))"
elif [ $code -eq 0 ]; then
  echo "crashes             0"
fi
exit $code
