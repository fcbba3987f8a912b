#include "flaky/stats/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/anytime.h"

namespace flaky::stats {
namespace {

constexpr int64_t kMaxRuns = int64_t{1} << 62;

absl::Status ValidateProbability(absl::string_view name, double value) {
  if (value > 0.0 && value < 1.0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(name, " must be strictly between 0 and 1, got ", value));
}

// The gate's CLEAN condition (verdict.h), the one the plan must satisfy.
bool Claims(double max_rate, double confidence, int64_t failures, int64_t trials) {
  absl::StatusOr<double> upper = ExactUpperBound(failures, trials, confidence);
  return upper.ok() && *upper < max_rate;
}

}  // namespace

absl::StatusOr<int64_t> RunsToClaimBelow(double max_rate, double confidence,
                                         int64_t allowed_failures) {
  FLAKY_RETURN_IF_ERROR(ValidateProbability("max rate", max_rate));
  FLAKY_RETURN_IF_ERROR(ValidateProbability("confidence", confidence));
  if (allowed_failures < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("allowed failures must be >= 0, got ", allowed_failures));
  }
  auto claims = [&](int64_t n) { return Claims(max_rate, confidence, allowed_failures, n); };
  int64_t n;
  if (allowed_failures == 0) {
    // Closed form, then a check in both directions so the answer is exactly
    // the gate's boundary even where floating point rounds the ceil.
    const double exact = std::log1p(-confidence) / std::log1p(-max_rate);
    if (!(exact < static_cast<double>(kMaxRuns))) {
      return absl::OutOfRangeError(absl::StrCat(
          "more than 2^62 runs needed to claim a rate below ", max_rate));
    }
    n = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(exact)));
    while (n > 1 && claims(n - 1)) --n;
    while (!claims(n)) ++n;
    return n;
  }
  // The upper bound falls as n grows with k fixed: double, then bisect.
  int64_t hi = allowed_failures + 1;
  while (!claims(hi)) {
    if (hi > kMaxRuns / 2) {
      return absl::OutOfRangeError(absl::StrCat(
          "more than 2^62 runs needed to claim a rate below ", max_rate));
    }
    hi *= 2;
  }
  int64_t lo = hi / 2;
  if (lo < allowed_failures) lo = allowed_failures;  // n = k never claims (bound 1)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (claims(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

absl::StatusOr<int64_t> RunsToDetect(double rate, double probability) {
  FLAKY_RETURN_IF_ERROR(ValidateProbability("rate", rate));
  FLAKY_RETURN_IF_ERROR(ValidateProbability("detection probability", probability));
  // P(at least one failure in n) = 1 - (1 - rate)^n >= probability.
  auto detects = [&](int64_t n) {
    return -std::expm1(static_cast<double>(n) * std::log1p(-rate)) >= probability;
  };
  int64_t n = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::log1p(-probability) / std::log1p(-rate))));
  while (n > 1 && detects(n - 1)) --n;
  while (!detects(n)) ++n;
  return n;
}

absl::StatusOr<double> ExpectedRunsToFirstFailure(double rate) {
  if (!(rate > 0.0 && rate <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate must be in (0, 1] to expect a failure at all, got ", rate));
  }
  return 1.0 / rate;
}

absl::StatusOr<Plan> MakePlan(const PlanOptions& options) {
  Plan plan;
  plan.options = options;
  FLAKY_ASSIGN_OR_RETURN(plan.single_look_runs_to_claim,
                         RunsToClaimBelow(options.rate, options.confidence,
                                          options.allowed_failures));
  FLAKY_ASSIGN_OR_RETURN(plan.runs_to_claim,
                         AnytimeRunsToClean(options.rate, options.confidence,
                                            options.allowed_failures));
  FLAKY_ASSIGN_OR_RETURN(plan.expected_runs_to_first_failure,
                         ExpectedRunsToFirstFailure(options.rate));
  FLAKY_ASSIGN_OR_RETURN(plan.runs_to_detect,
                         RunsToDetect(options.rate, options.detect_probability));
  const double ten_times = 10.0 * options.rate;
  if (ten_times < 1.0) {
    // Ten times the runs a clean claim needs is far past where a test
    // failing ten times too often is called FLAKY.
    const int64_t horizon = std::min<int64_t>(1'000'000, 10 * plan.runs_to_claim);
    FLAKY_ASSIGN_OR_RETURN(
        plan.at_ten_times,
        ComputeOperatingCharacteristics(
            {.max_rate = options.rate, .confidence = options.confidence},
            ten_times, horizon));
  }
  return plan;
}

std::string DescribePlan(const Plan& plan) {
  const PlanOptions& o = plan.options;
  const std::string rate = FormatPercent(o.rate);
  std::string text = absl::StrCat(
      "To claim rate below ", rate, " at ", FormatConfidence(o.confidence), ": ",
      plan.runs_to_claim, " runs with at most ", o.allowed_failures,
      o.allowed_failures == 1 ? " failure" : " failures",
      " (the gate's CLEAN, valid however often the hunt is looked at; one look "
      "fixed in advance would need ",
      plan.single_look_runs_to_claim, ")\n");
  absl::StrAppend(&text, "A test failing at ", rate, " fails first after ",
                  plan.expected_runs_to_first_failure, " runs on average\n");
  absl::StrAppend(&text, "To see at least one failure at ", rate, " with probability ",
                  FormatConfidence(o.detect_probability), ": ", plan.runs_to_detect,
                  " runs\n");
  if (plan.at_ten_times.has_value()) {
    absl::StrAppend(
        &text, "A test failing at ", FormatPercent(plan.at_ten_times->rate),
        " is called FLAKY after ",
        static_cast<int64_t>(std::ceil(plan.at_ten_times->mean_runs_to_flaky)),
        " runs on average (in ", FormatConfidence(plan.at_ten_times->p_flaky),
        " of hunts; judged after every run)\n");
  }
  return text;
}

}  // namespace flaky::stats
