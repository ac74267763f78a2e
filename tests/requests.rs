//! Request behaviour (contract §5) against the sandbox over real loopback sockets.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::{json, Value};
use starmile::{Client, Response, Status};
use std::time::{Duration, Instant};

fn client(sandbox: &Sandbox, extra: Value) -> Client {
    Client::new(&sandbox.config_with(extra)).expect("client")
}

fn body_json(response: &Response) -> Value {
    serde_json::from_slice(&response.body).expect("JSON body")
}

#[test]
fn get_and_post_reach_the_api_with_default_headers() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"user_agent": "example-app/2.0"}));
    let response = client.request("GET", "/v1/echo?x=1", None, b"").unwrap();
    assert_eq!(response.status, 200);
    assert!(response.header("x-request-id").is_some());
    let echo = body_json(&response);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["headers"]["accept"], "application/json");
    let ua = echo["headers"]["user-agent"].as_str().unwrap();
    assert!(
        ua.starts_with("starmile/") && ua.ends_with("example-app/2.0"),
        "{ua}"
    );
    assert!(echo["headers"].get("authorization").is_none());

    let response = client
        .request(
            "POST",
            "/v1/echo",
            Some("X-Trace: abc\nIdempotency-Key: k1"),
            br#"{"a":1}"#,
        )
        .unwrap();
    let echo = body_json(&response);
    assert_eq!(echo["json"], json!({"a": 1}));
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    let response = client
        .request("PUT", "/v1/echo", Some("Content-Type: text/plain"), b"hi")
        .unwrap();
    assert_eq!(
        body_json(&response)["headers"]["content-type"],
        "text/plain"
    );
}

#[test]
fn any_status_is_data() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    for code in [400, 403, 404, 409, 422, 500] {
        let response = client
            .request("GET", &format!("/v1/status/{code}"), None, b"")
            .unwrap();
        assert_eq!(response.status, code);
    }
}

#[test]
fn the_base_url_path_prefix_is_kept() {
    let sandbox = Sandbox::start();
    // The sandbox serves at the root; a prefix shows up in the path it sees.
    let client = Client::new(&sandbox.config_with(json!({
        "base_url": format!("{}/", sandbox.url()), "token_url": "/oauth/token"
    })))
    .unwrap();
    let echo = body_json(&client.request("GET", "/v1/echo", None, b"").unwrap());
    assert_eq!(echo["path"], "/v1/echo");
    let prefixed = Client::new(&sandbox.config_with(json!({
        "base_url": format!("{}/v1/", sandbox.url()),
        "token_url": format!("{}/oauth/token", sandbox.url()),
    })))
    .unwrap();
    let echo = body_json(&prefixed.request("GET", "/echo", None, b"").unwrap());
    assert_eq!(echo["path"], "/v1/echo");
}

#[test]
fn the_token_never_goes_to_another_origin() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    let same_origin = format!("{}/v1/echo", sandbox.url());
    assert_eq!(
        client
            .request("GET", &same_origin, None, b"")
            .unwrap()
            .status,
        200
    );
    let port = sandbox.url().rsplit(':').next().unwrap().to_owned();
    let refused = [
        format!("http://localhost:{port}/v1/echo"),
        format!(
            "http://127.0.0.1:{}/v1/echo",
            port.parse::<u16>().unwrap() + 1
        ),
        format!("https://127.0.0.1:{port}/v1/echo"),
        format!("http://user@127.0.0.1:{port}/v1/echo"),
        "v1/echo".to_owned(),
        "https://evil.example/steal".to_owned(),
    ];
    for url in refused {
        let err = client.request("GET", &url, None, b"").unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{url}");
    }
    assert_eq!(sandbox.stats()["api_requests"], 1);
}

#[test]
fn redirects_are_returned_not_followed() {
    let sandbox = Sandbox::start();
    let response = client(&sandbox, json!({}))
        .request("GET", "/v1/redirect", None, b"")
        .unwrap();
    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some("/v1/echo"));
    assert_eq!(sandbox.stats()["requests"]["GET /v1/echo"], Value::Null);
}

#[test]
fn bad_request_input_is_invalid_argument() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    let cases: [(&str, &str, Option<&str>); 6] = [
        ("GET", "/v1/echo", Some("Authorization: Bearer mine")),
        ("GET", "/v1/echo", Some("X-A: b\rInjected: yes")),
        ("GET", "/v1/echo", Some("no colon here")),
        ("GET", "/v1/echo", Some("Bad Name: x")),
        ("G T", "/v1/echo", None),
        ("GET", "/v1/echo x", None),
    ];
    for (method, path, headers) in cases {
        let err = client.request(method, path, headers, b"").unwrap_err();
        assert_eq!(
            err.status(),
            Status::InvalidArgument,
            "{method} {path} {headers:?}"
        );
    }
    assert_eq!(sandbox.stats()["api_requests"], 0);
}

#[test]
fn a_401_drops_the_token_fetches_a_new_one_and_replays_once() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({}));
    let first = client.get_token().unwrap();
    sandbox.revoke();
    let response = client.request("POST", "/v1/echo", None, b"{}").unwrap();
    assert_eq!(response.status, 200);
    assert_ne!(client.get_token().unwrap(), first);
    assert_eq!(sandbox.token_requests(), 2);
    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["reauth_replays"], 1);
    // A server that refuses every token: one replay, then the 401 is returned.
    sandbox.faults("api", json!([{"status": 401, "count": 5}]));
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(sandbox.stats()["faults_applied"], 2);
}

