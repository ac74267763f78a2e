/* Misuse of the C ABI: every mistake is a status and a message, never a
 * crash, a leak, or a stale out-param. */
#include "harness.h"

/* A value no out-param holds after a call: proves the call wrote it. */
#define GARBAGE_PTR ((void *)0x5a5a5a5a)
#define GARBAGE_HANDLE ((sm_client)0xdeadbeefULL)

/* A non-NULL error message to free; it must name `needle` when given. */
static void expect_message(char *error, const char *needle) {
  CHECK(error != NULL && error != GARBAGE_PTR);
  if (error == NULL || error == GARBAGE_PTR) return;
  CHECK(error[0] != '\0');
  if (needle != NULL) CHECK_CONTAINS(error, needle);
  sm_string_free(error);
}

/* sm_client_new fails with INVALID_ARGUMENT, out_client 0, a message. */
static void expect_config_refused(const char *config, const char *needle) {
  sm_client client = GARBAGE_HANDLE;
  char *error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_new(config, &client, &error), SM_ERR_INVALID_ARGUMENT);
  CHECK(client == 0);
  expect_message(error, needle);
  if (client != 0 && client != GARBAGE_HANDLE) sm_client_free(client);
}

/* sm_request fails with `want`, out_response NULL, a message (checked with
 * out_error given and with out_error NULL). */
#define expect_request_refused(...) expect_request_refused_at(__LINE__, __VA_ARGS__)
static void expect_request_refused_at(int line, sm_client client, const char *method,
                                      const char *path, const char *headers,
                                      const uint8_t *body, size_t body_len,
                                      sm_status want, const char *needle) {
  int failures = h_case_failures;
  int pass;
  for (pass = 0; pass < 2; pass++) {
    sm_response *response = (sm_response *)GARBAGE_PTR;
    char *error = (char *)GARBAGE_PTR;
    CHECK_STATUS(sm_request(client, method, path, headers, body, body_len,
                            &response, pass == 0 ? &error : NULL),
                 want);
    CHECK(response == NULL);
    if (pass == 0) expect_message(error, needle);
    if (response != NULL && response != GARBAGE_PTR) sm_response_free(response);
  }
  if (h_case_failures != failures)
    h_fail(__FILE__, line, "  ^ that was the request above (%s %s)",
           method ? method : "(NULL)", path ? path : "(NULL)");
}

