// What a test process can see of the starvation applied to it, and the
// check that it matches a profile. Used by the probe binary (run under the
// wrapper by starve_e2e_test) and by profile_applied_test (run under the
// wrapper by Bazel's --run_under).
//
//   absl::StatusOr<Profile> profile = ParseProfile(getenv("FLAKY_STARVE_PROFILE"));
//   absl::Status applied = CheckProfileApplied(*profile);
//   // OK, or FailedPrecondition naming the first part that did not take effect
#ifndef TESTS_STARVE_PROBE_H_
#define TESTS_STARVE_PROBE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flaky/starve/profile.h"

namespace flaky::starve::probe {

// HogThread is a `flaky-hog` thread of the parent (wrapper) process.
struct HogThread {
  int tid = 0;
  std::vector<int> cpus;  // its affinity
  char state = '?';       // from /proc/PID/task/TID/stat
  uint64_t cpu_ticks = 0; // utime + stime
};

// Observation is what the calling process observes about itself.
struct Observation {
  std::vector<int> cpus;       // sched_getaffinity
  std::string cpu_cgroup;      // its cpu cgroup, relative to the hierarchy
  std::string cpu_cgroup_dir;  // the same, as a directory (empty if unknown)
  int64_t quota_us = -1;       // of cpu_cgroup_dir; -1 for none/unknown
  int64_t period_us = -1;
  std::vector<HogThread> hogs;  // hog threads of the parent process
  bool chaos_loaded = false;    // the shim's symbols resolve
  uint64_t chaos_seed = 0;
  uint64_t chaos_signals = 0;   // condition signals made to count them
  uint64_t chaos_wakeups = 0;   // calls the shim intercepted by then
};

// Observe looks at the calling process: affinity, cgroup and quota, the
// parent's hog threads, and (after `signals` pthread_cond_signal calls) the
// chaos shim's seed and count of intercepted calls. Unavailable when /proc cannot be read.
absl::StatusOr<Observation> Observe(int signals = 200);

// CheckProfileApplied is OK when `observation` shows every part of
// `profile` in effect (and no hogs or shim when the profile has none).
// FailedPrecondition naming the part and what was seen otherwise.
absl::Status CheckProfileApplied(const Profile& profile,
                                 const Observation& observation);

}  // namespace flaky::starve::probe

#endif  // TESTS_STARVE_PROBE_H_
