#include "flaky/metrics/assess.h"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "base/status_macros.h"
#include "flaky/baseline/amplification.h"
#include "flaky/stats/binomial.h"

namespace flaky::metrics {

absl::StatusOr<Assessments> Assess(
    const std::vector<results::CaseSummary>& summaries,
    const stats::GateOptions& gate) {
  FLAKY_RETURN_IF_ERROR(stats::ValidateGateOptions(gate));
  // The report's amplification (the same function, at its confidence),
  // so the dashboard and the report show the same numbers.
  FLAKY_ASSIGN_OR_RETURN(std::vector<baseline::CaseAmplification> amplifications,
                         baseline::Amplifications(summaries, gate.confidence));
  std::map<std::tuple<std::string, std::string, std::string>, double> gauge;
  for (const baseline::CaseAmplification& a : amplifications) {
    if (std::optional<double> value = baseline::GaugeValue(a.ratio)) {
      gauge[{a.target, a.test_case, a.profile}] = *value;
    }
  }
  Assessments out;
  for (const results::CaseSummary& summary : summaries) {
    // A case that only skipped has no rate to export (and no verdict
    // beyond INCONCLUSIVE, which JudgeTargets gives it).
    if (summary.trials == 0) continue;
    FLAKY_ASSIGN_OR_RETURN(
        stats::RateInterval rate,
        stats::EstimateRate(summary.failures, summary.trials, gate.confidence));
    CaseEstimate estimate{summary.target, summary.test_case, summary.profile,
                          rate.rate,      rate.low,          rate.high};
    auto amplification = gauge.find({summary.target, summary.test_case, summary.profile});
    if (amplification != gauge.end()) estimate.amplification = amplification->second;
    out.cases.push_back(estimate);
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<stats::TargetVerdict> verdicts,
                         stats::JudgeTargets(summaries, gate));
  for (const stats::TargetVerdict& verdict : verdicts) {
    out.profiles.push_back({verdict.target, verdict.profile, verdict.verdict});
  }
  return out;
}

}  // namespace flaky::metrics
