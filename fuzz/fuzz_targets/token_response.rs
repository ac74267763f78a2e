//! See fuzz/harness/token_response.rs for the input format and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| starmile_fuzz::token_response::run(data));
