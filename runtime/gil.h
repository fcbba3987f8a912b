// The global interpreter lock of the subinterpreter runtime, modelled on
// CPython's Python/ceval_gil.h (3.9-3.11): one lock for all interpreters, a
// switch interval, drop requests set by waiters whose timed wait expired, an
// eval breaker the holder polls, and forced switching.
//
//   Gil gil(absl::Milliseconds(5));
//   gil.Take(kMe);                   // blocks; may ask the holder to drop
//   while (Work()) gil.CheckEvalBreaker(kMe);  // hands over on request
//   gil.Drop(kMe);
//
// The waits go through std::mutex/std::condition_variable on purpose: they
// are pthread_mutex_*/pthread_cond_* calls, which the chaos preload of the
// starve wrapper intercepts, and ThreadSanitizer understands them.
#ifndef SUBINTERP_RUNTIME_GIL_H_
#define SUBINTERP_RUNTIME_GIL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace subinterp {

// GilHolderId identifies a thread state to the GIL; kNoGilHolder (0) is
// nobody. Callers choose unique non-zero values.
using GilHolderId = uint64_t;
inline constexpr GilHolderId kNoGilHolder = 0;

// kDefaultSwitchInterval is CPython's default sys.getswitchinterval().
inline constexpr absl::Duration kDefaultSwitchInterval = absl::Milliseconds(5);

// Gil is the lock. Thread-safe; Take/Drop/CheckEvalBreaker must be called by
// the thread that owns `who`, and Drop/CheckEvalBreaker only while holding.
class Gil {
 public:
  // Gil creates a free lock. `switch_interval` must be positive (CHECKed:
  // validate user input with ValidateSwitchInterval first).
  explicit Gil(absl::Duration switch_interval = kDefaultSwitchInterval);

  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

  // ValidateSwitchInterval returns InvalidArgument unless 0 < interval <=
  // 1000 s (CPython: "switch interval must be strictly positive").
  static absl::Status ValidateSwitchInterval(absl::Duration interval);

  // SetSwitchInterval changes the interval for waits that start afterwards
  // (like sys.setswitchinterval). InvalidArgument as ValidateSwitchInterval.
  absl::Status SetSwitchInterval(absl::Duration interval);

  // switch_interval returns the current interval.
  absl::Duration switch_interval() const;

  // Take blocks until `who` holds the lock. Each wait on the condition
  // variable lasts at most the switch interval; if it expires while the lock
  // is still held and no switch happened meanwhile, Take sets a drop request
  // (and the eval breaker) so the holder hands the lock over at its next
  // CheckEvalBreaker. A pending drop request is cleared on acquisition.
  void Take(GilHolderId who);

  // Drop releases the lock held by `who` and wakes one waiter. If a drop
  // request is pending, it then waits until another thread has taken the
  // lock (forced switching), so the dropper cannot take it straight back.
  void Drop(GilHolderId who);

  // DropAtExit releases the lock without forced switching, as a thread
  // state being deleted does (CPython calls drop_gil with a NULL tstate).
  void DropAtExit(GilHolderId who);

  // CheckEvalBreaker is the eval loop's check at instruction boundaries:
  // when a drop request is pending, drops (with forced switching) and takes
  // the lock back, returning true; otherwise returns false at the cost of
  // one relaxed atomic load.
  bool CheckEvalBreaker(GilHolderId who);

  // drop_requested reports whether a drop request is pending.
  bool drop_requested() const {
    return drop_request_.load(std::memory_order_relaxed);
  }

  // holder returns the current holder, or kNoGilHolder when free.
  GilHolderId holder() const;

  // switch_number counts changes of holder (CPython's gil->switch_number).
  uint64_t switch_number() const;

  // drop_requests_total counts drop requests set by timed-out waiters.
  uint64_t drop_requests_total() const {
    return drop_requests_total_.load(std::memory_order_relaxed);
  }

  // forced_switches_total counts drops that waited for another taker.
  uint64_t forced_switches_total() const {
    return forced_switches_total_.load(std::memory_order_relaxed);
  }

 private:
  void Release(GilHolderId who, bool force_switch);

  std::atomic<int64_t> interval_us_;
  std::atomic<bool> drop_request_{false};
  std::atomic<uint64_t> drop_requests_total_{0};
  std::atomic<uint64_t> forced_switches_total_{0};

  mutable std::mutex mutex_;
  std::condition_variable cond_;
  bool locked_ = false;                     // guarded by mutex_
  GilHolderId holder_ = kNoGilHolder;       // guarded by mutex_
  uint64_t switch_number_ = 0;              // guarded by mutex_

  // Forced switching (CPython's switch_mutex/switch_cond/last_holder).
  std::mutex switch_mutex_;
  std::condition_variable switch_cond_;
  GilHolderId last_holder_ = kNoGilHolder;  // guarded by switch_mutex_
};

}  // namespace subinterp

#endif  // SUBINTERP_RUNTIME_GIL_H_
