//! The client configuration: a JSON object, with fallbacks to a Postman
//! environment export and to the `STARMILE_*` environment variables.
//!
//! Precedence for `base_url`, `client_id` and the secret: a key given in the
//! JSON, then the Postman environment, then the environment variables. A JSON
//! `null` counts as "not given". Unknown keys and wrong types are refused with a
//! message that names the key and never repeats its value.

use crate::cache::CacheSpec;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::url::{BaseUrl, Origin};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How the credentials travel to the token endpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// `application/x-www-form-urlencoded` body (RFC 6749 §2.3.1).
    Form,
    /// JSON body, as in the Partner API reference's curl example.
    Json,
    /// HTTP Basic, with `grant_type` in a form body.
    Basic,
}

/// Where the client secret comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    Value(Secret),
    /// Re-read when the token endpoint answers `invalid_client`.
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub base_url: BaseUrl,
    pub client_id: String,
    pub secret: SecretSource,
    pub token_url: String,
    pub token_origin: Origin,
    pub token_auth: TokenAuth,
    pub scope: Option<String>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_retries: u32,
    pub refresh_before: Duration,
    pub default_token_lifetime: Duration,
    pub ca_file: Option<PathBuf>,
    pub proxy: Option<String>,
    pub user_agent: Option<String>,
    pub allow_insecure_http: bool,
    pub max_response_bytes: u64,
    /// A cache shared with other processes or hosts, when configured.
    pub token_cache: Option<CacheSpec>,
}

const MAX_RETRIES_LIMIT: u64 = 10;

/// Reads an environment variable; tests pass their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Parses `config_json`, falling back to the process environment.
    pub fn from_json(config_json: &str) -> Result<Config> {
        Config::from_json_with_env(config_json, &process_env)
    }

    pub fn from_json_with_env(config_json: &str, env: EnvLookup<'_>) -> Result<Config> {
        let value: Value = serde_json::from_str(config_json).map_err(|e| {
            // serde_json's message quotes no input, only a position.
            Error::invalid_argument(format!("config is not valid JSON: {e}"))
        })?;
        let Value::Object(map) = value else {
            return Err(Error::invalid_argument("config must be a JSON object"));
        };
        let keys = Keys::new(map)?;
        build(keys, env)
    }
}

const KNOWN_KEYS: &[&str] = &[
    "base_url",
    "client_id",
    "client_secret",
    "client_secret_file",
    "postman_environment",
    "token_url",
    "token_auth",
    "scope",
    "timeout_ms",
    "connect_timeout_ms",
    "max_retries",
    "refresh_before_s",
    "default_token_lifetime_s",
    "ca_file",
    "proxy",
    "user_agent",
    "allow_insecure_http",
    "max_response_bytes",
    "token_cache",
];

/// The config object, checked for unknown keys, with typed accessors whose
/// errors name the key and never its value (the value may be the secret).
struct Keys(Map<String, Value>);

impl Keys {
    fn new(map: Map<String, Value>) -> Result<Keys> {
        if let Some(unknown) = map.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
            let shown: String = unknown.chars().take(64).collect();
            return Err(Error::invalid_argument(format!(
                "unknown config key `{shown}`"
            )));
        }
        Ok(Keys(map))
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid_argument(format!(
                "config key `{key}` must be a string"
            ))),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::invalid_argument(format!(
                "config key `{key}` must be true or false"
            ))),
        }
    }

    fn integer(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Error::invalid_argument(format!(
                "config key `{key}` must be an integer from {min} to {max}"
            ))),
        }
    }
}

