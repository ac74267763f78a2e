"""starmile.Client: a handle on a libstarmile client. Every call converts its
arguments, calls the C ABI once and converts the result back; the token
cache, refresh, retries and re-authentication all live in the library."""

from __future__ import annotations

import json as _json
import threading
from ctypes import byref, c_int64, c_size_t, c_uint64, c_void_p
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional, Tuple, Union
from urllib.parse import urlencode

from . import _ffi
from ._errors import InvalidArgumentError, error_for_response
from ._response import Response, Token, _native_response

__all__ = ["Client"]

HeadersArg = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]
ParamsArg = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], str]
Content = Union[bytes, bytearray, memoryview, str]


class Client:
    """A Starmile Partner API client.

    ``base_url``, ``client_id`` and ``client_secret`` fall back to the
    ``STARMILE_*`` environment variables; any other key of the configuration
    table (``timeout_ms``, ``max_retries``, ``token_auth``, ``ca_file``, ...)
    is a keyword argument. ``None`` means "not given". Creating a client does
    no network I/O. One client may be shared by any number of threads.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        **config: Any,
    ) -> None:
        self._handle = 0  # first, so __del__ works whatever fails below
        self._close_lock = threading.Lock()
        self._lib = _ffi.load()
        settings = {"base_url": base_url, "client_id": client_id, "client_secret": client_secret, **config}
        config_json = _config_json({key: value for key, value in settings.items() if value is not None})
        handle = c_uint64()
        error = c_void_p()
        status = self._lib.sm_client_new(config_json, byref(handle), byref(error))
        _ffi.raise_for_status(status, error)
        self._handle = handle.value

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Frees the native client. Idempotent; calls already running on other
        threads finish normally, later calls raise InvalidArgumentError."""
        with self._close_lock:
            handle, self._handle = self._handle, 0
        if handle:
            self._lib.sm_client_free(handle)

    @property
    def closed(self) -> bool:
        return not self._handle

    def __enter__(self) -> "Client":
        self._live_handle()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            handle = self._handle
            if handle:
                self._handle = 0
                self._lib.sm_client_free(handle)
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __repr__(self) -> str:
        return f"<starmile.Client {'closed' if self.closed else 'open'}>"

    def _live_handle(self) -> int:
        handle = self._handle
        if not handle:
            raise InvalidArgumentError("this starmile.Client is closed", code="SM_ERR_INVALID_HANDLE")
        return handle

    # -- tokens ----------------------------------------------------------

    def get_token(self) -> str:
        """A valid access token: the cached one while fresh, else a fetched one."""
        token = c_void_p()
        error = c_void_p()
        status = self._lib.sm_get_token(self._live_handle(), byref(token), None, byref(error))
        _ffi.raise_for_status(status, error)
        return _ffi.take_string(token) or ""

    def token(self) -> Token:
        """Like get_token(), with the token's expiry."""
        token = c_void_p()
        expires_at_ms = c_int64()
        error = c_void_p()
        status = self._lib.sm_get_token(self._live_handle(), byref(token), byref(expires_at_ms), byref(error))
        _ffi.raise_for_status(status, error)
        expires_at = datetime.fromtimestamp(expires_at_ms.value / 1000, tz=timezone.utc)
        return Token(access_token=_ffi.take_string(token) or "", expires_at=expires_at)

    def invalidate_token(self) -> None:
        """Drops the cached token; the next call fetches a new one."""
        _ffi.raise_for_status(self._lib.sm_client_invalidate_token(self._live_handle()), c_void_p())

    def set_credentials(self, client_id: str, client_secret: str) -> None:
        """Replaces the credentials (a rotated secret) and drops the cached token."""
        error = c_void_p()
        status = self._lib.sm_client_set_credentials(
            self._live_handle(), _c_string(client_id, "client_id"), _c_string(client_secret, "client_secret"), byref(error)
        )
        _ffi.raise_for_status(status, error)

    def stats(self) -> dict[str, Any]:
        """The library's counters (token_fetches, requests, retries, ...)."""
        out = c_void_p()
        error = c_void_p()
        status = self._lib.sm_client_stats(self._live_handle(), byref(out), byref(error))
        _ffi.raise_for_status(status, error)
        stats: dict[str, Any] = _json.loads(_ffi.take_string(out) or "{}")
        return stats

    # -- requests --------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: Optional[Content] = None,
        headers: Optional[HeadersArg] = None,
        params: Optional[ParamsArg] = None,
    ) -> Response:
        """Sends an authenticated request and returns the Response.

        ``path`` is ``"/..."`` (appended to base_url) or an absolute URL on
        base_url's origin; ``params`` become its query string. ``json`` is
        serialised as the body (Content-Type: application/json); ``content``
        is sent as it is (str as UTF-8). Answers of 400 and above raise
        APIStatusError (or one of its subclasses), 401 AuthenticationError.
        """
        method = method.upper()
        header_lines = _header_lines(headers) if headers else []
        if json is not None and content is not None:
            raise InvalidArgumentError("pass either json= or content=, not both", code="SM_ERR_INVALID_ARGUMENT")
        body: Optional[bytes] = None
        if json is not None:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            if not any(name.lower() == "content-type" for name, _ in header_lines):
                header_lines.append(("Content-Type", "application/json"))
        elif content is not None:
            body = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if params:
            query = params if isinstance(params, str) else _query_string(params)
            if query:
                base, hash_sign, fragment = path.partition("#")
                path = f"{base}{'&' if '?' in base else '?'}{query}{hash_sign}{fragment}"

        headers_c = "".join(f"{name}: {value}\n" for name, value in header_lines).encode("utf-8") if header_lines else None
        # The hot path: no helper calls, and the out-parameters are passed as
        # they are (ctypes applies byref() itself for a POINTER(T) argument).
        lib = self._lib
        response_ptr = c_void_p()
        error = c_void_p()
        try:
            handle = self._handle
            if not handle:
                self._live_handle()  # raises InvalidArgumentError
            status = lib.sm_request(
                handle,
                _METHODS.get(method) or _c_string(method, "method"),
                path.encode("utf-8") if isinstance(path, str) else _c_string(path, "path"),
                headers_c,
                body,
                len(body) if body else 0,
                response_ptr,
                error,
            )
            if status or error.value:
                _ffi.raise_for_status(status, error)
            # Copied out before the response is freed; the header block is
            # parsed on first access of Response.headers.
            length = c_size_t()
            body_ptr = lib.sm_response_body(response_ptr, length)
            response = _native_response(
                lib.sm_response_status(response_ptr),
                lib.sm_response_headers(response_ptr),
                body_ptr[: length.value] if body_ptr and length.value else b"",
                method,
                path,
            )
        finally:
            # Freed whatever happened above, decoding errors included.
            lib.sm_response_free(response_ptr)
        if response.status_code >= 400:
            raise error_for_response(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)


