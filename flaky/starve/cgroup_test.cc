#include "flaky/starve/cgroup.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kMountinfo[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
    "rw,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset ro,relatime shared:5 - cgroup cgroup "
    "rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:9 master:2 - "
    "cgroup cgroup rw,cpu,cpuacct\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "garbage line\n"
    "\n";

TEST(ParseCpuMounts, FindsV1CpuAndEveryV2Mount) {
  std::vector<CpuHierarchy> mounts = ParseCpuMounts(kMountinfo);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].version, 1);
  EXPECT_EQ(mounts[0].mount, "/sys/fs/cgroup/cpu");
  EXPECT_FALSE(mounts[0].read_only);
  // cpuacct alone and cpuset are not the cpu controller.
  EXPECT_EQ(mounts[1].version, 1);
  EXPECT_EQ(mounts[1].mount, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_TRUE(mounts[1].read_only);
  EXPECT_EQ(mounts[2].version, 2);
  EXPECT_EQ(mounts[2].mount, "/sys/fs/cgroup/unified");
}

TEST(ParseCpuMounts, EmptyWithoutCgroups) {
  EXPECT_TRUE(ParseCpuMounts("").empty());
  EXPECT_TRUE(ParseCpuMounts("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").empty());
}

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

TEST(RunCgroup, ReadOnlyHierarchyGivesTheSandboxHint) {
  CpuHierarchy read_only{1, TmpDir() + "/ro", true};
  EXPECT_THAT(RunCgroup::Create(read_only, "", CgroupLimit{}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--strategy=TestRunner=processwrapper-sandbox")));
}

TEST(RunCgroup, ParentOutsideTheHierarchyIsRejected) {
  CpuHierarchy h{1, TmpDir() + "/h", false};
  EXPECT_THAT(RunCgroup::Create(h, "/elsewhere/flaky", CgroupLimit{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not inside the cpu hierarchy")));
}

void Backdate(const std::string& path) {
  struct timeval old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes(path.c_str(), old), 0) << path;
}

std::string StartTimeOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::string rest = stat.substr(stat.rfind(')') + 2);
  std::vector<std::string> fields = absl::StrSplit(rest, ' ');
  return fields[19];
}

// A plain directory stands in for the hierarchy: the collection of stale
// groups happens before the first cgroup file is written, which then fails.
TEST(RunCgroup, CollectsOnlyOldGroupsOfDeadWrappers) {
  const std::string mount = TmpDir() + "/fake";
  ASSERT_EQ(mkdir(mount.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((mount + "/flaky").c_str(), 0755), 0);
  // pid_max is at most 2^22, so this wrapper cannot exist.
  const std::string dead_old = mount + "/flaky/run-999999999-1";
  const std::string dead_new = mount + "/flaky/run-999999998-1";
  // Our parent lives, but not with this start time: a reused pid.
  const std::string reused = absl::StrCat(mount, "/flaky/run-", getppid(), "-1");
  const std::string alive =
      absl::StrCat(mount, "/flaky/run-", getppid(), "-", StartTimeOf(getppid()));
  for (const std::string& dir : {dead_old, dead_new, reused, alive}) {
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  }
  Backdate(dead_old);
  Backdate(reused);
  Backdate(alive);
  EXPECT_THAT(RunCgroup::Create(CpuHierarchy{1, mount, false}, "",
                                CgroupLimit{}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cpu.cfs_period_us")));
  struct stat info;
  EXPECT_NE(stat(dead_old.c_str(), &info), 0);
  EXPECT_NE(stat(reused.c_str(), &info), 0);
  EXPECT_EQ(stat(dead_new.c_str(), &info), 0) << "too young to collect";
  EXPECT_EQ(stat(alive.c_str(), &info), 0) << "its wrapper lives";
}

// The same stand-in: the parent removed right before the run group is made
// (what a concurrent sweep did) is made again, and the run group after it;
// the first cgroup file then fails as above, which shows the mkdir passed.
TEST(RunCgroup, MakesAParentThatVanishedAgainOnce) {
  const std::string mount = TmpDir() + "/vanishing";
  ASSERT_EQ(mkdir(mount.c_str(), 0755), 0);
  const std::string parent = mount + "/flaky/hunt-x@1-2";
  int removals = 0;
  auto remove_once = [&] {
    if (removals++ == 0) {
      ASSERT_EQ(rmdir(parent.c_str()), 0) << std::strerror(errno);
      ASSERT_EQ(rmdir((mount + "/flaky").c_str()), 0) << std::strerror(errno);
    }
  };
  EXPECT_THAT(RunCgroup::Create(CpuHierarchy{1, mount, false},
                                "flaky/hunt-x@1-2", CgroupLimit{},
                                remove_once),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cpu.cfs_period_us")));
  EXPECT_EQ(removals, 2) << "made the parent twice";
  struct stat info;
  EXPECT_EQ(stat(parent.c_str(), &info), 0) << "the parent was made again";
}

TEST(RunCgroup, AParentThatKeepsVanishingFailsSayingSo) {
  const std::string mount = TmpDir() + "/vanishing_always";
  ASSERT_EQ(mkdir(mount.c_str(), 0755), 0);
  const std::string parent = mount + "/flaky";
  int removals = 0;
  auto remove_always = [&] {
    ++removals;
    ASSERT_EQ(rmdir(parent.c_str()), 0) << std::strerror(errno);
  };
  EXPECT_THAT(
      RunCgroup::Create(CpuHierarchy{1, mount, false}, "", CgroupLimit{},
                        remove_always),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("No such file or directory"),
                     HasSubstr("the parent group vanished twice"))));
  EXPECT_EQ(removals, 2) << "retried once, not more";
}

// The real thing, where the machine has a writable cpu controller.
class RealCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CpuHierarchy> h = DetectCpuHierarchy();
    if (!h.ok()) GTEST_SKIP() << "no cpu controller: " << h.status();
    if (h->read_only || access(h->mount.c_str(), W_OK) != 0) {
      GTEST_SKIP() << h->mount << " is not writable (run as root, outside "
                   << "linux-sandbox)";
    }
    hierarchy_ = *h;
    top_ = absl::StrCat("flaky-cgroup-test-", getpid());
    parent_ = top_;
  }
  void TearDown() override {
    if (!top_.empty()) {
      rmdir(absl::StrCat(hierarchy_.mount, "/", parent_).c_str());
      rmdir(absl::StrCat(hierarchy_.mount, "/", top_).c_str());
    }
  }

  std::string Path(const std::string& relative) const {
    return absl::StrCat(hierarchy_.mount, "/", relative);
  }

  // LimitOf reads a group's quota and period as "QUOTA PERIOD".
  std::string LimitOf(const std::string& group) const {
    if (hierarchy_.version == 2) {
      std::ifstream max(group + "/cpu.max");
      std::string line;
      std::getline(max, line);
      return line;
    }
    std::ifstream quota(group + "/cpu.cfs_quota_us");
    std::ifstream period(group + "/cpu.cfs_period_us");
    int64_t q = 0, p = 0;
    quota >> q;
    period >> p;
    return absl::StrCat(q, " ", p);
  }

  CpuHierarchy hierarchy_;
  std::string top_;     // removed last
  std::string parent_;  // top_ or a group inside it
};

TEST_F(RealCgroup, LimitsAProcessAndRemovesTheGroupKillingStragglers) {
  absl::StatusOr<std::unique_ptr<RunCgroup>> group =
      RunCgroup::Create(hierarchy_, parent_, CgroupLimit{30, 50000});
  ASSERT_THAT(group, IsOk());
  const std::string path = (*group)->path();
  EXPECT_EQ((*group)->quota_us(), 15000);
  if (hierarchy_.version == 1) {
    std::ifstream quota(path + "/cpu.cfs_quota_us");
    std::ifstream period(path + "/cpu.cfs_period_us");
    int64_t q = 0, p = 0;
    quota >> q;
    period >> p;
    EXPECT_EQ(q, 15000);
    EXPECT_EQ(p, 50000);
  } else {
    std::ifstream max(path + "/cpu.max");
    std::string line;
    std::getline(max, line);
    EXPECT_EQ(line, "15000 50000");
  }
  // A child that would block forever: Remove must kill it to empty the group.
  int hold[2];
  ASSERT_EQ(pipe(hold), 0);
  const pid_t child = fork();
  if (child == 0) {
    char c;
    (void)!read(hold[0], &c, 1);
    _exit(0);
  }
  close(hold[0]);
  ASSERT_THAT((*group)->AddProcess(child), IsOk());
  absl::StatusOr<std::vector<pid_t>> pids = ReadCgroupPids(path);
  ASSERT_THAT(pids, IsOk());
  EXPECT_THAT(*pids, ::testing::ElementsAre(child));
  // Reap concurrently: the group empties only once the child has exited.
  int status = 0;
  ASSERT_THAT((*group)->Remove(), IsOk());
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  struct stat info;
  EXPECT_NE(stat(path.c_str(), &info), 0) << path << " left behind";
  EXPECT_THAT((*group)->Remove(), IsOk()) << "Remove is idempotent";
  close(hold[1]);
}

// A hunt's parent (flaky/hunt-<id>@<owner>) removed between two runs, with
// the level above it: the next run makes both again, with the controller
// delegated, and gets its limit.
TEST_F(RealCgroup, MakesAParentChainThatVanishedBetweenRuns) {
  parent_ = top_ + "/hunt-x@1-2";
  {
    absl::StatusOr<std::unique_ptr<RunCgroup>> first =
        RunCgroup::Create(hierarchy_, parent_, CgroupLimit{20, 100000});
    ASSERT_THAT(first, IsOk());
  }
  ASSERT_EQ(rmdir(Path(parent_).c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(rmdir(Path(top_).c_str()), 0) << std::strerror(errno);
  absl::StatusOr<std::unique_ptr<RunCgroup>> second =
      RunCgroup::Create(hierarchy_, parent_, CgroupLimit{20, 100000});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(LimitOf((*second)->path()), "20000 100000");
}

// The race a concurrent sweep caused (issue 19): the parent removed after
// it was made and before the run group is.
TEST_F(RealCgroup, RetriesOnceWhenTheParentVanishesBeforeTheRunGroup) {
  parent_ = top_ + "/hunt-y@1-2";
  int removals = 0;
  absl::StatusOr<std::unique_ptr<RunCgroup>> group = RunCgroup::Create(
      hierarchy_, parent_, CgroupLimit{30, 50000}, [&] {
        if (removals++ == 0) {
          ASSERT_EQ(rmdir(Path(parent_).c_str()), 0) << std::strerror(errno);
        }
      });
  ASSERT_THAT(group, IsOk());
  EXPECT_EQ(removals, 2);
  // The kernel took the limit: the controller is there (delegated again on
  // v2).
  EXPECT_EQ(LimitOf((*group)->path()), "15000 50000");
  EXPECT_THAT((*group)->Remove(), IsOk());
}

TEST_F(RealCgroup, DestructorRemovesTheGroup) {
  std::string path;
  {
    absl::StatusOr<std::unique_ptr<RunCgroup>> group =
        RunCgroup::Create(hierarchy_, parent_, CgroupLimit{});
    ASSERT_THAT(group, IsOk());
    path = (*group)->path();
    struct stat info;
    ASSERT_EQ(stat(path.c_str(), &info), 0);
  }
  struct stat info;
  EXPECT_NE(stat(path.c_str(), &info), 0);
}

}  // namespace
}  // namespace flaky::starve
