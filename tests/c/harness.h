/*
 * A tiny test harness for the C tests of libstarmile (header-only; each test
 * program includes it first).
 *
 * - Starts starmile-sandbox (env STARMILE_SANDBOX_BIN, default
 *   ../../target/release/starmile-sandbox) on a free port, reads its URL from
 *   the first line it prints, and stops it at exit.
 * - Talks to the sandbox's control API (/_sandbox/..., no token needed) over a
 *   raw loopback socket, so the library under test is not used to test itself.
 * - Include it before any system header: it selects POSIX.1-2008.
 * - CHECK macros record failures; h_run() prints one line per case and
 *   h_finish() the closing "N passed, N failed" line and the exit code.
 */
#ifndef STARMILE_TEST_HARNESS_H
#define STARMILE_TEST_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "starmile.h"

#define H_CLIENT_ID "sandbox-client"
#define H_CLIENT_SECRET "sandbox-secret"

/* ---- checks ------------------------------------------------------------ */

static int h_passed;
static int h_failed;
static int h_case_failures;

/* Every helper is static; not every program uses every one. */
#define H_FN static __attribute__((unused))

H_FN void h_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

H_FN void h_fail(const char *file, int line, const char *fmt, ...) {
  va_list args;
  h_case_failures++;
  fprintf(stdout, "    %s:%d: ", file, line);
  va_start(args, fmt);
  vfprintf(stdout, fmt, args);
  va_end(args);
  fputc('\n', stdout);
  fflush(stdout);
}

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) h_fail(__FILE__, __LINE__, "check failed: %s", #cond);   \
  } while (0)

/* Compares two sm_status values and names both on failure. */
#define CHECK_STATUS(got, want)                                            \
  do {                                                                     \
    int h_got_ = (int)(got), h_want_ = (int)(want);                        \
    if (h_got_ != h_want_)                                                 \
      h_fail(__FILE__, __LINE__, "%s gave %s, expected %s", #got,          \
             sm_status_name(h_got_), sm_status_name(h_want_));             \
  } while (0)

#define CHECK_EQ_LL(got, want)                                             \
  do {                                                                     \
    long long h_got_ = (long long)(got), h_want_ = (long long)(want);      \
    if (h_got_ != h_want_)                                                 \
      h_fail(__FILE__, __LINE__, "%s is %lld, expected %lld", #got,        \
             h_got_, h_want_);                                             \
  } while (0)

