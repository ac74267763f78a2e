/* The happy path: what a C user sees when everything works. */
#include "harness.h"

/* Sends a request that must succeed (SM_OK); NULL (and a failure) if not. */
static sm_response *request_ok(sm_client client, const char *method,
                               const char *path, const char *headers,
                               const char *body) {
  sm_response *response = NULL;
  char *error = NULL;
  sm_status status =
      sm_request(client, method, path, headers, (const uint8_t *)body,
                 body ? strlen(body) : 0, &response, &error);
  if (status != SM_OK)
    h_fail(__FILE__, __LINE__, "%s %s: %s: %s", method, path,
           sm_status_name(status), error ? error : "(no message)");
  CHECK(status != SM_OK || error == NULL);
  sm_string_free(error);
  return response;
}

/* The response body as a NUL-terminated copy in `out`. */
static const char *body_text(const sm_response *response, char *out,
                             size_t size) {
  size_t len = 0;
  const uint8_t *body = sm_response_body(response, &len);
  if (body == NULL || len >= size) len = 0;
  if (len > 0) memcpy(out, body, len);
  out[len] = '\0';
  return out;
}

/* Sends `len` bytes to /v1/echo; the sandbox saw `method` and `echoed_len`
 * body bytes. */
static void check_echoed_length(sm_client client, const char *method,
                                const char *headers, const uint8_t *bytes,
                                size_t len, size_t echoed_len) {
  char body[8192], expected[64];
  sm_response *response = NULL;
  CHECK_STATUS(sm_request(client, method, "/v1/echo", headers, bytes, len, &response, NULL),
               SM_OK);
  body_text(response, body, sizeof body);
  snprintf(expected, sizeof expected, "\"method\":\"%s\"", method);
  CHECK_CONTAINS(body, expected);
  snprintf(expected, sizeof expected, "\"body_len\":%lu", (unsigned long)echoed_len);
  CHECK_CONTAINS(body, expected);
  sm_response_free(response);
}

static void case_version(void) {
  const char *version = sm_version();
  unsigned major = 0, minor = 0, patch = 0;
  char again[64];
  CHECK(version != NULL);
  if (version == NULL) return;
  CHECK(sscanf(version, "%u.%u.%u", &major, &minor, &patch) == 3);
  snprintf(again, sizeof again, "%u.%u.%u", major, minor, patch);
  CHECK(strcmp(again, version) == 0);
  CHECK(sm_version() == version); /* static: the same pointer each time */
}

static void case_status_names(void) {
  static const struct {
    int value;
    const char *name;
  } known[] = {
      {SM_OK, "SM_OK"},
      {SM_ERR_INVALID_ARGUMENT, "SM_ERR_INVALID_ARGUMENT"},
      {SM_ERR_INVALID_HANDLE, "SM_ERR_INVALID_HANDLE"},
      {SM_ERR_AUTH, "SM_ERR_AUTH"},
      {SM_ERR_UNAVAILABLE, "SM_ERR_UNAVAILABLE"},
      {SM_ERR_NETWORK, "SM_ERR_NETWORK"},
      {SM_ERR_TIMEOUT, "SM_ERR_TIMEOUT"},
      {SM_ERR_PROTOCOL, "SM_ERR_PROTOCOL"},
      {SM_ERR_INTERNAL, "SM_ERR_INTERNAL"},
  };
  static const int unknown[] = {42, -1, 8, 98, 100, 2147483647, -2147483647 - 1};
  size_t i;
  /* The values are part of the ABI. */
  CHECK(SM_OK == 0 && SM_ERR_INVALID_ARGUMENT == 1 && SM_ERR_INVALID_HANDLE == 2 &&
        SM_ERR_AUTH == 3 && SM_ERR_UNAVAILABLE == 4 && SM_ERR_NETWORK == 5 &&
        SM_ERR_TIMEOUT == 6 && SM_ERR_PROTOCOL == 7 && SM_ERR_INTERNAL == 99);
  for (i = 0; i < sizeof known / sizeof known[0]; i++) {
    const char *name = sm_status_name(known[i].value);
    CHECK(name != NULL && strcmp(name, known[i].name) == 0);
  }
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    const char *name = sm_status_name(unknown[i]);
    CHECK(name != NULL && strcmp(name, "SM_ERR_UNKNOWN") == 0);
  }
}

