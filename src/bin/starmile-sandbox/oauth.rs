//! `POST /oauth/token`: the OAuth2 client credentials grant (RFC 6749 §4.4).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use crate::body::{method_not_allowed, no_store_json, SandboxResponse};
use crate::faults::Target;
use crate::server::{apply_latency_and_fault, read_body, route_key, HandlerResult};
use crate::settings::{ExpiresInFormat, Settings};
use crate::state::{AppState, AuthMethod, LastTokenRequest};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

pub async fn handle(state: &Arc<AppState>, parts: &Parts, body: Incoming) -> HandlerResult {
    if parts.method != Method::POST {
        state.count_route(route_key(parts));
        return Ok(method_not_allowed("POST"));
    }
    // Held until the answer is ready, so slow token requests overlap in the gauge.
    let _in_flight = state.begin_token_request(route_key(parts));
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let params = parse_params(&parts.headers, &body);
    state.note_token_request(describe(&parts.headers, params.as_ref().ok()));

    let settings = state.settings();
    let latency = Duration::from_millis(settings.latency_ms + settings.token_latency_ms);
    if let Some(decided) = apply_latency_and_fault(state, Target::Token, latency).await {
        return decided;
    }
    // Read again after the wait: a rotation during it must already apply.
    let settings = state.settings();
    match params.and_then(|params| grant(state, &settings, params)) {
        Ok(response) => Ok(response),
        Err(error) => {
            state.count_token_error();
            Ok(error.response())
        }
    }
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Client authentication by HTTP Basic failed: RFC 6749 requires a
    /// `WWW-Authenticate` challenge on the 401.
    basic_challenge: bool,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn response(&self) -> SandboxResponse {
        let mut response = no_store_json(
            self.status,
            &json!({"error": self.code, "error_description": self.description}),
        );
        if self.basic_challenge {
            response.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"starmile\""),
            );
        }
        response
    }
}

/// The token request's parameters, wherever the credentials came from.
#[derive(Debug, Default)]
struct TokenParams {
    auth: Option<AuthMethod>,
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    scope: Option<String>,
}

fn parse_params(headers: &HeaderMap, body: &[u8]) -> Result<TokenParams, OAuthError> {
    let mut fields = match media_type(headers).as_deref() {
        Some(FORM) => parse_form(body)?,
        Some(JSON) => parse_json(body)?,
        _ => {
            return Err(OAuthError::invalid_request(format!(
                "Content-Type must be {FORM} or {JSON}"
            )))
        }
    };
    let mut params = TokenParams {
        auth: auth_method(headers),
        grant_type: take(&mut fields, "grant_type"),
        scope: take(&mut fields, "scope"),
        client_id: take(&mut fields, "client_id"),
        client_secret: take(&mut fields, "client_secret"),
    };
    if let Some((id, secret)) = basic_credentials(headers)? {
        // RFC 6749 §2.3: one authentication method per request.
        if params.client_id.is_some() || params.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client credentials were sent both with HTTP Basic and in the body",
            ));
        }
        params.client_id = Some(id);
        params.client_secret = Some(secret);
    }
    Ok(params)
}

/// Checks the parameters against the settings and issues a token.
fn grant(
    state: &AppState,
    settings: &Settings,
    params: TokenParams,
) -> Result<SandboxResponse, OAuthError> {
    let grant_type = required(params.grant_type, "grant_type")?;
    let client_id = required(params.client_id, "client_id")?;
    let client_secret = required(params.client_secret, "client_secret")?;
    if client_id != settings.client_id || client_secret != settings.client_secret {
        return Err(invalid_client(
            settings,
            &client_secret,
            params.auth == Some(AuthMethod::Basic),
        ));
    }
    if grant_type != "client_credentials" {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        ));
    }
    check_scope(settings, params.scope.as_deref())?;

    let token = state.issue_token(Duration::from_secs(settings.token_lifetime_s));
    let mut answer = json!({"access_token": token, "token_type": settings.token_type});
    let lifetime = settings.token_lifetime_s;
    match settings.expires_in_format {
        ExpiresInFormat::Number => answer["expires_in"] = json!(lifetime),
        ExpiresInFormat::String => answer["expires_in"] = json!(lifetime.to_string()),
        ExpiresInFormat::Omit => {}
    }
    if let Some(scope) = params.scope {
        answer["scope"] = json!(scope);
    }
    Ok(no_store_json(StatusCode::OK, &answer))
}

fn invalid_client(settings: &Settings, submitted_secret: &str, used_basic: bool) -> OAuthError {
    // Echoing the secret is a deliberate misbehaviour, opted into by tests
    // that prove the client library redacts what servers send back.
    let description = if settings.echo_secret_in_errors {
        format!("client_secret '{submitted_secret}' is not valid")
    } else {
        "client authentication failed".to_string()
    };
    OAuthError {
        basic_challenge: used_basic,
        ..OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

fn check_scope(settings: &Settings, scope: Option<&str>) -> Result<(), OAuthError> {
    let (Some(allowed), Some(scope)) = (&settings.allowed_scopes, scope) else {
        return Ok(());
    };
    match scope
        .split(' ')
        .find(|s| !s.is_empty() && !allowed.iter().any(|a| a == s))
    {
        Some(outside) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("scope '{outside}' is not allowed"),
        )),
        None => Ok(()),
    }
}

