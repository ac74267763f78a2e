//! The C ABI. Each export checks its arguments, calls the core, and fills its
//! out-params; nothing here knows about HTTP or tokens.
//!
//! Every export runs inside [`boundary`], which turns a panic into
//! `SM_ERR_INTERNAL`, writes the error message to `out_error`, and leaves the
//! other out-params NULL / 0 on failure.

// The exports take raw pointers from C by design; each dereference is checked
// for NULL first and commented.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod client;
mod response;

pub use client::*;
pub use response::*;

use crate::error::{Error, Status};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use zeroize::Zeroize;

/// Status codes returned by the library. The values are stable.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum sm_status {
    SM_OK = 0,
    /// NULL where not allowed, invalid UTF-8, bad config, bad URL, CR/LF in a
    /// header, cross-origin URL ...
    SM_ERR_INVALID_ARGUMENT = 1,
    /// The client handle is 0, unknown, or already freed.
    SM_ERR_INVALID_HANDLE = 2,
    /// The token endpoint refused the credentials (an OAuth2 error such as
    /// invalid_client); not retried.
    SM_ERR_AUTH = 3,
    /// The token endpoint kept answering 429/5xx after the retries.
    SM_ERR_UNAVAILABLE = 4,
    /// DNS, connect, TLS, connection reset.
    SM_ERR_NETWORK = 5,
    SM_ERR_TIMEOUT = 6,
    /// An unusable answer: token response not JSON, no access_token,
    /// token_type not Bearer, body too large.
    SM_ERR_PROTOCOL = 7,
    /// A bug in libstarmile (e.g. a caught panic).
    SM_ERR_INTERNAL = 99,
}

impl From<Status> for sm_status {
    fn from(status: Status) -> sm_status {
        match status {
            Status::Ok => sm_status::SM_OK,
            Status::InvalidArgument => sm_status::SM_ERR_INVALID_ARGUMENT,
            Status::InvalidHandle => sm_status::SM_ERR_INVALID_HANDLE,
            Status::Auth => sm_status::SM_ERR_AUTH,
            Status::Unavailable => sm_status::SM_ERR_UNAVAILABLE,
            Status::Network => sm_status::SM_ERR_NETWORK,
            Status::Timeout => sm_status::SM_ERR_TIMEOUT,
            Status::Protocol => sm_status::SM_ERR_PROTOCOL,
            Status::Internal => sm_status::SM_ERR_INTERNAL,
        }
    }
}

/// Runs `body` behind the panic boundary and reports its outcome.
///
/// `out_error` may be NULL; otherwise it receives NULL on success and an owned
/// message on failure.
pub(crate) fn boundary(
    out_error: *mut *mut c_char,
    body: impl FnOnce() -> Result<(), Error>,
) -> sm_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Error::internal(
            "internal error in libstarmile (a panic was caught); please report it",
        ))
    });
    let error = outcome.err();
    if !out_error.is_null() {
        let message = error
            .as_ref()
            .map_or(std::ptr::null_mut(), |e| owned_c_string(e.message()));
        // SAFETY: out_error is non-NULL and, per the ABI, points to writable storage.
        unsafe { *out_error = message };
    }
    error.map_or(sm_status::SM_OK, |e| e.status().into())
}

/// Writes `value` to a non-NULL out-param.
pub(crate) fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: checked non-NULL; the caller promises it points to writable storage.
        unsafe { *out = value };
    }
}

/// A string handed to C; NUL bytes (never expected) are dropped.
pub(crate) fn owned_c_string(text: &str) -> *mut c_char {
    CString::new(text)
        .unwrap_or_else(|_| CString::new(text.replace('\0', "")).unwrap_or_default())
        .into_raw()
}

/// Borrows a C string argument as UTF-8.
pub(crate) fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_argument(format!("{name} must not be NULL")));
    }
    // SAFETY: non-NULL, and the ABI requires a NUL-terminated string that
    // outlives the call.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|_| Error::invalid_argument(format!("{name} is not valid UTF-8")))
}

/// The library version, "MAJOR.MINOR.PATCH".
///
/// Ownership: a static string; do not free it.
#[no_mangle]
pub extern "C" fn sm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a status code, e.g. "SM_ERR_AUTH"; "SM_ERR_UNKNOWN" for a
/// value that is not an sm_status.
///
/// Ownership: a static string; do not free it.
#[no_mangle]
pub extern "C" fn sm_status_name(status: i32) -> *const c_char {
    let name = match Status::from_code(status) {
        Some(Status::Ok) => "SM_OK\0",
        Some(Status::InvalidArgument) => "SM_ERR_INVALID_ARGUMENT\0",
        Some(Status::InvalidHandle) => "SM_ERR_INVALID_HANDLE\0",
        Some(Status::Auth) => "SM_ERR_AUTH\0",
        Some(Status::Unavailable) => "SM_ERR_UNAVAILABLE\0",
        Some(Status::Network) => "SM_ERR_NETWORK\0",
        Some(Status::Timeout) => "SM_ERR_TIMEOUT\0",
        Some(Status::Protocol) => "SM_ERR_PROTOCOL\0",
        Some(Status::Internal) => "SM_ERR_INTERNAL\0",
        None => "SM_ERR_UNKNOWN\0",
    };
    name.as_ptr().cast()
}

/// Frees a string returned by this library (a token, an error message, stats
/// JSON). Its bytes are zeroed first, since it may be a token.
///
/// Ownership: takes ownership of `s`. NULL is fine. Never free the same
/// string twice, and never pass a string the library did not hand out.
#[no_mangle]
pub extern "C" fn sm_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    let _ = catch_unwind(|| {
        // SAFETY: per the ABI, `s` came from CString::into_raw in this library
        // and is freed once.
        let owned = unsafe { CString::from_raw(s) };
        let mut bytes = owned.into_bytes_with_nul();
        bytes.zeroize();
    });
}
