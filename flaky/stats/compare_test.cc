#include "flaky/stats/compare.h"

#include <cmath>
#include <cstdint>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Amplification, KatzLogIntervalMatchesReferences) {
  // From flaky/stats/reference_values.py (the Katz formula in Python).
  struct Reference {
    int64_t a, n1, b, n0;
    double ratio, low, high;
  };
  constexpr Reference kReferences[] = {
      {37, 500, 2, 500, 18.5, 4.483091482650598, 76.34240820748252},
      {10, 100, 5, 200, 4.0, 1.4048912805707863, 11.388781624083709},
      {1, 10, 1, 10, 1.0, 0.07210963413813194, 13.867772482168162},
  };
  for (const Reference& ref : kReferences) {
    absl::StatusOr<RateRatio> got = Amplification(ref.a, ref.n1, ref.b, ref.n0, 0.95);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->kind, RateRatio::Kind::kEstimate);
    EXPECT_NEAR(got->ratio, ref.ratio, 1e-12 * ref.ratio);
    EXPECT_NEAR(got->low, ref.low, 1e-9 * ref.low);
    EXPECT_NEAR(got->high, ref.high, 1e-9 * ref.high);
  }
  EXPECT_EQ(FormatRatio(*Amplification(37, 500, 2, 500)), "18.5x [4.4x, 76.4x]");
}

TEST(Amplification, ZeroBaselineFailuresGiveALowerBound) {
  // Reference: exact two-sided bounds, reference_values.py.
  absl::StatusOr<RateRatio> got = Amplification(5, 100, 0, 500, 0.95);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kind, RateRatio::Kind::kAtLeast);
  EXPECT_NEAR(got->low, 2.23544427823203821, 1e-9);
  EXPECT_EQ(got->ratio, got->low);
  EXPECT_TRUE(std::isinf(got->high));
  EXPECT_EQ(FormatRatio(*got), "at least 2.2x");
}

TEST(Amplification, ZeroProfileFailuresGiveAnUpperBound) {
  absl::StatusOr<RateRatio> got = Amplification(0, 400, 6, 300, 0.95);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kind, RateRatio::Kind::kAtMost);
  EXPECT_NEAR(got->high, 1.24486071522650568, 1e-9);
  EXPECT_EQ(got->low, 0.0);
  EXPECT_EQ(FormatRatio(*got), "at most 1.3x");
}

TEST(Amplification, NoFailuresAnywhereIsUndefined) {
  absl::StatusOr<RateRatio> got = Amplification(0, 400, 0, 300, 0.95);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kind, RateRatio::Kind::kUndefined);
  EXPECT_TRUE(std::isnan(got->ratio));
  EXPECT_EQ(FormatRatio(*got), "n/a (no failures in either)");
}

TEST(Amplification, NamesTheBadSide) {
  EXPECT_THAT(Amplification(1, 0, 1, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("profile: no trials")));
  EXPECT_THAT(Amplification(1, 10, 11, 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("baseline: failures")));
}

TEST(EstimateRunsToFailure, IsTheInverseOfTheRateAndItsInterval) {
  absl::StatusOr<RunsToFailure> got = EstimateRunsToFailure(37, 500, 12, 0.95);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->observed, 12);
  EXPECT_NEAR(got->expected, 500.0 / 37.0, 1e-12);
  // Anytime 95% bounds of 37/500 (reference_values.py), inverted.
  EXPECT_NEAR(got->expected_low, 1.0 / 1.20711609079746551e-1, 1e-9);
  EXPECT_NEAR(got->expected_high, 1.0 / 4.26502960256790568e-2, 1e-9);
  absl::StatusOr<RunsToFailure> none = EstimateRunsToFailure(0, 2995, std::nullopt);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(std::isinf(none->expected));
  EXPECT_TRUE(std::isinf(none->expected_high));
  EXPECT_NEAR(none->expected_low, 1.0 / 1.35849248677462739e-3, 1e-6);
}

