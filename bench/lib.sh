# shellcheck shell=bash
# Helpers for bench/run.sh and for the per-language scripts bench/lang/*.sh
# (source this file; it defines functions only).

# The value of the "KEY value" line in FILE (the first one), or nothing.
kv() {
  awk -v key="$2" '$1 == key { print $2; exit }' "$1"
}

# The largest / smallest of the numbers given as arguments.
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }
min_of() { printf '%s\n' "$@" | sort -g | head -n 1; }

# A / B with two decimals, or "n/a" when either is missing or B is 0.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# "met" when VALUE >= TARGET (verdict_ge) or VALUE <= TARGET (verdict_le),
# "missed" otherwise, "n/a" when VALUE is not a number.
verdict_ge() {
  awk -v v="$1" -v t="$2" 'BEGIN {
    if (v !~ /^[0-9.eE+-]+$/) print "n/a"; else if (v + 0 >= t + 0) print "met"; else print "missed" }'
}
verdict_le() {
  awk -v v="$1" -v t="$2" 'BEGIN {
    if (v !~ /^[0-9.eE+-]+$/) print "n/a"; else if (v + 0 <= t + 0) print "met"; else print "missed" }'
}

# A number with thousands separators and DECIMALS decimals (default 0).
fmt() {
  awk -v v="$1" -v d="${2:-0}" 'BEGIN {
    if (v !~ /^-?[0-9.eE+]+$/) { print (v == "" ? "n/a" : v); exit }
    s = sprintf("%." d "f", v); sign = ""
    if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
    i = index(s, "."); int_part = i ? substr(s, 1, i - 1) : s; frac = i ? substr(s, i) : ""
    out = ""
    while (length(int_part) > 3) { out = "," substr(int_part, length(int_part) - 2) out; int_part = substr(int_part, 1, length(int_part) - 3) }
    print sign int_part out frac }'
}

# POST a JSON body to the sandbox's control API: sandbox_control PATH JSON.
sandbox_control() {
  curl -sS -f -X POST -H 'content-type: application/json' -d "$2" \
    "$STARMILE_BASE_URL/_sandbox/$1" >/dev/null
}

# One number from GET /_sandbox/stats: sandbox_stat token_requests.
sandbox_stat() {
  curl -sS -f "$STARMILE_BASE_URL/_sandbox/stats" | jq -r ".$1"
}

# row OURS_LABEL OURS_KEY THEIRS_LABEL THEIRS_KEY [TARGET]: one row of section 3
# (bench/lang/*.sh) from the key=value file $out, for $LANGUAGE, each side's
# CPU per request beside its label. A missed target whose CPU ratio would meet
# it says so: then the loop waits, it does not burn.
# shellcheck disable=SC2154  # $out and $LANGUAGE are set by the calling script
row() {
  local ours theirs r cpu_ours cpu_theirs cpu_ratio target="—" verdict="—"
  ours=$(kv "$out" "$2.req_per_s")
  theirs=$(kv "$out" "$4.req_per_s")
  cpu_ours=$(kv "$out" "$2.cpu_us_per_req")
  cpu_theirs=$(kv "$out" "$4.cpu_us_per_req")
  r=$(ratio "$ours" "$theirs")
  if [ -n "${5:-}" ]; then
    target="≥ ${5}x"
    verdict=$(verdict_ge "$r" "$5")
    cpu_ratio=$(ratio "$cpu_theirs" "$cpu_ours")
    if [ "$verdict" = missed ] && [ "$(verdict_ge "$cpu_ratio" "$5")" = met ]; then
      verdict="missed (met on CPU per request: ${cpu_ratio}x)"
    fi
  fi
  echo "| $LANGUAGE | $BENCH_PINNING | $1; CPU $cpu_ours µs/req | $(fmt "$ours") | $3; CPU $cpu_theirs µs/req | $(fmt "$theirs") | ${r}x | $target | $verdict |"
}

# expect_sandbox_saw NAME TOKENS ECHOES: exits unless the sandbox saw exactly
# TOKENS token requests, ECHOES `GET /v1/echo` and no unauthorized request —
# a benchmark loop that got errors or fetched extra tokens measured nothing.
expect_sandbox_saw() {
  local tokens echoes unauthorized
  tokens=$(sandbox_stat token_requests)
  echoes=$(sandbox_stat 'requests["GET /v1/echo"]')
  unauthorized=$(sandbox_stat unauthorized)
  if [ "$tokens" != "$2" ] || [ "$unauthorized" != 0 ] || [ "$echoes" != "$3" ]; then
    echo "$1: the sandbox saw $tokens token requests (expected $2), $echoes GET /v1/echo" \
      "(expected $3), $unauthorized unauthorized" >&2
    exit 1
  fi
}
