/*
 * The shared token cache (token_cache = "file:<dir>") across processes:
 * sixteen forked children, each with its own client made after the fork,
 * fetch one token per lifetime between them. (Redis is covered by the Rust
 * and Python tests.)
 */
#include "harness.h" /* first: it selects the POSIX feature level */

#include <dirent.h>
#include <sys/stat.h>

#define PROCESSES 16
#define TOKEN_LIFETIME_S 3
#define RUN_MS 7000 /* fetches at about 0, 3 and 6 s; the 4th would be due at 9 s */
#define PAUSE_MS 50 /* between one child's requests: modest under valgrind */

static char cache_dir[] = "/tmp/starmile-c-cache-XXXXXX";

static long long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A child: its own client, then GET /v1/echo every PAUSE_MS for RUN_MS once
 * the parent opens the gate (closes its end of the pipe). Writes
 * "<pid> <requests sent> <failed> <its token requests>" to `report` and exits
 * 0 when every request got a 200.
 */
static void child_sends_requests(int gate, int report) {
  char extra[512], gate_byte, *stats = NULL;
  long long deadline, sent = 0, failed = 0, token_requests = -1;
  sm_client client;
  alarm(120); /* a hung child is killed by SIGALRM */
  h_case_failures = 0;
  snprintf(extra, sizeof extra, ",\"token_cache\":\"file:%s\",\"refresh_before_s\":0",
           cache_dir);
  client = h_client(extra);
  while (read(gate, &gate_byte, 1) < 0 && errno == EINTR) {
  }
  close(gate);
  deadline = monotonic_ms() + RUN_MS;
  do {
    if (h_get_status(client, "/v1/echo") == 200)
      sent++;
    else
      failed++;
    h_sleep_ms(PAUSE_MS);
  } while (monotonic_ms() < deadline);
  CHECK_STATUS(sm_client_stats(client, &stats, NULL), SM_OK);
  token_requests = h_json_number(stats, "token_requests");
  sm_string_free(stats);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  dprintf(report, "%d %lld %lld %lld\n", (int)getpid(), sent, failed, token_requests);
  close(report);
  fflush(NULL);
  exit(h_case_failures == 0 && failed == 0 ? 0 : 1);
}

/* The cache entry (the only *.json in cache_dir): private, with the token
 * and its expiry and nothing else; never the secret. */
static void check_cache_entry(void) {
  DIR *dir = opendir(cache_dir);
  struct dirent *file;
  int entries = 0;
  CHECK(dir != NULL);
  while (dir != NULL && (file = readdir(dir)) != NULL) {
    char path[512], text[4096];
    struct stat info;
    FILE *in;
    size_t len;
    const char *name = file->d_name;
    size_t name_len = strlen(name);
    if (name_len < 5 || strcmp(name + name_len - 5, ".json") != 0) continue;
    entries++;
    snprintf(path, sizeof path, "%s/%s", cache_dir, name);
    CHECK(stat(path, &info) == 0);
    CHECK_EQ_LL(info.st_mode & 0777, 0600);
    in = fopen(path, "r");
    CHECK(in != NULL);
    if (in == NULL) continue;
    len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = '\0';
    CHECK_CONTAINS(text, "\"access_token\"");
    CHECK_CONTAINS(text, "\"expires_at_ms\"");
    CHECK_NOT_CONTAINS(text, H_CLIENT_SECRET);
  }
  if (dir != NULL) closedir(dir);
  CHECK_EQ_LL(entries, 1);
}

/* Removes `path`: a file, or a directory with what it holds. */
static void remove_tree(const char *path) {
  DIR *dir = opendir(path);
  struct dirent *file;
  char inner[512];
  if (dir == NULL) {
    unlink(path);
    return;
  }
  while ((file = readdir(dir)) != NULL) {
    if (strcmp(file->d_name, ".") == 0 || strcmp(file->d_name, "..") == 0) continue;
    snprintf(inner, sizeof inner, "%s/%s", path, file->d_name);
    remove_tree(inner);
  }
  closedir(dir);
  rmdir(path);
}

