//! See fuzz/harness/headers.rs for the input format and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| starmile_fuzz::headers::run(data));
