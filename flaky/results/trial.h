// A trial: one execution of one test case, the unit every part of flaky
// counts. The runner makes trials from Bazel's Build Event Protocol and each
// run's test.xml, the store keeps them, stats and reports aggregate them.
//
//   Trial trial;
//   trial.target = "//tests/race:already_running_original";
//   trial.test_case = "RunStringTest.AlreadyRunning";
//   trial.profile = "chaos:7";
//   trial.outcome = Outcome::kFail;
//
// Bazel's per-target status is not enough: a target with ten test cases can
// fail in one of them, so a run of a target yields one trial per test case
// (or one trial for the whole target when it produced no test.xml).
#ifndef FLAKY_RESULTS_TRIAL_H_
#define FLAKY_RESULTS_TRIAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace flaky::results {

// Outcome is what happened to one test case in one run.
enum class Outcome {
  kPass,
  kFail,     // an assertion failed
  kError,    // the test errored, or its result could not be read
  kSkipped,  // the test case was skipped or filtered
  kTimeout,  // Bazel killed the run at its timeout
  kCrashed,  // the run died (signal, premature exit) without a verdict
};

// OutcomeName returns the stable lowercase name of `outcome` ("pass",
// "fail", "error", "skipped", "timeout", "crashed"), used in the store, the
// reports and metric labels.
absl::string_view OutcomeName(Outcome outcome);

// ParseOutcome is the inverse of OutcomeName; nullopt for an unknown name.
std::optional<Outcome> ParseOutcome(absl::string_view name);

// IsFailure is true for the outcomes that count against a flake rate
// (fail, error, timeout, crashed); pass and skipped are not failures.
bool IsFailure(Outcome outcome);

// Trial is one execution of one test case. Plain data; copyable.
struct Trial {
  std::string hunt_id;    // the hunt (one `flaky hunt` invocation) it belongs to
  std::string target;     // Bazel label, e.g. "//tests/race:already_running_original"
  std::string test_case;  // "Suite.Name" from test.xml, or "" for the whole target
  std::string profile;    // starvation profile as given, e.g. "taskset:0+hogs:2"
  int run = 0;            // Bazel's run number (1..N) under --runs_per_test
  int shard = 0;          // Bazel's shard number (0 when not sharded)
  int attempt = 1;        // Bazel's attempt number (counted from 1)
  int repetition = 0;     // index under in-process repetition (gtest_repeat), else 0
  Outcome outcome = Outcome::kPass;
  absl::Duration duration = absl::ZeroDuration();
  // When the run started (Bazel's test attempt start); under in-process
  // repetition, the run's start plus the durations of the cases the log
  // shows before this one.
  absl::Time started_at = absl::UnixEpoch();
  std::string failure_message;    // first failure text, empty when passed
  std::string failure_signature;  // normalised failure_message (see signature.h)
  std::optional<uint64_t> seed;   // chaos seed the starve wrapper applied, if any
  std::string applied;            // the starve wrapper's record of what it applied (JSON)
  std::string log_path;           // test.log of the run (may be overwritten later)
  std::string commit;             // `git rev-parse HEAD` of the workspace, or ""
  std::string host;               // machine that ran it
};

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_TRIAL_H_
