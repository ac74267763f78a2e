"""Every Client method and the Response, against the sandbox."""

from __future__ import annotations

import gc
import json
import pickle
from ctypes import c_uint64
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
import starmile
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox


def test_get_token_fetches_once_then_serves_the_cached_token(client: starmile.Client, sandbox: Sandbox) -> None:
    first = client.get_token()
    assert isinstance(first, str) and len(first) > 10
    assert client.get_token() == first
    assert sandbox.stats()["token_requests"] == 1


def test_token_carries_an_aware_expiry_and_masks_itself(client: starmile.Client) -> None:
    token = client.token()
    assert token.access_token == client.get_token()
    assert token.expires_at.tzinfo is not None
    now = datetime.now(timezone.utc)
    # the sandbox's default lifetime is one hour
    assert now + timedelta(minutes=50) < token.expires_at < now + timedelta(minutes=61)
    assert token.access_token not in repr(token)
    assert token.access_token[:6] in repr(token)


def test_invalidate_token_makes_the_next_call_fetch_a_new_one(client: starmile.Client, sandbox: Sandbox) -> None:
    first = client.get_token()
    client.invalidate_token()
    second = client.get_token()
    assert second != first
    assert sandbox.stats()["token_requests"] == 2


def test_set_credentials_picks_up_a_rotated_secret(client: starmile.Client, sandbox: Sandbox) -> None:
    client.get_token()
    sandbox.settings(client_secret="rotated-secret")
    client.invalidate_token()
    with pytest.raises(starmile.AuthenticationError):
        client.get_token()
    client.set_credentials(CLIENT_ID, "rotated-secret")  # also ends the fail-fast period
    assert client.get("/v1/echo").status_code == 200


def test_stats_reports_the_library_counters(client: starmile.Client) -> None:
    assert client.stats()["token_expires_at_ms"] is None
    client.get("/v1/echo")
    client.get("/v1/echo")
    stats = client.stats()
    assert stats["token_fetches"] == 1
    assert stats["requests"] == 2
    assert stats["token_expires_at_ms"] == int(client.token().expires_at.timestamp() * 1000)
    for key in ("token_fetch_failures", "background_refreshes", "retries", "reauth_replays"):
        assert stats[key] == 0


def echo(client: starmile.Client, method: str, path: str = "/v1/echo", **kwargs: Any) -> Any:
    response = client.request(method, path, **kwargs)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_shortcuts_send_their_method(client: starmile.Client, method: str) -> None:
    response = getattr(client, method)("/v1/echo")
    assert response.json()["method"] == method.upper()


def test_request_accepts_any_case_of_method(client: starmile.Client) -> None:
    assert echo(client, "options")["method"] == "OPTIONS"


def test_params_become_the_query_string(client: starmile.Client) -> None:
    got = echo(client, "GET", params={"q": "a b&c", "ids": [1, 2], "flag": True, "skipped": None})
    assert got["path"] == "/v1/echo"
    assert got["query"] == "q=a+b%26c&ids=1&ids=2&flag=true"
    got = echo(client, "GET", "/v1/echo?x=1#top", params=[("y", "2")])
    assert got["query"] == "x=1&y=2"


def test_json_body_is_sent_with_a_json_content_type(client: starmile.Client) -> None:
    payload = {"name": "Zoë", "items": [1, 2, 3], "nested": {"ok": True}}
    got = echo(client, "POST", json=payload)
    assert got["json"] == payload
    assert got["headers"]["content-type"] == "application/json"


def test_caller_content_type_wins_over_the_json_default(client: starmile.Client) -> None:
    got = echo(client, "POST", json={"a": 1}, headers={"content-type": "application/merge-patch+json"})
    assert got["headers"]["content-type"] == "application/merge-patch+json"


def test_content_bytes_are_sent_unchanged(client: starmile.Client) -> None:
    body = bytes(range(256)) * 4  # NUL bytes included
    got = echo(client, "PUT", content=body, headers={"Content-Type": "application/octet-stream"})
    assert got["body_len"] == len(body)
    got = echo(client, "POST", content="grüße", headers={"Content-Type": "text/plain; charset=utf-8"})
    assert got["body"] == "grüße"
    assert got["body_len"] == len("grüße".encode())


def test_headers_are_sent(client: starmile.Client) -> None:
    got = echo(client, "GET", headers={"X-Trace": "abc 123", "Idempotency-Key": 42})
    assert got["headers"]["x-trace"] == "abc 123"
    assert got["headers"]["idempotency-key"] == "42"
    got = echo(client, "GET", headers=[("X-A", "1"), ("X-B", "2")])
    assert (got["headers"]["x-a"], got["headers"]["x-b"]) == ("1", "2")


