// The chaos shim (see chaos_shim.h). Written in C so that it drags no C++
// runtime into the processes it is preloaded into.
//
// A preloaded library has no main() to own its state, so this file keeps
// process-wide state in statics: the resolved real functions, the
// configuration parsed once in the constructor, and atomic counters.
#define _GNU_SOURCE
#include "flaky/starve/chaos_shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef int (*CreateFn)(pthread_t*, const pthread_attr_t*, void* (*)(void*),
                        void*);
typedef int (*CondFn)(pthread_cond_t*);
typedef int (*SemFn)(sem_t*);
typedef int (*UnlockFn)(pthread_mutex_t*);

static CreateFn real_create;
static CondFn real_signal;
static CondFn real_broadcast;
static SemFn real_sem_post;
static UnlockFn real_unlock;

// Configuration, written once by the constructor before `active` is set.
static uint64_t config_seed;
static uint64_t wake_threshold;    // stall if (draw >> 32) < threshold
static uint64_t unlock_threshold;  // a tenth of wake_threshold
static double log_min_ns;
static double log_span_ns;
static int64_t max_stall_ns;
static int cap_percent;
static int64_t start_ns;
static int active;  // read with __atomic loads

static uint64_t next_thread_index = 1;  // the main thread is 0
static int64_t stalled_ns;
static uint64_t stall_count;
static uint64_t capped_count;

// Per-thread generator. initial-exec TLS needs no allocation on first use,
// which matters inside interposed locking functions.
struct ThreadState {
  uint64_t rng;
  int seeded;
  int in_stall;
};
static __thread struct ThreadState thread_state
    __attribute__((tls_model("initial-exec")));

static uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void SeedThread(struct ThreadState* t, uint64_t index) {
  uint64_t mix = config_seed ^ (index * 0xd1b54a32d192ed03ULL);
  t->rng = SplitMix(&mix);
  t->seeded = 1;
}

static int64_t NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void Sleep(int64_t ns) {
  struct timespec left = {ns / 1000000000LL, ns % 1000000000LL};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// MaybeStall draws once (always exactly once, so a thread's decisions depend
// only on its own call sequence) and may sleep.
static void MaybeStall(uint64_t threshold) {
  if (!__atomic_load_n(&active, __ATOMIC_ACQUIRE)) return;
  struct ThreadState* t = &thread_state;
  if (t->in_stall) return;
  if (!t->seeded) {
    // The main thread is 0. A thread not made by pthread_create (a raw
    // clone) gets the next index, which is not reproducible.
    uint64_t index = (pid_t)syscall(SYS_gettid) == getpid()
                         ? 0
                         : __atomic_fetch_add(&next_thread_index, 1,
                                              __ATOMIC_RELAXED);
    SeedThread(t, index);
  }
  const uint64_t draw = SplitMix(&t->rng);
  if ((draw >> 32) >= threshold) return;
  const double unit = (double)(uint32_t)draw / 4294967296.0;
  const int64_t ns = (int64_t)exp(log_min_ns + unit * log_span_ns);
  const int64_t elapsed = NowNs() - start_ns;
  const int64_t allowed = elapsed / 100 * cap_percent + max_stall_ns;
  const int64_t before = __atomic_fetch_add(&stalled_ns, ns, __ATOMIC_RELAXED);
  if (before + ns > allowed) {
    __atomic_fetch_sub(&stalled_ns, ns, __ATOMIC_RELAXED);
    __atomic_fetch_add(&capped_count, 1, __ATOMIC_RELAXED);
    return;
  }
  __atomic_fetch_add(&stall_count, 1, __ATOMIC_RELAXED);
  t->in_stall = 1;
  Sleep(ns);
  t->in_stall = 0;
}

static void* Resolve(const char* name, const char* version) {
  void* fn = NULL;
  if (version != NULL) fn = dlvsym(RTLD_NEXT, name, version);
  if (fn == NULL) fn = dlsym(RTLD_NEXT, name);
  if (fn == NULL) {
    static const char kMessage[] =
        "flaky-chaos: error: cannot find the real thread functions "
        "(dlsym RTLD_NEXT failed)\n";
    (void)!write(2, kMessage, sizeof(kMessage) - 1);
    _exit(125);
  }
  return fn;
}

// Resolution is lazy because a library constructor that runs before ours
// may already lock mutexes. Racing resolutions store the same pointer.
#define REAL(var, name, version)                                    \
  ({                                                                \
    __typeof__(var) fn_ = __atomic_load_n(&var, __ATOMIC_RELAXED);  \
    if (fn_ == NULL) {                                              \
      fn_ = (__typeof__(var))Resolve(name, version);                \
      __atomic_store_n(&var, fn_, __ATOMIC_RELAXED);                \
    }                                                               \
    fn_;                                                            \
  })

#if defined(__x86_64__)
// dlsym without a version may return the pre-2.3.2 condition variable ABI.
#define COND_VERSION "GLIBC_2.3.2"
#else
#define COND_VERSION NULL
#endif

struct StartArgs {
  void* (*fn)(void*);
  void* arg;
  uint64_t index;
};

static void* Trampoline(void* raw) {
  struct StartArgs args = *(struct StartArgs*)raw;
  free(raw);
  SeedThread(&thread_state, args.index);
  MaybeStall(wake_threshold);
  return args.fn(args.arg);
}

EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                          void* (*fn)(void*), void* arg) {
  CreateFn real = REAL(real_create, "pthread_create", NULL);
  struct StartArgs* args = malloc(sizeof(*args));
  if (args == NULL) return real(thread, attr, fn, arg);
  args->fn = fn;
  args->arg = arg;
  args->index = __atomic_fetch_add(&next_thread_index, 1, __ATOMIC_RELAXED);
  int rc = real(thread, attr, Trampoline, args);
  if (rc != 0) free(args);
  return rc;
}

