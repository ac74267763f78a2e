/*
 * The soak of libstarmile: many threads share one client through the C ABI
 * for minutes while the sandbox injects faults on a schedule, and every
 * outcome is checked against the fault that explains it.
 *
 *   SOAK_SECONDS        run time (default 600)
 *   SOAK_THREADS        worker threads sharing one client (default 32)
 *   SOAK_TOKEN_LIFETIME sandbox token lifetime, seconds (default 5)
 *   SOAK_PAUSE_MS       pause between two calls of one worker (default 10)
 *   STARMILE_SANDBOX_BIN the sandbox to start (see tests/c/harness.h)
 *
 * Schedule (seconds since the start): every 7 s a burst of 12 API 503s,
 * every 11 s 8 API 429s with Retry-After: 1, every 13 s 6 dropped API
 * connections, every 17 s 3 token-endpoint 503s, every 19 s a dropped token
 * connection; every 60 s (from 30 s) the sandbox rotates the client secret,
 * waits past a token lifetime, then the soak calls sm_client_set_credentials.
 * Every 10 s a throw-away client is made, used and freed, and RSS sampled.
 *
 * What fails the soak: a call outcome no scheduled fault explains (an
 * SM_ERR_INTERNAL, a 200 echo of another request, an AUTH error outside a
 * rotation, a 5xx/429 without the injected body ...), an unkeyed POST or
 * PATCH the sandbox received twice (its `duplicate_unkeyed_writes`), or
 * resident memory growing after the warm-up (the first third of the run).
 */
#include "../tests/c/harness.h" /* first: it selects the POSIX feature level */

#include <pthread.h>

/* ---- settings -------------------------------------------------------- */

static long env_long(const char *name, long fallback) {
  const char *text = getenv(name);
  return text && *text ? strtol(text, NULL, 10) : fallback;
}

static long soak_seconds, token_lifetime_s, pause_ms;
static int thread_count;
static sm_client shared_client;

/* ---- clocks and counters --------------------------------------------- */

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long start_ms, deadline_ms;

#define BUMP(counter) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED)
#define LOAD(value) __atomic_load_n(&(value), __ATOMIC_ACQUIRE)
#define STORE(var, value) __atomic_store_n(&(var), (value), __ATOMIC_RELEASE)

/* Outcomes of every call, by kind. */
static long long n_calls, n_ok, n_http_5xx, n_http_429, n_network, n_unavailable,
    n_auth, n_tokens, n_stats, n_unexpected, n_internal, n_mismatched,
    n_unkeyed_network; /* unkeyed POST/PATCH cut off: must not be re-sent */

/* When each kind of fault was last injected, and the rotation state. */
static long long last_api_5xx_ms = -1, last_api_429_ms = -1, last_drop_ms = -1,
                 last_token_fault_ms = -1;
static int rotating;                 /* the sandbox has a secret the client lacks */
static long long credentials_set_ms; /* last sm_client_set_credentials */
static int rotations;
static char current_secret[64] = H_CLIENT_SECRET; /* scheduler thread only */

/*
 * The contract retries a 429 for every method, unkeyed POST included (the
 * server refused it unprocessed), but the sandbox remembers every write a
 * fault answered, so such a retry would count in duplicate_unkeyed_writes.
 * While 429s are queued the workers send no unkeyed write: the count then
 * means what the soak asks, a write that may have been processed sent twice.
 */
static int writes_paused;
static int unkeyed_in_flight;

/* Faults take effect within milliseconds; a retry may come seconds later. */
#define FAULT_WINDOW_MS 30000

static int recent(long long when) {
  long long at = LOAD(when);
  return at >= 0 && mono_ms() - at < FAULT_WINDOW_MS;
}

/* The first few unexpected outcomes, for the report. */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int reported;

