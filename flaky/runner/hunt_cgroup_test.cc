#include "flaky/runner/hunt_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flaky/base/status_matchers.h"
#include "flaky/runner/clock.h"
#include "flaky/starve/cgroup.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;

TEST(HuntCgroupParent, IsUnderFlakyAndSafe) {
  EXPECT_EQ(HuntCgroupParent("20261127-181404-30422"),
            "flaky/hunt-20261127-181404-30422");
  EXPECT_EQ(HuntCgroupParent("a/b c"), "flaky/hunt-a_b_c");
}

TEST(RemoveCgroupTree, MissingGroupIsFine) {
  RealClock clock;
  EXPECT_THAT(RemoveCgroupTree("/nonexistent/cgroup", absl::Seconds(1), clock),
              IsOk());
}

// On a real, writable cpu hierarchy (root, no sandbox): a hunt group with
// a run group holding a live process is emptied and removed, and an empty
// leftover hunt group of a killed hunt is swept.
TEST(RemoveCgroupTree, KillsWhatIsLeftAndRemovesTheTree) {
  absl::StatusOr<starve::CpuHierarchy> hierarchy = starve::DetectCpuHierarchy();
  if (!hierarchy.ok()) GTEST_SKIP() << hierarchy.status();
  const std::string base = hierarchy->mount + "/flaky";
  mkdir(base.c_str(), 0755);
  if (hierarchy->read_only || access(base.c_str(), W_OK) != 0) {
    GTEST_SKIP() << base << " is not writable (needs root, no sandbox)";
  }
  const std::string hunt =
      hierarchy->mount + "/" + HuntCgroupParent(absl::StrCat("test-", getpid()));
  const std::string run = hunt + "/run-1";
  ASSERT_EQ(mkdir(hunt.c_str(), 0755), 0) << hunt;
  ASSERT_EQ(mkdir(run.c_str(), 0755), 0) << run;

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  { std::ofstream(run + "/cgroup.procs") << child << "\n"; }

  const std::string leftover =
      hierarchy->mount + "/" + HuntCgroupParent(absl::StrCat("dead-", getpid()));
  ASSERT_EQ(mkdir(leftover.c_str(), 0755), 0);

  RealClock clock;
  ASSERT_THAT(RemoveCgroupTree(hunt, absl::Seconds(30), clock), IsOk());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  struct stat info;
  EXPECT_NE(stat(hunt.c_str(), &info), 0);
  EXPECT_GE(SweepEmptyHuntCgroups(base), 1);
  EXPECT_NE(stat(leftover.c_str(), &info), 0);
}

}  // namespace
}  // namespace flaky::runner
