/*
 * Part 2: sm_request GET /v1/echo in a loop on one thread (one keep-alive
 * connection), after a warm-up that fetches the token.
 *
 *   request_loop [-s SECONDS] [-n MAX_REQUESTS] [-w WARMUP]
 *
 * Prints: requests, seconds, req_per_s, cpu_us_per_req (this process's CPU,
 * all threads, per request; the server's is not included), and threads_per_req: how many
 * threads the library started per request (counted by interposing
 * pthread_create, which this executable exports to libstarmile.so).
 */
#include "bench.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_long threads_started;

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                   void *arg) {
  typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  static create_fn real;
  if (!real) {
    void *symbol = dlsym(RTLD_NEXT, "pthread_create");
    if (!symbol) b_die("cannot find the real pthread_create");
    memcpy(&real, &symbol, sizeof real);
  }
  atomic_fetch_add(&threads_started, 1);
  return real(thread, attr, start, arg);
}

int main(int argc, char **argv) {
  double seconds = 3;
  long max_requests = 0, warmup = 200;
  int opt;
  while ((opt = getopt(argc, argv, "s:n:w:")) != -1) {
    switch (opt) {
      case 's': seconds = b_arg_double(optarg, "-s"); break;
      case 'n': max_requests = b_arg_long(optarg, "-n"); break;
      case 'w': warmup = b_arg_long(optarg, "-w"); break;
      default: b_die("usage: request_loop [-s SECONDS] [-n MAX_REQUESTS] [-w WARMUP]");
    }
  }
  sm_client client = b_client("");
  for (long i = 0; i < warmup; i++)
    if (!b_get(client, "/v1/echo", 200)) b_die("warm-up request failed");

  uint64_t deadline = b_now_ns() + (uint64_t)(seconds * 1e9);
  long threads0 = atomic_load(&threads_started);
  uint64_t cpu0 = b_process_cpu_ns(), t0 = b_now_ns(), now = t0;
  long requests = 0, failures = 0;
  while (now < deadline && (!max_requests || requests < max_requests)) {
    for (int i = 0; i < 16; i++) failures += !b_get(client, "/v1/echo", 200);
    requests += 16;
    now = b_now_ns();
  }
  uint64_t cpu = b_process_cpu_ns() - cpu0;
  long threads = atomic_load(&threads_started) - threads0;
  double elapsed = (double)(now - t0) / 1e9;
  printf("requests %ld\n", requests);
  printf("failures %ld\n", failures);
  printf("seconds %.3f\n", elapsed);
  printf("req_per_s %.0f\n", (double)requests / elapsed);
  printf("cpu_us_per_req %.2f\n", (double)cpu / 1e3 / (double)requests);
  printf("threads_per_req %.2f\n", (double)threads / (double)requests);
  sm_client_free(client);
  if (failures) b_die("%ld requests failed", failures);
  return 0;
}