static void unexpected(const char *what, const char *method, sm_status status,
                       int http_status, const char *detail) {
  BUMP(n_unexpected);
  if (status == SM_ERR_INTERNAL) BUMP(n_internal);
  pthread_mutex_lock(&report_lock);
  if (reported++ < 20)
    printf("UNEXPECTED %s: %s %s http=%d at %llds: %.200s\n", what, method,
           sm_status_name(status), http_status, (mono_ms() - start_ms) / 1000,
           detail ? detail : "");
  pthread_mutex_unlock(&report_lock);
}

/* ---- one call, checked --------------------------------------------------- */

/* A failed call: is its status the one a scheduled fault explains? */
static void check_failure(const char *method, int unkeyed_write, sm_status status,
                          const char *error, long long started_ms) {
  switch (status) {
  case SM_ERR_NETWORK: /* a dropped connection, API or token */
    BUMP(n_network);
    if (unkeyed_write) BUMP(n_unkeyed_network);
    if (!(recent(last_drop_ms) || recent(last_token_fault_ms)) ||
        strstr(error, "127.0.0.1") == NULL)
      unexpected("network error without a drop", method, status, 0, error);
    return;
  case SM_ERR_UNAVAILABLE: /* token endpoint 5xx through all retries */
    BUMP(n_unavailable);
    if (!recent(last_token_fault_ms) || strstr(error, "token endpoint answered 5") == NULL)
      unexpected("unavailable without token faults", method, status, 0, error);
    return;
  case SM_ERR_AUTH: /* the old secret, between a rotation and set_credentials */
    BUMP(n_auth);
    if (!(LOAD(rotating) || started_ms <= LOAD(credentials_set_ms)) ||
        strstr(error, "invalid_client") == NULL)
      unexpected("auth error outside a rotation", method, status, 0, error);
    return;
  default:
    unexpected("status no fault explains", method, status, 0, error);
  }
}

/* An answered call: a 200 echo of this very request, or an injected fault. */
static void check_response(const char *method, const char *marker, sm_response *response) {
  int http_status = sm_response_status(response);
  size_t len = 0;
  const uint8_t *bytes = sm_response_body(response, &len);
  char body[8192];
  char method_field[48];
  size_t n = len < sizeof body - 1 ? len : sizeof body - 1;
  memcpy(body, bytes, n);
  body[n] = '\0';
  if (http_status == 200) {
    snprintf(method_field, sizeof method_field, "\"method\":\"%s\"", method);
    if (strstr(body, method_field) == NULL || strstr(body, marker) == NULL) {
      BUMP(n_mismatched);
      unexpected("200 that echoes another request", method, SM_OK, 200, body);
    } else {
      BUMP(n_ok);
    }
  } else if (http_status >= 500) {
    BUMP(n_http_5xx);
    if (!recent(last_api_5xx_ms) || strstr(body, "\"soak\":\"burst\"") == NULL)
      unexpected("5xx that was not injected", method, SM_OK, http_status, body);
  } else if (http_status == 429) {
    BUMP(n_http_429);
    if (!recent(last_api_429_ms) || strstr(body, "\"soak\":\"rate\"") == NULL)
      unexpected("429 that was not injected", method, SM_OK, http_status, body);
  } else {
    unexpected("HTTP status no fault explains", method, SM_OK, http_status, body);
  }
}

static void api_call(const char *method, int with_body, int keyed, int tid, long n) {
  char marker[64], path[128], headers[128], body[256];
  sm_response *response = NULL;
  char *error = NULL;
  long long started = mono_ms();
  sm_status status;
  snprintf(marker, sizeof marker, "soak-%d-%ld-end", tid, n);
  snprintf(path, sizeof path, "/v1/echo?m=%s", marker);
  snprintf(headers, sizeof headers, "X-Soak: %d\nIdempotency-Key: %s", tid, marker);
  snprintf(body, sizeof body, "{\"marker\":\"%s\",\"thread\":%d}", marker, tid);
  /* Unkeyed writes: the body alone must be unique, the path stays fixed. */
  status = sm_request(shared_client, method, with_body ? "/v1/echo" : path,
                      keyed ? headers : "X-Soak: 1", (const uint8_t *)(with_body ? body : NULL),
                      with_body ? strlen(body) : 0, &response, &error);
  BUMP(n_calls);
  if (status == SM_OK) {
    check_response(method, marker, response);
    sm_response_free(response);
  } else {
    int unkeyed_write = with_body && !keyed &&
                        (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0);
    check_failure(method, unkeyed_write, status, error ? error : "", started);
  }
  sm_string_free(error);
}