# Request methods as the C strings sm_request takes, without encoding them
# on every call; any other method is encoded by _c_string.
_METHODS = {method: method.encode("ascii") for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}


def _config_json(settings: dict[str, Any]) -> bytes:
    for key, value in settings.items():
        try:
            _json.dumps(value)
        except (TypeError, ValueError):
            # Name the key, never the value: it may be the secret.
            raise InvalidArgumentError(
                f"config key '{key}': a {type(value).__name__} cannot be sent as JSON",
                code="SM_ERR_INVALID_ARGUMENT",
            ) from None
    return _json.dumps(settings).encode("utf-8")


def _c_string(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}", code="SM_ERR_INVALID_ARGUMENT")
    return value.encode("utf-8")


def _header_lines(headers: Optional[HeadersArg]) -> "list[tuple[str, str]]":
    if not headers:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lines: "list[tuple[str, str]]" = []
    for name, value in pairs:
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        # The ABI's "Name: value\n" lines cannot carry these: refuse them
        # here rather than let a value smuggle in a header of its own.
        if not name or any(c in name for c in ":\r\n") or "\r" in text or "\n" in text or "\0" in text:
            raise InvalidArgumentError(f"invalid header {name!r}: names may not contain ':' and neither may contain CR, LF or NUL",
                                       code="SM_ERR_INVALID_ARGUMENT")
        lines.append((name, text))
    return lines


def _query_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _query_string(params: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]) -> str:
    pairs = params.items() if isinstance(params, Mapping) else params
    flat: "list[tuple[str, str]]" = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            flat.extend((key, _query_value(item)) for item in value if item is not None)
        else:
            flat.append((key, _query_value(value)))
    return urlencode(flat)
