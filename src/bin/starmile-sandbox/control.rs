//! `/_sandbox/*`: the control API for tests and benchmarks (no auth, no
//! latency, no faults, not counted in the statistics).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::body::{api_error, json_response, method_not_allowed, SandboxResponse};
use crate::faults::{parse_fault, reject_unknown_keys, Target};
use crate::server::{read_body, HandlerResult};
use crate::state::AppState;

pub async fn handle(state: &Arc<AppState>, parts: &Parts, body: Incoming) -> HandlerResult {
    let path = parts.uri.path();
    let expected = match path {
        "/_sandbox/stats" => "GET",
        "/_sandbox/settings" | "/_sandbox/faults" | "/_sandbox/revoke" | "/_sandbox/reset" => {
            "POST"
        }
        _ => {
            return Ok(api_error(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no such control endpoint: {path}"),
            ))
        }
    };
    if parts.method.as_str() != expected {
        return Ok(method_not_allowed(expected));
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let answer = match path {
        "/_sandbox/stats" => Ok(json_response(StatusCode::OK, &state.stats_json())),
        "/_sandbox/settings" => settings(state, &body),
        "/_sandbox/faults" => faults(state, &body),
        "/_sandbox/revoke" => {
            let revoked = state.revoke_all();
            Ok(json_response(StatusCode::OK, &json!({"revoked": revoked})))
        }
        _ => {
            state.reset();
            Ok(json_response(StatusCode::OK, &json!({"reset": true})))
        }
    };
    Ok(answer.unwrap_or_else(|message| {
        api_error(StatusCode::BAD_REQUEST, "invalid_control_request", &message)
    }))
}

fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))
}

fn settings(state: &AppState, body: &[u8]) -> Result<SandboxResponse, String> {
    let updated = state.update_settings(&parse_json(body)?)?;
    Ok(json_response(StatusCode::OK, &updated.public_json()))
}

fn faults(state: &AppState, body: &[u8]) -> Result<SandboxResponse, String> {
    let request = parse_json(body)?;
    let object = request
        .as_object()
        .ok_or("the body must be {\"target\": ..., \"faults\": [...]}")?;
    reject_unknown_keys(object, &["target", "faults"])?;
    let target_name = object.get("target").and_then(Value::as_str).unwrap_or("");
    let target = Target::parse(target_name).ok_or("target must be \"token\" or \"api\"")?;
    let list = object
        .get("faults")
        .and_then(Value::as_array)
        .ok_or("faults must be an array")?;
    // Validate every fault before queueing any, so a bad request changes nothing.
    let parsed = list
        .iter()
        .enumerate()
        .map(|(i, fault)| parse_fault(fault).map_err(|e| format!("faults[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let pending = state.add_faults(target, parsed);
    Ok(json_response(
        StatusCode::OK,
        &json!({"target": target_name, "pending": pending}),
    ))
}
