#include "flaky/metrics/assess.h"

#include <vector>

#include "base/status_matchers.h"
#include "flaky/results/summary.h"
#include "flaky/stats/compare.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;

results::CaseSummary Row(const char* target, const char* profile,
                         int64_t failures, int64_t trials) {
  results::CaseSummary row;
  row.target = target;
  row.test_case = "Suite.Case";
  row.profile = profile;
  row.failures = failures;
  row.trials = trials;
  row.by_outcome[results::Outcome::kPass] = trials - failures;
  row.by_outcome[results::Outcome::kFail] = failures;
  return row;
}

TEST(Assess, RatesVerdictsAndAmplificationAgainstNone) {
  stats::GateOptions gate;
  gate.max_rate = 0.01;
  gate.confidence = 0.95;
  absl::StatusOr<Assessments> assessments =
      Assess({Row("//t:orig", "none", 2, 400), Row("//t:orig", "chaos:1", 40, 400),
              Row("//t:fixed", "none", 0, 400)},
             gate);
  ASSERT_THAT(assessments, IsOk());
  ASSERT_EQ(assessments->cases.size(), 3u);
  EXPECT_DOUBLE_EQ(assessments->cases[1].rate, 0.1);
  EXPECT_LT(assessments->cases[1].lower, 0.1);
  EXPECT_GT(assessments->cases[1].upper, 0.1);
  ASSERT_TRUE(assessments->cases[1].amplification.has_value());
  EXPECT_DOUBLE_EQ(*assessments->cases[1].amplification, 20.0);
  // Profile none is the baseline itself; the fixed target has no other.
  EXPECT_FALSE(assessments->cases[0].amplification.has_value());
  EXPECT_FALSE(assessments->cases[2].amplification.has_value());
  ASSERT_EQ(assessments->profiles.size(), 3u);
  // 40/400 is far above 1% (exact lower bound ~7.6%): FLAKY.
  EXPECT_EQ(assessments->profiles[1].verdict, stats::Verdict::kFlaky);
  // 0/400: exact upper bound 0.75% < 1%: CLEAN.
  EXPECT_EQ(assessments->profiles[2].verdict, stats::Verdict::kClean);
}

TEST(Assess, AmplificationIsPerCaseAsInTheReport) {
  // One case fails 10x more under chaos, the other never failed under
  // none: per case, 10x and "at least" the report's bound; summed over the
  // target it would have been 14x, which no case shows.
  results::CaseSummary a_none = Row("//t:a", "none", 2, 400);
  results::CaseSummary b_none = Row("//t:a", "none", 0, 400);
  b_none.test_case = "Suite.Other";
  results::CaseSummary a_chaos = Row("//t:a", "chaos:1", 20, 400);
  results::CaseSummary b_chaos = Row("//t:a", "chaos:1", 8, 400);
  b_chaos.test_case = "Suite.Other";
  stats::GateOptions gate;
  gate.confidence = 0.9;
  absl::StatusOr<Assessments> assessments =
      Assess({a_none, b_none, a_chaos, b_chaos}, gate);
  ASSERT_THAT(assessments, IsOk());
  ASSERT_EQ(assessments->cases.size(), 4u);
  EXPECT_EQ(assessments->cases[2].amplification, 10.0);
  absl::StatusOr<stats::RateRatio> at_least = stats::Amplification(8, 400, 0, 400, 0.9);
  ASSERT_THAT(at_least, IsOk());
  EXPECT_EQ(assessments->cases[3].amplification, at_least->low);
}

TEST(Assess, SkippedOnlyCasesHaveNoRate) {
  results::CaseSummary skipped = Row("//t:skip", "none", 0, 0);
  absl::StatusOr<Assessments> assessments = Assess({skipped}, {});
  ASSERT_THAT(assessments, IsOk());
  EXPECT_TRUE(assessments->cases.empty());
  ASSERT_EQ(assessments->profiles.size(), 1u);
  EXPECT_EQ(assessments->profiles[0].verdict, stats::Verdict::kInconclusive);
}

TEST(Assess, BadGateOptionsAreInvalidArgument) {
  stats::GateOptions gate;
  gate.confidence = 1.5;
  EXPECT_THAT(Assess({Row("//t:a", "none", 0, 10)}, gate),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::metrics
