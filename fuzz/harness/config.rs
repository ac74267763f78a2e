//! Target `config`: `Config::from_json_with_env` on a JSON text, an
//! environment and a file (Postman export or secret file) written to a temp
//! path.
//!
//! Holds for any input: no panic; an error is `SM_ERR_INVALID_ARGUMENT`; no
//! error message and no `Debug` rendering carries the client secret, however
//! it was given (JSON, environment, Postman file); an accepted config sends
//! the secret only over https or to loopback unless `allow_insecure_http`, and
//! a relative `token_url` stays on `base_url`'s origin.

use super::{is_plain_secret, names_foreign_path, occurrences, split_parts, stand_in};
use starmile::config::Config;
use starmile::Status;
use std::path::PathBuf;

/// Stands for the temp file in the JSON text and the environment values.
pub const FILE_PLACEHOLDER: &str = "@FILE@";

struct Input {
    json: String,
    env: Vec<(String, String)>,
    file: Vec<u8>,
}

/// The temp file of this thread (tests replay targets on parallel threads).
fn temp_path() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    std::env::temp_dir().join(format!(
        "starmile-fuzz-config-{}-{thread}.txt",
        std::process::id()
    ))
}

pub fn run(data: &[u8]) {
    let parts = split_parts(data, 0, 3);
    let (Ok(json), Ok(env_text)) = (std::str::from_utf8(parts[0]), std::str::from_utf8(parts[1]))
    else {
        return;
    };
    let path = temp_path();
    let path_text = path.to_str().expect("temp paths are UTF-8").to_owned();
    let json = json.replace(FILE_PLACEHOLDER, &path_text);
    if names_foreign_path(&json, &["postman_environment"], Some(&path_text)) {
        return;
    }
    let env = env_text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.replace(FILE_PLACEHOLDER, &path_text)))
        .collect();
    let input = Input {
        json,
        env,
        file: parts[2].to_vec(),
    };
    let outcome = evaluate(&input, &path);
    check_outcome(&input, &outcome);
    for secret in candidate_secrets(&input) {
        check_no_leak(&input, &outcome, &secret, &path);
    }
    let _ = std::fs::remove_file(&path);
}

/// The text a user could see: the error message, or the `Debug` rendering.
type Outcome = Result<(Config, String), starmile::Error>;

fn evaluate(input: &Input, path: &PathBuf) -> Outcome {
    std::fs::write(path, &input.file).expect("cannot write the fuzz temp file");
    let env = |name: &str| {
        input
            .env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    Config::from_json_with_env(&input.json, &env).map(|config| {
        let debug = format!("{config:?}");
        (config, debug)
    })
}

fn check_outcome(input: &Input, outcome: &Outcome) {
    let (config, _) = match outcome {
        Err(error) => {
            assert_eq!(error.status(), Status::InvalidArgument, "{error}");
            assert!(!error.message().is_empty());
            return;
        }
        Ok(ok) => ok,
    };
    assert!(config.max_retries <= 10);
    assert!(!config.timeout.is_zero() && !config.connect_timeout.is_zero());
    assert!(config.max_response_bytes >= 1);
    if !config.allow_insecure_http {
        let base = config.base_url.origin();
        assert!(
            base.is_https() || base.is_loopback(),
            "accepted http:// to a non-loopback base_url: {:?}",
            base
        );
        assert!(
            config.token_origin.is_https() || config.token_origin.is_loopback(),
            "accepted http:// to a non-loopback token_url: {:?}",
            config.token_origin
        );
    }
    // The token URL goes where its origin says.
    let uri: ureq::http::Uri = config
        .token_url
        .parse()
        .unwrap_or_else(|e| panic!("token_url {:?} does not parse: {e}", config.token_url));
    assert_eq!(
        super::url::origin_debug(&uri),
        format!("{:?}", config.token_origin),
        "token_url and token_origin disagree"
    );
    let given_token_url = serde_json::from_str::<serde_json::Value>(&input.json)
        .ok()
        .and_then(|v| {
            v.get("token_url")
                .and_then(|t| t.as_str().map(str::to_owned))
        });
    if !given_token_url.is_some_and(|t| t.contains("://")) {
        assert_eq!(
            &config.token_origin,
            config.base_url.origin(),
            "a relative token_url left base_url's origin"
        );
    }
}

/// Every secret the input gives: JSON, environment, Postman file.
fn candidate_secrets(input: &Input) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&input.json) {
        if let Some(serde_json::Value::String(s)) = map.get("client_secret") {
            found.push(s.clone());
        }
    }
    for (name, value) in &input.env {
        if name == "STARMILE_CLIENT_SECRET" {
            found.push(value.clone());
        }
    }
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&input.file) {
        for entry in doc
            .get("values")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if entry.get("key").and_then(|k| k.as_str()) == Some("client_secret") {
                if let Some(value) = entry.get("value").and_then(|v| v.as_str()) {
                    found.push(value.to_owned());
                }
            }
        }
    }
    found.retain(|s| is_plain_secret(s));
    found
}

fn shown(outcome: &Outcome) -> &str {
    match outcome {
        Ok((_, debug)) => debug,
        Err(error) => error.message(),
    }
}

/// A secret that shows up in the output only while it is in the input leaked
/// into the output (rather than matching text the library writes anyway).
fn check_no_leak(input: &Input, outcome: &Outcome, secret: &str, path: &PathBuf) {
    let everything = [input.json.as_bytes(), &input.file]
        .into_iter()
        .chain(input.env.iter().map(|(_, v)| v.as_bytes()))
        .map(|part| occurrences(part, secret.as_bytes()))
        .sum::<usize>();
    if everything != 1 || !shown(outcome).contains(secret) {
        return;
    }
    let stand_in = stand_in(secret);
    let replaced = Input {
        json: input.json.replace(secret, &stand_in),
        env: input
            .env
            .iter()
            .map(|(n, v)| (n.clone(), v.replace(secret, &stand_in)))
            .collect(),
        file: String::from_utf8_lossy(&input.file)
            .replace(secret, &stand_in)
            .into_bytes(),
    };
    let without_secret = evaluate(&replaced, path);
    assert!(
        shown(&without_secret).contains(secret),
        "the client secret ({} chars) appears in what the library shows: {}",
        secret.len(),
        match outcome {
            Ok(_) => "the Debug rendering of Config",
            Err(_) => "an error message",
        }
    );
}
