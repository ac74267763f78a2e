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
