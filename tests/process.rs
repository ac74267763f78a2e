//! Process-level promises: fork, and logs free of secrets.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::json;
use starmile::Client;
use std::process::Command;

#[test]
fn a_forked_child_keeps_using_the_client_and_its_token() {
    let sandbox = Sandbox::start();
    let client = Client::new(&sandbox.config_with(json!({}))).unwrap();
    assert_eq!(
        client.request("GET", "/v1/echo", None, b"").unwrap().status,
        200
    );
    // SAFETY: the child only uses the client and then leaves with _exit,
    // never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = matches!(client.request("GET", "/v1/echo", None, b""), Ok(r) if r.status == 200);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed"
    );
    assert_eq!(
        sandbox.token_requests(),
        1,
        "the child reused the cached token"
    );
    assert_eq!(sandbox.stats()["requests"]["GET /v1/echo"], 2);
    // The parent's client still works after the child is gone.
    assert_eq!(
        client.request("GET", "/v1/echo", None, b"").unwrap().status,
        200
    );
}

/// Run by `logs_never_hold_the_secret_or_the_token` in a child process with
/// STARMILE_LOG=debug; not a test on its own.
#[test]
#[ignore]
fn log_child() {
    let Ok(config) = std::env::var("STARMILE_TEST_CONFIG") else {
        return;
    };
    let client = Client::new(&config).unwrap();
    let token = client.get_token().unwrap();
    println!("TOKEN={}", token.as_str());
    client.request("GET", "/v1/echo", None, b"").unwrap();
    client
        .set_credentials("sandbox-client", "log-test-wrong-secret")
        .unwrap();
    let _ = client.get_token();
}

#[test]
fn logs_never_hold_the_secret_or_the_token() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"echo_secret_in_errors": true}));
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "log_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STARMILE_LOG", "debug")
        .env("STARMILE_TEST_CONFIG", sandbox.config_with(json!({})))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let token = stdout
        .lines()
        .find_map(|l| l.split("TOKEN=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("child printed no token: {stdout}\n{stderr}"));
    assert!(stderr.contains("starmile["), "logging is on: {stderr}");
    assert!(stderr.contains("invalid_client"), "{stderr}");
    for secret in [token, "sandbox-secret", "log-test-wrong-secret"] {
        assert!(!stderr.contains(secret), "log holds a secret: {stderr}");
    }
}
