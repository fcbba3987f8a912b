// The chaos shim (see chaos_shim.h). Written in C so that it drags no C++
// runtime into the processes it is preloaded into.
//
// A preloaded library has no main() to own its state, so this file keeps
// process-wide state in statics: the resolved real functions, the
// configuration parsed once in the constructor, the site table and atomic
// counters. Nothing here allocates inside an interposed function: the site
// table is a fixed array claimed with compare-and-swap.
#define _GNU_SOURCE
#include "flaky/starve/chaos_shim.h"

#include "flaky/starve/chaos_sites.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
static uint64_t wake_threshold;     // stall if (draw >> 32) < threshold
static uint64_t no_waiter_threshold;  // a tenth of wake_threshold
static uint64_t burst;
static double log_min_ns;
static double log_span_ns;
static int64_t max_stall_ns;
static int cap_percent;
static int64_t start_ns;
static int active;  // read with __atomic loads

static uint64_t next_thread_index = 1;  // the main thread is 0
// Set once a second thread exists: until then a call that woke nobody
// cannot hand anything over.
static int multithreaded;

// The process's own counters, and the shared ones (the wrapper's file when
// it could be mapped, else the local ones again).
static struct FlakyChaosCounters local_counters;
static struct FlakyChaosCounters* shared_counters = &local_counters;

// The process's call sites (see chaos_sites.h).
static struct ChaosSiteTable sites;

// Per-thread generator. initial-exec TLS needs no allocation on first use,
// which matters inside interposed locking functions.
struct ThreadState {
  uint64_t rng;
  int seeded;
  int in_stall;
  int woke_waiter;  // this thread's previous call woke a waiter
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

static void Count(uint64_t* local, uint64_t* shared, uint64_t amount) {
  __atomic_fetch_add(local, amount, __ATOMIC_RELAXED);
  if (shared != local) __atomic_fetch_add(shared, amount, __ATOMIC_RELAXED);
}

#define COUNT(field, amount) \
  Count(&local_counters.field, &shared_counters->field, (amount))

// The waiter tests read glibc's own state before the real call: after it,
// the waiter count is already gone. They are heuristics (a waiter may
// arrive or leave in between) and answer "yes" where the layout is unknown,
// which keeps the full chance there.
static int CondHasWaiters(pthread_cond_t* cond) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 25)
  // __wrefs counts waiters in its bits 3 and up (nptl/pthread_cond_common.c).
  return (__atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) >> 3) != 0;
#else
  (void)cond;
  return 1;
#endif
}

static int SemHasWaiters(sem_t* sem) {
#if defined(__GLIBC__) && defined(__x86_64__) && \
    (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 21)
  // struct new_sem: a 64-bit word with the value in the low half and the
  // number of waiters in the high half (nptl/semaphoreP.h).
  uint64_t data;
  memcpy(&data, sem, sizeof(data));
  return (data >> 32) != 0;
#else
  (void)sem;
  return 1;
#endif
}

static int MutexHasWaiters(pthread_mutex_t* mutex) {
#if defined(__GLIBC__)
  // Robust, priority-inheritance and priority-protect mutexes keep an owner
  // TID or a ceiling in __lock; for the others 2 means "contended".
  const int kKindSpecial = 16 | 32 | 64;
  if (mutex->__data.__kind & kKindSpecial) return 1;
  return __atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) > 1;
#else
  (void)mutex;
  return 1;
#endif
}

