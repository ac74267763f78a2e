"""Loading libstarmile and declaring its C ABI (include/starmile.h) for ctypes.

Every function gets ``argtypes`` and ``restype``. Strings the library hands
out are declared ``c_void_p`` (a ``c_char_p`` would be copied to ``bytes``
and the pointer lost, leaking it), copied with ``ctypes.string_at`` and
released with ``sm_string_free``; only what a response lends (its body
and header block, valid until ``sm_response_free``) is copied by ctypes
itself. ``CDLL`` releases the GIL around every
call, so threads sharing a client really run in parallel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import POINTER, c_char, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint16, c_uint64, c_void_p
from pathlib import Path
from typing import Optional

from ._errors import StarmileError, error_for_status

__all__ = ["LibraryNotFoundError", "load", "library_path", "take_string", "raise_for_status"]

SM_OK = 0

if sys.platform == "darwin":
    LIBRARY_FILE = "libstarmile.dylib"
elif sys.platform == "win32":
    LIBRARY_FILE = "starmile.dll"
else:
    LIBRARY_FILE = "libstarmile.so"

BUNDLED_PATH = Path(__file__).resolve().parent / LIBRARY_FILE


class LibraryNotFoundError(StarmileError, OSError):
    """libstarmile could not be loaded from any of the places searched."""


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_status_names: dict[int, str] = {}


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    def fn(name: str, restype: object, *argtypes: object) -> None:
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = list(argtypes)

    out_str = POINTER(c_void_p)  # char **: an owned string, freed with sm_string_free
    fn("sm_version", c_char_p)  # static
    fn("sm_status_name", c_char_p, c_int32)  # static
    fn("sm_string_free", None, c_void_p)
    fn("sm_client_new", c_int, c_char_p, POINTER(c_uint64), out_str)
    fn("sm_client_free", c_int, c_uint64)
    fn("sm_get_token", c_int, c_uint64, out_str, POINTER(c_int64), out_str)
    fn("sm_client_invalidate_token", c_int, c_uint64)
    fn("sm_client_set_credentials", c_int, c_uint64, c_char_p, c_char_p, out_str)
    fn(
        "sm_request",
        c_int,
        c_uint64,  # client
        c_char_p,  # method
        c_char_p,  # path
        c_char_p,  # headers, may be NULL
        c_char_p,  # body (const uint8_t *): bytes are passed without a copy
        c_size_t,  # body_len
        POINTER(c_void_p),  # sm_response **
        out_str,
    )
    fn("sm_client_stats", c_int, c_uint64, out_str, out_str)
    fn("sm_response_status", c_uint16, c_void_p)
    # Borrowed from the response, so ctypes may copy them freely: the body as
    # a char pointer (sliced to bytes, cheaper than string_at), the header
    # block as c_char_p (bytes or None, nothing to free).
    fn("sm_response_body", POINTER(c_char), c_void_p, POINTER(c_size_t))
    fn("sm_response_headers", c_char_p, c_void_p)
    fn("sm_response_header", c_void_p, c_void_p, c_char_p)  # borrowed
    fn("sm_response_free", None, c_void_p)
    return lib


def _candidates() -> list[tuple[str, Optional[str]]]:
    """(description, path or name to load) in lookup order."""
    found = ctypes.util.find_library("starmile")
    return [
        ("the bundled copy " + str(BUNDLED_PATH), str(BUNDLED_PATH) if BUNDLED_PATH.exists() else None),
        ("the system loader (ctypes.util.find_library('starmile'))", found),
        (f"the system loader ({LIBRARY_FILE!r}, LD_LIBRARY_PATH)", LIBRARY_FILE),
    ]


def _open() -> tuple[ctypes.CDLL, str]:
    explicit = os.environ.get("STARMILE_LIB")
    if explicit:
        # An explicit choice that fails is an error, not a reason to load
        # some other copy silently.
        try:
            return ctypes.CDLL(explicit), explicit
        except OSError as exc:
            raise LibraryNotFoundError(
                f"cannot load libstarmile from STARMILE_LIB={explicit!r}: {exc}"
            ) from None
    tried = ["env STARMILE_LIB (not set)"]
    for description, target in _candidates():
        if target is None:
            tried.append(f"{description}: not found")
            continue
        try:
            return ctypes.CDLL(target), target
        except OSError as exc:
            tried.append(f"{description}: {exc}")
    raise LibraryNotFoundError(
        "libstarmile not found; looked in: " + "; ".join(tried)
        + ". Build it (cargo build --release) and set STARMILE_LIB to the file,"
        " or install a starmile wheel that bundles it."
    )


def load() -> ctypes.CDLL:
    """The loaded library, opened on first use (STARMILE_LIB, then the copy
    bundled in this package, then the system loader)."""
    global _lib, _lib_path
    lib = _lib
    if lib is not None:
        return lib
    with _lock:
        if _lib is None:
            lib, path = _open()
            _lib = _declare(lib)
            _lib_path = path
        return _lib


def library_path() -> str:
    """The path (or name) libstarmile was loaded from."""
    load()
    assert _lib_path is not None
    return _lib_path


def status_name(status: int) -> str:
    name = _status_names.get(status)
    if name is None:
        raw = load().sm_status_name(status)
        name = raw.decode("ascii") if raw else "SM_ERR_UNKNOWN"
        _status_names[status] = name
    return name


def take_string(ptr: c_void_p) -> Optional[str]:
    """Copies a string the library handed out, then frees it; None for NULL."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        load().sm_string_free(ptr)
        ptr.value = None


def raise_for_status(status: int, error: c_void_p) -> None:
    """Raises the mapped exception when ``status`` is not SM_OK, consuming
    the out_error string; frees a stray message on success too."""
    message = take_string(error)
    if status != SM_OK:
        name = status_name(status)
        raise error_for_status(name, message or name)
