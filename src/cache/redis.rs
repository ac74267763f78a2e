//! `token_cache = "redis://host:port/db"`: many hosts. The entry expires with
//! the token (`PX`); the fetch lock is a lease taken with `SET NX PX` holding a
//! random fencing value, so a holder that outlived its lease can neither
//! overwrite a newer token nor release another holder's lock.

use super::{Entry, Lease, SharedCache};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const POLL: Duration = Duration::from_millis(20);

/// Stores the entry only while the caller still holds the lease.
const STORE_IF_HOLDER: &str = r"
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

/// Releases the lease only if it is still the caller's.
const RELEASE_IF_HOLDER: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

pub struct RedisCache {
    client: ::redis::Client,
    /// The connection and the process it was made in (a forked child must
    /// not share its parent's socket).
    connection: Mutex<Option<(u32, ::redis::Connection)>>,
    entry_key: String,
    lock_key: String,
    io_timeout: Duration,
    lease: Duration,
    shown: String,
}

fn io_error(e: ::redis::RedisError) -> io::Error {
    io::Error::other(format!("redis: {e}"))
}

impl RedisCache {
    pub fn new(url: &str, key: &str, io_timeout: Duration, lease: Duration) -> Result<RedisCache> {
        let client = ::redis::Client::open(url).map_err(|_| {
            Error::invalid_argument("config key `token_cache` is not a valid redis:// URL")
        })?;
        let info = client.get_connection_info();
        let shown = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
        Ok(RedisCache {
            client,
            connection: Mutex::new(None),
            entry_key: format!("starmile:token:{key}"),
            lock_key: format!("starmile:lock:{key}"),
            io_timeout,
            lease,
            shown,
        })
    }

    /// Runs `op` on this process's connection, connecting first when needed.
    /// A failed operation drops the connection, so the next one reconnects.
    fn with_connection<T>(
        &self,
        op: impl FnOnce(&mut ::redis::Connection) -> ::redis::RedisResult<T>,
    ) -> io::Result<T> {
        let pid = std::process::id();
        let mut slot = self.connection.lock();
        if slot.as_ref().is_none_or(|(owner, _)| *owner != pid) {
            let connection = self
                .client
                .get_connection_with_timeout(self.io_timeout)
                .map_err(io_error)?;
            connection
                .set_read_timeout(Some(self.io_timeout))
                .map_err(io_error)?;
            connection
                .set_write_timeout(Some(self.io_timeout))
                .map_err(io_error)?;
            *slot = Some((pid, connection));
        }
        let (_, connection) = slot.as_mut().expect("connected above");
        let result = op(connection);
        if result.is_err() {
            *slot = None;
        }
        result.map_err(io_error)
    }
}

impl SharedCache for RedisCache {
    fn load(&self) -> io::Result<Option<Entry>> {
        let value: Option<Vec<u8>> =
            self.with_connection(|c| ::redis::cmd("GET").arg(&self.entry_key).query(c))?;
        Ok(value.and_then(|bytes| Entry::from_json(&bytes)))
    }

    fn lock(&self, wait: Duration) -> io::Result<Option<Box<dyn Lease + '_>>> {
        let fencing = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let lease_ms = self.lease.as_millis().max(1) as u64;
        let started = Instant::now();
        loop {
            let taken: Option<String> = self.with_connection(|c| {
                ::redis::cmd("SET")
                    .arg(&self.lock_key)
                    .arg(&fencing)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease_ms)
                    .query(c)
            })?;
            if taken.is_some() {
                return Ok(Some(Box::new(RedisLease {
                    cache: self,
                    fencing,
                })));
            }
            if started.elapsed() >= wait {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }
}

struct RedisLease<'a> {
    cache: &'a RedisCache,
    fencing: String,
}

impl Lease for RedisLease<'_> {
    fn store(&mut self, entry: &Entry) -> io::Result<()> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let ttl_ms = entry.expires_at_ms.saturating_sub(now_ms);
        if ttl_ms <= 0 {
            return Ok(());
        }
        let cache = self.cache;
        let stored: i64 = cache.with_connection(|c| {
            ::redis::Script::new(STORE_IF_HOLDER)
                .key(&cache.entry_key)
                .key(&cache.lock_key)
                .arg(&self.fencing)
                .arg(entry.to_json().expose())
                .arg(ttl_ms)
                .invoke(c)
        })?;
        if stored == 0 {
            return Err(io::Error::other(
                "redis: the fetch lease expired before the token was stored",
            ));
        }
        Ok(())
    }
}

impl Drop for RedisLease<'_> {
    fn drop(&mut self) {
        let cache = self.cache;
        let _ = cache.with_connection(|c| {
            ::redis::Script::new(RELEASE_IF_HOLDER)
                .key(&cache.lock_key)
                .arg(&self.fencing)
                .invoke::<i64>(c)
        });
    }
}
