/*
 * libstarmile quick start: fetch a token, call GET /v1/echo.
 *
 * Configuration comes from the environment (config "{}"):
 *   STARMILE_BASE_URL, STARMILE_CLIENT_ID, STARMILE_CLIENT_SECRET
 *
 * Build: cc quickstart.c -I<prefix>/include -L<prefix>/lib -lstarmile
 *   (or: cc quickstart.c $(pkg-config --cflags --libs starmile))
 */
#include <stdio.h>
#include <time.h>

#include <starmile.h>

/* Reports a failed call and frees its message. */
static int report(const char *call, sm_status status, char *error) {
  fprintf(stderr, "%s failed: %s: %s\n", call, sm_status_name(status),
          error != NULL ? error : "(no message)");
  sm_string_free(error);
  return 1;
}

int main(void) {
  sm_client client = 0;
  sm_response *response = NULL;
  char *error = NULL, *token = NULL;
  int64_t expires_at_ms = 0;
  const uint8_t *body;
  const char *request_id;
  size_t body_len = 0;
  char expiry[32];
  time_t expiry_s;
  sm_status status;
  int exit_code = 1;

  status = sm_client_new("{}", &client, &error);
  if (status != SM_OK) return report("sm_client_new", status, error);

  /* Tokens are cached and refreshed by the library; sm_request fetches one
   * by itself. Asking for it here only shows what it looks like. */
  status = sm_get_token(client, &token, &expires_at_ms, &error);
  if (status != SM_OK) {
    report("sm_get_token", status, error);
    goto done;
  }
  expiry_s = (time_t)(expires_at_ms / 1000);
  strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", gmtime(&expiry_s));
  printf("token:   %.6s\xe2\x80\xa6 (expires %s)\n", token, expiry); /* never print it whole */
  sm_string_free(token);

  status = sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, &response, &error);
  if (status != SM_OK) {
    report("sm_request", status, error);
    goto done;
  }
  /* Any HTTP answer is SM_OK: the status code is data. */
  request_id = sm_response_header(response, "X-Request-Id");
  body = sm_response_body(response, &body_len);
  printf("status:  %u\n", (unsigned)sm_response_status(response));
  printf("request: %s\n", request_id != NULL ? request_id : "(none)");
  printf("body:    %.*s\n", (int)body_len, body_len > 0 ? (const char *)body : "");
  exit_code = sm_response_status(response) < 400 ? 0 : 1;

done:
  sm_response_free(response);
  sm_client_free(client);
  return exit_code;
}
