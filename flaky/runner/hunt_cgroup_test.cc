#include "flaky/runner/hunt_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/runner/clock.h"
#include "flaky/starve/cgroup.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;

TEST(HuntCgroupParent, IsUnderFlakyAndSafeAndNamesItsOwner) {
  const ProcessOwner owner{.pid = 4242, .start_ticks = 77001};
  EXPECT_EQ(HuntCgroupParent("20261127-181404-30422", owner),
            "flaky/hunt-20261127-181404-30422@4242-77001");
  EXPECT_EQ(HuntCgroupParent("a/b c@d", owner), "flaky/hunt-a_b_c_d@4242-77001");
}

TEST(OwnerOf, KnowsLiveProcessesAndNotDeadOnes) {
  absl::StatusOr<ProcessOwner> self = Self();
  ASSERT_THAT(self, IsOk());
  EXPECT_EQ(self->pid, getpid());
  EXPECT_GT(self->start_ticks, 0u);
  EXPECT_EQ(*OwnerOf(getpid()), *self);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(OwnerOf(child).ok());
}

// A plain directory stands in for the hierarchy: the sweep decides by the
// owner in each name (cgroup semantics are the next test's).
TEST(SweepAbandonedHuntCgroups, RemovesDeadOwnersGroupsOnly) {
  const std::string base = std::string(std::getenv("TEST_TMPDIR")) + "/sweep";
  ASSERT_EQ(mkdir(base.c_str(), 0755), 0);
  const ProcessOwner self = *Self();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const std::string base_dir = base + "/";
  const std::string live = base_dir + HuntCgroupParent("live", self).substr(6);
  const std::string reused =  // our pid, another start: the owner is gone
      base_dir + HuntCgroupParent("reused", {.pid = self.pid, .start_ticks = 1}).substr(6);
  const std::string dead = base_dir + HuntCgroupParent("dead", {.pid = child, .start_ticks = 5}).substr(6);
  const std::string legacy_empty = base_dir + "hunt-old";
  const std::string legacy_busy = base_dir + "hunt-busy";
  for (const std::string& dir : {live, reused, dead, legacy_empty, legacy_busy}) {
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  }
  ASSERT_EQ(mkdir((legacy_busy + "/run-1").c_str(), 0755), 0);
  RealClock clock;
  EXPECT_EQ(SweepAbandonedHuntCgroups(base, absl::Seconds(5), clock), 3);
  struct stat info;
  EXPECT_EQ(stat(live.c_str(), &info), 0) << "a live hunt's group was removed";
  EXPECT_EQ(stat(legacy_busy.c_str(), &info), 0);
  EXPECT_NE(stat(reused.c_str(), &info), 0);
  EXPECT_NE(stat(dead.c_str(), &info), 0);
  EXPECT_NE(stat(legacy_empty.c_str(), &info), 0);
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
      hierarchy->mount + "/" + HuntCgroupParent(absl::StrCat("test-", getpid()), *Self());
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
      hierarchy->mount + "/" +
      HuntCgroupParent(absl::StrCat("dead-", getpid()), {.pid = getpid(), .start_ticks = 1});
  ASSERT_EQ(mkdir(leftover.c_str(), 0755), 0);

  RealClock clock;
  ASSERT_THAT(RemoveCgroupTree(hunt, absl::Seconds(30), clock), IsOk());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  struct stat info;
  EXPECT_NE(stat(hunt.c_str(), &info), 0);
  EXPECT_GE(SweepAbandonedHuntCgroups(base, absl::Seconds(10), clock), 1);
  EXPECT_NE(stat(leftover.c_str(), &info), 0);
}

}  // namespace
}  // namespace flaky::runner
