#![allow(dead_code)]
//! Runs `starmile-sandbox` as a child process for integration tests, and
//! drives its `/_sandbox/*` control API.
//!
//! ```ignore
//! let sandbox = Sandbox::start();
//! sandbox.faults("api", json!([{"status": 503, "headers": {"Retry-After": "1"}}]));
//! let config = sandbox.config_with(json!({"max_retries": 2}));
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

pub const CLIENT_ID: &str = "sandbox-client";
pub const CLIENT_SECRET: &str = "sandbox-secret";

/// How long the child may take to print its URL line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Sandbox {
    child: Child,
    url: String,
    ca_file: Option<PathBuf>,
    /// Removed on drop; only set for directories this helper created.
    temp_dir: Option<PathBuf>,
    agent: ureq::Agent,
}

impl Sandbox {
    /// Plain HTTP on 127.0.0.1, on a port the OS picks.
    pub fn start() -> Sandbox {
        Self::launch(&[], None)
    }

    /// HTTPS with a freshly generated CA, written to a new temp dir.
    pub fn start_tls() -> Sandbox {
        let dir = unique_temp_dir("tls");
        let dir_arg = dir.to_str().expect("temp dir path is UTF-8").to_string();
        Self::launch(&["--tls-self-signed", &dir_arg], Some(dir))
    }

    /// Extra CLI arguments. A `--tls-self-signed DIR` among them makes
    /// `ca_file()` and the control calls use `DIR/ca.pem`.
    pub fn start_with(args: &[&str]) -> Sandbox {
        Self::launch(args, None)
    }

    fn launch(args: &[&str], temp_dir: Option<PathBuf>) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_starmile-sandbox"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot spawn starmile-sandbox");
        let stdout = child.stdout.take().expect("stdout is piped");
        let url = match read_url_line(stdout) {
            Ok(url) => url,
            Err(message) => {
                let _ = child.kill();
                let status = child.wait();
                if let Some(dir) = &temp_dir {
                    let _ = std::fs::remove_dir_all(dir);
                }
                panic!("starmile-sandbox {args:?}: {message} (exit: {status:?})");
            }
        };
        let ca_file = self_signed_dir(args)
            .or(temp_dir.clone())
            .map(|dir| dir.join("ca.pem"));
        let agent = control_agent(ca_file.as_deref());
        Sandbox {
            child,
            url,
            ca_file,
            temp_dir,
            agent,
        }
    }

    /// The first stdout line, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `url() + path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// An agent that trusts the sandbox's CA (if any) and returns non-2xx
    /// answers as responses rather than errors.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// A client configuration pointing at this sandbox.
    pub fn config(&self) -> Value {
        let mut config = json!({
            "base_url": self.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        });
        if let Some(ca) = &self.ca_file {
            config["ca_file"] = json!(ca.to_str().expect("CA path is UTF-8"));
        }
        config
    }

    /// `config()` with the keys of `extra` (an object) added or replaced,
    /// serialized to a JSON string.
    pub fn config_with(&self, extra: Value) -> String {
        let mut config = self.config();
        let extra = extra.as_object().expect("config_with takes a JSON object");
        for (key, value) in extra {
            config[key] = value.clone();
        }
        config.to_string()
    }

    pub fn stats(&self) -> Value {
        let mut response = self
            .agent
            .get(self.endpoint("/_sandbox/stats"))
            .call()
            .expect("GET /_sandbox/stats");
        let text = response.body_mut().read_to_string().expect("stats body");
        serde_json::from_str(&text).expect("stats are JSON")
    }

    pub fn token_requests(&self) -> u64 {
        self.stats()["token_requests"]
            .as_u64()
            .expect("token_requests is a number")
    }

    /// Merges `settings` into the sandbox's settings; panics if refused.
    pub fn settings(&self, settings: Value) {
        self.control("/_sandbox/settings", settings);
    }

    /// Queues `faults` (a JSON array) for `target` ("token" or "api").
    pub fn faults(&self, target: &str, faults: Value) {
        self.control(
            "/_sandbox/faults",
            json!({"target": target, "faults": faults}),
        );
    }

    pub fn revoke(&self) {
        self.control("/_sandbox/revoke", json!({}));
    }

    pub fn reset(&self) {
        self.control("/_sandbox/reset", json!({}));
    }

    /// Gets an access token with the default credentials (form body).
    pub fn access_token(&self) -> String {
        let mut response = self
            .agent
            .post(self.endpoint("/oauth/token"))
            .send_form([
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .expect("POST /oauth/token");
        let text = response.body_mut().read_to_string().expect("token body");
        assert_eq!(response.status(), 200, "token request failed: {text}");
        let answer: Value = serde_json::from_str(&text).expect("token answer is JSON");
        answer["access_token"]
            .as_str()
            .expect("access_token is a string")
            .to_string()
    }

    /// POSTs a JSON body to a control endpoint and returns its JSON answer;
    /// panics unless it answers 200.
    fn control(&self, path: &str, body: Value) -> Value {
        let mut response = self
            .agent
            .post(self.endpoint(path))
            .header("content-type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let text = response.body_mut().read_to_string().expect("control body");
        assert_eq!(response.status(), 200, "POST {path} refused: {text}");
        serde_json::from_str(&text).expect("control answer is JSON")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Reads the URL line on a helper thread so a silent child cannot hang the
/// test: the wait is bounded by `STARTUP_TIMEOUT`.
fn read_url_line(stdout: ChildStdout) -> Result<String, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = match BufReader::new(stdout).read_line(&mut line) {
            Ok(0) => Err("exited without printing its URL".to_string()),
            Ok(_) => Ok(line.trim().to_string()),
            Err(e) => Err(format!("cannot read its stdout: {e}")),
        };
        let _ = sender.send(result);
    });
    receiver
        .recv_timeout(STARTUP_TIMEOUT)
        .unwrap_or_else(|_| Err(format!("printed no URL within {STARTUP_TIMEOUT:?}")))
}

/// The DIR of `--tls-self-signed DIR` or `--tls-self-signed=DIR`, if given.
fn self_signed_dir(args: &[&str]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, arg)| {
        if *arg == "--tls-self-signed" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            arg.strip_prefix("--tls-self-signed=").map(PathBuf::from)
        }
    })
}

/// An agent for tests: HTTP errors are answers, not `Err`, and when a CA is
/// given it is the only trusted root.
pub fn control_agent(ca_file: Option<&Path>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)));
    if let Some(ca_file) = ca_file {
        config = config.tls_config(trusting(ca_file));
    }
    config.build().new_agent()
}

/// A TLS configuration whose only roots are the certificates in `ca_file`.
pub fn trusting(ca_file: &Path) -> ureq::tls::TlsConfig {
    let pem =
        std::fs::read(ca_file).unwrap_or_else(|e| panic!("cannot read {}: {e}", ca_file.display()));
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    assert!(!certs.is_empty(), "no certificate in {}", ca_file.display());
    ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build()
}

/// A path under the system temp dir that no other test (or run) uses.
pub fn unique_temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "starmile-sandbox-{label}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}
