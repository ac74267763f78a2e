//! Token behaviour (contract §4) against the sandbox over real loopback sockets.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::json;
use starmile::{Client, Status};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn client(sandbox: &Sandbox, extra: serde_json::Value) -> Client {
    Client::new(&sandbox.config_with(extra)).expect("client")
}

#[test]
fn creating_a_client_does_no_network_io() {
    let sandbox = Sandbox::start();
    let _client = client(&sandbox, json!({}));
    assert_eq!(sandbox.token_requests(), 0);
}

#[test]
fn sixty_four_threads_share_one_token_fetch() {
    let sandbox = Sandbox::start();
    // A slow token endpoint makes the threads overlap for sure.
    sandbox.settings(json!({"token_latency_ms": 300}));
    let client = Arc::new(client(&sandbox, json!({})));
    let barrier = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.get_token().expect("token").as_str().to_owned()
            })
        })
        .collect();
    let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "all threads got the same token"
    );
    let requests = sandbox.token_requests();
    println!("single flight: 64 threads -> {requests} token request(s)");
    assert_eq!(requests, 1);
}

#[test]
fn cached_token_is_reused_until_it_expires() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 2}));
    let client = client(&sandbox, json!({"refresh_before_s": 0}));
    let first = client.get_token().unwrap();
    let again = client.get_token().unwrap();
    assert_eq!(first, again);
    assert_eq!(sandbox.token_requests(), 1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((first.expires_at_unix_ms() - now_ms - 2000).abs() < 1500);
    std::thread::sleep(Duration::from_millis(2100));
    let renewed = client.get_token().unwrap();
    assert_ne!(renewed, first);
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn refresh_window_serves_the_cached_token_while_one_background_refresh_runs() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 8}));
    // refresh_before 60 s is capped at half the lifetime: the window opens after 4 s.
    let client = Arc::new(client(&sandbox, json!({})));
    let first = client.get_token().unwrap();
    std::thread::sleep(Duration::from_millis(4200));
    // The refresh takes 2 s at the server; no caller may wait for it.
    sandbox.settings(json!({"token_latency_ms": 2000}));
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let call = Instant::now();
        let token = client.get_token().unwrap();
        slowest = slowest.max(call.elapsed());
        assert_eq!(token, first, "the cached token is served in the window");
    }
    assert!(
        slowest < Duration::from_millis(1500),
        "a call in the window waited {slowest:?} for the token endpoint"
    );
    // Exactly one background refresh, and its token replaces the old one.
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.get_token().unwrap() == first && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(client.get_token().unwrap(), first);
    assert_eq!(sandbox.token_requests(), 2);
    let stats: serde_json::Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["background_refreshes"], 1);
}

#[test]
fn failed_background_refresh_keeps_the_valid_token() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 6}));
    let client = client(&sandbox, json!({"max_retries": 0}));
    let first = client.get_token().unwrap();
    // The window opens after 3 s; the first two refreshes fail.
    sandbox.faults("token", json!([{"status": 503, "count": 2}]));
    std::thread::sleep(Duration::from_millis(3100));
    // Backoffs are at most 0.5 s then 1 s; the token expires 2.9 s from here.
    let deadline = Instant::now() + Duration::from_millis(2800);
    let mut renewed = None;
    while Instant::now() < deadline {
        // Every call succeeds: the still-valid token is served meanwhile.
        let token = client
            .get_token()
            .expect("no call fails while a refresh fails");
        if token != first {
            renewed = Some(token);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        renewed.is_some(),
        "a later refresh, after a backoff, succeeded"
    );
    // One fetch, two failed refreshes, one that succeeded: each after a backoff.
    assert_eq!(sandbox.token_requests(), 4);
    let stats: serde_json::Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["background_refreshes"], 3);
}