EXPORT int pthread_cond_signal(pthread_cond_t* cond) {
  int rc = REAL(real_signal, "pthread_cond_signal", COND_VERSION)(cond);
  MaybeStall(wake_threshold);
  return rc;
}

EXPORT int pthread_cond_broadcast(pthread_cond_t* cond) {
  int rc = REAL(real_broadcast, "pthread_cond_broadcast", COND_VERSION)(cond);
  MaybeStall(wake_threshold);
  return rc;
}

EXPORT int sem_post(sem_t* sem) {
  int rc = REAL(real_sem_post, "sem_post", NULL)(sem);
  MaybeStall(wake_threshold);
  return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t* mutex) {
  int rc = REAL(real_unlock, "pthread_mutex_unlock", NULL)(mutex);
  MaybeStall(unlock_threshold);
  return rc;
}

EXPORT uint64_t flaky_chaos_seed(void) { return config_seed; }

EXPORT uint64_t flaky_chaos_stall_count(void) {
  return __atomic_load_n(&stall_count, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_stalled_ns(void) {
  return (uint64_t)__atomic_load_n(&stalled_ns, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_capped_count(void) {
  return __atomic_load_n(&capped_count, __ATOMIC_RELAXED);
}

static void ConfigError(const char* config) {
  fprintf(stderr,
          "flaky-chaos: error: FLAKY_CHAOS=\"%s\" is not "
          "seed=N,p=0..100,min_ms=1..2000,max_ms=MIN..2000,cap=1..100; "
          "let the starve wrapper set it (--profile=chaos:SEED)\n",
          config);
  _exit(125);
}

// ParseConfig reads FLAKY_CHAOS; every key is required so that the wrapper
// and the shim cannot disagree about defaults.
static void ParseConfig(const char* config) {
  unsigned long long seed = 0;
  int p = -1, min_ms = -1, max_ms = -1, cap = -1, consumed = 0;
  if (sscanf(config, "seed=%llu,p=%d,min_ms=%d,max_ms=%d,cap=%d%n", &seed, &p,
             &min_ms, &max_ms, &cap, &consumed) != 5 ||
      config[consumed] != '\0' || p < 0 || p > 100 || min_ms < 1 ||
      max_ms < min_ms || max_ms > 2000 || cap < 1 || cap > 100) {
    ConfigError(config);
  }
  config_seed = seed;
  wake_threshold = (uint64_t)p * (1ULL << 32) / 100;
  unlock_threshold = (uint64_t)p * (1ULL << 32) / 1000;
  log_min_ns = log((double)min_ms * 1e6);
  log_span_ns = log((double)max_ms * 1e6) - log_min_ns;
  max_stall_ns = (int64_t)max_ms * 1000000;
  cap_percent = cap;
}

__attribute__((constructor)) static void ChaosInit(void) {
  const char* config = getenv("FLAKY_CHAOS");
  if (config == NULL) return;  // preloaded without configuration: inert
  ParseConfig(config);
  // Resolve now, outside any lock, so the hot paths only load a pointer.
  REAL(real_create, "pthread_create", NULL);
  REAL(real_signal, "pthread_cond_signal", COND_VERSION);
  REAL(real_broadcast, "pthread_cond_broadcast", COND_VERSION);
  REAL(real_sem_post, "sem_post", NULL);
  REAL(real_unlock, "pthread_mutex_unlock", NULL);
  start_ns = NowNs();
  __atomic_store_n(&active, 1, __ATOMIC_RELEASE);
}

// Stalls during exit handlers only slow the run down.
__attribute__((destructor)) static void ChaosFini(void) {
  __atomic_store_n(&active, 0, __ATOMIC_RELEASE);
}
