//! Part 1 of `make bench`, Rust side: a cached `Client::get_token` (the call
//! and dropping the returned token) on 1, 2 and 8 threads sharing one client.
//!
//! `get_token/1_thread` is wall time per call. With several threads the
//! figure is CPU time per call (the threads' CPU time / calls), which other
//! processes on a shared machine do not inflate; it equals the 1-thread
//! figure when threads do not slow each other down.
//!
//! `cargo bench --features sandbox --bench get_token`

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use starmile::Client;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::Duration;

fn cached_get_token(c: &mut Criterion) {
    let server = common::Server::from_env_or_start();
    let client = Client::new(&server.config("")).expect("client config");
    client.get_token().expect("first token fetch");

    let mut group = c.benchmark_group("get_token");
    group.bench_function("1_thread", |b| {
        b.iter(|| black_box(client.get_token().expect("cached token")))
    });
    for threads in [2usize, 8] {
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let start_line = Barrier::new(threads);
                let cpu: Duration = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..threads)
                        .map(|_| {
                            scope.spawn(|| {
                                start_line.wait();
                                let start = common::cpu_time(libc::CLOCK_THREAD_CPUTIME_ID);
                                for _ in 0..iters {
                                    black_box(client.get_token().expect("cached token"));
                                }
                                common::cpu_time(libc::CLOCK_THREAD_CPUTIME_ID) - start
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().expect("worker")).sum()
                });
                // `iters` calls on each thread: CPU time per call.
                cpu / threads as u32
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = cached_get_token
}
criterion_main!(benches);
