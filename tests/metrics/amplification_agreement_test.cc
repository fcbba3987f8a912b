// The dashboard and the report show the same amplification: for a target
// whose test cases fail at different rates, every row of the report (its
// VS NONE column, from report::ComputeRowStats) and every
// flaky_amplification_ratio series the metrics export (metrics::Assess,
// then FlakyMetrics) carry the same number for the same (target, test
// case, profile), and neither has one the other lacks.
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "base/status_matchers.h"
#include "flaky/baseline/amplification.h"
#include "flaky/metrics/assess.h"
#include "flaky/metrics/metrics.h"
#include "flaky/report/report.h"
#include "flaky/results/summary.h"
#include "flaky/stats/verdict.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace flaky {
namespace {

using ::flaky::testing::IsOk;
using Key = std::tuple<std::string, std::string, std::string>;

results::CaseSummary Row(const char* target, const char* test_case, const char* profile,
                         int64_t failures, int64_t trials) {
  results::CaseSummary row;
  row.target = target;
  row.test_case = test_case;
  row.profile = profile;
  row.failures = failures;
  row.trials = trials;
  row.trials_since_last_failure = trials;
  row.by_outcome[results::Outcome::kFail] = failures;
  row.by_outcome[results::Outcome::kPass] = trials - failures;
  return row;
}

TEST(AmplificationAgreement, ReportAndDashboardShowTheSameNumberPerCase) {
  // //t:race's cases: one fails 10x more under chaos, one fails only under
  // chaos (the report's "at least"), one fails only under none ("at most"),
  // one never fails (undefined: shown as n/a, exported as nothing).
  const std::vector<results::CaseSummary> rows = {
      Row("//t:race", "S.Often", "none", 2, 400),   Row("//t:race", "S.Often", "chaos:1", 20, 400),
      Row("//t:race", "S.Chaos", "none", 0, 400),   Row("//t:race", "S.Chaos", "chaos:1", 8, 400),
      Row("//t:race", "S.Calm", "none", 3, 400),    Row("//t:race", "S.Calm", "chaos:1", 0, 400),
      Row("//t:race", "S.Never", "none", 0, 400),   Row("//t:race", "S.Never", "chaos:1", 0, 400),
      Row("//t:other", "S.Often", "chaos:1", 5, 400)};
  stats::GateOptions gate;
  gate.max_rate = 0.01;
  gate.confidence = 0.9;  // the bounds depend on it: both must use the report's

  report::HuntMetadata metadata;
  metadata.gate = gate;
  absl::StatusOr<report::Report> made = report::MakeReport("agreement", rows, metadata);
  ASSERT_THAT(made, IsOk());
  absl::StatusOr<std::vector<report::RowStats>> row_stats = report::ComputeRowStats(*made);
  ASSERT_THAT(row_stats, IsOk());
  std::map<Key, double> in_report;
  for (const report::RowStats& s : *row_stats) {
    if (!s.amplification.has_value()) continue;
    if (std::optional<double> value = baseline::GaugeValue(*s.amplification)) {
      in_report[{s.row->target, s.row->test_case, s.row->profile}] = *value;
    }
  }

  absl::StatusOr<metrics::Assessments> assessments = metrics::Assess(rows, gate);
  ASSERT_THAT(assessments, IsOk());
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<metrics::FlakyMetrics>> exported =
      metrics::FlakyMetrics::Create(registry, {});
  ASSERT_THAT(exported, IsOk());
  ASSERT_THAT((*exported)->UpdateSummaries(rows, *assessments), IsOk());
  std::map<Key, double> on_dashboard;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "flaky_amplification_ratio") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      on_dashboard[{labels["target"], labels["test_case"], labels["profile"]}] =
          metric.gauge.value;
    }
  }

  EXPECT_EQ(on_dashboard, in_report);
  // The cases that have one: estimate, at least, at most.
  EXPECT_EQ(in_report.size(), 3u);
  EXPECT_DOUBLE_EQ(in_report[Key("//t:race", "S.Often", "chaos:1")], 10.0);
}

}  // namespace
}  // namespace flaky
