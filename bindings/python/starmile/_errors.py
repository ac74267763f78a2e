"""The exception hierarchy of CONTRACT §7 and the mapping onto it.

Library failures are mapped by their ``sm_status``; HTTP answers of 400 and
above (which the library returns as ``SM_OK``) by their status code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._response import Response

__all__ = [
    "StarmileError",
    "InvalidArgumentError",
    "AuthenticationError",
    "APIStatusError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "ServiceUnavailableError",
    "ProtocolError",
]


class StarmileError(Exception):
    """Base of every error this package raises.

    ``code`` is the name of the library's ``sm_status`` (``"SM_ERR_AUTH"``, ...;
    ``"SM_OK"`` for an HTTP error answer, where the call itself succeeded) and
    ``message`` the library's message.
    """

    code: str
    message: str

    def __init__(self, message: str, *, code: str = "SM_ERR_UNKNOWN") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        if self.code == "SM_OK":  # an HTTP error answer: the message says it all
            return self.message
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> "tuple[Any, ...]":
        # Keyword-only arguments defeat Exception's default pickling, and
        # errors cross process boundaries (multiprocessing, concurrent.futures).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


class InvalidArgumentError(StarmileError, ValueError):
    """``SM_ERR_INVALID_ARGUMENT``: bad config, bad URL, cross-origin URL, a
    header the library refuses; also a closed client (``SM_ERR_INVALID_HANDLE``)."""


class APIConnectionError(StarmileError):
    """``SM_ERR_NETWORK``: DNS, connect, TLS or a reset connection."""


class APITimeoutError(APIConnectionError):
    """``SM_ERR_TIMEOUT``."""


class ServiceUnavailableError(StarmileError):
    """``SM_ERR_UNAVAILABLE``: the token endpoint kept answering 429/5xx."""


class ProtocolError(StarmileError):
    """``SM_ERR_PROTOCOL``: an unusable answer (token response not JSON, ...)."""


class AuthenticationError(StarmileError):
    """The credentials were refused: ``SM_ERR_AUTH`` from the token endpoint
    (``response``, ``status_code`` and ``request_id`` are None), or an API
    answer of 401 that the library's single re-authentication did not cure
    (they are set)."""

    status_code: Optional[int]
    response: Optional["Response"]
    request_id: Optional[str]

    def __init__(
        self, message: str, *, code: str = "SM_ERR_AUTH", response: Optional["Response"] = None
    ) -> None:
        super().__init__(message, code=code)
        self.response = response
        self.status_code = response.status_code if response is not None else None
        self.request_id = response.request_id if response is not None else None


class APIStatusError(StarmileError):
    """An API answer with a status of 400 or above; base of the HTTP errors."""

    status_code: int
    response: "Response"
    request_id: Optional[str]

    def __init__(self, message: str, *, response: "Response", code: str = "SM_OK") -> None:
        super().__init__(message, code=code)
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.request_id


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429 (after the library's retries)."""


class InternalServerError(APIStatusError):
    """HTTP 5xx (after the library's retries)."""


def _rebuild(cls: "type[StarmileError]", message: str, state: "dict[str, Any]") -> StarmileError:
    error = cls.__new__(cls, message)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


_BY_STATUS_NAME: dict[str, type[StarmileError]] = {
    "SM_ERR_INVALID_ARGUMENT": InvalidArgumentError,
    "SM_ERR_INVALID_HANDLE": InvalidArgumentError,
    "SM_ERR_AUTH": AuthenticationError,
    "SM_ERR_UNAVAILABLE": ServiceUnavailableError,
    "SM_ERR_NETWORK": APIConnectionError,
    "SM_ERR_TIMEOUT": APITimeoutError,
    "SM_ERR_PROTOCOL": ProtocolError,
}

_BY_HTTP_STATUS: dict[int, type[APIStatusError]] = {
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_status(code: str, message: str) -> StarmileError:
    """The exception for a failed library call (``code`` is the sm_status name);
    SM_ERR_INTERNAL and unknown codes give the base class."""
    cls = _BY_STATUS_NAME.get(code, StarmileError)
    return cls(message, code=code)


def error_for_response(response: "Response") -> StarmileError:
    """The exception for an HTTP answer of 400 or above."""
    status = response.status_code
    message = f"HTTP {status} from {response.method} {response.path}: {response._error_summary()}"
    if response.request_id:
        message += f" (request id {response.request_id})"
    if status == 401:
        return AuthenticationError(message, code="SM_OK", response=response)
    cls = _BY_HTTP_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    return cls(message, response=response)
