//! The token cache: freshness on a monotonic clock, single flight for
//! fetches, one background refresh at a time, and the fail-fast after an
//! authentication failure.
//!
//! The cache never talks to the network itself: callers hand it the fetch to
//! run, and it makes sure only one runs at a time.

use crate::error::{Error, Result, Status};
use crate::oauth::Grant;
use crate::secret::Secret;
use arc_swap::ArcSwapOption;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use ureq::http::HeaderValue;

/// How long calls with the same credentials fail fast after `SM_ERR_AUTH`.
pub(crate) const AUTH_FAIL_FAST: Duration = Duration::from_secs(5);

/// A cached access token.
pub struct Token {
    pub access_token: Secret,
    /// `Bearer <token>`, built once, marked sensitive.
    pub authorization: HeaderValue,
    pub expires_at: Instant,
    /// When a background refresh should start.
    pub refresh_at: Instant,
    pub expires_at_unix_ms: i64,
}

impl Token {
    /// A token whose lifetime counts from `requested_at`, the moment its
    /// request was sent: the server's clock started no earlier than that.
    pub fn new(
        grant: Grant,
        requested_at: Instant,
        requested_at_wall: SystemTime,
        refresh_before: Duration,
    ) -> Result<Token> {
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", grant.access_token.expose()))
                .map_err(|_| Error::protocol("access_token cannot be sent in a header"))?;
        authorization.set_sensitive(true);
        let lead = refresh_before.min(grant.lifetime / 2);
        let wall_ms = requested_at_wall
            .checked_add(grant.lifetime)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(i64::MAX, |d| {
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            });
        Ok(Token {
            access_token: grant.access_token,
            authorization,
            expires_at: requested_at + grant.lifetime,
            refresh_at: requested_at + grant.lifetime - lead,
            expires_at_unix_ms: wall_ms,
        })
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("expires_at_unix_ms", &self.expires_at_unix_ms)
            .finish_non_exhaustive()
    }
}

/// A fetch the cache may run: the credentials generation it was started for,
/// handed back with the result, and what a shared cache must not hand back.
#[derive(Debug)]
#[must_use = "a started flight must be finished"]
pub struct Ticket {
    generation: u64,
    /// A background refresh: the expiry (unix ms) of the token it replaces.
    pub replacing_expiry_ms: Option<i64>,
    /// The token last dropped as refused or invalidated.
    pub avoid: Option<Secret>,
}

#[derive(Default)]
struct Flight {
    /// A fetch (blocking or background) is under way.
    running: bool,
    /// The process the flight state belongs to: a forked child inherits a
    /// `running` flag whose thread it does not have.
    pid: u32,
    /// Finished fetches, so waiters know theirs is over.
    completed: u64,
    /// The result of the last finished fetch, for the callers that waited on it.
    last_error: Option<Error>,
    /// Bumped when the credentials change: results of older fetches are dropped.
    generation: u64,
    /// The last `SM_ERR_AUTH`, when, and for which credentials.
    auth_failure: Option<(Instant, Error, u64)>,
    /// After a failed background refresh: not before this moment again.
    refresh_not_before: Option<Instant>,
    refresh_failures: u32,
    /// The token last dropped by an invalidation, until a new one is cached.
    dropped: Option<Secret>,
}

impl Flight {
    fn ticket(&self, replacing_expiry_ms: Option<i64>) -> Ticket {
        Ticket {
            generation: self.generation,
            replacing_expiry_ms,
            avoid: self.dropped.clone(),
        }
    }

    fn adopt_process(&mut self) {
        let pid = std::process::id();
        if self.pid != pid {
            self.pid = pid;
            self.running = false;
            self.refresh_not_before = None;
        }
    }

    fn failing_fast(&self, now: Instant) -> Option<Error> {
        match &self.auth_failure {
            Some((at, error, generation))
                if *generation == self.generation && now < *at + AUTH_FAIL_FAST =>
            {
                Some(error.clone())
            }
            _ => None,
        }
    }
}

/// What a caller holding a fresh token should do next.
pub enum Freshness {
    Fresh(Arc<Token>),
    /// Fresh, but inside the refresh window.
    Refresh(Arc<Token>),
    Missing,
}

#[derive(Default)]
pub struct TokenCache {
    /// Read without locking; written only by holders of `flight`.
    current: ArcSwapOption<Token>,
    flight: Mutex<Flight>,
    finished: Condvar,
}

impl TokenCache {
    pub fn new() -> TokenCache {
        TokenCache::default()
    }

    /// `read(token)` while the cached token is fresh (before its refresh
    /// window), writing no memory that other threads share.
    pub fn read_fresh<R>(&self, now: Instant, read: impl FnOnce(&Token) -> R) -> Option<R> {
        match &*self.current.load() {
            Some(token) if now < token.refresh_at => Some(read(token)),
            _ => None,
        }
    }