/* An unkeyed POST/PATCH, or a GET while 429s are queued. Announced before
 * the pause flag is read, so the scheduler's wait for zero sees it. */
static void unkeyed_write(const char *method, int tid, long n) {
  __atomic_fetch_add(&unkeyed_in_flight, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&writes_paused, __ATOMIC_SEQ_CST)) {
    __atomic_fetch_sub(&unkeyed_in_flight, 1, __ATOMIC_SEQ_CST);
    api_call("GET", 0, 0, tid, n);
    return;
  }
  api_call(method, 1, 0, tid, n);
  __atomic_fetch_sub(&unkeyed_in_flight, 1, __ATOMIC_SEQ_CST);
}

static void token_call(void) {
  char *token = NULL, *error = NULL;
  int64_t expires = 0;
  long long started = mono_ms();
  sm_status status = sm_get_token(shared_client, &token, &expires, &error);
  BUMP(n_calls);
  BUMP(n_tokens);
  if (status == SM_OK) {
    if (token == NULL || strlen(token) < 8 || expires <= 0)
      unexpected("empty token", "TOKEN", status, 0, NULL);
    else
      BUMP(n_ok);
  } else {
    check_failure("TOKEN", 0, status, error ? error : "", started);
  }
  sm_string_free(token);
  sm_string_free(error);
}

static void stats_call(void) {
  char *json = NULL, *error = NULL;
  sm_status status = sm_client_stats(shared_client, &json, &error);
  BUMP(n_calls);
  BUMP(n_stats);
  if (status != SM_OK || json == NULL || strstr(json, "token_fetches") == NULL)
    unexpected("stats", "STATS", status, 0, error);
  else
    BUMP(n_ok);
  sm_string_free(json);
  sm_string_free(error);
}

static void *worker(void *arg) {
  int tid = (int)(intptr_t)arg;
  unsigned seed = (unsigned)(tid * 7919 + 17);
  long n = 0;
  while (mono_ms() < deadline_ms) {
    int pick = rand_r(&seed) % 100;
    n++;
    if (pick < 45) api_call("GET", 0, 0, tid, n);
    else if (pick < 60) unkeyed_write("POST", tid, n);  /* never sent twice */
    else if (pick < 66) unkeyed_write("PATCH", tid, n); /* never sent twice */
    else if (pick < 76) api_call("POST", 1, 1, tid, n);  /* Idempotency-Key */
    else if (pick < 84) api_call("PUT", 1, 0, tid, n);
    else if (pick < 90) api_call("DELETE", 0, 0, tid, n);
    else if (pick < 96) token_call();
    else stats_call();
    if (pause_ms > 0) h_sleep_ms(pause_ms);
  }
  return NULL;
}

/* ---- resident memory ----------------------------------------------------- */

static long rss_kib(void) {
  char line[256];
  long kib = -1;
  FILE *status = fopen("/proc/self/status", "r");
  if (status == NULL) return -1;
  while (fgets(line, sizeof line, status))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(status);
  return kib;
}

#define MAX_SAMPLES 4096
static long rss_samples[MAX_SAMPLES];
static long long rss_at_s[MAX_SAMPLES];
static int rss_count;

/* ---- the fault schedule -------------------------------------------------- */

