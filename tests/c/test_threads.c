/* One client shared by many threads, and freed while they use it. */
#include "harness.h" /* first: it selects the POSIX feature level */

#include <pthread.h>

#define THREADS 8
#define ITERATIONS 5
#define SLOW_PATH "/v1/slow/3000" /* answered after 3 s */

/* What one thread saw; the main thread checks it after the join (the CHECK
 * macros are not thread-safe). */
struct worker {
  sm_client client;
  int index;
  pthread_barrier_t *barrier;
  int slow; /* phase 2: make one slow call first */
  char token[128];
  int ok, invalid_handle, other, wrong;
  int api_ok; /* sm_request calls that returned a response */
  int came_back_valid; /* a call succeeded after one said INVALID_HANDLE */
  int finished_after_free;
  int last_other_status;
  char last_error[256];
};

static int handle_freed; /* set by the main thread after the free */
static pthread_mutex_t freed_lock = PTHREAD_MUTEX_INITIALIZER;

static int freed(void) {
  int value;
  pthread_mutex_lock(&freed_lock);
  value = handle_freed;
  pthread_mutex_unlock(&freed_lock);
  return value;
}

static void set_freed(int value) {
  pthread_mutex_lock(&freed_lock);
  handle_freed = value;
  pthread_mutex_unlock(&freed_lock);
}

/* Files a call's outcome; returns 1 when the handle was gone. */
static int note(struct worker *w, sm_status status, char *error) {
  if (status == SM_OK) {
    w->ok++;
    if (w->invalid_handle > 0) w->came_back_valid = 1;
  } else if (status == SM_ERR_INVALID_HANDLE) {
    w->invalid_handle++;
  } else {
    w->other++;
    w->last_other_status = status;
    snprintf(w->last_error, sizeof w->last_error, "%s", error ? error : "");
  }
  sm_string_free(error);
  return status == SM_ERR_INVALID_HANDLE;
}

/* GET `path`; a response must be a 200 with a request id. */
static int echo(struct worker *w, const char *path) {
  sm_response *response = NULL;
  char *error = NULL;
  sm_status status =
      sm_request(w->client, "GET", path, "X-Worker: yes", NULL, 0, &response, &error);
  if (status == SM_OK &&
      (sm_response_status(response) != 200 ||
       sm_response_header(response, "X-Request-Id") == NULL))
    w->wrong++;
  if (status != SM_OK && response != NULL) w->wrong++;
  if (status == SM_OK) w->api_ok++;
  sm_response_free(response);
  return note(w, status, error);
}

static int token(struct worker *w) {
  char *value = NULL, *error = NULL;
  int64_t expires = 0;
  sm_status status = sm_get_token(w->client, &value, &expires, &error);
  if (status == SM_OK) {
    if (value == NULL || expires <= 0) {
      w->wrong++;
    } else if (w->token[0] == '\0') {
      snprintf(w->token, sizeof w->token, "%s", value);
    } else if (strcmp(w->token, value) != 0) {
      w->wrong++; /* one token for the whole run */
    }
  } else if (value != NULL || expires != 0) {
    w->wrong++;
  }
  sm_string_free(value);
  return note(w, status, error);
}

static void *shared_worker(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i;
  pthread_barrier_wait(w->barrier); /* everyone asks for the token at once */
  for (i = 0; i < ITERATIONS; i++) {
    token(w);
    echo(w, "/v1/echo");
  }
  return NULL;
}

static void *until_freed_worker(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i, gone = 0;
  char *json = NULL;
  pthread_barrier_wait(w->barrier);
  if (w->slow) {
    /* In flight at the sandbox while the main thread frees the handle. */
    int before = freed();
    int was_gone = echo(w, SLOW_PATH);
    if (!before && !was_gone && freed()) w->finished_after_free = 1;
  }
  for (i = 0; i < 100000 && !gone; i++) gone = token(w) | echo(w, "/v1/echo");
  if (!gone) w->wrong++;
  /* Once gone, gone for good: every function says so. */
  token(w);
  echo(w, "/v1/echo");
  note(w, sm_client_stats(w->client, &json, NULL), NULL);
  if (json != NULL) w->wrong++;
  note(w, sm_client_invalidate_token(w->client), NULL);
  note(w, sm_client_free(w->client), NULL);
  return NULL;
}

