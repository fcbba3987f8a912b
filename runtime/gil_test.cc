#include "runtime/gil.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace subinterp {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

constexpr GilHolderId kA = 1, kB = 2;
constexpr auto kDeadline = std::chrono::seconds(30);

// WaitUntil polls `done` (no eval-breaker checks, no GIL traffic) until it
// holds; false after a generous deadline so a broken GIL fails loudly.
template <typename Pred>
bool WaitUntil(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(Gil, RejectsNonPositiveOrHugeSwitchIntervals) {
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Microseconds(-1),
                             absl::Nanoseconds(500), absl::Seconds(1001)}) {
    EXPECT_THAT(Gil::ValidateSwitchInterval(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("switch interval must be strictly "
                                   "positive")));
  }
  Gil gil;
  EXPECT_THAT(gil.SetSwitchInterval(absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(gil.switch_interval(), kDefaultSwitchInterval);
}

TEST(Gil, SetSwitchIntervalChangesTheInterval) {
  Gil gil;
  ASSERT_THAT(gil.SetSwitchInterval(absl::Microseconds(1)), IsOk());
  EXPECT_EQ(gil.switch_interval(), absl::Microseconds(1));
}

TEST(Gil, TakeAndDropTrackTheHolder) {
  Gil gil;
  EXPECT_EQ(gil.holder(), kNoGilHolder);
  gil.Take(kA);
  EXPECT_EQ(gil.holder(), kA);
  gil.Drop(kA);
  EXPECT_EQ(gil.holder(), kNoGilHolder);
  gil.Take(kB);
  EXPECT_EQ(gil.switch_number(), 2u);
  gil.DropAtExit(kB);
}

TEST(Gil, NoDropRequestWithoutAWaiter) {
  Gil gil(absl::Microseconds(1));
  gil.Take(kA);
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(gil.CheckEvalBreaker(kA));
  EXPECT_EQ(gil.drop_requests_total(), 0u);
  gil.Drop(kA);
}

TEST(Gil, DropRequestIsHonouredAtTheFirstEvalBreakerCheck) {
  Gil gil(absl::Milliseconds(1));
  gil.Take(kA);
  std::atomic<bool> b_held{false};
  std::thread b([&] {
    gil.Take(kB);
    b_held.store(true);
    gil.Drop(kB);
  });
  // B's timed wait expires with A still holding and no switch: it asks A.
  ASSERT_TRUE(WaitUntil([&] { return gil.drop_requested(); }))
      << "the waiter never set a drop request";
  int checks = 1;
  while (!gil.CheckEvalBreaker(kA)) ++checks;
  EXPECT_EQ(checks, 1);
  // Forced switching: A got the lock back only after B had it.
  EXPECT_TRUE(b_held.load());
  EXPECT_FALSE(gil.drop_requested());
  EXPECT_EQ(gil.drop_requests_total(), 1u);
  gil.Drop(kA);
  b.join();
}

TEST(Gil, ForcedSwitchWaitsUntilTheWaiterTookTheLock) {
  Gil gil(absl::Milliseconds(1));
  gil.Take(kA);
  std::thread b([&] {
    gil.Take(kB);
    gil.Drop(kB);
  });
  ASSERT_TRUE(WaitUntil([&] { return gil.drop_requested(); }));
  // A voluntary drop (a blocking call) with a request pending is forced too.
  gil.Drop(kA);
  // Take(kA), Take(kB): B's take is counted before A's Drop may return.
  EXPECT_EQ(gil.switch_number(), 2u)
      << "Drop returned before the waiter took the lock";
  b.join();
}

TEST(Gil, TwoSpinningThreadsBothMakeProgressWithOneMillisecondInterval) {
  Gil gil(absl::Milliseconds(1));
  constexpr uint64_t kSwitches = 20;
  std::atomic<uint64_t> progress[2] = {{0}, {0}};
  std::atomic<bool> timed_out{false};
  auto spin = [&](int me) {
    const GilHolderId id = me + 1;
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    gil.Take(id);
    while (gil.switch_number() < kSwitches) {
      progress[me].fetch_add(1);
      gil.CheckEvalBreaker(id);
      if (std::chrono::steady_clock::now() > deadline) {
        timed_out.store(true);
        break;
      }
    }
    gil.Drop(id);
  };
  std::thread first(spin, 0), second(spin, 1);
  first.join();
  second.join();
  ASSERT_FALSE(timed_out.load()) << "no hand-over within 30 s";
  EXPECT_GT(progress[0].load(), 0u);
  EXPECT_GT(progress[1].load(), 0u);
  // Each switch after the first two takes came from a drop request.
  EXPECT_GE(gil.drop_requests_total(), kSwitches - 2);
}

}  // namespace
}  // namespace subinterp
