#include "flaky/stats/binomial.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/stats/anytime.h"
#include "flaky/stats/special_functions.h"

namespace flaky::stats {
namespace {

// Below this many failures (or passes) kAuto uses the exact interval.
constexpr int64_t kSmallCount = 10;

double ClopperPearsonUpper(int64_t k, int64_t n, double confidence) {
  if (k == n) return 1.0;
  // Closed form for no failures, so the planner's ceil(ln(1-c)/ln(1-p)) and
  // this bound agree to the last bit.
  if (k == 0) return -std::expm1(std::log1p(-confidence) / static_cast<double>(n));
  return InverseRegularizedIncompleteBeta(static_cast<double>(k + 1),
                                          static_cast<double>(n - k), confidence);
}

double ClopperPearsonLower(int64_t k, int64_t n, double confidence) {
  if (k == 0) return 0.0;
  if (k == n) return std::exp(std::log1p(-confidence) / static_cast<double>(n));
  return InverseRegularizedIncompleteBeta(static_cast<double>(k),
                                          static_cast<double>(n - k + 1),
                                          1.0 - confidence);
}

}  // namespace

absl::string_view IntervalMethodName(IntervalMethod method) {
  switch (method) {
    case IntervalMethod::kAnytime:
      return "anytime";
    case IntervalMethod::kAuto:
      return "auto";
    case IntervalMethod::kClopperPearson:
      return "clopper-pearson";
    case IntervalMethod::kWilson:
      return "wilson";
  }
  return "unknown";
}

IntervalMethod ResolveIntervalMethod(IntervalMethod method, int64_t failures,
                                     int64_t trials) {
  if (method != IntervalMethod::kAuto) return method;
  return std::min(failures, trials - failures) < kSmallCount
             ? IntervalMethod::kClopperPearson
             : IntervalMethod::kWilson;
}

absl::Status ValidateCounts(int64_t failures, int64_t trials, double confidence) {
  if (trials < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no trials to estimate a rate from (trials=", trials,
        "): run the target at least once"));
  }
  if (failures < 0 || failures > trials) {
    return absl::InvalidArgumentError(absl::StrCat(
        "failures must be between 0 and trials, got ", failures, " of ", trials));
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "confidence must be strictly between 0 and 1 (e.g. 0.95), got ",
        confidence));
  }
  return absl::OkStatus();
}

absl::StatusOr<RateInterval> EstimateRate(int64_t failures, int64_t trials,
                                          double confidence, IntervalMethod method) {
  FLAKY_RETURN_IF_ERROR(ValidateCounts(failures, trials, confidence));
  RateInterval result;
  result.failures = failures;
  result.trials = trials;
  result.confidence = confidence;
  result.rate = static_cast<double>(failures) / static_cast<double>(trials);
  result.method = ResolveIntervalMethod(method, failures, trials);
  const double tail_confidence = 1.0 - (1.0 - confidence) / 2.0;
  if (result.method == IntervalMethod::kAnytime) {
    FLAKY_ASSIGN_OR_RETURN(AnytimeInterval interval,
                           AnytimeRateInterval(failures, trials, confidence));
    result.low = interval.low;
    result.high = interval.high;
  } else if (result.method == IntervalMethod::kClopperPearson) {
    result.low = ClopperPearsonLower(failures, trials, tail_confidence);
    result.high = ClopperPearsonUpper(failures, trials, tail_confidence);
  } else {
    const double n = static_cast<double>(trials);
    const double p = result.rate;
    const double z = NormalQuantile(tail_confidence);
    const double z2 = z * z;
    const double denominator = 1.0 + z2 / n;
    const double centre = (p + z2 / (2.0 * n)) / denominator;
    const double half =
        z / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    result.low = failures == 0 ? 0.0 : std::max(0.0, centre - half);
    result.high = failures == trials ? 1.0 : std::min(1.0, centre + half);
  }
  return result;
}

absl::StatusOr<double> ExactUpperBound(int64_t failures, int64_t trials,
                                       double confidence) {
  FLAKY_RETURN_IF_ERROR(ValidateCounts(failures, trials, confidence));
  return ClopperPearsonUpper(failures, trials, confidence);
}

absl::StatusOr<double> ExactLowerBound(int64_t failures, int64_t trials,
                                       double confidence) {
  FLAKY_RETURN_IF_ERROR(ValidateCounts(failures, trials, confidence));
  return ClopperPearsonLower(failures, trials, confidence);
}

std::string FormatPercent(double rate, PercentRounding rounding) {
  if (std::isnan(rate)) return "n/a";
  if (std::isinf(rate)) return rate > 0 ? "inf%" : "-inf%";
  const double percent = rate * 100.0;
  if (percent == 0.0) return "0%";
  int decimals = 1;
  if (std::fabs(percent) < 1.0) {
    decimals = 1 - static_cast<int>(std::floor(std::log10(std::fabs(percent))));
    decimals = std::min(decimals, 15);
  }
  const double scale = std::pow(10.0, decimals);
  // The 1e-9 slack keeps 0.1 * 1000 = 100.00000000000001 from rounding up
  // to 101; it is far below anything a reader could see.
  double scaled = percent * scale;
  switch (rounding) {
    case PercentRounding::kNearest:
      scaled = std::round(scaled);
      break;
    case PercentRounding::kUp:
      scaled = std::ceil(scaled - 1e-9);
      break;
    case PercentRounding::kDown:
      scaled = std::floor(scaled + 1e-9);
      break;
  }
  std::string text = absl::StrFormat("%.*f", decimals, scaled / scale);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text + "%";
}

std::string FormatConfidence(double confidence) {
  std::string text = absl::StrFormat("%.4f", confidence * 100.0);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text + "%";
}

absl::StatusOr<std::string> DescribeRate(int64_t failures, int64_t trials,
                                         double confidence) {
  FLAKY_RETURN_IF_ERROR(ValidateCounts(failures, trials, confidence));
  if (failures == 0) {
    FLAKY_ASSIGN_OR_RETURN(double upper, AnytimeUpperBound(0, trials, confidence));
    return absl::StrCat("0 of ", trials, " runs: rate below ",
                        FormatPercent(upper, PercentRounding::kUp), " at ",
                        FormatConfidence(confidence));
  }
  FLAKY_ASSIGN_OR_RETURN(RateInterval interval,
                         EstimateRate(failures, trials, confidence));
  return absl::StrCat(failures, " of ", trials, " runs: rate ",
                      FormatPercent(interval.rate), ", ",
                      FormatConfidence(confidence), " interval [",
                      FormatPercent(interval.low, PercentRounding::kDown), ", ",
                      FormatPercent(interval.high, PercentRounding::kUp), "]");
}

}  // namespace flaky::stats
