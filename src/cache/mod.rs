//! The shared token cache (`token_cache`): one token for many processes
//! (`file:<dir>`) or many hosts (`redis://host:port/db`), with single flight
//! across all of them.
//!
//! What is stored is the access token and its expiry (unix ms), nothing else.
//! The key is derived from the token URL, the client id and the scope — never
//! the secret. Expiry crosses process boundaries as wall-clock time; each
//! process turns it back into its own monotonic deadline when it adopts an
//! entry.

mod file;
mod redis;

use crate::error::{Error, Result};
use crate::secret::Secret;
use std::io;
use std::time::Duration;

pub use self::file::FileCache;
pub use self::redis::RedisCache;

/// A token as a shared cache holds it.
pub struct Entry {
    pub access_token: Secret,
    pub expires_at_ms: i64,
}

impl Entry {
    fn to_json(&self) -> Secret {
        Secret::new(
            serde_json::json!({
                "access_token": self.access_token.expose(),
                "expires_at_ms": self.expires_at_ms,
            })
            .to_string(),
        )
    }

    /// `None` for anything that is not an entry we wrote.
    fn from_json(text: &[u8]) -> Option<Entry> {
        let value: serde_json::Value = serde_json::from_slice(text).ok()?;
        Some(Entry {
            access_token: Secret::new(value.get("access_token")?.as_str()?.to_owned()),
            expires_at_ms: value.get("expires_at_ms")?.as_i64()?,
        })
    }
}

/// The fetch lock for one key, held by one process (or host) at a time.
/// Dropping it releases the lock.
pub trait Lease {
    /// Stores the token just fetched under the key.
    fn store(&mut self, entry: &Entry) -> io::Result<()>;
}

/// A cache shared between processes.
pub trait SharedCache: Send + Sync {
    /// The entry under this client's key, if there is one.
    fn load(&self) -> io::Result<Option<Entry>>;

    /// Takes the fetch lock, waiting up to `wait` for another holder to
    /// finish (or to die). `Ok(None)` when the wait ran out.
    fn lock(&self, wait: Duration) -> io::Result<Option<Box<dyn Lease + '_>>>;

    /// What the log says this cache is (no credentials).
    fn describe(&self) -> String;
}

/// What `token_cache` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheSpec {
    File(std::path::PathBuf),
    Redis(String),
}

impl CacheSpec {
    pub fn parse(value: &str) -> Result<CacheSpec> {
        if let Some(dir) = value.strip_prefix("file:") {
            if dir.is_empty() {
                return Err(Error::invalid_argument(
                    "config key `token_cache` needs a directory: \"file:<dir>\"",
                ));
            }
            return Ok(CacheSpec::File(dir.into()));
        }
        if value.starts_with("redis://") {
            return Ok(CacheSpec::Redis(value.to_owned()));
        }
        Err(Error::invalid_argument(
            "config key `token_cache` must be \"file:<dir>\" or \"redis://host:port/db\"",
        ))
    }
}

/// The cache key: SHA-256 over token URL, client id and scope, in hex.
pub fn cache_key(token_url: &str, client_id: &str, scope: Option<&str>) -> String {
    let material = format!("{token_url}\n{client_id}\n{}", scope.unwrap_or(""));
    let digest = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens the cache `spec` names for `key`. Does no network I/O.
pub fn open(
    spec: &CacheSpec,
    key: &str,
    io_timeout: Duration,
    lease: Duration,
) -> Result<Box<dyn SharedCache>> {
    Ok(match spec {
        CacheSpec::File(dir) => Box::new(FileCache::new(dir, key)?),
        CacheSpec::Redis(url) => Box::new(RedisCache::new(url, key, io_timeout, lease)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_depends_on_the_secret_and_separates_clients() {
        let a = cache_key("https://h/oauth/token", "id", None);
        assert_eq!(a.len(), 64);
        assert_eq!(a, cache_key("https://h/oauth/token", "id", None));
        assert_ne!(a, cache_key("https://h/oauth/token", "id", Some("read")));
        assert_ne!(a, cache_key("https://h/oauth/token", "other", None));
    }

    #[test]
    fn specs() {
        assert_eq!(
            CacheSpec::parse("file:/tmp/x").unwrap(),
            CacheSpec::File("/tmp/x".into())
        );
        assert!(matches!(
            CacheSpec::parse("redis://127.0.0.1:6379/0"),
            Ok(CacheSpec::Redis(_))
        ));
        for bad in ["file:", "memcached://x", "/tmp/x", ""] {
            assert!(CacheSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
