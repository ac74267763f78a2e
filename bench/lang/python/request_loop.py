"""Part 3 of `make bench`, Python: the same authenticated GET loop through
starmile and through the usual alternatives.

    request_loop.py --requests N --rounds R

Each loop gets one long-lived client: its token is fetched once, a short
warm-up opens the keep-alive connection, then every round sends N sequential
GET /v1/echo and checks each answer is a 200 with a body. The loops take
turns (ours, theirs, ours, theirs ...) so that noise on the shared machine
hits them alike. The server comes from STARMILE_BASE_URL, STARMILE_CLIENT_ID
and STARMILE_CLIENT_SECRET; the library from STARMILE_LIB.

Prints "KEY value" lines on stdout, per loop: <loop>.req_per_s (the best
round), <loop>.cpu_us_per_req (this process's CPU per request in that round),
and the versions in use. A failed request is an error (exit 1); a slow one never is.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, List

# oauthlib refuses http:// token URLs unless told otherwise; the sandbox
# listens on plain HTTP on loopback.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import httpx  # noqa: E402
import requests  # noqa: E402
import requests_oauthlib  # noqa: E402
from oauthlib.oauth2 import BackendApplicationClient  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402

import starmile  # noqa: E402

BASE_URL = os.environ["STARMILE_BASE_URL"].rstrip("/")
CLIENT_ID = os.environ["STARMILE_CLIENT_ID"]
CLIENT_SECRET = os.environ["STARMILE_CLIENT_SECRET"]
TOKEN_URL = BASE_URL + "/oauth/token"
ECHO_PATH = "/v1/echo"
ECHO_URL = BASE_URL + ECHO_PATH

Loop = Callable[[int], None]


def fail(message: str) -> None:
    raise SystemExit(f"request_loop.py: {message}")


def ours() -> Loop:
    client = starmile.Client(BASE_URL, CLIENT_ID, CLIENT_SECRET)
    client.get_token()

    def loop(n: int) -> None:
        get = client.get
        for _ in range(n):
            response = get(ECHO_PATH)
            if response.status_code != 200 or not response.content:
                fail(f"starmile: GET {ECHO_PATH} answered {response.status_code}")

    return loop


def requests_oauthlib_session() -> Loop:
    session = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID))
    session.fetch_token(token_url=TOKEN_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    def loop(n: int) -> None:
        get = session.get
        for _ in range(n):
            response = get(ECHO_URL)
            if response.status_code != 200 or not response.content:
                fail(f"requests: GET {ECHO_URL} answered {response.status_code}")

    return loop


def httpx_client() -> Loop:
    client = httpx.Client(base_url=BASE_URL)
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    if answer.status_code != 200:
        fail(f"httpx: the token endpoint answered {answer.status_code}")
    client.headers["Authorization"] = "Bearer " + answer.json()["access_token"]

    def loop(n: int) -> None:
        get = client.get
        for _ in range(n):
            response = get(ECHO_PATH)
            if response.status_code != 200 or not response.content:
                fail(f"httpx: GET {ECHO_PATH} answered {response.status_code}")

    return loop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()

    loops: Dict[str, Loop] = {
        "ours": ours(),
        "requests": requests_oauthlib_session(),
        "httpx": httpx_client(),
    }
    for loop in loops.values():
        loop(args.warmup)

    rates: Dict[str, List[float]] = {name: [] for name in loops}
    cpu: Dict[str, List[float]] = {name: [] for name in loops}
    for round_number in range(1, args.rounds + 1):
        for name, loop in loops.items():
            cpu0, t0 = time.process_time(), time.perf_counter()
            loop(args.requests)
            seconds = time.perf_counter() - t0
            cpu_s = time.process_time() - cpu0
            rates[name].append(args.requests / seconds)
            cpu[name].append(cpu_s / args.requests * 1e6)
            print(f"python round {round_number} {name}: {args.requests / seconds:.0f} req/s, "
                  f"{cpu_s / args.requests * 1e6:.1f} CPU us/req", file=sys.stderr)

    print(f"python {sys.version.split()[0]}")
    print(f"starmile.version {starmile.library_version()}")
    print(f"requests.version {requests.__version__}")
    print(f"requests_oauthlib.version {requests_oauthlib.__version__}")
    print(f"httpx.version {httpx.__version__}")
    print(f"requests {args.requests}")
    print(f"rounds {args.rounds}")
    for name in loops:
        best = max(range(args.rounds), key=lambda i: rates[name][i])
        print(f"{name}.req_per_s {rates[name][best]:.0f}")
        print(f"{name}.cpu_us_per_req {cpu[name][best]:.1f}")


if __name__ == "__main__":
    main()
