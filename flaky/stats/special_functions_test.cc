#include "flaky/stats/special_functions.h"

#include <cmath>

#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

// Reference values come from flaky/stats/reference_values.py: I_x(a, b) for
// integers is P(Binomial(a + b - 1, x) >= a), summed exactly term by term in
// 80-digit decimal arithmetic (no continued fraction involved).
struct BetaReference {
  double a;
  double b;
  double x;
  double expected;
};

constexpr BetaReference kBetaReferences[] = {
    {1, 1, 0.3, 3.00000000000000000e-1},
    {2, 3, 0.4, 5.24800000000000000e-1},
    {5, 5, 0.5, 5.00000000000000000e-1},
    {1, 2995, 0.001, 9.50038296602643622e-1},
    {38, 464, 0.07, 3.27822665547072103e-1},
    {10, 990, 0.005, 3.12852762194681235e-2},
    {3, 998, 0.002, 3.23323493412635916e-1},
    {50, 51, 0.45, 1.82728184686145203e-1},
    {200, 800, 0.21, 7.87154254614650512e-1},
};

TEST(RegularizedIncompleteBeta, MatchesExactBinomialTailSums) {
  for (const BetaReference& ref : kBetaReferences) {
    EXPECT_NEAR(RegularizedIncompleteBeta(ref.a, ref.b, ref.x), ref.expected,
                1e-11 * ref.expected)
        << "a=" << ref.a << " b=" << ref.b << " x=" << ref.x;
  }
}

TEST(RegularizedIncompleteBeta, MatchesClosedForms) {
  for (double x : {1e-9, 1e-4, 0.01, 0.2, 0.5, 0.77, 0.999}) {
    for (double n : {0.5, 1.0, 3.0, 17.5, 1000.0}) {
      // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
      EXPECT_NEAR(RegularizedIncompleteBeta(n, 1, x), std::pow(x, n),
                  1e-12 * std::pow(x, n) + 1e-300);
      const double one_b = -std::expm1(n * std::log1p(-x));
      EXPECT_NEAR(RegularizedIncompleteBeta(1, n, x), one_b, 1e-12 * one_b);
    }
    // The arcsine distribution: I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x)).
    const double arcsine = 2.0 / M_PI * std::asin(std::sqrt(x));
    EXPECT_NEAR(RegularizedIncompleteBeta(0.5, 0.5, x), arcsine, 1e-12 * arcsine);
  }
}

TEST(RegularizedIncompleteBeta, IsSymmetric) {
  for (double a : {0.3, 2.0, 41.0, 3000.0}) {
    for (double b : {0.7, 5.0, 999.0}) {
      for (double x : {0.001, 0.3, 0.6, 0.98}) {
        EXPECT_NEAR(RegularizedIncompleteBeta(a, b, x),
                    1.0 - RegularizedIncompleteBeta(b, a, 1.0 - x), 1e-12);
      }
    }
  }
}

TEST(RegularizedIncompleteBeta, HandlesEndpointsAndRejectsBadInput) {
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 0.0), 0.0);
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 1.0), 1.0);
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(0, 3, 0.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(2, -1, 0.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(2, 3, 1.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(2, 3, NAN)));
}

TEST(InverseRegularizedIncompleteBeta, InvertsTheReferences) {
  for (const BetaReference& ref : kBetaReferences) {
    EXPECT_NEAR(InverseRegularizedIncompleteBeta(ref.a, ref.b, ref.expected), ref.x,
                1e-10 * ref.x)
        << "a=" << ref.a << " b=" << ref.b << " p=" << ref.expected;
  }
}

TEST(InverseRegularizedIncompleteBeta, MatchesClosedFormOfZeroFailureBound) {
  // Quantile p of Beta(1, n) is 1 - (1 - p)^(1/n).
  for (double n : {1.0, 10.0, 2995.0, 1e6}) {
    for (double p : {0.5, 0.9, 0.95, 0.99, 0.999999}) {
      const double expected = -std::expm1(std::log1p(-p) / n);
      EXPECT_NEAR(InverseRegularizedIncompleteBeta(1, n, p), expected, 1e-11 * expected)
          << "n=" << n << " p=" << p;
    }
  }
}

TEST(InverseRegularizedIncompleteBeta, RoundTripsOverAGrid) {
  for (double a : {0.5, 1.0, 4.0, 37.0, 600.0}) {
    for (double b : {1.0, 9.0, 463.0, 20000.0}) {
      for (double p : {1e-8, 0.005, 0.025, 0.5, 0.975, 0.995}) {
        const double x = InverseRegularizedIncompleteBeta(a, b, p);
        EXPECT_NEAR(RegularizedIncompleteBeta(a, b, x), p, 1e-10 * p)
            << "a=" << a << " b=" << b << " p=" << p;
      }
    }
  }
}

TEST(InverseRegularizedIncompleteBeta, HandlesEndpointsAndRejectsBadInput) {
  EXPECT_EQ(InverseRegularizedIncompleteBeta(2, 3, 0.0), 0.0);
  EXPECT_EQ(InverseRegularizedIncompleteBeta(2, 3, 1.0), 1.0);
  EXPECT_TRUE(std::isnan(InverseRegularizedIncompleteBeta(2, 3, -0.1)));
  EXPECT_TRUE(std::isnan(InverseRegularizedIncompleteBeta(0, 3, 0.5)));
}

