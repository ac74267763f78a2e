//! The shared token cache (`token_cache`): many processes, one token fetch
//! per lifetime, for `file:` and for Redis; a dead Redis or a killed lock
//! holder never stops a client. Children are real processes (this test binary
//! re-run as `cache_child`), each with its own in-process cache.
#![cfg(feature = "sandbox")]

mod common;

use common::Sandbox;
use serde_json::{json, Value};
use starmile::Client;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Run by the tests below in child processes; not a test on its own.
/// Env: STARMILE_TEST_CONFIG, CHILD_SECONDS (how long to keep sending requests).
#[test]
#[ignore]
fn cache_child() {
    let Ok(config) = std::env::var("STARMILE_TEST_CONFIG") else {
        return;
    };
    let seconds: f64 = std::env::var("CHILD_SECONDS").unwrap().parse().unwrap();
    let client = Client::new(&config).unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut sent = 0;
    loop {
        match client.request("GET", "/v1/echo", None, b"") {
            Ok(r) if r.status == 200 => sent += 1,
            other => panic!("request {sent} failed: {other:?}"),
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    println!("CHILD_OK {sent}");
}

fn spawn_child(config: &str, seconds: f64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "cache_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STARMILE_TEST_CONFIG", config)
        .env("CHILD_SECONDS", seconds.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn assert_child_ok(child: Child) {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD_OK"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// 16 processes, each sending requests for `seconds`, all through one cache.
fn run_processes(config: &str, seconds: f64) {
    let children: Vec<Child> = (0..16).map(|_| spawn_child(config, seconds)).collect();
    children.into_iter().for_each(assert_child_ok);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "starmile-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Redis server on a free loopback port, stopped on drop.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "redis-server not found: `apt-get install redis-server` (make test installs it)",
            );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Lifetime 3 s, no refresh window: a token is fetched only when the last
/// one expired, so 7 s of traffic need exactly 3 — however many processes.
fn sixteen_processes_one_fetch_per_lifetime(token_cache: &str) {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 3}));
    let config = sandbox.config_with(json!({"token_cache": token_cache, "refresh_before_s": 0}));
    run_processes(&config, 7.0);
    let requests = sandbox.token_requests();
    println!("{token_cache}: 16 processes, 3 lifetimes -> {requests} token requests");
    assert_eq!(requests, 3);
}

/// With the refresh window on (1 s before expiry), one process refreshes and
/// the others adopt its token: one fetch per refresh period, not sixteen.
fn sixteen_processes_share_background_refreshes(token_cache: &str) {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 3}));
    let config = sandbox.config_with(json!({"token_cache": token_cache, "refresh_before_s": 1}));
    run_processes(&config, 7.0);
    let requests = sandbox.token_requests();
    println!("{token_cache}: 16 processes, refresh every 2 s for 7 s -> {requests} token requests");
    // Fetch at 0 s, refreshes near 2, 4 and 6 s.
    assert!((3..=5).contains(&requests), "{requests} token requests");
}

#[test]
fn file_cache_sixteen_processes_one_fetch_per_lifetime() {
    let dir = temp_dir("cache");
    sixteen_processes_one_fetch_per_lifetime(&format!("file:{}", dir.display()));
    // What is stored: the token and its expiry, in a private file.
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    let entry = files
        .iter()
        .find(|f| f.file_name().to_string_lossy().ends_with(".json"))
        .expect("a cache entry");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        entry.metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
    let keys: Vec<&String> = stored.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access_token", "expires_at_ms"]);
    assert!(!std::fs::read_to_string(entry.path())
        .unwrap()
        .contains("sandbox-secret"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn file_cache_sixteen_processes_share_background_refreshes() {
    let dir = temp_dir("cache-refresh");
    sixteen_processes_share_background_refreshes(&format!("file:{}", dir.display()));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn redis_cache_sixteen_processes_one_fetch_per_lifetime() {
    let redis = Redis::start();
    sixteen_processes_one_fetch_per_lifetime(&redis.url);
}

#[test]
fn redis_cache_sixteen_processes_share_background_refreshes() {
    let redis = Redis::start();
    sixteen_processes_share_background_refreshes(&redis.url);
}

#[test]
fn redis_entries_expire_with_the_token() {
    let redis = Redis::start();
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 30}));
    let client = Client::new(&sandbox.config_with(json!({"token_cache": redis.url}))).unwrap();
    client.get_token().unwrap();
    let mut connection = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("starmile:token:*")
        .query(&mut connection)
        .unwrap();
    assert_eq!(keys.len(), 1);
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query(&mut connection)
        .unwrap();
    assert!((25_000..=30_000).contains(&ttl_ms), "ttl {ttl_ms} ms");
}

#[test]
fn requests_keep_succeeding_when_redis_dies_mid_run() {
    let mut redis = Redis::start();
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_lifetime_s": 2}));
    let config = sandbox.config_with(json!({"token_cache": redis.url, "refresh_before_s": 0}));
    let children: Vec<Child> = (0..4).map(|_| spawn_child(&config, 5.0)).collect();
    std::thread::sleep(Duration::from_millis(1500));
    redis.stop();
    children.into_iter().for_each(assert_child_ok);
    // Without the cache each process fetched its own tokens: more requests,
    // but every request succeeded.
    assert!(sandbox.token_requests() >= 2);
}

#[test]
fn an_unreachable_redis_falls_back_to_the_in_process_cache() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = Sandbox::start();
    let client = Client::new(
        &sandbox.config_with(json!({"token_cache": format!("redis://127.0.0.1:{port}/0")})),
    )
    .unwrap();
    let first = client.get_token().unwrap();
    assert_eq!(client.get_token().unwrap(), first);
    assert_eq!(
        client.request("GET", "/v1/echo", None, b"").unwrap().status,
        200
    );
    assert_eq!(sandbox.token_requests(), 1);
}

/// A holder killed in the middle of its fetch: the next process takes over
/// (file: at once, the kernel drops the flock; Redis: when the lease ends).
fn killed_lock_holder_is_taken_over(token_cache: &str, bound: Duration) {
    let sandbox = Sandbox::start();
    sandbox.settings(json!({"token_latency_ms": 2000}));
    let config = sandbox
        .config_with(json!({"token_cache": token_cache, "timeout_ms": 4000, "max_retries": 0}));
    let mut holder = spawn_child(&config, 0.0);
    while sandbox.stats()["max_concurrent_token_requests"] == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let waiter = spawn_child(&config, 0.0);
    std::thread::sleep(Duration::from_millis(300));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_child_ok(waiter);
    let took = started.elapsed();
    println!("{token_cache}: took over after the holder died in {took:?}");
    assert!(took < bound, "took {took:?}");
    assert_eq!(
        sandbox.token_requests(),
        2,
        "the dead holder's fetch and the new one"
    );
}

#[test]
fn file_cache_killed_lock_holder_is_taken_over() {
    let dir = temp_dir("cache-kill");
    // The waiter's own fetch takes 2 s; the lock is free the moment the holder dies.
    killed_lock_holder_is_taken_over(&format!("file:{}", dir.display()), Duration::from_secs(4));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn redis_cache_killed_lock_holder_is_taken_over() {
    let redis = Redis::start();
    // The lease (= timeout_ms, 4 s) runs out, then the waiter fetches (2 s).
    killed_lock_holder_is_taken_over(&redis.url, Duration::from_secs(8));
}
