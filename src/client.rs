//! The client: configuration, agent, credentials, token cache and stats, and
//! the two things users do with them — get a token, send a request.

use crate::cache::{self, Entry, SharedCache};
use crate::config::{read_secret_file, Config, SecretSource};
use crate::error::{Error, Result, Status};
use crate::http::{HttpResponse, Outgoing, SendFailure, Transport};
use crate::log::{log, Level};
use crate::oauth::{self, Failure};
use crate::retry;
use crate::secret::Secret;
use crate::token::{Freshness, Ticket, Token, TokenCache};
use parking_lot::RwLock;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use ureq::http::{self, HeaderName, HeaderValue};

/// An API response: whatever its status, an answer is a success at this level.
pub type Response = HttpResponse;

/// A token handed to a caller: a shared reference to the cached token, so
/// reading a fresh token copies nothing.
#[derive(Clone, Debug)]
pub struct AccessToken(Arc<Token>);

impl AccessToken {
    /// The bearer token itself.
    pub fn as_str(&self) -> &str {
        self.0.access_token.expose()
    }

    /// When it expires, in unix milliseconds.
    pub fn expires_at_unix_ms(&self) -> i64 {
        self.0.expires_at_unix_ms
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &AccessToken) -> bool {
        self.as_str() == other.as_str()
    }
}

struct Credentials {
    client_id: String,
    secret: Secret,
    /// Re-read on `invalid_client`, when the secret came from a file.
    file: Option<PathBuf>,
    /// The shared token cache, keyed for this client id.
    shared: Option<Arc<dyn SharedCache>>,
}

/// A shared entry is adopted only with at least this much life left.
const MIN_SHARED_REMAINING_MS: i64 = 1000;

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Default)]
struct Stats {
    token_fetches: AtomicU64,
    token_fetch_failures: AtomicU64,
    token_requests: AtomicU64,
    background_refreshes: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    reauth_replays: AtomicU64,
    shared_cache_hits: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

struct Inner {
    config: Config,
    transport: Transport,
    credentials: RwLock<Arc<Credentials>>,
    tokens: TokenCache,
    stats: Stats,
    /// Whether the log already said the shared cache failed.
    shared_cache_warned: AtomicBool,
}

/// A Starmile Partner API client. Cheap to share: every method takes `&self`
/// and may be called from any number of threads.
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url)
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Makes a client from a JSON config (see the contract's §3). Does no
    /// network I/O; a secret file is read now, so a bad path fails here.
    pub fn new(config_json: &str) -> Result<Client> {
        Client::with_config(Config::from_json(config_json)?)
    }

    pub fn with_config(config: Config) -> Result<Client> {
        let (secret, file) = match &config.secret {
            SecretSource::Value(secret) => (secret.clone(), None),
            SecretSource::File(path) => (read_secret_file(path)?, Some(path.clone())),
        };
        let credentials = Credentials {
            shared: open_shared_cache(&config, &config.client_id)?,
            client_id: config.client_id.clone(),
            secret,
            file,
        };
        let transport = Transport::new(&config)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                credentials: RwLock::new(Arc::new(credentials)),
                tokens: TokenCache::new(),
                stats: Stats::default(),
                shared_cache_warned: AtomicBool::new(false),
            }),
        })
    }

    /// A valid access token: the cached one while it is fresh (starting a
    /// background refresh inside the refresh window), else a fetched one.
    pub fn get_token(&self) -> Result<AccessToken> {
        self.inner.current_token().map(AccessToken)
    }

    /// `read(token, expires_at_unix_ms)` on the cached token while it is
    /// fresh, read in place: the fast path of `sm_get_token`. `None` when
    /// there is no fresh token (then [`Client::get_token`] gets one).
    pub fn with_fresh_token<R>(&self, read: impl FnOnce(&str, i64) -> R) -> Option<R> {
        self.inner.tokens.read_fresh(Instant::now(), |token| {
            read(token.access_token.expose(), token.expires_at_unix_ms)
        })
    }

    /// Drops the cached token; the next call fetches a new one.
    pub fn invalidate_token(&self) {
        self.inner.tokens.invalidate();
    }

    /// Replaces the credentials (a rotated secret) and drops the cached token.
    pub fn set_credentials(&self, client_id: &str, client_secret: &str) -> Result<()> {
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(Error::invalid_argument(
                "client_id must be non-empty and hold no control characters",
            ));
        }
        if client_secret.is_empty() {
            return Err(Error::invalid_argument("client_secret must not be empty"));
        }
        let mut credentials = self.inner.credentials.write();
        let shared = if credentials.client_id == client_id {
            credentials.shared.clone()
        } else {
            open_shared_cache(&self.inner.config, client_id)?
        };
        *credentials = Arc::new(Credentials {
            client_id: client_id.to_owned(),
            secret: Secret::new(client_secret.to_owned()),
            file: None,
            shared,
        });
        drop(credentials);
        self.inner.tokens.credentials_changed();
        log!(Level::Info, "credentials replaced; cached token dropped");
        Ok(())
    }

    /// Sends an authenticated request. `headers` holds `Name: value` lines.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: Option<&str>,
        body: &[u8],
    ) -> Result<Response> {
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::invalid_argument("method is not a valid HTTP method"))?;
        let url = self.inner.config.base_url.join(path)?;
        let mut header_list = parse_header_lines(headers.unwrap_or(""))?;
        if !body.is_empty()
            && !header_list
                .iter()
                .any(|(n, _)| n == http::header::CONTENT_TYPE)
        {
            header_list.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ));
        }
        let repeatable = is_idempotent(&method)
            || header_list
                .iter()
                .any(|(n, _)| n.as_str() == "idempotency-key");
        let outgoing = Outgoing {
            method: &method,
            url: &url,
            headers: &header_list,
            body,
        };
        // Counted once the request is valid: refused input never goes out.
        bump(&self.inner.stats.requests);
        self.inner.send_with_retries(&outgoing, repeatable)
    }

    /// Counters and the token's expiry, as a JSON object. Holds no secret.
    pub fn stats_json(&self) -> String {
        let s = &self.inner.stats;
        serde_json::json!({
            "token_fetches": s.token_fetches.load(Relaxed),
            "token_fetch_failures": s.token_fetch_failures.load(Relaxed),
            "token_requests": s.token_requests.load(Relaxed),
            "background_refreshes": s.background_refreshes.load(Relaxed),
            "requests": s.requests.load(Relaxed),
            "retries": s.retries.load(Relaxed),
            "reauth_replays": s.reauth_replays.load(Relaxed),
            "shared_cache_hits": s.shared_cache_hits.load(Relaxed),
            "token_expires_at_ms": self.inner.tokens.expires_at_unix_ms(),
        })
        .to_string()
    }
}

