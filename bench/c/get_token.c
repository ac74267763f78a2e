/*
 * Part 1: cached sm_get_token (call + sm_string_free) from C, on N threads
 * sharing one client.
 *
 *   get_token [-s SECONDS] [-r REPS] [-n MAX_CALLS_PER_THREAD] THREADS...
 *
 * The first call fetches the token; every timed call reads the cached one.
 * For each thread count it prints the median over REPS runs of
 *   t<T>.ns_per_op      wall time x busy cores / calls: the core time one call
 *                       costs; equals the 1-thread figure when threads scale
 *                       perfectly (busy cores = min(T, cores this process may use))
 *   t<T>.cpu_ns_per_op  CPU time of all threads / calls
 *   t<T>.mops           calls per microsecond, all threads together
 *   t<T>.parallelism    CPU time of all threads / wall time: how many of the
 *                       busy cores the threads actually had (on a shared
 *                       machine, other processes take some)
 *   t<T>.sleeps_per_mcall  voluntary context switches per million calls: a
 *                       thread that waits for a lock held by another sleeps
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <unistd.h>

#define BATCH 256

static sm_client client;
static atomic_int stop;
static long max_calls; /* per thread; 0 = until stopped */
static pthread_barrier_t start_line;

struct worker {
  pthread_t thread;
  uint64_t calls;
  uint64_t cpu_ns;
  uint64_t start_ns, end_ns;
  long sleeps;
  uint64_t failures;
};

/* Voluntary context switches of the calling thread so far. */
static long thread_sleeps(void) {
  struct rusage usage;
  return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nvcsw : 0;
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  pthread_barrier_wait(&start_line);
  long sleeps0 = thread_sleeps();
  w->start_ns = b_now_ns();
  uint64_t cpu0 = b_thread_cpu_ns();
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int i = 0; i < BATCH; i++) {
      char *token = NULL;
      if (sm_get_token(client, &token, NULL, NULL) != SM_OK || !token) w->failures++;
      sm_string_free(token);
    }
    w->calls += BATCH;
    if (max_calls && w->calls >= (uint64_t)max_calls) break;
  }
  w->cpu_ns = b_thread_cpu_ns() - cpu0;
  w->end_ns = b_now_ns();
  w->sleeps = thread_sleeps() - sleeps0;
  return NULL;
}

static int usable_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return (int)sysconf(_SC_NPROCESSORS_ONLN);
  return CPU_COUNT(&set);
}

int main(int argc, char **argv) {
  double seconds = 2;
  long reps = 3;
  int opt;
  while ((opt = getopt(argc, argv, "s:r:n:")) != -1) {
    switch (opt) {
      case 's': seconds = b_arg_double(optarg, "-s"); break;
      case 'r': reps = b_arg_long(optarg, "-r"); break;
      case 'n': max_calls = b_arg_long(optarg, "-n"); break;
      default: b_die("usage: get_token [-s SECONDS] [-r REPS] [-n MAX_CALLS] THREADS...");
    }
  }
  if (optind >= argc) b_die("usage: get_token [-s SECONDS] [-r REPS] [-n MAX_CALLS] THREADS...");

  client = b_client("");
  char *token = NULL, *error = NULL;
  sm_status status = sm_get_token(client, &token, NULL, &error);
  if (status != SM_OK) b_die("first sm_get_token: %s: %s", sm_status_name(status), error);
  sm_string_free(token);

  int cores = usable_cores();
  printf("cores %d\n", cores);
  uint64_t failures = 0;
  for (int a = optind; a < argc; a++) {
    int threads = (int)b_arg_long(argv[a], "THREADS");
    int busy = threads < cores ? threads : cores;
    double *ns = calloc((size_t)reps, sizeof *ns);
    double *cpu = calloc((size_t)reps, sizeof *cpu);
    double *mops = calloc((size_t)reps, sizeof *mops);
    double *parallel = calloc((size_t)reps, sizeof *parallel);
    double *sleeps = calloc((size_t)reps, sizeof *sleeps);
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (!ns || !cpu || !mops || !parallel || !sleeps || !workers) b_die("out of memory");
    for (long r = 0; r < reps; r++) {
      memset(workers, 0, (size_t)threads * sizeof *workers);
      atomic_store(&stop, 0);
      pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
      for (int t = 0; t < threads; t++)
        if (pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]) != 0)
          b_die("pthread_create failed");
      pthread_barrier_wait(&start_line);
      if (!max_calls) {
        struct timespec pause = {(time_t)seconds,
                                 (long)((seconds - (double)(time_t)seconds) * 1e9)};
        nanosleep(&pause, NULL);
        atomic_store(&stop, 1);
      }
      uint64_t calls = 0, cpu_ns = 0, first_start = UINT64_MAX, last_end = 0;
      long slept = 0;
      for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        calls += workers[t].calls;
        cpu_ns += workers[t].cpu_ns;
        failures += workers[t].failures;
        slept += workers[t].sleeps;
        if (workers[t].start_ns < first_start) first_start = workers[t].start_ns;
        if (workers[t].end_ns > last_end) last_end = workers[t].end_ns;
      }
      /* From the first thread's start to the last one's end. */
      uint64_t wall = last_end - first_start;
      pthread_barrier_destroy(&start_line);
      ns[r] = (double)wall * busy / (double)calls;
      cpu[r] = (double)cpu_ns / (double)calls;
      mops[r] = (double)calls / ((double)wall / 1e3);
      parallel[r] = (double)cpu_ns / (double)wall;
      sleeps[r] = (double)slept * 1e6 / (double)calls;
    }
    printf("t%d.ns_per_op %.1f\n", threads, b_median(ns, (size_t)reps));
    printf("t%d.cpu_ns_per_op %.1f\n", threads, b_median(cpu, (size_t)reps));
    printf("t%d.mops %.2f\n", threads, b_median(mops, (size_t)reps));
    printf("t%d.parallelism %.2f\n", threads, b_median(parallel, (size_t)reps));
    printf("t%d.sleeps_per_mcall %.1f\n", threads, b_median(sleeps, (size_t)reps));
    printf("t%d.busy_cores %d\n", threads, busy);
    fflush(stdout);
    free(ns);
    free(cpu);
    free(mops);
    free(parallel);
    free(sleeps);
    free(workers);
  }
  sm_client_free(client);
  if (failures) b_die("%llu sm_get_token calls failed", (unsigned long long)failures);
  return 0;
}