// MaybeStall draws once (always exactly once per call, so a thread's draws
// depend only on its own call sequence) and may sleep.
static void MaybeStall(uintptr_t caller, enum ChaosCallKind kind,
                       int woke_waiter) {
  if (!__atomic_load_n(&active, __ATOMIC_ACQUIRE)) return;
  struct ThreadState* t = &thread_state;
  if (t->in_stall) return;
  if (!t->seeded) {
    // The main thread is 0. A thread not made by pthread_create (a raw
    // clone) gets the next index, which is not reproducible.
    uint64_t index = 0;
    if ((pid_t)syscall(SYS_gettid) != getpid()) {
      index = __atomic_fetch_add(&next_thread_index, 1, __ATOMIC_RELAXED);
      __atomic_store_n(&multithreaded, 1, __ATOMIC_RELAXED);
    }
    SeedThread(t, index);
  }
  const uint64_t draw = SplitMix(&t->rng);
  const uint64_t call_index =
      __atomic_fetch_add(&local_counters.wakeups, 1, __ATOMIC_RELAXED);
  if (shared_counters != &local_counters) {
    __atomic_fetch_add(&shared_counters->wakeups, 1, __ATOMIC_RELAXED);
  }
  const enum ChaosCallClass call_class =
      ChaosClassify(woke_waiter, t->woke_waiter);
  // A new thread was woken; it woke nobody.
  t->woke_waiter = woke_waiter && kind != kChaosThreadStart;
  int is_new = 0;
  struct ChaosSite* site =
      ChaosFindSite(&sites, ChaosSiteKey(caller, kind, call_class), &is_new);
  if (is_new) COUNT(sites, 1);
  const uint64_t n =
      ChaosCountOccurrence(site, call_index >> kChaosEpochShift);
  uint64_t base = call_class == kChaosWokeNobody ? no_waiter_threshold
                                                 : wake_threshold;
  if (call_class == kChaosWokeNobody &&
      !__atomic_load_n(&multithreaded, __ATOMIC_RELAXED)) {
    base = 0;
  }
  if ((draw >> 32) >= ChaosThreshold(base, burst, n)) return;
  const double unit = (double)(uint32_t)draw / 4294967296.0;
  const int64_t ns = (int64_t)exp(log_min_ns + unit * log_span_ns);
  const int64_t elapsed = NowNs() - start_ns;
  const int64_t allowed = elapsed / 100 * cap_percent + max_stall_ns;
  const int64_t before = (int64_t)__atomic_fetch_add(
      &local_counters.stalled_ns, (uint64_t)ns, __ATOMIC_RELAXED);
  if (before + ns > allowed) {
    __atomic_fetch_sub(&local_counters.stalled_ns, (uint64_t)ns,
                       __ATOMIC_RELAXED);
    COUNT(capped, 1);
    return;
  }
  if (shared_counters != &local_counters) {
    __atomic_fetch_add(&shared_counters->stalled_ns, (uint64_t)ns,
                       __ATOMIC_RELAXED);
  }
  COUNT(stalls, 1);
  if (__atomic_fetch_add(&site->stalls, 1, __ATOMIC_RELAXED) == 0) {
    COUNT(sites_stalled, 1);
  }
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

#define CALLER() ((uintptr_t)__builtin_return_address(0))

struct StartArgs {
  void* (*fn)(void*);
  void* arg;
  uint64_t index;
  uintptr_t creator;  // where pthread_create was called from: the site
};

static void* Trampoline(void* raw) {
  struct StartArgs args = *(struct StartArgs*)raw;
  free(raw);
  SeedThread(&thread_state, args.index);
  MaybeStall(args.creator, kChaosThreadStart, 1);
  return args.fn(args.arg);
}

EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                          void* (*fn)(void*), void* arg) {
  CreateFn real = REAL(real_create, "pthread_create", NULL);
  __atomic_store_n(&multithreaded, 1, __ATOMIC_RELAXED);
  struct StartArgs* args = malloc(sizeof(*args));
  if (args == NULL) return real(thread, attr, fn, arg);
  args->fn = fn;
  args->arg = arg;
  args->index = __atomic_fetch_add(&next_thread_index, 1, __ATOMIC_RELAXED);
  args->creator = CALLER();
  int rc = real(thread, attr, Trampoline, args);
  if (rc != 0) free(args);
  return rc;
}

EXPORT int pthread_cond_signal(pthread_cond_t* cond) {
  const int waiters = CondHasWaiters(cond);
  int rc = REAL(real_signal, "pthread_cond_signal", COND_VERSION)(cond);
  MaybeStall(CALLER(), kChaosCondWake, waiters);
  return rc;
}

EXPORT int pthread_cond_broadcast(pthread_cond_t* cond) {
  const int waiters = CondHasWaiters(cond);
  int rc = REAL(real_broadcast, "pthread_cond_broadcast", COND_VERSION)(cond);
  MaybeStall(CALLER(), kChaosCondWake, waiters);
  return rc;
}

