//! Listening, connections, routing, and the steps every request shares
//! (reading the body, latency, faults).

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use hyper::rt::{Read as RtRead, Write as RtWrite};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::body::{api_error, SandboxResponse};
use crate::cli::Options;
use crate::faults::Target;
use crate::settings::Settings;
use crate::state::AppState;
use crate::{api, control, oauth, tls};

/// A client that never finishes its TLS handshake must not hold a task forever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request body accepted (echo bodies are held in memory).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Returned by a handler to make hyper close the connection without writing
/// a response: that is how the `drop` fault is implemented.
#[derive(Debug)]
pub struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

pub type HandlerResult = Result<SandboxResponse, DropConnection>;

/// Binds, prints the URL as the first stdout line, then serves until SIGTERM
/// or SIGINT.
pub async fn run(options: Options) -> Result<(), String> {
    // Certificates (and DIR/ca.pem) exist before the URL is announced, so a
    // reader of the URL line can rely on ca.pem being complete.
    let acceptor = options.tls.as_ref().map(tls::acceptor).transpose()?;
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    // Handlers go in before the URL is announced: whoever reads it may
    // signal at once.
    let shutdown = shutdown_signal()?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    announce(&format!("{scheme}://{address}"))?;

    let log_requests = std::env::var("STARMILE_SANDBOX_LOG").is_ok_and(|v| v == "1");
    let state = AppState::new(Settings::from_options(&options), log_requests);
    tokio::select! {
        () = accept_loop(listener, acceptor, state) => {}
        () = shutdown => {}
    }
    // Open connections are simply cut when the runtime drops: a stand-in
    // server holds nothing worth draining.
    Ok(())
}

async fn accept_loop(listener: TcpListener, acceptor: Option<TlsAcceptor>, state: Arc<AppState>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream, acceptor.clone(), Arc::clone(&state)));
            }
            Err(e) => {
                // Typically EMFILE under load: back off instead of spinning.
                log_line(&format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Resolves on SIGTERM or SIGINT. Installing handlers (instead of relying on
/// the default action) matters for SIGINT: a shell starts background jobs
/// with SIGINT ignored, and `kill -INT` must still stop the sandbox.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind| signal(kind).map_err(|e| format!("cannot handle signals: {e}"));
    let mut terminate = install(SignalKind::terminate())?;
    let mut interrupt = install(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn announce(url: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{url}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the URL to stdout: {e}"))
}

/// Writes to stderr, ignoring failures (a closed stderr must not kill the server).
pub fn log_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

async fn serve(stream: TcpStream, acceptor: Option<TlsAcceptor>, state: Arc<AppState>) {
    // Small responses on keep-alive connections would otherwise wait for
    // Nagle's algorithm and the peer's delayed ACK (~40 ms each).
    let _ = stream.set_nodelay(true);
    match acceptor {
        None => serve_http(TokioIo::new(stream), state).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            // A failed handshake (e.g. the client does not trust the CA) is
            // the client's to report.
            if let Ok(Ok(stream)) = handshake.await {
                serve_http(TokioIo::new(stream), state).await;
            }
        }
    }
}

async fn serve_http<I>(io: I, state: Arc<AppState>)
where
    I: RtRead + RtWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| handle(Arc::clone(&state), request));
    // Errors are client disconnects or deliberate drops: nothing to report.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

async fn handle(state: Arc<AppState>, request: Request<Incoming>) -> HandlerResult {
    let request_id = state.next_request_id();
    let (parts, body) = request.into_parts();
    let mut result = dispatch(&state, &parts, body).await;
    if let Ok(response) = &mut result {
        let value = HeaderValue::from_str(&format!("req_{request_id}"))
            .expect("a request id is a valid header value");
        response.headers_mut().insert("x-request-id", value);
    }
    if state.log_requests {
        log_outcome(request_id, &parts, &result);
    }
    result
}

/// Logs method, path (without the query) and status: never headers or
/// bodies, which carry secrets and tokens.
fn log_outcome(request_id: u64, parts: &Parts, result: &HandlerResult) {
    let outcome = match result {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "dropped".to_string(),
    };
    log_line(&format!(
        "{} {} {outcome} req_{request_id}",
        parts.method,
        parts.uri.path()
    ));
}

async fn dispatch(state: &Arc<AppState>, parts: &Parts, body: Incoming) -> HandlerResult {
    let path = parts.uri.path();
    if path == "/oauth/token" {
        oauth::handle(state, parts, body).await
    } else if path == "/_sandbox" || path.starts_with("/_sandbox/") {
        control::handle(state, parts, body).await
    } else {
        api::handle(state, parts, body).await
    }
}

/// `"<METHOD> <path>"`, the key of the per-route request counts.
pub fn route_key(parts: &Parts) -> String {
    format!("{} {}", parts.method, parts.uri.path())
}

/// Reads the whole request body. `Err(Ok(response))` is an answer to send
/// instead (body too large); `Err(Err(_))` means the client went away.
pub async fn read_body(body: Incoming) -> Result<Bytes, HandlerResult> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(Ok(api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        ))),
        Err(_) => Err(Err(DropConnection)),
    }
}

/// Applies latency and the next fault of `target`. `None` means "process the
/// request normally"; `Some` is the fault's final outcome.
///
/// The fault is taken before sleeping so that queued faults hit requests in
/// arrival order even when they overlap.
pub async fn apply_latency_and_fault(
    state: &AppState,
    target: Target,
    latency: Duration,
) -> Option<HandlerResult> {
    let fault = state.take_fault(target).unwrap_or_default();
    let wait = latency + fault.delay;
    if !wait.is_zero() {
        // tokio's sleep parks only this request, never the connection's peers.
        tokio::time::sleep(wait).await;
    }
    if fault.drop {
        return Some(Err(DropConnection));
    }
    fault.response().map(Ok)
}
