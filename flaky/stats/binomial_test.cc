#include "flaky/stats/binomial.h"

#include "flaky/stats/anytime.h"

#include <cmath>
#include <cstdint>
#include <random>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

struct IntervalReference {
  int64_t failures;
  int64_t trials;
  double confidence;
  double low;
  double high;
};

// Two-sided Clopper-Pearson bounds from flaky/stats/reference_values.py:
// bisection on exact binomial tail sums in 80-digit decimals.
constexpr IntervalReference kClopperPearson[] = {
    {0, 10, 0.95, 0.0, 3.08497107818760762e-1},
    {0, 10, 0.99, 0.0, 4.11295981347525318e-1},
    {1, 10, 0.95, 2.52857854446178677e-3, 4.45016117028195359e-1},
    {1, 10, 0.99, 5.01128575464634317e-4, 5.44287056899686802e-1},
    {5, 10, 0.95, 1.87086028447398572e-1, 8.12913971552601428e-1},
    {5, 10, 0.99, 1.28310553935083281e-1, 8.71689446064916719e-1},
    {10, 10, 0.95, 6.91502892181239238e-1, 1.0},
    {10, 10, 0.99, 5.88704018652474682e-1, 1.0},
    {0, 2995, 0.95, 0.0, 1.23092107790244289e-3},
    {0, 2995, 0.99, 0.0, 1.76749035845027903e-3},
    {1, 100, 0.95, 2.53146032977420862e-4, 5.44593853920806474e-2},
    {1, 100, 0.99, 5.01241619776564627e-5, 7.19576824016362967e-2},
    {37, 500, 0.95, 5.26351085489952497e-2, 1.00558874746469922e-1},
    {37, 500, 0.99, 4.70276758296830646e-2, 1.09393187849285219e-1},
    {3, 1000, 0.95, 6.19099931649571478e-4, 8.74202323847830232e-3},
    {3, 1000, 0.99, 3.38144529066493371e-4, 1.09337774204052409e-2},
    {50, 100, 0.95, 3.98321129503300998e-1, 6.01678870496699002e-1},
    {50, 100, 0.99, 3.68861437358924039e-1, 6.31138562641075961e-1},
    {0, 1, 0.95, 0.0, 9.74999999999999978e-1},
    {1, 1, 0.95, 2.50000000000000222e-2, 1.0},
};

// Wilson score bounds from the same script (closed form evaluated in Python
// with statistics.NormalDist for z).
constexpr IntervalReference kWilson[] = {
    {0, 10, 0.95, 0.0, 2.77532799862889146e-01},
    {0, 10, 0.99, 0.0, 3.98854093304907953e-01},
    {1, 10, 0.95, 1.78762130950729237e-02, 4.04150026795238371e-01},
    {1, 10, 0.99, 1.18515034110329154e-02, 5.07231771232893425e-01},
    {37, 500, 0.95, 5.41611847510119759e-02, 1.00334753322230547e-01},
    {37, 500, 0.99, 4.91073528084541577e-02, 1.10050449273469519e-01},
    {50, 100, 0.95, 4.03831530365995672e-01, 5.96168469634004383e-01},
    {50, 100, 0.99, 3.75279625044839860e-01, 6.24720374955160196e-01},
    {0, 2995, 0.95, 0.0, 1.28098096329666978e-03},
    {0, 2995, 0.99, 0.0, 2.21042759348727197e-03},
};

void ExpectInterval(const IntervalReference& ref, IntervalMethod method) {
  absl::StatusOr<RateInterval> got =
      EstimateRate(ref.failures, ref.trials, ref.confidence, method);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->method, method);
  EXPECT_DOUBLE_EQ(got->rate, static_cast<double>(ref.failures) / ref.trials);
  EXPECT_NEAR(got->low, ref.low, 1e-10 * ref.low + 1e-15)
      << ref.failures << " of " << ref.trials << " at " << ref.confidence;
  EXPECT_NEAR(got->high, ref.high, 1e-10 * ref.high)
      << ref.failures << " of " << ref.trials << " at " << ref.confidence;
}

TEST(EstimateRate, ClopperPearsonMatchesExactReferences) {
  for (const IntervalReference& ref : kClopperPearson) {
    ExpectInterval(ref, IntervalMethod::kClopperPearson);
  }
}

TEST(EstimateRate, WilsonMatchesReferences) {
  for (const IntervalReference& ref : kWilson) {
    ExpectInterval(ref, IntervalMethod::kWilson);
  }
}

