#include "flaky/starve/sched_perturber.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/fd.h"
#include "base/process.h"

namespace flaky::starve {
namespace {

// The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0), declared here:
// glibc 2.36 has no sched_setattr, and <linux/sched/types.h> clashes with
// <sched.h> on some header versions.
struct KernelSchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
constexpr uint64_t kSchedFlagResetOnFork = 0x01;
constexpr int kMaxProcesses = 256;

absl::Status SystemError(int err, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ESRCH) return absl::NotFoundError(message);
  if (err == EPERM || err == EACCES) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InvalidArgumentError(message);
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<pid_t> ListNumbers(const std::string& dir) {
  std::vector<pid_t> ids;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ids;
  while (struct dirent* entry = readdir(d)) {
    pid_t id = 0;
    if (absl::SimpleAtoi(entry->d_name, &id) && id > 0) ids.push_back(id);
  }
  closedir(d);
  return ids;
}

class ProcessThreads : public ThreadControl {
 public:
  ProcessThreads(pid_t pid, KernelSchedAttr base) : pid_(pid), base_(base) {}

  std::vector<pid_t> Threads() override {
    std::vector<pid_t> threads;
    std::deque<pid_t> processes = {pid_};
    int visited = 0;
    while (!processes.empty() && visited < kMaxProcesses) {
      const pid_t process = processes.front();
      processes.pop_front();
      ++visited;
      const std::string tasks = absl::StrCat("/proc/", process, "/task");
      for (pid_t tid : ListNumbers(tasks)) {
        threads.push_back(tid);
        std::ifstream children(absl::StrCat(tasks, "/", tid, "/children"));
        pid_t child = 0;
        while (children >> child) processes.push_back(child);
      }
    }
    std::sort(threads.begin(), threads.end());
    threads.erase(std::unique(threads.begin(), threads.end()), threads.end());
    return threads;
  }

  absl::Status Apply(pid_t tid, const ThreadSchedule& schedule) override {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : schedule.cpus) CPU_SET(cpu, &set);
    if (sched_setaffinity(tid, sizeof(set), &set) != 0) {
      return SystemError(errno, absl::StrCat("sched_setaffinity(", tid, ")"));
    }
    KernelSchedAttr attr = base_;
    switch (schedule.policy) {
      case ThreadPolicy::kBase:
        break;
      case ThreadPolicy::kIdle:
        attr.sched_policy = SCHED_IDLE;
        attr.sched_priority = 0;
        break;
      case ThreadPolicy::kNice:
        attr.sched_policy = SCHED_OTHER;
        attr.sched_priority = 0;
        attr.sched_nice = 19;
        break;
      case ThreadPolicy::kFifo:
        // Threads it creates start as SCHED_OTHER, not favoured too.
        attr.sched_policy = SCHED_FIFO;
        attr.sched_priority = 1;
        attr.sched_flags |= kSchedFlagResetOnFork;
        break;
    }
    if (syscall(SYS_sched_setattr, tid, &attr, 0) != 0) {
      return SystemError(errno, absl::StrCat("sched_setattr(", tid, ")"));
    }
    return absl::OkStatus();
  }

