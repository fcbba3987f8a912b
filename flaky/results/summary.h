// Aggregated trials: what the store returns for a query and what stats,
// reports and metrics consume. One CaseSummary per (target, test case,
// profile); the store computes them with SQL, tests build them by hand.
//
//   CaseSummary summary;
//   summary.target = "//tests/race:already_running_original";
//   summary.test_case = "RunStringTest.AlreadyRunning";
//   summary.profile = "chaos:7";
//   summary.trials = 500;
//   summary.failures = 37;
#ifndef FLAKY_RESULTS_SUMMARY_H_
#define FLAKY_RESULTS_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// SignatureCount is one normalised failure signature of a case and what a
// reviewer needs to chase it: how often, the first failing log, the seed to
// replay it.
struct SignatureCount {
  std::string signature;
  int64_t count = 0;
  std::string example_message;    // one raw failure message with this signature
  std::string first_log_path;     // kept copy of the first failing run's test.log
  std::optional<uint64_t> seed;   // chaos seed of that first failing run
  int first_run = 0;              // run number of that first failing run
};

// CaseSummary aggregates the trials of one (target, test case, profile).
struct CaseSummary {
  std::string target;
  std::string test_case;  // "" when the target produced no per-case results
  std::string profile;
  int64_t trials = 0;    // executions counted towards the rate (skipped excluded)
  int64_t failures = 0;  // trials whose outcome IsFailure()
  std::map<Outcome, int64_t> by_outcome;  // every outcome, skipped included
  // Trials until the first failure, in execution order (1-based); nullopt
  // when nothing failed.
  std::optional<int64_t> trials_to_first_failure;
  // Trials since the most recent failure (all of them when none failed).
  int64_t trials_since_last_failure = 0;
  absl::Duration total_duration = absl::ZeroDuration();
  std::vector<SignatureCount> signatures;  // most frequent first
  std::string mode;  // the hunt's HuntModeName (hunt_state.h)
};

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_SUMMARY_H_
