// The record of what the starve wrapper actually applied to one test run.
//
// The wrapper prints it as one tagged line on stderr (which Bazel puts in
// test.log) and writes the same JSON to
// $TEST_UNDECLARED_OUTPUTS_DIR/flaky_starve.json, once before the test
// starts and, when the wrapper stays the test's parent (wrapper.h), again
// with what the perturbations did (chaos.counters, sched.counters, killed)
// after it has ended; readers take the last line. A profile run by exec in
// place (none, taskset, env) has nothing to count and writes it once. The
// runner reads it back:
//
//   std::optional<AppliedRecord> record = FindAppliedRecord(test_log_text);
//   if (record && record->seed) trial.seed = *record->seed;
//
// JSON fields: profile (canonical), cpus, hog_cpus, hogs, cgroup {version,
// path, quota_us, period_us} or null, chaos {seed, base_seed, fixed, p,
// burst, min_ms, max_ms, cap, counters} or null (seed is the one the run
// used: replay it with chaos:SEED,fixed; counters {processes, wakeups,
// stalls, capped, stalled_ns, sites, sites_stalled}, summed over the test's
// processes, or null before the test ended), sched {seed, base_seed, fixed,
// min_ms, max_ms, modes ["cpu", ...], counters {windows, threads, changes,
// refused, stalls, held} or null} or null, env ["K=V"], wrapper_pid (the
// test's own pid when the wrapper exec'd it in place), killed (processes the test left
// running, killed by the wrapper after it; null before the test ended and
// without a supervisor), host (the machine the run ran on: a remote
// worker's name under Bazel remote execution), not_applied [{part,
// reason}] (non-empty only under --allow_fallback). Records written before
// burst, counters, sched, killed and host existed parse with burst 0 and
// none of the others.
#ifndef FLAKY_STARVE_RECORD_H_
#define FLAKY_STARVE_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::starve {

// kRecordTag starts the stderr line that carries the record.
inline constexpr absl::string_view kRecordTag = "flaky-starve: applied ";

// kRecordFileName is the record's name in $TEST_UNDECLARED_OUTPUTS_DIR.
inline constexpr absl::string_view kRecordFileName = "flaky_starve.json";

// AppliedCgroup says where the test ran and with which CFS bandwidth.
struct AppliedCgroup {
  int version = 0;   // 1 or 2
  std::string path;  // the per-run group's directory
  int64_t quota_us = 0;
  int64_t period_us = 0;
};

// ChaosCounters is what the chaos shim did in the test's processes.
struct ChaosCounters {
  uint64_t processes = 0;      // processes that loaded the shim
  uint64_t wakeups = 0;        // intercepted calls
  uint64_t stalls = 0;         // stalls taken
  uint64_t capped = 0;         // stalls the cap refused
  uint64_t stalled_ns = 0;     // total stall time
  uint64_t sites = 0;          // distinct call sites seen
  uint64_t sites_stalled = 0;  // distinct call sites stalled at least once

  friend bool operator==(const ChaosCounters& a, const ChaosCounters& b) {
    return a.processes == b.processes && a.wakeups == b.wakeups &&
           a.stalls == b.stalls && a.capped == b.capped &&
           a.stalled_ns == b.stalled_ns && a.sites == b.sites &&
           a.sites_stalled == b.sites_stalled;
  }
};

// AppliedChaos is the chaos shim's configuration for the run.
struct AppliedChaos {
  uint64_t seed = 0;       // the seed this run used
  uint64_t base_seed = 0;  // the profile's seed
  bool fixed = false;
  int stall_percent = 0;
  int burst = 0;
  int min_ms = 0;
  int max_ms = 0;
  int cap_percent = 0;
  // Filled once the test has ended.
  std::optional<ChaosCounters> counters;
};

// AppliedSchedCounters is what the scheduling sidecar did.
struct AppliedSchedCounters {
  uint64_t windows = 0;  // change points
  uint64_t threads = 0;  // distinct threads seen
  uint64_t changes = 0;  // schedules applied
  uint64_t refused = 0;  // schedules the kernel refused
  uint64_t stalls = 0;   // windows in which the test lost its CPU
  uint64_t held = 0;     // threads held off the CPU as they started
};

// AppliedSched is the scheduling sidecar's configuration for the run.
struct AppliedSched {
  uint64_t seed = 0;       // the seed this run used
  uint64_t base_seed = 0;  // the profile's seed
  bool fixed = false;
  int min_ms = 0;
  int max_ms = 0;
  std::vector<std::string> modes;  // cpu, idle, nice, fifo, stall, new
  // Filled once the test has ended (and the sidecar reported).
  std::optional<AppliedSchedCounters> counters;
};

// NotApplied is a profile part skipped under --allow_fallback, and why.
struct NotApplied {
  std::string part;
  std::string reason;
};

// AppliedRecord is what one wrapper run applied.
struct AppliedRecord {
  std::string profile;         // canonical profile string
  std::vector<int> cpus;       // the test's allowed CPUs
  int hogs = 0;
  std::vector<int> hog_cpus;   // CPU each hog is pinned to
  std::optional<AppliedCgroup> cgroup;
  std::optional<AppliedChaos> chaos;
  std::optional<AppliedSched> sched;
  std::vector<std::string> env;  // "K=V" added to the test's environment
  int64_t wrapper_pid = 0;
  // Processes of the test's tree still running after it ended, which the
  // wrapper killed. Filled once the test has ended, by a supervisor.
  std::optional<int64_t> killed;
  // host is the wrapper's host name (gethostname): where the run really ran,
  // which under remote execution is not the machine that hunts. "" when
  // the record does not say.
  std::string host;
  std::vector<NotApplied> not_applied;

  // seed is the chaos seed, when chaos was applied, else the sched seed
  // (filled by the parsers).
  std::optional<uint64_t> seed;
  // json is the record's JSON text as written (filled by the parsers).
  std::string json;

  // ToJson returns the record as one line of JSON (no newline).
  std::string ToJson() const;
};

// ParseAppliedRecord parses the JSON written by AppliedRecord::ToJson.
// InvalidArgument when `json` is not such an object.
absl::StatusOr<AppliedRecord> ParseAppliedRecord(absl::string_view json);

// FindAppliedRecord returns the record from the last line of `test_log` that
// starts with kRecordTag and holds valid JSON, or nullopt when there is none
// (a run without the wrapper, or a wrapper that failed before applying).
std::optional<AppliedRecord> FindAppliedRecord(absl::string_view test_log);

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_RECORD_H_
