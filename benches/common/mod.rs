//! The server a benchmark talks to: the one in `STARMILE_BASE_URL` (with
//! `STARMILE_CLIENT_ID` / `STARMILE_CLIENT_SECRET`), as `bench/run.sh` sets
//! up, or else a `starmile-sandbox` started here and stopped on drop, so that
//! a plain `cargo bench --features sandbox` works too.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    child: Option<Child>,
}

impl Server {
    pub fn from_env_or_start() -> Server {
        if let Ok(base_url) = std::env::var("STARMILE_BASE_URL") {
            let var = |name: &str, default: &str| {
                std::env::var(name).unwrap_or_else(|_| default.to_owned())
            };
            return Server {
                base_url,
                client_id: var("STARMILE_CLIENT_ID", "sandbox-client"),
                client_secret: var("STARMILE_CLIENT_SECRET", "sandbox-secret"),
                child: None,
            };
        }
        let bin = std::env::var_os("STARMILE_SANDBOX_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/starmile-sandbox")
            });
        let mut child = Command::new(&bin)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); run `cargo build --release --features sandbox` \
                     or set STARMILE_BASE_URL",
                    bin.display()
                )
            });
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sandbox prints its URL");
        Server {
            base_url: line.trim().to_owned(),
            client_id: "sandbox-client".to_owned(),
            client_secret: "sandbox-secret".to_owned(),
            child: Some(child),
        }
    }

    /// A client config for this server, with `extra` (`""` or `, "key": value`
    /// members) appended.
    pub fn config(&self, extra: &str) -> String {
        format!(
            r#"{{"base_url": {}, "client_id": {}, "client_secret": {}{extra}}}"#,
            json_string(&self.base_url),
            json_string(&self.client_id),
            json_string(&self.client_secret),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// CPU time so far on `clock`: `libc::CLOCK_THREAD_CPUTIME_ID` (the calling
/// thread) or `libc::CLOCK_PROCESS_CPUTIME_ID` (every thread of the process).
pub fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