/// Values read from a Postman environment export.
#[derive(Default)]
struct PostmanValues {
    base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn read_postman_environment(path: &str) -> Result<PostmanValues> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_argument(format!("cannot read postman_environment {path:?}: {e}"))
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_argument(format!("postman_environment {path:?} is not JSON: {e}"))
    })?;
    let Some(values) = doc.get("values").and_then(Value::as_array) else {
        return Err(Error::invalid_argument(format!(
            "postman_environment {path:?} has no `values` array"
        )));
    };
    let mut found = PostmanValues::default();
    for entry in values {
        let enabled = entry
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let (Some(key), Some(value)) = (
            entry.get("key").and_then(Value::as_str),
            entry.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        if !enabled || value.is_empty() {
            continue;
        }
        let slot = match key {
            "base_url" => &mut found.base_url,
            "client_id" => &mut found.client_id,
            "client_secret" => &mut found.client_secret,
            _ => continue,
        };
        *slot = Some(value.to_owned());
    }
    Ok(found)
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn build(keys: Keys, env: EnvLookup<'_>) -> Result<Config> {
    let postman = match keys.string("postman_environment")? {
        Some(path) => read_postman_environment(&path)?,
        None => PostmanValues::default(),
    };

    let base_url_text = keys
        .string("base_url")?
        .or(postman.base_url)
        .or_else(|| env("STARMILE_BASE_URL"))
        .ok_or_else(|| {
            Error::invalid_argument(
                "base_url is required (config key `base_url` or env STARMILE_BASE_URL)",
            )
        })?;
    let base_url = BaseUrl::parse(&base_url_text)?;

    let client_id = keys
        .string("client_id")?
        .or(postman.client_id)
        .or_else(|| env("STARMILE_CLIENT_ID"))
        .ok_or_else(|| {
            Error::invalid_argument(
                "client_id is required (config key `client_id` or env STARMILE_CLIENT_ID)",
            )
        })?;
    if client_id.is_empty() || client_id.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            "client_id must be non-empty and hold no control characters",
        ));
    }

    let secret = secret_source(&keys, postman.client_secret, env)?;

    let allow_insecure_http = keys.bool("allow_insecure_http")?.unwrap_or(false);
    check_scheme("base_url", base_url.origin(), allow_insecure_http)?;
    let token_url_text = keys
        .string("token_url")?
        .unwrap_or_else(|| "/oauth/token".to_owned());
    let (token_url, token_origin) = base_url.resolve_token_url(&token_url_text)?;
    check_scheme("token_url", &token_origin, allow_insecure_http)?;

    let token_auth = match keys.string("token_auth")?.as_deref() {
        None | Some("form") => TokenAuth::Form,
        Some("json") => TokenAuth::Json,
        Some("basic") => TokenAuth::Basic,
        Some(_) => {
            return Err(Error::invalid_argument(
                "config key `token_auth` must be \"form\", \"json\" or \"basic\"",
            ))
        }
    };

    let ca_file = keys.string("ca_file")?.map(PathBuf::from);
    if let Some(path) = &ca_file {
        if !path.is_file() {
            return Err(Error::invalid_argument(format!(
                "ca_file {} is not a readable file",
                path.display()
            )));
        }
    }
    let user_agent = keys.string("user_agent")?;
    if user_agent
        .as_deref()
        .is_some_and(|ua| ua.chars().any(char::is_control))
    {
        return Err(Error::invalid_argument(
            "config key `user_agent` must not hold control characters",
        ));
    }

    const MAX_MS: u64 = 24 * 3600 * 1000;
    Ok(Config {
        base_url,
        client_id,
        secret,
        token_url,
        token_origin,
        token_auth,
        scope: keys.string("scope")?.filter(|s| !s.is_empty()),
        timeout: ms(keys.integer("timeout_ms", 1, MAX_MS)?.unwrap_or(30_000)),
        connect_timeout: ms(keys
            .integer("connect_timeout_ms", 1, MAX_MS)?
            .unwrap_or(10_000)),
        max_retries: keys
            .integer("max_retries", 0, MAX_RETRIES_LIMIT)?
            .unwrap_or(2) as u32,
        refresh_before: Duration::from_secs(
            keys.integer("refresh_before_s", 0, 86_400)?.unwrap_or(60),
        ),
        default_token_lifetime: Duration::from_secs(
            keys.integer("default_token_lifetime_s", 1, 86_400 * 365)?
                .unwrap_or(3600),
        ),
        ca_file,
        proxy: keys.string("proxy")?.filter(|p| !p.is_empty()),
        user_agent,
        allow_insecure_http,
        max_response_bytes: keys
            .integer("max_response_bytes", 1, u64::MAX)?
            .unwrap_or(64 * 1024 * 1024),
        token_cache: keys
            .string("token_cache")?
            .map(|spec| CacheSpec::parse(&spec))
            .transpose()?,
    })
}

