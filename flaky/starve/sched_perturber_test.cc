#include "flaky/starve/sched_perturber.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::testing::ElementsAre;

// FakeThreads is a test's threads as the perturber sees them.
class FakeThreads : public ThreadControl {
 public:
  std::vector<pid_t> Threads() override { return threads; }

  absl::Status Apply(pid_t tid, const ThreadSchedule& schedule) override {
    applied.push_back(tid);
    if (auto it = errors.find(tid); it != errors.end()) return it->second;
    actual[tid] = schedule;
    return absl::OkStatus();
  }

  // Perturbed counts the live threads whose policy is `policy`.
  int WithPolicy(ThreadPolicy policy) const {
    int n = 0;
    for (pid_t tid : threads) {
      auto it = actual.find(tid);
      if (it != actual.end() && it->second.policy == policy) ++n;
    }
    return n;
  }

  std::vector<pid_t> threads;
  std::map<pid_t, ThreadSchedule> actual;
  std::map<pid_t, absl::Status> errors;
  std::vector<pid_t> applied;  // every Apply call, in order
};

SchedSpec Spec(unsigned modes, int min_ms = 1, int max_ms = 50) {
  SchedSpec spec;
  spec.seed = 1;
  spec.modes = modes;
  spec.min_ms = min_ms;
  spec.max_ms = max_ms;
  return spec;
}

bool SameWindow(const SchedWindow& a, const SchedWindow& b) {
  return a.duration_ns == b.duration_ns && a.cpu == b.cpu &&
         a.victim_policy == b.victim_policy &&
         a.victim_rank == b.victim_rank && a.fifo == b.fifo &&
         a.fifo_rank == b.fifo_rank;
}

TEST(SchedPlanner, SameSeedSameWindows) {
  const SchedSpec spec = Spec(SchedSpec::kDefaultModes | SchedSpec::kFifo);
  SchedPlanner first(spec, 42, {0, 1});
  SchedPlanner again(spec, 42, {0, 1});
  SchedPlanner other(spec, 43, {0, 1});
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const SchedWindow window = first.Next();
    EXPECT_TRUE(SameWindow(window, again.Next())) << i;
    differ += !SameWindow(window, other.Next());
    // Asking about new threads does not shift the windows.
    first.NewThreadBecomesVictim();
  }
  EXPECT_EQ(differ, 100);
}

TEST(SchedPlanner, WindowsStayWithinTheSpec) {
  SchedPlanner planner(Spec(SchedSpec::kIdle | SchedSpec::kFifo, 2, 500),
                       7, {3, 5});
  for (int i = 0; i < 2000; ++i) {
    const SchedWindow window = planner.Next();
    EXPECT_GE(window.duration_ns, 2000000 - 1);
    EXPECT_LE(window.duration_ns,
              window.fifo ? kMaxFifoWindowNs : int64_t{500000000});
    EXPECT_FALSE(window.cpu.has_value()) << "cpu is not a mode here";
    EXPECT_NE(window.victim_policy, ThreadPolicy::kNice);
    EXPECT_NE(window.victim_policy, ThreadPolicy::kFifo);
    EXPECT_GE(window.victim_rank, 0.0);
    EXPECT_LT(window.victim_rank, 1.0);
  }
}

