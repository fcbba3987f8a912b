// Runs the sidecar against real processes: a stand-in test with threads,
// and checks it perturbs them, ends with the test, dies with its parent and
// never leaves a thread changed. Uses only the `cpu` mode, which needs no
// privilege to undo (Bazel's linux-sandbox gives none), except the stall
// case, which needs SCHED_IDLE undone (the target runs unsandboxed, as root).
#include "flaky/starve/sched_sidecar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

// Generous: the machine has two cores shared by every build and test.
constexpr int kTimeoutMs = 60000;

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

SchedSpec CpuOnly() {
  SchedSpec spec;
  spec.modes = SchedSpec::kCpu;
  spec.min_ms = 1;
  spec.max_ms = 5;
  return spec;
}

// FakeTest is a process with three threads (a sanitizer may add one), all
// blocked until `release` is closed; then it exits.
struct FakeTest {
  pid_t pid = -1;
  int release = -1;
};

FakeTest StartFakeTest() {
  const std::string helper =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                   std::getenv("TEST_WORKSPACE"),
                   "/flaky/starve/threads_until_eof");
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[0], 0);
    execl(helper.c_str(), helper.c_str(), nullptr);
    _exit(127);
  }
  close(fds[0]);
  return FakeTest{pid, fds[1]};
}

std::vector<pid_t> ThreadsOf(pid_t pid) {
  std::vector<pid_t> tids;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* entry = readdir(d)) {
      const pid_t tid = atoi(entry->d_name);
      if (tid > 0) tids.push_back(tid);
    }
    closedir(d);
  }
  return tids;
}

int CpusOf(pid_t tid) {
  cpu_set_t set;
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return -1;
  return CPU_COUNT(&set);
}

// WaitFor polls `done` every millisecond until it holds; false after
// kTimeoutMs. There is no notification for a change of another thread's
// scheduling.
template <typename Predicate>
bool WaitFor(Predicate done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, nullptr);
  }
  return false;
}

bool SomeThreadPinned(pid_t pid) {
  for (pid_t tid : ThreadsOf(pid)) {
    if (CpusOf(tid) == 1) return true;
  }
  return false;
}

bool Exited(pid_t pid, int timeout_ms) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  struct pollfd p = {fd, POLLIN, 0};
  const bool exited = poll(&p, 1, timeout_ms) == 1;
  close(fd);
  return exited;
}

void Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

class SchedSidecarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cpus_ = AllowedCpus();
    if (cpus_.size() < 2) GTEST_SKIP() << "pinning needs two CPUs to show";
  }
  std::vector<int> cpus_;
};

TEST_F(SchedSidecarTest, PerturbsTheTestAndEndsWithIt) {
  FakeTest test = StartFakeTest();
  ASSERT_TRUE(WaitFor([&] { return ThreadsOf(test.pid).size() >= 3; }));
  absl::StatusOr<std::unique_ptr<SchedSidecar>> sidecar =
      SchedSidecar::Start(test.pid, CpuOnly(), 1, cpus_);
  ASSERT_THAT(sidecar, IsOk());
  EXPECT_TRUE(WaitFor([&] { return SomeThreadPinned(test.pid); }))
      << "no thread of the test was ever pinned";
  close(test.release);
  Reap(test.pid);
  EXPECT_TRUE(Exited((*sidecar)->pid(), kTimeoutMs))
      << "the sidecar outlived the test";
  absl::StatusOr<SchedCounters> counters = (*sidecar)->Stop();
  ASSERT_THAT(counters, IsOk());
  EXPECT_GE(counters->windows, 1u);
  EXPECT_GE(counters->threads, 3u) << "a sanitizer may add one";
  EXPECT_GE(counters->changes, 3u);
  EXPECT_EQ(counters->refused, 0u);
}

TEST_F(SchedSidecarTest, StopGivesTheThreadsTheirCpusBack) {
  FakeTest test = StartFakeTest();
  ASSERT_TRUE(WaitFor([&] { return ThreadsOf(test.pid).size() >= 3; }));
  absl::StatusOr<std::unique_ptr<SchedSidecar>> sidecar =
      SchedSidecar::Start(test.pid, CpuOnly(), 2, cpus_);
  ASSERT_THAT(sidecar, IsOk());
  ASSERT_TRUE(WaitFor([&] { return SomeThreadPinned(test.pid); }));
  EXPECT_THAT((*sidecar)->Stop(), IsOk());
  for (pid_t tid : ThreadsOf(test.pid)) {
    EXPECT_EQ(CpusOf(tid), static_cast<int>(cpus_.size())) << tid;
  }
  close(test.release);
  Reap(test.pid);
}

TEST_F(SchedSidecarTest, ACrashedSidecarIsCaughtAndItsChangesUndone) {
  FakeTest test = StartFakeTest();
  ASSERT_TRUE(WaitFor([&] { return ThreadsOf(test.pid).size() >= 3; }));
  SchedSpec long_windows = CpuOnly();
  long_windows.min_ms = long_windows.max_ms = 2000;
  absl::StatusOr<std::unique_ptr<SchedSidecar>> sidecar =
      SchedSidecar::Start(test.pid, long_windows, 3, cpus_);
  ASSERT_THAT(sidecar, IsOk());
  // With windows of 2 s the first pinned one holds still long enough.
  ASSERT_TRUE(WaitFor([&] { return SomeThreadPinned(test.pid); }));
  ASSERT_EQ(kill((*sidecar)->pid(), SIGKILL), 0);
  ASSERT_TRUE(Exited((*sidecar)->pid(), kTimeoutMs));
  EXPECT_FALSE((*sidecar)->CheckAlive());
  for (pid_t tid : ThreadsOf(test.pid)) {
    EXPECT_EQ(CpusOf(tid), static_cast<int>(cpus_.size())) << tid;
  }
  EXPECT_THAT((*sidecar)->Stop(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("ended without reporting (killed by signal 9)")));
  close(test.release);
  Reap(test.pid);
}

