// The test chaos_ops_bazel_test and measure_main hunt with real Bazel: one
// case that takes 300 ms and passes, so a hunt of a few dozen runs lasts
// long enough to be killed at any point of it.
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

TEST(SlowFixture, TakesItsTime) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  SUCCEED();
}