// Over 20,000 windows of the default modes: a stall with chance 1/4 (on
// either CPU alike); the others pinned with chance 1/2 (to either CPU
// alike), a victim in SCHED_IDLE or at nice 19 with chance 1/3 each. The
// seed is fixed, so this is deterministic; the bounds say any seed would
// pass. Each count below is over at least 4,000 windows except with
// probability below exp(-2 * 20000 * 0.05^2) = 3.7e-44 (Hoeffding), and
// then each share is within 0.06 of its chance except with probability
// 2 exp(-2 * 4000 * 0.06^2) = 6.2e-13.
TEST(SchedPlanner, DefaultModesMixStallsPinsIdleAndNice) {
  SchedPlanner planner(Spec(SchedSpec::kDefaultModes), 11, {0, 1});
  constexpr int kWindows = 20000;
  int stalls = 0, others = 0, pinned = 0, idle = 0, nice = 0, fifo = 0;
  int on_cpu[2] = {0, 0};
  int stalled_on_cpu[2] = {0, 0};
  for (int i = 0; i < kWindows; ++i) {
    const SchedWindow window = planner.Next();
    if (window.stall) {
      ++stalls;
      ASSERT_TRUE(window.cpu == 0 || window.cpu == 1) << "a stall has a CPU";
      ++stalled_on_cpu[*window.cpu];
      EXPECT_EQ(window.victim_policy, ThreadPolicy::kBase);
      EXPECT_FALSE(window.fifo);
      continue;
    }
    ++others;
    if (window.cpu) {
      ++pinned;
      ASSERT_TRUE(*window.cpu == 0 || *window.cpu == 1);
      ++on_cpu[*window.cpu];
    }
    idle += window.victim_policy == ThreadPolicy::kIdle;
    nice += window.victim_policy == ThreadPolicy::kNice;
    fifo += window.fifo;
  }
  EXPECT_NEAR(stalls / double{kWindows}, kStallChance, 0.06);
  EXPECT_NEAR(stalled_on_cpu[0] / double(stalls), 0.5, 0.06);
  EXPECT_NEAR(pinned / double(others), 0.5, 0.06);
  EXPECT_NEAR(idle / double(others), 1.0 / 3, 0.06);
  EXPECT_NEAR(nice / double(others), 1.0 / 3, 0.06);
  EXPECT_NEAR(on_cpu[0] / static_cast<double>(pinned), 0.5, 0.06);
  EXPECT_EQ(fifo, 0) << "fifo is not a default mode";
}

TEST(SchedPlanner, StallsUnderAFifoDriverAreShort) {
  SchedPlanner planner(
      Spec(SchedSpec::kStall | SchedSpec::kFifo, 100, 2000), 4, {0, 1});
  int stalls = 0;
  for (int i = 0; i < 1000; ++i) {
    const SchedWindow window = planner.Next();
    if (!window.stall) continue;
    ++stalls;
    EXPECT_EQ(window.duration_ns, kMaxFifoWindowNs);
  }
  EXPECT_GT(stalls, 0);
}

TEST(SchedPlanner, FifoWindowsArePinnedAndShort) {
  SchedPlanner planner(
      Spec(SchedSpec::kCpu | SchedSpec::kFifo, 100, 2000), 3, {0, 1});
  int fifo = 0;
  for (int i = 0; i < 1000; ++i) {
    const SchedWindow window = planner.Next();
    if (!window.fifo) continue;
    ++fifo;
    EXPECT_TRUE(window.cpu.has_value());
    EXPECT_EQ(window.duration_ns, kMaxFifoWindowNs);
  }
  EXPECT_GT(fifo, 0);
}