/*
 * The parent uses the library once, through a file cache of its own, before
 * it forks (as a prefork server would). Under valgrind this also matters for
 * time: the children inherit the translated code instead of each translating
 * it again, sixteen at once, which would delay some first requests past the
 * first token's last second.
 */
static void warm_up_before_fork(void) {
  char extra[512];
  sm_client client;
  snprintf(extra, sizeof extra, ",\"token_cache\":\"file:%s/warm-up\"", cache_dir);
  client = h_client(extra);
  CHECK_EQ_LL(h_get_status(client, "/v1/echo"), 200);
  CHECK_STATUS(sm_client_free(client), SM_OK);
  h_reset();
}

static void case_sixteen_processes_one_fetch_per_lifetime(void) {
  int gate[2], report[2], i, exited_ok = 0, reports = 0, fetched_by = 0;
  long long sent_total = 0, fetched_total = 0, token_requests;
  pid_t children[PROCESSES];
  char line[128];
  FILE *in;

  snprintf(line, sizeof line, "{\"token_lifetime_s\":%d}", TOKEN_LIFETIME_S);
  warm_up_before_fork();
  h_settings(line);
  CHECK(pipe(gate) == 0 && pipe(report) == 0);
  fflush(NULL);
  for (i = 0; i < PROCESSES; i++) {
    children[i] = fork();
    CHECK(children[i] >= 0);
    if (children[i] == 0) {
      close(gate[1]);
      close(report[0]);
      child_sends_requests(gate[0], report[1]);
    }
  }
  close(gate[0]);
  close(report[1]);
  close(gate[1]); /* every child starts now */

  in = fdopen(report[0], "r");
  while (in != NULL && fgets(line, sizeof line, in) != NULL) {
    int pid;
    long long sent, failed, fetched;
    if (sscanf(line, "%d %lld %lld %lld", &pid, &sent, &failed, &fetched) != 4) continue;
    reports++;
    sent_total += sent;
    fetched_total += fetched;
    if (fetched > 0) fetched_by++;
    if (failed > 0) h_fail(__FILE__, __LINE__, "child %d: %lld of its requests failed", pid, failed);
  }
  if (in != NULL) fclose(in);
  for (i = 0; i < PROCESSES; i++) {
    int wstatus = 0;
    if (children[i] <= 0) continue;
    CHECK(waitpid(children[i], &wstatus, 0) == children[i]);
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
      exited_ok++;
    else if (WIFSIGNALED(wstatus))
      h_fail(__FILE__, __LINE__, "child %d was killed by signal %d", (int)children[i],
             WTERMSIG(wstatus));
    else
      h_fail(__FILE__, __LINE__, "child %d exited with %d%s", (int)children[i],
             WEXITSTATUS(wstatus),
             WEXITSTATUS(wstatus) == 42 ? " (valgrind found errors in it)" : "");
  }
  CHECK_EQ_LL(exited_ok, PROCESSES);
  CHECK_EQ_LL(reports, PROCESSES);

  token_requests = h_stat("token_requests");
  printf("# file: cache, %d processes, %lld requests in %d s -> %lld token requests"
         " (made by %d process(es); %lld 401s at an expiry, replayed)\n",
         PROCESSES, sent_total, RUN_MS / 1000, token_requests, fetched_by,
         h_stat("unauthorized"));
  /* Every request arrived. With refresh_before_s 0 a request sent in a
   * token's last milliseconds may reach the sandbox after it expired: the
   * 401 is answered by the library with a new token and a replay. */
  CHECK_EQ_LL(h_stat("GET /v1/echo"), sent_total + h_stat("unauthorized"));
  /* One token request per lifetime for all sixteen together, each made by
   * one process while the others adopted its token. */
  CHECK_EQ_LL(token_requests, 3);
  CHECK_EQ_LL(fetched_total, token_requests);
  check_cache_entry();
}

int main(void) {
  h_start("test_shared_cache");
  if (mkdtemp(cache_dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  h_reset();
  h_run("16 forked processes, each with its own client, share a file: token cache:"
        " one token request per lifetime",
        case_sixteen_processes_one_fetch_per_lifetime);
  remove_tree(cache_dir);
  return h_finish();
}
