//! HTTPS against the sandbox: a private CA through `ca_file`, and refusal of
//! a certificate nobody vouches for.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::json;
use starmile::{Client, Status};

#[test]
fn https_with_a_private_ca_in_ca_file() {
    let sandbox = Sandbox::start_tls();
    assert!(sandbox.url().starts_with("https://"));
    let client = Client::new(&sandbox.config_with(json!({}))).unwrap();
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 200);
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let sandbox = Sandbox::start_tls();
    let client =
        Client::new(&sandbox.config_with(json!({"ca_file": null, "max_retries": 0}))).unwrap();
    let err = client.get_token().unwrap_err();
    assert_eq!(err.status(), Status::Network, "{err}");
    assert!(
        err.message().to_lowercase().contains("certificate"),
        "{}",
        err.message()
    );
    assert_eq!(sandbox.token_requests(), 0, "the secret never left");
}

#[test]
fn a_ca_file_that_is_not_pem_is_refused() {
    let sandbox = Sandbox::start_tls();
    let path = std::env::temp_dir().join(format!("starmile-not-pem-{}", std::process::id()));
    std::fs::write(&path, "not a certificate").unwrap();
    let err = Client::new(&sandbox.config_with(json!({"ca_file": path}))).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    std::fs::remove_file(path).ok();
}
