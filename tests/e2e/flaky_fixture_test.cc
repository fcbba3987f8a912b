// A deliberately flaky test for flaky's own end-to-end tests: the case
// `Fixture.FailsOnSchedule` fails exactly on the runs fixture_schedule.h
// picks, so a hunt's failure count is known in advance. The other cases pass
// (or skip) always, so per-case counting is exercised too.
//
// Knobs, from the environment (bazel test --test_env=...):
//   FLAKY_FIXTURE_SALT         schedule salt (default "e2e")
//   FLAKY_FIXTURE_PROBABILITY  failure probability (default 0.3)
// The run number is TEST_RANDOM_SEED, which Bazel 4.2.3 sets to 1..N under
// --runs_per_test; without it (a single plain run) the test passes.
//
// Tagged manual: `bazel test //...` must stay green.
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/fixture_schedule.h"

namespace flaky::e2e {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::string(value);
}

TEST(Fixture, AlwaysPasses) { EXPECT_EQ(1 + 1, 2); }

TEST(Fixture, FailsOnSchedule) {
  const std::string seed = EnvOr("TEST_RANDOM_SEED", "");
  if (seed.empty()) return;
  const int run = std::atoi(seed.c_str());
  const std::string salt = EnvOr("FLAKY_FIXTURE_SALT", "e2e");
  const double probability =
      std::atof(EnvOr("FLAKY_FIXTURE_PROBABILITY", "0.3").c_str());
  // The run number goes into the message so signatures must normalise it:
  // every failure of this case has one signature.
  EXPECT_FALSE(FixtureFails(salt, run, probability))
      << "scheduled failure in run " << run << " (salt " << salt << ")";
}

TEST(Fixture, IsSkipped) { GTEST_SKIP() << "skipped on purpose"; }

}  // namespace
}  // namespace flaky::e2e