    /// The cached token, if it has not expired. Never blocks on a fetch.
    pub fn peek(&self, now: Instant) -> Freshness {
        match &*self.current.load() {
            Some(token) if now < token.refresh_at => Freshness::Fresh(token.clone()),
            Some(token) if now < token.expires_at => Freshness::Refresh(token.clone()),
            _ => Freshness::Missing,
        }
    }

    /// The cached token, or the result of a fetch: `fetch` runs on this
    /// thread unless another one is already fetching, in which case this
    /// call waits for that fetch instead of starting its own.
    pub fn get_or_fetch(&self, fetch: impl Fn(&Ticket) -> Result<Token>) -> Result<Arc<Token>> {
        loop {
            if let Freshness::Fresh(token) | Freshness::Refresh(token) = self.peek(Instant::now()) {
                return Ok(token);
            }
            let mut flight = self.flight.lock();
            flight.adopt_process();
            if let Freshness::Fresh(token) | Freshness::Refresh(token) = self.peek(Instant::now()) {
                return Ok(token);
            }
            if flight.running {
                let seen = flight.completed;
                while flight.running && flight.completed == seen {
                    self.finished.wait(&mut flight);
                }
                if let Some(error) = &flight.last_error {
                    return Err(error.clone());
                }
                continue;
            }
            if let Some(error) = flight.failing_fast(Instant::now()) {
                return Err(error);
            }
            flight.running = true;
            let ticket = flight.ticket(None);
            drop(flight);
            // A panic must still end the flight, or every waiter would hang.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fetch(&ticket)))
                .unwrap_or_else(|_| Err(Error::internal("internal error while fetching a token")));
            let outcome = result.as_ref().map(|_| ()).map_err(Clone::clone);
            self.finish(ticket, result, false);
            outcome?;
        }
    }

    /// Starts a background refresh when none is running and none failed too
    /// recently. The caller runs the fetch and then calls [`Self::finish`].
    pub fn begin_refresh(&self, now: Instant) -> Option<Ticket> {
        let mut flight = self.flight.try_lock()?;
        flight.adopt_process();
        if flight.running
            || flight.refresh_not_before.is_some_and(|t| now < t)
            || flight.failing_fast(now).is_some()
        {
            return None;
        }
        flight.running = true;
        let replacing = self.current.load().as_ref().map(|t| t.expires_at_unix_ms);
        Some(flight.ticket(replacing))
    }

    /// Ends a fetch: caches its token (unless the credentials changed
    /// meanwhile) and wakes the callers waiting for it.
    pub fn finish(&self, ticket: Ticket, result: Result<Token>, background: bool) {
        let mut flight = self.flight.lock();
        let current_generation = ticket.generation == flight.generation;
        match result {
            Ok(token) => {
                if current_generation {
                    self.current.store(Some(Arc::new(token)));
                    flight.dropped = None;
                }
                flight.last_error = None;
                flight.refresh_failures = 0;
                flight.refresh_not_before = None;
            }
            Err(error) => {
                if error.status() == Status::Auth && current_generation {
                    flight.auth_failure = Some((Instant::now(), error.clone(), ticket.generation));
                }
                if background {
                    // Keep the still-valid token; try again after a backoff.
                    let wait = crate::retry::backoff(flight.refresh_failures)
                        .max(Duration::from_millis(100));
                    flight.refresh_failures = flight.refresh_failures.saturating_add(1);
                    flight.refresh_not_before = Some(Instant::now() + wait);
                }
                flight.last_error = Some(error);
            }
        }
        flight.running = false;
        flight.completed = flight.completed.wrapping_add(1);
        drop(flight);
        self.finished.notify_all();
    }

    /// Drops the cached token.
    pub fn invalidate(&self) {
        let mut flight = self.flight.lock();
        if let Some(token) = self.current.swap(None) {
            flight.dropped = Some(token.access_token.clone());
        }
    }

    /// Drops the cached token if it is still `used`: the server refused it.
    /// Returns whether it was.
    pub fn invalidate_if_current(&self, used: &Arc<Token>) -> bool {
        // Every writer holds `flight`, so nothing changes between load and store.
        let mut flight = self.flight.lock();
        if self
            .current
            .load()
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, used))
        {
            self.current.store(None);
            flight.dropped = Some(used.access_token.clone());
            return true;
        }
        false
    }

    /// New credentials: drop the token, forget the auth failure, and ignore
    /// the result of any fetch made with the old ones.
    pub fn credentials_changed(&self) {
        let mut flight = self.flight.lock();
        flight.generation = flight.generation.wrapping_add(1);
        flight.auth_failure = None;
        flight.refresh_not_before = None;
        flight.refresh_failures = 0;
        self.current.store(None);
    }

    pub fn expires_at_unix_ms(&self) -> Option<i64> {
        self.current.load().as_ref().map(|t| t.expires_at_unix_ms)
    }
}
