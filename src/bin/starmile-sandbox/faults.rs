//! Injected faults: FIFO queues of misbehaviours applied to incoming requests.

use std::collections::VecDeque;
use std::time::Duration;

use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::StatusCode;
use serde_json::{Map, Value};

use crate::body::{SandboxBody, SandboxResponse};

/// Which requests a fault queue applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `/oauth/token`
    Token,
    /// Every other path outside `/_sandbox/`.
    Api,
}

impl Target {
    pub fn parse(name: &str) -> Option<Target> {
        match name {
            "token" => Some(Target::Token),
            "api" => Some(Target::Api),
            _ => None,
        }
    }
}

/// What one request suffers; a fault without status, drop or delay passes
/// the request through untouched, which lets a test skip requests.
#[derive(Debug, Clone, Default)]
pub struct FaultAction {
    pub status: Option<StatusCode>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
    pub drop: bool,
    pub delay: Duration,
}

impl FaultAction {
    /// The injected answer, if this fault has a status.
    pub fn response(&self) -> Option<SandboxResponse> {
        let status = self.status?;
        let body = self
            .body
            .clone()
            .unwrap_or_else(|| Bytes::from_static(br#"{"error":"injected"}"#));
        let mut response = SandboxResponse::new(SandboxBody::full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        // JSON unless the fault says otherwise, so clients try to parse it.
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        Some(response)
    }
}

#[derive(Debug)]
struct QueuedFault {
    action: FaultAction,
    remaining: u64,
}

#[derive(Debug, Default)]
pub struct FaultQueue(VecDeque<QueuedFault>);

impl FaultQueue {
    pub fn push(&mut self, action: FaultAction, count: u64) {
        self.0.push_back(QueuedFault {
            action,
            remaining: count,
        });
    }

    /// Consumes one use of the first fault.
    pub fn take_one(&mut self) -> Option<FaultAction> {
        let front = self.0.front_mut()?;
        front.remaining -= 1;
        if front.remaining == 0 {
            self.0.pop_front().map(|fault| fault.action)
        } else {
            Some(front.action.clone())
        }
    }

    /// Uses still pending, over all queued faults.
    pub fn pending_uses(&self) -> u64 {
        self.0.iter().map(|fault| fault.remaining).sum()
    }
}

/// Parses one fault object into its action and use count.
pub fn parse_fault(value: &Value) -> Result<(FaultAction, u64), String> {
    let object = value
        .as_object()
        .ok_or("each fault must be a JSON object")?;
    reject_unknown_keys(
        object,
        &["status", "headers", "body", "drop", "delay_ms", "count"],
    )?;
    let count = match object.get("count") {
        None => 1,
        Some(v) => v
            .as_u64()
            .filter(|&n| n >= 1)
            .ok_or("count must be a positive integer")?,
    };
    let action = FaultAction {
        status: object.get("status").map(parse_status).transpose()?,
        headers: object
            .get("headers")
            .map(parse_headers)
            .transpose()?
            .unwrap_or_default(),
        body: object.get("body").map(body_bytes),
        drop: match object.get("drop") {
            None => false,
            Some(v) => v.as_bool().ok_or("drop must be a boolean")?,
        },
        delay: match object.get("delay_ms") {
            None => Duration::ZERO,
            Some(v) => Duration::from_millis(
                v.as_u64()
                    .ok_or("delay_ms must be a non-negative integer")?,
            ),
        },
    };
    if action.status.is_none() && (action.body.is_some() || !action.headers.is_empty()) {
        return Err("a fault with headers or body needs a status".into());
    }
    Ok((action, count))
}

/// Fails on the first key of `object` that is not in `known`.
pub fn reject_unknown_keys(object: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(format!("unknown key '{key}'")),
        None => Ok(()),
    }
}

fn parse_status(value: &Value) -> Result<StatusCode, String> {
    value
        .as_u64()
        .filter(|code| (200..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code as u16).ok())
        .ok_or_else(|| "status must be an integer from 200 to 599".to_string())
}

fn parse_headers(value: &Value) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let object = value
        .as_object()
        .ok_or("headers must be an object of strings")?;
    object
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name '{name}'"))?;
            let value = value
                .as_str()
                .and_then(|v| HeaderValue::from_str(v).ok())
                .ok_or_else(|| format!("header '{name}' needs a valid string value"))?;
            Ok((name, value))
        })
        .collect()
}

/// A string body is sent verbatim (so tests can send malformed JSON); any
/// other JSON value is sent serialized.
fn body_bytes(value: &Value) -> Bytes {
    match value {
        Value::String(text) => Bytes::from(text.clone()),
        other => Bytes::from(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queue_is_fifo_and_counts_uses() {
        let mut queue = FaultQueue::default();
        let (a, n) = parse_fault(&json!({"status": 503, "count": 2})).unwrap();
        queue.push(a, n);
        let (b, n) = parse_fault(&json!({"drop": true})).unwrap();
        queue.push(b, n);
        assert_eq!(queue.pending_uses(), 3);
        assert_eq!(
            queue.take_one().unwrap().status,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            queue.take_one().unwrap().status,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(queue.take_one().unwrap().drop);
        assert!(queue.take_one().is_none());
    }

    #[test]
    fn bad_faults_are_rejected() {
        for fault in [
            json!({"status": 99}),
            json!({"status": "503"}),
            json!({"count": 0}),
            json!({"drop": 1}),
            json!({"delay_ms": -5}),
            json!({"body": "x"}),
            json!({"status": 500, "headers": {"bad name": "x"}}),
            json!({"what": true}),
            json!([]),
        ] {
            assert!(parse_fault(&fault).is_err(), "{fault}");
        }
    }

    #[test]
    fn response_uses_defaults_and_overrides() {
        let (action, _) = parse_fault(&json!({
            "status": 200, "body": "not json", "headers": {"Content-Type": "text/plain"}
        }))
        .unwrap();
        let response = action.response().unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain");
        assert!(FaultAction::default().response().is_none());
    }
}