#[test]
fn token_endpoint_5xx_and_429_are_retried_then_unavailable() {
    let sandbox = Sandbox::start();
    sandbox.faults(
        "token",
        json!([{"status": 503, "headers": {"retry-after-ms": "10"}, "count": 2}]),
    );
    let ok = client(&sandbox, json!({"max_retries": 2}));
    ok.get_token().expect("third attempt succeeds");
    assert_eq!(sandbox.token_requests(), 3);

    sandbox.reset();
    sandbox.faults(
        "token",
        json!([{"status": 429, "headers": {"retry-after-ms": "10"}, "count": 10}]),
    );
    let failing = client(&sandbox, json!({"max_retries": 1}));
    let err = failing.get_token().unwrap_err();
    assert_eq!(err.status(), Status::Unavailable);
    assert!(err.message().contains("429"), "{}", err.message());
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn retry_after_is_honoured() {
    let sandbox = Sandbox::start();
    sandbox.faults(
        "token",
        json!([{"status": 503, "headers": {"Retry-After": "1"}}]),
    );
    let client = client(&sandbox, json!({"max_retries": 1}));
    let started = Instant::now();
    client.get_token().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn dropped_token_connections_are_retried() {
    let sandbox = Sandbox::start();
    sandbox.faults("token", json!([{"drop": true}]));
    let client = client(&sandbox, json!({"max_retries": 1}));
    client
        .get_token()
        .expect("token after one dropped connection");
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn oauth_errors_are_auth_not_retried_and_fail_fast_for_five_seconds() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"client_secret": "wrong-secret-value-123"}));
    let err = client.get_token().unwrap_err();
    assert_eq!(err.status(), Status::Auth);
    assert!(
        err.message().contains("invalid_client"),
        "{}",
        err.message()
    );
    assert!(!err.message().contains("wrong-secret-value-123"));
    assert_eq!(sandbox.token_requests(), 1, "not retried");
    // Fail fast: the same error, no new request.
    let again = client.get_token().unwrap_err();
    assert_eq!(again, err);
    assert_eq!(sandbox.token_requests(), 1);
    // New credentials clear the fail-fast at once.
    client
        .set_credentials("sandbox-client", "sandbox-secret")
        .unwrap();
    client.get_token().expect("token with the right secret");
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn fail_fast_ends_after_five_seconds() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"client_secret": "other"}));
    let client = client(&sandbox, json!({}));
    assert_eq!(client.get_token().unwrap_err().status(), Status::Auth);
    sandbox.settings(json!({"client_secret": "sandbox-secret"}));
    assert_eq!(client.get_token().unwrap_err().status(), Status::Auth);
    assert_eq!(sandbox.token_requests(), 1);
    std::thread::sleep(Duration::from_millis(5100));
    client.get_token().expect("tries again after 5 s");
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn other_oauth_errors_carry_error_and_description() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"allowed_scopes": ["read"]}));
    let err = client(&sandbox, json!({"scope": "admin"}))
        .get_token()
        .unwrap_err();
    assert_eq!(err.status(), Status::Auth);
    assert!(err.message().contains("invalid_scope"), "{}", err.message());
    client(&sandbox, json!({"scope": "read"}))
        .get_token()
        .unwrap();
    assert_eq!(sandbox.stats()["last_token_request"]["scope"], "read");
}

#[test]
fn a_server_echoing_the_secret_never_gets_it_into_a_message() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"echo_secret_in_errors": true}));
    let secret = "leaky-secret-9f8e7d6c";
    let err = client(&sandbox, json!({"client_secret": secret}))
        .get_token()
        .unwrap_err();
    assert_eq!(err.status(), Status::Auth);
    assert!(!err.message().contains(secret), "{}", err.message());
    assert!(!format!("{err:?}").contains(secret));
}

#[test]
fn each_token_auth_mode_reaches_the_endpoint_its_way() {
    let sandbox = Sandbox::start();
    for mode in ["form", "json", "basic"] {
        client(&sandbox, json!({"token_auth": mode}))
            .get_token()
            .unwrap();
        assert_eq!(sandbox.stats()["last_token_request"]["auth"], mode);
    }
    let stats = sandbox.stats();
    assert_eq!(
        stats["token_auth"],
        json!({"form": 1, "json": 1, "basic": 1})
    );
}

