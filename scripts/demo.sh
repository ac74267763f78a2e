#!/usr/bin/env bash
# Starts the sandbox on a free port, then shows a token fetched and an API call
# made from C and from every binding named on the command line.
set -euo pipefail
cd "$(dirname "$0")/.."

sandbox_bin=${STARMILE_SANDBOX_BIN:-target/release/starmile-sandbox}
log=$(mktemp)
"$sandbox_bin" --port 0 >"$log" 2>&1 &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  url=$(head -n 1 "$log" 2>/dev/null || true)
  [[ $url == http* ]] && break
  sleep 0.1
done
[[ ${url:-} == http* ]] || { echo "the sandbox did not start:"; cat "$log"; exit 1; }

export STARMILE_BASE_URL=$url
export STARMILE_CLIENT_ID=sandbox-client
export STARMILE_CLIENT_SECRET=sandbox-secret
echo "sandbox listening on $url"

echo
echo "== C (examples/c)"
make --no-print-directory -C tests/c example LIBDIR="$PWD/target/release" INCDIR="$PWD/include"

for binding in "$@"; do
  echo
  echo "== ${binding} (examples/${binding})"
  make --no-print-directory -C "bindings/${binding}" demo
done