// Runs a perturber over the fake threads and checks, after every step,
// that at most one thread is demoted, at most one favoured, never the
// same, and all share the window's CPUs.
TEST(SchedPerturber, GivesEveryThreadItsWindowsSchedule) {
  FakeThreads fake;
  fake.threads = {100, 101, 102};
  SchedPerturber perturber(Spec(SchedSpec::kDefaultModes | SchedSpec::kFifo),
                           5, {0, 1}, &fake);
  int64_t now = 0;
  int demoted_windows = 0;
  int stall_steps = 0;
  int hold_steps = 0;
  for (int step = 0; step < 3000; ++step) {
    const int64_t next = perturber.Step(now);
    ASSERT_GT(next, now);
    ASSERT_LE(next, now + SchedPerturber::kScanIntervalNs);
    for (pid_t tid : fake.threads) {
      ASSERT_TRUE(fake.actual.count(tid)) << "thread " << tid << " untouched";
    }
    const int idle = fake.WithPolicy(ThreadPolicy::kIdle);
    const int nice = fake.WithPolicy(ThreadPolicy::kNice);
    const int favoured = fake.WithPolicy(ThreadPolicy::kFifo);
    const std::vector<int>& cpus = fake.actual[fake.threads[0]].cpus;
    const std::optional<int> busy = perturber.BusyCpu();
    if (busy.has_value() && idle == static_cast<int>(fake.threads.size())) {
      // A stall: the whole test on the stall's CPU, every thread
      // SCHED_IDLE.
      for (pid_t tid : fake.threads) ASSERT_EQ(fake.actual[tid].cpus, cpus);
      ASSERT_THAT(cpus, ElementsAre(*busy));
      ++stall_steps;
    } else if (busy.has_value()) {
      // A thread held as it started, alone on the busy CPU; the others
      // elsewhere.
      int held = 0;
      for (pid_t tid : fake.threads) {
        const ThreadSchedule& schedule = fake.actual[tid];
        if (schedule.cpus == std::vector<int>{*busy}) {
          ASSERT_EQ(schedule.policy, ThreadPolicy::kIdle);
          ++held;
        }
      }
      ASSERT_LE(held, 1);
      ++hold_steps;
    } else {
      for (pid_t tid : fake.threads) ASSERT_EQ(fake.actual[tid].cpus, cpus);
      ASSERT_LE(idle + nice, 1);
      ASSERT_LE(favoured, 1);
      demoted_windows += idle + nice;
    }
    // Threads come and go.
    if (step % 100 == 50 && step < 2000) fake.threads.push_back(200 + step);
    if (step == 1000) fake.threads.erase(fake.threads.begin() + 1);
    now = next;
  }
  EXPECT_GT(perturber.counters().windows, 10u);
  EXPECT_EQ(perturber.counters().threads, 23u);
  EXPECT_GT(perturber.counters().held, 0u);
  EXPECT_GT(hold_steps, 0);
  EXPECT_EQ(perturber.counters().refused, 0u);
  EXPECT_GT(demoted_windows, 0);
  EXPECT_GT(stall_steps, 0);
  EXPECT_GT(perturber.counters().stalls, 0u);
  EXPECT_LT(perturber.counters().stalls, perturber.counters().windows);
  perturber.Restore();
  for (pid_t tid : fake.threads) {
    EXPECT_EQ(fake.actual[tid].policy, ThreadPolicy::kBase);
    EXPECT_THAT(fake.actual[tid].cpus, ElementsAre(0, 1));
  }
}

// A thread that starts while none is held is held (with the seed's
// chance) alone on a CPU, the others elsewhere, until its hold ends.
TEST(SchedPerturber, HoldsAThreadAsItStarts) {
  const SchedSpec spec = Spec(SchedSpec::kNew, 1000, 1000);
  // A seed whose first new thread is held (a quarter are).
  uint64_t seed = 1;
  while (!SchedPlanner(spec, seed, {0, 1}).NewThreadHold().has_value()) ++seed;
  const SchedHold hold = *SchedPlanner(spec, seed, {0, 1}).NewThreadHold();
  EXPECT_NEAR(hold.duration_ns, 1000000000, 1);
  FakeThreads fake;
  fake.threads = {10};
  SchedPerturber perturber(spec, seed, {0, 1}, &fake);
  perturber.Step(0);
  EXPECT_FALSE(perturber.BusyCpu().has_value()) << "the first thread is not new";
  fake.threads = {10, 11};
  const int64_t next = perturber.Step(5000000);
  EXPECT_EQ(perturber.BusyCpu(), hold.cpu);
  EXPECT_EQ(fake.actual[11].policy, ThreadPolicy::kIdle);
  EXPECT_THAT(fake.actual[11].cpus, ElementsAre(hold.cpu));
  EXPECT_EQ(fake.actual[10].policy, ThreadPolicy::kBase);
  EXPECT_THAT(fake.actual[10].cpus, ElementsAre(1 - hold.cpu));
  EXPECT_EQ(perturber.counters().held, 1u);
  EXPECT_LE(next, 5000000 + SchedPerturber::kScanIntervalNs);
  // Another thread starting meanwhile is not held: one at a time.
  fake.threads = {10, 11, 12};
  perturber.Step(6000000);
  EXPECT_EQ(fake.actual[12].policy, ThreadPolicy::kBase);
  EXPECT_EQ(perturber.counters().held, 1u);
  // The hold ends on time (the window of 1 s does not).
  perturber.Step(5000000 + hold.duration_ns);
  EXPECT_FALSE(perturber.BusyCpu().has_value());
  EXPECT_EQ(fake.actual[11].policy, ThreadPolicy::kBase);
  EXPECT_THAT(fake.actual[11].cpus, ElementsAre(0, 1));
  EXPECT_THAT(fake.actual[10].cpus, ElementsAre(0, 1));
}