#[test]
fn special_characters_in_credentials_survive_every_mode() {
    let sandbox = Sandbox::start();
    let secret = "s3cr+t/=&:% ü";
    sandbox.settings(json!({"client_id": "id:with&odd=chars", "client_secret": secret}));
    for mode in ["form", "json", "basic"] {
        let c = Client::new(&sandbox.config_with(json!({
            "client_id": "id:with&odd=chars", "client_secret": secret, "token_auth": mode
        })))
        .unwrap();
        c.get_token().unwrap_or_else(|e| panic!("{mode}: {e}"));
    }
}

#[test]
fn expires_in_as_string_and_missing() {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"expires_in_format": "string", "token_lifetime_s": 120}));
    let t = client(&sandbox, json!({})).get_token().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((t.expires_at_unix_ms() - now_ms - 120_000).abs() < 2000);
    sandbox.settings(json!({"expires_in_format": "omit"}));
    let t = client(&sandbox, json!({"default_token_lifetime_s": 600}))
        .get_token()
        .unwrap();
    assert!((t.expires_at_unix_ms() - now_ms - 600_000).abs() < 2000);
}

#[test]
fn unusable_token_answers_are_protocol_errors_not_retried() {
    let sandbox = Sandbox::start();
    let cases = [
        json!({"status": 200, "body": "<html>not json</html>"}),
        json!({"status": 200, "body": "{\"token_type\":\"Bearer\"}"}),
        json!({"status": 200, "body": "{\"access_token\":\"abc\",\"token_type\":\"mac\"}"}),
        json!({"status": 200, "body": "{\"access_token\":\"abc\",\"expires_in\":0}"}),
        json!({"status": 200, "body": "{\"access_token\":\"abc\",\"expires_in\":\"soon\"}"}),
        json!({"status": 403, "body": "<html>Forbidden by the corporate proxy</html>"}),
    ];
    for (i, fault) in cases.iter().enumerate() {
        sandbox.reset();
        sandbox.faults("token", json!([fault]));
        let err = client(&sandbox, json!({})).get_token().unwrap_err();
        assert_eq!(err.status(), Status::Protocol, "case {i}: {err}");
        assert_eq!(sandbox.token_requests(), 1, "case {i} not retried");
    }
    sandbox.reset();
    sandbox.faults(
        "token",
        json!([{"status": 403, "body": "Forbidden by proxy"}]),
    );
    let err = client(&sandbox, json!({})).get_token().unwrap_err();
    assert!(err.message().contains("403") && err.message().contains("Forbidden by proxy"));
}

#[test]
fn set_credentials_picks_up_a_rotated_secret() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    let before = client.get_token().unwrap();
    sandbox.settings(json!({"client_secret": "rotated-secret"}));
    client.invalidate_token();
    assert_eq!(client.get_token().unwrap_err().status(), Status::Auth);
    client
        .set_credentials("sandbox-client", "rotated-secret")
        .unwrap();
    assert_ne!(client.get_token().unwrap(), before);
}

#[test]
fn invalidate_token_drops_only_the_token() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    let first = client.get_token().unwrap();
    client.invalidate_token();
    assert_ne!(client.get_token().unwrap(), first);
    assert_eq!(sandbox.token_requests(), 2);
}

#[test]
fn secret_file_is_reread_when_the_secret_is_rotated() {
    let sandbox = Sandbox::start();
    let dir = std::env::temp_dir().join(format!("starmile-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "sandbox-secret\n").unwrap();
    let config = sandbox.config_with(json!({"client_secret": null, "client_secret_file": file}));
    let client = Client::new(&config).unwrap();
    client.get_token().unwrap();
    // Rotation: the server takes the new secret, the mounted file changes.
    sandbox.settings(json!({"client_secret": "rotated-in-file"}));
    std::fs::write(&file, "rotated-in-file\n").unwrap();
    client.invalidate_token();
    client
        .get_token()
        .expect("the new secret from the file is used");
    assert_eq!(sandbox.stats()["token_errors"], 1);
    assert_eq!(sandbox.token_requests(), 3);
    std::fs::remove_dir_all(dir).ok();
}
