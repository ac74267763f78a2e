//! `sm_response`: an HTTP answer owned by the caller until sm_response_free.

use crate::client::Response;
use std::ffi::{c_char, CStr, CString};

/// An HTTP response (opaque).
#[allow(non_camel_case_types)]
pub struct sm_response {
    status: u16,
    body: Vec<u8>,
    /// "name: value\n" lines, names lower-case.
    header_block: CString,
    /// Lower-case names with their values, for sm_response_header.
    headers: Vec<(String, CString)>,
}

fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

impl sm_response {
    pub(crate) fn boxed(response: Response) -> *mut sm_response {
        let mut block = String::new();
        for (name, value) in &response.headers {
            block.push_str(name);
            block.push_str(": ");
            block.push_str(value);
            block.push('\n');
        }
        let headers = response
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), c_text(value)))
            .collect();
        Box::into_raw(Box::new(sm_response {
            status: response.status,
            body: response.body,
            header_block: c_text(&block),
            headers,
        }))
    }
}

fn borrow<'a>(r: *const sm_response) -> Option<&'a sm_response> {
    // SAFETY: per the ABI, a non-NULL `r` came from sm_request and has not
    // been freed.
    unsafe { r.as_ref() }
}

/// The HTTP status code; 0 when `r` is NULL.
///
/// Ownership: `r` stays owned by the caller.
#[no_mangle]
pub extern "C" fn sm_response_status(r: *const sm_response) -> u16 {
    borrow(r).map_or(0, |r| r.status)
}

/// The body's bytes; `*out_len` receives their number (`out_len` may be
/// NULL). A NULL `r` gives NULL and length 0.
///
/// Ownership: borrowed from `r`, valid until sm_response_free(r); do not free it.
#[no_mangle]
pub extern "C" fn sm_response_body(r: *const sm_response, out_len: *mut usize) -> *const u8 {
    let (ptr, len) = borrow(r).map_or((std::ptr::null(), 0), |r| (r.body.as_ptr(), r.body.len()));
    super::write_out(out_len, len);
    ptr
}

/// All headers as "name: value\n" lines, names lower-case; NULL when `r` is NULL.
///
/// Ownership: borrowed from `r`, valid until sm_response_free(r); do not free it.
#[no_mangle]
pub extern "C" fn sm_response_headers(r: *const sm_response) -> *const c_char {
    borrow(r).map_or(std::ptr::null(), |r| r.header_block.as_ptr())
}

/// The first value of header `name` (case-insensitive), or NULL when absent
/// (or when `r` or `name` is NULL or not UTF-8).
///
/// Ownership: borrowed from `r`, valid until sm_response_free(r); do not free it.
#[no_mangle]
pub extern "C" fn sm_response_header(r: *const sm_response, name: *const c_char) -> *const c_char {
    let Some(r) = borrow(r) else {
        return std::ptr::null();
    };
    if name.is_null() {
        return std::ptr::null();
    }
    // SAFETY: non-NULL, NUL-terminated per the ABI.
    let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
        return std::ptr::null();
    };
    r.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(std::ptr::null(), |(_, value)| value.as_ptr())
}

/// Frees a response. NULL is fine; never free the same response twice.
///
/// Ownership: takes ownership of `r`.
#[no_mangle]
pub extern "C" fn sm_response_free(r: *mut sm_response) {
    if !r.is_null() {
        // SAFETY: per the ABI, `r` came from sm_request (Box::into_raw) and is
        // freed once.
        drop(unsafe { Box::from_raw(r) });
    }
}
