//! The fuzz harness of libstarmile: one module per fuzz target, each with a
//! `run(data)` that feeds the bytes to the library and asserts what must hold
//! for any input (a panic is a finding).
//!
//! The same file is the library of the cargo-fuzz project (`fuzz/Cargo.toml`)
//! and is included by `tests/fuzz_regressions.rs`, so the corpora and the
//! reproducers replay through exactly the code the fuzzers ran.
//!
//! Input formats (kept textual where possible, so seeds are readable):
//! - `config`: `JSON \0 ENV-LINES \0 FILE`; `@FILE@` in the JSON or the
//!   environment stands for a temp file holding FILE (a Postman export or a
//!   secret file).
//! - `token_response`: 2 bytes of status, then `RETRY-AFTER \xff
//!   RETRY-AFTER-MS \xff BODY`.
//! - `headers`: the header text.
//! - `url`: `BASE \0 PATH \0 TOKEN-URL`.
//! - `ffi_client_new`: the config bytes, NUL-terminated after the last byte
//!   (an earlier NUL ends the string there).
//! - `ffi_request`: 1 flag byte, then `METHOD \xff PATH \xff HEADERS \xff
//!   BODY`, each string NUL-terminated after its last byte.

pub mod config;
pub mod ffi_client_new;
pub mod ffi_request;
pub mod headers;
pub mod token_response;
pub mod url;

/// Splits `data` at the first `count - 1` occurrences of `separator`; missing
/// parts are empty.
pub fn split_parts(data: &[u8], separator: u8, count: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(count, |b| *b == separator).collect();
    parts.resize(count, &[]);
    parts
}

/// How many times `needle` occurs in `haystack` (overlaps counted).
pub fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || needle.len() > haystack.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Variables that would make a run depend on the machine it runs on.
pub const AMBIENT_ENV: &[&str] = &[
    "STARMILE_BASE_URL",
    "STARMILE_CLIENT_ID",
    "STARMILE_CLIENT_SECRET",
    "STARMILE_CLIENT_SECRET_FILE",
    "STARMILE_LOG",
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Clears [`AMBIENT_ENV`] once per process, before the first client is made.
pub fn clear_ambient_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for name in AMBIENT_ENV {
            std::env::remove_var(name);
        }
    });
}

/// Config keys whose value is a path the library reads. An arbitrary path
/// (`/dev/zero`, a FIFO) would make the fuzzer measure the file system, so
/// inputs naming one are skipped unless it is the harness's own file.
pub const PATH_KEYS: &[&str] = &["postman_environment", "client_secret_file", "ca_file"];

/// Whether a config text names a path (other than `allowed`) the library would read.
pub fn names_foreign_path(config: &str, keys: &[&str], allowed: Option<&str>) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(config)
    else {
        return false;
    };
    keys.iter().any(|key| match map.get(*key) {
        Some(serde_json::Value::String(path)) => Some(path.as_str()) != allowed,
        _ => false,
    })
}

/// A string of `secret`'s length made of a character `secret` lacks.
pub fn stand_in(secret: &str) -> String {
    let filler = ['Q', 'z', '7']
        .into_iter()
        .find(|c| !secret.contains(*c))
        .expect("three distinct characters cannot all be in a 1-character gap");
    std::iter::repeat_n(filler, secret.len()).collect()
}

/// Characters that never need escaping in JSON or splitting an env line, so
/// swapping a secret made of them for [`stand_in`] keeps the input's shape.
pub fn is_plain_secret(secret: &str) -> bool {
    secret.len() >= 6
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~+/!*%@#$&".contains(c))
}

/// Copies a string the library handed out and frees it with `sm_string_free`.
pub(crate) fn take_c_string(ptr: *mut std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a non-NULL string from the library is NUL-terminated and ours
    // until we free it, right after copying it.
    let text = unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_str()
        .expect("the library's strings are UTF-8")
        .to_owned();
    starmile::ffi::sm_string_free(ptr);
    Some(text)
}
