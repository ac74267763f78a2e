//! The retry policy shared by token fetches and API requests: exponential
//! backoff with full jitter, and the server's `Retry-After` / `retry-after-ms`.

use std::time::{Duration, SystemTime};

const BASE: Duration = Duration::from_millis(500);
const CAP: Duration = Duration::from_secs(8);

/// The longest server-requested wait we honour; a longer one ends the retries.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
/// a uniformly random wait in `[0, min(cap, base * 2^retry))`.
pub fn backoff(retry: u32) -> Duration {
    let ceiling = BASE.saturating_mul(1u32 << retry.min(16)).min(CAP);
    ceiling.mul_f64(fastrand::f64())
}

/// The wait a server asked for, from `retry-after-ms` (milliseconds, may be
/// fractional) or `Retry-After` (seconds or an HTTP date).
pub fn server_delay<'a>(mut header: impl FnMut(&str) -> Option<&'a str>) -> Option<Duration> {
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64((ms / 1000.0).min(1e9)));
        }
    }
    let value = header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// What to wait before retry number `retry` (0-based), or `None` when the
/// server asked for longer than we are willing to wait.
pub fn delay_before_retry(retry: u32, server: Option<Duration>) -> Option<Duration> {
    match server {
        Some(wait) if wait > MAX_RETRY_AFTER => None,
        Some(wait) => Some(wait),
        None => Some(backoff(retry)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_ceiling() {
        for retry in 0..40 {
            let ceiling = BASE.saturating_mul(1u32 << retry.min(16)).min(CAP);
            assert!(backoff(retry) <= ceiling);
        }
    }

    #[test]
    fn server_delay_forms() {
        let h = |pairs: &'static [(&'static str, &'static str)]| {
            server_delay(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
        };
        assert_eq!(h(&[("retry-after", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(
            h(&[("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            h(&[("retry-after-ms", "20"), ("retry-after", "5")]),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(h(&[("retry-after", "soon")]), None);
        assert_eq!(h(&[]), None);
    }

    #[test]
    fn long_server_waits_end_the_retries() {
        assert_eq!(delay_before_retry(0, Some(Duration::from_secs(61))), None);
        assert_eq!(
            delay_before_retry(0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
    }
}
