#include "flaky/stats/plan.h"

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "flaky/stats/binomial.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RunsToClaimBelow, MatchesExactBinomialSearch) {
  // Smallest n with P(X <= k; n, p) <= 1 - c by linear search over exact
  // decimal binomial sums (reference_values.py).
  struct Reference {
    double rate, confidence;
    int64_t allowed_failures, runs;
  };
  constexpr Reference kReferences[] = {
      {0.001, 0.95, 0, 2995}, {0.001, 0.95, 1, 4742}, {0.001, 0.95, 2, 6294},
      {0.01, 0.99, 0, 459},   {0.01, 0.99, 3, 1001},  {0.05, 0.9, 5, 184},
  };
  for (const Reference& ref : kReferences) {
    EXPECT_EQ(*RunsToClaimBelow(ref.rate, ref.confidence, ref.allowed_failures), ref.runs)
        << ref.rate << " " << ref.confidence << " " << ref.allowed_failures;
  }
}

TEST(RunsToClaimBelow, IsExactlyTheBoundaryOfTheOneSidedBound) {
  // The gate says CLEAN iff ExactUpperBound < max rate; the planner must
  // land on the first n where that holds, over a grid that includes the
  // exact-boundary cases p = 0.5, c = 0.5 or 0.75.
  for (double rate : {0.5, 0.2, 0.05, 0.01, 0.001, 0.0001}) {
    for (double confidence : {0.5, 0.75, 0.9, 0.95, 0.99, 0.999}) {
      for (int64_t k : {0, 1, 4}) {
        absl::StatusOr<int64_t> n = RunsToClaimBelow(rate, confidence, k);
        ASSERT_THAT(n, IsOk());
        EXPECT_LT(*ExactUpperBound(k, *n, confidence), rate)
            << rate << " " << confidence << " " << k;
        if (*n - 1 >= std::max<int64_t>(k, 1)) {
          EXPECT_GE(*ExactUpperBound(k, *n - 1, confidence), rate)
              << rate << " " << confidence << " " << k;
        }
        // Where ln(1-c)/ln(1-p) is an integer the bound equals p at that n,
        // which is not "below p": the closed form is one short there.
        const double ratio = std::log(1 - confidence) / std::log(1 - rate);
        if (k == 0 && std::fabs(ratio - std::round(ratio)) > 1e-9) {
          EXPECT_EQ(*n, static_cast<int64_t>(std::ceil(ratio)));
        }
      }
    }
  }
}

TEST(MakePlan, RunsToClaimAgreeWithTheZeroFailureWording) {
  const int64_t n = MakePlan({.rate = 0.001, .confidence = 0.95})->runs_to_claim;
  EXPECT_EQ(*DescribeRate(0, n, 0.95), "0 of 3332 runs: rate below 0.1% at 95%");
}

TEST(RunsToClaimBelow, RejectsBadInput) {
  EXPECT_THAT(RunsToClaimBelow(0.0, 0.95),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max rate")));
  EXPECT_THAT(RunsToClaimBelow(0.01, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("confidence")));
  EXPECT_THAT(RunsToClaimBelow(0.01, 0.9, -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allowed failures")));
  EXPECT_THAT(RunsToClaimBelow(1e-300, 0.95), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(RunsToDetect, IsTheGeometricQuantile) {
  // ceil(ln(1 - q) / ln(1 - p)) in Python: 299 for p=1%, q=95%.
  EXPECT_EQ(*RunsToDetect(0.01, 0.95), 299);
  EXPECT_EQ(*RunsToDetect(0.001, 0.95), 2995);
  EXPECT_EQ(*RunsToDetect(0.5, 0.5), 1);
  EXPECT_EQ(*RunsToDetect(0.5, 0.75), 2);
  EXPECT_THAT(RunsToDetect(0.01, 0.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("detection")));
}

TEST(ExpectedRunsToFirstFailure, IsOneOverTheRate) {
  EXPECT_DOUBLE_EQ(*ExpectedRunsToFirstFailure(0.01), 100.0);
  EXPECT_DOUBLE_EQ(*ExpectedRunsToFirstFailure(1.0), 1.0);
  EXPECT_THAT(ExpectedRunsToFirstFailure(0.0), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MakePlan, CombinesEverythingAndDescribesIt) {
  PlanOptions options;
  options.rate = 0.001;
  options.confidence = 0.95;
  absl::StatusOr<Plan> plan = MakePlan(options);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->runs_to_claim, 3332);  // anytime_test
  EXPECT_EQ(plan->single_look_runs_to_claim, 2995);
  EXPECT_EQ(plan->runs_to_detect, 2995);
  EXPECT_DOUBLE_EQ(plan->expected_runs_to_first_failure, 1000.0);
  ASSERT_TRUE(plan->at_ten_times.has_value());
  EXPECT_DOUBLE_EQ(plan->at_ten_times->rate, 0.01);
  EXPECT_GT(plan->at_ten_times->p_flaky, 0.95);
  const std::string text = DescribePlan(*plan);
  EXPECT_THAT(text, HasSubstr("To claim rate below 0.1% at 95%: 3332 runs with at most 0 "
                              "failures (the gate's CLEAN"));
  EXPECT_THAT(text, HasSubstr("one look fixed in advance would need 2995"));
  EXPECT_THAT(text, HasSubstr("fails first after 1000 runs on average"));
  EXPECT_THAT(text, HasSubstr("A test failing at 1% is called FLAKY after "));
  options.rate = 0.0;
  EXPECT_THAT(MakePlan(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::stats
