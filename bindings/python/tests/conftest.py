from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import starmile
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    server = Sandbox()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox: Sandbox) -> None:
    sandbox.reset()


@pytest.fixture
def make_client(sandbox: Sandbox) -> Iterator[Callable[..., starmile.Client]]:
    """Client factory; every client made is closed after the test."""
    made: list[starmile.Client] = []

    def make(**config: Any) -> starmile.Client:
        settings = {"base_url": sandbox.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **config}
        client = starmile.Client(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., starmile.Client]) -> starmile.Client:
    return make_client()
