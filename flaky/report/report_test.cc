#include "flaky/report/report.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MakeReport, JudgesEveryTargetAndProfile) {
  const Report report = SampleReport();
  ASSERT_EQ(report.verdicts.size(), 6u) << report.title;
  std::vector<std::string> got;
  for (const stats::TargetVerdict& v : report.verdicts) {
    got.push_back(v.profile + "=" + std::string(stats::VerdictName(v.verdict)));
  }
  EXPECT_THAT(got, ::testing::ElementsAre("none=INCONCLUSIVE", "chaos:7=FLAKY",
                                          "cgroup:20=FLAKY", "none=INCONCLUSIVE",
                                          "chaos:7=CLEAN", "cgroup:20=INCONCLUSIVE"));
  EXPECT_EQ(OverallVerdict(report), stats::Verdict::kFlaky);
}

TEST(MakeReport, PutsTheBaselineProfileFirstWithinEachTarget) {
  // The store's order: targets and profiles sorted by name.
  std::vector<results::CaseSummary> rows(5);
  const char* keys[][2] = {{"//t:a", "chaos:7"}, {"//t:a", "none"}, {"//t:b", "cgroup:20"},
                           {"//t:b", "hogs:2"}, {"//t:b", "none"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].target = keys[i][0];
    rows[i].profile = keys[i][1];
    rows[i].trials = 10;
  }
  absl::StatusOr<Report> report = MakeReport("t", rows, HuntMetadata{});
  ASSERT_THAT(report, IsOk());
  std::vector<std::string> order;
  for (const results::CaseSummary& row : report->rows) {
    order.push_back(row.target + " " + row.profile);
  }
  EXPECT_THAT(order, ::testing::ElementsAre("//t:a none", "//t:a chaos:7", "//t:b none",
                                            "//t:b cgroup:20", "//t:b hogs:2"));
  EXPECT_EQ(report->verdicts[0].profile, "none");
}

TEST(MakeReport, RejectsBadGateOptions) {
  HuntMetadata metadata;
  metadata.gate.max_rate = 2;
  EXPECT_THAT(MakeReport("t", {}, metadata),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max_rate")));
}

TEST(OverallVerdict, IsEmptyWithoutVerdicts) {
  EXPECT_EQ(OverallVerdict(Report{}), std::nullopt);
}

TEST(ComputeRowStats, AddsIntervalsVerdictsAndAmplification) {
  const Report report = SampleReport();
  absl::StatusOr<std::vector<RowStats>> stats = ComputeRowStats(report);
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->size(), report.rows.size());
  const RowStats& none = (*stats)[0];
  EXPECT_EQ(none.row, &report.rows[0]);
  EXPECT_EQ(none.amplification, std::nullopt);
  const RowStats& chaos = (*stats)[1];
  ASSERT_TRUE(chaos.interval.has_value());
  EXPECT_DOUBLE_EQ(chaos.interval->rate, 0.074);
  EXPECT_EQ(chaos.verdict, stats::Verdict::kFlaky);
  EXPECT_THAT(chaos.reason, HasSubstr("37 of 500 runs failed"));
  ASSERT_TRUE(chaos.amplification.has_value());
  EXPECT_NEAR(chaos.amplification->ratio, 18.5, 1e-12);  // (37/500) / (2/500)
  const RowStats& fixed_chaos = (*stats)[4];
  ASSERT_TRUE(fixed_chaos.amplification.has_value());
  EXPECT_EQ(fixed_chaos.amplification->kind, stats::RateRatio::Kind::kUndefined);
}

TEST(ComputeRowStats, KeepsRowsWithoutTrialsAndNamesBadRows) {
  Report report = SampleReport();
  report.rows[3].trials = 0;  // all skipped
  absl::StatusOr<std::vector<RowStats>> stats = ComputeRowStats(report);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ((*stats)[3].interval, std::nullopt);
  EXPECT_EQ((*stats)[4].amplification, std::nullopt);  // its baseline has no trials
  report.rows[1].failures = 501;
  EXPECT_THAT(ComputeRowStats(report),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("//tests/race:already_running_original "
                                 "AlreadyRunning.Original [chaos:7]: failures")));
}

TEST(CompareFix, SumsEachSideUnderTheProfile) {
  const Report report = SampleReport();
  ASSERT_EQ(report.fixes.size(), 1u);
  const FixComparison& fix = report.fixes[0];
  EXPECT_EQ(fix.baseline, "original (no readiness check)");
  EXPECT_EQ(fix.verification.baseline_failures, 37);
  EXPECT_EQ(fix.verification.candidate_trials, 3400);
  EXPECT_TRUE(fix.verification.decided);

  FixRequest request;
  request.baseline_target = "//tests/race:already_running_original";
  request.candidate_target = "//tests/race:already_running_fixed";
  request.profile = "none";
  absl::StatusOr<FixComparison> none = CompareFix(report.rows, request, 0.05);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->baseline, request.baseline_target);
  // 2 of 500 against 0 of 500: p = 0.25 (exact: C(500,2)/C(1000,2)).
  EXPECT_NEAR(none->verification.p_value, 500.0 * 499 / (1000.0 * 999), 1e-12);
  EXPECT_FALSE(none->verification.decided);
  EXPECT_TRUE(none->verification.more_candidate_runs.has_value());
}

TEST(CompareFix, SaysWhichSideIsMissing) {
  const Report report = SampleReport();
  FixRequest request;
  request.baseline_target = "//tests/race:already_running_original";
  request.candidate_target = "//tests/race:already_running_fixed";
  request.profile = "hogs:2";
  EXPECT_THAT(CompareFix(report.rows, request, 0.05),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no trials of the baseline "
                                 "//tests/race:already_running_original under profile "
                                 "hogs:2 (profiles present: cgroup:20, chaos:7, none)")));
  request.profile = "none";
  request.test_case = "AlreadyRunning.Original";
  EXPECT_THAT(CompareFix(report.rows, request, 0.05),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("candidate")));
}

TEST(ShortSignature, CutsOnACharacterBoundaryAndFlattensLines) {
  EXPECT_EQ(ShortSignature("short"), "short");
  EXPECT_EQ(ShortSignature("a\nb\tc\x1b[0m"), "a b c?[0m");
  EXPECT_EQ(ShortSignature("abcdefghij", 8), "abcde...");
  // "é" is two bytes; cutting at byte 5 would split it.
  EXPECT_EQ(ShortSignature("abcd\xc3\xa9xyz", 8), "abcd...");
}

}  // namespace
}  // namespace flaky::report