/* Queues faults; returns the uses now pending for the target. */
static long long fault(const char *target, const char *faults, long long *when) {
  char json[512], answer[256];
  snprintf(json, sizeof json, "{\"target\":\"%s\",\"faults\":%s}", target, faults);
  STORE(*when, mono_ms());
  if (h_http("POST", "/_sandbox/faults", json, answer, sizeof answer) != 200) {
    fprintf(stderr, "POST /_sandbox/faults %s failed: %s\n", json, answer);
    exit(2);
  }
  return h_json_number(answer, "pending");
}

/* 429s with Retry-After: 1, with unkeyed writes paused until all are used:
 * every API request that arrives takes one use of the queue, so once as many
 * have arrived as were pending (counted from after the queueing, which can
 * only overestimate the wait), ours are gone. */
static void inject_429s(void) {
  long long pending, arrived_before, waited = 0;
  __atomic_store_n(&writes_paused, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&unkeyed_in_flight, __ATOMIC_SEQ_CST) > 0) h_sleep_ms(1);
  pending = fault("api",
                  "[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
                  "\"body\":{\"soak\":\"rate\"},\"count\":8}]",
                  &last_api_429_ms);
  arrived_before = h_stat("api_requests");
  while (h_stat("api_requests") < arrived_before + pending && waited < 20000) {
    h_sleep_ms(20);
    waited += 20;
  }
  __atomic_store_n(&writes_paused, 0, __ATOMIC_SEQ_CST);
}

/* A throw-away client: made, used once, freed (leaks would show in RSS). */
static void churn_client(void) {
  char config[512];
  sm_client client = 0;
  sm_response *response = NULL;
  snprintf(config, sizeof config,
           "{\"base_url\":\"%s\",\"client_id\":\"" H_CLIENT_ID "\",\"client_secret\":\"%s\"}",
           h_base_url, current_secret);
  if (sm_client_new(config, &client, NULL) != SM_OK) {
    unexpected("sm_client_new", "NEW", SM_ERR_INVALID_ARGUMENT, 0, NULL);
    return;
  }
  if (sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, &response, NULL) == SM_OK)
    sm_response_free(response);
  if (sm_client_free(client) != SM_OK) unexpected("sm_client_free", "FREE", SM_OK, 0, NULL);
}

static void rotate_secret(void) {
  char settings[128], secret[64], *error = NULL;
  sm_status status;
  rotations++;
  snprintf(secret, sizeof secret, "soak-rotated-secret-%d", rotations);
  snprintf(settings, sizeof settings, "{\"client_secret\":\"%s\"}", secret);
  STORE(rotating, 1);
  h_settings(settings);
  /* Past one token lifetime: the old token expires, fetches get invalid_client. */
  h_sleep_ms((token_lifetime_s + 2) * 1000);
  status = sm_client_set_credentials(shared_client, H_CLIENT_ID, secret, &error);
  STORE(credentials_set_ms, mono_ms());
  STORE(rotating, 0);
  snprintf(current_secret, sizeof current_secret, "%s", secret);
  if (status != SM_OK) unexpected("sm_client_set_credentials", "SET", status, 0, error);
  sm_string_free(error);
}

