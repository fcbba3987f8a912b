// The chaos shim: an LD_PRELOAD library that perturbs a test's schedule
// without recompiling it. It stalls a new thread right at its start, and a
// caller right after pthread_cond_signal/broadcast, sem_post and
// pthread_mutex_unlock return, with a seeded chance and a seeded, log-uniform
// duration, capped at a share of the process's wall time. Under a GIL the
// stall of the thread that just woke another is what opens races
// (docs/cpython-mechanism.md); descheduling alone only delays everyone.
//
// The wrapper configures it through environment variables:
//
//   LD_PRELOAD=/tmp/x/libflaky_chaos.so
//   FLAKY_CHAOS=seed=7,p=20,min_ms=1,max_ms=20,cap=10,burst=4
//   FLAKY_CHAOS_COUNTERS=/tmp/x/counters   (optional, see below)
//   ./my_test   (with these variables in its environment)
//
// A malformed FLAKY_CHAOS makes the process exit with status 125 and a
// `flaky-chaos: error:` line: a perturbation that silently does nothing
// would report a schedule that never ran.
//
// Where the budget goes. A program makes thousands of wake-up calls per
// second, nearly all from a few hot places (an interpreter's lock hand-offs,
// a queue's signal), and most of them wake nobody. A race needs a stall at
// one particular moment, usually a rare one (a thread announcing that it
// has started). So each call is classified by its site (chaos_sites.h): the
// caller's return address, the kind of call, and its class: it woke a
// waiter (read from the condition variable's, semaphore's or mutex's own
// state just before the call; glibc's layout), it is the caller's first
// call after waking one (where it leaves the critical section it signalled
// from: stalling at the signal itself would keep the woken thread waiting
// for the lock), or neither. The n-th occurrence of a site (counted from 0,
// halved every 16384 calls of the process) stalls with chance
//
//   base * min(1, burst / (n + 1)),   base = p      after a hand-off,
//                                     base = p / 10 for the other calls
//
// so a site seen a handful of times keeps the full chance, and a site seen
// N times gets about p * burst * (1 + ln(N / burst)) stalls, not p * N. A
// call that woke nobody while the process has only ever had one thread
// cannot hand anything over and never stalls. burst=0 turns the decay off.
//
// Determinism: thread k (the main thread is 0, the others count up in the
// order their pthread_create calls were made) draws from its own generator
// seeded with (seed, k), one draw per intercepted call. A decision depends
// on that draw and on the site's occurrence count, so the same seed and the
// same sequence of calls give the same decisions. The cap depends on elapsed
// time and is the one non-reproducible element.
//
// Counters. Probes read the calling process's counters through the C
// symbols below (dlsym them with RTLD_DEFAULT; they exist only when the shim
// is loaded). When FLAKY_CHAOS_COUNTERS names a file holding a
// FlakyChaosCounters (the wrapper creates it), every process of the test
// that loads the shim also adds its counts there, in shared memory, so the
// wrapper can read them after the test has ended, however it ended.
#ifndef FLAKY_STARVE_CHAOS_SHIM_H_
#define FLAKY_STARVE_CHAOS_SHIM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// FLAKY_CHAOS_COUNTERS_MAGIC starts a counters file ("flakycc1" in
// little-endian bytes).
#define FLAKY_CHAOS_COUNTERS_MAGIC 0x316363796b616c66ULL

// FlakyChaosCounters is the layout of the counters file, summed over the
// test's processes that loaded the shim. Fields are updated with atomic
// adds; `magic` is written by the wrapper and never changed.
struct FlakyChaosCounters {
  uint64_t magic;
  uint64_t processes;      // processes that mapped the file
  uint64_t wakeups;        // intercepted calls (thread starts included)
  uint64_t stalls;         // stalls taken
  uint64_t capped;         // stalls the cap refused
  uint64_t stalled_ns;     // total stall time
  uint64_t sites;          // distinct sites seen (per process, summed)
  uint64_t sites_stalled;  // distinct sites stalled at least once
};

// flaky_chaos_seed returns the configured seed.
uint64_t flaky_chaos_seed(void);

// flaky_chaos_stall_count returns how many stalls the process has taken.
uint64_t flaky_chaos_stall_count(void);

// flaky_chaos_stalled_ns returns the total stall time of the process, in
// nanoseconds, summed over its threads.
uint64_t flaky_chaos_stalled_ns(void);

// flaky_chaos_capped_count returns how many stalls the cap refused.
uint64_t flaky_chaos_capped_count(void);

// flaky_chaos_wakeup_count returns how many calls the process has
// intercepted (thread starts included).
uint64_t flaky_chaos_wakeup_count(void);

// flaky_chaos_site_count returns how many distinct sites the process has
// seen.
uint64_t flaky_chaos_site_count(void);

// flaky_chaos_sites_stalled returns how many distinct sites were stalled at
// least once.
uint64_t flaky_chaos_sites_stalled(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // FLAKY_STARVE_CHAOS_SHIM_H_
