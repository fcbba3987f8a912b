// sched_probe: a statically linked test stand-in (LD_PRELOAD cannot reach
// it) that watches its own threads until it has seen every perturbation of
// the sched part the wrapper announced in FLAKY_STARVE_PROFILE.
//
//   starve --profile=sched:1 -- sched_probe [MIN_MS]  # "sched_probe: saw cpu idle nice"
//
// Exits 0 once it has seen them all and watched for at least MIN_MS
// (default 0), 1 when a mode is missing after 60 s, 2 when run without a
// sched part. Stalls and holds are not watched for: a stall takes the CPU
// from the probe too, and a held thread looks like an idle one (the
// wrapper's record counts both). Three worker threads alternate a little
// work with short sleeps, like a test's threads; the main thread looks at
// every thread's affinity, policy and nice value each millisecond (nothing
// notifies a process that its scheduling changed).
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "flaky/starve/profile.h"

namespace {

void* Work(void* raw_stop) {
  const auto* stop = static_cast<std::atomic<bool>*>(raw_stop);
  volatile uint64_t sink = 0;
  while (!stop->load()) {
    for (int i = 0; i < 20000; ++i) sink += i;
    struct timespec pause = {0, 200000};
    nanosleep(&pause, nullptr);
  }
  return nullptr;
}

std::vector<pid_t> OwnThreads() {
  std::vector<pid_t> tids;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (struct dirent* entry = readdir(dir)) {
      pid_t tid = 0;
      if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
    }
    closedir(dir);
  }
  return tids;
}

int CpuCount(pid_t tid) {
  cpu_set_t set;
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return -1;
  return CPU_COUNT(&set);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t min_ms = 0;
  if (argc > 2 || (argc == 2 && !absl::SimpleAtoi(argv[1], &min_ms))) {
    std::fprintf(stderr, "usage: sched_probe [MIN_MS]\n");
    return 2;
  }
  const char* announced = std::getenv("FLAKY_STARVE_PROFILE");
  absl::StatusOr<flaky::starve::Profile> profile =
      flaky::starve::ParseProfile(announced != nullptr ? announced : "none");
  if (!profile.ok() || !profile->sched) {
    std::fprintf(stderr, "sched_probe: no sched part in FLAKY_STARVE_PROFILE "
                         "(run me under starve --profile=sched:SEED)\n");
    return 2;
  }
  const unsigned wanted =
      profile->sched->modes &
      ~(flaky::starve::SchedSpec::kStall | flaky::starve::SchedSpec::kNew);
  const int all_cpus = CpuCount(0);
  std::atomic<bool> stop{false};
  pthread_t workers[3];
  for (pthread_t& worker : workers) {
    pthread_create(&worker, nullptr, Work, &stop);
  }
  unsigned seen = 0;
  // With one CPU there is nothing to pin to.
  if (all_cpus <= 1) seen |= flaky::starve::SchedSpec::kCpu;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(60);
  const auto watched = start + std::chrono::milliseconds(min_ms);
  while (((seen & wanted) != wanted ||
          std::chrono::steady_clock::now() < watched) &&
         std::chrono::steady_clock::now() < deadline) {
    for (pid_t tid : OwnThreads()) {
      const int cpus = CpuCount(tid);
      if (cpus > 0 && cpus < all_cpus) seen |= flaky::starve::SchedSpec::kCpu;
      // The favoured thread's policy carries SCHED_RESET_ON_FORK.
      const int policy = sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK;
      if (policy == SCHED_IDLE) seen |= flaky::starve::SchedSpec::kIdle;
      if (policy == SCHED_FIFO) seen |= flaky::starve::SchedSpec::kFifo;
      errno = 0;
      const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
      if (errno == 0 && nice == 19) seen |= flaky::starve::SchedSpec::kNice;
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, nullptr);
  }
  stop.store(true);
  for (pthread_t worker : workers) pthread_join(worker, nullptr);
  const std::string saw =
      absl::StrJoin(flaky::starve::SchedModeNames(seen & wanted), " ");
  if ((seen & wanted) != wanted) {
    std::fprintf(stderr, "sched_probe: after 60 s saw only [%s] of [%s]\n",
                 saw.c_str(),
                 absl::StrJoin(flaky::starve::SchedModeNames(wanted), " ")
                     .c_str());
    return 1;
  }
  std::printf("sched_probe: saw %s\n", saw.c_str());
  return 0;
}
