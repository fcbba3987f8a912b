// Anytime-valid evidence about a flake rate: tests, bounds and boundaries
// that keep their stated error however often, and whenever, they are
// looked at. Every verdict flaky shows (the gate, --until_decided, live
// metrics, pushes, reports, alerts) is read from here through verdict.h.
//
//   // After 0 failures in 3332 runs: is the rate below 0.1% at 95%?
//   LogEvidenceBelow(0, 3332, 0.001) >= std::log(1 / 0.05);       // true
//   // After 2 failures in 40 runs: above 0.1%?
//   LogEvidenceAbove(2, 40, 0.001) >= std::log(1 / 0.05);         // true
//   AnytimeUpperBound(0, 3332, 0.95);  // ~0.000999: "below 0.1%"
//   AnytimeRunsToClean(0.001, 0.95);   // 3332 (a single fixed look: 2995)
//
// Why not the exact (Clopper-Pearson) bound: it is exact for one look at a
// sample size fixed in advance. A hunt that stops once the bound crosses,
// or a dashboard that shows the verdict after every push, looks many times,
// and the chance that some look errs grows with each (a quarter of hunts at
// a rate exactly at the maximum end FLAKY when the 95% exact bound is
// checked after every run).
//
// The construction (Wald's likelihood ratios, mixed; Ville's inequality).
// For a hypothesised rate r and an alternative with odds ratio c against it
// (alternative rate q = r c / (1 - r + r c)), the likelihood ratio of k
// failures in n runs is
//   LR_c(k, n; r) = c^k (1 + r (c - 1))^(-n).
// Under any true rate p <= r and any c > 1 (or p >= r and c < 1), LR_c is a
// non-negative supermartingale starting at 1, and so is any mixture
// sum_j w_j LR_cj with weights summing to 1. Ville's inequality then gives
//   P(there is ANY n with mixture >= 1/alpha) <= alpha,
// which is the always-valid guarantee: the error holds under every stopping
// rule, every schedule of looks, and for a verdict watched forever.
// - Evidence ABOVE r mixes odds ratios 2, 4, ..., 1024 with weights
//   proportional to 1/j for c = 2^j: near r weighs most (those rates are
//   the hardest to tell apart), yet a starved test failing a fifth of its
//   runs is FLAKY after 7 runs on average. Against a single fixed look the
//   price is the second failure: one failure is FLAKY at 0.1% only within
//   the first 4 runs (the exact bound allows 51), two within 85 (355).
// - Evidence BELOW r mixes c = 0 (the test never fails; weight 1/2) with
//   c = 1/2, 1/4, 1/8 (1/6 each). The point mass at 0 is what a fixed test
//   is, so CLEAN at no failures takes 3332 runs for 0.1% at 95%, 1.11x the
//   2995 of a single fixed look; each later failure costs more than it
//   would at a single look (6983 runs for 1 failure against 4742).
// Both evidences are monotone in k, n and r, so the verdict at (k, n) is
// two thresholds on k (Boundaries), the bounds are found by bisection, and
// "FLAKY" and "CLEAN" are never true of the same counts (anytime_test).
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_ANYTIME_H_
#define FLAKY_STATS_ANYTIME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace flaky::stats {

// MixtureComponent is one alternative of a mixture: its weight and its odds
// ratio against the hypothesised rate.
struct MixtureComponent {
  double weight = 0.0;
  double odds_ratio = 1.0;
};

// AboveMixture and BelowMixture are the two fixed mixtures (file comment).
// Their weights sum to 1.
absl::Span<const MixtureComponent> AboveMixture();
absl::Span<const MixtureComponent> BelowMixture();

// LogEvidenceAbove returns log of the mixture likelihood ratio for "the
// rate is above `rate`" after `failures` in `trials` runs. Under a true
// rate <= `rate`, the chance that it EVER reaches log(1 / alpha) is at most
// alpha. Increasing in failures, decreasing in trials and in rate. Callers
// pass 0 <= failures <= trials and 0 < rate < 1.
double LogEvidenceAbove(int64_t failures, int64_t trials, double rate);

// LogEvidenceBelow is the same for "the rate is below `rate`": under a
// true rate >= `rate` it ever reaches log(1 / alpha) with chance <= alpha.
// Decreasing in failures, increasing in trials and in rate.
double LogEvidenceBelow(int64_t failures, int64_t trials, double rate);

// LogThreshold returns log(1 / (1 - confidence)), the level either
// evidence must reach for a claim at `confidence`.
double LogThreshold(double confidence);

// ValidateAnytime returns InvalidArgument unless 0 <= failures <= trials
// and 0 < confidence < 1; the message names the bad value.
absl::Status ValidateAnytime(int64_t failures, int64_t trials, double confidence);

// AnytimeLowerBound returns L, the largest rate that the evidence above
// rejects at `confidence`: "the rate is above L", valid at every look
// (0 when no rate is rejected, e.g. with no failures).
// Errors: InvalidArgument as ValidateAnytime.
absl::StatusOr<double> AnytimeLowerBound(int64_t failures, int64_t trials,
                                         double confidence);