TEST(SchedPlanner, HoldsAQuarterOfNewThreadsOnlyWithNew) {
  SchedPlanner with_new(Spec(SchedSpec::kNew), 8, {0, 1});
  SchedPlanner without(Spec(SchedSpec::kDefaultModes & ~SchedSpec::kNew), 8,
                       {0, 1});
  constexpr int kThreads = 20000;
  int held = 0;
  for (int i = 0; i < kThreads; ++i) {
    const std::optional<SchedHold> hold = with_new.NewThreadHold();
    if (hold.has_value()) {
      ++held;
      EXPECT_GE(hold->duration_ns, 1000000 - 1);
      EXPECT_LE(hold->duration_ns, 50000000 + 1);
    }
    EXPECT_FALSE(without.NewThreadHold().has_value());
  }
  // The seed is fixed; any seed would be within 0.03 of the chance except
  // with probability 2 exp(-2 * 20000 * 0.03^2) = 4.6e-16 (Hoeffding).
  EXPECT_NEAR(held / double{kThreads}, kHoldChance, 0.03);
}

TEST(SchedPerturber, AppliesOnlyWhatChanges) {
  FakeThreads fake;
  fake.threads = {7, 8};
  // One window of 1 s, no victim: nothing changes within it.
  SchedPerturber perturber(Spec(SchedSpec::kCpu, 1000, 1000), 2, {0, 1},
                           &fake);
  perturber.Step(0);
  EXPECT_THAT(fake.applied, ElementsAre(7, 8)) << "once each, at first sight";
  fake.applied.clear();
  for (int64_t now = 1000000; now < 900000000; now += 1000000) {
    perturber.Step(now);
  }
  EXPECT_TRUE(fake.applied.empty());
  fake.threads.push_back(9);
  perturber.Step(900000000);
  EXPECT_THAT(fake.applied, ElementsAre(9)) << "a new thread, at first sight";
  EXPECT_EQ(perturber.counters().windows, 1u);
  EXPECT_EQ(perturber.counters().changes, 3u);
}

TEST(SchedPerturber, RestoreAlsoResetsThreadsBornSinceTheLastStep) {
  FakeThreads fake;
  fake.threads = {1, 2};
  SchedPerturber perturber(Spec(SchedSpec::kDefaultModes), 3, {0, 1}, &fake);
  int64_t now = 0;
  for (int i = 0; i < 100; ++i) now = perturber.Step(now);
  fake.threads.push_back(3);
  fake.actual[3] = ThreadSchedule{ThreadPolicy::kIdle, {1}};  // inherited
  perturber.Restore();
  for (pid_t tid : fake.threads) {
    EXPECT_EQ(fake.actual[tid], (ThreadSchedule{ThreadPolicy::kBase, {0, 1}}))
        << tid;
  }
}

TEST(SchedPerturber, ExitedThreadsAreDroppedRefusalsCounted) {
  FakeThreads fake;
  fake.threads = {1, 2, 3};
  fake.errors[2] = absl::NotFoundError("gone");
  fake.errors[3] = absl::PermissionDeniedError("sched_setattr(3): EPERM");
  SchedPerturber perturber(Spec(SchedSpec::kCpu), 1, {0, 1}, &fake);
  perturber.Step(0);
  EXPECT_EQ(perturber.counters().refused, 1u);
  EXPECT_EQ(perturber.counters().changes, 1u);
  fake.applied.clear();
  fake.errors.clear();
  perturber.Restore();
  // Thread 1 only if it was pinned; 2 and 3 were never applied, so they
  // are reset in case they inherited something.
  EXPECT_THAT(fake.applied, ::testing::IsSupersetOf({2, 3}));
}

