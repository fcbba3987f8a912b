#include "flaky/stats/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/special_functions.h"

namespace flaky::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// p-values are computed to about 1e-13 relative (special_functions.h); a
// p-value that equals alpha exactly (1/100 against 0/1900 gives 1/20) must
// not fall on either side by rounding, so ties within this are "<= alpha".
constexpr double kTieTolerance = 1e-12;

bool Significant(double p_value, double alpha) {
  return p_value <= alpha * (1.0 + kTieTolerance);
}

// Searching beyond this many extra runs is pointless for a test suite; the
// advice says so instead.
constexpr int64_t kMaxExtraRuns = int64_t{1} << 40;

absl::Status ValidateSide(absl::string_view side, int64_t failures, int64_t trials,
                          double confidence) {
  absl::Status status = ValidateCounts(failures, trials, confidence);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(side, ": ", status.message()));
}

// Formats a ratio with two significant digits below 10 and one decimal
// above, rounded in the requested direction.
std::string FormatTimes(double value, PercentRounding rounding) {
  if (std::isinf(value)) return "inf";
  // FormatPercent's precision rule fits ratios too: 18.5, 4.4, 0.31.
  std::string text = FormatPercent(value / 100.0, rounding);
  text.back() = 'x';
  return text;
}

// P(candidate failures <= k1) given the margins: the hypergeometric lower
// tail, each term by Loader's form (special_functions.h), which keeps
// relative precision at a million runs where lgamma differences do not.
double FisherLower(int64_t k0, int64_t n0, int64_t k1, int64_t n1) {
  const int64_t total_failures = k0 + k1;
  const int64_t first = std::max<int64_t>(0, total_failures - n0);
  double p = 0.0;
  for (int64_t x = first; x <= k1; ++x) {
    p += std::exp(LogHypergeometricPmf(x, n1, n0, total_failures));
  }
  return std::min(1.0, p);
}

}  // namespace

absl::StatusOr<RateRatio> Amplification(int64_t profile_failures,
                                        int64_t profile_trials,
                                        int64_t baseline_failures,
                                        int64_t baseline_trials, double confidence) {
  FLAKY_RETURN_IF_ERROR(
      ValidateSide("profile", profile_failures, profile_trials, confidence));
  FLAKY_RETURN_IF_ERROR(
      ValidateSide("baseline", baseline_failures, baseline_trials, confidence));
  RateRatio result;
  result.confidence = confidence;
  if (profile_failures == 0 && baseline_failures == 0) {
    result.kind = RateRatio::Kind::kUndefined;
    result.ratio = result.low = result.high = kNaN;
    return result;
  }
  if (baseline_failures == 0 || profile_failures == 0) {
    FLAKY_ASSIGN_OR_RETURN(RateInterval profile,
                           EstimateRate(profile_failures, profile_trials, confidence,
                                        IntervalMethod::kClopperPearson));
    FLAKY_ASSIGN_OR_RETURN(RateInterval baseline,
                           EstimateRate(baseline_failures, baseline_trials, confidence,
                                        IntervalMethod::kClopperPearson));
    if (baseline_failures == 0) {
      result.kind = RateRatio::Kind::kAtLeast;
      result.ratio = result.low = profile.low / baseline.high;
      result.high = kInf;
    } else {
      result.kind = RateRatio::Kind::kAtMost;
      result.ratio = result.high = profile.high / baseline.low;
      result.low = 0.0;
    }
    return result;
  }
  const double a = static_cast<double>(profile_failures);
  const double n1 = static_cast<double>(profile_trials);
  const double b = static_cast<double>(baseline_failures);
  const double n0 = static_cast<double>(baseline_trials);
  result.kind = RateRatio::Kind::kEstimate;
  result.ratio = (a / n1) / (b / n0);
  const double se = std::sqrt(1.0 / a - 1.0 / n1 + 1.0 / b - 1.0 / n0);
  const double z = NormalQuantile(1.0 - (1.0 - confidence) / 2.0);
  result.low = result.ratio * std::exp(-z * se);
  result.high = result.ratio * std::exp(z * se);
  return result;
}

