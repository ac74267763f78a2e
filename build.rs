//! Generates include/starmile.h from the C ABI in src/ffi/ with cbindgen.
//!
//! The header is committed; CI regenerates it and fails on any difference.
//! It is written only when its text changes, so builds do not touch it.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(&crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let bindings = match cbindgen::generate_with_config(&crate_dir, config) {
        Ok(bindings) => bindings,
        Err(e) => panic!("cbindgen could not generate include/starmile.h: {e}"),
    };
    let header = Path::new(&crate_dir).join("include/starmile.h");
    // write_to_file leaves an unchanged file alone.
    bindings.write_to_file(header);
}
