"""Per-call overhead of Client.get_token() on a cached token, in µs per call.

    STARMILE_LIB=../../target/release/libstarmile.so python bench_get_token.py [calls]

Starts starmile-sandbox itself (tests/sandbox.py) unless STARMILE_BASE_URL,
STARMILE_CLIENT_ID and STARMILE_CLIENT_SECRET name a server. Only the first
call touches the network; the rest measure ctypes + the library's cache. A
benchmark reports; it never fails on a timing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import starmile

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox  # noqa: E402


def per_call_us(function: object, calls: int) -> float:
    best = float("inf")
    for _ in range(5):  # best of five runs: the least disturbed by the rest of the machine
        started = time.perf_counter()
        for _ in range(calls):
            function()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    server = None
    if os.environ.get("STARMILE_BASE_URL"):
        client = starmile.Client()
    else:
        server = Sandbox()
        client = starmile.Client(server.url, CLIENT_ID, CLIENT_SECRET)
    try:
        client.get_token()  # the one network fetch
        version = client._lib.sm_version  # a bare ctypes call, for scale
        print(f"libstarmile {starmile.library_version()} from {starmile.library_path()}")
        print(f"python {sys.version.split()[0]}, {calls} calls, best of 5")
        print(f"get_token() cached:      {per_call_us(client.get_token, calls):6.2f} µs/call")
        print(f"token() cached:          {per_call_us(client.token, calls):6.2f} µs/call")
        print(f"bare ctypes sm_version:  {per_call_us(version, calls):6.2f} µs/call")
        print(f"token fetches: {client.stats()['token_fetches']}")
    finally:
        client.close()
        if server:
            server.stop()


if __name__ == "__main__":
    main()