TEST(NormalQuantile, MatchesPythonStatisticsNormalDist) {
  // statistics.NormalDist().inv_cdf(p) (Wichura's AS241, ~1e-16), Python 3.11.
  struct Reference {
    double p;
    double z;
  };
  constexpr Reference kReferences[] = {
      {0.5, 0.0},
      {0.8, 0.8416212335729144},
      {0.9, 1.2815515655446008},
      {0.95, 1.6448536269514715},
      {0.975, 1.9599639845400536},
      {0.995, 2.5758293035489},
      {0.999, 3.090232306167813},
      {1e-6, -4.753424308822899},
      {0.02425, -1.9729610513118845},
      {1 - 1e-10, 6.361340889697421},
  };
  for (const Reference& ref : kReferences) {
    EXPECT_NEAR(NormalQuantile(ref.p), ref.z, 1e-13) << "p=" << ref.p;
  }
  EXPECT_EQ(NormalQuantile(0.0), -INFINITY);
  EXPECT_EQ(NormalQuantile(1.0), INFINITY);
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
}

}  // namespace
}  // namespace flaky::stats

namespace flaky::stats {
namespace {

TEST(LogGamma, MatchesFactorialsAndHalfInteger) {
  EXPECT_NEAR(LogGamma(5.0), std::log(24.0), 1e-13);
  EXPECT_NEAR(LogGamma(1.0), 0.0, 1e-15);
  EXPECT_NEAR(LogGamma(0.5), 0.5 * std::log(M_PI), 1e-14);
  // log(1000!) from python3: math.lgamma(1001) and sum(math.log(i) ...) agree.
  EXPECT_NEAR(LogGamma(1001.0), 5912.128178488163, 1e-9);
}

}  // namespace
}  // namespace flaky::stats

namespace flaky::stats {
namespace {

TEST(RegularizedIncompleteBeta, HoldsItsPrecisionAtExtremeArguments) {
  // Exact binomial tail sums in 80-digit decimals (reference_values.py,
  // "extreme arguments"): a = b = 5e5, n = 1e6 with p = 1e-6, and k = n.
  struct Reference {
    double a, b, x, value;
  };
  const Reference kReferences[] = {
      {500000, 500000, 0.5005, 8.41344746068573195e-1},
      {500000, 500000, 0.499, 2.27500509616315788e-2},
      // x = 2^-20 and 1 - 2^-20, exact in binary: a rounded 0.999999
      // would move x^1e6 by 3e-11.
      {1, 1000000, 0x1p-20, 6.14677553233803871e-1},
      {3, 999998, 0x1p-20, 7.19805608752627248e-2},
      {1000000, 1, 1 - 0x1p-20, 3.85322446766196129e-1},
      {10, 999990, 0.00002, 9.95004849422887756e-1},
  };
  for (const Reference& ref : kReferences) {
    EXPECT_NEAR(RegularizedIncompleteBeta(ref.a, ref.b, ref.x), ref.value,
                1e-12 * ref.value)
        << ref.a << " " << ref.b << " " << ref.x;
  }
}

TEST(LogBinomialPmf, IsPreciseWhereTheTextbookFormulaIsNot) {
  // P(X = 1) for X ~ Binomial(1e6, 1e-6) is (1 - 1e-6)^999999 = exp(-0.9999995...)
  const double exact = 999999.0 * std::log1p(-1e-6);
  EXPECT_NEAR(LogBinomialPmf(1, 1e6, 1e-6), exact, 1e-13);
  EXPECT_NEAR(LogBinomialPmf(0, 1e6, 1e-6), 1e6 * std::log1p(-1e-6), 1e-13);
  EXPECT_NEAR(LogBinomialPmf(1e6, 1e6, 0.999999), 1e6 * std::log(0.999999), 1e-12);
  // Small counts agree with the textbook formula.
  EXPECT_NEAR(LogBinomialPmf(3, 10, 0.2),
              std::log(120.0) + 3 * std::log(0.2) + 7 * std::log(0.8), 1e-13);
  EXPECT_EQ(LogBinomialPmf(1, 10, 0.0), -INFINITY);
  EXPECT_TRUE(std::isnan(LogBinomialPmf(11, 10, 0.5)));
  // The hypergeometric: 3 of 3 failures among 2e6 runs all in the first
  // half is C(1e6, 3) / C(2e6, 3) (reference_values.py's Fisher p for
  // 3/1e6 vs 0/1e6, whose only term it is).
  EXPECT_NEAR(std::exp(LogHypergeometricPmf(0, 1000000, 1000000, 3)),
              1.24999812499906243e-01, 1e-13 * 1.25e-1);
  EXPECT_EQ(LogHypergeometricPmf(4, 1000000, 1000000, 3), -INFINITY);
}

TEST(StirlingErrorAndDeviance, MatchTheirDefinitions) {
  for (double x : {0.5, 1.0, 7.0, 15.0, 16.0, 40.0, 100.0, 1000.0}) {
    const double direct =
        LogGamma(x + 1.0) - ((x + 0.5) * std::log(x) - x + 0.5 * std::log(2 * M_PI));
    EXPECT_NEAR(StirlingError(x), direct, 1e-13) << x;
  }
  EXPECT_NEAR(Deviance(0.0, 3.0), 3.0, 1e-15);
  EXPECT_NEAR(Deviance(5.0, 2.0), 5.0 * std::log(2.5) - 3.0, 1e-14);
  // Close to m the formula cancels; the series does not: for x = m (1 + e)
  // it is m (e^2/2 - e^3/6 + e^4/12 - ...), here m = 1e6, e = 1e-6.
  EXPECT_NEAR(Deviance(1e6 + 1, 1e6), 1e6 * (0.5e-12 - 1e-18 / 6 + 1e-24 / 12), 1e-21);
}

}  // namespace
}  // namespace flaky::stats