/* `hay` is a non-NULL string containing `needle`. */
#define CHECK_CONTAINS(hay, needle)                                        \
  do {                                                                     \
    const char *h_hay_ = (hay);                                            \
    if (h_hay_ == NULL || strstr(h_hay_, (needle)) == NULL)                \
      h_fail(__FILE__, __LINE__, "%s (\"%s\") does not contain \"%s\"",    \
             #hay, h_hay_ ? h_hay_ : "(null)", (needle));                  \
  } while (0)

/* `hay` does not contain `needle` (the text is not printed: it may hold a
 * secret). */
#define CHECK_NOT_CONTAINS(hay, needle)                                    \
  do {                                                                     \
    const char *h_hay_ = (hay);                                            \
    if (h_hay_ != NULL && strstr(h_hay_, (needle)) != NULL)                \
      h_fail(__FILE__, __LINE__, "%s contains a forbidden string", #hay);  \
  } while (0)

/* Runs one case and prints its line. */
H_FN void h_run(const char *name, void (*fn)(void)) {
  h_case_failures = 0;
  fn();
  if (h_case_failures == 0) {
    h_passed++;
    printf("ok   %s\n", name);
  } else {
    h_failed++;
    printf("FAIL %s\n", name);
  }
  fflush(stdout);
}

/* ---- time -------------------------------------------------------------- */

H_FN long long h_now_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

H_FN void h_sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- the sandbox ------------------------------------------------------- */

static pid_t h_sandbox_pid;
static pid_t h_sandbox_owner; /* a forked child must not stop the sandbox */
static FILE *h_sandbox_out;
static char h_base_url[128];
static int h_port;

H_FN void h_sandbox_stop(void) {
  if (h_sandbox_pid <= 0 || getpid() != h_sandbox_owner) return;
  kill(h_sandbox_pid, SIGTERM);
  waitpid(h_sandbox_pid, NULL, 0);
  h_sandbox_pid = 0;
  if (h_sandbox_out != NULL) {
    fclose(h_sandbox_out);
    h_sandbox_out = NULL;
  }
}

/* Starts the sandbox on a free port; exits the program when it cannot. */
H_FN void h_sandbox_start(void) {
  const char *bin = getenv("STARMILE_SANDBOX_BIN");
  int fds[2];
  char line[256];
  char *colon;
  if (bin == NULL || *bin == '\0') bin = "../../target/release/starmile-sandbox";
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(NULL);
  h_sandbox_pid = fork();
  if (h_sandbox_pid < 0) {
    perror("fork");
    exit(2);
  }
  if (h_sandbox_pid == 0) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
#endif
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(bin, bin, "--port", "0", (char *)NULL);
    fprintf(stderr, "cannot run the sandbox %s: %s\n", bin, strerror(errno));
    _exit(127);
  }
  h_sandbox_owner = getpid();
  atexit(h_sandbox_stop);
  close(fds[1]);
  h_sandbox_out = fdopen(fds[0], "r");
  if (h_sandbox_out == NULL || fgets(line, sizeof line, h_sandbox_out) == NULL) {
    fprintf(stderr, "the sandbox (%s) printed no URL\n", bin);
    exit(2);
  }
  line[strcspn(line, "\r\n")] = '\0';
  colon = strrchr(line, ':');
  if (strncmp(line, "http://127.0.0.1:", 17) != 0 || colon == NULL ||
      strlen(line) >= sizeof h_base_url) {
    fprintf(stderr, "unexpected sandbox URL line: %s\n", line);
    exit(2);
  }
  strcpy(h_base_url, line);
  h_port = atoi(colon + 1);
}

/* ---- the control API over a raw socket --------------------------------- */

/*
 * Sends one HTTP/1.1 request to the sandbox and returns the status (or -1).
 * The response body (NUL-terminated, truncated to fit) goes to `body_out`.
 * Uses a static buffer: call it from one thread at a time.
 */
H_FN int h_http(const char *method, const char *path, const char *body,
                  char *body_out, size_t body_out_size) {
  static char buf[1 << 16];
  struct sockaddr_in addr;
  size_t used = 0, len;
  ssize_t n;
  int fd, status = -1;
  char request[4096];
  const char *head_end;
  size_t body_len = body ? strlen(body) : 0;

  if (body_out_size > 0) body_out[0] = '\0';
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)h_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  len = (size_t)snprintf(request, sizeof request,
                         "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         "Connection: close\r\nContent-Type: application/json\r\n"
                         "Content-Length: %lu\r\n\r\n%s",
                         method, path, h_port, (unsigned long)body_len,
                         body ? body : "");
  if (len >= sizeof request ||
      send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
    close(fd);
    return -1;
  }
  while (used < sizeof buf - 1 &&
         (n = recv(fd, buf + used, sizeof buf - 1 - used, 0)) > 0)
    used += (size_t)n;
  close(fd);
  buf[used] = '\0';
  if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) return -1;
  head_end = strstr(buf, "\r\n\r\n");
  if (head_end != NULL && body_out_size > 0) {
    strncpy(body_out, head_end + 4, body_out_size - 1);
    body_out[body_out_size - 1] = '\0';
  }
  return status;
}

/* POSTs a control request; a refusal is a broken test, so it exits. */
H_FN void h_control(const char *path, const char *json) {
  char answer[1024];
  int status = h_http("POST", path, json, answer, sizeof answer);
  if (status != 200) {
    fprintf(stderr, "control request %s %s failed (%d): %s\n", path, json,
            status, answer);
    exit(2);
  }
}

H_FN void h_reset(void) { h_control("/_sandbox/reset", "{}"); }
H_FN void h_settings(const char *json) { h_control("/_sandbox/settings", json); }
H_FN void h_faults(const char *json) { h_control("/_sandbox/faults", json); }

