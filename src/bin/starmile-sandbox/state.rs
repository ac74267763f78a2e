//! State shared by every connection: settings, issued tokens, fault queues
//! and the statistics that tests assert on.
//!
//! One mutex guards it all; it is only ever held for a few map operations,
//! never across an `.await`.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use crate::faults::{FaultAction, FaultQueue, Target};
use crate::settings::Settings;

/// How a token request carried the client credentials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    Form,
    Json,
    Basic,
}

/// Whether an access token may be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenStatus {
    Valid,
    Expired,
    /// Never issued, or revoked.
    Unknown,
}

/// What tests may learn about the latest token request: never a secret.
#[derive(Debug, Clone, Serialize)]
pub struct LastTokenRequest {
    pub auth: Option<AuthMethod>,
    pub content_type: Option<String>,
    pub scope: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct TokenAuthCounts {
    form: u64,
    json: u64,
    basic: u64,
}

/// Serialized as-is by `GET /_sandbox/stats`.
#[derive(Debug, Default, Serialize)]
struct Stats {
    token_requests: u64,
    tokens_issued: u64,
    token_errors: u64,
    token_auth: TokenAuthCounts,
    api_requests: u64,
    unauthorized: u64,
    requests: BTreeMap<String, u64>,
    idempotency_keys: BTreeMap<String, u64>,
    duplicate_unkeyed_writes: u64,
    max_concurrent_token_requests: u64,
    faults_applied: u64,
    last_token_request: Option<LastTokenRequest>,
}

struct Inner {
    settings: Settings,
    stats: Stats,
    /// Access token -> expiry.
    tokens: HashMap<String, Instant>,
    token_faults: FaultQueue,
    api_faults: FaultQueue,
    /// Digests of the unkeyed writes accepted so far (a 64-bit digest rather
    /// than the body itself keeps memory flat under benchmarks).
    seen_writes: HashSet<u64>,
    token_requests_in_flight: u64,
}

impl Inner {
    fn fresh(settings: Settings) -> Self {
        Inner {
            settings,
            stats: Stats::default(),
            tokens: HashMap::new(),
            token_faults: FaultQueue::default(),
            api_faults: FaultQueue::default(),
            seen_writes: HashSet::new(),
            token_requests_in_flight: 0,
        }
    }

    fn queue(&mut self, target: Target) -> &mut FaultQueue {
        match target {
            Target::Token => &mut self.token_faults,
            Target::Api => &mut self.api_faults,
        }
    }
}

/// Above this many remembered tokens, expired ones are swept on issue.
const TOKEN_SWEEP_THRESHOLD: usize = 100_000;

pub struct AppState {
    defaults: Settings,
    next_request_id: AtomicU64,
    pub log_requests: bool,
    inner: Mutex<Inner>,
}

impl AppState {
    pub fn new(defaults: Settings, log_requests: bool) -> Arc<Self> {
        Arc::new(AppState {
            inner: Mutex::new(Inner::fresh(defaults.clone())),
            defaults,
            next_request_id: AtomicU64::new(1),
            log_requests,
        })
    }

