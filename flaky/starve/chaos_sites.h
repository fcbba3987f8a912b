// The chaos shim's decision rule, apart from the interposition so that a
// test can drive it call by call: a lock-free table of call sites with
// decaying occurrence counts, and the stall chance of one call.
//
//   static struct ChaosSiteTable table;  // zeroed: empty
//   struct ChaosSite* site = ChaosFindSite(&table, ChaosSiteKey(ret, kind, cls),
//                                          &is_new);
//   uint64_t n = ChaosCountOccurrence(site, call_index >> kChaosEpochShift);
//   if ((draw >> 32) < ChaosThreshold(base_threshold, burst, n)) stall();
//
// C, header-only and allocation-free: it is compiled into the preloaded shim
// (chaos_shim.c), where nothing may allocate inside an interposed function,
// and into its C++ test. Every function is thread-safe (atomics only).
#ifndef FLAKY_STARVE_CHAOS_SITES_H_
#define FLAKY_STARVE_CHAOS_SITES_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// What an intercepted call did.
enum ChaosCallKind {
  kChaosThreadStart = 0,
  kChaosCondWake = 1,
  kChaosSemPost = 2,
  kChaosMutexUnlock = 3,
};

// How a call relates to a hand-off.
enum ChaosCallClass {
  kChaosWokeNobody = 0,
  kChaosWokeWaiter = 1,
  // The caller's first call after it woke a waiter: where it leaves the
  // critical section it signalled from (or goes on after a signal sent
  // outside one). Under a lock, stalling at the wake itself only keeps the
  // woken thread waiting for the lock; stalling here lets it run.
  kChaosAfterWake = 2,
};

// ChaosClassify returns the class of a call that woke a waiter or not, made
// by a thread whose previous call did (`previous_woke`) or not.
static inline enum ChaosCallClass ChaosClassify(int woke_waiter,
                                                int previous_woke) {
  if (previous_woke) return kChaosAfterWake;
  return woke_waiter ? kChaosWokeWaiter : kChaosWokeNobody;
}

// ChaosSiteKey identifies a site: the caller's return address, the kind of
// call and its class. Never 0 for a real return address.
static inline uint64_t ChaosSiteKey(uintptr_t caller, enum ChaosCallKind kind,
                                    enum ChaosCallClass cls) {
  return ((uint64_t)caller << 4) | ((uint64_t)kind << 2) | (uint64_t)cls;
}

#define kChaosSiteSlots 4096
#define kChaosMaxProbe 64
#define kChaosCountBits 40
#define kChaosCountMask ((1ULL << kChaosCountBits) - 1)
#define kChaosEpochMask (~0ULL >> kChaosCountBits)
// A site's count halves every 2^kChaosEpochShift intercepted calls of the
// process: a site that used to be hot regains its chance once it has
// quietened, and a long test gets stalls throughout instead of only at its
// start. Counting calls rather than time keeps decisions reproducible.
#define kChaosEpochShift 14

// ChaosSite is one call site's state.
struct ChaosSite {
  uint64_t key;  // 0 = free
  // The site's recent occurrences (low kChaosCountBits bits) and the epoch
  // they were last brought up to date in (the bits above), in one word so
  // that one compare-and-swap updates both.
  uint64_t recent;
  uint64_t stalls;
};

// ChaosSiteTable is open addressing with linear probing; it never shrinks.
// A key that finds no free slot within kChaosMaxProbe slots shares
// `overflow`, which then behaves like one very hot site.
struct ChaosSiteTable {
  struct ChaosSite slots[kChaosSiteSlots];
  struct ChaosSite overflow;
};

// ChaosFindSite returns the site of `key` (non-zero), claiming a free slot
// on first sight; *is_new is set to 1 for the call that claimed it, else 0.
static inline struct ChaosSite* ChaosFindSite(struct ChaosSiteTable* table,
                                              uint64_t key, int* is_new) {
  *is_new = 0;
  const uint64_t slot = (key * 0x9e3779b97f4a7c15ULL) >> 52;  // 12 bits
  for (uint64_t probe = 0; probe < kChaosMaxProbe; ++probe) {
    struct ChaosSite* site = &table->slots[(slot + probe) % kChaosSiteSlots];
    uint64_t seen = __atomic_load_n(&site->key, __ATOMIC_ACQUIRE);
    if (seen == 0) {
      if (__atomic_compare_exchange_n(&site->key, &seen, key, 0,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        *is_new = 1;
        return site;
      }
      // Another thread claimed it first; `seen` now holds its key.
    }
    if (seen == key) return site;
  }
  return &table->overflow;
}

// ChaosCountOccurrence adds one occurrence to `site` in `epoch` and returns
// the site's count before it, halved once for every epoch since the site was
// last counted (epochs compare modulo 2^24: a site quiet for that long has
// long been forgotten anyway).
static inline uint64_t ChaosCountOccurrence(struct ChaosSite* site,
                                            uint64_t epoch) {
  const uint64_t epoch_bits = epoch & kChaosEpochMask;
  uint64_t word = __atomic_load_n(&site->recent, __ATOMIC_RELAXED);
  while (1) {
    const uint64_t elapsed =
        (epoch_bits - (word >> kChaosCountBits)) & kChaosEpochMask;
    uint64_t count = word & kChaosCountMask;
    count = elapsed >= kChaosCountBits ? 0 : count >> elapsed;
    const uint64_t next = (epoch_bits << kChaosCountBits) |
                          (count + 1 < kChaosCountMask ? count + 1 : count);
    if (__atomic_compare_exchange_n(&site->recent, &word, next, 1,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
      return count;
    }
  }
}

// ChaosThreshold is the stall threshold (a stall when the draw's high 32
// bits are below it) of a site's occurrence `n` (counted from 0): `base`
// for the first `burst` occurrences, base * burst / (n + 1) after them, so
// a site seen N times stalls about p * burst * (1 + ln(N / burst)) times in
// all. burst == 0 keeps `base` throughout. base <= 2^32.
static inline uint64_t ChaosThreshold(uint64_t base, uint64_t burst,
                                      uint64_t n) {
  if (burst == 0 || n < burst) return base;
  return base * burst / (n + 1);
}

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // FLAKY_STARVE_CHAOS_SITES_H_
