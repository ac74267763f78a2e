//! One exchange with the token endpoint (OAuth2 client credentials, RFC 6749
//! §4.4) and the reading of its answer.

use crate::config::{Config, TokenAuth};
use crate::error::{Error, Status};
use crate::http::{HttpResponse, Outgoing, Transport};
use crate::retry;
use crate::secret::{Redactor, Secret};
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use std::time::Duration;
use ureq::http::{self, HeaderName, HeaderValue};

/// A token as the endpoint granted it.
pub struct Grant {
    pub access_token: Secret,
    pub lifetime: Duration,
}

/// Why an exchange gave no token.
pub enum Failure {
    /// 429, 408, 5xx or a network error: worth another attempt, after the
    /// server's requested delay when it gave one.
    Retryable(Error, Option<Duration>),
    /// An OAuth2 error answer (RFC 6749 §5.2), with its `error` code.
    Rejected(Error, String),
    /// An answer that will not change by asking again.
    Final(Error),
}

/// Everything but unreserved characters, as application/x-www-form-urlencoded
/// and RFC 6749 §2.3.1 need.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM).to_string()
}

/// `base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1.
fn basic_credentials(id: &str, secret: &Secret) -> String {
    let pair = Secret::new(format!(
        "{}:{}",
        form_encode(id),
        form_encode(secret.expose())
    ));
    base64::engine::general_purpose::STANDARD.encode(pair.expose())
}

/// A redactor for every form in which the secret leaves: as it is,
/// form-encoded, JSON-escaped, and inside HTTP Basic credentials. A server
/// that quotes our request back (an error page, a WAF) then never gets the
/// secret into a message.
pub fn redactor_for(id: &str, secret: &Secret) -> Redactor {
    let json_escaped = serde_json::to_string(secret.expose()).unwrap_or_default();
    Redactor::new()
        .with(secret.expose())
        .with(&form_encode(secret.expose()))
        .with(json_escaped.trim_matches('"'))
        .with(&basic_credentials(id, secret))
}

/// The longest lifetime we believe; a larger `expires_in` is capped to it.
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// One attempt at the token endpoint.
pub fn exchange(
    transport: &Transport,
    config: &Config,
    id: &str,
    secret: &Secret,
) -> Result<Grant, Failure> {
    let mut form = vec![("grant_type", "client_credentials")];
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(2);
    let mut basic = None;
    let redactor = redactor_for(id, secret);
    let body = match config.token_auth {
        TokenAuth::Json => {
            let mut object = serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": id,
                "client_secret": secret.expose(),
            });
            if let Some(scope) = &config.scope {
                object["scope"] = Value::String(scope.clone());
            }
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ));
            Secret::new(object.to_string())
        }
        TokenAuth::Form | TokenAuth::Basic => {
            if config.token_auth == TokenAuth::Form {
                form.push(("client_id", id));
                form.push(("client_secret", secret.expose()));
            } else {
                let encoded = Secret::new(basic_credentials(id, secret));
                let mut value = HeaderValue::try_from(format!("Basic {}", encoded.expose()))
                    .map_err(|_| {
                        Failure::Final(Error::invalid_argument(
                            "client_id or client_secret cannot be sent in a header",
                        ))
                    })?;
                value.set_sensitive(true);
                basic = Some(value);
            }
            if let Some(scope) = &config.scope {
                form.push(("scope", scope));
            }
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ));
            let encoded: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{k}={}", form_encode(v)))
                .collect();
            Secret::new(encoded.join("&"))
        }
    };
    let outgoing = Outgoing {
        method: &http::Method::POST,
        url: &config.token_url,
        headers: &headers,
        body: body.expose().as_bytes(),
    };
    match transport.send(&outgoing, basic.as_ref()) {
        Ok(response) => interpret(&response, config, &redactor),
        Err(failure) => {
            let error = failure.into_error().context("token endpoint");
            match error.status() {
                Status::Network | Status::Timeout => Err(Failure::Retryable(error, None)),
                _ => Err(Failure::Final(error)),
            }
        }
    }
}

