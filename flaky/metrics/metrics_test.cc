#include "flaky/metrics/metrics.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

using Labels = std::map<std::string, std::string>;

constexpr char kOriginal[] = "//tests/race:already_running_original";
constexpr char kFixed[] = "//tests/race:already_running_fixed";

// Every sample of family `name`: labels -> value (counter/gauge value, or a
// histogram's sample count).
std::map<Labels, double> Samples(const prometheus::Registry& registry,
                                 const std::string& name) {
  std::map<Labels, double> out;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      Labels labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          out[labels] = metric.counter.value;
          break;
        case prometheus::MetricType::Gauge:
          out[labels] = metric.gauge.value;
          break;
        case prometheus::MetricType::Histogram:
          out[labels] = static_cast<double>(metric.histogram.sample_count);
          break;
        default:
          break;
      }
    }
  }
  return out;
}

std::optional<double> Sample(const prometheus::Registry& registry,
                             const std::string& name, const Labels& labels) {
  std::map<Labels, double> samples = Samples(registry, name);
  auto it = samples.find(labels);
  if (it == samples.end()) return std::nullopt;
  return it->second;
}

results::Trial MakeTrial(const std::string& target, const std::string& test_case,
                         const std::string& profile, results::Outcome outcome,
                         absl::Duration duration = absl::Milliseconds(20)) {
  results::Trial trial;
  trial.target = target;
  trial.test_case = test_case;
  trial.profile = profile;
  trial.outcome = outcome;
  trial.duration = duration;
  return trial;
}

results::CaseSummary MakeSummary(const std::string& target,
                                 const std::string& test_case,
                                 const std::string& profile, int64_t passes,
                                 int64_t failures, int64_t since_failure) {
  results::CaseSummary summary;
  summary.target = target;
  summary.test_case = test_case;
  summary.profile = profile;
  summary.trials = passes + failures;
  summary.failures = failures;
  summary.by_outcome[results::Outcome::kPass] = passes;
  if (failures > 0) summary.by_outcome[results::Outcome::kFail] = failures;
  summary.trials_since_last_failure = since_failure;
  return summary;
}

std::unique_ptr<FlakyMetrics> MakeMetrics(prometheus::Registry& registry,
                                          int max_cases = 50) {
  MetricsOptions options;
  options.version = "0.1.0";
  options.commit = "abc123";
  options.max_cases_per_target = max_cases;
  absl::StatusOr<std::unique_ptr<FlakyMetrics>> metrics =
      FlakyMetrics::Create(registry, options);
  EXPECT_THAT(metrics, IsOk());
  return std::move(metrics).value();
}

TEST(FlakyMetrics, ExportsBuildInfo) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  EXPECT_EQ(Sample(registry, "flaky_build_info",
                   {{"version", "0.1.0"}, {"commit", "abc123"}}),
            1.0);
}

TEST(FlakyMetrics, RecordTrialCountsByOutcomeAndObservesDuration) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  const std::string kCase = "RunStringTest.AlreadyRunning";
  ASSERT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, kCase, "chaos:7",
                                             results::Outcome::kPass)),
              IsOk());
  ASSERT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, kCase, "chaos:7",
                                             results::Outcome::kFail,
                                             absl::Seconds(3))),
              IsOk());
  ASSERT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, kCase, "chaos:7",
                                             results::Outcome::kPass)),
              IsOk());
  ASSERT_THAT(metrics->RecordTrial(
                  MakeTrial(kOriginal, "", "none", results::Outcome::kTimeout)),
              IsOk());

  EXPECT_THAT(
      Samples(registry, "flaky_trials_total"),
      UnorderedElementsAre(
          std::make_pair(Labels{{"target", kOriginal},
                                {"test_case", kCase},
                                {"profile", "chaos:7"},
                                {"outcome", "pass"}},
                         2.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"test_case", kCase},
                                {"profile", "chaos:7"},
                                {"outcome", "fail"}},
                         1.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"test_case", "all"},
                                {"profile", "none"},
                                {"outcome", "timeout"}},
                         1.0)));
  EXPECT_EQ(Sample(registry, "flaky_trial_duration_seconds",
                   {{"target", kOriginal}, {"profile", "chaos:7"}}),
            3.0);
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "flaky_trial_duration_seconds") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (metric.label[0].value != "chaos:7") continue;
      EXPECT_DOUBLE_EQ(metric.histogram.sample_sum, 3.04);
    }
  }
}