static void case_config_arguments(void) {
  sm_client client = GARBAGE_HANDLE;
  char *error = (char *)GARBAGE_PTR;
  char config[512];

  /* NULL config_json. */
  CHECK_STATUS(sm_client_new(NULL, &client, &error), SM_ERR_INVALID_ARGUMENT);
  CHECK(client == 0);
  expect_message(error, "config_json");
  CHECK_STATUS(sm_client_new(NULL, &client, NULL), SM_ERR_INVALID_ARGUMENT);

  /* NULL out_client: nothing to return the handle in. */
  error = (char *)GARBAGE_PTR;
  h_config(config, sizeof config, "");
  CHECK_STATUS(sm_client_new(config, NULL, &error), SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "out_client");
  CHECK_STATUS(sm_client_new(config, NULL, NULL), SM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(sm_client_new(NULL, NULL, NULL), SM_ERR_INVALID_ARGUMENT);

  /* Invalid UTF-8 (a lone continuation byte; an overlong encoding). */
  expect_config_refused("{\"base_url\":\"http://127.0.0.1:1/\x80\"}", "UTF-8");
  expect_config_refused("{\"client_id\":\"\xc0\xaf\"}", "UTF-8");

  /* Not JSON, not an object. */
  expect_config_refused("", NULL);
  expect_config_refused("{", NULL);
  expect_config_refused("{\"base_url\":}", NULL);
  expect_config_refused("[]", NULL);
  expect_config_refused("null", NULL);
  expect_config_refused("\"http://127.0.0.1:1\"", NULL);

  /* Unknown keys and wrong types name the key. */
  h_config(config, sizeof config, ",\"bogus_key\":1");
  expect_config_refused(config, "bogus_key");
  h_config(config, sizeof config, ",\"timeout_ms\":\"soon\"");
  expect_config_refused(config, "timeout_ms");
  h_config(config, sizeof config, ",\"max_retries\":11");
  expect_config_refused(config, "max_retries");
  h_config(config, sizeof config, ",\"token_auth\":\"carrier-pigeon\"");
  expect_config_refused(config, "token_auth");

  /* Missing required values (the environment holds none of them). */
  unsetenv("STARMILE_BASE_URL");
  unsetenv("STARMILE_CLIENT_ID");
  unsetenv("STARMILE_CLIENT_SECRET");
  unsetenv("STARMILE_CLIENT_SECRET_FILE");
  expect_config_refused("{}", "base_url");

  /* Bad URLs; plain http only for loopback hosts. */
  expect_config_refused("{\"base_url\":\"not a url\",\"client_id\":\"a\",\"client_secret\":\"b\"}",
                        NULL);
  expect_config_refused("{\"base_url\":\"ftp://127.0.0.1/\",\"client_id\":\"a\",\"client_secret\":\"b\"}",
                        NULL);
  expect_config_refused("{\"base_url\":\"http://api.example.com\",\"client_id\":\"a\",\"client_secret\":\"b\"}",
                        NULL);
}

/* A secret given with the wrong type must not show up in the message. */
static void case_secret_not_in_config_errors(void) {
  static const char secret[] = "c-abuse-Secret-7f3a9e";
  sm_client client = GARBAGE_HANDLE;
  char *error = NULL;
  char config[512];
  h_config(config, sizeof config, "");
  snprintf(config, sizeof config,
           "{\"base_url\":\"%s\",\"client_id\":\"a\",\"client_secret\":[\"%s\"]}",
           h_base_url, secret);
  CHECK_STATUS(sm_client_new(config, &client, &error), SM_ERR_INVALID_ARGUMENT);
  CHECK(client == 0);
  CHECK_CONTAINS(error, "client_secret");
  CHECK_NOT_CONTAINS(error, secret);
  sm_string_free(error);
  error = NULL;
  snprintf(config, sizeof config,
           "{\"base_url\":\"%s\",\"client_id\":\"a\",\"client_secret\":{\"v\":\"%s\"}}",
           h_base_url, secret);
  CHECK_STATUS(sm_client_new(config, &client, &error), SM_ERR_INVALID_ARGUMENT);
  CHECK_NOT_CONTAINS(error, secret);
  sm_string_free(error);
}

/* Every function given handle 0, a made-up handle, a freed handle. */
static void expect_handle_refused(sm_client handle) {
  char *token = (char *)GARBAGE_PTR, *json = (char *)GARBAGE_PTR;
  char *error = (char *)GARBAGE_PTR;
  int64_t expires = 12345;
  sm_response *response = (sm_response *)GARBAGE_PTR;

  CHECK_STATUS(sm_get_token(handle, &token, &expires, &error), SM_ERR_INVALID_HANDLE);
  CHECK(token == NULL);
  CHECK_EQ_LL(expires, 0);
  expect_message(error, "handle");
  CHECK_STATUS(sm_get_token(handle, &token, NULL, NULL), SM_ERR_INVALID_HANDLE);

  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_request(handle, "GET", "/v1/echo", NULL, NULL, 0, &response, &error),
               SM_ERR_INVALID_HANDLE);
  CHECK(response == NULL);
  expect_message(error, "handle");

  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_stats(handle, &json, &error), SM_ERR_INVALID_HANDLE);
  CHECK(json == NULL);
  expect_message(error, "handle");
  CHECK_STATUS(sm_client_stats(handle, &json, NULL), SM_ERR_INVALID_HANDLE);

  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_set_credentials(handle, "id", "secret", &error),
               SM_ERR_INVALID_HANDLE);
  expect_message(error, "handle");
  CHECK_STATUS(sm_client_set_credentials(handle, "id", "secret", NULL),
               SM_ERR_INVALID_HANDLE);

  CHECK_STATUS(sm_client_invalidate_token(handle), SM_ERR_INVALID_HANDLE);
  CHECK_STATUS(sm_client_free(handle), SM_ERR_INVALID_HANDLE);
}

static void case_bad_handles(void) {
  sm_client client, reused;
  expect_handle_refused(0);
  expect_handle_refused(0x123456789ULL);
  expect_handle_refused(0xffffffffffffffffULL);
  expect_handle_refused(((uint64_t)1 << 52) | 7);

  /* A freed handle, and the handle of a client created after it (which may
   * reuse its slot) must not be confused with it. */
  client = h_client("");
  CHECK(client != 0);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  expect_handle_refused(client);
  reused = h_client("");
  CHECK(reused != 0 && reused != client);
  expect_handle_refused(client);
  CHECK_STATUS(sm_client_invalidate_token(reused), SM_OK);
  /* A neighbouring slot's handle is not valid either. */
  expect_handle_refused(reused + 1);
  CHECK_STATUS(sm_client_free(reused), SM_OK);
}

