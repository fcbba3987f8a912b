// Forces the losing interleaving of bpo-37224 through the runtime's test
// hook, without sleeps: the worker is held right after its start handshake
// (before its frame push) until the main thread has done its "is it
// running?" check and blocks. Under that schedule the original tests must
// fail with CPython's messages and the fixed helper must still pass, which
// proves the readiness check is a fix independent of timing.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/options.h"
#include "runtime/runtime.h"
#include "tests/race/race_cases.h"

namespace subinterp::race {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Generous: these waits end as soon as the other thread gets there.
constexpr auto kHookTimeout = std::chrono::seconds(60);

// When the held worker is let go.
enum class Release {
  // At the main thread's first blocking call after one of its running
  // checks: the body of the original helper, or the fixed helper's first
  // poll, has run against a worker that has not pushed its frame.
  kWhenMainBlocksAfterCheck,
  // Only when the main thread joins the worker.
  kWhenMainJoins,
  // When the main thread's own run_string has pushed its frame; the main
  // thread then waits (GIL released) until the worker's target returned.
  kDuringMainFrame,
};

// Schedule is the hook's state, shared by all threads of one runtime.
class Schedule {
 public:
  explicit Schedule(Release release) : release_(release) {}

  void OnEvent(const HookEvent& event) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!event.is_main_thread) {
      if (event.point == HookPoint::kThreadStarted) {
        held_ = true;
        if (!cond_.wait_for(lock, kHookTimeout, [&] { return released_; })) {
          timed_out_ = true;
        }
      } else if (event.point == HookPoint::kThreadFinished) {
        worker_finished_ = true;
        cond_.notify_all();
      }
      return;
    }
    switch (event.point) {
      case HookPoint::kRunningChecked:
        // The worker cannot pass kThreadStarted before it is released, so a
        // check before the release is a check while it is held, even if it
        // has not reached the hook yet.
        if (!released_) main_checked_while_held_ = true;
        break;
      case HookPoint::kBlocking:
        if ((release_ == Release::kWhenMainBlocksAfterCheck &&
             main_checked_while_held_) ||
            (release_ == Release::kWhenMainJoins &&
             event.blocking_call == "join")) {
          ReleaseLocked();
        }
        break;
      case HookPoint::kFramePushed:
        if (release_ == Release::kDuringMainFrame) {
          ReleaseLocked();
          if (!cond_.wait_for(lock, kHookTimeout,
                              [&] { return worker_finished_; })) {
            timed_out_ = true;
          }
        }
        break;
      default:
        break;
    }
  }

  // held_then_released: the worker was held and let go after the main
  // thread's check, i.e. the forced interleaving really happened.
  bool held_then_released() {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_ && released_ && main_checked_while_held_ && !timed_out_;
  }

 private:
  void ReleaseLocked() {
    if (released_) return;
    released_ = true;
    cond_.notify_all();
  }

  const Release release_;
  std::mutex mutex_;
  std::condition_variable cond_;
  bool held_ = false;
  bool released_ = false;
  bool main_checked_while_held_ = false;
  bool worker_finished_ = false;
  bool timed_out_ = false;
};

struct Forced {
  std::shared_ptr<Schedule> schedule;
  std::unique_ptr<Runtime> runtime;
};

Forced NewForcedRuntime(Release release) {
  Forced forced;
  forced.schedule = std::make_shared<Schedule>(release);
  std::shared_ptr<Schedule> schedule = forced.schedule;
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = NewRuntimeFromEnvironment(
      [schedule](const HookEvent& event) { schedule->OnEvent(event); });
  EXPECT_TRUE(runtime.ok()) << runtime.status().message();
  if (runtime.ok()) forced.runtime = *std::move(runtime);
  return forced;
}

TEST(DeterministicReproduction, OriginalAlreadyRunningFailsLikeCPython) {
  Forced forced = NewForcedRuntime(Release::kWhenMainBlocksAfterCheck);
  ASSERT_NE(forced.runtime, nullptr);
  const CaseReport report =
      RunAlreadyRunning(*forced.runtime, Helper::kOriginal);
  EXPECT_TRUE(forced.schedule->held_then_released());
  EXPECT_THAT(report.failures,
              ElementsAre("AssertionError: RuntimeError not raised: "
                          "run_string(1, 'print(\"spam\")') succeeded",
                          "Exception in thread Thread-1 (run): RuntimeError: "
                          "unrecognized interpreter ID 1"));
}

TEST(DeterministicReproduction,
     OriginalAlreadyRunningWorkerArrivingDuringTheBodyFindsItRunning) {
  Forced forced = NewForcedRuntime(Release::kDuringMainFrame);
  ASSERT_NE(forced.runtime, nullptr);
  const CaseReport report =
      RunAlreadyRunning(*forced.runtime, Helper::kOriginal);
  EXPECT_TRUE(forced.schedule->held_then_released());
  EXPECT_THAT(report.failures,
              ElementsAre(HasSubstr("RuntimeError not raised"),
                          "Exception in thread Thread-1 (run): RuntimeError: "
                          "interpreter already running"));
}

TEST(DeterministicReproduction, OriginalStillRunningFailsLikeCPython) {
  Forced forced = NewForcedRuntime(Release::kWhenMainBlocksAfterCheck);
  ASSERT_NE(forced.runtime, nullptr);
  const CaseReport report = RunStillRunning(*forced.runtime, Helper::kOriginal);
  EXPECT_TRUE(forced.schedule->held_then_released());
  EXPECT_THAT(report.failures,
              ElementsAre("AssertionError: False is not true : Interp 1 "
                          "should be running before destruction.",
                          "Exception in thread Thread-1 (run): RuntimeError: "
                          "unrecognized interpreter ID 1"));
}

TEST(DeterministicReproduction, FixedAlreadyRunningPassesUnderTheSameSchedule) {
  Forced forced = NewForcedRuntime(Release::kWhenMainBlocksAfterCheck);
  ASSERT_NE(forced.runtime, nullptr);
  const CaseReport report = RunAlreadyRunning(*forced.runtime, Helper::kFixed);
  EXPECT_TRUE(forced.schedule->held_then_released());
  EXPECT_THAT(report.failures, IsEmpty());
}

TEST(DeterministicReproduction, FixedStillRunningPassesUnderTheSameSchedule) {
  Forced forced = NewForcedRuntime(Release::kWhenMainBlocksAfterCheck);
  ASSERT_NE(forced.runtime, nullptr);
  const CaseReport report = RunStillRunning(*forced.runtime, Helper::kFixed);
  EXPECT_TRUE(forced.schedule->held_then_released());
  EXPECT_THAT(report.failures, IsEmpty());
}

TEST(DeterministicReproduction, FixedHelperTimesOutClearlyWhenTheWorkerNeverRuns) {
  Forced forced = NewForcedRuntime(Release::kWhenMainJoins);
  ASSERT_NE(forced.runtime, nullptr);
  CaseOptions options;
  options.readiness_timeout = absl::Milliseconds(30);
  options.poll_interval = absl::Milliseconds(5);
  const CaseReport report =
      RunAlreadyRunning(*forced.runtime, Helper::kFixed, options);
  EXPECT_THAT(report.failures,
              ElementsAre("RuntimeError: interp is not running after 30ms",
                          "Exception in thread Thread-1 (run): RuntimeError: "
                          "unrecognized interpreter ID 1"));
}

}  // namespace
}  // namespace subinterp::race
