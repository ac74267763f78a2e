"""Response, its headers and Token: plain Python values copied out of the
library's objects, so nothing here holds native memory."""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, Iterator, Mapping, Optional

__all__ = ["Headers", "Response", "Token"]


class Headers(Mapping[str, str]):
    """Response headers: a read-only mapping with case-insensitive names.

    ``headers[name]`` gives all values of a repeated header joined with
    ``", "``; ``get_list(name)`` gives them one by one. Iteration yields the
    lower-case names.
    """

    __slots__ = ("_items", "_joined")

    def __init__(self, items: "list[tuple[str, str]]") -> None:
        self._items = [(name.lower(), value) for name, value in items]
        joined: dict[str, str] = {}
        for name, value in self._items:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        self._joined = joined

    @classmethod
    def parse(cls, block: str) -> "Headers":
        """Parses the library's ``"name: value\\n"`` lines."""
        items = []
        for line in block.split("\n"):
            name, sep, value = line.partition(":")
            if sep:
                items.append((name.strip(), value.strip()))
        return cls(items)

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def get_list(self, name: str) -> "list[str]":
        """Every value of ``name``, in the order received."""
        name = name.lower()
        return [value for item, value in self._items if item == name]

    def items_raw(self) -> "list[tuple[str, str]]":
        """(name, value) pairs as received, repeats kept."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._joined!r})"


class Response:
    """An HTTP answer from the API. Statuses of 400 and above never reach
    the caller as a Response: ``request()`` raises them as errors that carry
    the Response in ``.response``."""

    # A response from the library keeps its raw header block (bytes) and
    # parses it on the first access of ``headers``: most callers never look.
    # The block is kept after parsing, so that threads racing on the first
    # access all parse the same bytes.
    __slots__ = ("status_code", "_headers", "_raw_headers", "content", "method", "path")

    def __init__(self, status_code: int, headers: Headers, content: bytes, method: str, path: str) -> None:
        self.status_code = status_code
        self._headers: Optional[Headers] = headers
        self._raw_headers: Optional[bytes] = None
        self.content = content
        self.method = method
        self.path = path

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            raw = self._raw_headers
            headers = self._headers = Headers.parse(raw.decode("utf-8", "replace") if raw else "")
        return headers

    @headers.setter
    def headers(self, headers: Headers) -> None:
        self._headers = headers

    @property
    def request_id(self) -> Optional[str]:
        """The server's ``X-Request-Id``, for support requests."""
        return self.headers.get("x-request-id")

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type charset (UTF-8 by default);
        undecodable bytes become U+FFFD."""
        try:
            return self.content.decode(self.encoding, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (``json.JSONDecodeError`` if it is not)."""
        return _json.loads(self.content, **kwargs)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def _error_summary(self) -> str:
        """A short description of an error answer for an exception message."""
        try:
            payload = self.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                kind = error.get("type")
                return f"{kind}: {error['message']}" if isinstance(kind, str) else error["message"]
            if isinstance(error, str):
                description = payload.get("error_description")
                return f"{error}: {description}" if isinstance(description, str) else error
        excerpt = " ".join(self.text.split())[:200]
        if excerpt:
            return excerpt
        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return "(no body)"

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}] {self.method} {self.path}>"


def _native_response(status_code: int, raw_headers: Optional[bytes], content: bytes, method: str, path: str) -> Response:
    """A Response whose headers are the library's ``"name: value\\n"`` block,
    parsed on first access (Client.request's fast path)."""
    response = _new(Response)
    response.status_code = status_code
    response._headers = None
    response._raw_headers = raw_headers
    response.content = content
    response.method = method
    response.path = path
    return response


_new = Response.__new__


@dataclass(frozen=True)
class Token:
    """An access token and when it expires (an aware UTC datetime)."""

    access_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        # A token is a credential: never print it whole.
        return f"Token(access_token={self.access_token[:6]!r}…, expires_at={self.expires_at.isoformat()})"
