// A deliberately flaky fixture for generating real Bazel outputs (BEP JSON,
// test.xml, test.log) that the results parsers are tested on. Tagged manual:
// it fails on purpose. Run 2 of every --runs_per_test series fails (Bazel
// 4.2.3 sets TEST_RANDOM_SEED to the run number), so the data is
// reproducible. Under --gtest_repeat the second iteration fails.
#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace {

int RunNumber() {
  const char* seed = std::getenv("TEST_RANDOM_SEED");
  return seed == nullptr ? 0 : std::atoi(seed);
}

TEST(FixtureTest, AlwaysPasses) { EXPECT_EQ(1 + 1, 2); }

// Fails on Bazel run 2, and on the second iteration under --gtest_repeat
// (the counter survives between iterations in one process).
TEST(FixtureTest, FailsOnRunTwo) {
  static int calls = 0;
  ++calls;
  EXPECT_TRUE(RunNumber() != 2 && calls != 2)
      << "unrecognized interpreter ID " << 60 + RunNumber() + calls;
}

TEST(FixtureTest, Skipped) { GTEST_SKIP() << "not on this platform"; }

TEST(FixtureTest, DISABLED_NeverRuns) {}

}  // namespace
