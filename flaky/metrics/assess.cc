#include "flaky/metrics/assess.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "flaky/base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"

namespace flaky::metrics {

absl::StatusOr<Assessments> Assess(
    const std::vector<results::CaseSummary>& summaries,
    const stats::GateOptions& gate) {
  Assessments out;
  // (failures, trials) per (target, profile), for the amplification.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>>
      totals;
  for (const results::CaseSummary& summary : summaries) {
    // A case that only skipped has no rate to export (and no verdict
    // beyond INCONCLUSIVE, which JudgeTargets gives it).
    if (summary.trials == 0) continue;
    FLAKY_ASSIGN_OR_RETURN(
        stats::RateInterval rate,
        stats::EstimateRate(summary.failures, summary.trials, gate.confidence));
    out.cases.push_back({summary.target, summary.test_case, summary.profile,
                         rate.rate, rate.low, rate.high});
    auto& [failures, trials] = totals[{summary.target, summary.profile}];
    failures += summary.failures;
    trials += summary.trials;
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<stats::TargetVerdict> verdicts,
                         stats::JudgeTargets(summaries, gate));
  for (const stats::TargetVerdict& verdict : verdicts) {
    ProfileAssessment assessment;
    assessment.target = verdict.target;
    assessment.profile = verdict.profile;
    assessment.verdict = verdict.verdict;
    const auto none = totals.find({verdict.target, "none"});
    const auto& counts = totals[{verdict.target, verdict.profile}];
    if (verdict.profile != "none" && none != totals.end() &&
        none->second.second > 0 && counts.second > 0) {
      FLAKY_ASSIGN_OR_RETURN(
          stats::RateRatio ratio,
          stats::Amplification(counts.first, counts.second, none->second.first,
                               none->second.second));
      if (ratio.kind != stats::RateRatio::Kind::kUndefined) {
        assessment.amplification = ratio.ratio;
      }
    }
    out.profiles.push_back(assessment);
  }
  return out;
}

}  // namespace flaky::metrics