static void case_double_free(void) {
  sm_client client = h_client("");
  char *token = NULL;
  CHECK_STATUS(sm_get_token(client, &token, NULL, NULL), SM_OK);
  sm_string_free(token);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  CHECK_STATUS(sm_client_free(client), SM_ERR_INVALID_HANDLE);
  CHECK_STATUS(sm_client_free(client), SM_ERR_INVALID_HANDLE);
}

static void case_null_arguments(void) {
  sm_client client = h_client("");
  char *error = (char *)GARBAGE_PTR, *json = (char *)GARBAGE_PTR;
  int64_t expires = 12345;

  /* NULL out_token / out_json / out_response: INVALID_ARGUMENT. */
  CHECK_STATUS(sm_get_token(client, NULL, &expires, &error), SM_ERR_INVALID_ARGUMENT);
  CHECK_EQ_LL(expires, 0);
  expect_message(error, "out_token");
  CHECK_STATUS(sm_get_token(client, NULL, NULL, NULL), SM_ERR_INVALID_ARGUMENT);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_stats(client, NULL, &error), SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "out_json");
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, NULL, &error),
               SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "out_response");
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, NULL, NULL),
               SM_ERR_INVALID_ARGUMENT);

  /* NULL method / path; body NULL with a length. */
  expect_request_refused(client, NULL, "/v1/echo", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "method");
  expect_request_refused(client, "GET", NULL, NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "path");
  expect_request_refused(client, "POST", "/v1/echo", NULL, NULL, 10,
                         SM_ERR_INVALID_ARGUMENT, "body");

  /* NULL credentials. */
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_set_credentials(client, NULL, "x", &error),
               SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "client_id");
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_set_credentials(client, "x", NULL, &error),
               SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "client_secret");
  CHECK_STATUS(sm_client_set_credentials(client, NULL, NULL, NULL),
               SM_ERR_INVALID_ARGUMENT);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_set_credentials(client, "\xff", "x", &error),
               SM_ERR_INVALID_ARGUMENT);
  expect_message(error, "UTF-8");

  /* None of that reached the network; the client still works. */
  CHECK_EQ_LL(h_stat("api_requests"), 0);
  CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
  CHECK(json != NULL && json != GARBAGE_PTR);
  if (json != GARBAGE_PTR) sm_string_free(json);
  CHECK_EQ_LL(h_get_status(client, "/v1/echo"), 200);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_bad_requests(void) {
  char url[256];
  sm_client client = h_client("");

  /* Invalid UTF-8 in method, path, headers. */
  expect_request_refused(client, "G\xff" "T", "/v1/echo", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "UTF-8");
  expect_request_refused(client, "GET", "/v1/\xe2\x82", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "UTF-8");
  expect_request_refused(client, "GET", "/v1/echo", "X-Name: caf\xe9", NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "UTF-8");

  /* Not a method; not a header line. */
  expect_request_refused(client, "GE T", "/v1/echo", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "", "/v1/echo", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "/v1/echo", "no colon here", NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "/v1/echo", "Bad Name: x", NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);

  /* CR/LF injection inside a header value. */
  expect_request_refused(client, "GET", "/v1/echo", "X-Evil: a\rInjected: b",
                         NULL, 0, SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "/v1/echo", "X-Evil: a\r\rInjected: b",
                         NULL, 0, SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "/v1/echo", "X-Evil: a\x01z",
                         NULL, 0, SM_ERR_INVALID_ARGUMENT, NULL);

  /* The library owns Authorization (and framing headers). */
  expect_request_refused(client, "GET", "/v1/echo", "Authorization: Bearer stolen",
                         NULL, 0, SM_ERR_INVALID_ARGUMENT, "authorization");
  expect_request_refused(client, "GET", "/v1/echo",
                         "X-Fine: 1\nauthorization: Basic eDp5", NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, "authorization");
  expect_request_refused(client, "GET", "/v1/echo", "Host: elsewhere.example",
                         NULL, 0, SM_ERR_INVALID_ARGUMENT, NULL);

  /* The token never goes to another origin. */
  expect_request_refused(client, "GET", "http://example.com/v1/echo", NULL, NULL,
                         0, SM_ERR_INVALID_ARGUMENT, NULL);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/echo", h_port);
  expect_request_refused(client, "GET", url, NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  snprintf(url, sizeof url, "http://localhost:%d/v1/echo", h_port);
  expect_request_refused(client, "GET", url, NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/echo", h_port + 1);
  expect_request_refused(client, "GET", url, NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%d/v1/echo", h_port);
  expect_request_refused(client, "GET", url, NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "v1/echo", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);
  expect_request_refused(client, "GET", "", NULL, NULL, 0,
                         SM_ERR_INVALID_ARGUMENT, NULL);

  /* Nothing was sent to the API. */
  CHECK_EQ_LL(h_stat("api_requests"), 0);

  /* "//host/..." is a path on base_url's origin, not a scheme-relative URL:
   * it reaches the sandbox (which has no such route), never example.com. */
  CHECK_EQ_LL(h_get_status(client, "//example.com/v1/echo"), 404);
  CHECK_EQ_LL(h_stat("GET //example.com/v1/echo"), 1);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

/* A header block with "\r\n" line ends is fine (CR only before the LF). */
static void case_crlf_line_ends(void) {
  sm_client client = h_client("");
  sm_response *response = NULL;
  char *error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", "X-A: 1\r\nX-B: 2\r\n", NULL,
                          0, &response, &error),
               SM_OK);
  CHECK(error == NULL);
  CHECK_EQ_LL(sm_response_status(response), 200);
  sm_response_free(response);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_success_clears_out_error(void) {
  sm_client client = GARBAGE_HANDLE;
  char config[512];
  char *error = (char *)GARBAGE_PTR, *token = NULL, *json = NULL;
  sm_response *response = NULL;

  h_config(config, sizeof config, "");
  CHECK_STATUS(sm_client_new(config, &client, &error), SM_OK);
  CHECK(error == NULL);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_OK);
  CHECK(error == NULL);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, &response, &error),
               SM_OK);
  CHECK(error == NULL);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_stats(client, &json, &error), SM_OK);
  CHECK(error == NULL);
  error = (char *)GARBAGE_PTR;
  CHECK_STATUS(sm_client_set_credentials(client, H_CLIENT_ID, H_CLIENT_SECRET, &error),
               SM_OK);
  CHECK(error == NULL);
  sm_string_free(token);
  sm_string_free(json);
  sm_response_free(response);

  /* And success with out_error NULL everywhere. */
  token = NULL;
  json = NULL;
  response = NULL;
  CHECK_STATUS(sm_get_token(client, &token, NULL, NULL), SM_OK);
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, &response, NULL),
               SM_OK);
  CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
  CHECK_STATUS(sm_client_set_credentials(client, H_CLIENT_ID, H_CLIENT_SECRET, NULL),
               SM_OK);
  sm_string_free(token);
  sm_string_free(json);
  sm_response_free(response);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_null_response_and_strings(void) {
  size_t len = 99;
  sm_client client = h_client("");
  sm_response *response = NULL;

  sm_string_free(NULL);
  sm_response_free(NULL);
  CHECK_EQ_LL(sm_response_status(NULL), 0);
  CHECK(sm_response_body(NULL, &len) == NULL);
  CHECK_EQ_LL(len, 0);
  CHECK(sm_response_body(NULL, NULL) == NULL);
  CHECK(sm_response_headers(NULL) == NULL);
  CHECK(sm_response_header(NULL, "x-request-id") == NULL);
  CHECK(sm_response_header(NULL, NULL) == NULL);

  /* A real response: a NULL or non-UTF-8 header name finds nothing. */
  CHECK_STATUS(sm_request(client, "GET", "/v1/status/204", NULL, NULL, 0, &response, NULL),
               SM_OK);
  CHECK_EQ_LL(sm_response_status(response), 204);
  CHECK(sm_response_header(response, NULL) == NULL);
  CHECK(sm_response_header(response, "x-request-\xff") == NULL);
  len = 99;
  (void)sm_response_body(response, &len); /* an empty body: length 0 */
  CHECK_EQ_LL(len, 0);
  sm_response_free(response);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

int main(void) {
  h_start("test_abuse");
  h_run("config: NULLs, invalid UTF-8, bad JSON, unknown keys, bad URLs",
        case_config_arguments);
  h_run("config: a secret of the wrong type is not echoed", case_secret_not_in_config_errors);
  h_reset();
  h_run("handles: 0, made-up, freed, stale after slot reuse", case_bad_handles);
  h_reset();
  h_run("sm_client_free twice: SM_ERR_INVALID_HANDLE", case_double_free);
  h_reset();
  h_run("NULL arguments and NULL body with a length", case_null_arguments);
  h_reset();
  h_run("requests: invalid UTF-8, CR/LF, Authorization, cross-origin",
        case_bad_requests);
  h_reset();
  h_run("headers with CRLF line ends are accepted", case_crlf_line_ends);
  h_reset();
  h_run("success writes NULL to out_error; NULL out_error is fine",
        case_success_clears_out_error);
  h_reset();
  h_run("NULL response / string: free and accessors are safe",
        case_null_response_and_strings);
  return h_finish();
}
