//! `sm_client_*`, `sm_get_token` and `sm_request`.

use super::{arg_str, boundary, owned_c_string, sm_response, sm_status, write_out};
use crate::error::{Error, Status};
use crate::handles::CLIENTS;
use crate::secret::Secret;
use crate::Client;
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::ffi::c_char;
use std::sync::Arc;

/// A client handle. 0 is never valid; every valid handle is below 2^53.
#[allow(non_camel_case_types)]
pub type sm_client = u64;

fn invalid_handle() -> Error {
    Error::new(
        Status::InvalidHandle,
        "invalid client handle (0, unknown, or already freed)",
    )
}

fn lookup(client: sm_client) -> Result<Arc<Client>, Error> {
    CLIENTS.get(client).ok_or_else(invalid_handle)
}

/// Creates a client from a JSON config object (see the contract's
/// configuration table); "{}" takes everything from the STARMILE_*
/// environment variables. Does no network I/O.
///
/// Ownership: on success `*out_client` receives a handle the caller owns and
/// must release with sm_client_free. On failure `*out_client` is 0 and, when
/// `out_error` is not NULL, `*out_error` receives a message to free with
/// sm_string_free (NULL on success).
#[no_mangle]
pub extern "C" fn sm_client_new(
    config_json: *const c_char,
    out_client: *mut sm_client,
    out_error: *mut *mut c_char,
) -> sm_status {
    construct(config_json, out_client, out_error, |config| {
        Ok(CLIENTS.insert(Client::new(config)?))
    })
}

/// What both constructors do around `make`: check the out-param, read the
/// config text, and write the handle it returns.
fn construct(
    config_json: *const c_char,
    out_client: *mut sm_client,
    out_error: *mut *mut c_char,
    make: impl FnOnce(&str) -> Result<sm_client, Error>,
) -> sm_status {
    write_out(out_client, 0);
    boundary(out_error, || {
        if out_client.is_null() {
            return Err(Error::invalid_argument("out_client must not be NULL"));
        }
        let handle = make(arg_str(config_json, "config_json")?)?;
        write_out(out_client, handle);
        Ok(())
    })
}

/// Shared clients by the exact text of their config. The text holds the
/// secret, so it is kept in memory that is zeroed when dropped.
static SHARED: Lazy<Mutex<Vec<(Secret, sm_client)>>> = Lazy::new(Mutex::default);

/// The process-wide client for this exact config text: the first call creates
/// it (as sm_client_new does), later calls with the same text return the same
/// handle, and so the same cached token. Meant for runtimes that forget their
/// variables between requests while the process lives on (PHP-FPM workers).
/// The environment fallback is read when the client is created.
///
/// Ownership: the handle belongs to the process; do not free it after each
/// use. sm_client_free on it frees it for every user, and the next
/// sm_client_shared with that config creates a new one. On failure
/// `*out_client` is 0 and `*out_error` (when `out_error` is not NULL) a
/// message to free with sm_string_free.
#[no_mangle]
pub extern "C" fn sm_client_shared(
    config_json: *const c_char,
    out_client: *mut sm_client,
    out_error: *mut *mut c_char,
) -> sm_status {
    construct(config_json, out_client, out_error, |config| {
        let mut shared = SHARED.lock();
        shared.retain(|(_, handle)| CLIENTS.with(*handle, |_| ()).is_some());
        if let Some((_, handle)) = shared.iter().find(|(text, _)| text.expose() == config) {
            return Ok(*handle);
        }
        let handle = CLIENTS.insert(Client::new(config)?);
        shared.push((Secret::new(config.to_owned()), handle));
        Ok(handle)
    })
}

/// Frees a client. Calls already running on other threads finish normally.
/// A second free of the same handle gives SM_ERR_INVALID_HANDLE.
///
/// Ownership: releases the handle; it is invalid afterwards.
#[no_mangle]
pub extern "C" fn sm_client_free(client: sm_client) -> sm_status {
    boundary(std::ptr::null_mut(), || {
        CLIENTS.remove(client).map(drop).ok_or_else(invalid_handle)
    })
}