static void run_workers(struct worker *workers, void *(*fn)(void *), sm_client client,
                        pthread_t *threads, pthread_barrier_t *barrier) {
  int i;
  pthread_barrier_init(barrier, NULL, THREADS);
  for (i = 0; i < THREADS; i++) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].client = client;
    workers[i].index = i;
    workers[i].barrier = barrier;
    workers[i].slow = i % 2 == 0;
    if (pthread_create(&threads[i], NULL, fn, &workers[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      exit(2);
    }
  }
}

static void join_workers(pthread_t *threads, pthread_barrier_t *barrier) {
  int i;
  for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(barrier);
}

static void report_other(const struct worker *w, int index) {
  if (w->other > 0)
    printf("    thread %d: %d unexpected failures, last %s: %s\n", index, w->other,
           sm_status_name(w->last_other_status), w->last_error);
}

static void case_single_flight(void) {
  struct worker workers[THREADS];
  pthread_t threads[THREADS];
  pthread_barrier_t barrier;
  char *json = NULL;
  int i;
  sm_client client = h_client("");

  /* A slow token endpoint: every thread arrives while the fetch runs. */
  h_settings("{\"token_latency_ms\":300}");
  run_workers(workers, shared_worker, client, threads, &barrier);
  join_workers(threads, &barrier);

  for (i = 0; i < THREADS; i++) {
    report_other(&workers[i], i);
    CHECK_EQ_LL(workers[i].ok, 2 * ITERATIONS);
    CHECK_EQ_LL(workers[i].wrong, 0);
    CHECK(strcmp(workers[i].token, workers[0].token) == 0);
  }
  /* One request to the token endpoint for all threads. */
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  CHECK_EQ_LL(h_stat("GET /v1/echo"), THREADS * ITERATIONS);
  CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
  CHECK_EQ_LL(h_json_number(json, "token_fetches"), 1);
  CHECK_EQ_LL(h_json_number(json, "requests"), THREADS * ITERATIONS);
  sm_string_free(json);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_free_while_in_use(void) {
  struct worker workers[THREADS];
  pthread_t threads[THREADS];
  pthread_barrier_t barrier;
  int i, slow = 0, finished_after_free = 0, waited = 0;
  long long api_ok = 0;
  sm_client client = h_client("");
  char *warm = NULL;

  CHECK_STATUS(sm_get_token(client, &warm, NULL, NULL), SM_OK);
  sm_string_free(warm);
  set_freed(0);
  run_workers(workers, until_freed_worker, client, threads, &barrier);
  for (i = 0; i < THREADS; i++) slow += workers[i].slow;

  /* Free the handle once every slow call is being served. */
  while (h_stat("GET " SLOW_PATH) < slow && waited < 60000) {
    h_sleep_ms(5);
    waited += 5;
  }
  CHECK_EQ_LL(h_stat("GET " SLOW_PATH), slow);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  set_freed(1);
  CHECK_STATUS(sm_client_free(client), SM_ERR_INVALID_HANDLE);
  join_workers(threads, &barrier);

  for (i = 0; i < THREADS; i++) {
    report_other(&workers[i], i);
    CHECK_EQ_LL(workers[i].other, 0);
    CHECK_EQ_LL(workers[i].wrong, 0);
    CHECK(!workers[i].came_back_valid);
    /* The last five calls of each thread all said INVALID_HANDLE. */
    CHECK(workers[i].invalid_handle >= 5);
    finished_after_free += workers[i].finished_after_free;
    api_ok += workers[i].api_ok;
  }
  /* The calls in flight when the handle was freed finished normally. */
  CHECK_EQ_LL(finished_after_free, slow);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  /* Every request that reached the sandbox came back to its caller, and no
   * call refused for its handle reached it. */
  CHECK_EQ_LL(api_ok, h_stat("api_requests"));
}

/* Handles created and freed on many threads at once stay distinct, and a
 * freed one is refused even after its slot is reused. */
#define CHURN 50
static sm_client churned[THREADS][CHURN];

static void *churn_worker(void *arg) {
  struct worker *w = (struct worker *)arg;
  sm_client *issued = churned[w->index];
  char config[512];
  int i;
  h_config(config, sizeof config, "");
  pthread_barrier_wait(w->barrier);
  for (i = 0; i < CHURN; i++) {
    sm_client client = 0;
    char *error = NULL;
    if (sm_client_new(config, &client, &error) != SM_OK || client == 0) {
      note(w, SM_ERR_INTERNAL, error);
      continue;
    }
    issued[i] = client;
    note(w, sm_client_invalidate_token(client), NULL);
    note(w, sm_client_free(client), NULL);
    if (sm_client_invalidate_token(client) != SM_ERR_INVALID_HANDLE) w->wrong++;
    if (sm_client_free(client) != SM_ERR_INVALID_HANDLE) w->wrong++;
  }
  return NULL;
}

static void case_handle_churn(void) {
  struct worker workers[THREADS];
  pthread_t threads[THREADS];
  pthread_barrier_t barrier;
  int i, j, repeated = 0;
  run_workers(workers, churn_worker, 0, threads, &barrier);
  join_workers(threads, &barrier);
  for (i = 0; i < THREADS; i++) {
    report_other(&workers[i], i);
    CHECK_EQ_LL(workers[i].ok, 2 * CHURN);
    CHECK_EQ_LL(workers[i].other, 0);
    CHECK_EQ_LL(workers[i].wrong, 0);
  }
  /* No handle was ever handed out twice, though slots were reused. */
  for (i = 0; i < THREADS * CHURN; i++)
    for (j = i + 1; j < THREADS * CHURN; j++)
      repeated += churned[i / CHURN][i % CHURN] == churned[j / CHURN][j % CHURN];
  CHECK_EQ_LL(repeated, 0);
  CHECK_EQ_LL(h_stat("token_requests"), 0); /* sm_client_new does no I/O */
}

/* The library's own background refresh still running when the handle is
 * freed: it finishes on its own, and nothing leaks or crashes. */
static void case_free_during_background_refresh(void) {
  char *first = NULL, *second = NULL;
  int waited = 0;
  sm_client client;
  /* 6-second tokens: the refresh window is their last 3 seconds. */
  h_settings("{\"token_lifetime_s\":6}");
  client = h_client("");
  CHECK_STATUS(sm_get_token(client, &first, NULL, NULL), SM_OK);
  h_settings("{\"token_latency_ms\":1000}");
  h_sleep_ms(3200);
  /* In the window: the cached token comes back at once (a caller that
   * waited for the refresh would get the new one). */
  CHECK_STATUS(sm_get_token(client, &second, NULL, NULL), SM_OK);
  CHECK(first != NULL && second != NULL && strcmp(first, second) == 0);
  sm_string_free(second);
  second = NULL;
  while (h_stat("token_requests") < 2 && waited < 30000) {
    h_sleep_ms(5);
    waited += 5;
  }
  CHECK_EQ_LL(h_stat("token_requests"), 2); /* the refresh is at the server */
  CHECK_STATUS(sm_client_free(client), SM_OK);
  CHECK_STATUS(sm_get_token(client, &second, NULL, NULL), SM_ERR_INVALID_HANDLE);
  /* Let the refresh complete after the free (valgrind checks for leaks at
   * exit). */
  waited = 0;
  while (h_stat("tokens_issued") < 2 && waited < 30000) {
    h_sleep_ms(20);
    waited += 20;
  }
  h_sleep_ms(300);
  sm_string_free(first);
}

int main(void) {
  h_start("test_threads");
  h_reset();
  h_run("8 threads, one client: one token request, every call succeeds",
        case_single_flight);
  h_reset();
  h_run("free while 8 threads use the handle: in-flight calls finish, then "
        "SM_ERR_INVALID_HANDLE",
        case_free_while_in_use);
  h_reset();
  h_run("8 threads creating and freeing clients: stale handles refused",
        case_handle_churn);
  h_reset();
  h_run("free while a background refresh runs: no crash, no leak",
        case_free_during_background_refresh);
  return h_finish();
}
