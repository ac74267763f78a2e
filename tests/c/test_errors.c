/* How failures reach a C caller: each cause its sm_status and a message. */
#include "harness.h"

#define WRONG_SECRET "wrong-Secret-c0ffee-91ab"

/* sm_get_token and sm_request both fail with `want`, leave their out-params
 * NULL / 0, and give a message (containing `needle` when given) that holds
 * no secret. Each call makes one attempt at the token endpoint at most. */
static void expect_token_failure(sm_client client, sm_status want, const char *needle) {
  char *token = (char *)0x5a5a5a5a, *error = NULL;
  int64_t expires = 12345;
  sm_response *response = (sm_response *)0x5a5a5a5a;

  CHECK_STATUS(sm_get_token(client, &token, &expires, &error), want);
  CHECK(token == NULL);
  CHECK_EQ_LL(expires, 0);
  CHECK(error != NULL && error[0] != '\0');
  if (needle != NULL) CHECK_CONTAINS(error, needle);
  CHECK_NOT_CONTAINS(error, WRONG_SECRET);
  CHECK_NOT_CONTAINS(error, H_CLIENT_SECRET);
  sm_string_free(error);

  /* A request needs a token, so it fails the same way. */
  error = NULL;
  CHECK_STATUS(sm_request(client, "GET", "/v1/echo", NULL, NULL, 0, &response, &error),
               want);
  CHECK(response == NULL);
  CHECK(error != NULL);
  CHECK_NOT_CONTAINS(error, WRONG_SECRET);
  sm_string_free(error);
}

static void case_wrong_secret(void) {
  static const char *modes[] = {"form", "json", "basic"};
  char *json = NULL;
  size_t i;
  /* The sandbox even quotes the submitted secret in its error text. */
  h_settings("{\"echo_secret_in_errors\":true}");
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    sm_client client = 0;
    char config[512], *error = NULL;
    long long before = h_stat("token_requests");
    snprintf(config, sizeof config,
             "{\"base_url\":\"%s\",\"client_id\":\"" H_CLIENT_ID "\","
             "\"client_secret\":\"" WRONG_SECRET "\",\"token_auth\":\"%s\"}",
             h_base_url, modes[i]);
    CHECK_STATUS(sm_client_new(config, &client, &error), SM_OK);
    sm_string_free(error);
    /* SM_ERR_AUTH carrying the OAuth2 error, never the secret. */
    expect_token_failure(client, SM_ERR_AUTH, "invalid_client");
    /* Not retried, and the second call fails fast without asking again. */
    CHECK_EQ_LL(h_stat("token_requests") - before, 1);
    CHECK_STATUS(sm_client_stats(client, &json, NULL), SM_OK);
    CHECK_NOT_CONTAINS(json, WRONG_SECRET);
    sm_string_free(json);
    json = NULL;
    CHECK_STATUS(sm_client_free(client), SM_OK);
  }
}

