"""The shared token cache (``token_cache``) across processes.

Sixteen processes made by ``multiprocessing`` (spawn and fork), each with its
own ``starmile.Client``, send requests for 7 s against a sandbox issuing 3 s
tokens, with no refresh window: a token is fetched only when the last one
expired, so between them they need exactly 3 token requests, for ``file:``
and for Redis. A Redis killed mid-run does not fail a single request.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import starmile
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox

PROCESSES = 16
TOKEN_LIFETIME_S = 3
SECONDS = 7.0  # fetches at about 0, 3 and 6 s; the 4th would be due at 9 s
START_TIMEOUT_S = 60  # sixteen interpreters starting on a busy machine


def _send_requests(config: dict[str, Any], seconds: float, start: Any, results: Any) -> None:
    """A child process: its own client, then GET /v1/echo every 25 ms for
    `seconds` once every process is ready. Reports to `results`."""
    sent = 0
    try:
        client = starmile.Client(**config)
        start.wait(START_TIMEOUT_S)
        deadline = time.monotonic() + seconds
        while True:
            status = client.get("/v1/echo").status_code  # raises on any failure
            if status != 200:
                raise AssertionError(f"GET /v1/echo answered {status}")
            sent += 1
            if time.monotonic() >= deadline:
                break
            time.sleep(0.025)
        stats = client.stats()
        client.close()
        results.put(("ok", os.getpid(), sent, stats["token_requests"], stats["shared_cache_hits"]))
    except BaseException as exc:  # report anything to the parent
        results.put(("error", os.getpid(), sent, repr(exc), None))


def run_processes(
    start_method: str,
    config: dict[str, Any],
    seconds: float = SECONDS,
    while_running: Optional[Callable[[], None]] = None,
) -> list[tuple[Any, ...]]:
    """Runs PROCESSES children at once; every one must send only successful
    requests. Returns their reports: (pid, sent, token requests, cache hits)."""
    context = multiprocessing.get_context(start_method)
    start = context.Barrier(PROCESSES + 1)  # the children and this process
    results = context.Queue()
    children = [
        context.Process(target=_send_requests, args=(config, seconds, start, results)) for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    try:
        start.wait(START_TIMEOUT_S)
        if while_running is not None:
            while_running()
        reports = [results.get(timeout=seconds + START_TIMEOUT_S) for _ in children]
    except queue.Empty:
        pytest.fail(f"not every process reported; exit codes: {[child.exitcode for child in children]}")
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
                child.join()
    failed = [report for report in reports if report[0] != "ok"]
    assert not failed, f"{len(failed)} of {PROCESSES} processes failed: {failed}"
    assert [child.exitcode for child in children] == [0] * PROCESSES
    assert all(report[2] > 0 for report in reports)
    return [report[1:] for report in reports]


def cache_config(sandbox: Sandbox, token_cache: str) -> dict[str, Any]:
    return {
        "base_url": sandbox.url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_cache": token_cache,
        "refresh_before_s": 0,
    }


def sixteen_processes_one_fetch_per_lifetime(sandbox: Sandbox, start_method: str, token_cache: str) -> None:
    sandbox.settings(token_lifetime_s=TOKEN_LIFETIME_S)
    reports = run_processes(start_method, cache_config(sandbox, token_cache))
    stats = sandbox.stats()
    token_requests = stats["token_requests"]
    fetched_by = sum(1 for _, _, fetched, _ in reports if fetched)
    print(
        f"{token_cache.split(':')[0]} cache, {start_method}: {PROCESSES} processes, "
        f"{sum(sent for _, sent, _, _ in reports)} requests in {SECONDS:.0f} s -> {token_requests} token requests "
        f"(made by {fetched_by} process(es); {sum(hits for *_, hits in reports)} tokens adopted from the cache; "
        f"{stats['unauthorized']} 401s at an expiry, replayed)"
    )
    assert token_requests == 3, "one token request per lifetime, for all processes together"
    # Each fetch was one process's; the others adopted its token.
    assert sum(fetched for _, _, fetched, _ in reports) == token_requests


# -- a Redis server of our own ------------------------------------------------


class RedisServer:
    """redis-server on a free loopback port, no persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: `apt-get install redis-server` (make test installs it)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Kills the server (SIGKILL: no goodbye to its clients)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


# -- the tests ------------------------------------------------------------------


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_file_cache_sixteen_processes_fetch_one_token_per_lifetime(
    sandbox: Sandbox, tmp_path: Path, start_method: str
) -> None:
    cache_dir = tmp_path / "tokens"
    sixteen_processes_one_fetch_per_lifetime(sandbox, start_method, f"file:{cache_dir}")
    # What is stored: the token and its expiry, never the secret.
    entries = list(cache_dir.glob("*.json"))
    assert len(entries) == 1
    assert entries[0].stat().st_mode & 0o777 == 0o600
    assert CLIENT_SECRET not in entries[0].read_text()


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_redis_cache_sixteen_processes_fetch_one_token_per_lifetime(
    sandbox: Sandbox, redis_server: RedisServer, start_method: str
) -> None:
    sixteen_processes_one_fetch_per_lifetime(sandbox, start_method, redis_server.url)


def test_requests_keep_succeeding_when_redis_dies_mid_run(
    sandbox: Sandbox, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STARMILE_LOG", "warn")  # read by the spawned children
    sandbox.settings(token_lifetime_s=TOKEN_LIFETIME_S)

    def kill_redis() -> None:
        time.sleep(1.5)  # the first token was fetched through Redis
        redis_server.stop()

    reports = run_processes("spawn", cache_config(sandbox, redis_server.url), while_running=kill_redis)
    logged = capfd.readouterr().err
    stats = sandbox.stats()
    token_requests = stats["token_requests"]
    print(f"Redis killed 1.5 s into {SECONDS:.0f} s: {PROCESSES} processes -> {token_requests} token requests")
    # Every request arrived (plus a replay for each 401 of a token that
    # expired on its way: refresh_before_s is 0).
    assert stats["requests"]["GET /v1/echo"] == sum(sent for _, sent, _, _ in reports) + stats["unauthorized"]
    # Without Redis each process fetched its own tokens: more token requests,
    # and every request succeeded (run_processes checked each one).
    assert token_requests > 3
    # Each process said once that it fell back to its in-process cache.
    warnings = re.findall(r"starmile\[(\d+)\] WARN: token cache redis://\S+ failed", logged)
    assert sorted(int(pid) for pid in warnings) == sorted(pid for pid, *_ in reports), logged
