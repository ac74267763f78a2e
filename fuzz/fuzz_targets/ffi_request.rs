//! See fuzz/harness/ffi_request.rs for the input format and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| starmile_fuzz::ffi_request::run(data));