static void *scheduler(void *arg) {
  long tick = 0;
  (void)arg;
  while (mono_ms() < deadline_ms) {
    long long next = start_ms + (tick + 1) * 1000;
    tick++;
    if (tick % 7 == 0)
      fault("api", "[{\"status\":503,\"body\":{\"soak\":\"burst\"},\"count\":12}]", &last_api_5xx_ms);
    if (tick % 11 == 0) inject_429s();
    if (tick % 13 == 0) fault("api", "[{\"drop\":true,\"count\":6}]", &last_drop_ms);
    if (tick % 17 == 0)
      fault("token", "[{\"status\":503,\"body\":{\"soak\":\"burst\"},\"count\":3}]", &last_token_fault_ms);
    if (tick % 19 == 0) fault("token", "[{\"drop\":true}]", &last_token_fault_ms);
    if (tick % 10 == 0) {
      churn_client();
      if (rss_count < MAX_SAMPLES) {
        rss_at_s[rss_count] = (mono_ms() - start_ms) / 1000;
        rss_samples[rss_count++] = rss_kib();
      }
    }
    if (tick % 30 == 0)
      printf("# %3lds: %lld calls, %lld unexpected, rss %ld KiB\n", tick, LOAD(n_calls),
             LOAD(n_unexpected), rss_kib());
    if (tick % 60 == 30 && mono_ms() + (token_lifetime_s + 4) * 1000 < deadline_ms) {
      rotate_secret();
      tick = (mono_ms() - start_ms) / 1000;
      continue;
    }
    while (mono_ms() < next) h_sleep_ms(next - mono_ms());
  }
  return NULL;
}

/* ---- main ------------------------------------------------------------------ */

