#include "flaky/baseline/amplification.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flaky::baseline {

absl::StatusOr<std::vector<CaseAmplification>> Amplifications(
    const std::vector<results::CaseSummary>& rows, double confidence) {
  std::map<std::pair<std::string, std::string>, const results::CaseSummary*> baselines;
  for (const results::CaseSummary& row : rows) {
    if (row.profile == kBaselineProfile) baselines[{row.target, row.test_case}] = &row;
  }
  std::vector<CaseAmplification> out;
  for (const results::CaseSummary& row : rows) {
    if (row.profile == kBaselineProfile || row.trials == 0) continue;
    auto baseline = baselines.find({row.target, row.test_case});
    if (baseline == baselines.end() || baseline->second->trials == 0) continue;
    absl::StatusOr<stats::RateRatio> ratio =
        stats::Amplification(row.failures, row.trials, baseline->second->failures,
                             baseline->second->trials, confidence);
    if (!ratio.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          row.target, " ", row.test_case, " [", row.profile, "]: ", ratio.status().message()));
    }
    out.push_back({row.target, row.test_case, row.profile, *ratio});
  }
  return out;
}

std::optional<double> GaugeValue(const stats::RateRatio& ratio) {
  if (ratio.kind == stats::RateRatio::Kind::kUndefined) return std::nullopt;
  return ratio.ratio;
}

}  // namespace flaky::baseline