TEST(FlakyMetrics, LabelValuesAreValidUtf8WhateverTheTestWrote) {
  // A Latin-1 test-case name inside a UTF-8 test.xml: one invalid label
  // value makes Prometheus reject the whole scrape (and the textfile and
  // the push, which render the same registry).
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  ASSERT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, "S.caf\xe9", "env:K=\xff",
                                             results::Outcome::kPass)),
              IsOk());
  EXPECT_THAT(Samples(registry, "flaky_trials_total"),
              UnorderedElementsAre(std::make_pair(
                  Labels{{"target", kOriginal},
                         {"test_case", "S.caf\xEF\xBF\xBD"},
                         {"profile", "env:K=\xEF\xBF\xBD"},
                         {"outcome", "pass"}},
                  1.0)));
  EXPECT_EQ(Sample(registry, "flaky_trial_duration_seconds",
                   {{"target", kOriginal}, {"profile", "env:K=\xEF\xBF\xBD"}}),
            1.0);
}

TEST(FlakyMetrics, FoldsCasesBeyondTheLimitIntoOther) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry, /*max_cases=*/2);
  for (const char* test_case : {"A.One", "A.Two", "A.Three", "A.Four"}) {
    ASSERT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, test_case, "none",
                                               results::Outcome::kPass)),
                IsOk());
  }
  // The limit is per target: another target gets its own two slots.
  ASSERT_THAT(metrics->RecordTrial(
                  MakeTrial(kFixed, "B.One", "none", results::Outcome::kPass)),
              IsOk());

  std::map<std::string, double> by_case;
  for (const auto& [labels, value] : Samples(registry, "flaky_trials_total")) {
    by_case[labels.at("target") + " " + labels.at("test_case")] += value;
  }
  EXPECT_THAT(by_case,
              UnorderedElementsAre(
                  std::make_pair(std::string(kOriginal) + " A.One", 1.0),
                  std::make_pair(std::string(kOriginal) + " A.Two", 1.0),
                  std::make_pair(std::string(kOriginal) + " other", 2.0),
                  std::make_pair(std::string(kFixed) + " B.One", 1.0)));
  EXPECT_EQ(metrics->CaseLabel(kOriginal, "A.Three"), "other");
  EXPECT_EQ(metrics->CaseLabel(kOriginal, "A.Two"), "A.Two");
}

TEST(FlakyMetrics, UpdateSummariesExportsRatesVerdictsAndAmplification) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  const std::string kCase = "RunStringTest.AlreadyRunning";
  std::vector<results::CaseSummary> summaries = {
      MakeSummary(kOriginal, kCase, "chaos:7", 463, 37, 4),
      MakeSummary(kOriginal, kCase, "none", 498, 2, 120),
  };
  Assessments assessments;
  assessments.cases = {{kOriginal, kCase, "chaos:7", 0.074, 0.053, 0.1, 18.5},
                       {kOriginal, kCase, "none", 0.004, 0.0005, 0.0144}};
  assessments.profiles = {{kOriginal, "chaos:7", Verdict::kFlaky},
                          {kOriginal, "none", Verdict::kInconclusive}};
  ASSERT_THAT(metrics->UpdateSummaries(summaries, assessments), IsOk());

  const Labels chaos = {
      {"target", kOriginal}, {"test_case", kCase}, {"profile", "chaos:7"}};
  EXPECT_EQ(Sample(registry, "flaky_flake_rate_ratio", chaos), 0.074);
  EXPECT_EQ(Sample(registry, "flaky_flake_rate_lower_ratio", chaos), 0.053);
  EXPECT_EQ(Sample(registry, "flaky_flake_rate_upper_ratio", chaos), 0.1);
  EXPECT_EQ(Sample(registry, "flaky_runs_since_last_failure", chaos), 4.0);
  EXPECT_EQ(Sample(registry, "flaky_trials_total",
                   {{"target", kOriginal},
                    {"test_case", kCase},
                    {"profile", "chaos:7"},
                    {"outcome", "fail"}}),
            37.0);
  EXPECT_THAT(
      Samples(registry, "flaky_verdict_state"),
      UnorderedElementsAre(
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "chaos:7"},
                                {"verdict", "flaky"}},
                         1.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "chaos:7"},
                                {"verdict", "clean"}},
                         0.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "chaos:7"},
                                {"verdict", "inconclusive"}},
                         0.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "none"},
                                {"verdict", "flaky"}},
                         0.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "none"},
                                {"verdict", "clean"}},
                         0.0),
          std::make_pair(Labels{{"target", kOriginal},
                                {"profile", "none"},
                                {"verdict", "inconclusive"}},
                         1.0)));
  EXPECT_THAT(Samples(registry, "flaky_amplification_ratio"),
              UnorderedElementsAre(std::make_pair(
                  Labels{{"target", kOriginal}, {"test_case", kCase}, {"profile", "chaos:7"}},
                  18.5)));
}

