#include "tests/starve/probe.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "flaky/starve/cgroup.h"
#include "flaky/starve/hogs.h"
#include "flaky/starve/profile.h"

namespace flaky::starve::probe {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<int> CpusOf(pid_t tid) {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

void ObserveCgroup(Observation& seen) {
  absl::StatusOr<std::string> cgroups = ReadFile("/proc/self/cgroup");
  absl::StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo");
  if (!cgroups.ok() || !mountinfo.ok()) return;
  std::vector<CpuHierarchy> mounts = ParseCpuMounts(*mountinfo);
  for (absl::string_view line : absl::StrSplit(*cgroups, '\n')) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    const bool v1_cpu = std::find(controllers.begin(), controllers.end(),
                                  "cpu") != controllers.end();
    for (const CpuHierarchy& mount : mounts) {
      if ((mount.version == 1 && v1_cpu) ||
          (mount.version == 2 && fields[0] == "0" && fields[1].empty())) {
        const std::string dir = absl::StrCat(mount.mount, fields[2]);
        int64_t quota = -1;
        int64_t period = -1;
        if (mount.version == 1) {
          absl::StatusOr<std::string> q = ReadFile(dir + "/cpu.cfs_quota_us");
          absl::StatusOr<std::string> p = ReadFile(dir + "/cpu.cfs_period_us");
          if (!q.ok() || !p.ok() ||
              !absl::SimpleAtoi(absl::StripAsciiWhitespace(*q), &quota) ||
              !absl::SimpleAtoi(absl::StripAsciiWhitespace(*p), &period)) {
            continue;
          }
        } else {
          absl::StatusOr<std::string> max = ReadFile(dir + "/cpu.max");
          if (!max.ok()) continue;
          std::vector<std::string> parts = absl::StrSplit(
              absl::StripAsciiWhitespace(*max), ' ');
          if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &period)) {
            continue;
          }
          if (!absl::SimpleAtoi(parts[0], &quota)) quota = -1;  // "max"
        }
        seen.cpu_cgroup = fields[2];
        seen.cpu_cgroup_dir = dir;
        seen.quota_us = quota;
        seen.period_us = period;
        // A writable v2 cpu controller wins, as in the wrapper.
        if (mount.version == 2) return;
      }
    }
  }
}

void ObserveHogs(Observation& seen) {
  const std::string tasks = absl::StrCat("/proc/", getppid(), "/task");
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return;
  while (struct dirent* entry = readdir(dir)) {
    int tid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &tid)) continue;
    const std::string base = absl::StrCat(tasks, "/", tid);
    absl::StatusOr<std::string> comm = ReadFile(base + "/comm");
    if (!comm.ok() || absl::StripAsciiWhitespace(*comm) != kHogThreadName) {
      continue;
    }
    HogThread hog;
    hog.tid = tid;
    hog.cpus = CpusOf(tid);
    absl::StatusOr<std::string> stat = ReadFile(base + "/stat");
    if (stat.ok()) {
      const size_t paren = stat->rfind(')');
      std::vector<std::string> fields =
          absl::StrSplit(stat->substr(paren + 2), ' ');
      if (fields.size() > 12) {
        hog.state = fields[0][0];
        uint64_t utime = 0;
        uint64_t stime = 0;
        if (absl::SimpleAtoi(fields[11], &utime) &&
            absl::SimpleAtoi(fields[12], &stime)) {
          hog.cpu_ticks = utime + stime;
        }
      }
    }
    seen.hogs.push_back(hog);
  }
  closedir(dir);
}

void ObserveChaos(Observation& seen, int signals) {
  using Counter = uint64_t (*)();
  auto seed = reinterpret_cast<Counter>(dlsym(RTLD_DEFAULT, "flaky_chaos_seed"));
  auto wakeups =
      reinterpret_cast<Counter>(dlsym(RTLD_DEFAULT, "flaky_chaos_wakeup_count"));
  if (seed == nullptr || wakeups == nullptr) return;
  seen.chaos_loaded = true;
  seen.chaos_seed = seed();
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  for (int i = 0; i < signals; ++i) pthread_cond_signal(&cond);
  pthread_cond_destroy(&cond);
  seen.chaos_signals = static_cast<uint64_t>(signals);
  seen.chaos_wakeups = wakeups();
}

absl::Status NotApplied(absl::string_view part, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(part, " not in effect: ", what));
}

}  // namespace

