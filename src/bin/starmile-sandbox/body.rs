//! Response bodies and small helpers to build the sandbox's responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// Size of one chunk of a streamed `/v1/bytes/<n>` body.
const CHUNK_LEN: usize = 64 * 1024;

/// One chunk of `x` bytes, shared by every streamed body so that serving
/// 100 MB costs no allocation at all.
static X_CHUNK: [u8; CHUNK_LEN] = [b'x'; CHUNK_LEN];

/// The body of every sandbox response: either bytes already in memory or a
/// run of `x` bytes produced chunk by chunk (so huge bodies are never held
/// in memory).
pub enum SandboxBody {
    Full(Option<Bytes>),
    RepeatX { remaining: u64 },
}

impl SandboxBody {
    pub fn empty() -> Self {
        SandboxBody::Full(None)
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            SandboxBody::Full(None)
        } else {
            SandboxBody::Full(Some(bytes))
        }
    }
}

impl Body for SandboxBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = match self.get_mut() {
            SandboxBody::Full(bytes) => bytes.take().map(Frame::data),
            SandboxBody::RepeatX { remaining } if *remaining == 0 => None,
            SandboxBody::RepeatX { remaining } => {
                // Bounded by CHUNK_LEN, so the cast cannot truncate.
                let len = (*remaining).min(CHUNK_LEN as u64) as usize;
                *remaining -= len as u64;
                Some(Frame::data(Bytes::from_static(&X_CHUNK[..len])))
            }
        };
        Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SandboxBody::Full(bytes) => bytes.is_none(),
            SandboxBody::RepeatX { remaining } => *remaining == 0,
        }
    }

    // An exact hint makes hyper send Content-Length instead of chunked encoding.
    fn size_hint(&self) -> SizeHint {
        match self {
            SandboxBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            SandboxBody::RepeatX { remaining } => SizeHint::with_exact(*remaining),
        }
    }
}

pub type SandboxResponse = Response<SandboxBody>;

/// A response with the given status and no body.
pub fn empty(status: StatusCode) -> SandboxResponse {
    let mut response = Response::new(SandboxBody::empty());
    *response.status_mut() = status;
    response
}

/// A JSON response.
pub fn json_response(status: StatusCode, value: &Value) -> SandboxResponse {
    let mut response = Response::new(SandboxBody::full(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON response that caches must not keep (token answers, RFC 6749 §5.1).
pub fn no_store_json(status: StatusCode, value: &Value) -> SandboxResponse {
    let mut response = json_response(status, value);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("pragma", HeaderValue::from_static("no-cache"));
    response
}

/// The API's error shape: `{"error": {"type": ..., "message": ...}}`.
pub fn api_error(status: StatusCode, kind: &str, message: &str) -> SandboxResponse {
    json_response(
        status,
        &json!({"error": {"type": kind, "message": message}}),
    )
}

/// 405 with the `Allow` header listing what the path accepts.
pub fn method_not_allowed(allow: &'static str) -> SandboxResponse {
    let mut response = api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("this path only accepts {allow}"),
    );
    response
        .headers_mut()
        .insert("allow", HeaderValue::from_static(allow));
    response
}