TEST(FlakyMetrics, UpdateSummariesRaisesCountersWithoutCountingLiveTrialsTwice) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(metrics->RecordTrial(
                    MakeTrial(kFixed, "A.B", "none", results::Outcome::kPass)),
                IsOk());
  }
  // The store holds the 3 live trials plus 7 from an earlier hunt.
  ASSERT_THAT(metrics->UpdateSummaries({MakeSummary(kFixed, "A.B", "none", 10, 0, 10)},
                                       {}),
              IsOk());
  const Labels pass = {{"target", kFixed},
                       {"test_case", "A.B"},
                       {"profile", "none"},
                       {"outcome", "pass"}};
  EXPECT_EQ(Sample(registry, "flaky_trials_total", pass), 10.0);
  // A second identical update changes nothing; a live trial adds one.
  ASSERT_THAT(metrics->UpdateSummaries({MakeSummary(kFixed, "A.B", "none", 10, 0, 10)},
                                       {}),
              IsOk());
  ASSERT_THAT(metrics->RecordTrial(
                  MakeTrial(kFixed, "A.B", "none", results::Outcome::kPass)),
              IsOk());
  EXPECT_EQ(Sample(registry, "flaky_trials_total", pass), 11.0);
  // No estimate was given: no rate gauge is invented.
  EXPECT_TRUE(Samples(registry, "flaky_flake_rate_ratio").empty());
}

TEST(FlakyMetrics, FoldedCasesExportTheWorstRateAsOther) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry, /*max_cases=*/1);
  std::vector<results::CaseSummary> summaries = {
      MakeSummary(kOriginal, "A.Calm", "none", 100, 0, 100),
      MakeSummary(kOriginal, "A.Bad", "none", 50, 50, 1),
      MakeSummary(kOriginal, "A.Mild", "none", 90, 10, 7),
  };
  Assessments assessments;
  assessments.cases = {{kOriginal, "A.Calm", "none", 0, 0, 0.03},
                       {kOriginal, "A.Bad", "none", 0.5, 0.4, 0.6},
                       {kOriginal, "A.Mild", "none", 0.1, 0.05, 0.17}};
  ASSERT_THAT(metrics->UpdateSummaries(summaries, assessments), IsOk());

  // The flakiest case is admitted first; the other two share "other".
  const Labels bad = {{"target", kOriginal}, {"test_case", "A.Bad"}, {"profile", "none"}};
  const Labels other = {{"target", kOriginal}, {"test_case", "other"}, {"profile", "none"}};
  EXPECT_THAT(Samples(registry, "flaky_flake_rate_ratio"),
              UnorderedElementsAre(std::make_pair(bad, 0.5),
                                   std::make_pair(other, 0.1)));
  EXPECT_EQ(Sample(registry, "flaky_flake_rate_upper_ratio", other), 0.17);
  EXPECT_EQ(Sample(registry, "flaky_runs_since_last_failure", other), 7.0);
  Labels other_pass = other;
  other_pass["outcome"] = "pass";
  EXPECT_EQ(Sample(registry, "flaky_trials_total", other_pass), 190.0);
}

