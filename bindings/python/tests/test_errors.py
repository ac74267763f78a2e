"""Every exception class of CONTRACT §7, each from a real answer (or a real
failure) of the sandbox."""

from __future__ import annotations

import pickle
import socket
from typing import Callable

import pytest
import starmile
from sandbox import CLIENT_ID, CLIENT_SECRET, Sandbox

ClientFactory = Callable[..., starmile.Client]


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, starmile.APIStatusError),
        (403, starmile.PermissionDeniedError),
        (404, starmile.NotFoundError),
        (405, starmile.APIStatusError),
        (409, starmile.ConflictError),
        (418, starmile.APIStatusError),
        (422, starmile.UnprocessableEntityError),
        (429, starmile.RateLimitError),
        (500, starmile.InternalServerError),
        (503, starmile.InternalServerError),
    ],
)
def test_http_error_statuses_raise_their_class(make_client: ClientFactory, status: int, error_class: type) -> None:
    client = make_client(max_retries=0)
    with pytest.raises(starmile.APIStatusError) as caught:
        client.get(f"/v1/status/{status}")
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, starmile.StarmileError)
    assert error.status_code == status
    assert error.response.status_code == status
    assert error.response.json()["error"]["type"] == "sandbox_status"
    assert error.request_id and error.request_id == error.response.headers["x-request-id"]
    assert error.code == "SM_OK"  # the call succeeded; the answer is the error
    assert f"HTTP {status}" in str(error) and f"sandbox answered {status}" in error.message


def test_unknown_path_is_not_found(client: starmile.Client) -> None:
    with pytest.raises(starmile.NotFoundError, match="no such endpoint"):
        client.delete("/v1/nowhere")


def test_429_is_raised_after_the_library_retries(make_client: ClientFactory, sandbox: Sandbox) -> None:
    client = make_client(max_retries=1)
    with pytest.raises(starmile.RateLimitError) as caught:
        client.get("/v1/status/429", params={"retry_after": 0})
    assert caught.value.response.headers["retry-after"] == "0"
    assert client.stats()["retries"] == 1
    assert sandbox.stats()["requests"]["GET /v1/status/429"] == 2


def test_401_after_reauthentication_is_an_authentication_error(client: starmile.Client) -> None:
    with pytest.raises(starmile.AuthenticationError) as caught:
        client.get("/v1/status/401")
    error = caught.value
    assert error.status_code == 401 and error.response is not None
    assert error.request_id
    assert client.stats()["reauth_replays"] == 1  # the library did try a fresh token


def test_refused_credentials_are_an_authentication_error(make_client: ClientFactory) -> None:
    client = make_client(client_secret="wrong-secret-value")
    with pytest.raises(starmile.AuthenticationError) as caught:
        client.get_token()
    error = caught.value
    assert error.code == "SM_ERR_AUTH"
    assert "invalid_client" in error.message
    assert error.status_code is None and error.response is None
    assert "wrong-secret-value" not in str(error)
    with pytest.raises(starmile.AuthenticationError):
        client.get("/v1/echo")


def test_closed_port_is_a_connection_error(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(starmile.APIConnectionError) as caught:
        client.get("/v1/echo")
    assert type(caught.value) is starmile.APIConnectionError
    assert caught.value.code == "SM_ERR_NETWORK"


def test_slow_answer_is_a_timeout(make_client: ClientFactory) -> None:
    client = make_client(timeout_ms=300, max_retries=0)
    client.get_token()
    with pytest.raises(starmile.APITimeoutError) as caught:
        client.get("/v1/slow/3000")
    assert isinstance(caught.value, starmile.APIConnectionError)
    assert caught.value.code == "SM_ERR_TIMEOUT"


def test_token_endpoint_outage_is_service_unavailable(make_client: ClientFactory, sandbox: Sandbox) -> None:
    sandbox.faults("token", {"status": 503, "count": 1})
    client = make_client(max_retries=0)
    with pytest.raises(starmile.ServiceUnavailableError) as caught:
        client.get_token()
    assert caught.value.code == "SM_ERR_UNAVAILABLE"
    assert client.get_token()  # the fault is spent; the next call recovers


def test_unusable_token_answer_is_a_protocol_error(make_client: ClientFactory, sandbox: Sandbox) -> None:
    sandbox.faults("token", {"status": 200, "body": "<html>not json</html>", "headers": {"content-type": "text/html"}})
    client = make_client(max_retries=0)
    with pytest.raises(starmile.ProtocolError) as caught:
        client.get("/v1/echo")
    assert caught.value.code == "SM_ERR_PROTOCOL"


def test_bad_config_is_an_invalid_argument(sandbox: Sandbox) -> None:
    with pytest.raises(starmile.InvalidArgumentError, match="no_such_option") as caught:
        starmile.Client(sandbox.url, CLIENT_ID, CLIENT_SECRET, no_such_option=1)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "SM_ERR_INVALID_ARGUMENT"
    with pytest.raises(ValueError, match="max_retries"):
        starmile.Client(sandbox.url, CLIENT_ID, CLIENT_SECRET, max_retries=99)
    with pytest.raises(starmile.InvalidArgumentError):
        starmile.Client("http://partner.example.com", CLIENT_ID, CLIENT_SECRET)  # plain http off loopback


def test_secret_of_the_wrong_type_is_not_echoed(sandbox: Sandbox) -> None:
    with pytest.raises(starmile.InvalidArgumentError) as caught:
        starmile.Client(sandbox.url, CLIENT_ID, 9876543210)  # type: ignore[arg-type]
    assert "client_secret" in str(caught.value)
    assert "9876543210" not in str(caught.value)
    with pytest.raises(starmile.InvalidArgumentError) as caught:
        starmile.Client(sandbox.url, CLIENT_ID, CLIENT_SECRET, ca_file=object())
    assert "ca_file" in str(caught.value)


def test_cross_origin_url_is_refused_before_any_request(client: starmile.Client, sandbox: Sandbox) -> None:
    with pytest.raises(starmile.InvalidArgumentError) as caught:
        client.get("https://elsewhere.example/v1/echo")
    assert caught.value.code == "SM_ERR_INVALID_ARGUMENT"
    assert sandbox.stats()["api_requests"] == 0


def test_header_injection_is_refused(client: starmile.Client, sandbox: Sandbox) -> None:
    with pytest.raises(starmile.InvalidArgumentError):
        client.get("/v1/echo", headers={"X-A": "1\nX-Injected: 2"})
    with pytest.raises(starmile.InvalidArgumentError):
        client.get("/v1/echo", headers={"Bad: Name": "1"})
    with pytest.raises(starmile.InvalidArgumentError) as caught:
        client.get("/v1/echo", headers={"Authorization": "Bearer mine"})  # refused by the library
    assert caught.value.code == "SM_ERR_INVALID_ARGUMENT"
    with pytest.raises(starmile.InvalidArgumentError):
        client.post("/v1/echo", json={"a": 1}, content=b"x")
    assert sandbox.stats()["api_requests"] == 0


def test_errors_survive_pickling(client: starmile.Client) -> None:
    with pytest.raises(starmile.NotFoundError) as caught:
        client.get("/v1/status/404")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is starmile.NotFoundError
    assert (copy.status_code, copy.request_id, copy.code, str(copy)) == (
        404,
        caught.value.request_id,
        "SM_OK",
        str(caught.value),
    )
    assert copy.response.json() == caught.value.response.json()
