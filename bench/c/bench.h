/*
 * Shared helpers for the C benchmarks of libstarmile (header-only).
 *
 * - The client is configured from STARMILE_BASE_URL, STARMILE_CLIENT_ID and
 *   STARMILE_CLIENT_SECRET (bench/run.sh sets them for the sandbox it runs),
 *   plus extra config keys given as a JSON fragment.
 * - Results go to stdout as "key value" lines that bench/run.sh reads;
 *   progress and errors go to stderr.
 * - A broken call (anything but SM_OK, or an HTTP status other than the one
 *   expected) is counted, and the program exits non-zero when it has no
 *   figure to give: a benchmark fails when the library is broken, never on
 *   a timing.
 */
#ifndef STARMILE_BENCH_H
#define STARMILE_BENCH_H

#define _GNU_SOURCE

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "starmile.h"

#define B_FN static __attribute__((unused))

B_FN void b_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

B_FN void b_die(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fputs("bench: ", stderr);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  exit(1);
}

/* Monotonic wall clock, nanoseconds. */
B_FN uint64_t b_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time the calling thread has used, nanoseconds. */
B_FN uint64_t b_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (every thread, the library's too), nanoseconds. */
B_FN uint64_t b_process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* VmRSS of this process in KiB, from /proc/self/status; -1 if unreadable. */
B_FN long b_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

B_FN const char *b_env(const char *name) {
  const char *value = getenv(name);
  if (!value || !*value) b_die("%s is not set (bench/run.sh sets it)", name);
  return value;
}

/*
 * A client for the server in the environment. `extra` is "" or more config
 * members starting with a comma, e.g. ", \"refresh_before_s\": 0".
 */
B_FN sm_client b_client(const char *extra) {
  char config[2048];
  char *error = NULL;
  sm_client client = 0;
  int n = snprintf(config, sizeof config,
                   "{\"base_url\": \"%s\", \"client_id\": \"%s\", \"client_secret\": \"%s\"%s}",
                   b_env("STARMILE_BASE_URL"), b_env("STARMILE_CLIENT_ID"),
                   b_env("STARMILE_CLIENT_SECRET"), extra);
  if (n < 0 || (size_t)n >= sizeof config) b_die("config too long");
  sm_status status = sm_client_new(config, &client, &error);
  if (status != SM_OK) b_die("sm_client_new: %s: %s", sm_status_name(status), error);
  return client;
}

/* One GET, checked: returns 1 when it answered `want`, 0 otherwise. */
B_FN int b_get(sm_client client, const char *path, unsigned want) {
  sm_response *response = NULL;
  char *error = NULL;
  sm_status status = sm_request(client, "GET", path, NULL, NULL, 0, &response, &error);
  if (status != SM_OK) {
    fprintf(stderr, "bench: GET %s: %s: %s\n", path, sm_status_name(status), error);
    sm_string_free(error);
    return 0;
  }
  unsigned got = sm_response_status(response);
  sm_response_free(response);
  if (got != want) {
    fprintf(stderr, "bench: GET %s answered %u, expected %u\n", path, got, want);
    return 0;
  }
  return 1;
}

B_FN int b_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

B_FN int b_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The median of n values (sorts them in place). */
B_FN double b_median(double *values, size_t n) {
  qsort(values, n, sizeof *values, b_cmp_double);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Positive integer from argv, or die naming it. */
B_FN long b_arg_long(const char *text, const char *what) {
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (!end || *end || value <= 0) b_die("%s must be a positive integer, got '%s'", what, text);
  return value;
}

B_FN double b_arg_double(const char *text, const char *what) {
  char *end = NULL;
  double value = strtod(text, &end);
  if (!end || *end || value <= 0) b_die("%s must be a positive number, got '%s'", what, text);
  return value;
}

#endif
