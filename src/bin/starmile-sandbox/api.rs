//! The API: every path other than `/oauth/token` and `/_sandbox/*`.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::body::SandboxResponse;
use crate::body::{api_error, empty, json_response, method_not_allowed, SandboxBody};
use crate::faults::Target;
use crate::server::{apply_latency_and_fault, read_body, route_key, HandlerResult};
use crate::state::{write_digest, AppState, TokenStatus};

const ECHO_METHODS: &str = "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE";

pub async fn handle(state: &Arc<AppState>, parts: &Parts, body: Incoming) -> HandlerResult {
    state.count_api_request(route_key(parts), idempotency_key(&parts.headers));
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let unkeyed_write = unkeyed_write_digest(parts, &body);
    let remember_write = |accepted| {
        if let Some(digest) = unkeyed_write {
            state.note_unkeyed_write(digest, accepted);
        }
    };

    let latency = Duration::from_millis(state.settings().latency_ms);
    if let Some(decided) = apply_latency_and_fault(state, Target::Api, latency).await {
        // The client cannot tell whether a faulted write was processed, so
        // a re-send of it is a duplicate — except after a 429, which says the
        // request was not processed (and which clients retry for every method).
        let rate_limited =
            matches!(&decided, Ok(answer) if answer.status() == StatusCode::TOO_MANY_REQUESTS);
        remember_write(!rate_limited);
        return decided;
    }
    if let Err(description) = authorize(state, &parts.headers) {
        remember_write(false);
        state.count_unauthorized();
        return Ok(invalid_token(description));
    }
    remember_write(true);
    Ok(route(parts, body).await)
}

async fn route(parts: &Parts, body: Bytes) -> SandboxResponse {
    let path = parts.uri.path();
    if path == "/v1/echo" {
        return echo_if_allowed(parts, &body);
    }
    if path == "/v1/redirect" {
        let mut response = empty(StatusCode::FOUND);
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/v1/echo"));
        return response;
    }
    let routed = if let Some(code) = path.strip_prefix("/v1/status/") {
        status(code, parts.uri.query())
    } else if let Some(len) = path.strip_prefix("/v1/bytes/") {
        len.parse().ok().map(bytes)
    } else if let Some(ms) = path.strip_prefix("/v1/slow/") {
        match ms.parse() {
            Ok(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Some(echo(parts, &body))
            }
            Err(_) => None,
        }
    } else {
        None
    };
    routed.unwrap_or_else(|| not_found(parts))
}

fn not_found(parts: &Parts) -> SandboxResponse {
    api_error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no such endpoint: {} {}", parts.method, parts.uri.path()),
    )
}

/// Checks the bearer token; the error is the 401's description.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(token) = bearer_token(headers) else {
        return Err("an Authorization: Bearer access token is required");
    };
    match state.token_status(token) {
        TokenStatus::Valid => Ok(()),
        TokenStatus::Expired => Err("the access token has expired"),
        TokenStatus::Unknown => Err("the access token is unknown or revoked"),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn invalid_token(description: &str) -> SandboxResponse {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "invalid_token", "error_description": description}),
    );
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// A POST or PATCH with a body and no Idempotency-Key is a write that the
/// client must never send twice; its digest is what duplicates are found by.
fn unkeyed_write_digest(parts: &Parts, body: &[u8]) -> Option<u64> {
    let is_write = parts.method == Method::POST || parts.method == Method::PATCH;
    let keyed = parts.headers.contains_key("idempotency-key");
    (is_write && !keyed && !body.is_empty())
        .then(|| write_digest(parts.method.as_str(), parts.uri.path(), body))
}

fn echo_if_allowed(parts: &Parts, body: &[u8]) -> SandboxResponse {
    let allowed = [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    if allowed.contains(&parts.method) {
        echo(parts, body)
    } else {
        method_not_allowed(ECHO_METHODS)
    }
}

/// Describes the request back to the client, minus its Authorization header
/// (the token must never travel back in a body that might get logged).
fn echo(parts: &Parts, body: &[u8]) -> SandboxResponse {
    let mut headers = Map::new();
    for name in parts.headers.keys().filter(|name| *name != AUTHORIZATION) {
        let values: Vec<_> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        headers.insert(name.as_str().to_string(), json!(values.join(", ")));
    }
    json_response(
        StatusCode::OK,
        &json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or(""),
            "headers": headers,
            "body": String::from_utf8_lossy(body),
            "body_len": body.len(),
            "json": serde_json::from_slice::<Value>(body).unwrap_or(Value::Null),
        }),
    )
}

/// `/v1/status/<code>[?retry_after=<s>]`; `None` for a code out of range.
fn status(code: &str, query: Option<&str>) -> Option<SandboxResponse> {
    let code: u16 = code.parse().ok().filter(|c| (200..=599).contains(c))?;
    let status = StatusCode::from_u16(code).ok()?;
    // 204 and 304 cannot carry a body.
    let mut response = if code == 204 || code == 304 {
        empty(status)
    } else {
        api_error(
            status,
            "sandbox_status",
            &format!("sandbox answered {code}"),
        )
    };
    let retry_after =
        query_param(query.unwrap_or(""), "retry_after").and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(value) = retry_after {
        response.headers_mut().insert("retry-after", value);
    }
    Some(response)
}

fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `n` bytes of `x`, streamed.
fn bytes(len: u64) -> SandboxResponse {
    let mut response = Response::new(SandboxBody::RepeatX { remaining: len });
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  smt_abc "));
        assert_eq!(bearer_token(&h), Some("smt_abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn query_param_lookup() {
        assert_eq!(query_param("a=1&retry_after=7", "retry_after"), Some("7"));
        assert_eq!(query_param("retry_afterx=7", "retry_after"), None);
    }

    #[test]
    fn status_route_bounds() {
        assert!(status("99", None).is_none());
        assert!(status("600", None).is_none());
        let r = status("429", Some("retry_after=3")).unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
    }
}
