#![cfg(feature = "sandbox")]
//! The sandbox's own tests, over real loopback connections.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Sandbox, CLIENT_ID, CLIENT_SECRET};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use ureq::http::{HeaderMap, Request};

/// A response read to the end.
struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

fn read(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.expect("request failed");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.body_mut().read_to_string().expect("body"),
    }
}

/// Any request; `body` with a content type, `token` as a bearer token.
fn send(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut request = Request::builder()
        .method(method)
        .uri(sandbox.endpoint(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    sandbox.agent().run(request.body(body.to_string()).unwrap())
}

fn call(sandbox: &Sandbox, method: &str, path: &str, token: &str, body: &str) -> Answer {
    let auth = format!("Bearer {token}");
    read(send(
        sandbox,
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    ))
}

fn token_form(sandbox: &Sandbox, fields: &[(&str, &str)]) -> Answer {
    read(
        sandbox
            .agent()
            .post(sandbox.endpoint("/oauth/token"))
            .send_form(fields.iter().copied()),
    )
}

fn default_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]
}

fn token_json(sandbox: &Sandbox, body: &Value) -> Answer {
    read(send(
        sandbox,
        "POST",
        "/oauth/token",
        &[("content-type", "application/json")],
        &body.to_string(),
    ))
}

/// `Authorization: Basic` per RFC 6749 §2.3.1, with a form body.
fn token_basic(sandbox: &Sandbox, id: &str, secret: &str, form: &str) -> Answer {
    let credentials = format!(
        "{}:{}",
        utf8_percent_encode(id, NON_ALPHANUMERIC),
        utf8_percent_encode(secret, NON_ALPHANUMERIC)
    );
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    read(send(
        sandbox,
        "POST",
        "/oauth/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form,
    ))
}

fn assert_token_answer(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("smt_") && token.len() == 36, "{token}");
    assert!(token[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    token
}

fn assert_oauth_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    assert_eq!(body["error"], code, "{}", answer.text);
    assert!(body["error_description"].is_string());
}

#[test]
fn token_by_form_json_and_basic() {
    // Characters that must survive form encoding and RFC 6749 Basic encoding.
    let (id, secret) = ("my client:1", "s3cr+t&=%/ ü");
    let sandbox = Sandbox::start_with(&["--client-id", id, "--client-secret", secret]);

    let form = token_form(
        &sandbox,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    );
    let json = token_json(
        &sandbox,
        &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}),
    );
    let basic = token_basic(
        &sandbox,
        id,
        secret,
        "grant_type=client_credentials&scope=a%20b",
    );
    let tokens: Vec<_> = [&form, &json, &basic]
        .into_iter()
        .map(assert_token_answer)
        .collect();
    assert_eq!(basic.json()["scope"], "a b");
    assert!(form.json().get("scope").is_none());
    assert_ne!(tokens[0], tokens[1]);

    let stats = sandbox.stats();
    assert_eq!(stats["token_requests"], 3);
    assert_eq!(stats["tokens_issued"], 3);
    assert_eq!(stats["token_errors"], 0);
    assert_eq!(
        stats["token_auth"],
        json!({"form": 1, "json": 1, "basic": 1})
    );
    assert_eq!(stats["requests"]["POST /oauth/token"], 3);
    let last = &stats["last_token_request"];
    assert_eq!(last["auth"], "basic");
    assert_eq!(last["scope"], "a b");
    assert_eq!(last["content_type"], "application/x-www-form-urlencoded");
    assert!(last["user_agent"].as_str().unwrap().contains("ureq"));
    let text = stats.to_string();
    assert!(!text.contains("s3cr"), "stats leak the secret");
    assert!(tokens.iter().all(|t| !text.contains(t.as_str())));
}

