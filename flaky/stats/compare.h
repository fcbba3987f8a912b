// Comparing two flake rates: how much a starvation profile amplifies a
// test's failure rate over plain reruns (`none`), how many runs a failure
// takes, and whether a fix lowered the rate (Fisher's exact test).
//
//   // chaos:7 failed 37 of 500, none failed 2 of 500.
//   absl::StatusOr<RateRatio> amp = Amplification(37, 500, 2, 500, 0.95);
//   FormatRatio(*amp);  // "18.5x [4.4x, 76.4x]" (bounds rounded outward)
//   // The original failed 37 of 500, the fixed test 0 of 500.
//   absl::StatusOr<FixVerification> fix = VerifyFix(37, 500, 0, 500, 0.05);
//   fix->decided;       // true: p = 3.6e-12 <= 0.05
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_COMPARE_H_
#define FLAKY_STATS_COMPARE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::stats {

// RateRatio is the ratio of a profile's rate to the baseline's with an
// interval. Plain data.
struct RateRatio {
  enum class Kind {
    // kEstimate: both had failures; `ratio` with the Katz log interval
    // [low, high] (ln ratio +- z * sqrt(1/a - 1/n1 + 1/b - 1/n0)).
    kEstimate,
    // kAtLeast: the baseline never failed, so the ratio is unbounded above;
    // `low` (= `ratio`) is the profile's exact lower bound over the
    // baseline's exact upper bound (two-sided, at the confidence), and
    // `high` is +inf. Reads "at least 12x".
    kAtLeast,
    // kAtMost: the profile never failed but the baseline did; `high`
    // (= `ratio`) is the profile's exact upper bound over the baseline's
    // exact lower bound, `low` is 0. Reads "at most 0.3x".
    kAtMost,
    // kUndefined: neither failed; nothing can be said. ratio/low/high NaN.
    kUndefined,
  };
  Kind kind = Kind::kUndefined;
  double ratio = 0.0;
  double low = 0.0;
  double high = 0.0;
  double confidence = 0.95;
};

// Amplification returns the rate ratio (profile / baseline) at `confidence`.
// Errors: InvalidArgument for counts or confidence out of range (as
// ValidateCounts in binomial.h), naming which side is bad.
absl::StatusOr<RateRatio> Amplification(int64_t profile_failures,
                                        int64_t profile_trials,
                                        int64_t baseline_failures,
                                        int64_t baseline_trials,
                                        double confidence = 0.95);

// FormatRatio renders a ratio: "18.5x [4.5x, 76.3x]", "at least 12x",
// "at most 0.3x", "n/a (no failures in either)". Bounds round outward.
std::string FormatRatio(const RateRatio& ratio);

// RunsToFailure is how many runs a failure takes. Plain data.
struct RunsToFailure {
  // Runs until the first failure in this hunt (from CaseSummary), or
  // nullopt when nothing failed.
  std::optional<int64_t> observed;
  // Expected runs to the first failure, 1 / rate (geometric mean), with the
  // interval [1 / high, 1 / low] from the rate's two-sided interval; +inf
  // for the parts that divide by zero.
  double expected = 0.0;
  double expected_low = 0.0;
  double expected_high = 0.0;
};

// EstimateRunsToFailure returns RunsToFailure for k failures in n trials.
// Errors: InvalidArgument as ValidateCounts.
absl::StatusOr<RunsToFailure> EstimateRunsToFailure(
    int64_t failures, int64_t trials, std::optional<int64_t> observed,
    double confidence = 0.95);

// FisherLowerPValue is the one-sided p-value of Fisher's exact test for
// "the candidate's failure rate is lower than the baseline's": conditional
// on the total failures, the probability that the candidate gets at most
// `candidate_failures` of them. Exact to ~1e-12 relative.
// Errors: InvalidArgument for counts out of range.
absl::StatusOr<double> FisherLowerPValue(int64_t baseline_failures,
                                         int64_t baseline_trials,
                                         int64_t candidate_failures,
                                         int64_t candidate_trials);

// FixVerification is the verdict on "the candidate fails less often than
// the baseline". Plain data.
struct FixVerification {
  int64_t baseline_failures = 0;
  int64_t baseline_trials = 0;
  int64_t candidate_failures = 0;
  int64_t candidate_trials = 0;
  double alpha = 0.05;
  double p_value = 1.0;  // FisherLowerPValue
  // decided: p_value <= alpha, the candidate's rate is lower with
  // significance alpha.
  bool decided = false;
  // When not decided: how many more candidate runs, all passing, would make
  // the test decide at alpha (the most optimistic continuation: if any of
  // them fails, more are needed). nullopt when decided, or when no number
  // can suffice because the baseline never failed; see `advice`.
  std::optional<int64_t> more_candidate_runs;
  // One line for a human: the decision and, when undecided, what to do.
  std::string advice;
};

// VerifyFix runs Fisher's one-sided test at significance `alpha` and, when
// undecided, the extra-runs search (the p-value only falls as passing
// candidate runs are added, so a doubling-then-bisection search is exact).
// Errors: InvalidArgument for counts out of range or alpha not in (0, 1).
absl::StatusOr<FixVerification> VerifyFix(int64_t baseline_failures,
                                          int64_t baseline_trials,
                                          int64_t candidate_failures,
                                          int64_t candidate_trials,
                                          double alpha = 0.05);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_COMPARE_H_
