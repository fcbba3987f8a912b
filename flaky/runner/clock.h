// Time as the runner sees it, injectable: the real clock for hunts, a
// manual one for tests that must not wait.
//
//   ManualClock clock(absl::FromUnixSeconds(100));
//   clock.SleepFor(absl::Seconds(5));  // returns at once
//   clock.Now();                       // 105 s after the epoch
#ifndef FLAKY_RUNNER_CLOCK_H_
#define FLAKY_RUNNER_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace flaky::runner {

// Clock tells the time and sleeps. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;

  // Now returns the current time.
  virtual absl::Time Now() = 0;

  // SleepFor blocks for `duration` (a ManualClock advances instead).
  virtual void SleepFor(absl::Duration duration) = 0;
};

// RealClock is the system clock.
class RealClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  void SleepFor(absl::Duration duration) override {
    absl::SleepFor(duration);
  }
};

// ManualClock moves only when told: SleepFor and Advance add to Now.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}

  absl::Time Now() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }
  void SleepFor(absl::Duration duration) override { Advance(duration); }

  // Advance moves the clock forward by `duration`.
  void Advance(absl::Duration duration) {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += duration;
  }

 private:
  std::mutex mutex_;
  absl::Time now_;
};

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_CLOCK_H_
