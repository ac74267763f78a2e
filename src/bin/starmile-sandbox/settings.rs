//! Runtime settings, changed by `POST /_sandbox/settings`.

use serde_json::{json, Value};

use crate::cli::Options;

/// How `expires_in` appears in a token answer; clients must cope with all
/// three because real servers differ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExpiresInFormat {
    Number,
    String,
    Omit,
}

impl ExpiresInFormat {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "number" => Some(ExpiresInFormat::Number),
            "string" => Some(ExpiresInFormat::String),
            "omit" => Some(ExpiresInFormat::Omit),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExpiresInFormat::Number => "number",
            ExpiresInFormat::String => "string",
            ExpiresInFormat::Omit => "omit",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub token_lifetime_s: u64,
    pub latency_ms: u64,
    pub token_latency_ms: u64,
    pub client_id: String,
    pub client_secret: String,
    pub expires_in_format: ExpiresInFormat,
    pub token_type: String,
    pub allowed_scopes: Option<Vec<String>>,
    pub echo_secret_in_errors: bool,
}

impl Settings {
    pub fn from_options(options: &Options) -> Self {
        Settings {
            token_lifetime_s: options.token_lifetime_s,
            latency_ms: 0,
            token_latency_ms: 0,
            client_id: options.client_id.clone(),
            client_secret: options.client_secret.clone(),
            expires_in_format: ExpiresInFormat::Number,
            token_type: "Bearer".to_string(),
            allowed_scopes: None,
            echo_secret_in_errors: false,
        }
    }

    /// Returns these settings with `patch` applied. The patch is applied to a
    /// copy, so a bad key anywhere in it leaves the live settings untouched.
    pub fn merged(&self, patch: &Value) -> Result<Settings, String> {
        let patch = patch.as_object().ok_or("settings must be a JSON object")?;
        let mut next = self.clone();
        for (key, value) in patch {
            next.apply(key, value)?;
        }
        Ok(next)
    }

    fn apply(&mut self, key: &str, value: &Value) -> Result<(), String> {
        match key {
            "token_lifetime_s" => self.token_lifetime_s = as_u64(key, value)?,
            "latency_ms" => self.latency_ms = as_u64(key, value)?,
            "token_latency_ms" => self.token_latency_ms = as_u64(key, value)?,
            "client_id" => self.client_id = as_non_empty_string(key, value)?,
            "client_secret" => self.client_secret = as_non_empty_string(key, value)?,
            "expires_in_format" => {
                self.expires_in_format = value
                    .as_str()
                    .and_then(ExpiresInFormat::parse)
                    .ok_or("expires_in_format must be \"number\", \"string\" or \"omit\"")?
            }
            "token_type" => self.token_type = as_non_empty_string(key, value)?,
            "allowed_scopes" => self.allowed_scopes = as_scope_list(value)?,
            "echo_secret_in_errors" => {
                self.echo_secret_in_errors = value
                    .as_bool()
                    .ok_or("echo_secret_in_errors must be a boolean")?
            }
            _ => return Err(format!("unknown setting '{key}'")),
        }
        Ok(())
    }

    /// The settings as JSON, without the client secret.
    pub fn public_json(&self) -> Value {
        json!({
            "token_lifetime_s": self.token_lifetime_s,
            "latency_ms": self.latency_ms,
            "token_latency_ms": self.token_latency_ms,
            "client_id": self.client_id,
            "expires_in_format": self.expires_in_format.name(),
            "token_type": self.token_type,
            "allowed_scopes": self.allowed_scopes,
            "echo_secret_in_errors": self.echo_secret_in_errors,
        })
    }
}

fn as_u64(key: &str, value: &Value) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| format!("{key} must be a non-negative integer"))
}

// Error messages name the key only: the value may be a secret.
fn as_non_empty_string(key: &str, value: &Value) -> Result<String, String> {
    match value.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(format!("{key} must be a non-empty string")),
    }
}

fn as_scope_list(value: &Value) -> Result<Option<Vec<String>>, String> {
    const WHAT: &str = "allowed_scopes must be null or an array of strings";
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or(WHAT.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(WHAT.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Settings::from_options(&Options::default())
    }

    #[test]
    fn merge_applies_every_key() {
        let s = defaults()
            .merged(&json!({
                "token_lifetime_s": 5, "latency_ms": 1, "token_latency_ms": 2,
                "client_id": "a", "client_secret": "b", "expires_in_format": "omit",
                "token_type": "mac", "allowed_scopes": ["x"], "echo_secret_in_errors": true
            }))
            .unwrap();
        assert_eq!(s.token_lifetime_s, 5);
        assert_eq!(s.client_secret, "b");
        assert_eq!(s.expires_in_format, ExpiresInFormat::Omit);
        assert_eq!(s.allowed_scopes, Some(vec!["x".to_string()]));
        assert!(s.echo_secret_in_errors);
    }

    #[test]
    fn bad_patches_are_rejected() {
        for patch in [
            json!({"nope": 1}),
            json!({"latency_ms": -1}),
            json!({"latency_ms": "1"}),
            json!({"allowed_scopes": [1]}),
            json!({"expires_in_format": "words"}),
            json!({"client_secret": ""}),
            json!([]),
        ] {
            assert!(defaults().merged(&patch).is_err(), "{patch}");
        }
    }

    #[test]
    fn public_json_hides_secret() {
        let text = defaults().public_json().to_string();
        assert!(!text.contains("sandbox-secret"));
        assert!(!text.contains("client_secret"));
    }
}