TEST(EstimateRate, AutoIsExactForSmallCountsAndWilsonOtherwise) {
  EXPECT_EQ(ResolveIntervalMethod(IntervalMethod::kAuto, 0, 2995),
            IntervalMethod::kClopperPearson);
  EXPECT_EQ(ResolveIntervalMethod(IntervalMethod::kAuto, 9, 500),
            IntervalMethod::kClopperPearson);
  EXPECT_EQ(ResolveIntervalMethod(IntervalMethod::kAuto, 495, 500),
            IntervalMethod::kClopperPearson);
  EXPECT_EQ(ResolveIntervalMethod(IntervalMethod::kAuto, 10, 500),
            IntervalMethod::kWilson);
  EXPECT_EQ(ResolveIntervalMethod(IntervalMethod::kWilson, 0, 5), IntervalMethod::kWilson);
  absl::StatusOr<RateInterval> got = EstimateRate(37, 500, 0.95, IntervalMethod::kAuto);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->method, IntervalMethod::kWilson);
  EXPECT_EQ(IntervalMethodName(got->method), "wilson");
}

TEST(EstimateRate, DefaultsToTheAnytimeInterval) {
  absl::StatusOr<RateInterval> got = EstimateRate(37, 500);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->method, IntervalMethod::kAnytime);
  EXPECT_EQ(IntervalMethodName(got->method), "anytime");
  EXPECT_NEAR(got->low, *AnytimeLowerBound(37, 500, 0.975), 1e-15);
  EXPECT_NEAR(got->high, *AnytimeUpperBound(37, 500, 0.975), 1e-15);
  // Wider than the exact interval of one look, on both sides.
  const RateInterval exact = *EstimateRate(37, 500, 0.95, IntervalMethod::kClopperPearson);
  EXPECT_LT(got->low, exact.low);
  EXPECT_GT(got->high, exact.high);
}

