// The planner: how many runs a claim or a detection needs, before running
// anything (`flaky plan`).
//
//   MakePlan({.rate = 0.001})->runs_to_claim;  // 3332: the gate's CLEAN
//   RunsToClaimBelow(0.001, 0.95);     // 2995: one look fixed in advance
//   RunsToClaimBelow(0.001, 0.95, 1);  // 4742 when one failure is allowed
//   ExpectedRunsToFirstFailure(0.01);  // 100
//   RunsToDetect(0.01, 0.95);          // 299 runs see a failure w.p. 95%
//
// Two claims with the same words. The gate's CLEAN (verdict.h) is anytime-
// valid: it holds however often the hunt is looked at, and Plan's
// runs_to_claim is its run count (anytime.h's AnytimeRunsToClean). The
// one-sided exact bound of binomial.h is valid for ONE look at a run count
// fixed in advance: RunsToClaimBelow(p, c, k) is the smallest n with
// ExactUpperBound(k, n, c) < p, with k = 0 the closed form
// n = ceil(ln(1 - c) / ln(1 - p)). The plan prints both, so the price of
// watching (11% more runs at k = 0) is visible. "Runs to see a failure with
// probability q at rate p" has the same form, ceil(ln(1 - q) / ln(1 - p)).
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_PLAN_H_
#define FLAKY_STATS_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "flaky/stats/anytime.h"

namespace flaky::stats {

// RunsToClaimBelow returns the fewest runs with at most `allowed_failures`
// failures that establish "rate below max_rate at confidence".
// Errors: InvalidArgument unless 0 < max_rate < 1, 0 < confidence < 1 and
// allowed_failures >= 0; OutOfRange if more than 2^62 runs would be needed.
absl::StatusOr<int64_t> RunsToClaimBelow(double max_rate, double confidence,
                                         int64_t allowed_failures = 0);

// RunsToDetect returns the fewest runs that see at least one failure with
// probability >= `probability` when each run fails independently at `rate`.
// Errors: InvalidArgument unless 0 < rate < 1 and 0 < probability < 1.
absl::StatusOr<int64_t> RunsToDetect(double rate, double probability);

// ExpectedRunsToFirstFailure returns 1 / rate (the mean of the geometric
// distribution, counting the failing run). Errors: InvalidArgument unless
// 0 < rate <= 1.
absl::StatusOr<double> ExpectedRunsToFirstFailure(double rate);

// PlanOptions are the inputs of `flaky plan`.
struct PlanOptions {
  double rate = 0.001;       // the rate to claim below, or to detect
  double confidence = 0.95;  // for the claim
  int64_t allowed_failures = 0;
  double detect_probability = 0.95;  // for RunsToDetect
};

// Plan is everything `flaky plan` prints. Plain data.
struct Plan {
  PlanOptions options;
  int64_t runs_to_claim = 0;              // the gate's CLEAN (anytime)
  int64_t single_look_runs_to_claim = 0;  // one exact look, fixed in advance
  double expected_runs_to_first_failure = 0.0;
  int64_t runs_to_detect = 0;
  // A test failing at ten times the rate (when that is below 1): the
  // gate's chance of FLAKY and its mean runs to it, judged after every run
  // (anytime.h's ComputeOperatingCharacteristics, exact).
  std::optional<OperatingCharacteristics> at_ten_times;
};

// MakePlan computes a Plan. Errors: InvalidArgument from the functions
// above, naming the bad option.
absl::StatusOr<Plan> MakePlan(const PlanOptions& options);

// DescribePlan renders a Plan as a few lines of text for the terminal.
std::string DescribePlan(const Plan& plan);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_PLAN_H_
