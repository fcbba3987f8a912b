// Checks from inside a Bazel test that the profile the starve wrapper
// announced took effect. Meant for
//   bazel test --run_under='//flaky/starve:starve --profile=P --'
//       --strategy=TestRunner=processwrapper-sandbox
//       //tests/starve:profile_applied_test
// and skipped (saying so) when run without the wrapper.
#include <cstdlib>

#include "absl/status/statusor.h"
#include "base/status_matchers.h"
#include "flaky/starve/profile.h"
#include "gtest/gtest.h"
#include "tests/starve/probe.h"

namespace flaky::starve::probe {
namespace {

using ::flaky::testing::IsOk;

TEST(ProfileApplied, AnnouncedProfileIsInEffect) {
  const char* announced = std::getenv("FLAKY_STARVE_PROFILE");
  if (announced == nullptr) {
    GTEST_SKIP() << "not run under //flaky/starve:starve (no "
                    "FLAKY_STARVE_PROFILE); see this file's comment";
  }
  absl::StatusOr<Profile> profile = ParseProfile(announced);
  ASSERT_THAT(profile, IsOk());
  absl::StatusOr<Observation> seen = Observe();
  ASSERT_THAT(seen, IsOk());
  EXPECT_THAT(CheckProfileApplied(*profile, *seen), IsOk())
      << "profile " << announced;
}

}  // namespace
}  // namespace flaky::starve::probe
