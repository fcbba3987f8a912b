#include "flaky/stats/sprt.h"

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "flaky/base/status_macros.h"

namespace flaky::stats {
namespace {

double AcceptH0Threshold(const SprtOptions& o) {
  return std::log(o.beta / (1.0 - o.alpha));
}
double AcceptH1Threshold(const SprtOptions& o) {
  return std::log((1.0 - o.beta) / o.alpha);
}
double FailureStep(const SprtOptions& o) { return std::log(o.p1 / o.p0); }
double PassStep(const SprtOptions& o) {
  return std::log1p(-o.p1) - std::log1p(-o.p0);
}

SprtDecision Decide(double llr, const SprtOptions& o) {
  if (llr >= AcceptH1Threshold(o)) return SprtDecision::kAcceptH1;
  if (llr <= AcceptH0Threshold(o)) return SprtDecision::kAcceptH0;
  return SprtDecision::kContinue;
}

}  // namespace

absl::Status ValidateSprtOptions(const SprtOptions& o) {
  if (!(o.p0 > 0.0 && o.p0 < o.p1 && o.p1 < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SPRT rates must satisfy 0 < p0 < p1 < 1 (e.g. p0=0.001, p1=0.01), got p0=",
        o.p0, " p1=", o.p1));
  }
  if (!(o.alpha > 0.0 && o.alpha < 0.5) || !(o.beta > 0.0 && o.beta < 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SPRT error rates alpha and beta must be in (0, 0.5) (e.g. 0.05), got alpha=",
        o.alpha, " beta=", o.beta));
  }
  return absl::OkStatus();
}

absl::string_view SprtDecisionName(SprtDecision decision) {
  switch (decision) {
    case SprtDecision::kContinue:
      return "continue";
    case SprtDecision::kAcceptH0:
      return "accept_h0";
    case SprtDecision::kAcceptH1:
      return "accept_h1";
  }
  return "unknown";
}

absl::StatusOr<SprtResult> EvaluateSprt(const SprtOptions& options, int64_t failures,
                                        int64_t trials) {
  FLAKY_RETURN_IF_ERROR(ValidateSprtOptions(options));
  if (trials < 0 || failures < 0 || failures > trials) {
    return absl::InvalidArgumentError(absl::StrCat(
        "failures must be between 0 and trials, got ", failures, " of ", trials));
  }
  SprtResult result;
  result.log_likelihood_ratio = static_cast<double>(failures) * FailureStep(options) +
                                static_cast<double>(trials - failures) * PassStep(options);
  result.accept_h0_threshold = AcceptH0Threshold(options);
  result.accept_h1_threshold = AcceptH1Threshold(options);
  result.decision = Decide(result.log_likelihood_ratio, options);
  return result;
}

absl::StatusOr<int64_t> SprtRunsToAcceptH0(const SprtOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateSprtOptions(options));
  int64_t runs = static_cast<int64_t>(
      std::ceil(AcceptH0Threshold(options) / PassStep(options)));
  // Guard the ceil against rounding at an exact boundary.
  while (runs > 1 && Decide((runs - 1) * PassStep(options), options) ==
                         SprtDecision::kAcceptH0) {
    --runs;
  }
  while (Decide(runs * PassStep(options), options) != SprtDecision::kAcceptH0) ++runs;
  return runs;
}

absl::StatusOr<SprtExpectedRuns> ExpectedSprtRuns(const SprtOptions& o) {
  FLAKY_RETURN_IF_ERROR(ValidateSprtOptions(o));
  const double a = AcceptH1Threshold(o);
  const double b = AcceptH0Threshold(o);
  auto step = [&](double p) { return p * FailureStep(o) + (1.0 - p) * PassStep(o); };
  SprtExpectedRuns runs;
  runs.at_p0 = ((1.0 - o.alpha) * b + o.alpha * a) / step(o.p0);
  runs.at_p1 = (o.beta * b + (1.0 - o.beta) * a) / step(o.p1);
  return runs;
}

SprtMonitor::SprtMonitor(const SprtOptions& options)
    : failure_step_(FailureStep(options)),
      pass_step_(PassStep(options)),
      accept_h0_(AcceptH0Threshold(options)),
      accept_h1_(AcceptH1Threshold(options)) {}

SprtDecision SprtMonitor::Observe(bool failed) {
  if (decision_ != SprtDecision::kContinue) return decision_;
  ++trials_;
  if (failed) {
    ++failures_;
    llr_ += failure_step_;
  } else {
    llr_ += pass_step_;
  }
  if (llr_ >= accept_h1_) {
    decision_ = SprtDecision::kAcceptH1;
  } else if (llr_ <= accept_h0_) {
    decision_ = SprtDecision::kAcceptH0;
  }
  return decision_;
}

}  // namespace flaky::stats