#[test]
fn get_is_retried_on_503_and_dropped_connections() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"max_retries": 2}));
    client.get_token().unwrap();
    sandbox.faults(
        "api",
        json!([{"status": 503, "headers": {"retry-after-ms": "5"}}, {"drop": true}]),
    );
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(sandbox.stats()["requests"]["GET /v1/echo"], 3);
    // Retries exhausted: the last answer is returned as it is.
    sandbox.faults(
        "api",
        json!([{"status": 502, "headers": {"retry-after-ms": "1"}, "count": 3}]),
    );
    assert_eq!(
        client.request("GET", "/v1/echo", None, b"").unwrap().status,
        502
    );
}

#[test]
fn post_without_idempotency_key_is_never_sent_twice() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"max_retries": 3}));
    client.get_token().unwrap();
    sandbox.faults(
        "api",
        json!([{"status": 503, "headers": {"retry-after-ms": "1"}}]),
    );
    let response = client
        .request("POST", "/v1/echo", None, br#"{"n":1}"#)
        .unwrap();
    assert_eq!(response.status, 503, "503 is returned, not retried");
    sandbox.faults("api", json!([{"drop": true}]));
    let err = client
        .request("PATCH", "/v1/echo", None, br#"{"n":2}"#)
        .unwrap_err();
    assert_eq!(err.status(), Status::Network);
    assert_eq!(sandbox.stats()["duplicate_unkeyed_writes"], 0);
    assert_eq!(sandbox.stats()["requests"]["POST /v1/echo"], 1);
    assert_eq!(sandbox.stats()["requests"]["PATCH /v1/echo"], 1);
}

#[test]
fn post_with_idempotency_key_and_429_are_retried() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"max_retries": 2}));
    client.get_token().unwrap();
    sandbox.faults(
        "api",
        json!([{"drop": true}, {"status": 503, "headers": {"retry-after-ms": "1"}}]),
    );
    let response = client
        .request("POST", "/v1/echo", Some("Idempotency-Key: order-42"), b"{}")
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(sandbox.stats()["idempotency_keys"]["order-42"], 3);
    // 429 is retried for every method: the server did not process the request.
    sandbox.faults(
        "api",
        json!([{"status": 429, "headers": {"retry-after-ms": "1"}}]),
    );
    let response = client
        .request("POST", "/v1/echo", None, br#"{"x":2}"#)
        .unwrap();
    assert_eq!(response.status, 200);
}

#[test]
fn connection_refused_is_retried_then_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::new(
        &json!({
            "base_url": format!("http://127.0.0.1:{port}"),
            "client_id": "id", "client_secret": "secret", "max_retries": 0,
        })
        .to_string(),
    )
    .unwrap();
    let err = client.request("POST", "/v1/echo", None, b"{}").unwrap_err();
    assert_eq!(err.status(), Status::Network);
    assert!(
        err.message().contains(&port.to_string()),
        "{}",
        err.message()
    );
}

#[test]
fn long_retry_after_returns_the_response() {
    let sandbox = Sandbox::start();
    let client = client(&sandbox, json!({"max_retries": 2}));
    client.get_token().unwrap();
    sandbox.faults(
        "api",
        json!([{"status": 429, "headers": {"Retry-After": "120"}}]),
    );
    let started = Instant::now();
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 429);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn timeouts_and_body_limits() {
    let sandbox = Sandbox::start();
    let client = client(
        &sandbox,
        json!({"timeout_ms": 300, "max_retries": 0, "max_response_bytes": 1000}),
    );
    let err = client
        .request("GET", "/v1/slow/2000", None, b"")
        .unwrap_err();
    assert_eq!(err.status(), Status::Timeout, "{err}");
    assert_eq!(
        client
            .request("GET", "/v1/bytes/1000", None, b"")
            .unwrap()
            .body
            .len(),
        1000
    );
    let err = client
        .request("GET", "/v1/bytes/100000000", None, b"")
        .unwrap_err();
    assert_eq!(err.status(), Status::Protocol, "{err}");
}

/// A minimal HTTP CONNECT proxy on loopback that records each tunnel's target.
fn start_connect_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let targets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = targets.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                while reader.read_line(&mut line).unwrap() > 0 && !line.ends_with("\r\n\r\n") {}
                seen.lock().unwrap().push(target.clone());
                let upstream = std::net::TcpStream::connect(&target).unwrap();
                let mut client = client;
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                let mut down_write = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut up_read, &mut down_write));
                let _ = std::io::copy(&mut reader, &mut up_write);
            });
        }
    });
    (url, targets)
}

#[test]
fn a_configured_proxy_carries_every_request_loopback_included() {
    let sandbox = Sandbox::start();
    let (proxy, targets) = start_connect_proxy();
    let client = Client::new(&sandbox.config_with(json!({"proxy": proxy}))).unwrap();
    let response = client.request("GET", "/v1/echo", None, b"").unwrap();
    assert_eq!(response.status, 200);
    let authority = sandbox.url().trim_start_matches("http://").to_owned();
    let targets = targets.lock().unwrap().clone();
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == authority),
        "{targets:?}"
    );
}