static void case_new_does_no_io(void) {
  sm_client client = h_client("");
  CHECK(client != 0);
  CHECK(client < ((uint64_t)1 << 53));
  CHECK_EQ_LL(h_stat("token_requests"), 0);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_token(void) {
  sm_client client = h_client("");
  char *token = NULL, *again = NULL, *error = (char *)"not touched";
  int64_t expires_at = 0, expires_again = 0;
  long long before = h_now_unix_ms();

  CHECK_STATUS(sm_get_token(client, &token, &expires_at, &error), SM_OK);
  CHECK(error == NULL); /* success writes NULL to out_error */
  CHECK(token != NULL && strncmp(token, "smt_", 4) == 0);
  /* The sandbox issues one-hour tokens; the expiry is unix ms. */
  CHECK(expires_at > before);
  CHECK(expires_at > before + 3500 * 1000LL);
  CHECK(expires_at <= h_now_unix_ms() + 3600 * 1000LL + 1000);

  /* Cached: the same token, no second request to the token endpoint. */
  CHECK_STATUS(sm_get_token(client, &again, &expires_again, NULL), SM_OK);
  CHECK(again != NULL && token != NULL && strcmp(again, token) == 0);
  CHECK(again != token); /* each call hands out its own copy */
  CHECK_EQ_LL(expires_again, expires_at);
  sm_string_free(again);
  /* out_expires_at_ms may be NULL. */
  CHECK_STATUS(sm_get_token(client, &again, NULL, NULL), SM_OK);
  sm_string_free(again);

  CHECK_EQ_LL(h_stat("token_requests"), 1);
  CHECK_EQ_LL(h_stat("tokens_issued"), 1);
  sm_string_free(token);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_get(void) {
  sm_client client = h_client("");
  char body[8192], line[256];
  const char *request_id, *headers;
  sm_response *response = request_ok(client, "GET", "/v1/echo?color=blue",
                                     "X-Trace: abc-123\nx-other:  two ", NULL);
  if (response == NULL) {
    sm_client_free(client);
    return;
  }
  CHECK_EQ_LL(sm_response_status(response), 200);
  body_text(response, body, sizeof body);
  CHECK_CONTAINS(body, "\"method\":\"GET\"");
  CHECK_CONTAINS(body, "\"path\":\"/v1/echo\"");
  CHECK_CONTAINS(body, "\"query\":\"color=blue\"");
  CHECK_CONTAINS(body, "\"x-trace\":\"abc-123\"");
  CHECK_CONTAINS(body, "\"x-other\":\"two\"");
  CHECK_CONTAINS(body, "\"accept\":\"application/json\"");
  CHECK_CONTAINS(body, "\"user-agent\":\"starmile/");
  CHECK_CONTAINS(body, "\"body_len\":0");

  /* Header lookup ignores case and returns the same borrowed value. */
  request_id = sm_response_header(response, "X-Request-Id");
  CHECK(request_id != NULL && strncmp(request_id, "req_", 4) == 0);
  CHECK(sm_response_header(response, "x-request-id") == request_id);
  CHECK(sm_response_header(response, "X-REQUEST-ID") == request_id);
  CHECK(sm_response_header(response, "Content-Type") != NULL &&
        strcmp(sm_response_header(response, "Content-Type"), "application/json") == 0);
  CHECK(sm_response_header(response, "X-Not-There") == NULL);
  CHECK(sm_response_header(response, "") == NULL);

  /* All headers: "name: value\n" lines with lower-case names. */
  headers = sm_response_headers(response);
  CHECK(headers != NULL);
  if (request_id != NULL) {
    snprintf(line, sizeof line, "x-request-id: %s\n", request_id);
    CHECK_CONTAINS(headers, line);
  }
  CHECK_CONTAINS(headers, "content-type: application/json\n");
  CHECK_NOT_CONTAINS(headers, "X-Request-Id");
  CHECK_NOT_CONTAINS(headers, "Content-Type");

  sm_response_free(response);
  CHECK_EQ_LL(h_stat("GET /v1/echo"), 1);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_post_body(void) {
  static const uint8_t binary[] = {'a', 0, 'b', 0, 'c'};
  static const char json_body[] = "{\"greeting\":\"h\xc3\xa9llo\",\"n\":[1,2,3]}";
  sm_client client = h_client("");
  char body[8192], expected[64];
  sm_response *response;
  size_t len = 0;

  /* A JSON body gets Content-Type: application/json from the library. */
  response = request_ok(client, "POST", "/v1/echo", NULL, json_body);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 200);
    CHECK(sm_response_body(response, &len) != NULL);
    CHECK(len > 0);
    body_text(response, body, sizeof body);
    CHECK_CONTAINS(body, "\"method\":\"POST\"");
    CHECK_CONTAINS(body, "\"content-type\":\"application/json\"");
    CHECK_CONTAINS(body, "\"json\":{\"greeting\":\"h\xc3\xa9llo\",\"n\":[1,2,3]}");
    snprintf(expected, sizeof expected, "\"body_len\":%lu",
             (unsigned long)strlen(json_body));
    CHECK_CONTAINS(body, expected);
    /* sm_response_body's out_len may be NULL. */
    CHECK(sm_response_body(response, NULL) != NULL);
    sm_response_free(response);
  }

  /* A caller's Content-Type is kept. */
  response = request_ok(client, "PUT", "/v1/echo", "Content-Type: text/plain",
                        "plain words");
  if (response != NULL) {
    body_text(response, body, sizeof body);
    CHECK_CONTAINS(body, "\"method\":\"PUT\"");
    CHECK_CONTAINS(body, "\"content-type\":\"text/plain\"");
    CHECK_CONTAINS(body, "\"body\":\"plain words\"");
    sm_response_free(response);
  }

  /* body_len counts bytes: NUL bytes inside a body are sent. */
  check_echoed_length(client, "PATCH", "Content-Type: application/octet-stream",
                      binary, sizeof binary, 5);
  /* A non-NULL body with body_len 0 sends no body. */
  check_echoed_length(client, "DELETE", NULL, (const uint8_t *)"ignored", 0, 0);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_status_is_data(void) {
  sm_client client = h_client("");
  char body[4096];
  sm_response *response = request_ok(client, "GET", "/v1/status/404", NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 404);
    CHECK_CONTAINS(body_text(response, body, sizeof body), "sandbox_status");
    CHECK(sm_response_header(response, "x-request-id") != NULL);
    sm_response_free(response);
  }
  response = request_ok(client, "GET", "/v1/status/503?retry_after=0", NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 503); /* after the retries */
    sm_response_free(response);
  }
  /* Redirects are returned as they are, not followed. */
  response = request_ok(client, "GET", "/v1/redirect", NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 302);
    CHECK(sm_response_header(response, "Location") != NULL &&
          strcmp(sm_response_header(response, "Location"), "/v1/echo") == 0);
    sm_response_free(response);
  }
  CHECK_EQ_LL(h_stat("GET /v1/echo"), 0);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_urls(void) {
  char config[512], url[256], body[4096];
  sm_client client = 0;
  sm_response *response;
  /* A trailing slash on base_url is ignored; token_url may be absolute; a
   * same-origin absolute URL is accepted. */
  snprintf(config, sizeof config,
           "{\"base_url\":\"%s/\",\"token_url\":\"%s/oauth/token\","
           "\"client_id\":\"" H_CLIENT_ID "\",\"client_secret\":\"" H_CLIENT_SECRET "\"}",
           h_base_url, h_base_url);
  CHECK_STATUS(sm_client_new(config, &client, NULL), SM_OK);
  response = request_ok(client, "GET", "/v1/echo", NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 200);
    CHECK_CONTAINS(body_text(response, body, sizeof body), "\"path\":\"/v1/echo\"");
    sm_response_free(response);
  }
  snprintf(url, sizeof url, "%s/v1/echo?abs=1", h_base_url);
  response = request_ok(client, "GET", url, NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 200);
    CHECK_CONTAINS(body_text(response, body, sizeof body), "\"query\":\"abs=1\"");
    sm_response_free(response);
  }
  CHECK_EQ_LL(h_stat("GET /v1/echo"), 2);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_stats(void) {
  sm_client client = h_client("");
  char *json = NULL, *token = NULL, *error = (char *)"not touched";
  int64_t expires_at = 0;
  sm_response *response;

  CHECK_STATUS(sm_client_stats(client, &json, &error), SM_OK);
  CHECK(error == NULL);
  CHECK_CONTAINS(json, "\"token_fetches\":0");
  CHECK_CONTAINS(json, "\"token_expires_at_ms\":null");
  sm_string_free(json);
  json = NULL;

  CHECK_STATUS(sm_get_token(client, &token, &expires_at, NULL), SM_OK);
  response = request_ok(client, "GET", "/v1/echo", NULL, NULL);
  sm_response_free(response);

  CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
  CHECK(json != NULL && json[0] == '{');
  CHECK_EQ_LL(h_json_number(json, "token_fetches"), 1);
  CHECK_EQ_LL(h_json_number(json, "token_fetch_failures"), 0);
  CHECK_EQ_LL(h_json_number(json, "requests"), 1);
  CHECK_EQ_LL(h_json_number(json, "token_expires_at_ms"), expires_at);
  CHECK_CONTAINS(json, "\"background_refreshes\":");
  CHECK_CONTAINS(json, "\"retries\":");
  CHECK_CONTAINS(json, "\"reauth_replays\":");
  if (token != NULL) CHECK_NOT_CONTAINS(json, token);
  CHECK_NOT_CONTAINS(json, H_CLIENT_SECRET);
  sm_string_free(json);
  sm_string_free(token);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_invalidate_and_replay(void) {
  sm_client client = h_client("");
  char *first = NULL, *second = NULL, *json = NULL;
  sm_response *response;

  CHECK_STATUS(sm_get_token(client, &first, NULL, NULL), SM_OK);
  CHECK_STATUS(sm_client_invalidate_token(client), SM_OK);
  CHECK_STATUS(sm_get_token(client, &second, NULL, NULL), SM_OK);
  CHECK(first != NULL && second != NULL && strcmp(first, second) != 0);
  CHECK_EQ_LL(h_stat("token_requests"), 2);

  /* The server revokes every token: the next request is answered 401, the
   * library fetches a new token and replays the request once. */
  h_control("/_sandbox/revoke", "{}");
  response = request_ok(client, "GET", "/v1/echo", NULL, NULL);
  if (response != NULL) {
    CHECK_EQ_LL(sm_response_status(response), 200);
    sm_response_free(response);
  }
  CHECK_EQ_LL(h_stat("token_requests"), 3);
  CHECK_EQ_LL(h_stat("unauthorized"), 1);
  CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
  CHECK_EQ_LL(h_json_number(json, "reauth_replays"), 1);
  sm_string_free(json);
  sm_string_free(first);
  sm_string_free(second);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_set_credentials(void) {
  sm_client client = h_client("");
  char *token = NULL, *error = NULL;

  /* The server rotates the secret and forgets old tokens. */
  h_settings("{\"client_secret\":\"rotated-secret-2\"}");
  h_control("/_sandbox/revoke", "{}");
  CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_ERR_AUTH);
  CHECK(token == NULL);
  sm_string_free(error);
  error = NULL;

  CHECK_STATUS(sm_client_set_credentials(client, H_CLIENT_ID, "rotated-secret-2", &error),
               SM_OK);
  CHECK(error == NULL);
  /* No 5-second wait after the earlier SM_ERR_AUTH. */
  CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_OK);
  CHECK(token != NULL && error == NULL);
  sm_string_free(token);
  sm_string_free(error);
  CHECK_EQ_LL(h_stat("tokens_issued"), 1);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_env_fallback(void) {
  sm_client client = 0;
  char *token = NULL, *error = NULL;
  setenv("STARMILE_BASE_URL", h_base_url, 1);
  setenv("STARMILE_CLIENT_ID", H_CLIENT_ID, 1);
  setenv("STARMILE_CLIENT_SECRET", H_CLIENT_SECRET, 1);
  CHECK_STATUS(sm_client_new("{}", &client, &error), SM_OK);
  CHECK(client != 0 && error == NULL);
  sm_string_free(error);
  error = NULL;
  CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_OK);
  if (error != NULL) printf("    %s\n", error);
  sm_string_free(token);
  sm_string_free(error);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  unsetenv("STARMILE_BASE_URL");
  unsetenv("STARMILE_CLIENT_ID");
  unsetenv("STARMILE_CLIENT_SECRET");
}

int main(void) {
  h_start("test_basic");
  h_run("sm_version is MAJOR.MINOR.PATCH", case_version);
  h_run("sm_status_name names every status, SM_ERR_UNKNOWN otherwise", case_status_names);
  h_reset();
  h_run("sm_client_new does no network I/O", case_new_does_no_io);
  h_reset();
  h_run("token: fetched once, cached, expiry in the future", case_token);
  h_reset();
  h_run("GET: status, body, headers, case-insensitive lookup", case_get);
  h_reset();
  h_run("POST/PUT/PATCH/DELETE send their bodies", case_post_body);
  h_reset();
  h_run("HTTP statuses are data; redirects are not followed", case_status_is_data);
  h_reset();
  h_run("same-origin absolute URL and token_url", case_urls);
  h_reset();
  h_run("sm_client_stats counts and holds no secret", case_stats);
  h_reset();
  h_run("invalidate_token and 401 replay fetch new tokens", case_invalidate_and_replay);
  h_reset();
  h_run("set_credentials after a secret rotation", case_set_credentials);
  h_reset();
  h_run("config \"{}\" reads STARMILE_* from the environment", case_env_fallback);
  return h_finish();
}