absl::StatusOr<Observation> Observe(int signals) {
  Observation seen;
  seen.cpus = CpusOf(0);
  if (seen.cpus.empty()) {
    return absl::UnavailableError("sched_getaffinity failed");
  }
  ObserveCgroup(seen);
  ObserveHogs(seen);
  ObserveChaos(seen, signals);
  return seen;
}

absl::Status CheckProfileApplied(const Profile& profile,
                                 const Observation& seen) {
  // A sched part pins the test's threads to one of its CPUs at times.
  const bool within = std::includes(profile.cpus.begin(), profile.cpus.end(),
                                    seen.cpus.begin(), seen.cpus.end());
  if (!profile.cpus.empty() &&
      (profile.sched ? !within : seen.cpus != profile.cpus)) {
    return NotApplied(absl::StrCat("taskset:", FormatCpuList(profile.cpus)),
                      absl::StrCat("affinity is ", FormatCpuList(seen.cpus)));
  }
  // The hogs are on the test's CPUs: all of them, not the one a sched
  // window may have pinned the test to.
  const std::vector<int>& test_cpus =
      profile.sched && !profile.cpus.empty() ? profile.cpus : seen.cpus;
  if (profile.cgroup) {
    const std::string part = absl::StrCat("cgroup:", profile.cgroup->percent);
    const std::string run = absl::StrCat("/run-", getppid(), "-");
    if (!absl::StrContains(seen.cpu_cgroup, run)) {
      return NotApplied(part, absl::StrCat("cpu cgroup is \"", seen.cpu_cgroup,
                                           "\", expected one containing ",
                                           run));
    }
    if (seen.quota_us != profile.cgroup->QuotaUs() ||
        seen.period_us != profile.cgroup->period_us) {
      return NotApplied(part, absl::StrCat("quota/period of ",
                                           seen.cpu_cgroup_dir, " are ",
                                           seen.quota_us, "/", seen.period_us));
    }
  }
  if (static_cast<int>(seen.hogs.size()) != profile.hogs) {
    return NotApplied(absl::StrCat("hogs:", profile.hogs),
                      absl::StrCat(seen.hogs.size(),
                                   " hog threads in the parent process"));
  }
  for (const HogThread& hog : seen.hogs) {
    const bool on_test_cpu =
        hog.cpus.size() == 1 &&
        (std::find(test_cpus.begin(), test_cpus.end(), hog.cpus[0]) !=
             test_cpus.end() ||
         (profile.sched && profile.cpus.empty()));
    // A spinning thread is always running or runnable.
    if (!on_test_cpu || hog.state != 'R') {
      return NotApplied(
          absl::StrCat("hogs:", profile.hogs),
          absl::StrCat("hog ", hog.tid, " has affinity ",
                       FormatCpuList(hog.cpus), " and state ",
                       std::string(1, hog.state), "; test CPUs are ",
                       FormatCpuList(test_cpus)));
    }
  }
  if (profile.chaos.has_value() != seen.chaos_loaded) {
    return NotApplied(profile.chaos ? "chaos" : "none",
                      seen.chaos_loaded ? "the chaos shim is loaded"
                                        : "the chaos shim is not loaded");
  }
  if (profile.chaos) {
    const std::string part = absl::StrCat("chaos:", profile.chaos->seed);
    if (seen.chaos_seed != profile.chaos->seed) {
      return NotApplied(part, absl::StrCat("shim seed is ", seen.chaos_seed));
    }
    // Signals that wake nobody in a single thread never stall (see
    // chaos_shim.h), so what shows the shim at work is that it intercepted
    // them; its decisions are chaos_shim_test's business.
    if (seen.chaos_wakeups < seen.chaos_signals) {
      return NotApplied(part, absl::StrCat("the shim intercepted only ",
                                           seen.chaos_wakeups, " of ",
                                           seen.chaos_signals,
                                           " condition signals"));
    }
  }
  for (const auto& [name, value] : profile.env) {
    const char* actual = std::getenv(name.c_str());
    if (actual == nullptr || value != actual) {
      return NotApplied(absl::StrCat("env:", name, "=", value),
                        actual == nullptr ? std::string("unset")
                                          : absl::StrCat("value is ", actual));
    }
  }
  return absl::OkStatus();
}

}  // namespace flaky::starve::probe