TEST(SchedPerturber, SameSeedSameDecisions) {
  auto run = [](uint64_t seed) {
    FakeThreads fake;
    fake.threads = {10, 11, 12, 13};
    SchedPerturber perturber(Spec(SchedSpec::kDefaultModes), seed, {0, 1},
                             &fake);
    std::vector<std::map<pid_t, ThreadSchedule>> history;
    int64_t now = 0;
    for (int i = 0; i < 500; ++i) {
      now = perturber.Step(now);
      history.push_back(fake.actual);
    }
    return history;
  };
  EXPECT_TRUE(run(9) == run(9));
  EXPECT_FALSE(run(9) == run(10));
}

// The real thing on a process of ours: a child that sleeps, pinned and
// demoted and back. Without CAP_SYS_NICE (Bazel's linux-sandbox is a user
// namespace) SCHED_IDLE can be entered but not left, which is what
// CheckSchedPermitted is for.
TEST(ProcessThreadControl, ListsAndReschedulesARealProcess) {
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  absl::StatusOr<std::unique_ptr<ThreadControl>> control =
      ProcessThreadControl(child);
  ASSERT_THAT(control, flaky::testing::IsOk());
  // Sanitizers may add a thread of their own.
  EXPECT_THAT((*control)->Threads(), ::testing::Contains(child));
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  ThreadSchedule pinned{ThreadPolicy::kBase, {cpus.front()}};
  EXPECT_THAT((*control)->Apply(child, pinned), flaky::testing::IsOk());
  ASSERT_EQ(sched_getaffinity(child, sizeof(set), &set), 0);
  EXPECT_EQ(CPU_COUNT(&set), 1);
  const absl::Status idle =
      (*control)->Apply(child, {ThreadPolicy::kIdle, cpus});
  ASSERT_THAT(idle, flaky::testing::IsOk());
  EXPECT_EQ(sched_getscheduler(child), SCHED_IDLE);
  const absl::Status back =
      (*control)->Apply(child, {ThreadPolicy::kBase, cpus});
  if (back.ok()) {
    EXPECT_EQ(sched_getscheduler(child), SCHED_OTHER);
  } else {
    EXPECT_EQ(back.code(), absl::StatusCode::kPermissionDenied) << back;
  }
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ((*control)->Apply(child, pinned).code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckSchedPermitted, NamesWhatIsRefusedAndWhy) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  int first = 0;
  while (!CPU_ISSET(first, &set)) ++first;
  const SchedPermission permission = CheckSchedPermitted(
      Spec(SchedSpec::kDefaultModes | SchedSpec::kFifo), {first});
  EXPECT_TRUE(permission.permitted & SchedSpec::kCpu);
  for (const auto& [mode, reason] : permission.refused) {
    EXPECT_TRUE(mode == "idle" || mode == "nice" || mode == "fifo" ||
                mode == "stall" || mode == "new")
        << mode;
    EXPECT_THAT(reason, ::testing::HasSubstr("CAP_SYS_NICE"));
  }
  // Every mode is either permitted or refused.
  EXPECT_EQ(permission.refused.size() +
                static_cast<size_t>(__builtin_popcount(permission.permitted)),
            6u);
}

TEST(CheckSchedPermitted, AffinityIsAlwaysPermitted) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  int first = 0;
  while (!CPU_ISSET(first, &set)) ++first;
  const SchedPermission permission =
      CheckSchedPermitted(Spec(SchedSpec::kCpu), {first});
  EXPECT_EQ(permission.permitted, unsigned{SchedSpec::kCpu});
  EXPECT_TRUE(permission.refused.empty());
}

}  // namespace
}  // namespace flaky::starve
