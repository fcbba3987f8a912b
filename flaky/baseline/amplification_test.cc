#include "flaky/baseline/amplification.h"

#include <vector>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "flaky/results/summary.h"
#include "flaky/stats/compare.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::baseline {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

results::CaseSummary Row(const char* target, const char* test_case, const char* profile,
                         int64_t failures, int64_t trials) {
  results::CaseSummary row;
  row.target = target;
  row.test_case = test_case;
  row.profile = profile;
  row.failures = failures;
  row.trials = trials;
  return row;
}

TEST(Amplifications, EachCaseAgainstTheSameCaseUnderNone) {
  // Case A fails 10x more under chaos; case B never failed under none.
  absl::StatusOr<std::vector<CaseAmplification>> all = Amplifications(
      {Row("//t:a", "S.A", "none", 2, 400), Row("//t:a", "S.B", "none", 0, 400),
       Row("//t:a", "S.A", "chaos:1", 20, 400), Row("//t:a", "S.B", "chaos:1", 8, 400),
       Row("//t:a", "S.C", "chaos:1", 1, 400), Row("//t:b", "S.A", "chaos:1", 0, 0)},
      0.95);
  ASSERT_THAT(all, IsOk());
  // S.C has no `none` row, //t:b no trials: neither is compared.
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].test_case, "S.A");
  EXPECT_EQ((*all)[0].ratio.kind, stats::RateRatio::Kind::kEstimate);
  EXPECT_DOUBLE_EQ((*all)[0].ratio.ratio, 10.0);
  EXPECT_EQ(GaugeValue((*all)[0].ratio), 10.0);
  EXPECT_EQ((*all)[1].test_case, "S.B");
  EXPECT_EQ((*all)[1].ratio.kind, stats::RateRatio::Kind::kAtLeast);
  EXPECT_EQ(GaugeValue((*all)[1].ratio), (*all)[1].ratio.low);
  // Summing the target's cases would have said (28/800) / (2/800) = 14x.
}

TEST(Amplifications, NeitherFailingIsUndefinedAndHasNoGaugeValue) {
  absl::StatusOr<std::vector<CaseAmplification>> all = Amplifications(
      {Row("//t:a", "S.A", "none", 0, 100), Row("//t:a", "S.A", "hogs:2", 0, 100)}, 0.95);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].ratio.kind, stats::RateRatio::Kind::kUndefined);
  EXPECT_EQ(GaugeValue((*all)[0].ratio), std::nullopt);
}

TEST(Amplifications, BadCountsNameTheRow) {
  EXPECT_THAT(Amplifications({Row("//t:a", "S.A", "none", 0, 100),
                              Row("//t:a", "S.A", "hogs:2", 7, 5)},
                             0.95),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("//t:a S.A [hogs:2]")));
  EXPECT_THAT(Amplifications({Row("//t:a", "S.A", "none", 1, 100),
                              Row("//t:a", "S.A", "hogs:2", 2, 100)},
                             1.5),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::baseline