fn secret_source(
    keys: &Keys,
    postman_secret: Option<String>,
    env: EnvLookup<'_>,
) -> Result<SecretSource> {
    let given = (
        keys.string("client_secret")?,
        keys.string("client_secret_file")?,
    );
    let chosen = match given {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_argument(
                "give either `client_secret` or `client_secret_file`, not both",
            ))
        }
        (Some(secret), None) => SecretSource::Value(Secret::new(secret)),
        (None, Some(path)) => SecretSource::File(PathBuf::from(path)),
        (None, None) => match (
            postman_secret,
            env("STARMILE_CLIENT_SECRET_FILE"),
            env("STARMILE_CLIENT_SECRET"),
        ) {
            (Some(secret), _, _) => SecretSource::Value(Secret::new(secret)),
            (None, Some(path), _) => SecretSource::File(PathBuf::from(path)),
            (None, None, Some(secret)) => SecretSource::Value(Secret::new(secret)),
            (None, None, None) => {
                return Err(Error::invalid_argument(
                    "client_secret is required (config key `client_secret` or \
                     `client_secret_file`, or env STARMILE_CLIENT_SECRET or \
                     STARMILE_CLIENT_SECRET_FILE)",
                ))
            }
        },
    };
    if let SecretSource::Value(secret) = &chosen {
        if secret.expose().is_empty() {
            return Err(Error::invalid_argument("client_secret must not be empty"));
        }
    }
    Ok(chosen)
}

/// Reads a secret file: the whole file, less one trailing newline.
pub fn read_secret_file(path: &std::path::Path) -> Result<Secret> {
    let mut text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_argument(format!(
            "cannot read client_secret_file {}: {}",
            path.display(),
            e.kind()
        ))
    })?;
    let trimmed_len = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map_or(text.len(), str::len);
    text.truncate(trimmed_len);
    let secret = Secret::new(text);
    if secret.expose().is_empty() {
        return Err(Error::invalid_argument(format!(
            "client_secret_file {} is empty",
            path.display()
        )));
    }
    Ok(secret)
}

fn check_scheme(key: &str, origin: &Origin, allow_insecure_http: bool) -> Result<()> {
    if origin.is_https() || origin.is_loopback() || allow_insecure_http {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "{key} uses http:// to a non-loopback host ({}); use https:// or set allow_insecure_http",
        origin.host()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(json: &str) -> Result<Config> {
        Config::from_json_with_env(json, &no_env)
    }

    const MINIMAL: &str =
        r#"{"base_url":"https://api.example/","client_id":"id","client_secret":"sekrit-value"}"#;

    #[test]
    fn defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.token_url, "https://api.example/oauth/token");
        assert_eq!(c.token_auth, TokenAuth::Form);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.max_retries, 2);
        assert_eq!(c.refresh_before, Duration::from_secs(60));
        assert_eq!(c.default_token_lifetime, Duration::from_secs(3600));
        assert_eq!(c.max_response_bytes, 67_108_864);
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn wrong_type_names_the_key_not_the_value() {
        let err = parse(r#"{"base_url":"https://h","client_id":"id","client_secret":12345678}"#)
            .unwrap_err();
        assert!(err.message().contains("`client_secret`"));
        assert!(!err.message().contains("12345678"));
    }
}
