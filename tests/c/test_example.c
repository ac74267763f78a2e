/* The quick start (examples/c/quickstart.c) as a user runs it: configured by
 * the environment, printing a masked token and the echo, failing loudly.
 *
 * STARMILE_QUICKSTART holds the command that runs it (the Makefile prefixes
 * valgrind, so the example is checked for leaks as well). */
#include "harness.h"

#define WRONG_SECRET "quickstart-Wrong-Secret-55e1"

/* Runs the quick start with its stdout and stderr in `out`; returns its exit
 * status (-1 when it did not exit normally). */
static int run_quickstart(const char *secret, char *out, size_t size) {
  const char *command = getenv("STARMILE_QUICKSTART");
  char line[1024];
  size_t used = 0;
  FILE *pipe;
  int status;
  if (command == NULL || *command == '\0') command = "../../target/c/quickstart";
  setenv("STARMILE_BASE_URL", h_base_url, 1);
  setenv("STARMILE_CLIENT_ID", H_CLIENT_ID, 1);
  setenv("STARMILE_CLIENT_SECRET", secret, 1);
  snprintf(line, sizeof line, "%s 2>&1", command);
  fflush(NULL);
  pipe = popen(line, "r");
  out[0] = '\0';
  if (pipe == NULL) return -1;
  while (fgets(line, sizeof line, pipe) != NULL) {
    size_t len = strlen(line);
    if (used + len < size) {
      memcpy(out + used, line, len + 1);
      used += len;
    }
  }
  status = pclose(pipe);
  unsetenv("STARMILE_CLIENT_SECRET");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void case_quickstart_works(void) {
  static char out[1 << 15];
  const char *masked;
  int code = run_quickstart(H_CLIENT_SECRET, out, sizeof out);
  CHECK_EQ_LL(code, 0);
  CHECK_CONTAINS(out, "status:  200\n");
  CHECK_CONTAINS(out, "request: req_");
  CHECK_CONTAINS(out, "\"method\":\"GET\"");
  CHECK_CONTAINS(out, "\"path\":\"/v1/echo\"");
  CHECK_CONTAINS(out, "expires 20");
  /* The token shows its first 6 characters ("smt_" and two more), then an
   * ellipsis; never more of it, never the secret. */
  masked = strstr(out, "token:   smt_");
  CHECK(masked != NULL);
  if (masked != NULL) CHECK(strncmp(masked + 15, "\xe2\x80\xa6 ", 4) == 0);
  CHECK_NOT_CONTAINS(out, H_CLIENT_SECRET);
  if (code != 0 || h_case_failures > 0) printf("%s", out);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
}

static void case_quickstart_fails_loudly(void) {
  static char out[1 << 15];
  int code = run_quickstart(WRONG_SECRET, out, sizeof out);
  CHECK(code != 0 && code != 42); /* 42: valgrind found errors */
  CHECK_CONTAINS(out, "SM_ERR_AUTH");
  CHECK_CONTAINS(out, "invalid_client");
  CHECK_NOT_CONTAINS(out, WRONG_SECRET);
  CHECK_NOT_CONTAINS(out, "status:");
}

int main(void) {
  h_start("test_example");
  h_reset();
  h_run("quickstart: token masked, GET /v1/echo answered 200", case_quickstart_works);
  h_reset();
  h_settings("{\"echo_secret_in_errors\":true}");
  h_run("quickstart: a wrong secret exits non-zero with SM_ERR_AUTH", case_quickstart_fails_loudly);
  return h_finish();
}