#[test]
fn oauth_error_answers() {
    let sandbox = Sandbox::start();
    // The default form with `field` replaced by `value`, or left out if "".
    let wrong = |field: &'static str, value: &'static str| {
        let mut form = default_form();
        form.retain(|(name, _)| *name != field);
        if !value.is_empty() {
            form.push((field, value));
        }
        token_form(&sandbox, &form)
    };

    assert_oauth_error(&wrong("grant_type", ""), 400, "invalid_request");
    assert_oauth_error(&wrong("client_secret", ""), 400, "invalid_request");
    assert_oauth_error(
        &wrong("grant_type", "password"),
        400,
        "unsupported_grant_type",
    );
    let bad_secret = wrong("client_secret", "nope");
    assert_oauth_error(&bad_secret, 401, "invalid_client");
    assert_eq!(bad_secret.header("www-authenticate"), None);
    assert!(!bad_secret.text.contains("nope"));
    assert_oauth_error(&wrong("client_id", "stranger"), 401, "invalid_client");

    let text_plain = read(send(
        &sandbox,
        "POST",
        "/oauth/token",
        &[("content-type", "text/plain")],
        "grant_type=client_credentials",
    ));
    assert_oauth_error(&text_plain, 400, "invalid_request");
    let broken_json = read(send(
        &sandbox,
        "POST",
        "/oauth/token",
        &[("content-type", "application/json")],
        "{\"grant_type\": ",
    ));
    assert_oauth_error(&broken_json, 400, "invalid_request");

    let both = token_basic(
        &sandbox,
        CLIENT_ID,
        CLIENT_SECRET,
        "grant_type=client_credentials&client_secret=sandbox-secret",
    );
    assert_oauth_error(&both, 400, "invalid_request");
    let basic_wrong = token_basic(&sandbox, CLIENT_ID, "nope", "grant_type=client_credentials");
    assert_oauth_error(&basic_wrong, 401, "invalid_client");
    assert_eq!(
        basic_wrong.header("www-authenticate"),
        Some("Basic realm=\"starmile\"")
    );

    sandbox.settings(json!({"allowed_scopes": ["read", "write"]}));
    let scoped = |scope: &'static str| {
        let mut form = default_form();
        form.push(("scope", scope));
        token_form(&sandbox, &form)
    };
    assert_oauth_error(&scoped("read admin"), 400, "invalid_scope");
    let granted = scoped("write read");
    assert_token_answer(&granted);
    assert_eq!(granted.json()["scope"], "write read");

    let get = read(sandbox.agent().get(sandbox.endpoint("/oauth/token")).call());
    assert_eq!(get.status, 405);

    let stats = sandbox.stats();
    assert_eq!(stats["token_errors"], 10);
    assert_eq!(stats["tokens_issued"], 1);
    assert_eq!(
        stats["token_requests"], 11,
        "the GET is not a token request"
    );
    assert_eq!(stats["requests"]["GET /oauth/token"], 1);
}

#[test]
fn echo_secret_in_errors_is_opt_in() {
    let sandbox = Sandbox::start();
    let mut form = default_form();
    form[2] = ("client_secret", "XYZ-wrong-secret");
    assert!(!token_form(&sandbox, &form)
        .text
        .contains("XYZ-wrong-secret"));

    sandbox.settings(json!({"echo_secret_in_errors": true}));
    let answer = token_form(&sandbox, &form);
    assert_oauth_error(&answer, 401, "invalid_client");
    assert_eq!(
        answer.json()["error_description"],
        "client_secret 'XYZ-wrong-secret' is not valid"
    );
}

#[test]
fn token_answer_formats() {
    let sandbox = Sandbox::start_with(&["--token-lifetime", "42"]);
    assert_eq!(
        token_form(&sandbox, &default_form()).json()["expires_in"],
        42
    );

    sandbox.settings(json!({"expires_in_format": "string", "token_lifetime_s": 7}));
    assert_eq!(
        token_form(&sandbox, &default_form()).json()["expires_in"],
        "7"
    );

    sandbox.settings(json!({"expires_in_format": "omit", "token_type": "mac"}));
    let body = token_form(&sandbox, &default_form()).json();
    assert!(body.get("expires_in").is_none());
    assert_eq!(body["token_type"], "mac");
}

#[test]
fn echo_describes_the_request_but_never_the_token() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    let auth = format!("Bearer {token}");
    let answer = read(send(
        &sandbox,
        "POST",
        "/v1/echo?x=1&y=two",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("x-custom", "hello"),
        ],
        r#"{"n": 1}"#,
    ));
    assert_eq!(answer.status, 200);
    assert!(!answer.text.contains(&token), "echo leaked the token");
    let echo = answer.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/v1/echo");
    assert_eq!(echo["query"], "x=1&y=two");
    assert_eq!(echo["headers"]["x-custom"], "hello");
    assert!(echo["headers"].get("authorization").is_none());
    assert_eq!(echo["body"], r#"{"n": 1}"#);
    assert_eq!(echo["body_len"], 8);
    assert_eq!(echo["json"], json!({"n": 1}));
    assert!(answer.header("x-request-id").unwrap().starts_with("req_"));

    for method in ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let answer = call(&sandbox, method, "/v1/echo", &token, "");
        assert_eq!(answer.status, 200, "{method}");
        assert_eq!(answer.json()["method"], method);
        assert_eq!(answer.json()["json"], Value::Null);
        assert_eq!(answer.json()["query"], "");
    }
    let head = call(&sandbox, "HEAD", "/v1/echo", &token, "");
    assert_eq!((head.status, head.text.as_str()), (200, ""));
}

