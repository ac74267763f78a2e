//! `token_cache = "file:<dir>"`: one host, many processes. The entry is a file
//! replaced atomically (write, then rename) with mode 0600; the fetch lock is
//! an advisory `flock` on a lock file, which the kernel releases when its
//! holder dies.

use super::{Entry, Lease, SharedCache};
use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(10);

pub struct FileCache {
    dir: PathBuf,
    entry: PathBuf,
    lock: PathBuf,
    key: String,
}

impl FileCache {
    pub fn new(dir: &Path, key: &str) -> Result<FileCache> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::invalid_argument(format!(
                    "token_cache directory {} cannot be created: {e}",
                    dir.display()
                ))
            })?;
        Ok(FileCache {
            dir: dir.to_owned(),
            entry: dir.join(format!("starmile-token-{key}.json")),
            lock: dir.join(format!("starmile-token-{key}.lock")),
            key: key.to_owned(),
        })
    }

    fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
        options.mode(0o600).open(path)
    }
}

impl SharedCache for FileCache {
    fn load(&self) -> io::Result<Option<Entry>> {
        match fs::read(&self.entry) {
            Ok(bytes) => Ok(Entry::from_json(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn lock(&self, wait: Duration) -> io::Result<Option<Box<dyn Lease + '_>>> {
        let file = FileCache::open_private(
            &self.lock,
            OpenOptions::new().create(true).truncate(false).write(true),
        )?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Some(Box::new(FileLease {
                        cache: self,
                        _lock: file,
                    })))
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(POLL)
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    fn describe(&self) -> String {
        format!("file:{}", self.dir.display())
    }
}

/// Holds the flock until dropped (closing the file releases it).
struct FileLease<'a> {
    cache: &'a FileCache,
    _lock: File,
}

impl Lease for FileLease<'_> {
    fn store(&mut self, entry: &Entry) -> io::Result<()> {
        let cache = self.cache;
        let temp = cache.dir.join(format!(
            ".starmile-token-{}.{}.{:x}.tmp",
            cache.key,
            std::process::id(),
            fastrand::u64(..)
        ));
        let written =
            FileCache::open_private(&temp, OpenOptions::new().write(true).create_new(true))
                .and_then(|mut file| file.write_all(entry.to_json().expose().as_bytes()))
                .and_then(|()| fs::rename(&temp, &cache.entry));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}