int main(void) {
  pthread_t *workers, schedule;
  char config[512], extra[128], *error = NULL, *stats = NULL;
  long long duplicates, api_requests, token_requests, faults_applied;
  long warm_rss = -1, end_rss = -1, max_rss = 0;
  double slope = 0;
  int i, warm_index = -1, failed = 0;

  soak_seconds = env_long("SOAK_SECONDS", 600);
  thread_count = (int)env_long("SOAK_THREADS", 32);
  token_lifetime_s = env_long("SOAK_TOKEN_LIFETIME", 5);
  pause_ms = env_long("SOAK_PAUSE_MS", 10);
  if (soak_seconds < 10 || thread_count < 1 || token_lifetime_s < 2) {
    fprintf(stderr, "SOAK_SECONDS >= 10, SOAK_THREADS >= 1, SOAK_TOKEN_LIFETIME >= 2\n");
    return 2;
  }
  h_start("soak");
  snprintf(extra, sizeof extra, "{\"token_lifetime_s\":%ld}", token_lifetime_s);
  h_settings(extra);
  h_config(config, sizeof config, ",\"timeout_ms\":15000");
  if (sm_client_new(config, &shared_client, &error) != SM_OK) {
    fprintf(stderr, "sm_client_new: %s\n", error);
    return 2;
  }
  printf("# %ld s, %d threads sharing one client, token lifetime %ld s, pause %ld ms\n",
         soak_seconds, thread_count, token_lifetime_s, pause_ms);

  start_ms = mono_ms();
  deadline_ms = start_ms + soak_seconds * 1000;
  workers = calloc((size_t)thread_count, sizeof *workers);
  for (i = 0; i < thread_count; i++)
    if (pthread_create(&workers[i], NULL, worker, (void *)(intptr_t)i) != 0) {
      perror("pthread_create");
      return 2;
    }
  pthread_create(&schedule, NULL, scheduler, NULL);
  for (i = 0; i < thread_count; i++) pthread_join(workers[i], NULL);
  pthread_join(schedule, NULL);
  free(workers);

  /* The whole stats document (its idempotency_keys map outgrows the
   * harness's buffer), fetched through the library: the control API takes
   * no token and counts nothing. */
  {
    sm_response *answer = NULL;
    size_t len = 0;
    const uint8_t *bytes;
    char *text;
    if (sm_request(shared_client, "GET", "/_sandbox/stats", NULL, NULL, 0, &answer, &error) != SM_OK) {
      fprintf(stderr, "GET /_sandbox/stats: %s\n", error);
      return 2;
    }
    bytes = sm_response_body(answer, &len);
    text = malloc(len + 1);
    memcpy(text, bytes, len);
    text[len] = '\0';
    duplicates = h_json_number(text, "duplicate_unkeyed_writes");
    api_requests = h_json_number(text, "api_requests");
    token_requests = h_json_number(text, "token_requests");
    faults_applied = h_json_number(text, "faults_applied");
    free(text);
    sm_response_free(answer);
  }
  sm_client_stats(shared_client, &stats, NULL);
  if (sm_client_free(shared_client) != SM_OK) unexpected("free", "FREE", SM_OK, 0, NULL);

  /* RSS: the first sample after a third of the run is the baseline (32
   * threads fill their allocator arenas over the first minutes). */
  for (i = 0; i < rss_count; i++) {
    if (warm_index < 0 && rss_at_s[i] >= soak_seconds / 3) warm_index = i;
    if (warm_index >= 0 && rss_samples[i] > max_rss) max_rss = rss_samples[i];
  }
  if (warm_index >= 0) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int count = rss_count - warm_index;
    warm_rss = rss_samples[warm_index];
    end_rss = rss_samples[rss_count - 1];
    for (i = warm_index; i < rss_count; i++) {
      double x = (double)rss_at_s[i] / 60.0, y = (double)rss_samples[i];
      sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    if (count > 1 && sxx * count - sx * sx > 0)
      slope = (sxy * count - sx * sy) / (sxx * count - sx * sx);
  }

  printf("== soak figures\n");
  printf("duration            %ld s, %d threads, token lifetime %ld s\n", soak_seconds,
         thread_count, token_lifetime_s);
  printf("calls               %lld (%.0f/s)\n", n_calls, (double)n_calls / (double)soak_seconds);
  printf("  ok                %lld (200 echoes of the very request, tokens, stats)\n", n_ok);
  printf("  http 5xx          %lld (injected 503 bursts)\n", n_http_5xx);
  printf("  http 429          %lld (injected, Retry-After: 1)\n", n_http_429);
  printf("  SM_ERR_NETWORK    %lld (dropped connections; %lld of them unkeyed POST/PATCH, not re-sent)\n",
         n_network, n_unkeyed_network);
  printf("  SM_ERR_UNAVAILABLE %lld (token endpoint 5xx through the retries)\n", n_unavailable);
  printf("  SM_ERR_AUTH       %lld (between a rotation and sm_client_set_credentials)\n", n_auth);
  printf("  unexpected        %lld (of which SM_ERR_INTERNAL %lld, mismatched echoes %lld)\n",
         n_unexpected, n_internal, n_mismatched);
  printf("secret rotations    %d, each followed by sm_client_set_credentials\n", rotations);
  printf("sandbox             %lld API requests, %lld token requests, %lld faults applied\n",
         api_requests, token_requests, faults_applied);
  printf("duplicate_unkeyed_writes %lld\n", duplicates);
  printf("library stats       %s\n", stats ? stats : "(none)");
  printf("rss (KiB)           after warm-up %ld, max %ld, end %ld, trend %+.0f KiB/min\n",
         warm_rss, max_rss, end_rss, slope);
  printf("rss samples (KiB)  ");
  for (i = 0; i < rss_count; i += rss_count > 12 ? rss_count / 12 : 1)
    printf(" %llds:%ld", rss_at_s[i], rss_samples[i]);
  printf("\n");
  sm_string_free(stats);

  if (n_unexpected > 0) { printf("FAIL: %lld unexpected outcomes\n", n_unexpected); failed = 1; }
  if (duplicates != 0) { printf("FAIL: unkeyed writes sent twice\n"); failed = 1; }
  if (n_calls == 0 || n_ok == 0) { printf("FAIL: no successful call\n"); failed = 1; }
  /* Flat: at most 8 MiB (allocator arenas settling) or 10% over the warm baseline. */
  if (warm_rss > 0 && end_rss - warm_rss > (warm_rss / 10 > 8192 ? warm_rss / 10 : 8192)) {
    printf("FAIL: resident memory grew after the warm-up\n");
    failed = 1;
  }
  h_sandbox_stop();
  printf("soak: %s\n", failed ? "FAIL" : "PASS");
  return failed;
}
