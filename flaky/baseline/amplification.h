// Amplification: how much more often a test case fails under a starvation
// profile than under the baseline profile `none`. One definition for the
// report's VS NONE column and the flaky_amplification_ratio metric: per
// (target, test case, profile), against the same target and test case
// under `none`, with the interval at the report's confidence. (A target's
// cases can fail at very different rates; summing them would make the
// dashboard disagree with the report on every multi-case target.)
//
//   FLAKY_ASSIGN_OR_RETURN(std::vector<CaseAmplification> all,
//                          Amplifications(summaries, /*confidence=*/0.95));
//   stats::FormatRatio(all[0].ratio);  // the report: "at least 3x"
//   GaugeValue(all[0].ratio);          // the metric: 3
#ifndef FLAKY_BASELINE_AMPLIFICATION_H_
#define FLAKY_BASELINE_AMPLIFICATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flaky/results/summary.h"
#include "flaky/stats/compare.h"

namespace flaky::baseline {

// kBaselineProfile is the profile every other is compared against: plain
// reruns, no starvation.
inline constexpr char kBaselineProfile[] = "none";

// CaseAmplification is one row's amplification. Plain data.
struct CaseAmplification {
  std::string target;
  std::string test_case;  // as in CaseSummary ("" for the whole target)
  std::string profile;
  stats::RateRatio ratio;  // stats::Amplification(row, its `none` row)
};

// Amplifications returns, in the order of `rows`, the amplification of
// every row that is not under `none`, has trials, and whose (target, test
// case) has a `none` row with trials (the last such row when there are
// several, one per hunt mode). Rows where neither side failed are included
// with RateRatio::Kind::kUndefined. Errors: InvalidArgument naming the row
// for counts or a confidence out of range. Pure; thread-safe.
absl::StatusOr<std::vector<CaseAmplification>> Amplifications(
    const std::vector<results::CaseSummary>& rows, double confidence);

// GaugeValue is the one number a gauge shows for `ratio`: the estimate
// when both sides failed, the bound the report prints after "at least"
// (the baseline never failed) or "at most" (the profile never failed);
// nullopt when neither failed.
std::optional<double> GaugeValue(const stats::RateRatio& ratio);

}  // namespace flaky::baseline

#endif  // FLAKY_BASELINE_AMPLIFICATION_H_