std::string FormatRatio(const RateRatio& ratio) {
  switch (ratio.kind) {
    case RateRatio::Kind::kEstimate:
      return absl::StrCat(FormatTimes(ratio.ratio, PercentRounding::kNearest), " [",
                          FormatTimes(ratio.low, PercentRounding::kDown), ", ",
                          FormatTimes(ratio.high, PercentRounding::kUp), "]");
    case RateRatio::Kind::kAtLeast:
      return absl::StrCat("at least ", FormatTimes(ratio.low, PercentRounding::kDown));
    case RateRatio::Kind::kAtMost:
      return absl::StrCat("at most ", FormatTimes(ratio.high, PercentRounding::kUp));
    case RateRatio::Kind::kUndefined:
      return "n/a (no failures in either)";
  }
  return "n/a";
}

absl::StatusOr<RunsToFailure> EstimateRunsToFailure(int64_t failures, int64_t trials,
                                                    std::optional<int64_t> observed,
                                                    double confidence) {
  FLAKY_ASSIGN_OR_RETURN(RateInterval interval,
                         EstimateRate(failures, trials, confidence));
  RunsToFailure result;
  result.observed = observed;
  result.expected = failures == 0 ? kInf : 1.0 / interval.rate;
  result.expected_low = 1.0 / interval.high;
  result.expected_high = interval.low == 0.0 ? kInf : 1.0 / interval.low;
  return result;
}

absl::StatusOr<double> FisherLowerPValue(int64_t baseline_failures,
                                         int64_t baseline_trials,
                                         int64_t candidate_failures,
                                         int64_t candidate_trials) {
  FLAKY_RETURN_IF_ERROR(
      ValidateSide("baseline", baseline_failures, baseline_trials, 0.5));
  FLAKY_RETURN_IF_ERROR(
      ValidateSide("candidate", candidate_failures, candidate_trials, 0.5));
  return FisherLower(baseline_failures, baseline_trials, candidate_failures,
                     candidate_trials);
}

absl::StatusOr<FixVerification> VerifyFix(int64_t baseline_failures,
                                          int64_t baseline_trials,
                                          int64_t candidate_failures,
                                          int64_t candidate_trials, double alpha) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alpha (significance) must be strictly between 0 and 1 (e.g. 0.05), got ",
        alpha));
  }
  FLAKY_ASSIGN_OR_RETURN(double p_value,
                         FisherLowerPValue(baseline_failures, baseline_trials,
                                           candidate_failures, candidate_trials));
  FixVerification result;
  result.baseline_failures = baseline_failures;
  result.baseline_trials = baseline_trials;
  result.candidate_failures = candidate_failures;
  result.candidate_trials = candidate_trials;
  result.alpha = alpha;
  result.p_value = p_value;
  result.decided = Significant(p_value, alpha);
  const std::string p_text = absl::StrFormat("p = %.3g", p_value);
  if (result.decided) {
    result.advice = absl::StrCat("candidate fails less often than baseline (Fisher ",
                                 p_text, " <= ", alpha, ")");
    return result;
  }
  if (baseline_failures == 0) {
    result.advice = absl::StrCat(
        "undecided (", p_text,
        "): the baseline never failed, so no number of candidate runs can show an "
        "improvement; run the baseline longer or under a stronger profile first");
    return result;
  }
  // p is non-increasing in extra passing candidate runs (the baseline's
  // share of the failures can only grow), so find the first m with p <= alpha.
  auto decides = [&](int64_t extra) {
    return Significant(FisherLower(baseline_failures, baseline_trials,
                                   candidate_failures, candidate_trials + extra),
                       alpha);
  };
  int64_t hi = 1;
  while (!decides(hi)) {
    if (hi >= kMaxExtraRuns) {
      result.advice = absl::StrCat("undecided (", p_text,
                                   "): more than ", kMaxExtraRuns,
                                   " passing candidate runs would be needed; rerun "
                                   "the baseline longer or under a stronger profile");
      return result;
    }
    hi *= 2;
  }
  int64_t lo = hi / 2;  // !decides(lo) holds (or lo == 0, the current state)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (decides(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  result.more_candidate_runs = hi;
  result.advice = absl::StrCat("undecided (", p_text, " > ", alpha, "): ", hi,
                               " more candidate runs without a failure would decide");
  return result;
}

}  // namespace flaky::stats
