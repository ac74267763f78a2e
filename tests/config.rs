//! Configuration (contract §3): every error, env fallback, Postman files.

use serde_json::json;
use starmile::config::{Config, TokenAuth};
use starmile::Status;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn base() -> serde_json::Value {
    json!({"base_url": "https://api.example", "client_id": "id", "client_secret": "top-secret-xyz"})
}

fn with(extra: serde_json::Value) -> String {
    let mut config = base();
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config.to_string()
}

fn error_of(json: &str) -> starmile::Error {
    Config::from_json_with_env(json, &no_env).unwrap_err()
}

#[test]
fn every_bad_config_is_invalid_argument_naming_the_key() {
    let cases = [
        (with(json!({"colour": "blue"})), "colour"),
        (with(json!({"timeout_ms": "fast"})), "timeout_ms"),
        (with(json!({"timeout_ms": 0})), "timeout_ms"),
        (
            with(json!({"connect_timeout_ms": -1})),
            "connect_timeout_ms",
        ),
        (with(json!({"max_retries": 11})), "max_retries"),
        (with(json!({"refresh_before_s": 1.5})), "refresh_before_s"),
        (
            with(json!({"default_token_lifetime_s": 0})),
            "default_token_lifetime_s",
        ),
        (with(json!({"token_auth": "digest"})), "token_auth"),
        (
            with(json!({"allow_insecure_http": "yes"})),
            "allow_insecure_http",
        ),
        (with(json!({"max_response_bytes": 0})), "max_response_bytes"),
        (with(json!({"scope": 5})), "scope"),
        (with(json!({"client_id": 7})), "client_id"),
        (
            with(json!({"client_secret": ["top-secret-xyz"]})),
            "client_secret",
        ),
        (with(json!({"base_url": "ftp://api.example"})), "base_url"),
        (with(json!({"base_url": "http://api.example"})), "base_url"),
        (
            with(json!({"token_url": "http://auth.example/token"})),
            "token_url",
        ),
        (with(json!({"ca_file": "/nonexistent/ca.pem"})), "ca_file"),
        (with(json!({"proxy": "::not a url::"})), "proxy"),
        (
            with(json!({"client_secret_file": "/tmp/x"})),
            "client_secret_file",
        ),
        (
            json!({"client_id": "id", "client_secret": "s"}).to_string(),
            "base_url",
        ),
        (
            json!({"base_url": "https://h", "client_secret": "s"}).to_string(),
            "client_id",
        ),
        (
            json!({"base_url": "https://h", "client_id": "i"}).to_string(),
            "client_secret",
        ),
    ];
    for (config, key) in cases {
        let result =
            Config::from_json_with_env(&config, &no_env).and_then(starmile::Client::with_config);
        let err = result.expect_err(&config);
        assert_eq!(err.status(), Status::InvalidArgument, "{config}");
        assert!(err.message().contains(key), "{config}: {}", err.message());
        assert!(
            !err.message().contains("top-secret-xyz"),
            "{}",
            err.message()
        );
    }
    for not_an_object in ["", "[]", "\"x\"", "{bad json"] {
        assert_eq!(error_of(not_an_object).status(), Status::InvalidArgument);
    }
}

#[test]
fn http_is_allowed_for_loopback_or_when_asked() {
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://[::1]:9",
    ] {
        assert!(Config::from_json_with_env(&with(json!({"base_url": url})), &no_env).is_ok());
    }
    let insecure = with(json!({"base_url": "http://api.example", "allow_insecure_http": true}));
    assert!(Config::from_json_with_env(&insecure, &no_env).is_ok());
}

#[test]
fn empty_config_takes_everything_from_the_environment() {
    let env = env_of(&[
        ("STARMILE_BASE_URL", "https://env.example/api"),
        ("STARMILE_CLIENT_ID", "env-id"),
        ("STARMILE_CLIENT_SECRET", "env-secret"),
    ]);
    let config = Config::from_json_with_env("{}", &env).unwrap();
    assert_eq!(config.client_id, "env-id");
    assert_eq!(config.token_url, "https://env.example/api/oauth/token");
    // A key given in the JSON wins over the environment; null means "not given".
    let config =
        Config::from_json_with_env(r#"{"client_id": "json-id", "base_url": null}"#, &env).unwrap();
    assert_eq!(config.client_id, "json-id");
    assert_eq!(config.token_url, "https://env.example/api/oauth/token");
}

#[test]
fn the_real_process_environment_is_read() {
    // Only this test touches these variables in this test binary.
    std::env::set_var("STARMILE_BASE_URL", "https://process-env.example");
    std::env::set_var("STARMILE_CLIENT_ID", "process-id");
    std::env::set_var("STARMILE_CLIENT_SECRET", "process-secret");
    let config = Config::from_json("{}").unwrap();
    assert_eq!(config.client_id, "process-id");
    for name in [
        "STARMILE_BASE_URL",
        "STARMILE_CLIENT_ID",
        "STARMILE_CLIENT_SECRET",
    ] {
        std::env::remove_var(name);
    }
}

#[test]
fn postman_environment_fills_missing_keys() {
    let dir = std::env::temp_dir().join(format!("starmile-postman-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("env.json");
    std::fs::write(
        &path,
        json!({
            "name": "Starmile sandbox",
            "values": [
                {"key": "base_url", "value": "https://postman.example", "enabled": true},
                {"key": "client_id", "value": "postman-id", "enabled": true},
                {"key": "client_secret", "value": "postman-secret", "type": "secret", "enabled": true},
                {"key": "client_id", "value": "disabled-id", "enabled": false},
                {"key": "unrelated", "value": "x", "enabled": true}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let json =
        json!({"postman_environment": path, "client_id": "explicit-id", "token_auth": "json"});
    let config = Config::from_json_with_env(&json.to_string(), &no_env).unwrap();
    assert_eq!(config.client_id, "explicit-id");
    assert_eq!(config.token_url, "https://postman.example/oauth/token");
    assert_eq!(config.token_auth, TokenAuth::Json);
    let err = error_of(&json!({"postman_environment": dir.join("missing.json")}).to_string());
    assert_eq!(err.status(), Status::InvalidArgument);
    std::fs::remove_dir_all(dir).ok();
}
