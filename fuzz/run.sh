#!/usr/bin/env bash
# Builds the libFuzzer targets (cargo-fuzz, AddressSanitizer) and runs each
# for a bounded time; `make fuzz` calls it.
#
#   fuzz/run.sh [SECONDS] [TARGET...]    default: 60 s for each target
#
# Inputs come from fuzz/corpus/<target>/ (kept in the repository); new ones go
# to fuzz/scratch/<target>/ (ignored by git). FUZZ_MERGE=1 merges the new
# inputs that add coverage into fuzz/corpus/<target>/ afterwards.
# A crash stops that target, leaves its reproducer in fuzz/artifacts/<target>/,
# and makes the script exit non-zero: copy the reproducer into
# fuzz/regressions/<target>/ so `cargo test` replays it from then on.
#
# STARMILE_FUZZ_KNOWN_LEAKS=form-encoded,2xx,... skips leak checks already
# reported (see fuzz/harness/token_response.rs) so a run can look further.
# fuzz/lsan.supp silences one glibc allocation per thread-local (see there).
#
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. The only network use is `cargo install cargo-fuzz`
# when it is missing; the targets themselves touch nothing but loopback.
set -euo pipefail

cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
all_targets=(config token_response headers url ffi_client_new ffi_request)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

echo "== building the fuzz targets"
cargo fuzz build

status=0
report=()
for target in "${targets[@]}"; do
  mkdir -p "scratch/$target" "corpus/$target" "artifacts/$target"
  log="scratch/$target.log"
  echo "== $target: ${seconds} s"
  result=ok
  if ! cargo fuzz run "$target" "scratch/$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 >"$log" 2>&1; then
    result=CRASH
    status=1
    tail -n 40 "$log"
    echo "** $target failed: reproducer in fuzz/artifacts/$target/ (log: fuzz/$log)"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || true)
  report+=("$(printf '%-16s %-6s %12s execs %8s/s  cov %s' "$target" "$result" "${execs:-?}" "${speed:-?}" "${coverage:-?}")")
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$result" = ok ]; then
    cargo fuzz run "$target" "corpus/$target" "scratch/$target" -- -merge=1 \
      >"scratch/$target.merge.log" 2>&1
    echo "   merged: corpus/$target now holds $(ls "corpus/$target" | wc -l) inputs"
  fi
done

echo "== fuzzing summary (${seconds} s per target)"
printf '%s\n' "${report[@]}"
exit $status
