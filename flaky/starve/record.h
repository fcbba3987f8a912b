// The record of what the starve wrapper actually applied to one test run.
//
// The wrapper prints it as one tagged line on stderr (which Bazel puts in
// test.log) and writes the same JSON to
// $TEST_UNDECLARED_OUTPUTS_DIR/flaky_starve.json; the runner reads it back:
//
//   std::optional<AppliedRecord> record = FindAppliedRecord(test_log_text);
//   if (record && record->seed) trial.seed = *record->seed;
//
// JSON fields: profile (canonical), cpus, hog_cpus, hogs, cgroup {version,
// path, quota_us, period_us} or null, chaos {seed, base_seed, fixed, p,
// min_ms, max_ms, cap} or null (seed is the one the run used: replay it with
// chaos:SEED,fixed), env ["K=V"], wrapper_pid, host (the machine the run ran
// on: a remote worker's name under Bazel remote execution; absent in records
// of older wrappers), not_applied [{part, reason}] (non-empty only under
// --allow_fallback).
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

// AppliedChaos is the chaos shim's configuration for the run.
struct AppliedChaos {
  uint64_t seed = 0;       // the seed this run used
  uint64_t base_seed = 0;  // the profile's seed
  bool fixed = false;
  int stall_percent = 0;
  int min_ms = 0;
  int max_ms = 0;
  int cap_percent = 0;
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
  std::vector<std::string> env;  // "K=V" added to the test's environment
  int64_t wrapper_pid = 0;
  // host is the wrapper's host name (gethostname): where the run really ran,
  // which under remote execution is not the machine that hunts. "" when
  // the record does not say.
  std::string host;
  std::vector<NotApplied> not_applied;

  // seed is the chaos seed, when chaos was applied (filled by the parsers).
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
