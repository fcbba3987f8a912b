// The second workspace's own flaky test (see ../hunt_e2e_test.cc): it loads
// flaky as @flaky and fails on the schedule of @flaky's fixture, with its
// own salt, so the hunt's counts are known in advance.
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/fixture_schedule.h"

TEST(Consumer, FailsOnSchedule) {
  const char* seed = std::getenv("TEST_RANDOM_SEED");
  if (seed == nullptr) return;
  const int run = std::atoi(seed);
  EXPECT_FALSE(flaky::e2e::FixtureFails("consumer", run, 0.5))
      << "consumer failure in run " << run;
}
