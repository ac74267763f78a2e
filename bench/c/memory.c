/*
 * Part 5: resident memory (VmRSS from /proc/self/status).
 *
 *   memory clients N
 *     RSS before, after creating N clients (each used for nothing: creating
 *     one does no I/O), after freeing them all, and the same again for a
 *     second round (which should reuse the first round's memory).
 *   memory requests [-s SECONDS] [-n MAX_REQUESTS] [-e SAMPLE_EVERY] [-w WARMUP]
 *     One client: RSS after WARMUP requests, then every SAMPLE_EVERY requests
 *     until MAX_REQUESTS are sent or SECONDS have passed.
 *
 * Prints "key value" lines; samples as "sample <requests> <rss_kib>".
 */
#include "bench.h"

#include <unistd.h>

/* Creates n clients, then frees them; returns the RSS with all n alive. */
static long clients_round(sm_client *clients, long n, uint64_t *create_ns, long *invalid) {
  uint64_t t0 = b_now_ns();
  for (long i = 0; i < n; i++) clients[i] = b_client("");
  *create_ns = b_now_ns() - t0;
  long alive = b_rss_kib();
  for (long i = 0; i < n; i++) *invalid += sm_client_free(clients[i]) != SM_OK;
  return alive;
}

static int clients_mode(long n) {
  sm_client *clients = calloc((size_t)n, sizeof *clients);
  if (!clients) b_die("out of memory");
  long invalid = 0;
  uint64_t create_ns = 0, again_ns = 0;
  long before = b_rss_kib();
  long alive = clients_round(clients, n, &create_ns, &invalid);
  long freed = b_rss_kib();
  /* A second round reuses what the first freed, unless something leaked. */
  long alive_again = clients_round(clients, n, &again_ns, &invalid);
  long freed_again = b_rss_kib();
  free(clients);
  printf("clients %ld\n", n);
  printf("rss_before_kib %ld\n", before);
  printf("rss_after_kib %ld\n", alive);
  printf("rss_after_free_kib %ld\n", freed);
  printf("rss_round2_kib %ld\n", alive_again);
  printf("rss_round2_free_kib %ld\n", freed_again);
  printf("kib_per_client %.2f\n", (double)(alive - before) / (double)n);
  printf("us_per_client_new %.2f\n", (double)create_ns / 1e3 / (double)n);
  if (invalid) b_die("%ld clients could not be freed", invalid);
  return 0;
}

static int requests_mode(int argc, char **argv) {
  double seconds = 60;
  long max_requests = 1000000, every = 100000, warmup = 10000;
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "s:n:e:w:")) != -1) {
    switch (opt) {
      case 's': seconds = b_arg_double(optarg, "-s"); break;
      case 'n': max_requests = b_arg_long(optarg, "-n"); break;
      case 'e': every = b_arg_long(optarg, "-e"); break;
      case 'w': warmup = b_arg_long(optarg, "-w"); break;
      default: b_die("usage: memory requests [-s SECONDS] [-n MAX] [-e EVERY] [-w WARMUP]");
    }
  }
  sm_client client = b_client("");
  long rss_start = b_rss_kib();
  for (long i = 0; i < warmup; i++)
    if (!b_get(client, "/v1/echo", 200)) b_die("warm-up request failed");
  long rss_warm = b_rss_kib();
  printf("rss_start_kib %ld\n", rss_start);
  printf("warmup %ld\n", warmup);
  printf("rss_warm_kib %ld\n", rss_warm);
  fflush(stdout);

  uint64_t t0 = b_now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9);
  long requests = 0, failures = 0, rss_max = rss_warm, rss_last = rss_warm;
  while (requests < max_requests && b_now_ns() < deadline) {
    failures += !b_get(client, "/v1/echo", 200);
    requests++;
    if (requests % every == 0) {
      rss_last = b_rss_kib();
      if (rss_last > rss_max) rss_max = rss_last;
      printf("sample %ld %ld\n", requests, rss_last);
      fflush(stdout);
    }
  }
  double elapsed = (double)(b_now_ns() - t0) / 1e9;
  rss_last = b_rss_kib();
  if (rss_last > rss_max) rss_max = rss_last;
  printf("requests %ld\n", requests);
  printf("failures %ld\n", failures);
  printf("seconds %.1f\n", elapsed);
  printf("rss_final_kib %ld\n", rss_last);
  printf("rss_max_kib %ld\n", rss_max);
  printf("growth_kib %ld\n", rss_last - rss_warm);
  sm_client_free(client);
  if (failures) b_die("%ld requests failed", failures);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "clients") == 0)
    return clients_mode(b_arg_long(argv[2], "N"));
  if (argc >= 2 && strcmp(argv[1], "requests") == 0) return requests_mode(argc, argv);
  b_die("usage: memory clients N | memory requests [-s SECONDS] [-n MAX] [-e EVERY] [-w WARMUP]");
}