#[test]
fn api_refuses_missing_bad_expired_and_revoked_tokens() {
    let sandbox = Sandbox::start();
    let assert_invalid_token = |answer: Answer| {
        assert_eq!(answer.status, 401, "{}", answer.text);
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(answer.json()["error"], "invalid_token");
        assert!(answer.json()["error_description"].is_string());
    };

    assert_invalid_token(read(send(&sandbox, "GET", "/v1/echo", &[], "")));
    assert_invalid_token(call(&sandbox, "GET", "/v1/echo", "smt_forged", ""));
    assert_invalid_token(read(send(
        &sandbox,
        "GET",
        "/v1/echo",
        &[(
            "authorization",
            "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=",
        )],
        "",
    )));

    let revoked = sandbox.access_token();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &revoked, "").status, 200);
    sandbox.revoke();
    assert_invalid_token(call(&sandbox, "GET", "/v1/echo", &revoked, ""));

    sandbox.settings(json!({"token_lifetime_s": 1}));
    let expiring = sandbox.access_token();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &expiring, "").status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_invalid_token(call(&sandbox, "GET", "/v1/echo", &expiring, ""));

    sandbox.settings(json!({"token_lifetime_s": 0}));
    let stillborn = sandbox.access_token();
    assert_invalid_token(call(&sandbox, "GET", "/v1/echo", &stillborn, ""));

    let stats = sandbox.stats();
    assert_eq!(stats["unauthorized"], 6);
    assert_eq!(stats["api_requests"], 8);
}

#[test]
fn secret_rotation_refuses_the_old_secret_at_once() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    let answer = read(
        sandbox
            .agent()
            .post(sandbox.endpoint("/_sandbox/settings"))
            .header("content-type", "application/json")
            .send(json!({"client_secret": "rotated-secret"}).to_string()),
    );
    assert_eq!(answer.status, 200);
    assert!(
        !answer.text.contains("rotated-secret"),
        "settings leak the secret"
    );
    assert_eq!(answer.json()["client_id"], CLIENT_ID);

    assert_oauth_error(
        &token_form(&sandbox, &default_form()),
        401,
        "invalid_client",
    );
    let mut form = default_form();
    form[2] = ("client_secret", "rotated-secret");
    assert_token_answer(&token_form(&sandbox, &form));
    // Tokens issued before the rotation stay valid.
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);
}

#[test]
fn bad_control_requests_change_nothing() {
    let sandbox = Sandbox::start();
    let post = |path: &str, body: Value| {
        read(
            sandbox
                .agent()
                .post(sandbox.endpoint(path))
                .header("content-type", "application/json")
                .send(body.to_string()),
        )
    };
    let refused = [
        post(
            "/_sandbox/settings",
            json!({"client_secret": "x", "bogus": 1}),
        ),
        post("/_sandbox/settings", json!({"latency_ms": "5"})),
        post("/_sandbox/settings", json!({"allowed_scopes": "read"})),
        post("/_sandbox/faults", json!({"target": "db", "faults": []})),
        post(
            "/_sandbox/faults",
            json!({"target": "api", "faults": [{"drop": true}, {"status": 42}]}),
        ),
    ];
    for answer in refused {
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.json()["error"]["type"], "invalid_control_request");
    }
    assert_eq!(post("/_sandbox/nothing", json!({})).status, 404);
    let get_reset = read(
        sandbox
            .agent()
            .get(sandbox.endpoint("/_sandbox/reset"))
            .call(),
    );
    assert_eq!(get_reset.status, 405);

    // The refused patch's valid half was not applied, and no fault was queued.
    let token = sandbox.access_token();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);
    assert_eq!(sandbox.stats()["faults_applied"], 0);
}

