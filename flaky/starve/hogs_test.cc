#include "flaky/starve/hogs.h"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;

struct Task {
  int tid = 0;
  std::vector<int> cpus;
  char state = '?';
  uint64_t ticks = 0;
};

// HogTasks lists this process's threads named flaky-hog.
std::vector<Task> HogTasks() {
  std::vector<Task> hogs;
  DIR* dir = opendir("/proc/self/task");
  while (struct dirent* entry = readdir(dir)) {
    int tid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &tid)) continue;
    std::ifstream comm(absl::StrCat("/proc/self/task/", tid, "/comm"));
    std::string name;
    if (!std::getline(comm, name) || name != kHogThreadName) continue;
    Task task;
    task.tid = tid;
    cpu_set_t set;
    if (sched_getaffinity(tid, sizeof(set), &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) task.cpus.push_back(cpu);
      }
    }
    std::ifstream stat_file(absl::StrCat("/proc/self/task/", tid, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(stat_file)),
                     std::istreambuf_iterator<char>());
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
    task.state = fields[0][0];
    uint64_t utime = 0;
    absl::SimpleAtoi(fields[11], &utime);
    task.ticks = utime;
    hogs.push_back(task);
  }
  closedir(dir);
  return hogs;
}

// HogTasksGone waits until no hog thread is listed. A joined thread has
// exited, but the kernel wakes the joiner (clearing the thread's tid) a
// moment before it drops the thread from /proc/self/task; nothing signals
// that moment, so poll it, bounded.
bool HogTasksGone() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!HogTasks().empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "hog threads still listed 60 s after they were joined";
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

TEST(Hogs, SpinPinnedRoundRobinAndStop) {
  absl::StatusOr<std::unique_ptr<Hogs>> hogs = Hogs::Start(3, {0});
  ASSERT_THAT(hogs, IsOk());
  EXPECT_THAT((*hogs)->cpus(), ElementsAre(0, 0, 0));
  std::vector<Task> tasks = HogTasks();
  ASSERT_EQ(tasks.size(), 3u);
  for (const Task& task : tasks) {
    EXPECT_THAT(task.cpus, ElementsAre(0));
    EXPECT_EQ(task.state, 'R') << "a spinning thread is always runnable";
  }
  // They burn CPU: wait (bounded) until one has been charged a tick.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  uint64_t ticks = 0;
  while (ticks == 0 && std::chrono::steady_clock::now() < deadline) {
    for (const Task& task : HogTasks()) ticks += task.ticks;
    std::this_thread::yield();
  }
  EXPECT_GT(ticks, 0u) << "hogs got no CPU time within 60 s";
  (*hogs)->Stop();
  EXPECT_TRUE(HogTasksGone());
  (*hogs)->Stop();  // idempotent
}

TEST(Hogs, SpreadOverSeveralCpus) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  absl::StatusOr<std::unique_ptr<Hogs>> hogs = Hogs::Start(3, cpus);
  ASSERT_THAT(hogs, IsOk());
  std::vector<int> expected = {cpus[0], cpus[1 % cpus.size()], cpus[0]};
  EXPECT_EQ((*hogs)->cpus(), expected);
}

TEST(Hogs, DestructorStopsThem) {
  { ASSERT_THAT(Hogs::Start(2, {0}), IsOk()); }
  EXPECT_TRUE(HogTasksGone());
}

TEST(Hogs, RejectsBadArguments) {
  EXPECT_THAT(Hogs::Start(1, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Hogs::Start(-1, {0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<std::unique_ptr<Hogs>> none = Hogs::Start(0, {});
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE((*none)->cpus().empty());
}

TEST(Hogs, UnavailableCpuFailsAndStopsTheOthers) {
  // CPU 1023 exists on no machine this runs on.
  EXPECT_THAT(Hogs::Start(2, {0, 1023}),
              StatusIs(absl::StatusCode::kInternal,
                       ::testing::HasSubstr("cannot pin a hog to CPU 1023")));
  EXPECT_TRUE(HogTasksGone());
}

}  // namespace
}  // namespace flaky::starve
