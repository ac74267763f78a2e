/* A forked child keeps using the parent's client handles. */
#include "harness.h" /* first: it selects the POSIX feature level */

#include <pthread.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef VALGRIND_COUNT_ERRORS
#define VALGRIND_COUNT_ERRORS 0
#endif

static sm_client shared_client;

/*
 * Runs `child` in a forked process and checks that its checks passed.
 *
 * With `abandoned_threads`, the parent had other threads inside the library
 * at fork time. They do not exist in the child, so what they own (their Arc
 * on the client, a connection's buffers) can never be released there: that
 * memory is lost by the nature of fork(), not by the library. Such a child
 * folds any memory errors valgrind counted into its verdict and then execs
 * `true` or `false`, which skips valgrind's exit-time leak check. Other
 * children exit normally, so valgrind checks them for leaks too.
 */
static void run_in_child(void (*child)(void), int abandoned_threads) {
  pid_t pid;
  int wstatus = 0;
  fflush(NULL);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    alarm(60); /* a hung child is killed by SIGALRM */
    h_case_failures = 0;
    child();
    fflush(NULL);
    if (abandoned_threads) {
      int failed = h_case_failures + (int)VALGRIND_COUNT_ERRORS > 0;
      execlp(failed ? "false" : "true", failed ? "false" : "true", (char *)NULL);
      _exit(3);
    }
    exit(h_case_failures == 0 ? 0 : 1);
  }
  CHECK(waitpid(pid, &wstatus, 0) == pid);
  if (WIFSIGNALED(wstatus))
    h_fail(__FILE__, __LINE__, "the child was killed by signal %d%s", WTERMSIG(wstatus),
           WTERMSIG(wstatus) == SIGALRM ? " (it hung)" : "");
  else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    h_fail(__FILE__, __LINE__, "the child exited with %d%s", WEXITSTATUS(wstatus),
           WEXITSTATUS(wstatus) == 42 ? " (valgrind found errors in it)" : "");
}

static char parent_token[128];

static void child_uses_cached_token(void) {
  char *token = NULL;
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  /* The token the parent fetched, not a new one. */
  CHECK_STATUS(sm_get_token(shared_client, &token, NULL, NULL), SM_OK);
  CHECK(token != NULL && strcmp(token, parent_token) == 0);
  sm_string_free(token);
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
}

static void case_child_keeps_token(void) {
  char *token = NULL;
  shared_client = h_client("");
  CHECK_STATUS(sm_get_token(shared_client, &token, NULL, NULL), SM_OK);
  snprintf(parent_token, sizeof parent_token, "%s", token ? token : "");
  sm_string_free(token);
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200); /* leaves a pooled keep-alive connection */

  run_in_child(child_uses_cached_token, 0);

  CHECK_EQ_LL(h_stat("GET /v1/echo"), 2);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  /* The parent goes on as before, its handle untouched by the child's free. */
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  CHECK_EQ_LL(h_stat("GET /v1/echo"), 4);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
}

static void *fetch_token(void *arg) {
  char *token = NULL;
  sm_status *status = (sm_status *)arg;
  *status = sm_get_token(shared_client, &token, NULL, NULL);
  sm_string_free(token);
  return NULL;
}

static void child_fetches_own_token(void) {
  char *token = NULL, *error = NULL;
  /* The parent's fetch belongs to a thread the child does not have: the
   * child must fetch for itself instead of waiting for it forever. */
  CHECK_STATUS(sm_get_token(shared_client, &token, NULL, &error), SM_OK);
  if (error != NULL) printf("    [child] %s\n", error);
  sm_string_free(error);
  sm_string_free(token);
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
}

static void case_fork_during_fetch(void) {
  pthread_t thread;
  sm_status thread_status = SM_ERR_INTERNAL;
  int waited = 0;
  shared_client = h_client("");
  h_settings("{\"token_latency_ms\":1500}");
  CHECK(pthread_create(&thread, NULL, fetch_token, &thread_status) == 0);
  while (h_stat("token_requests") < 1 && waited < 30000) {
    h_sleep_ms(5);
    waited += 5;
  }
  CHECK_EQ_LL(h_stat("token_requests"), 1); /* the parent's fetch is in flight */

  run_in_child(child_fetches_own_token, 1);

  pthread_join(thread, NULL);
  CHECK_STATUS(thread_status, SM_OK);
  CHECK_EQ_LL(h_stat("token_requests"), 2); /* the parent's and the child's */
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  CHECK_EQ_LL(h_stat("token_requests"), 2);
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
}

static void child_crosses_expiry(void) {
  int i;
  /* The parent's refresh is not the child's: the child keeps getting 200s
   * past the inherited token's expiry (4 s after it was fetched). */
  for (i = 0; i < 25; i++) {
    CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
    h_sleep_ms(100);
  }
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
}

static void case_fork_during_refresh(void) {
  char *token = NULL;
  int waited = 0;
  h_settings("{\"token_lifetime_s\":4}");
  shared_client = h_client("");
  CHECK_STATUS(sm_get_token(shared_client, &token, NULL, NULL), SM_OK);
  sm_string_free(token);
  token = NULL;
  h_settings("{\"token_latency_ms\":1500}");
  h_sleep_ms(2300); /* into the refresh window, the last 2 s */
  CHECK_STATUS(sm_get_token(shared_client, &token, NULL, NULL), SM_OK);
  sm_string_free(token);
  while (h_stat("token_requests") < 2 && waited < 30000) {
    h_sleep_ms(5);
    waited += 5;
  }
  /* The background refresh is in flight in the parent. */
  run_in_child(child_crosses_expiry, 1);
  CHECK_EQ_LL(h_get_status(shared_client, "/v1/echo"), 200);
  CHECK_STATUS(sm_client_free(shared_client), SM_OK);
  CHECK_EQ_LL(h_stat("unauthorized"), 0);
}

int main(void) {
  h_start("test_fork");
  h_reset();
  h_run("fork: the child uses the parent's handle and cached token", case_child_keeps_token);
  h_reset();
  h_run("fork during another thread's token fetch: the child fetches its own",
        case_fork_during_fetch);
  h_reset();
  h_run("fork during a background refresh: the child refreshes for itself",
        case_fork_during_refresh);
  return h_finish();
}