/// The shared token cache for `client_id`, when `token_cache` names one.
fn open_shared_cache(config: &Config, client_id: &str) -> Result<Option<Arc<dyn SharedCache>>> {
    let Some(spec) = &config.token_cache else {
        return Ok(None);
    };
    let key = cache::cache_key(&config.token_url, client_id, config.scope.as_deref());
    let cache = cache::open(
        spec,
        &key,
        config.connect_timeout.min(Duration::from_secs(2)),
        shared_lock_wait(config),
    )?;
    Ok(Some(Arc::from(cache)))
}

/// How long a process waits for another's token fetch (and, for Redis, how
/// long a fetch lease lasts before another process may take over).
fn shared_lock_wait(config: &Config) -> Duration {
    config
        .timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(30))
}

fn is_idempotent(method: &http::Method) -> bool {
    use http::Method as M;
    [M::GET, M::HEAD, M::OPTIONS, M::PUT, M::DELETE, M::TRACE].contains(method)
}

/// Headers the library sets itself and a caller may not.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
];

/// Parses `Name: value` lines separated by `\n` (a `\r` before it is allowed).
pub fn parse_header_lines(text: &str) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut headers = Vec::new();
    for raw_line in text.split('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('\r') || line.contains('\0') {
            return Err(Error::invalid_argument(
                "a header holds a CR or NUL character",
            ));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Error::invalid_argument(
                "a header line has no ':' (expected \"Name: value\")",
            ));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Error::invalid_argument("a header name is not a valid HTTP token"))?;
        if RESERVED_HEADERS.contains(&name.as_str()) {
            return Err(Error::invalid_argument(format!(
                "the {} header is set by the library",
                name.as_str()
            )));
        }
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            Error::invalid_argument(format!(
                "the value of header {} holds a control character",
                name.as_str()
            ))
        })?;
        headers.push((name, value));
    }
    Ok(headers)
}

impl Inner {
    fn current_token(self: &Arc<Self>) -> Result<Arc<Token>> {
        match self.tokens.peek(Instant::now()) {
            Freshness::Fresh(token) => Ok(token),
            Freshness::Refresh(token) => {
                self.start_background_refresh();
                Ok(token)
            }
            Freshness::Missing => self.tokens.get_or_fetch(|ticket| self.obtain_token(ticket)),
        }
    }