EXPORT int sem_post(sem_t* sem) {
  const int waiters = SemHasWaiters(sem);
  int rc = REAL(real_sem_post, "sem_post", NULL)(sem);
  MaybeStall(CALLER(), kChaosSemPost, waiters);
  return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t* mutex) {
  const int waiters = MutexHasWaiters(mutex);
  int rc = REAL(real_unlock, "pthread_mutex_unlock", NULL)(mutex);
  MaybeStall(CALLER(), kChaosMutexUnlock, waiters);
  return rc;
}

EXPORT uint64_t flaky_chaos_seed(void) { return config_seed; }

EXPORT uint64_t flaky_chaos_stall_count(void) {
  return __atomic_load_n(&local_counters.stalls, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_stalled_ns(void) {
  return __atomic_load_n(&local_counters.stalled_ns, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_capped_count(void) {
  return __atomic_load_n(&local_counters.capped, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_wakeup_count(void) {
  return __atomic_load_n(&local_counters.wakeups, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_site_count(void) {
  return __atomic_load_n(&local_counters.sites, __ATOMIC_RELAXED);
}

EXPORT uint64_t flaky_chaos_sites_stalled(void) {
  return __atomic_load_n(&local_counters.sites_stalled, __ATOMIC_RELAXED);
}

static void ConfigError(const char* config) {
  fprintf(stderr,
          "flaky-chaos: error: FLAKY_CHAOS=\"%s\" is not "
          "seed=N,p=0..100,min_ms=1..2000,max_ms=MIN..2000,cap=1..100,"
          "burst=0..1000000; "
          "let the starve wrapper set it (--profile=chaos:SEED)\n",
          config);
  _exit(125);
}

// ParseConfig reads FLAKY_CHAOS; every key is required so that the wrapper
// and the shim cannot disagree about defaults.
static void ParseConfig(const char* config) {
  unsigned long long seed = 0;
  int p = -1, min_ms = -1, max_ms = -1, cap = -1, burst_value = -1;
  int consumed = 0;
  if (sscanf(config, "seed=%llu,p=%d,min_ms=%d,max_ms=%d,cap=%d,burst=%d%n",
             &seed, &p, &min_ms, &max_ms, &cap, &burst_value,
             &consumed) != 6 ||
      config[consumed] != '\0' || p < 0 || p > 100 || min_ms < 1 ||
      max_ms < min_ms || max_ms > 2000 || cap < 1 || cap > 100 ||
      burst_value < 0 || burst_value > 1000000) {
    ConfigError(config);
  }
  config_seed = seed;
  wake_threshold = (uint64_t)p * (1ULL << 32) / 100;
  no_waiter_threshold = (uint64_t)p * (1ULL << 32) / 1000;
  burst = (uint64_t)burst_value;
  log_min_ns = log((double)min_ms * 1e6);
  log_span_ns = log((double)max_ms * 1e6) - log_min_ns;
  max_stall_ns = (int64_t)max_ms * 1000000;
  cap_percent = cap;
}

// MapSharedCounters points shared_counters at the wrapper's file. A file
// that is missing or not a counters file (a process that outlived its
// wrapper, a test that replaced the directory) leaves the counters local:
// they are a report, and a test must not fail because it cannot be made.
static void MapSharedCounters(const char* path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  struct stat info;
  void* mapped = MAP_FAILED;
  if (fstat(fd, &info) == 0 &&
      info.st_size >= (off_t)sizeof(struct FlakyChaosCounters)) {
    mapped = mmap(NULL, sizeof(struct FlakyChaosCounters),
                  PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (mapped == MAP_FAILED) return;
  struct FlakyChaosCounters* counters = mapped;
  if (__atomic_load_n(&counters->magic, __ATOMIC_RELAXED) !=
      FLAKY_CHAOS_COUNTERS_MAGIC) {
    munmap(mapped, sizeof(struct FlakyChaosCounters));
    return;
  }
  __atomic_fetch_add(&counters->processes, 1, __ATOMIC_RELAXED);
  shared_counters = counters;
}

__attribute__((constructor)) static void ChaosInit(void) {
  const char* config = getenv("FLAKY_CHAOS");
  if (config == NULL) return;  // preloaded without configuration: inert
  ParseConfig(config);
  const char* counters = getenv("FLAKY_CHAOS_COUNTERS");
  if (counters != NULL && *counters != '\0') MapSharedCounters(counters);
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
