"""Python binding of libstarmile, the Starmile Partner API client core.

    import starmile

    with starmile.Client(base_url="https://api.example", client_id="...", client_secret="...") as client:
        response = client.get("/v1/echo", params={"q": "x"})
        print(response.status_code, response.json())

A thin ctypes layer: the token cache, refresh, retries and re-authentication
are the library's. See README.md for the configuration keys and errors.
"""

from __future__ import annotations

from ._client import Client
from . import _errors
from ._errors import *  # noqa: F403  (the exception hierarchy)
from ._ffi import LibraryNotFoundError, library_path
from ._response import Headers, Response, Token

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Response",
    "Headers",
    "Token",
    "library_version",
    "library_path",
    "LibraryNotFoundError",
    *_errors.__all__,
]

for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type):
        _obj.__module__ = __name__  # tracebacks show starmile.NotFoundError
del _name, _obj


def library_version() -> str:
    """The loaded libstarmile's version, "MAJOR.MINOR.PATCH"."""
    from ._ffi import load

    return str(load().sm_version().decode("ascii"))