    fn start_background_refresh(self: &Arc<Self>) {
        let Some(ticket) = self.tokens.begin_refresh(Instant::now()) else {
            return;
        };
        bump(&self.stats.background_refreshes);
        let job = RefreshJob {
            inner: self.clone(),
            ticket: Some(ticket),
        };
        let spawned = std::thread::Builder::new()
            .name("starmile-refresh".into())
            .spawn(move || job.run());
        if let Err(e) = spawned {
            // The job was dropped with the closure, which ended its flight.
            log!(Level::Warn, "cannot start a background refresh thread: {e}");
        }
    }

    /// A token for `ticket`: through the shared cache when there is one (with
    /// single flight across processes), else straight from the endpoint.
    fn obtain_token(&self, ticket: &Ticket) -> Result<Token> {
        let credentials = self.credentials.read().clone();
        let Some(shared) = credentials.shared.as_deref() else {
            return self.fetch_token(&credentials);
        };
        let adopted = |entry: Option<Entry>| {
            entry
                .filter(|e| self.adoptable(e, ticket))
                .and_then(|e| self.adopt(e))
        };
        match shared.load() {
            Ok(entry) => {
                if let Some(token) = adopted(entry) {
                    return Ok(token);
                }
            }
            Err(e) => {
                self.shared_cache_failed(shared, &e);
                return self.fetch_token(&credentials);
            }
        }
        let wait = shared_lock_wait(&self.config);
        let mut lease = match shared.lock(wait) {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                log!(
                    Level::Warn,
                    "waited {} ms for another process's token fetch; fetching without it",
                    wait.as_millis()
                );
                return self.fetch_token(&credentials);
            }
            Err(e) => {
                self.shared_cache_failed(shared, &e);
                return self.fetch_token(&credentials);
            }
        };
        // Another process may have stored a token while we waited for the lock.
        if let Some(token) = adopted(shared.load().ok().flatten()) {
            return Ok(token);
        }
        let token = self.fetch_token(&credentials)?;
        let entry = Entry {
            access_token: token.access_token.clone(),
            expires_at_ms: token.expires_at_unix_ms,
        };
        if let Err(e) = lease.store(&entry) {
            self.shared_cache_failed(shared, &e);
        }
        Ok(token)
    }

    /// Whether a shared entry may serve `ticket`: enough life left, not the
    /// token just refused, and newer than the one a refresh replaces.
    fn adoptable(&self, entry: &Entry, ticket: &Ticket) -> bool {
        entry.expires_at_ms > unix_now_ms() + MIN_SHARED_REMAINING_MS
            && ticket.avoid.as_ref() != Some(&entry.access_token)
            && ticket
                .replacing_expiry_ms
                .is_none_or(|replaced| entry.expires_at_ms > replaced)
    }

    fn adopt(&self, entry: Entry) -> Option<Token> {
        let remaining = u64::try_from(entry.expires_at_ms - unix_now_ms()).ok()?;
        let grant = oauth::Grant {
            access_token: entry.access_token,
            lifetime: Duration::from_millis(remaining),
        };
        let token = Token::new(
            grant,
            Instant::now(),
            SystemTime::now(),
            self.config.refresh_before,
        )
        .ok()?;
        bump(&self.stats.shared_cache_hits);
        log!(Level::Debug, "adopted a token from the shared cache");
        Some(token)
    }

    /// Falls back to the in-process cache, and says so once.
    fn shared_cache_failed(&self, shared: &dyn SharedCache, error: &std::io::Error) {
        if !self.shared_cache_warned.swap(true, Relaxed) {
            log!(
                Level::Warn,
                "token cache {} failed ({error}); using the in-process cache",
                shared.describe()
            );
        }
    }

    /// Fetches a token with retries. Runs outside every lock.
    fn fetch_token(&self, credentials: &Arc<Credentials>) -> Result<Token> {
        let mut secret = credentials.secret.clone();
        let mut reread_secret_file = credentials.file.is_some();
        let mut retry = 0;
        loop {
            let requested_at = Instant::now();
            let requested_at_wall = SystemTime::now();
            bump(&self.stats.token_requests);
            let failure = match oauth::exchange(
                &self.transport,
                &self.config,
                &credentials.client_id,
                &secret,
            ) {
                Ok(grant) => {
                    let token = Token::new(
                        grant,
                        requested_at,
                        requested_at_wall,
                        self.config.refresh_before,
                    );
                    if token.is_ok() {
                        bump(&self.stats.token_fetches);
                        log!(
                            Level::Info,
                            "fetched an access token in {} ms",
                            requested_at.elapsed().as_millis()
                        );
                    }
                    return token;
                }
                Err(failure) => failure,
            };
            let error = match failure {
                Failure::Rejected(error, code)
                    if code == "invalid_client" && reread_secret_file =>
                {
                    reread_secret_file = false;
                    match self.reread_secret_file(credentials, &secret) {
                        Some(rotated) => {
                            log!(
                                Level::Info,
                                "client_secret_file changed; retrying with the new secret"
                            );
                            secret = rotated;
                            continue;
                        }
                        None => error,
                    }
                }
                Failure::Rejected(error, _) | Failure::Final(error) => error,
                Failure::Retryable(error, server_delay) => {
                    let delay = (retry < self.config.max_retries)
                        .then(|| retry::delay_before_retry(retry, server_delay))
                        .flatten();
                    if let Some(delay) = delay {
                        log!(
                            Level::Warn,
                            "{}; retrying in {} ms",
                            error.message(),
                            delay.as_millis()
                        );
                        std::thread::sleep(delay);
                        retry += 1;
                        continue;
                    }
                    error
                }
            };
            bump(&self.stats.token_fetch_failures);
            log!(Level::Warn, "token fetch failed: {}", error.message());
            return Err(error);
        }
    }

    /// The secret now in the credentials' file, if it differs from `tried`.
    fn reread_secret_file(&self, credentials: &Arc<Credentials>, tried: &Secret) -> Option<Secret> {
        let rotated = read_secret_file(credentials.file.as_ref()?).ok()?;
        if rotated == *tried {
            return None;
        }
        let mut current = self.credentials.write();
        if Arc::ptr_eq(&current, credentials) {
            *current = Arc::new(Credentials {
                client_id: credentials.client_id.clone(),
                secret: rotated.clone(),
                file: credentials.file.clone(),
                shared: credentials.shared.clone(),
            });
        }
        Some(rotated)
    }

    fn send_with_retries(
        self: &Arc<Self>,
        outgoing: &Outgoing<'_>,
        repeatable: bool,
    ) -> Result<Response> {
        let mut retry = 0;
        let mut replayed = false;
        loop {
            let token = self.current_token()?;
            let wait = match self.transport.send(outgoing, Some(&token.authorization)) {
                Ok(response) if response.status == 401 && !replayed => {
                    // The server refused our token: fetch a new one, replay once.
                    self.tokens.invalidate_if_current(&token);
                    replayed = true;
                    bump(&self.stats.reauth_replays);
                    log!(
                        Level::Info,
                        "API answered 401; fetching a new token and replaying once"
                    );
                    continue;
                }
                Ok(response) if is_retryable_status(response.status, repeatable) => {
                    let asked = retry::server_delay(|name| response.header(name));
                    match retry::delay_before_retry(retry, asked) {
                        Some(wait) if retry < self.config.max_retries => wait,
                        // Retries used up, or the server asked for too long a wait.
                        _ => return Ok(response),
                    }
                }
                Ok(response) => return Ok(response),
                Err(SendFailure::NotSent(error))
                    if retry < self.config.max_retries
                        && error.status() != Status::InvalidArgument =>
                {
                    retry::backoff(retry)
                }
                Err(SendFailure::MaybeSent(error))
                    if repeatable
                        && retry < self.config.max_retries
                        && error.status() != Status::Protocol =>
                {
                    retry::backoff(retry)
                }
                Err(failure) => return Err(failure.into_error()),
            };
            log!(
                Level::Debug,
                "retrying {} in {} ms",
                outgoing.method,
                wait.as_millis()
            );
            std::thread::sleep(wait);
            retry += 1;
            bump(&self.stats.retries);
        }
    }
}

/// 429 for every method; 408, 502, 503 and 504 only when sending twice is safe.
fn is_retryable_status(status: u16, repeatable: bool) -> bool {
    status == 429 || (repeatable && matches!(status, 408 | 502 | 503 | 504))
}

/// A background refresh. Dropped without running (the thread could not
/// start), it still ends its flight so the cache never waits for it.
struct RefreshJob {
    inner: Arc<Inner>,
    ticket: Option<Ticket>,
}

impl RefreshJob {
    fn run(mut self) {
        if let Some(ticket) = self.ticket.take() {
            let result = self.inner.obtain_token(&ticket);
            if let Err(e) = &result {
                log!(
                    Level::Warn,
                    "background refresh failed, keeping the current token: {}",
                    e.message()
                );
            }
            self.inner.tokens.finish(ticket, result, true);
        }
    }
}

impl Drop for RefreshJob {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let error = Error::internal("background refresh did not run");
            self.inner.tokens.finish(ticket, Err(error), true);
        }
    }
}