TEST(FisherLowerPValue, MatchesExactHypergeometricSums) {
  // Exact rational sums with math.comb, reference_values.py.
  struct Reference {
    int64_t k0, n0, k1, n1;
    double p;
  };
  constexpr Reference kReferences[] = {
      {37, 500, 0, 500, 3.64435842909541275e-12},
      {5, 100, 0, 100, 2.96916052342932925e-02},
      {3, 100, 1, 100, 3.10601229497742493e-01},
      {1, 10, 0, 10, 5.00000000000000000e-01},
      {10, 200, 10, 200, 5.90384207323786048e-01},
      {0, 50, 0, 50, 1.0},
      {40, 1000, 12, 1000, 5.22589528336715219e-05},
      {2, 20, 5, 20, 9.54261954261954259e-01},
  };
  for (const Reference& ref : kReferences) {
    absl::StatusOr<double> got = FisherLowerPValue(ref.k0, ref.n0, ref.k1, ref.n1);
    ASSERT_THAT(got, IsOk());
    EXPECT_NEAR(*got, ref.p, 1e-10 * ref.p)
        << ref.k0 << "/" << ref.n0 << " vs " << ref.k1 << "/" << ref.n1;
  }
}

TEST(FisherLowerPValue, HoldsItsPrecisionAtAMillionRuns) {
  // Exact rational sums with math.comb (reference_values.py, "a million
  // runs"); lgamma differences lost 5e-9 relative here.
  EXPECT_NEAR(*FisherLowerPValue(50, 1000000, 10, 1000000), 8.07871986543830170e-08,
              1e-12 * 8.08e-8);
  EXPECT_NEAR(*FisherLowerPValue(3, 1000000, 0, 1000000), 1.24999812499906243e-01,
              1e-12 * 1.25e-1);
}

TEST(FisherLowerPValue, NeverRisesWhenPassingCandidateRunsAreAdded) {
  // The extra-runs search relies on this; check it over random tables.
  std::mt19937_64 rng(37224);  // fixed seed
  for (int i = 0; i < 200; ++i) {
    const int64_t n0 = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t k0 = std::uniform_int_distribution<int64_t>(0, n0)(rng);
    const int64_t n1 = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t k1 = std::uniform_int_distribution<int64_t>(0, n1)(rng);
    double previous = *FisherLowerPValue(k0, n0, k1, n1);
    for (int64_t extra = 1; extra <= 50; ++extra) {
      const double p = *FisherLowerPValue(k0, n0, k1, n1 + extra);
      ASSERT_LE(p, previous * (1 + 1e-12)) << k0 << "/" << n0 << " " << k1 << "/" << n1;
      previous = p;
    }
  }
}

TEST(VerifyFix, DecidesWhenTheCandidateIsSignificantlyLower) {
  absl::StatusOr<FixVerification> got = VerifyFix(37, 500, 0, 500, 0.05);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->decided);
  EXPECT_EQ(got->more_candidate_runs, std::nullopt);
  EXPECT_THAT(got->advice, HasSubstr("candidate fails less often than baseline"));
}

TEST(VerifyFix, CountsTheExtraPassingRunsNeeded) {
  // Linear search over exact Fisher p-values, reference_values.py.
  struct Reference {
    int64_t k0, n0, k1, n1;
    double alpha;
    int64_t more;
  };
  constexpr Reference kReferences[] = {
      {3, 100, 0, 10, 0.05, 160},
      {5, 100, 1, 100, 0.05, 37},
      {1, 100, 0, 100, 0.05, 1800},
      {37, 500, 0, 20, 0.01, 44},
  };
  for (const Reference& ref : kReferences) {
    absl::StatusOr<FixVerification> got =
        VerifyFix(ref.k0, ref.n0, ref.k1, ref.n1, ref.alpha);
    ASSERT_THAT(got, IsOk());
    EXPECT_FALSE(got->decided);
    EXPECT_EQ(got->more_candidate_runs, ref.more)
        << ref.k0 << "/" << ref.n0 << " vs " << ref.k1 << "/" << ref.n1;
    EXPECT_THAT(got->advice, HasSubstr(absl::StrCat(ref.more, " more candidate runs")));
  }
}

TEST(VerifyFix, SaysWhenNoNumberOfRunsCanDecide) {
  absl::StatusOr<FixVerification> got = VerifyFix(0, 500, 0, 500, 0.05);
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(got->decided);
  EXPECT_EQ(got->more_candidate_runs, std::nullopt);
  EXPECT_THAT(got->advice, HasSubstr("the baseline never failed"));
}

TEST(VerifyFix, RejectsBadAlpha) {
  EXPECT_THAT(VerifyFix(1, 10, 0, 10, 0.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alpha")));
  EXPECT_THAT(VerifyFix(1, 10, 0, 0, 0.05),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("candidate")));
}

}  // namespace
}  // namespace flaky::stats