/* A number in a flat search of JSON `text` for `"key":`; -1 when absent. */
H_FN long long h_json_number(const char *text, const char *key) {
  char pattern[160];
  const char *at;
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  at = text ? strstr(text, pattern) : NULL;
  if (at == NULL) return -1;
  at += strlen(pattern);
  while (*at == ' ') at++;
  return strtoll(at, NULL, 10);
}

/*
 * A counter of GET /_sandbox/stats, e.g. "token_requests", or a route of its
 * "requests" map such as "GET /v1/echo" (0 when the route was never hit).
 */
H_FN long long h_stat(const char *key) {
  static char stats[1 << 16];
  long long value;
  if (h_http("GET", "/_sandbox/stats", NULL, stats, sizeof stats) != 200) {
    fprintf(stderr, "GET /_sandbox/stats failed\n");
    exit(2);
  }
  value = h_json_number(stats, key);
  return value < 0 ? 0 : value;
}

/* ---- clients ----------------------------------------------------------- */

/*
 * A config for the sandbox with the default credentials; `extra` is "" or
 * more members starting with a comma, e.g. ",\"max_retries\":0".
 */
H_FN void h_config(char *out, size_t size, const char *extra) {
  snprintf(out, size,
           "{\"base_url\":\"%s\",\"client_id\":\"" H_CLIENT_ID
           "\",\"client_secret\":\"" H_CLIENT_SECRET "\"%s}",
           h_base_url, extra ? extra : "");
}

/* A new client for the sandbox (0 after a failure, which is reported). */
H_FN sm_client h_client(const char *extra) {
  char config[1024];
  char *error = NULL;
  sm_client client = 0;
  sm_status status;
  h_config(config, sizeof config, extra);
  status = sm_client_new(config, &client, &error);
  if (status != SM_OK) {
    h_fail(__FILE__, __LINE__, "sm_client_new: %s: %s", sm_status_name(status),
           error ? error : "(no message)");
  }
  sm_string_free(error);
  return client;
}

/* GET `path`: the HTTP status of the answer, or 0 after a failed call
 * (reported, with its status name and message, at the caller's line). */
#define h_get_status(client, path) h_get_status_at(__FILE__, __LINE__, client, path)
H_FN long long h_get_status_at(const char *file, int line, sm_client client,
                               const char *path) {
  sm_response *response = NULL;
  char *error = NULL;
  long long http_status = 0;
  sm_status status = sm_request(client, "GET", path, NULL, NULL, 0, &response, &error);
  if (status == SM_OK)
    http_status = sm_response_status(response);
  else
    h_fail(file, line, "GET %s [pid %d]: %s: %s", path, (int)getpid(),
           sm_status_name(status), error ? error : "(no message)");
  sm_response_free(response);
  sm_string_free(error);
  return http_status;
}

/* GET `path` fails with `want`: no response, and a message. */
#define h_get_fails(client, path, want) h_get_fails_at(__FILE__, __LINE__, client, path, want)
H_FN void h_get_fails_at(const char *file, int line, sm_client client, const char *path,
                         sm_status want) {
  sm_response *response = (sm_response *)&h_passed; /* any non-NULL value */
  char *error = NULL;
  sm_status status = sm_request(client, "GET", path, NULL, NULL, 0, &response, &error);
  if (status != want)
    h_fail(file, line, "GET %s gave %s, expected %s", path, sm_status_name(status),
           sm_status_name(want));
  if (status != SM_OK && response != NULL)
    h_fail(file, line, "GET %s failed but left out_response set", path);
  if (status != SM_OK && error == NULL)
    h_fail(file, line, "GET %s failed without a message", path);
  if (status == SM_OK) sm_response_free(response);
  sm_string_free(error);
}

/* ---- start and finish -------------------------------------------------- */

H_FN void h_start(const char *program) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  h_sandbox_start();
  printf("# %s: libstarmile %s, sandbox at %s\n", program, sm_version(),
         h_base_url);
}

/* Prints the closing line, stops the sandbox; returns the exit code. */
H_FN int h_finish(void) {
  h_sandbox_stop();
  printf("%d passed, %d failed\n", h_passed, h_failed);
  return h_failed == 0 ? 0 : 1;
}

#endif /* STARMILE_TEST_HARNESS_H */