def test_response_exposes_status_headers_body_and_request_id(client: starmile.Client) -> None:
    response = client.get("/v1/echo")
    assert response.status_code == 200
    assert response.is_success
    assert response.headers["Content-Type"] == response.headers["content-type"] == "application/json"
    assert "CONTENT-TYPE" in response.headers
    assert response.request_id and response.request_id == response.headers["X-Request-Id"]
    assert json.loads(response.content) == response.json()
    assert response.text == response.content.decode()
    assert "Authorization" not in response.text  # the sandbox never echoes the token


def test_large_binary_body_arrives_whole(client: starmile.Client) -> None:
    response = client.get("/v1/bytes/300000")
    assert response.content == b"x" * 300000
    assert response.headers["content-type"] == "application/octet-stream"


def test_redirects_are_returned_not_followed(client: starmile.Client) -> None:
    response = client.get("/v1/redirect")
    assert response.status_code == 302
    assert response.headers["location"] == "/v1/echo"


def test_absolute_url_on_the_same_origin_is_accepted(client: starmile.Client, sandbox: Sandbox) -> None:
    assert echo(client, "GET", sandbox.url + "/v1/echo", params={"a": 1})["query"] == "a=1"


def test_config_keys_pass_through(make_client: Callable[..., starmile.Client], sandbox: Sandbox) -> None:
    client = make_client(user_agent="partner-app/2.0", token_auth="json", timeout_ms=5000, max_retries=1, scope=None)
    got = echo(client, "GET")
    assert "starmile/" in got["headers"]["user-agent"]
    assert "partner-app/2.0" in got["headers"]["user-agent"]
    assert sandbox.stats()["token_auth"]["json"] == 1


def test_configuration_comes_from_the_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARMILE_BASE_URL", sandbox.url)
    monkeypatch.setenv("STARMILE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("STARMILE_CLIENT_SECRET", CLIENT_SECRET)
    with starmile.Client() as client:
        assert client.get("/v1/echo").status_code == 200


def test_close_is_idempotent_and_later_calls_raise(make_client: Callable[..., starmile.Client]) -> None:
    client = make_client()
    client.get_token()
    client.close()
    client.close()
    assert client.closed
    calls = [
        client.get_token,
        client.token,
        client.invalidate_token,
        client.stats,
        lambda: client.set_credentials("a", "b"),
        lambda: client.get("/v1/echo"),
    ]
    for call in calls:
        with pytest.raises(starmile.InvalidArgumentError, match="closed") as caught:
            call()
        assert isinstance(caught.value, ValueError)
        assert caught.value.code == "SM_ERR_INVALID_HANDLE"


def test_context_manager_closes_the_client(make_client: Callable[..., starmile.Client]) -> None:
    with make_client() as client:
        assert client.get("/v1/echo").status_code == 200
        assert not client.closed
    assert client.closed


def test_garbage_collection_frees_the_native_client(sandbox: Sandbox) -> None:
    client = starmile.Client(sandbox.url, CLIENT_ID, CLIENT_SECRET)
    client.get_token()
    handle, lib = client._handle, client._lib
    del client
    gc.collect()
    # the handle is gone: freeing it again is refused, not a crash
    assert lib.sm_client_free(c_uint64(handle)) == 2  # SM_ERR_INVALID_HANDLE


class _RecordingLibrary:
    """Delegates to the real library and records sm_response_free calls."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self.freed: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lib, name)

    def sm_response_free(self, ptr: Any) -> None:
        self.freed.append(ptr.value or 0)
        self._lib.sm_response_free(ptr)


def test_response_is_freed_even_when_decoding_it_fails(
    client: starmile.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FailingLibrary(_RecordingLibrary):
        def sm_response_headers(self, ptr: Any) -> bytes:
            raise UnicodeError("cannot decode")

    recording = FailingLibrary(client._lib)
    monkeypatch.setattr(client, "_lib", recording)
    with pytest.raises(UnicodeError):
        client.get("/v1/echo")
    assert len(recording.freed) == 1 and recording.freed[0] != 0
    monkeypatch.undo()
    assert client.get("/v1/echo").status_code == 200


def test_headers_are_parsed_on_first_use_and_survive_copies(
    client: starmile.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    parse = starmile.Headers.parse

    def counting(block: str) -> starmile.Headers:
        parsed.append(block)
        return parse(block)

    monkeypatch.setattr(starmile.Headers, "parse", staticmethod(counting))
    response = client.get("/v1/echo")
    assert parsed == []  # a caller that never looks pays nothing
    copy = pickle.loads(pickle.dumps(response))  # native memory is long gone
    assert response.request_id and response.headers is response.headers
    assert len(parsed) == 1 and "x-request-id: " + response.request_id in parsed[0]
    assert copy.headers["X-Request-Id"] == response.request_id
    assert dict(copy.headers) == dict(response.headers)
    response.headers = starmile.Headers([("X-Mine", "1")])
    assert response.headers["x-mine"] == "1" and response.request_id is None