#[test]
fn status_fault_with_retry_after() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    sandbox.faults(
        "api",
        json!([{"status": 503, "headers": {"Retry-After": "1"}, "count": 2}]),
    );
    for _ in 0..2 {
        let answer = call(&sandbox, "GET", "/v1/echo", &token, "");
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert_eq!(answer.json(), json!({"error": "injected"}));
    }
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);

    // A malformed but successful token answer.
    sandbox.faults("token", json!([{"status": 200, "body": "not json"}]));
    let malformed = token_form(&sandbox, &default_form());
    assert_eq!(
        (malformed.status, malformed.text.as_str()),
        (200, "not json")
    );
    assert_token_answer(&token_form(&sandbox, &default_form()));

    let stats = sandbox.stats();
    assert_eq!(stats["faults_applied"], 3);
    assert_eq!(stats["token_requests"], 3, "faulted token requests count");
    assert_eq!(stats["tokens_issued"], 2);
    assert_eq!(stats["api_requests"], 3);
}

#[test]
fn faults_apply_even_without_a_token() {
    let sandbox = Sandbox::start();
    sandbox.faults("api", json!([{"count": 1}, {"status": 500}]));
    // The first fault passes the request through untouched (it gets the 401).
    assert_eq!(read(send(&sandbox, "GET", "/v1/echo", &[], "")).status, 401);
    assert_eq!(read(send(&sandbox, "GET", "/v1/echo", &[], "")).status, 500);
    assert_eq!(read(send(&sandbox, "GET", "/v1/echo", &[], "")).status, 401);
}

#[test]
fn drop_fault_gives_a_prompt_connection_error() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    sandbox.faults("api", json!([{"drop": true}]));
    sandbox.faults("token", json!([{"drop": true}]));

    let started = Instant::now();
    let auth = format!("Bearer {token}");
    let dropped = send(
        &sandbox,
        "POST",
        "/v1/echo",
        &[("authorization", &auth)],
        "{}",
    );
    assert!(dropped.is_err(), "expected a connection error");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);

    let started = Instant::now();
    let dropped = sandbox
        .agent()
        .post(sandbox.endpoint("/oauth/token"))
        .send_form(default_form());
    assert!(dropped.is_err(), "expected a connection error");
    assert!(started.elapsed() < Duration::from_secs(2));
    sandbox.access_token();

    let stats = sandbox.stats();
    assert_eq!(stats["faults_applied"], 2);
    assert_eq!(stats["api_requests"], 2);
    assert_eq!(stats["token_requests"], 3);
}

#[test]
fn delay_fault_waits_then_answers() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    sandbox.faults(
        "api",
        json!([{"delay_ms": 300}, {"delay_ms": 300, "status": 502}]),
    );
    let started = Instant::now();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 502);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn latency_does_not_block_other_connections() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    sandbox.settings(json!({"latency_ms": 400, "token_latency_ms": 300}));

    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let agent = common::control_agent(None);
                let answer = read(
                    agent
                        .get(sandbox.endpoint("/v1/echo"))
                        .header("authorization", format!("Bearer {token}"))
                        .call(),
                );
                assert_eq!(answer.status, 200);
            });
            scope.spawn(|| {
                let agent = common::control_agent(None);
                let answer = read(
                    agent
                        .post(sandbox.endpoint("/oauth/token"))
                        .send_form(default_form()),
                );
                assert_eq!(answer.status, 200);
            });
        }
    });
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    // Serially this would take 4 x 400 + 4 x 700 ms.
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    let concurrent = sandbox.stats()["max_concurrent_token_requests"]
        .as_u64()
        .unwrap();
    assert!(
        concurrent >= 2,
        "max_concurrent_token_requests = {concurrent}"
    );
}