fn required(value: Option<String>, name: &str) -> Result<String, OAuthError> {
    value.ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
}

/// Empty values count as absent.
fn take(fields: &mut HashMap<String, String>, name: &str) -> Option<String> {
    fields.remove(name).filter(|value| !value.is_empty())
}

/// The media type of the body, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default();
    Some(essence.trim().to_ascii_lowercase())
}

/// How the credentials were (or would have been) sent, for the statistics.
fn auth_method(headers: &HeaderMap) -> Option<AuthMethod> {
    if basic_payload(headers).is_some() {
        return Some(AuthMethod::Basic);
    }
    match media_type(headers).as_deref() {
        Some(FORM) => Some(AuthMethod::Form),
        Some(JSON) => Some(AuthMethod::Json),
        _ => None,
    }
}

/// The base64 part of `Authorization: Basic ...`, if that is the scheme.
fn basic_payload(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, payload) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("basic")
        .then_some(payload.trim())
}

/// RFC 6749 §2.3.1: `base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(payload) = basic_payload(headers) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_request("malformed HTTP Basic credentials");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    Ok(Some((id, secret)))
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(component: &str) -> Option<String> {
    // `+` is a space; replace it before percent-decoding so `%2B` stays `+`.
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the form body is not valid UTF-8"))?;
    let mut fields = HashMap::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(name), Some(value)) = (form_decode(name), form_decode(value)) else {
            return Err(OAuthError::invalid_request(
                "the form body cannot be decoded",
            ));
        };
        // RFC 6749 §3.2: parameters must not be repeated.
        if fields.insert(name.clone(), value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
    }
    Ok(fields)
}

fn parse_json(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| OAuthError::invalid_request("the body is not valid JSON"))?;
    let Value::Object(object) = value else {
        return Err(OAuthError::invalid_request(
            "the JSON body must be an object",
        ));
    };
    let mut fields = HashMap::new();
    for (name, value) in object {
        match value {
            Value::String(text) => {
                fields.insert(name, text);
            }
            Value::Null => {}
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name} must be a string"
                )))
            }
        }
    }
    Ok(fields)
}

/// What the statistics may keep of a token request: no credential.
fn describe(headers: &HeaderMap, params: Option<&TokenParams>) -> LastTokenRequest {
    let header = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    LastTokenRequest {
        auth: auth_method(headers),
        content_type: header(CONTENT_TYPE),
        scope: params.and_then(|p| p.scope.clone()),
        user_agent: header(USER_AGENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    hyper::header::HeaderName::from_static(name),
                    HeaderValue::from_str(value).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn form_decoding_handles_plus_and_percent() {
        assert_eq!(form_decode("a+b%2Bc%3A").as_deref(), Some("a b+c:"));
        assert!(form_decode("%FF").is_none());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aid:p%40ss+word");
        let h = headers(&[("authorization", &format!("basic {encoded}"))]);
        let (id, secret) = basic_credentials(&h).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my:id", "p@ss word"));
        let h = headers(&[("authorization", "Basic !!!")]);
        assert!(basic_credentials(&h).is_err());
    }

    #[test]
    fn repeated_form_parameter_is_invalid() {
        assert!(parse_form(b"a=1&a=2").is_err());
        assert_eq!(parse_form(b"a=1&&b").unwrap()["b"], "");
    }

    #[test]
    fn json_values_must_be_strings() {
        assert!(parse_json(br#"{"scope": 1}"#).is_err());
        assert!(parse_json(b"[]").is_err());
        assert_eq!(parse_json(br#"{"a":"b","c":null}"#).unwrap().len(), 1);
    }

    #[test]
    fn basic_and_body_credentials_conflict() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("a:b");
        let h = headers(&[
            ("authorization", &format!("Basic {encoded}")),
            ("content-type", FORM),
        ]);
        let err = parse_params(&h, b"grant_type=client_credentials&client_secret=x").unwrap_err();
        assert_eq!(err.code, "invalid_request");
        let ok = parse_params(&h, b"grant_type=client_credentials").unwrap();
        assert_eq!(ok.auth, Some(AuthMethod::Basic));
        assert_eq!(ok.client_secret.as_deref(), Some("b"));
    }

    #[test]
    fn scope_outside_allowed_list_is_refused() {
        let mut settings = Settings::from_options(&crate::cli::Options::default());
        assert!(check_scope(&settings, Some("anything")).is_ok());
        settings.allowed_scopes = Some(vec!["read".into(), "write".into()]);
        assert!(check_scope(&settings, Some("read write")).is_ok());
        assert_eq!(
            check_scope(&settings, Some("read admin")).unwrap_err().code,
            "invalid_scope"
        );
    }
}
