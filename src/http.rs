//! The HTTP agent (one per client and process, keep-alive pooled), sending one
//! request, and sorting failures into "never sent" and "may have been sent".

use crate::config::Config;
use crate::error::{Error, Result, Status};
use parking_lot::{Mutex, RwLock};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use ureq::http;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
// Not covered by ureq's semver promise; Cargo.lock pins the version.
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Proxy};

/// One answered HTTP exchange, whatever its status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by its lower-case name.
    pub fn header(&self, lower_name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name == lower_name)
            .map(|(_, value)| value.as_str())
    }
}

/// Why an exchange failed, as far as retrying is concerned.
#[derive(Debug)]
pub enum SendFailure {
    /// The request never left: it is always safe to send again.
    NotSent(Error),
    /// The request may have reached the server.
    MaybeSent(Error),
}

impl SendFailure {
    pub fn into_error(self) -> Error {
        match self {
            SendFailure::NotSent(e) | SendFailure::MaybeSent(e) => e,
        }
    }
}

/// What goes out: everything but the `Authorization` value, added per attempt.
pub struct Outgoing<'a> {
    pub method: &'a http::Method,
    pub url: &'a str,
    pub headers: &'a [(http::HeaderName, http::HeaderValue)],
    pub body: &'a [u8],
}

/// The client's agent. A child process after `fork()` must not share its
/// parent's pooled connections, so the agent is remade when the pid changes.
pub struct Transport {
    agent_config: ureq::config::Config,
    agent: RwLock<(u32, Agent)>,
    max_response_bytes: u64,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Transport {
    pub fn new(config: &Config) -> Result<Transport> {
        let user_agent = match &config.user_agent {
            Some(extra) => format!("starmile/{VERSION} {extra}"),
            None => format!("starmile/{VERSION}"),
        };
        let proxy = match &config.proxy {
            Some(url) => Some(Proxy::new(url).map_err(|_| {
                Error::invalid_argument("config key `proxy` is not a valid proxy URL")
            })?),
            None => Proxy::try_from_env(),
        };
        let mut tls = TlsConfig::builder();
        if let Some(path) = &config.ca_file {
            tls = tls.root_certs(roots_with_extra_ca(path)?);
        }
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .timeout_global(Some(config.timeout))
            .timeout_connect(Some(config.connect_timeout))
            .user_agent(user_agent.as_str())
            .accept("application/json")
            .proxy(proxy)
            .tls_config(tls.build())
            // Enough idle connections for many threads sharing one client.
            .max_idle_connections(128)
            .max_idle_connections_per_host(64)
            .build();
        let agent = new_agent(agent_config.clone());
        Ok(Transport {
            agent_config,
            agent: RwLock::new((std::process::id(), agent)),
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// The agent for this process.
    fn agent(&self) -> Agent {
        let pid = std::process::id();
        {
            let current = self.agent.read();
            if current.0 == pid {
                return current.1.clone();
            }
        }
        let mut current = self.agent.write();
        if current.0 != pid {
            // A forked child: drop the parent's pooled connections.
            *current = (pid, new_agent(self.agent_config.clone()));
        }
        current.1.clone()
    }

    /// Sends one request with `authorization` (if any) and reads the whole answer.
    pub fn send(
        &self,
        out: &Outgoing<'_>,
        authorization: Option<&http::HeaderValue>,
    ) -> Result<HttpResponse, SendFailure> {
        let mut builder = http::Request::builder()
            .method(out.method.clone())
            .uri(out.url);
        for (name, value) in out.headers {
            builder = builder.header(name, value);
        }
        if let Some(value) = authorization {
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
        let agent = self.agent();
        let sent = if out.body.is_empty()
            && !matches!(
                *out.method,
                http::Method::POST | http::Method::PUT | http::Method::PATCH
            ) {
            builder.body(()).map(|rq| agent.run(rq))
        } else {
            builder.body(out.body).map(|rq| agent.run(rq))
        };
        let mut response = sent
            .map_err(|_| SendFailure::NotSent(Error::invalid_argument("invalid request")))?
            .map_err(|e| classify(e, out.url))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => SendFailure::MaybeSent(Error::protocol(
                    format!("response body is larger than max_response_bytes ({limit} bytes)"),
                )),
                other => match classify(other, out.url) {
                    SendFailure::NotSent(e) | SendFailure::MaybeSent(e) => {
                        SendFailure::MaybeSent(e.context("reading the response body"))
                    }
                },
            })?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// An agent whose resolver remembers its answers. ureq resolves the host
/// before every request, even one that reuses a pooled connection, and with a
/// timeout set its default resolver does so on a new thread: a thread per
/// request, which cost most of a keep-alive request's time.
fn new_agent(config: ureq::config::Config) -> Agent {
    Agent::with_parts(
        config,
        DefaultConnector::default(),
        CachingResolver::default(),
    )
}

/// How long a resolved address serves new lookups of the same host.
const RESOLVE_TTL: Duration = Duration::from_secs(30);

/// A client talks to one or two hosts (API and token endpoint); a few more are
/// kept in case a caller's absolute URLs vary in form.
const RESOLVE_CACHE_ENTRIES: usize = 4;

/// `(scheme|authority, resolved at, addresses)`, most recent last.
type ResolvedHosts = Vec<(String, Instant, ResolvedSocketAddrs)>;

#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    recent: Mutex<ResolvedHosts>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}|{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str())
        );
        let now = Instant::now();
        if let Some((_, _, addrs)) = self
            .recent
            .lock()
            .iter()
            .find(|(host, at, _)| *host == key && now.duration_since(*at) < RESOLVE_TTL)
        {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let mut recent = self.recent.lock();
        recent.retain(|(host, _, _)| *host != key);
        if recent.len() >= RESOLVE_CACHE_ENTRIES {
            recent.remove(0);
        }
        recent.push((key, now, addrs.clone()));
        Ok(addrs)
    }
}

/// The public roots plus the ones in `path`: `RootCerts::Specific` replaces
/// the defaults, so the combined list is built here.
fn roots_with_extra_ca(path: &std::path::Path) -> Result<RootCerts> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::invalid_argument(format!("cannot read ca_file {}: {e}", path.display()))
    })?;
    let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()))
        .collect();
    let public = roots.len();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => roots.push(cert),
            Ok(_) => {}
            Err(_) => {
                return Err(Error::invalid_argument(format!(
                    "ca_file {} is not valid PEM",
                    path.display()
                )))
            }
        }
    }
    if roots.len() == public {
        return Err(Error::invalid_argument(format!(
            "ca_file {} holds no certificate",
            path.display()
        )));
    }
    Ok(RootCerts::new_with_certs(&roots))
}