    /// Request ids keep growing across resets so they stay unique per process.
    pub fn next_request_id(&self) -> u64 {
        self.next_request_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn settings(&self) -> Settings {
        self.inner.lock().settings.clone()
    }

    /// Counts one POST /oauth/token; the guard tracks concurrency until the
    /// request's future finishes or is dropped.
    pub fn begin_token_request(self: &Arc<Self>, route: String) -> TokenRequestGuard {
        let mut inner = self.inner.lock();
        inner.stats.token_requests += 1;
        *inner.stats.requests.entry(route).or_default() += 1;
        inner.token_requests_in_flight += 1;
        let in_flight = inner.token_requests_in_flight;
        let max = &mut inner.stats.max_concurrent_token_requests;
        *max = (*max).max(in_flight);
        TokenRequestGuard(Arc::clone(self))
    }

    /// Counts a request that is neither a token request nor an API request
    /// (a non-POST to /oauth/token) in the per-route table only.
    pub fn count_route(&self, route: String) {
        *self.inner.lock().stats.requests.entry(route).or_default() += 1;
    }

    pub fn note_token_request(&self, last: LastTokenRequest) {
        let mut inner = self.inner.lock();
        let counts = &mut inner.stats.token_auth;
        match last.auth {
            Some(AuthMethod::Form) => counts.form += 1,
            Some(AuthMethod::Json) => counts.json += 1,
            Some(AuthMethod::Basic) => counts.basic += 1,
            None => {}
        }
        inner.stats.last_token_request = Some(last);
    }

    pub fn count_token_error(&self) {
        self.inner.lock().stats.token_errors += 1;
    }

    /// Issues and remembers a new access token.
    pub fn issue_token(&self, lifetime: Duration) -> String {
        let token = format!(
            "smt_{}",
            std::iter::repeat_with(fastrand::alphanumeric)
                .take(32)
                .collect::<String>()
        );
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if inner.tokens.len() >= TOKEN_SWEEP_THRESHOLD {
            inner.tokens.retain(|_, expiry| *expiry > now);
        }
        inner.tokens.insert(token.clone(), now + lifetime);
        inner.stats.tokens_issued += 1;
        token
    }

    pub fn token_status(&self, token: &str) -> TokenStatus {
        match self.inner.lock().tokens.get(token) {
            None => TokenStatus::Unknown,
            Some(expiry) if Instant::now() < *expiry => TokenStatus::Valid,
            Some(_) => TokenStatus::Expired,
        }
    }

    pub fn count_api_request(&self, route: String, idempotency_key: Option<String>) {
        let mut inner = self.inner.lock();
        inner.stats.api_requests += 1;
        *inner.stats.requests.entry(route).or_default() += 1;
        if let Some(key) = idempotency_key {
            *inner.stats.idempotency_keys.entry(key).or_default() += 1;
        }
    }

    pub fn count_unauthorized(&self) {
        self.inner.lock().stats.unauthorized += 1;
    }

    /// Records an unkeyed write. It counts as a duplicate if the same write
    /// was remembered before; it is remembered only if `accepted`, because a
    /// write refused with 401 was provably not processed and re-sending it
    /// after a token refresh is correct client behaviour.
    pub fn note_unkeyed_write(&self, digest: u64, accepted: bool) {
        let mut inner = self.inner.lock();
        if inner.seen_writes.contains(&digest) {
            inner.stats.duplicate_unkeyed_writes += 1;
        } else if accepted {
            inner.seen_writes.insert(digest);
        }
    }

    /// Takes one use of the first queued fault of `target`, if any.
    pub fn take_fault(&self, target: Target) -> Option<FaultAction> {
        let mut inner = self.inner.lock();
        let fault = inner.queue(target).take_one();
        if fault.is_some() {
            inner.stats.faults_applied += 1;
        }
        fault
    }

    /// Appends faults to a queue; returns the uses now pending there.
    pub fn add_faults(&self, target: Target, faults: Vec<(FaultAction, u64)>) -> u64 {
        let mut inner = self.inner.lock();
        let queue = inner.queue(target);
        for (action, count) in faults {
            queue.push(action, count);
        }
        queue.pending_uses()
    }

    /// Applies a settings patch atomically; returns the new settings.
    pub fn update_settings(&self, patch: &Value) -> Result<Settings, String> {
        let mut inner = self.inner.lock();
        let next = inner.settings.merged(patch)?;
        inner.settings = next.clone();
        Ok(next)
    }

    /// Invalidates every issued token; returns how many there were.
    pub fn revoke_all(&self) -> usize {
        let mut inner = self.inner.lock();
        let revoked = inner.tokens.len();
        inner.tokens.clear();
        revoked
    }

    /// Back to the CLI defaults. Token requests still in flight keep their
    /// guards, so the in-flight gauge survives.
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        let in_flight = inner.token_requests_in_flight;
        *inner = Inner::fresh(self.defaults.clone());
        inner.token_requests_in_flight = in_flight;
    }

    pub fn stats_json(&self) -> Value {
        serde_json::to_value(&self.inner.lock().stats).unwrap_or(Value::Null)
    }
}

/// Decrements the in-flight token request gauge when dropped.
pub struct TokenRequestGuard(Arc<AppState>);

impl Drop for TokenRequestGuard {
    fn drop(&mut self) {
        let mut inner = self.0.inner.lock();
        inner.token_requests_in_flight = inner.token_requests_in_flight.saturating_sub(1);
    }
}

/// Identity of a write for duplicate detection.
pub fn write_digest(method: &str, path: &str, body: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    (method, path, body).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Options;

    fn state() -> Arc<AppState> {
        AppState::new(Settings::from_options(&Options::default()), false)
    }

    #[test]
    fn tokens_expire_and_revoke() {
        let state = state();
        let live = state.issue_token(Duration::from_secs(60));
        let dead = state.issue_token(Duration::ZERO);
        assert!(live.starts_with("smt_") && live.len() == 36);
        assert_eq!(state.token_status(&live), TokenStatus::Valid);
        assert_eq!(state.token_status(&dead), TokenStatus::Expired);
        assert_eq!(state.revoke_all(), 2);
        assert_eq!(state.token_status(&live), TokenStatus::Unknown);
    }

    #[test]
    fn in_flight_gauge_tracks_maximum() {
        let state = state();
        let a = state.begin_token_request("POST /oauth/token".into());
        let b = state.begin_token_request("POST /oauth/token".into());
        drop((a, b));
        let _c = state.begin_token_request("POST /oauth/token".into());
        let stats = state.stats_json();
        assert_eq!(stats["max_concurrent_token_requests"], 2);
        assert_eq!(stats["requests"]["POST /oauth/token"], 3);
    }

    #[test]
    fn refused_writes_are_not_remembered() {
        let state = state();
        let digest = write_digest("POST", "/v1/echo", b"{}");
        state.note_unkeyed_write(digest, false);
        state.note_unkeyed_write(digest, true);
        assert_eq!(state.stats_json()["duplicate_unkeyed_writes"], 0);
        state.note_unkeyed_write(digest, true);
        assert_eq!(state.stats_json()["duplicate_unkeyed_writes"], 1);
    }
}