// AnytimeUpperBound returns U, the smallest rate that the evidence below
// rejects at `confidence`: "the rate is below U", valid at every look
// (1 when none is, e.g. with no runs). Errors: as AnytimeLowerBound.
absl::StatusOr<double> AnytimeUpperBound(int64_t failures, int64_t trials,
                                         double confidence);

// AnytimeInterval is a two-sided interval whose ends are the one-sided
// bounds at (1 + confidence) / 2: it covers the true rate at every look
// with probability >= confidence. Plain data.
struct AnytimeInterval {
  double low = 0.0;
  double high = 1.0;
};

// AnytimeRateInterval returns the two-sided anytime interval.
// Errors: as AnytimeLowerBound.
absl::StatusOr<AnytimeInterval> AnytimeRateInterval(int64_t failures,
                                                    int64_t trials,
                                                    double confidence);

// AnytimeRunsToClean returns the fewest runs with `failures` failures after
// which "rate below max_rate at confidence" holds (the run count the
// evidence below crosses its threshold). Errors: InvalidArgument unless
// 0 < max_rate < 1, 0 < confidence < 1 and failures >= 0; OutOfRange past
// 2^62 runs.
absl::StatusOr<int64_t> AnytimeRunsToClean(double max_rate, double confidence,
                                           int64_t failures = 0);

// Boundary is the rule at one run count: the fewest failures at which it
// says FLAKY and the most at which it says CLEAN; -1 where that verdict is
// impossible at this run count.
struct Boundary {
  int64_t runs = 0;
  int64_t flaky_at_failures = -1;
  int64_t clean_at_most_failures = -1;
};

// BoundaryOptions say which rule to tabulate. `flaky_family` is how many
// hypotheses share the FLAKY error (verdict.h's Holm correction): the first of
// them needs log(flaky_family / (1 - confidence)).
struct BoundaryOptions {
  double max_rate = 0.001;
  double confidence = 0.95;
  int64_t flaky_family = 1;
};

// ValidateBoundaryOptions returns InvalidArgument unless 0 < max_rate < 1,
// 0 < confidence < 1 and flaky_family >= 1, naming the flag.
absl::Status ValidateBoundaryOptions(const BoundaryOptions& options);

// Boundaries returns one row per run count 1..up_to. Both columns are
// non-decreasing in the run count, so a hunt of any length is judged by
// comparing its failures with them. Errors: InvalidArgument for bad options
// or up_to outside 1..10^7.
absl::StatusOr<std::vector<Boundary>> Boundaries(const BoundaryOptions& options,
                                                 int64_t up_to);

// FormatBoundaries renders rows as `flaky plan --boundaries` prints them:
// a header line "runs flaky_at_failures clean_at_most_failures", then one
// line of three whitespace-separated integers per row.
std::string FormatBoundaries(const std::vector<Boundary>& rows);

// OperatingCharacteristics is what the rule does to a test whose runs fail
// independently at `rate`, judged after EVERY run and stopped at the first
// verdict or at `horizon` runs. Computed exactly (a dynamic programme over
// failures and runs), not sampled.
struct OperatingCharacteristics {
  double rate = 0.0;
  int64_t horizon = 0;
  double p_flaky = 0.0;        // the hunt stops FLAKY
  double p_clean = 0.0;        // the hunt stops CLEAN
  double p_undecided = 0.0;    // no verdict by the horizon
  double mean_runs = 0.0;      // runs until stop (horizon if none)
  double mean_runs_to_flaky = 0.0;  // given it stops FLAKY (0 if never)
  double mean_runs_to_clean = 0.0;  // given it stops CLEAN (0 if never)
};

// ComputeOperatingCharacteristics evaluates the rule in `options` at
// `rate` up to `horizon` runs. Errors: InvalidArgument for bad options,
// rate outside [0, 1] or horizon outside 1..10^6.
absl::StatusOr<OperatingCharacteristics> ComputeOperatingCharacteristics(
    const BoundaryOptions& options, double rate, int64_t horizon);

// OperatingCharacteristicsOf evaluates any rule given as boundaries (one
// row per run count from 1, such as Boundaries returns) at `rate`, up to
// the last row. Errors: InvalidArgument for a rate outside [0, 1], no rows,
// or rows that do not count 1, 2, 3, ...
absl::StatusOr<OperatingCharacteristics> OperatingCharacteristicsOf(
    const std::vector<Boundary>& rows, double rate);

// FixedLookRunsToDetect returns the fewest runs n of a single fixed look
// (the exact one-sided test of "rate above max_rate" at `confidence`) that
// says FLAKY with probability >= `power` at `rate` > max_rate: the sample
// size a non-sequential design would have to commit to in advance.
// Errors: InvalidArgument unless 0 < max_rate < rate < 1 and confidence,
// power in (0, 1); OutOfRange past 10^7 runs.
absl::StatusOr<int64_t> FixedLookRunsToDetect(double max_rate, double confidence,
                                              double rate, double power);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_ANYTIME_H_
