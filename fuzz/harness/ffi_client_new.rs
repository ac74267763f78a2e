//! Target `ffi_client_new`: `sm_client_new` through the C ABI with arbitrary
//! config bytes (invalid UTF-8, a NUL anywhere), and the handle's life after it.
//!
//! Holds for any input: no panic crosses the ABI (no `SM_ERR_INTERNAL`); the
//! status is `SM_OK` with a handle in 1..2^53 and a NULL `out_error`, or
//! `SM_ERR_INVALID_ARGUMENT` with handle 0 and a message; the same status
//! when `out_error` is NULL; a NULL `out_client` is refused; the message and
//! the stats never carry the secret; a handle frees once, then is invalid.

use super::{
    clear_ambient_env, is_plain_secret, names_foreign_path, occurrences, stand_in, take_c_string,
    PATH_KEYS,
};
use starmile::ffi::{
    sm_client, sm_client_free, sm_client_new, sm_client_stats, sm_get_token, sm_status,
};
use std::ffi::c_char;
use std::ptr::null_mut;

/// Anything but NULL: every out-param must be overwritten.
fn poison<T>() -> *mut T {
    std::ptr::NonNull::dangling().as_ptr()
}

struct Created {
    status: sm_status,
    client: sm_client,
    message: Option<String>,
}

fn create(config: &[u8]) -> Created {
    let mut client: sm_client = 0xdead;
    let mut error: *mut c_char = poison();
    let status = sm_client_new(config.as_ptr().cast(), &mut client, &mut error);
    Created {
        status,
        client,
        message: take_c_string(error),
    }
}

pub fn run(data: &[u8]) {
    clear_ambient_env();
    let mut config = data.to_vec();
    config.push(0);
    let seen = &config[..config.iter().position(|b| *b == 0).unwrap()];
    let text = std::str::from_utf8(seen).ok();
    if text.is_some_and(|t| names_foreign_path(t, PATH_KEYS, None)) {
        return;
    }

    let created = create(&config);
    match created.status {
        sm_status::SM_OK => {
            assert!(created.client != 0 && created.client < (1u64 << 53));
            assert!(created.message.is_none(), "out_error not NULL on success");
        }
        sm_status::SM_ERR_INVALID_ARGUMENT => {
            assert_eq!(created.client, 0, "out_client set on failure");
            assert!(created.message.as_deref().is_some_and(|m| !m.is_empty()));
        }
        other => panic!("sm_client_new gave {other:?}"),
    }
    let secret = text.and_then(secret_of);
    if let (Some(secret), Some(message)) = (&secret, &created.message) {
        if message.contains(secret.as_str()) {
            // Leaked, unless the message says it whatever the secret is.
            let replaced =
                String::from_utf8_lossy(seen).replace(secret.as_str(), &stand_in(secret));
            let mut bytes = replaced.into_bytes();
            bytes.push(0);
            let again = create(&bytes);
            if again.status == sm_status::SM_OK {
                assert_eq!(sm_client_free(again.client), sm_status::SM_OK);
            }
            assert!(
                again.message.is_some_and(|m| m.contains(secret.as_str())),
                "the client secret is in sm_client_new's error message"
            );
        }
    }
    if created.status == sm_status::SM_OK {
        check_live_handle(created.client, secret.as_deref());
    }

    // The same call without out_error, and without out_client.
    let mut client: sm_client = 0xdead;
    let status = sm_client_new(config.as_ptr().cast(), &mut client, null_mut());
    assert_eq!(status, created.status);
    if status == sm_status::SM_OK {
        assert_eq!(sm_client_free(client), sm_status::SM_OK);
    } else {
        assert_eq!(client, 0);
    }
    let mut error: *mut c_char = poison();
    let status = sm_client_new(config.as_ptr().cast(), null_mut(), &mut error);
    assert_eq!(status, sm_status::SM_ERR_INVALID_ARGUMENT);
    assert!(take_c_string(error).is_some());
}

/// The `client_secret` of a JSON config, when checking for it is meaningful.
fn secret_of(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let secret = value.get("client_secret")?.as_str()?.to_owned();
    (is_plain_secret(&secret) && occurrences(text.as_bytes(), secret.as_bytes()) == 1)
        .then_some(secret)
}

/// The stats of a client made from a fixed config, never used.
fn fresh_stats() -> &'static str {
    static STATS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STATS.get_or_init(|| {
        let config =
            b"{\"base_url\":\"http://127.0.0.1:9\",\"client_id\":\"a\",\"client_secret\":\"b\"}\0";
        let created = create(config);
        assert_eq!(created.status, sm_status::SM_OK);
        let mut json: *mut c_char = poison();
        assert_eq!(
            sm_client_stats(created.client, &mut json, null_mut()),
            sm_status::SM_OK
        );
        assert_eq!(sm_client_free(created.client), sm_status::SM_OK);
        take_c_string(json).expect("stats JSON")
    })
}

fn check_live_handle(client: sm_client, secret: Option<&str>) {
    let mut json: *mut c_char = poison();
    let mut error: *mut c_char = poison();
    assert_eq!(
        sm_client_stats(client, &mut json, &mut error),
        sm_status::SM_OK
    );
    assert!(take_c_string(error).is_none());
    let stats = take_c_string(json).expect("stats JSON");
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("stats are JSON");
    assert_eq!(stats["requests"], 0);
    if let Some(secret) = secret {
        // The stats of a new client are the same whatever its config, so a
        // secret found in them must be found in any new client's stats too.
        if stats.to_string().contains(secret) {
            assert!(fresh_stats().contains(secret), "the secret is in the stats");
        }
    }

    assert_eq!(sm_client_free(client), sm_status::SM_OK);
    assert_eq!(sm_client_free(client), sm_status::SM_ERR_INVALID_HANDLE);
    let mut token: *mut c_char = poison();
    let mut expires: i64 = -1;
    let mut error: *mut c_char = poison();
    let status = sm_get_token(client, &mut token, &mut expires, &mut error);
    assert_eq!(status, sm_status::SM_ERR_INVALID_HANDLE);
    assert!(token.is_null() && expires == 0);
    assert!(take_c_string(error).is_some());
}