TEST(EstimateRate, RejectsBadCountsWithAClearMessage) {
  EXPECT_THAT(EstimateRate(0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no trials")));
  EXPECT_THAT(EstimateRate(5, 4),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("failures must be between 0 and trials, got 5 of 4")));
  EXPECT_THAT(EstimateRate(-1, 4), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EstimateRate(1, 4, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("confidence")));
  EXPECT_THAT(EstimateRate(1, 4, NAN), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ExactBounds, OneSidedMatchExactReferences) {
  // One-sided exact bounds from flaky/stats/reference_values.py.
  struct Reference {
    int64_t failures;
    int64_t trials;
    double confidence;
    double lower;
    double upper;
  };
  constexpr Reference kReferences[] = {
      {0, 2995, 0.95, 0.0, 9.99744420901142021e-4},
      {0, 2994, 0.95, 0.0, 1.00007816984666977e-3},
      {0, 2996, 0.95, 0.0, 9.99410894640584856e-4},
      {1, 4742, 0.95, 1.08167475693255514e-5, 9.99998368139577227e-4},
      {1, 4741, 0.95, 1.08190290899025944e-5, 1.00020921048242024e-3},
      {2, 300, 0.9, 1.77409215051107161e-3, 1.76430631091820441e-2},
      {12, 40, 0.99, 1.46552182630984411e-1, 4.94484004641690137e-1},
  };
  for (const Reference& ref : kReferences) {
    absl::StatusOr<double> upper = ExactUpperBound(ref.failures, ref.trials, ref.confidence);
    absl::StatusOr<double> lower = ExactLowerBound(ref.failures, ref.trials, ref.confidence);
    ASSERT_THAT(upper, IsOk());
    ASSERT_THAT(lower, IsOk());
    EXPECT_NEAR(*upper, ref.upper, 1e-10 * ref.upper) << ref.failures << "/" << ref.trials;
    EXPECT_NEAR(*lower, ref.lower, 1e-10 * ref.lower + 1e-15)
        << ref.failures << "/" << ref.trials;
  }
  EXPECT_EQ(*ExactUpperBound(7, 7, 0.95), 1.0);
  EXPECT_THAT(ExactUpperBound(1, 0, 0.95), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Binomial CDF by direct summation of log-pmf terms: an implementation
// independent of the incomplete beta function.
double BinomialCdf(int64_t k, int64_t n, double p) {
  double sum = 0.0;
  for (int64_t i = 0; i <= k; ++i) {
    const double log_pmf = std::lgamma(n + 1.0) - std::lgamma(i + 1.0) -
                           std::lgamma(n - i + 1.0) + i * std::log(p) +
                           (n - i) * std::log1p(-p);
    sum += std::exp(log_pmf);
  }
  return sum;
}

TEST(EstimateRate, ExactBoundsSolveTheirTailEquationsForRandomCounts) {
  std::mt19937_64 rng(20260527);  // fixed seed: the same 300 cases every run
  std::uniform_int_distribution<int64_t> trials_dist(1, 2000);
  for (int i = 0; i < 300; ++i) {
    const int64_t n = trials_dist(rng);
    const int64_t k = std::uniform_int_distribution<int64_t>(0, n)(rng);
    const double confidence = i % 2 == 0 ? 0.95 : 0.99;
    const double alpha = 1.0 - confidence;
    absl::StatusOr<RateInterval> got =
        EstimateRate(k, n, confidence, IntervalMethod::kClopperPearson);
    ASSERT_THAT(got, IsOk());
    ASSERT_LE(got->low, got->rate);
    ASSERT_GE(got->high, got->rate);
    // Upper end U: P(X <= k; n, U) = alpha / 2 (unless k == n).
    if (k < n) {
      EXPECT_NEAR(BinomialCdf(k, n, got->high), alpha / 2, 1e-9) << k << "/" << n;
    }
    // Lower end L: P(X >= k; n, L) = alpha / 2 (unless k == 0).
    if (k > 0) {
      EXPECT_NEAR(1.0 - BinomialCdf(k - 1, n, got->low), alpha / 2, 1e-9) << k << "/" << n;
    }
    absl::StatusOr<RateInterval> wilson =
        EstimateRate(k, n, confidence, IntervalMethod::kWilson);
    ASSERT_THAT(wilson, IsOk());
    EXPECT_LE(wilson->low, wilson->rate) << k << "/" << n;
    EXPECT_GE(wilson->high, wilson->rate) << k << "/" << n;
  }
}

TEST(FormatPercent, RoundsToReadablePrecisionInTheRequestedDirection) {
  EXPECT_EQ(FormatPercent(0.074), "7.4%");
  EXPECT_EQ(FormatPercent(0.0), "0%");
  EXPECT_EQ(FormatPercent(1.0), "100%");
  EXPECT_EQ(FormatPercent(0.000123), "0.012%");
  EXPECT_EQ(FormatPercent(9.99744420901142021e-4, PercentRounding::kUp), "0.1%");
  EXPECT_EQ(FormatPercent(1.00007816984666977e-3, PercentRounding::kUp), "0.11%");
  EXPECT_EQ(FormatPercent(1.00007816984666977e-3, PercentRounding::kDown), "0.1%");
  EXPECT_EQ(FormatPercent(5.26351085489952497e-2, PercentRounding::kDown), "5.2%");
  EXPECT_EQ(FormatPercent(1.00558874746469922e-1, PercentRounding::kUp), "10.1%");
  EXPECT_EQ(FormatPercent(0.001, PercentRounding::kUp), "0.1%");
  EXPECT_EQ(FormatConfidence(0.95), "95%");
  EXPECT_EQ(FormatConfidence(0.999), "99.9%");
}

TEST(DescribeRate, ZeroFailuresUseTheOneSidedAnytimeBound) {
  // reference_values.py: anytime upper bounds 9.9979e-4 (3332 runs) and
  // 1.00009e-3 (3331 runs), which rounds up to 0.11%.
  EXPECT_EQ(*DescribeRate(0, 3332, 0.95), "0 of 3332 runs: rate below 0.1% at 95%");
  EXPECT_EQ(*DescribeRate(0, 3331, 0.95), "0 of 3331 runs: rate below 0.11% at 95%");
  // 2995 runs are enough for one look fixed in advance, not for any look.
  EXPECT_EQ(*DescribeRate(0, 2995, 0.95), "0 of 2995 runs: rate below 0.12% at 95%");
}

TEST(DescribeRate, FailuresShowTheTwoSidedIntervalRoundedOutward) {
  // reference_values.py: [4.2650e-2, 1.20712e-1] and [0, 6.7224e-1].
  EXPECT_EQ(*DescribeRate(37, 500, 0.95),
            "37 of 500 runs: rate 7.4%, 95% interval [4.2%, 12.1%]");
  EXPECT_EQ(*DescribeRate(1, 10, 0.99),
            "1 of 10 runs: rate 10%, 99% interval [0%, 67.3%]");
  EXPECT_THAT(DescribeRate(1, 0, 0.95), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::stats
