//! Target `ffi_request`: `sm_request` (and `sm_client_set_credentials`,
//! `sm_get_token`, the response accessors) through the C ABI with arbitrary
//! arguments, on a client whose base URL is a closed loopback port,
//! `max_retries` 0 and short timeouts: nothing ever leaves the machine.
//!
//! Flag byte: 1 headers NULL, 2 body NULL, 4 out_error NULL, 8 out_response
//! NULL, 16 method NULL, 32 path NULL, 64 a freed handle (with 128: handle
//! 0), 128 also `sm_client_set_credentials(method, headers)` and
//! `sm_get_token`.
//!
//! Holds for any input: no panic crosses the ABI; the status is exactly what
//! the arguments call for — `SM_ERR_INVALID_ARGUMENT` for a NULL, invalid
//! UTF-8, a body NULL with a length, an invalid method, a relative path, a
//! URL on another origin or a header the library sets; else
//! `SM_ERR_INVALID_HANDLE` for a bad handle; else a network failure
//! (`SM_ERR_NETWORK` / `SM_ERR_TIMEOUT`), never `SM_OK`; out-params NULL on
//! failure; a message exactly when `out_error` is given, never holding the secret.

use super::url::{acceptable_absolute, origin_debug};
use super::{clear_ambient_env, split_parts, take_c_string};
use starmile::client::parse_header_lines;
use starmile::ffi::{
    sm_client, sm_client_free, sm_client_new, sm_client_set_credentials, sm_get_token, sm_request,
    sm_response, sm_response_body, sm_response_free, sm_response_header, sm_response_headers,
    sm_response_status, sm_status, sm_status_name, sm_string_free,
};
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

pub const CLIENT_SECRET: &str = "ffi-fuzz-secret-0123";

struct Fixture {
    client: sm_client,
    freed: sm_client,
    origin: String,
}

fn new_client(config: &str) -> sm_client {
    let config = std::ffi::CString::new(config).unwrap();
    let mut client = 0;
    let status = sm_client_new(config.as_ptr(), &mut client, null_mut());
    assert_eq!(status, sm_status::SM_OK, "fixture client");
    client
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        clear_ambient_env();
        // A port nobody listens on: bound by us, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let origin = format!("http://127.0.0.1:{port}");
        let config = serde_json::json!({
            "base_url": origin,
            "client_id": "ffi-fuzz",
            "client_secret": CLIENT_SECRET,
            "max_retries": 0,
            "timeout_ms": 1000,
            "connect_timeout_ms": 500,
        })
        .to_string();
        let client = new_client(&config);
        let freed = new_client(&config);
        assert_eq!(sm_client_free(freed), sm_status::SM_OK);
        Fixture {
            client,
            freed,
            origin,
        }
    })
}

const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
];

/// A NUL-terminated copy (an earlier NUL ends the C string there) and the
/// text C sees.
fn c_string(part: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let seen = part.split(|b| *b == 0).next().unwrap_or_default().to_vec();
    let mut owned = part.to_vec();
    owned.push(0);
    (owned, seen)
}

/// What the arguments call for, decided without the library: the refusal,
/// or `None` when the request is valid and must go out (and fail to connect).
fn expected_refusal(
    method: Option<&[u8]>,
    path: Option<&[u8]>,
    headers: Option<&[u8]>,
    body_null_with_len: bool,
    out_response_null: bool,
    handle_valid: bool,
    origin: &str,
) -> Option<sm_status> {
    use sm_status::*;
    fn utf8(part: Option<&[u8]>) -> Option<&str> {
        part.and_then(|p| std::str::from_utf8(p).ok())
    }
    let (Some(method), Some(path)) = (utf8(method), utf8(path)) else {
        return Some(SM_ERR_INVALID_ARGUMENT);
    };
    let headers = match headers {
        None => "",
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return Some(SM_ERR_INVALID_ARGUMENT),
        },
    };
    if out_response_null || body_null_with_len {
        return Some(SM_ERR_INVALID_ARGUMENT);
    }
    if !handle_valid {
        return Some(SM_ERR_INVALID_HANDLE);
    }
    let method_ok = ureq::http::Method::from_bytes(method.as_bytes()).is_ok();
    let on_origin = if path.starts_with('/') {
        acceptable_absolute(&format!("{origin}{path}")).is_some()
    } else {
        path.contains("://")
            && acceptable_absolute(path).is_some_and(|uri| {
                let base: ureq::http::Uri = origin.parse().unwrap();
                origin_debug(&uri) == origin_debug(&base)
            })
    };
    let reserved = headers.split('\n').any(|line| {
        line.split_once(':')
            .is_some_and(|(name, _)| RESERVED.contains(&name.trim().to_ascii_lowercase().as_str()))
    });
    if !method_ok || !on_origin || reserved {
        return Some(SM_ERR_INVALID_ARGUMENT);
    }
    // The header syntax itself is the `headers` target's business.
    parse_header_lines(headers)
        .is_err()
        .then_some(SM_ERR_INVALID_ARGUMENT)
}

pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let parts = split_parts(rest, 0xff, 4);
    let (method, method_seen) = c_string(parts[0]);
    let (path, path_seen) = c_string(parts[1]);
    let (headers, headers_seen) = c_string(parts[2]);
    let body = parts[3];

    let headers_null = flags & 1 != 0;
    let body_null = flags & 2 != 0;
    let error_null = flags & 4 != 0;
    let response_null = flags & 8 != 0;
    let method_null = flags & 16 != 0;
    let path_null = flags & 32 != 0;
    let client = match (flags & 64 != 0, flags & 128 != 0) {
        (false, _) => fixture.client,
        (true, false) => fixture.freed,
        (true, true) => 0,
    };

    let mut response: *mut sm_response = std::ptr::NonNull::dangling().as_ptr();
    let mut error: *mut c_char = std::ptr::NonNull::dangling().as_ptr();
    let status = sm_request(
        client,
        if method_null {
            null()
        } else {
            method.as_ptr().cast()
        },
        if path_null {
            null()
        } else {
            path.as_ptr().cast()
        },
        if headers_null {
            null()
        } else {
            headers.as_ptr().cast()
        },
        if body_null { null() } else { body.as_ptr() },
        body.len(),
        if response_null {
            null_mut()
        } else {
            &mut response
        },
        if error_null { null_mut() } else { &mut error },
    );
    let message = if error_null {
        None
    } else {
        take_c_string(error)
    };

    let expected = expected_refusal(
        (!method_null).then_some(&method_seen[..]),
        (!path_null).then_some(&path_seen[..]),
        (!headers_null).then_some(&headers_seen[..]),
        body_null && !body.is_empty(),
        response_null,
        client == fixture.client,
        &fixture.origin,
    );
    match expected {
        Some(want) => assert_eq!(status, want, "{:?}", message),
        None => assert!(
            matches!(
                status,
                sm_status::SM_ERR_NETWORK | sm_status::SM_ERR_TIMEOUT
            ),
            "a valid request gave {status:?}: {message:?}"
        ),
    }
    if status == sm_status::SM_ERR_NETWORK {
        let message = message.as_deref().unwrap_or(&fixture.origin);
        assert!(message.contains(&fixture.origin), "{message}");
    }
    if !response_null {
        assert!(response.is_null(), "out_response set on failure");
    }
    assert_eq!(
        message.is_some(),
        !error_null,
        "a message exactly when asked for"
    );
    // A message may repeat the caller's own text (an URL it gave), which
    // could hold the secret's characters; only the configured secret counts.
    let given = [&method_seen, &path_seen, &headers_seen]
        .iter()
        .any(|part| {
            String::from_utf8_lossy(part)
                .to_lowercase()
                .contains(CLIENT_SECRET)
        });
    if let Some(message) = &message {
        assert!(!message.is_empty());
        assert!(
            given || !message.contains(CLIENT_SECRET),
            "the secret is in a message"
        );
    }

    if flags & 128 != 0 && client == fixture.client {
        check_credentials_and_token(fixture.client, &method, &headers, error_null);
    }
    check_null_responses(&path, status);
}

fn check_credentials_and_token(client: sm_client, id: &[u8], secret: &[u8], error_null: bool) {
    let mut error: *mut c_char = std::ptr::NonNull::dangling().as_ptr();
    let out_error = if error_null { null_mut() } else { &mut error };
    let status = sm_client_set_credentials(
        client,
        id.as_ptr().cast(),
        secret.as_ptr().cast(),
        out_error,
    );
    let message = if error_null {
        None
    } else {
        take_c_string(error)
    };
    assert!(
        matches!(
            status,
            sm_status::SM_OK | sm_status::SM_ERR_INVALID_ARGUMENT
        ),
        "sm_client_set_credentials gave {status:?}"
    );
    assert_eq!(message.is_some(), status != sm_status::SM_OK && !error_null);

    let mut token: *mut c_char = std::ptr::NonNull::dangling().as_ptr();
    let mut expires: i64 = -1;
    let mut error: *mut c_char = std::ptr::NonNull::dangling().as_ptr();
    let status = sm_get_token(client, &mut token, &mut expires, &mut error);
    let message = take_c_string(error);
    assert!(
        matches!(
            status,
            sm_status::SM_ERR_NETWORK | sm_status::SM_ERR_TIMEOUT
        ),
        "sm_get_token gave {status:?}: {message:?}"
    );
    assert!(token.is_null() && expires == 0);
    let message = message.expect("a failure has a message");
    let secret = CStr::from_bytes_until_nul(secret)
        .unwrap()
        .to_string_lossy();
    // A secret with a character no connect-error message has cannot be
    // matched by chance.
    if secret.len() >= 8 && secret.contains(|c: char| "!#$%&*+=?@[]^_{|}~,;<>'\"".contains(c)) {
        assert!(
            !message.contains(&*secret),
            "the new secret is in a message"
        );
    }
}

/// The accessors take NULL; any status number has a name.
fn check_null_responses(name: &[u8], status: sm_status) {
    assert_eq!(sm_response_status(null()), 0);
    let mut len = 7usize;
    assert!(sm_response_body(null(), &mut len).is_null());
    assert_eq!(len, 0);
    assert!(sm_response_headers(null()).is_null());
    assert!(sm_response_header(null(), name.as_ptr().cast()).is_null());
    sm_response_free(null_mut());
    sm_string_free(null_mut());
    let code = i32::from_le_bytes([name[0], *name.get(1).unwrap_or(&0), 0, 0]) - 1;
    // SAFETY: sm_status_name returns a static NUL-terminated string.
    let label = unsafe { CStr::from_ptr(sm_status_name(code)) };
    assert!(label.to_bytes().starts_with(b"SM_"));
    // SAFETY: as above.
    let own = unsafe { CStr::from_ptr(sm_status_name(status as i32)) };
    assert_ne!(own.to_bytes(), b"SM_ERR_UNKNOWN");
}
