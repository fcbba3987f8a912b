#include "runtime/gil.h"

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace subinterp {

namespace {
constexpr absl::Duration kMaxSwitchInterval = absl::Seconds(1000);
}  // namespace

Gil::Gil(absl::Duration switch_interval)
    : interval_us_(absl::ToInt64Microseconds(switch_interval)) {
  if (!ValidateSwitchInterval(switch_interval).ok()) std::abort();
}

absl::Status Gil::ValidateSwitchInterval(absl::Duration interval) {
  if (interval <= absl::ZeroDuration() || interval > kMaxSwitchInterval ||
      absl::ToInt64Microseconds(interval) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "switch interval must be strictly positive and at most 1000s "
        "(whole microseconds), got ",
        absl::FormatDuration(interval)));
  }
  return absl::OkStatus();
}

absl::Status Gil::SetSwitchInterval(absl::Duration interval) {
  absl::Status valid = ValidateSwitchInterval(interval);
  if (!valid.ok()) return valid;
  interval_us_.store(absl::ToInt64Microseconds(interval),
                     std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Duration Gil::switch_interval() const {
  return absl::Microseconds(interval_us_.load(std::memory_order_relaxed));
}

void Gil::Take(GilHolderId who) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (locked_) {
    const uint64_t saved_switch_number = switch_number_;
    const auto interval = std::chrono::microseconds(
        interval_us_.load(std::memory_order_relaxed));
    const bool timed_out =
        cond_.wait_for(lock, interval) == std::cv_status::timeout;
    // Only a waiter that saw no switch during a whole interval may ask the
    // holder to drop: otherwise every waiter would preempt every new holder.
    if (timed_out && locked_ && switch_number_ == saved_switch_number &&
        !drop_request_.exchange(true, std::memory_order_relaxed)) {
      drop_requests_total_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  {
    // last_holder_ changes under switch_mutex_ so that a forced-switch
    // waiter in Release cannot miss the hand-over.
    std::lock_guard<std::mutex> switch_lock(switch_mutex_);
    locked_ = true;
    if (last_holder_ != who) ++switch_number_;
    holder_ = who;
    last_holder_ = who;
    switch_cond_.notify_all();
  }
  drop_request_.store(false, std::memory_order_relaxed);
}

void Gil::Drop(GilHolderId who) { Release(who, /*force_switch=*/true); }

void Gil::DropAtExit(GilHolderId who) { Release(who, /*force_switch=*/false); }

void Gil::Release(GilHolderId who, bool force_switch) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!locked_ || holder_ != who) std::abort();  // programmer error
    locked_ = false;
    holder_ = kNoGilHolder;
    cond_.notify_one();
  }
  if (!force_switch || !drop_request_.load(std::memory_order_relaxed)) return;
  std::unique_lock<std::mutex> switch_lock(switch_mutex_);
  if (last_holder_ != who) return;  // someone already took it
  drop_request_.store(false, std::memory_order_relaxed);
  forced_switches_total_.fetch_add(1, std::memory_order_relaxed);
  // CPython waits once; waiting until the holder changes also absorbs
  // spurious wake-ups. A requester always goes on to take the lock, so the
  // holder does change.
  switch_cond_.wait(switch_lock, [&] { return last_holder_ != who; });
}

bool Gil::CheckEvalBreaker(GilHolderId who) {
  if (!drop_request_.load(std::memory_order_relaxed)) return false;
  Drop(who);
  Take(who);
  return true;
}

GilHolderId Gil::holder() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return holder_;
}

uint64_t Gil::switch_number() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return switch_number_;
}

}  // namespace subinterp