/// Where a URL points, for messages: scheme, host and port, never the path or
/// query (which may carry data the caller would not want in a log).
fn origin_of(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(uri) => format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("?"),
            uri.authority().map(|a| a.as_str()).unwrap_or("?")
        ),
        Err(_) => "the server".to_owned(),
    }
}

fn classify(error: ureq::Error, url: &str) -> SendFailure {
    use ureq::Error as E;
    use ureq::Timeout as T;
    let origin = origin_of(url);
    match error {
        E::HostNotFound => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("cannot resolve the host of {origin}"),
        )),
        E::ConnectionFailed => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("cannot connect to {origin}"),
        )),
        E::Timeout(kind @ (T::Resolve | T::Connect)) => SendFailure::NotSent(Error::new(
            Status::Timeout,
            format!("timed out connecting to {origin} ({kind})"),
        )),
        E::Timeout(kind) => SendFailure::MaybeSent(Error::new(
            Status::Timeout,
            format!("timed out waiting for {origin} ({kind})"),
        )),
        E::Io(io) if is_connect_refusal(io.kind()) => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("cannot connect to {origin}: {io}"),
        )),
        E::Io(io) if io.kind() == ErrorKind::TimedOut => SendFailure::MaybeSent(Error::new(
            Status::Timeout,
            format!("timed out waiting for {origin}"),
        )),
        E::Io(io) if io.kind() == ErrorKind::InvalidData => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("TLS with {origin} failed: {io}"),
        )),
        E::Io(io) => SendFailure::MaybeSent(Error::new(
            Status::Network,
            format!("connection to {origin} failed: {io}"),
        )),
        E::Rustls(tls) => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("TLS with {origin} failed: {tls}"),
        )),
        E::Tls(message) => SendFailure::NotSent(Error::new(
            Status::Network,
            format!("TLS with {origin} failed: {message}"),
        )),
        E::Protocol(e) => SendFailure::MaybeSent(Error::new(
            Status::Network,
            format!("broken HTTP answer from {origin}: {e}"),
        )),
        E::BadUri(_) | E::Http(_) => {
            SendFailure::NotSent(Error::invalid_argument("invalid request URL or header"))
        }
        E::InvalidProxyUrl => SendFailure::NotSent(Error::invalid_argument("invalid proxy URL")),
        other => SendFailure::MaybeSent(Error::new(
            Status::Network,
            format!("request to {origin} failed: {other}"),
        )),
    }
}

fn is_connect_refusal(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::AddrNotAvailable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
    )
}