TEST(FlakyMetrics, UpdateSummariesRemovesGaugesThatDisappeared) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  Assessments both;
  both.profiles = {{kOriginal, "none", Verdict::kFlaky},
                   {kFixed, "none", Verdict::kClean}};
  ASSERT_THAT(metrics->UpdateSummaries({}, both), IsOk());
  EXPECT_EQ(Samples(registry, "flaky_verdict_state").size(), 6u);
  Assessments one;
  one.profiles = {{kFixed, "none", Verdict::kFlaky}};
  ASSERT_THAT(metrics->UpdateSummaries({}, one), IsOk());
  EXPECT_THAT(
      Samples(registry, "flaky_verdict_state"),
      UnorderedElementsAre(
          std::make_pair(Labels{{"target", kFixed}, {"profile", "none"}, {"verdict", "flaky"}}, 1.0),
          std::make_pair(Labels{{"target", kFixed}, {"profile", "none"}, {"verdict", "clean"}}, 0.0),
          std::make_pair(Labels{{"target", kFixed}, {"profile", "none"}, {"verdict", "inconclusive"}}, 0.0)));
}

TEST(FlakyMetrics, RejectsAnIntervalThatDoesNotContainTheRate) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  Assessments assessments;
  assessments.cases = {{kOriginal, "A.B", "none", 0.2, 0.3, 0.4}};
  EXPECT_THAT(metrics->UpdateSummaries({}, assessments),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("(target=//tests/race:already_running_original, "
                                 "test_case=A.B, profile=none) is not 0 <= lower "
                                 "<= rate <= upper <= 1")));
  assessments.cases = {{kOriginal, "A.B", "none", std::nan(""), 0, 1}};
  EXPECT_THAT(metrics->UpdateSummaries({}, assessments),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FlakyMetrics, RejectsNegativeAmplification) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  Assessments assessments;
  assessments.cases = {{kOriginal, "A.B", "hogs:2", 0.2, 0.1, 0.3, -1.0}};
  EXPECT_THAT(metrics->UpdateSummaries({}, assessments),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("amplification of (target=//tests/race:"
                                 "already_running_original, test_case=A.B, "
                                 "profile=hogs:2) is -1")));
  assessments.cases[0].amplification = std::numeric_limits<double>::infinity();
  EXPECT_THAT(metrics->UpdateSummaries({}, assessments), IsOk());
}

TEST(FlakyMetrics, RejectsATrialWithoutTarget) {
  prometheus::Registry registry;
  auto metrics = MakeMetrics(registry);
  EXPECT_THAT(metrics->RecordTrial(MakeTrial("", "A.B", "none", results::Outcome::kPass)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no target")));
  EXPECT_THAT(metrics->RecordTrial(MakeTrial(kOriginal, "A.B", "none",
                                             results::Outcome::kPass,
                                             absl::Seconds(-1))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("negative duration -1s")));
}

TEST(FlakyMetrics, CreateRejectsBadOptions) {
  prometheus::Registry registry;
  MetricsOptions options;
  options.max_cases_per_target = 0;
  EXPECT_THAT(FlakyMetrics::Create(registry, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_cases_per_target is 0")));
  options = MetricsOptions();
  options.duration_buckets = {1, 0.5};
  EXPECT_THAT(FlakyMetrics::Create(registry, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duration bucket 1 (0.5)")));
}

TEST(FlakyMetrics, CreateTurnsARegistryConflictIntoInvalidArgument) {
  prometheus::Registry registry;
  prometheus::BuildGauge().Name("flaky_trials_total").Help("not ours").Register(registry);
  EXPECT_THAT(FlakyMetrics::Create(registry, MetricsOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("registering flaky's metric families")));
}

}  // namespace
}  // namespace flaky::metrics