/// A valid access token: the cached one while fresh, else a fetched one
/// (concurrent callers share one fetch).
///
/// Ownership: on success `*out_token` receives a string the caller owns and
/// must free with sm_string_free. `out_expires_at_ms` may be NULL; otherwise
/// it receives the token's expiry in unix milliseconds. On failure
/// `*out_token` is NULL, `*out_expires_at_ms` 0, and `*out_error` (when
/// `out_error` is not NULL) a message to free with sm_string_free.
#[no_mangle]
pub extern "C" fn sm_get_token(
    client: sm_client,
    out_token: *mut *mut c_char,
    out_expires_at_ms: *mut i64,
    out_error: *mut *mut c_char,
) -> sm_status {
    write_out(out_token, std::ptr::null_mut());
    write_out(out_expires_at_ms, 0);
    boundary(out_error, || {
        if out_token.is_null() {
            return Err(Error::invalid_argument("out_token must not be NULL"));
        }
        // The fast path reads a fresh token in place; anything else (no token,
        // the refresh window) goes through get_token.
        let fresh = CLIENTS
            .with(client, |c| {
                c.with_fresh_token(|text, expires| (owned_c_string(text), expires))
            })
            .ok_or_else(invalid_handle)?;
        let (token, expires_at_ms) = match fresh {
            Some(fresh) => fresh,
            None => {
                let token = lookup(client)?.get_token()?;
                (owned_c_string(token.as_str()), token.expires_at_unix_ms())
            }
        };
        write_out(out_token, token);
        write_out(out_expires_at_ms, expires_at_ms);
        Ok(())
    })
}

/// Drops the cached token; the next call fetches a new one.
///
/// Ownership: nothing is returned.
#[no_mangle]
pub extern "C" fn sm_client_invalidate_token(client: sm_client) -> sm_status {
    boundary(std::ptr::null_mut(), || {
        lookup(client)?.invalidate_token();
        Ok(())
    })
}

/// Replaces the credentials (e.g. after a secret rotation), drops the cached
/// token and ends the fail-fast period of an earlier SM_ERR_AUTH.
///
/// Ownership: the strings are copied; the caller keeps them. On failure
/// `*out_error` (when `out_error` is not NULL) receives a message to free with
/// sm_string_free.
#[no_mangle]
pub extern "C" fn sm_client_set_credentials(
    client: sm_client,
    client_id: *const c_char,
    client_secret: *const c_char,
    out_error: *mut *mut c_char,
) -> sm_status {
    boundary(out_error, || {
        let id = arg_str(client_id, "client_id")?;
        let secret = arg_str(client_secret, "client_secret")?;
        lookup(client)?.set_credentials(id, secret)
    })
}

/// Sends an authenticated request. `path` is "/..." (appended to base_url) or
/// an absolute URL on base_url's origin. `headers` may be NULL, else
/// "Name: value" lines separated by '\n'. `body` may be NULL when `body_len`
/// is 0. Any HTTP answer, whatever its status, is SM_OK.
///
/// Ownership: on success `*out_response` receives a response the caller owns
/// and must free with sm_response_free. On failure it is NULL and
/// `*out_error` (when `out_error` is not NULL) a message to free with
/// sm_string_free.
#[no_mangle]
pub extern "C" fn sm_request(
    client: sm_client,
    method: *const c_char,
    path: *const c_char,
    headers: *const c_char,
    body: *const u8,
    body_len: usize,
    out_response: *mut *mut sm_response,
    out_error: *mut *mut c_char,
) -> sm_status {
    write_out(out_response, std::ptr::null_mut());
    boundary(out_error, || {
        if out_response.is_null() {
            return Err(Error::invalid_argument("out_response must not be NULL"));
        }
        let method = arg_str(method, "method")?;
        let path = arg_str(path, "path")?;
        let headers = if headers.is_null() {
            None
        } else {
            Some(arg_str(headers, "headers")?)
        };
        let body: &[u8] = match (body.is_null(), body_len) {
            (_, 0) => &[],
            (true, _) => {
                return Err(Error::invalid_argument(
                    "body is NULL but body_len is not 0",
                ))
            }
            // SAFETY: non-NULL, and the ABI requires body_len readable bytes
            // that stay valid for the call.
            (false, len) => unsafe { std::slice::from_raw_parts(body, len) },
        };
        let client = lookup(client)?;
        let response = client.request(method, path, headers, body)?;
        write_out(out_response, sm_response::boxed(response));
        Ok(())
    })
}

/// Counters and the token's expiry as a JSON object: token_fetches,
/// token_fetch_failures, token_requests, background_refreshes, requests,
/// retries, reauth_replays, shared_cache_hits, token_expires_at_ms (null
/// when none).
///
/// Ownership: on success `*out_json` receives a string the caller owns and
/// must free with sm_string_free; on failure it is NULL and `*out_error`
/// (when `out_error` is not NULL) a message to free with sm_string_free.
#[no_mangle]
pub extern "C" fn sm_client_stats(
    client: sm_client,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> sm_status {
    write_out(out_json, std::ptr::null_mut());
    boundary(out_error, || {
        if out_json.is_null() {
            return Err(Error::invalid_argument("out_json must not be NULL"));
        }
        let json = lookup(client)?.stats_json();
        write_out(out_json, owned_c_string(&json));
        Ok(())
    })
}
