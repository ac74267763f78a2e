//! Part 2 of `make bench`, Rust side: GET /v1/echo in a loop on one thread,
//! as `bench/c/request_loop.c` does through `sm_request`, written three ways:
//!
//! - `ureq`: a bare ureq 3 agent with a fixed `Authorization: Bearer` header
//!   (the token fetched once beforehand): the floor for our HTTP stack;
//! - `client`: `starmile::Client::request`, the library without the C ABI;
//! - `ureq-timeout`: the bare loop with a global timeout set on the agent, as
//!   the library sets one: a diagnostic that isolates ureq's cost of it.
//!
//! `request_loop [--mode M]... [--seconds S] [--requests N] [--warmup N]`
//! prints `key value` lines (mode, requests, failures, seconds, req_per_s,
//! cpu_us_per_req: this process's CPU time per request) for each mode, all
//! three without `--mode`. Other arguments (cargo bench passes `--bench`)
//! are ignored.

mod common;

use starmile::Client;
use std::time::{Duration, Instant};

struct Options {
    modes: Vec<String>,
    seconds: f64,
    max_requests: u64,
    warmup: u64,
}

fn options() -> Options {
    let mut options = Options {
        modes: Vec::new(),
        seconds: 3.0,
        max_requests: 0,
        warmup: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--mode" => options.modes.push(value("--mode")),
            "--seconds" => options.seconds = value("--seconds").parse().expect("--seconds S"),
            "--requests" => {
                options.max_requests = value("--requests").parse().expect("--requests N")
            }
            "--warmup" => options.warmup = value("--warmup").parse().expect("--warmup N"),
            _ => {}
        }
    }
    if options.modes.is_empty() {
        options.modes = vec!["ureq".into(), "client".into()];
    }
    options
}

/// Runs `send` (which returns whether the request answered 200) after a
/// warm-up, until the time or request budget is spent, and prints the figures.
fn measure(mode: &str, options: &Options, mut send: impl FnMut() -> bool) {
    for _ in 0..options.warmup {
        assert!(send(), "{mode}: a warm-up request failed");
    }
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let cpu_start = common::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID);
    let start = Instant::now();
    let (mut requests, mut failures) = (0u64, 0u64);
    loop {
        for _ in 0..16 {
            failures += u64::from(!send());
        }
        requests += 16;
        if Instant::now() >= deadline
            || (options.max_requests > 0 && requests >= options.max_requests)
        {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = common::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    println!("mode {mode}");
    println!("requests {requests}");
    println!("failures {failures}");
    println!("seconds {seconds:.3}");
    println!("req_per_s {:.0}", requests as f64 / seconds);
    println!(
        "cpu_us_per_req {:.2}",
        cpu.as_secs_f64() * 1e6 / requests as f64
    );
    assert_eq!(failures, 0, "{mode}: {failures} requests failed");
}

fn main() {
    let options = options();
    let server = common::Server::from_env_or_start();
    let client = Client::new(&server.config("")).expect("client config");
    let echo = format!("{}/v1/echo", server.base_url);
    for mode in &options.modes {
        match mode.as_str() {
            "ureq" | "ureq-timeout" => {
                let bearer = format!("Bearer {}", client.get_token().expect("token").as_str());
                let agent = if mode == "ureq" {
                    ureq::Agent::new_with_defaults()
                } else {
                    // What the library's agent has and the bare one lacks: a
                    // global timeout, with which ureq resolves the host on a
                    // new thread for every request, pooled connection or not.
                    ureq::Agent::config_builder()
                        .timeout_global(Some(Duration::from_secs(30)))
                        .build()
                        .into()
                };
                measure(mode, &options, || {
                    match agent.get(&echo).header("Authorization", &bearer).call() {
                        Ok(mut response) => {
                            response.body_mut().read_to_vec().is_ok() && response.status() == 200
                        }
                        Err(_) => false,
                    }
                });
            }
            "client" => measure(mode, &options, || {
                client
                    .request("GET", "/v1/echo", None, b"")
                    .is_ok_and(|response| response.status == 200)
            }),
            other => panic!("unknown --mode {other} (ureq, ureq-timeout or client)"),
        }
    }
}