static void case_closed_port(void) {
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  char config[512];
  sm_client client = 0;
  /* A bound socket that never listens: connecting to it is refused. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
  snprintf(config, sizeof config,
           "{\"base_url\":\"http://127.0.0.1:%d\",\"client_id\":\"a\","
           "\"client_secret\":\"b\",\"max_retries\":0}",
           ntohs(addr.sin_port));
  CHECK_STATUS(sm_client_new(config, &client, NULL), SM_OK);
  expect_token_failure(client, SM_ERR_NETWORK, NULL);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  close(fd);
}

static void case_token_unavailable(void) {
  sm_client client = h_client(",\"max_retries\":0");
  h_faults("{\"target\":\"token\",\"faults\":[{\"status\":503,\"count\":2}]}");
  expect_token_failure(client, SM_ERR_UNAVAILABLE, NULL);
  CHECK_EQ_LL(h_stat("token_requests"), 2); /* one per call, no retry */
  CHECK_STATUS(sm_client_free(client), SM_OK);

  /* With retries: 429/5xx are retried (Retry-After: 0 keeps it quick). */
  h_reset();
  client = h_client(",\"max_retries\":2");
  h_faults("{\"target\":\"token\",\"faults\":[{\"status\":429,\"headers\":"
           "{\"Retry-After\":\"0\"},\"count\":3}]}");
  {
    char *token = NULL, *error = NULL;
    CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_ERR_UNAVAILABLE);
    sm_string_free(error);
    CHECK_EQ_LL(h_stat("token_requests"), 3);
    /* The next call, with the endpoint healthy again, works. */
    CHECK_STATUS(sm_get_token(client, &token, NULL, &error), SM_OK);
    sm_string_free(token);
    sm_string_free(error);
  }
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_token_protocol(void) {
  sm_client client = h_client("");
  /* A 200 that is not JSON: unusable, and not retried. */
  h_faults("{\"target\":\"token\",\"faults\":[{\"status\":200,\"body\":\"<html>hi</html>\","
           "\"headers\":{\"Content-Type\":\"text/html\"},\"count\":2}]}");
  expect_token_failure(client, SM_ERR_PROTOCOL, NULL);
  CHECK_EQ_LL(h_stat("token_requests"), 2);

  /* JSON without access_token. */
  h_faults("{\"target\":\"token\",\"faults\":[{\"status\":200,"
           "\"body\":{\"token_type\":\"Bearer\",\"expires_in\":60},\"count\":2}]}");
  expect_token_failure(client, SM_ERR_PROTOCOL, "access_token");

  /* A 403 page from a proxy (no OAuth2 error member): the status is named. */
  h_faults("{\"target\":\"token\",\"faults\":[{\"status\":403,\"body\":\"Forbidden by proxy\","
           "\"headers\":{\"Content-Type\":\"text/plain\"},\"count\":2}]}");
  expect_token_failure(client, SM_ERR_PROTOCOL, "403");
  CHECK_EQ_LL(h_stat("token_requests"), 6);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_token_timeout(void) {
  sm_client client = h_client(",\"max_retries\":0,\"timeout_ms\":300");
  h_faults("{\"target\":\"token\",\"faults\":[{\"delay_ms\":3000,\"count\":2}]}");
  expect_token_failure(client, SM_ERR_TIMEOUT, NULL);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_dropped_connections(void) {
  sm_client client = h_client(",\"max_retries\":0");
  sm_response *response = (sm_response *)0x5a5a5a5a;
  char *error = NULL;
  /* The token endpoint hangs up. */
  h_faults("{\"target\":\"token\",\"faults\":[{\"drop\":true,\"count\":2}]}");
  expect_token_failure(client, SM_ERR_NETWORK, NULL);
  CHECK_STATUS(sm_client_free(client), SM_OK);

  /* The API hangs up on a POST without Idempotency-Key: never sent twice. */
  h_reset();
  client = h_client(",\"max_retries\":2");
  h_faults("{\"target\":\"api\",\"faults\":[{\"drop\":true}]}");
  CHECK_STATUS(sm_request(client, "POST", "/v1/echo", NULL, (const uint8_t *)"{\"n\":1}", 7,
                          &response, &error),
               SM_ERR_NETWORK);
  CHECK(response == NULL && error != NULL);
  sm_string_free(error);
  CHECK_EQ_LL(h_stat("POST /v1/echo"), 1);
  CHECK_EQ_LL(h_stat("duplicate_unkeyed_writes"), 0);

  /* A GET is retried after the same failure and succeeds. */
  h_faults("{\"target\":\"api\",\"faults\":[{\"drop\":true}]}");
  CHECK_EQ_LL(h_get_status(client, "/v1/echo"), 200);
  CHECK_EQ_LL(h_stat("GET /v1/echo"), 2);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

static void case_api_limits(void) {
  sm_client client = h_client(",\"max_retries\":0,\"timeout_ms\":500,\"max_response_bytes\":1000");
  sm_response *response = NULL;
  size_t len = 0;

  /* A body at the limit arrives whole; one byte more is SM_ERR_PROTOCOL. */
  CHECK_STATUS(sm_request(client, "GET", "/v1/bytes/1000", NULL, NULL, 0, &response, NULL),
               SM_OK);
  CHECK(sm_response_body(response, &len) != NULL);
  CHECK_EQ_LL(len, 1000);
  sm_response_free(response);
  h_get_fails(client, "/v1/bytes/1001", SM_ERR_PROTOCOL);

  /* An API answer slower than timeout_ms. */
  h_get_fails(client, "/v1/slow/3000", SM_ERR_TIMEOUT);

  /* The client is still fine afterwards. */
  CHECK_EQ_LL(h_get_status(client, "/v1/echo"), 200);
  CHECK_EQ_LL(h_stat("token_requests"), 1);
  CHECK_STATUS(sm_client_free(client), SM_OK);
}

int main(void) {
  h_start("test_errors");
  h_reset();
  h_run("wrong secret: SM_ERR_AUTH, message without the secret (form/json/basic)",
        case_wrong_secret);
  h_reset();
  h_run("closed port: SM_ERR_NETWORK", case_closed_port);
  h_reset();
  h_run("token endpoint 503/429: SM_ERR_UNAVAILABLE", case_token_unavailable);
  h_reset();
  h_run("token endpoint 200 not JSON / no access_token / proxy 403: SM_ERR_PROTOCOL",
        case_token_protocol);
  h_reset();
  h_run("token endpoint too slow: SM_ERR_TIMEOUT", case_token_timeout);
  h_reset();
  h_run("dropped connections: SM_ERR_NETWORK; an unkeyed POST is not re-sent",
        case_dropped_connections);
  h_reset();
  h_run("API answers too large (SM_ERR_PROTOCOL) or too slow (SM_ERR_TIMEOUT)",
        case_api_limits);
  return h_finish();
}