/// Reads the token endpoint's answer.
pub fn interpret(
    response: &HttpResponse,
    config: &Config,
    redactor: &Redactor,
) -> Result<Grant, Failure> {
    let status = response.status;
    match status {
        200..=299 => {
            parse_grant(&response.body, config.default_token_lifetime).map_err(Failure::Final)
        }
        408 | 429 | 500..=599 => {
            let delay = retry::server_delay(|name| response.header(name));
            Err(Failure::Retryable(
                Error::new(
                    Status::Unavailable,
                    format!(
                        "token endpoint answered {status}: {}",
                        redactor.excerpt(&response.body)
                    ),
                ),
                delay,
            ))
        }
        400..=499 => Err(match oauth_error(&response.body, redactor) {
            Some((code, reason)) => Failure::Rejected(
                Error::new(
                    Status::Auth,
                    format!("token endpoint refused the request ({status}): {reason}"),
                ),
                code,
            ),
            None => Failure::Final(Error::protocol(format!(
                "token endpoint answered {status} without an OAuth2 error: {}",
                redactor.excerpt(&response.body)
            ))),
        }),
        _ => Err(Failure::Final(Error::protocol(format!(
            "token endpoint answered unexpected status {status}"
        )))),
    }
}

/// The `error` code and `"invalid_client: Client authentication failed"`
/// from an RFC 6749 §5.2 body.
fn oauth_error(body: &[u8], redactor: &Redactor) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?.as_str()?;
    let mut reason = error.to_owned();
    if let Some(description) = value.get("error_description").and_then(Value::as_str) {
        reason.push_str(": ");
        reason.push_str(description);
    }
    Some((error.to_owned(), redactor.excerpt(reason.as_bytes())))
}

/// Parses a successful token response.
pub fn parse_grant(body: &[u8], default_lifetime: Duration) -> Result<Grant, Error> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| Error::protocol("token response is not JSON"))?;
    let Value::Object(object) = value else {
        return Err(Error::protocol("token response is not a JSON object"));
    };
    let access_token = match object.get("access_token") {
        Some(Value::String(token)) if is_token68(token) => Secret::new(token.clone()),
        Some(_) => {
            return Err(Error::protocol(
                "token response's access_token is not a usable bearer token",
            ))
        }
        None => return Err(Error::protocol("token response has no access_token")),
    };
    match object.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(Value::String(kind)) => {
            // Only well-known types are quoted: the value is the server's, and
            // could be anything, a secret included.
            const KNOWN: &[&str] = &["mac", "dpop", "pop", "n_a", "basic"];
            let shown = if KNOWN.contains(&kind.to_ascii_lowercase().as_str()) {
                format!(" ({kind:?})")
            } else {
                String::new()
            };
            return Err(Error::protocol(format!(
                "token_type is not \"Bearer\"{shown}"
            )));
        }
        Some(_) => return Err(Error::protocol("token_type is not a string")),
    }
    let lifetime = match object.get("expires_in") {
        None | Some(Value::Null) => default_lifetime,
        Some(value) => parse_expires_in(value).ok_or_else(|| {
            Error::protocol("token response's expires_in is not a positive number")
        })?,
    };
    Ok(Grant {
        access_token,
        lifetime: lifetime.min(MAX_LIFETIME),
    })
}

/// `3600`, `3600.0` or `"3600"`; zero, negative or anything else is `None`.
fn parse_expires_in(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_LIFETIME.as_secs_f64())))
}

/// Visible ASCII only (RFC 6750's b64token is stricter): a token that could
/// break a header line is refused rather than sent.
fn is_token68(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 16 * 1024
        && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn expires_in_forms() {
        let life = |body: &str| parse_grant(body.as_bytes(), HOUR).map(|g| g.lifetime);
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":60}"#),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":"60"}"#),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(life(r#"{"access_token":"t"}"#), Ok(HOUR));
        for bad in ["0", "-5", "\"soon\"", "true"] {
            let body = format!(r#"{{"access_token":"t","expires_in":{bad}}}"#);
            assert_eq!(life(&body).unwrap_err().status(), Status::Protocol, "{bad}");
        }
    }

    #[test]
    fn token_type_must_be_bearer() {
        let ok = parse_grant(br#"{"access_token":"t","token_type":"bEaReR"}"#, HOUR);
        assert!(ok.is_ok());
        let err = parse_grant(br#"{"access_token":"t","token_type":"mac"}"#, HOUR);
        assert_eq!(err.err().unwrap().status(), Status::Protocol);
    }

    #[test]
    fn unusable_tokens_are_refused_without_echoing_them() {
        for body in [
            r#"{"access_token":"a b"}"#,
            r#"{"access_token":""}"#,
            r#"{"token":"x"}"#,
            "<html>",
        ] {
            let err = parse_grant(body.as_bytes(), HOUR).err().unwrap();
            assert_eq!(err.status(), Status::Protocol, "{body}");
            assert!(!err.message().contains("a b"));
        }
    }
}
