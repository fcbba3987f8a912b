// Flake rates with confidence intervals: k failures in n runs as a rate with
// a two-sided interval (anytime-valid by default; Clopper-Pearson exact or
// Wilson score on request), one-sided exact bounds for claims like "rate
// below p" at a single look, and the wording reports use.
//
//   absl::StatusOr<RateInterval> r = EstimateRate(37, 500);
//   // r->rate == 0.074 with the anytime 95% interval (anytime.h), which
//   // covers the true rate at every look of a hunt, however it stops.
//   r = EstimateRate(37, 500, 0.95, IntervalMethod::kClopperPearson);
//   // r->low ~ 0.0526, r->high ~ 0.1006 (exact, 95%, for one fixed look)
//   DescribeRate(0, 2996, 0.95);  // "0 of 2996 runs: rate below 0.1% at 95%"
//
// Conventions, shared by the planner (plan.h) and the gate (verdict.h):
// - A two-sided interval at confidence c leaves (1 - c) / 2 in each tail.
// - A claim "rate below p at confidence c" is ONE-sided: it uses the exact
//   upper bound U with P(X <= k; n, U) = 1 - c. With no failures that is
//   U = 1 - (1 - c)^(1/n), so 2995 clean runs give U = 0.09997% < 0.1% at
//   95% (the two-sided 95% interval of the same runs is [0, 0.123%]).
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_BINOMIAL_H_
#define FLAKY_STATS_BINOMIAL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::stats {

// IntervalMethod selects how a two-sided interval is computed.
enum class IntervalMethod {
  // kAnytime is anytime.h's interval: it covers the true rate at every
  // look with probability >= the confidence, so it stays honest on a
  // dashboard, after --until_decided, or in any report a verdict or an
  // alert reads. Wider than the others, which hold for one look only.
  kAnytime,
  // kAuto is Clopper-Pearson when min(failures, trials - failures) < 10 (the
  // textbook np >= 10 rule: below it Wilson's coverage dips under the
  // nominal level, and flaky's typical counts are small), Wilson otherwise.
  kAuto,
  // kClopperPearson inverts the exact binomial tails: coverage is at least
  // the nominal confidence for every rate, at the price of being wider.
  kClopperPearson,
  // kWilson is the score interval: close to nominal coverage on average,
  // closed form, never outside [0, 1].
  kWilson,
};

// IntervalMethodName returns "anytime", "auto", "clopper-pearson" or
// "wilson".
absl::string_view IntervalMethodName(IntervalMethod method);

// ResolveIntervalMethod returns the method kAuto picks for these counts;
// other methods are returned unchanged.
IntervalMethod ResolveIntervalMethod(IntervalMethod method, int64_t failures,
                                     int64_t trials);

// RateInterval is a flake rate with its two-sided interval. Plain data.
struct RateInterval {
  int64_t failures = 0;
  int64_t trials = 0;
  double rate = 0.0;  // failures / trials
  double low = 0.0;   // lower end of the two-sided interval
  double high = 0.0;  // upper end of the two-sided interval
  double confidence = 0.95;
  IntervalMethod method = IntervalMethod::kAnytime;  // never kAuto
};

// ValidateCounts returns InvalidArgument unless 0 <= failures <= trials,
// trials >= 1 and 0 < confidence < 1; the message names the bad value.
absl::Status ValidateCounts(int64_t failures, int64_t trials, double confidence);

// EstimateRate returns the rate and its two-sided interval at `confidence`.
// Errors: InvalidArgument as ValidateCounts.
absl::StatusOr<RateInterval> EstimateRate(
    int64_t failures, int64_t trials, double confidence = 0.95,
    IntervalMethod method = IntervalMethod::kAnytime);

// ExactUpperBound returns the one-sided Clopper-Pearson upper bound at
// `confidence`: the rate U with P(X <= failures; trials, U) = 1 - confidence
// (1 when failures == trials). "rate < U at confidence c".
// Errors: InvalidArgument as ValidateCounts.
absl::StatusOr<double> ExactUpperBound(int64_t failures, int64_t trials,
                                       double confidence);

// ExactLowerBound returns the one-sided Clopper-Pearson lower bound at
// `confidence`: the rate L with P(X >= failures; trials, L) = 1 - confidence
// (0 when failures == 0). "rate > L at confidence c".
// Errors: InvalidArgument as ValidateCounts.
absl::StatusOr<double> ExactLowerBound(int64_t failures, int64_t trials,
                                       double confidence);

// PercentRounding says which way FormatPercent rounds.
enum class PercentRounding { kNearest, kUp, kDown };

// FormatPercent formats a rate in [0, 1] as a percentage with one decimal
// from 1% up and two significant digits below ("7.4%", "0.1%", "0.012%",
// "0%", "100%"); trailing zeros are dropped. kUp/kDown round outward so a
// displayed bound never claims more than was computed.
std::string FormatPercent(double rate,
                          PercentRounding rounding = PercentRounding::kNearest);

// DescribeRate returns the one-line human statement of k in n, with the
// anytime-valid bounds (valid however the runs were stopped):
//   "0 of 3332 runs: rate below 0.1% at 95%" (one-sided upper bound, the
//   gate's CLEAN), "37 of 500 runs: rate 7.4%, 95% interval [4.3%, 12.1%]"
//   (two-sided, bounds rounded outward).
// Errors: InvalidArgument as ValidateCounts.
absl::StatusOr<std::string> DescribeRate(int64_t failures, int64_t trials,
                                         double confidence = 0.95);

// FormatConfidence formats 0.95 as "95%" and 0.999 as "99.9%".
std::string FormatConfidence(double confidence);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_BINOMIAL_H_
