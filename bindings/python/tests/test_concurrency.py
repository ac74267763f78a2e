"""One client shared by threads, and by a forked child process."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import starmile
from sandbox import Sandbox

THREADS = 16


def test_threads_sharing_a_client_cause_one_token_request(client: starmile.Client, sandbox: Sandbox) -> None:
    # A slow token endpoint makes every thread arrive while the fetch runs.
    sandbox.settings(token_latency_ms=300)
    barrier = threading.Barrier(THREADS)

    def work(_: int) -> tuple[str, int]:
        barrier.wait()
        token = client.get_token()
        return token, client.get("/v1/echo").status_code

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    assert len({token for token, _ in results}) == 1
    assert all(status == 200 for _, status in results)
    stats = sandbox.stats()
    assert stats["token_requests"] == 1
    assert stats["requests"]["GET /v1/echo"] == THREADS


def test_threads_run_library_calls_in_parallel(client: starmile.Client) -> None:
    client.get_token()
    threads, delay_ms = 8, 300

    def slow(_: int) -> int:
        return client.get(f"/v1/slow/{delay_ms}").status_code

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(slow, range(threads)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * threads
    # One after the other would take 2.4 s; the GIL is released during calls.
    assert elapsed < threads * delay_ms / 1000 * 0.75, f"{threads} calls took {elapsed:.2f}s"


def test_close_lets_a_running_call_finish(make_client: Callable[..., starmile.Client], sandbox: Sandbox) -> None:
    client = make_client()
    client.get_token()
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(client.get("/v1/slow/800").status_code))
    worker.start()
    deadline = time.monotonic() + 10
    while not sandbox.stats()["requests"].get("GET /v1/slow/800") and time.monotonic() < deadline:
        time.sleep(0.01)  # until the request is at the server
    client.close()
    worker.join(10)
    assert outcome == [200]


def _child(client: starmile.Client, results: Any) -> None:
    try:
        token = client.get_token()
        echoed = client.post("/v1/echo", json={"from": "child"}).json()
        results.put(("ok", token, echoed["json"]))
    except BaseException as exc:  # report anything to the parent
        results.put(("error", repr(exc), None))


def test_forked_child_uses_the_parents_client(client: starmile.Client, sandbox: Sandbox) -> None:
    parent_token = client.get_token()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child, args=(client, results))
    child.start()
    outcome = results.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0
    assert outcome[0] == "ok", outcome
    _, child_token, echoed = outcome
    assert child_token == parent_token  # the cached token survived the fork
    assert echoed == {"from": "child"}
    assert sandbox.stats()["token_requests"] == 1
    # and the parent carries on with its own connections
    assert client.get("/v1/echo").status_code == 200
