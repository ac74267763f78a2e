/*
 * Part 4: token economy under load. THREADS threads share one client and
 * each sends GET /v1/echo every INTERVAL ms for SECONDS, while tokens expire
 * under them (the server's token lifetime is set short by bench/run.sh).
 *
 *   token_economy [-t THREADS] [-s SECONDS] [-i INTERVAL_MS] [-c EXTRA_CONFIG]
 *
 * EXTRA_CONFIG is appended to the client config, e.g. ', "refresh_before_s": 0'.
 * The first token is fetched before the clock starts, so every timed request
 * comes after the first fetch. Each request's latency is the time sm_request
 * took. Prints requests, failures, p50/p99/p999/max (microseconds), how many
 * requests took at least SLOW_MS (-l, default 50), and the client's own
 * counters (token_requests, background_refreshes).
 */
#include "bench.h"

#include <pthread.h>
#include <unistd.h>

static sm_client client;
static uint64_t start_ns, end_ns, interval_ns;

struct worker {
  pthread_t thread;
  uint64_t offset_ns; /* first request this long after the start */
  uint64_t *latencies;
  size_t count, capacity;
  long failures;
};

static void sleep_until(uint64_t when_ns) {
  struct timespec ts = {(time_t)(when_ns / 1000000000u), (long)(when_ns % 1000000000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  uint64_t next = start_ns + w->offset_ns;
  for (;;) {
    if (interval_ns) sleep_until(next);
    uint64_t t0 = b_now_ns();
    if (t0 >= end_ns) break;
    int ok = b_get(client, "/v1/echo", 200);
    uint64_t latency = b_now_ns() - t0;
    if (!ok) w->failures++;
    if (w->count == w->capacity) {
      w->capacity = w->capacity ? w->capacity * 2 : 4096;
      w->latencies = realloc(w->latencies, w->capacity * sizeof *w->latencies);
      if (!w->latencies) b_die("out of memory");
    }
    w->latencies[w->count++] = latency;
    next += interval_ns;
    if (next < t0) next = t0; /* fell behind: no bursts to catch up */
  }
  return NULL;
}

/* The integer after "\"key\":" in a JSON text, or -1. */
static long json_long(const char *json, const char *key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *at = strstr(json, pattern);
  return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

int main(int argc, char **argv) {
  long threads = 64, interval_ms = 20, slow_ms = 50;
  double seconds = 30;
  const char *extra = "";
  int opt;
  while ((opt = getopt(argc, argv, "t:s:i:c:l:")) != -1) {
    switch (opt) {
      case 't': threads = b_arg_long(optarg, "-t"); break;
      case 's': seconds = b_arg_double(optarg, "-s"); break;
      case 'i': interval_ms = strtol(optarg, NULL, 10); break;
      case 'c': extra = optarg; break;
      case 'l': slow_ms = b_arg_long(optarg, "-l"); break;
      default:
        b_die("usage: token_economy [-t THREADS] [-s SECONDS] [-i INTERVAL_MS] "
              "[-c EXTRA_CONFIG] [-l SLOW_MS]");
    }
  }
  interval_ns = (uint64_t)(interval_ms > 0 ? interval_ms : 0) * 1000000u;
  client = b_client(extra);
  char *token = NULL, *error = NULL;
  sm_status status = sm_get_token(client, &token, NULL, &error);
  if (status != SM_OK) b_die("first sm_get_token: %s: %s", sm_status_name(status), error);
  sm_string_free(token);

  struct worker *workers = calloc((size_t)threads, sizeof *workers);
  if (!workers) b_die("out of memory");
  start_ns = b_now_ns() + 20000000u; /* 20 ms for the threads to start */
  end_ns = start_ns + (uint64_t)(seconds * 1e9);
  for (long t = 0; t < threads; t++) {
    /* Spread the threads' first requests over one interval. */
    workers[t].offset_ns = interval_ns * (uint64_t)t / (uint64_t)threads;
    if (pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]) != 0)
      b_die("pthread_create failed");
  }
  size_t total = 0;
  long failures = 0;
  for (long t = 0; t < threads; t++) {
    pthread_join(workers[t].thread, NULL);
    total += workers[t].count;
    failures += workers[t].failures;
  }
  if (!total) b_die("no request was sent");
  uint64_t *all = malloc(total * sizeof *all);
  if (!all) b_die("out of memory");
  size_t n = 0, slow = 0;
  for (long t = 0; t < threads; t++) {
    memcpy(all + n, workers[t].latencies, workers[t].count * sizeof *all);
    n += workers[t].count;
    free(workers[t].latencies);
  }
  qsort(all, n, sizeof *all, b_cmp_u64);
  for (size_t i = 0; i < n; i++) slow += all[i] >= (uint64_t)slow_ms * 1000000u;

  char *stats = NULL;
  if (sm_client_stats(client, &stats, NULL) != SM_OK) b_die("sm_client_stats failed");
  printf("requests %zu\n", n);
  printf("failures %ld\n", failures);
  printf("p50_us %.0f\n", (double)all[n / 2] / 1e3);
  printf("p99_us %.0f\n", (double)all[n * 99 / 100] / 1e3);
  printf("p999_us %.0f\n", (double)all[n * 999 / 1000] / 1e3);
  printf("max_us %.0f\n", (double)all[n - 1] / 1e3);
  printf("slow_ms %ld\n", slow_ms);
  printf("slow %zu\n", slow);
  printf("client_token_requests %ld\n", json_long(stats, "token_requests"));
  printf("client_background_refreshes %ld\n", json_long(stats, "background_refreshes"));
  sm_string_free(stats);
  free(all);
  free(workers);
  sm_client_free(client);
  return failures ? 1 : 0;
}