 private:
  pid_t pid_;
  KernelSchedAttr base_;
};

std::string ModeFix(SchedSpec::Mode mode) {
  switch (mode) {
    case SchedSpec::kCpu:
      return "drop cpu from the sched: modes";
    case SchedSpec::kIdle:
    case SchedSpec::kNice:
    case SchedSpec::kStall:
    case SchedSpec::kNew:
      return "leaving SCHED_IDLE or nice 19 needs CAP_SYS_NICE (root outside "
             "a user namespace: Bazel's linux-sandbox has none, use "
             "--strategy=TestRunner=processwrapper-sandbox) or an RLIMIT_NICE "
             "of 20; or list only cpu (sched:SEED,cpu)";
    case SchedSpec::kFifo:
      return "SCHED_FIFO needs CAP_SYS_NICE (root outside a user namespace: "
             "Bazel's linux-sandbox has none, use "
             "--strategy=TestRunner=processwrapper-sandbox) or an "
             "RLIMIT_RTPRIO of at least 1; or drop fifo";
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThreadControl>> ProcessThreadControl(
    pid_t pid) {
  KernelSchedAttr base;
  std::memset(&base, 0, sizeof(base));
  if (syscall(SYS_sched_getattr, pid, &base, sizeof(base), 0) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "sched_getattr(", pid, "): ", std::strerror(errno)));
  }
  base.size = sizeof(base);
  base.sched_flags = 0;
  return std::unique_ptr<ThreadControl>(new ProcessThreads(pid, base));
}

SchedPlanner::SchedPlanner(const SchedSpec& spec, uint64_t run_seed,
                           std::vector<int> cpus)
    : spec_(spec),
      cpus_(std::move(cpus)),
      window_state_(run_seed ^ 0x5ced5eed5ced5eedULL),
      thread_state_(run_seed ^ 0x7f4a7c159e3779b9ULL),
      hold_state_(run_seed ^ 0x94d049bb133111ebULL) {}

double SchedPlanner::Uniform(uint64_t& state) {
  return static_cast<double>(SplitMix(state) >> 11) * 0x1.0p-53;
}

SchedWindow SchedPlanner::Next() {
  const double length = Uniform(window_state_);
  const double pin = Uniform(window_state_);
  const double cpu = Uniform(window_state_);
  const double victim = Uniform(window_state_);
  const double victim_rank = Uniform(window_state_);
  const double fifo = Uniform(window_state_);
  const double fifo_rank = Uniform(window_state_);
  const double stall = Uniform(window_state_);

  SchedWindow window;
  window.duration_ns = Length(length);
  const bool fifo_driver = spec_.modes & SchedSpec::kFifo;
  if ((spec_.modes & SchedSpec::kStall) && stall < kStallChance &&
      !cpus_.empty()) {
    window.stall = true;
    window.cpu = cpus_[static_cast<size_t>(cpu * cpus_.size())];
    // A SCHED_FIFO driver keeping the CPU busy holds off everything there.
    if (fifo_driver) {
      window.duration_ns = std::min(window.duration_ns, kMaxFifoWindowNs);
    }
    return window;
  }
  std::vector<ThreadPolicy> victims = {ThreadPolicy::kBase};
  if (spec_.modes & SchedSpec::kIdle) victims.push_back(ThreadPolicy::kIdle);
  if (spec_.modes & SchedSpec::kNice) victims.push_back(ThreadPolicy::kNice);
  window.victim_policy =
      victims[static_cast<size_t>(victim * victims.size())];
  window.victim_rank = victim_rank;
  window.fifo = (spec_.modes & SchedSpec::kFifo) && fifo < 0.5;
  window.fifo_rank = fifo_rank;
  const bool pinned =
      (spec_.modes & SchedSpec::kCpu) && (pin < 0.5 || window.fifo);
  if (pinned && !cpus_.empty()) {
    window.cpu = cpus_[static_cast<size_t>(cpu * cpus_.size())];
  }
  if (window.fifo) {
    window.duration_ns = std::min(window.duration_ns, kMaxFifoWindowNs);
  }
  return window;
}

int64_t SchedPlanner::Length(double uniform) const {
  const double log_min = std::log(spec_.min_ms * 1e6);
  const double log_max = std::log(spec_.max_ms * 1e6);
  return static_cast<int64_t>(
      std::exp(log_min + uniform * (log_max - log_min)));
}

bool SchedPlanner::NewThreadBecomesVictim() {
  return Uniform(thread_state_) < 0.5;
}

std::optional<SchedHold> SchedPlanner::NewThreadHold() {
  const double held = Uniform(hold_state_);
  const double length = Uniform(hold_state_);
  const double cpu = Uniform(hold_state_);
  if (!(spec_.modes & SchedSpec::kNew) || held >= kHoldChance ||
      cpus_.empty()) {
    return std::nullopt;
  }
  SchedHold hold;
  hold.duration_ns = Length(length);
  if (spec_.modes & SchedSpec::kFifo) {
    hold.duration_ns = std::min(hold.duration_ns, kMaxFifoWindowNs);
  }
  hold.cpu = cpus_[static_cast<size_t>(cpu * cpus_.size())];
  return hold;
}

SchedPerturber::SchedPerturber(const SchedSpec& spec, uint64_t run_seed,
                               std::vector<int> cpus, ThreadControl* control)
    : planner_(spec, run_seed, cpus), cpus_(std::move(cpus)),
      control_(control) {}

ThreadSchedule SchedPerturber::Desired(pid_t tid) const {
  ThreadSchedule schedule;
  schedule.cpus = window_.cpu ? std::vector<int>{*window_.cpu} : cpus_;
  if (window_.stall) {
    schedule.policy = ThreadPolicy::kIdle;
    return schedule;
  }
  if (held_ != 0) {
    if (tid == held_) {
      schedule.policy = ThreadPolicy::kIdle;
      schedule.cpus = {hold_.cpu};
      return schedule;
    }
    // The others keep off the held thread's CPU where they can: only the
    // held thread is to lose its CPU to the driver. A window that pins
    // them all to that CPU pins them to another.
    std::vector<int> elsewhere;
    for (int cpu : schedule.cpus) {
      if (cpu != hold_.cpu) elsewhere.push_back(cpu);
    }
    for (size_t i = 0; elsewhere.empty() && i < cpus_.size(); ++i) {
      if (cpus_[i] != hold_.cpu) elsewhere.push_back(cpus_[i]);
    }
    if (!elsewhere.empty()) schedule.cpus = std::move(elsewhere);
  }
  if (tid == victim_) schedule.policy = window_.victim_policy;
  if (tid == favoured_) schedule.policy = ThreadPolicy::kFifo;
  return schedule;
}

int64_t SchedPerturber::Step(int64_t now_ns) {
  const bool first = !started_;
  if (first || now_ns >= window_end_ns_) {
    window_ = planner_.Next();
    window_end_ns_ = now_ns + window_.duration_ns;
    victim_ = 0;
    favoured_ = 0;
    ++counters_.windows;
    counters_.stalls += window_.stall;
    started_ = true;
  }
  const std::vector<pid_t> threads = control_->Threads();
  auto alive = [&](pid_t tid) {
    return tid != 0 && std::binary_search(threads.begin(), threads.end(), tid);
  };
  for (auto it = applied_.begin(); it != applied_.end();) {
    it = alive(it->first) ? std::next(it) : applied_.erase(it);
  }
  if (held_ != 0 && (now_ns >= hold_end_ns_ || !alive(held_))) held_ = 0;
  const bool has_victim = window_.victim_policy != ThreadPolicy::kBase;
  for (pid_t tid : threads) {
    if (!seen_.insert(tid).second) continue;
    ++counters_.threads;
    if (first) continue;  // the test's first threads: none starts now
    // A thread born mid-window may take the victim's place, or be held
    // off the CPU: races often sit right after a thread starts.
    if (has_victim && planner_.NewThreadBecomesVictim()) victim_ = tid;
    const std::optional<SchedHold> hold = planner_.NewThreadHold();
    if (hold.has_value() && held_ == 0) {
      held_ = tid;
      hold_ = *hold;
      hold_end_ns_ = now_ns + hold->duration_ns;
      ++counters_.held;
    }
  }
  if (!threads.empty()) {
    auto at_rank = [&](double rank) {
      return threads[std::min(threads.size() - 1,
                              static_cast<size_t>(rank * threads.size()))];
    };
    if (has_victim && !alive(victim_)) victim_ = at_rank(window_.victim_rank);
    if (window_.fifo && !alive(favoured_)) {
      favoured_ = at_rank(window_.fifo_rank);
      if (favoured_ == victim_ && threads.size() > 1) {
        auto it = std::find(threads.begin(), threads.end(), favoured_);
        favoured_ = std::next(it) == threads.end() ? threads.front()
                                                   : *std::next(it);
      }
    }
  }
  for (pid_t tid : threads) {
    const ThreadSchedule desired = Desired(tid);
    auto it = applied_.find(tid);
    if (it != applied_.end() && it->second == desired) continue;
    const absl::Status status = control_->Apply(tid, desired);
    if (status.ok()) {
      applied_[tid] = desired;
      ++counters_.changes;
    } else if (absl::IsNotFound(status)) {
      applied_.erase(tid);
    } else {
      ++counters_.refused;
    }
  }
  int64_t next_ns = std::min(window_end_ns_, now_ns + kScanIntervalNs);
  if (held_ != 0) next_ns = std::min(next_ns, hold_end_ns_);
  return next_ns;
}

void SchedPerturber::Restore() {
  ThreadSchedule base;
  base.cpus = cpus_;
  // A thread born since the last step may have inherited a window's
  // scheduling from its creator.
  for (pid_t tid : control_->Threads()) {
    auto it = applied_.find(tid);
    if (it == applied_.end() || it->second != base) {
      control_->Apply(tid, base).IgnoreError();
    }
  }
  applied_.clear();
}

SchedPermission CheckSchedPermitted(const SchedSpec& spec,
                                    const std::vector<int>& cpus) {
  SchedPermission permission;
  // A stand-in with our credentials and limits, which the test inherits.
  // It waits until `hold` is closed.
  absl::StatusOr<Pipe> hold = MakePipe();
  if (!hold.ok()) {
    permission.refused.emplace_back("all", hold.status().message());
    return permission;
  }
  const int hold_read = hold->read.get();
  const int hold_write = hold->write.get();
  absl::StatusOr<::flaky::Process> stand_in = ::flaky::Process::Fork(
      {.argv = {"a sched stand-in"}, .inherit_stdin = true}, [&] {
        close(hold_write);
        char byte;
        while (read(hold_read, &byte, 1) < 0 && errno == EINTR) {
        }
      });
  hold->read.Close();
  const pid_t pid = stand_in.ok() ? stand_in->pid() : -1;
  absl::StatusOr<std::unique_ptr<ThreadControl>> control =
      stand_in.ok() ? ProcessThreadControl(pid) : stand_in.status();
  const std::pair<SchedSpec::Mode, ThreadPolicy> kModes[] = {
      {SchedSpec::kCpu, ThreadPolicy::kBase},
      {SchedSpec::kIdle, ThreadPolicy::kIdle},
      {SchedSpec::kNice, ThreadPolicy::kNice},
      {SchedSpec::kFifo, ThreadPolicy::kFifo},
      {SchedSpec::kStall, ThreadPolicy::kIdle},
      {SchedSpec::kNew, ThreadPolicy::kIdle},
  };
  ThreadSchedule base;
  base.cpus = cpus;
  for (const auto& [mode, policy] : kModes) {
    if (!(spec.modes & mode)) continue;
    const std::string name = SchedModeNames(mode).front();
    if (!control.ok()) {
      permission.refused.emplace_back(name, control.status().message());
      continue;
    }
    ThreadSchedule tried;
    tried.policy = policy;
    tried.cpus = mode == SchedSpec::kCpu || mode == SchedSpec::kStall ||
                         mode == SchedSpec::kNew
                     ? std::vector<int>{cpus.front()}
                     : cpus;
    absl::Status status = (*control)->Apply(pid, tried);
    if (status.ok()) status = (*control)->Apply(pid, base);
    if (status.ok()) {
      permission.permitted |= mode;
    } else {
      permission.refused.emplace_back(
          name, absl::StrCat(status.message(), "; ", ModeFix(mode)));
    }
  }
  hold->write.Close();
  if (stand_in.ok()) stand_in->Wait();
  return permission;
}

}  // namespace flaky::starve