#[test]
fn write_statistics_find_unkeyed_duplicates() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    let auth = format!("Bearer {token}");
    let keyed = |key: &str| {
        read(send(
            &sandbox,
            "POST",
            "/v1/echo",
            &[("authorization", &auth), ("idempotency-key", key)],
            r#"{"order": 1}"#,
        ))
    };

    call(&sandbox, "POST", "/v1/echo", &token, r#"{"order": 1}"#);
    call(&sandbox, "POST", "/v1/echo", &token, r#"{"order": 1}"#); // duplicate
    call(&sandbox, "PATCH", "/v1/echo", &token, r#"{"order": 1}"#); // other method
    call(&sandbox, "POST", "/v1/echo?q=1", &token, r#"{"order": 2}"#);
    call(&sandbox, "POST", "/v1/echo", &token, ""); // empty body
    call(&sandbox, "POST", "/v1/echo", &token, "");
    call(&sandbox, "PUT", "/v1/echo", &token, r#"{"order": 1}"#); // PUT is idempotent
    call(&sandbox, "PUT", "/v1/echo", &token, r#"{"order": 1}"#);
    keyed("key-1");
    keyed("key-1");
    keyed("key-2");
    assert_eq!(sandbox.stats()["duplicate_unkeyed_writes"], 1);

    // A write refused for its token was not processed: re-sending it is fine.
    call(&sandbox, "POST", "/v1/echo", "smt_stale", r#"{"order": 3}"#);
    call(&sandbox, "POST", "/v1/echo", &token, r#"{"order": 3}"#);
    // A write answered by a fault may have been processed: re-sending is not.
    sandbox.faults("api", json!([{"status": 503}]));
    call(&sandbox, "POST", "/v1/echo", &token, r#"{"order": 4}"#);
    call(&sandbox, "POST", "/v1/echo", &token, r#"{"order": 4}"#);

    let stats = sandbox.stats();
    assert_eq!(stats["duplicate_unkeyed_writes"], 2);
    assert_eq!(stats["idempotency_keys"], json!({"key-1": 2, "key-2": 1}));
    assert_eq!(stats["requests"]["POST /v1/echo"], 12);
    assert_eq!(stats["requests"]["PUT /v1/echo"], 2);
    assert_eq!(stats["requests"]["PATCH /v1/echo"], 1);
    assert_eq!(stats["api_requests"], 15);
    assert_eq!(stats["unauthorized"], 1);
}

#[test]
fn other_api_routes() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();

    let teapot = call(&sandbox, "DELETE", "/v1/status/418", &token, "");
    assert_eq!(teapot.status, 418);
    assert_eq!(
        teapot.json(),
        json!({"error": {"type": "sandbox_status", "message": "sandbox answered 418"}})
    );
    let limited = call(&sandbox, "GET", "/v1/status/429?retry_after=7", &token, "");
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(
        call(&sandbox, "GET", "/v1/status/204", &token, "").status,
        204
    );

    let no_redirects = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let redirect = read(
        no_redirects
            .get(sandbox.endpoint("/v1/redirect"))
            .header("authorization", format!("Bearer {token}"))
            .call(),
    );
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.header("location"), Some("/v1/echo"));

    let bytes = call(&sandbox, "GET", "/v1/bytes/100000", &token, "");
    assert_eq!(bytes.status, 200);
    assert_eq!(
        bytes.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(bytes.header("content-length"), Some("100000"));
    assert!(bytes.text.len() == 100_000 && bytes.text.bytes().all(|b| b == b'x'));
    assert_eq!(call(&sandbox, "GET", "/v1/bytes/0", &token, "").text, "");

    let started = Instant::now();
    let slow = call(&sandbox, "POST", "/v1/slow/250", &token, "{}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(slow.status, 200);
    assert_eq!(slow.json()["path"], "/v1/slow/250");

    for path in [
        "/v1/nothing",
        "/",
        "/v1/status/99",
        "/v1/bytes/x",
        "/v1/echo/",
    ] {
        let missing = call(&sandbox, "GET", path, &token, "");
        assert_eq!(missing.status, 404, "{path}");
        assert_eq!(missing.json()["error"]["type"], "not_found");
    }
}

#[test]
fn hundred_megabytes_stream() {
    let sandbox = Sandbox::start();
    let token = sandbox.access_token();
    let response = sandbox
        .agent()
        .get(sandbox.endpoint("/v1/bytes/100000000"))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0u8; 1 << 16];
    let (mut total, mut all_x) = (0usize, true);
    loop {
        let n = reader.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        all_x &= buffer[..n].iter().all(|&b| b == b'x');
        total += n;
    }
    assert_eq!(total, 100_000_000);
    assert!(all_x);
}

#[test]
fn https_with_the_generated_ca() {
    let sandbox = Sandbox::start_tls();
    assert!(
        sandbox.url().starts_with("https://127.0.0.1:"),
        "{}",
        sandbox.url()
    );
    let ca_file = sandbox.ca_file().expect("a CA file");
    let pem = std::fs::read_to_string(ca_file).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert!(
        !pem.contains("PRIVATE KEY"),
        "ca.pem must hold the certificate only"
    );
    assert_eq!(
        sandbox.config()["ca_file"],
        json!(ca_file.to_str().unwrap())
    );

    let token = sandbox.access_token();
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 200);
    // The certificate also names localhost.
    let port = sandbox.url().rsplit(':').next().unwrap();
    let by_name = read(
        sandbox
            .agent()
            .get(format!("https://localhost:{port}/v1/echo"))
            .header("authorization", format!("Bearer {token}"))
            .call(),
    );
    assert_eq!(by_name.status, 200);

    // Clients that do not trust the CA are refused.
    let stranger = ureq::Agent::new_with_defaults();
    assert!(stranger
        .get(sandbox.endpoint("/_sandbox/stats"))
        .call()
        .is_err());
}

#[test]
fn https_with_given_certificate_files() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    let dir = common::unique_temp_dir("pem");
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();

    let sandbox = Sandbox::start_with(&[
        "--tls-cert",
        &path("cert.pem"),
        "--tls-key",
        &path("key.pem"),
    ]);
    assert!(sandbox.url().starts_with("https://"));
    let agent = common::control_agent(Some(&dir.join("ca.pem")));
    let answer = read(agent.get(sandbox.endpoint("/_sandbox/stats")).call());
    assert_eq!(answer.status, 200);
    drop(sandbox);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reset_restores_the_cli_defaults() {
    let sandbox = Sandbox::start_with(&["--token-lifetime", "60"]);
    let token = sandbox.access_token();
    sandbox.settings(json!({"client_secret": "rotated", "expires_in_format": "string"}));
    sandbox.faults("api", json!([{"status": 500, "count": 5}]));
    sandbox.faults("token", json!([{"status": 500}]));
    assert_eq!(call(&sandbox, "GET", "/v1/echo", &token, "").status, 500);

    sandbox.reset();
    let stats = sandbox.stats();
    for counter in [
        "token_requests",
        "tokens_issued",
        "api_requests",
        "faults_applied",
    ] {
        assert_eq!(stats[counter], 0, "{counter}");
    }
    assert_eq!(stats["requests"], json!({}));
    assert_eq!(stats["last_token_request"], Value::Null);

    // Tokens are forgotten, the secret and formats are the CLI's, faults gone.
    let answer = call(&sandbox, "GET", "/v1/echo", &token, "");
    assert_eq!(answer.status, 401);
    let fresh = token_form(&sandbox, &default_form());
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json()["expires_in"], 60);
    let fresh_token = fresh.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        call(&sandbox, "GET", "/v1/echo", &fresh_token, "").status,
        200
    );
}

#[test]
fn every_response_has_a_fresh_request_id() {
    let sandbox = Sandbox::start();
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let answer = read(
                sandbox
                    .agent()
                    .get(sandbox.endpoint("/_sandbox/stats"))
                    .call(),
            );
            answer.header("x-request-id").unwrap().to_string()
        })
        .chain([read(send(&sandbox, "GET", "/v1/echo", &[], ""))
            .header("x-request-id")
            .unwrap()
            .to_string()])
        .collect();
    for id in &ids {
        assert!(
            id.starts_with("req_") && id[4..].parse::<u64>().is_ok(),
            "{id}"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn cli_help_and_bad_arguments() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_starmile-sandbox"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--tls-self-signed"));

    for args in [
        &["--bogus"][..],
        &["--port", "http"],
        &["--port"],
        &["--tls-cert", "a.pem"],
        &["--client-secret", ""],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn request_log_has_no_secrets_or_tokens() {
    /// Kills the child even when an assertion fails first.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    // Spawned by hand: the log is on stderr, which `Sandbox` passes through.
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_starmile-sandbox"))
            .env("STARMILE_SANDBOX_LOG", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut url = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut url).unwrap();
    let url = url.trim();

    let agent = common::control_agent(None);
    let mut response = agent
        .post(format!("{url}/oauth/token"))
        .send_form(default_form())
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let echo = agent
        .get(format!("{url}/v1/echo?secret=in-query"))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(echo.status(), 200);

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let mut log = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("POST /oauth/token 200"), "{log}");
    assert!(log.contains("GET /v1/echo 200"), "{log}");
    for secret in [CLIENT_SECRET, token.as_str(), "in-query"] {
        assert!(!log.contains(secret), "log leaks {secret}: {log}");
    }
}

#[cfg(unix)]
#[test]
fn exits_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_starmile-sandbox"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Once the URL is out, the handlers are in place.
        let mut url = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut stdout, &mut url).unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");

        let pid = child.id().to_string();
        let kill = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(kill.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("still running 5 s after kill {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{signal}: {status:?}");
    }
}
