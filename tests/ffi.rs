//! The C ABI called from Rust: what a C caller sees, checked where the C suite
//! (tests/c) would need a second sandbox harness.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::json;
use starmile::ffi::*;
use std::ffi::{CStr, CString};
use std::ptr;

fn take_string(s: *mut std::ffi::c_char) -> String {
    assert!(!s.is_null());
    // SAFETY: a string the library handed out, freed once right after.
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    sm_string_free(s);
    text
}

#[test]
fn shared_clients_are_one_per_config_text_and_keep_their_token() {
    let sandbox = Sandbox::start();
    let config = CString::new(sandbox.config_with(json!({}))).unwrap();
    let other = CString::new(sandbox.config_with(json!({"timeout_ms": 5000}))).unwrap();
    let (mut first, mut second, mut third) = (0, 0, 0);
    assert_eq!(
        sm_client_shared(config.as_ptr(), &mut first, ptr::null_mut()),
        sm_status::SM_OK
    );
    assert_eq!(
        sm_client_shared(config.as_ptr(), &mut second, ptr::null_mut()),
        sm_status::SM_OK
    );
    assert_eq!(
        sm_client_shared(other.as_ptr(), &mut third, ptr::null_mut()),
        sm_status::SM_OK
    );
    assert_eq!(first, second);
    assert_ne!(first, third);

    let mut token = ptr::null_mut();
    assert_eq!(
        sm_get_token(first, &mut token, ptr::null_mut(), ptr::null_mut()),
        sm_status::SM_OK
    );
    let token_a = take_string(token);
    assert_eq!(
        sm_get_token(second, &mut token, ptr::null_mut(), ptr::null_mut()),
        sm_status::SM_OK
    );
    assert_eq!(take_string(token), token_a);
    assert_eq!(sandbox.token_requests(), 1);

    // Freed for everyone; the next call makes a new client.
    assert_eq!(sm_client_free(first), sm_status::SM_OK);
    let mut fresh = 0;
    assert_eq!(
        sm_client_shared(config.as_ptr(), &mut fresh, ptr::null_mut()),
        sm_status::SM_OK
    );
    assert_ne!(fresh, first);
    assert_eq!(
        sm_get_token(first, &mut token, ptr::null_mut(), ptr::null_mut()),
        sm_status::SM_ERR_INVALID_HANDLE
    );
    assert!(token.is_null());
    sm_client_free(fresh);
    sm_client_free(third);
}

#[test]
fn shared_client_errors_are_reported_like_sm_client_new() {
    let bad = CString::new(
        r#"{"base_url": "https://h", "client_id": "i", "client_secret": "s", "nope": 1}"#,
    )
    .unwrap();
    let mut handle = 7;
    let mut error = ptr::null_mut();
    assert_eq!(
        sm_client_shared(bad.as_ptr(), &mut handle, &mut error),
        sm_status::SM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(handle, 0);
    assert!(take_string(error).contains("nope"));
    assert_eq!(
        sm_client_shared(ptr::null(), &mut handle, ptr::null_mut()),
        sm_status::SM_ERR_INVALID_ARGUMENT
    );
}
