//! See fuzz/harness/ffi_client_new.rs for the input format and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| starmile_fuzz::ffi_client_new::run(data));