// A parent that dies without stopping its sidecar (a SIGKILLed wrapper)
// takes the sidecar with it.
TEST_F(SchedSidecarTest, DiesWithItsParent) {
  // Orphans come to us, so that they can be observed and reaped.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  FakeTest test = StartFakeTest();
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  const pid_t parent = fork();
  if (parent == 0) {
    absl::StatusOr<std::unique_ptr<SchedSidecar>> sidecar =
        SchedSidecar::Start(test.pid, CpuOnly(), 4, cpus_);
    const pid_t sidecar_pid = sidecar.ok() ? (*sidecar)->pid() : -1;
    (void)!write(report[1], &sidecar_pid, sizeof(sidecar_pid));
    pause();
    _exit(0);
  }
  close(report[1]);
  pid_t sidecar = -1;
  ASSERT_EQ(read(report[0], &sidecar, sizeof(sidecar)),
            static_cast<ssize_t>(sizeof(sidecar)));
  close(report[0]);
  ASSERT_GT(sidecar, 0);
  ASSERT_EQ(kill(parent, SIGKILL), 0);
  Reap(parent);
  EXPECT_TRUE(Exited(sidecar, kTimeoutMs)) << "the sidecar outlived its parent";
  Reap(sidecar);
  close(test.release);
  Reap(test.pid);
}

// CpuTimeNs is how much CPU process `pid` has used.
int64_t CpuTimeNs(pid_t pid) {
  clockid_t clock;
  struct timespec ts;
  if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
    return -1;
  }
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int PolicyOf(pid_t tid) { return sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK; }

// In a stall the test's threads wait in SCHED_IDLE on a CPU the sidecar
// keeps busy: a test that would use a whole CPU gets next to none.
TEST_F(SchedSidecarTest, AStallTakesTheTestsCpu) {
  SchedSpec stalls;
  stalls.modes = SchedSpec::kStall;
  // One long window: Stop ends it at once, and a test held off the CPU
  // for seconds on a loaded machine still finds the stall going on.
  stalls.min_ms = stalls.max_ms = 10000;
  const SchedPermission permission = CheckSchedPermitted(stalls, cpus_);
  if (permission.permitted != SchedSpec::kStall) {
    // Bazel's linux-sandbox: this target is tagged no-sandbox for this case.
    GTEST_SKIP() << "cannot undo SCHED_IDLE here: "
                 << permission.refused.front().second;
  }
  // A seed whose first window is a stall (a quarter of them are).
  uint64_t seed = 1;
  while (!SchedPlanner(stalls, seed, cpus_).Next().stall) ++seed;
  const pid_t spinner = fork();
  if (spinner == 0) {
    for (;;) {
    }
  }
  ASSERT_GT(spinner, 0);
  absl::StatusOr<std::unique_ptr<SchedSidecar>> sidecar =
      SchedSidecar::Start(spinner, stalls, seed, cpus_);
  ASSERT_THAT(sidecar, IsOk());
  ASSERT_TRUE(WaitFor([&] { return PolicyOf(spinner) == SCHED_IDLE; }));
  const auto wall_start = std::chrono::steady_clock::now();
  const int64_t cpu_start = CpuTimeNs(spinner);
  struct timespec pause = {0, 300000000};
  nanosleep(&pause, nullptr);
  const int64_t cpu_used = CpuTimeNs(spinner) - cpu_start;
  const int64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - wall_start)
                              .count();
  // Measured within the 10 s stall unless this test was held off the CPU
  // for over 9.5 s; then the measurement says nothing and is not judged.
  const bool still_stalled = PolicyOf(spinner) == SCHED_IDLE;
  const int cpus_in_stall = CpusOf(spinner);
  absl::StatusOr<SchedCounters> counters = (*sidecar)->Stop();
  ASSERT_THAT(counters, IsOk());
  EXPECT_GE(counters->stalls, 1u);
  EXPECT_EQ(PolicyOf(spinner), SCHED_OTHER) << "Stop gives the policy back";
  EXPECT_EQ(CpusOf(spinner), static_cast<int>(cpus_.size()));
  kill(spinner, SIGKILL);
  Reap(spinner);
  // CFS and EEVDF give a SCHED_IDLE thread a weight of 3 against a
  // SCHED_OTHER one's 1024, about 0.3% of a CPU the sidecar never leaves;
  // a quarter of the wall time is 80 times that.
  if (still_stalled) {
    EXPECT_EQ(cpus_in_stall, 1) << "a stall pins the test to its CPU";
    EXPECT_LT(cpu_used, wall_ns / 4)
        << "the spinner used " << cpu_used / 1000000 << " ms of CPU in "
        << wall_ns / 1000000 << " ms of a stall";
  }
}

TEST(SchedSidecar, FailsForAProcessThatIsGone) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  Reap(child);
  EXPECT_THAT(SchedSidecar::Start(child, CpuOnly(), 1, {0}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("sched_getattr")));
}

}  // namespace
}  // namespace flaky::starve
