// The chaos shim: an LD_PRELOAD library that perturbs a test's schedule
// without recompiling it. It stalls a new thread right at its start, and a
// caller right after pthread_cond_signal/broadcast, sem_post and
// pthread_mutex_unlock return, with a seeded chance and a seeded, log-uniform
// duration, capped at a share of the process's wall time. Under a GIL the
// stall of the thread that just woke another is what opens races
// (docs/cpython-mechanism.md); descheduling alone only delays everyone.
//
// The wrapper configures it through one environment variable:
//
//   LD_PRELOAD=/tmp/x/libflaky_chaos.so
//   FLAKY_CHAOS=seed=7,p=20,min_ms=1,max_ms=20,cap=10
//   ./my_test   (with both variables in its environment)
//
// A malformed FLAKY_CHAOS makes the process exit with status 125 and a
// `flaky-chaos: error:` line: a perturbation that silently does nothing
// would report a schedule that never ran.
//
// Determinism: thread k (the main thread is 0, the others count up in the
// order their pthread_create calls were made) draws from its own generator
// seeded with (seed, k), one draw per intercepted call, so the decisions of
// a thread depend only on the seed and its own sequence of calls. The cap
// depends on elapsed time and is the one non-reproducible element.
//
// Probes read the shim's counters through these C symbols (dlsym them with
// RTLD_DEFAULT; they exist only when the shim is loaded).
#ifndef FLAKY_STARVE_CHAOS_SHIM_H_
#define FLAKY_STARVE_CHAOS_SHIM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// flaky_chaos_seed returns the configured seed.
uint64_t flaky_chaos_seed(void);

// flaky_chaos_stall_count returns how many stalls the process has taken.
uint64_t flaky_chaos_stall_count(void);

// flaky_chaos_stalled_ns returns the total stall time of the process, in
// nanoseconds, summed over its threads.
uint64_t flaky_chaos_stalled_ns(void);

// flaky_chaos_capped_count returns how many stalls the cap refused.
uint64_t flaky_chaos_capped_count(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // FLAKY_STARVE_CHAOS_SHIM_H_
