// Special functions behind flaky's exact statistics: the regularized
// incomplete beta function, its inverse (Clopper-Pearson bounds are beta
// quantiles), binomial and hypergeometric probabilities (Fisher's test) in
// Loader's saddle-point form, which keeps full precision at millions of
// runs, and the standard normal quantile (Wilson and Katz intervals).
//
//   // P(X <= 2) for X ~ Binomial(300, 0.01) is 1 - I_0.01(3, 298).
//   double cdf = 1.0 - RegularizedIncompleteBeta(3, 298, 0.01);
//   // The exact one-sided 95% upper bound for 0 failures in 2995 runs.
//   double upper = InverseRegularizedIncompleteBeta(1, 2995, 0.95);
//   double z = NormalQuantile(0.975);  // 1.959963984540054
//
// These are plain math functions for callers that validated their inputs
// (binomial.h, compare.h do and return InvalidArgument); outside the domain
// they return NaN rather than a Status. All are pure and thread-safe.
#ifndef FLAKY_STATS_SPECIAL_FUNCTIONS_H_
#define FLAKY_STATS_SPECIAL_FUNCTIONS_H_

#include <cstdint>

namespace flaky::stats {

// RegularizedIncompleteBeta returns I_x(a, b) for a > 0, b > 0 and
// 0 <= x <= 1, with a relative error of about 1e-12 for the parameter sizes
// flaky meets (a + b up to 1e7; special_functions_test checks it against
// exact tail sums at a = b = 5e5 and n = 1e6). NaN outside that domain or
// when the continued fraction does not converge.
double RegularizedIncompleteBeta(double a, double b, double x);

// LogGamma is log|Gamma(x)|. Unlike std::lgamma, which stores the sign in
// the global `signgam` (a data race when reports are computed on several
// threads), it touches no shared state: thread-safe.
double LogGamma(double x);

// StirlingError is log Gamma(x + 1) - ((x + 1/2) log x - x + log(2 pi) / 2)
// for x > 0: the error of Stirling's formula, about 1/(12 x), with full
// relative precision (Loader 2000). NaN outside the domain.
double StirlingError(double x);

// Deviance is x log(x / m) + m - x for x >= 0 and m > 0, computed without
// the cancellation of that formula when x is close to m (Loader 2000's
// bd0). NaN outside the domain.
double Deviance(double x, double m);

// LogBinomialPmf is log P(X = k) for X ~ Binomial(n, p), with 0 <= k <= n
// (real-valued k and n are allowed) and 0 <= p <= 1: relative error about
// 1e-14 for n up to 1e12 by Loader's saddle-point form, where the textbook
// log C(n, k) + k log p + (n - k) log(1 - p) loses ~1e-10 at n = 1e6.
// -inf for impossible k, NaN outside the domain.
double LogBinomialPmf(double k, double n, double p);

// LogHypergeometricPmf is log P(X = drawn_marked) when `drawn` items are
// drawn without replacement from `marked` + `unmarked` (Fisher's exact
// test): Loader's form, relative error about 1e-13. -inf for impossible
// counts, NaN for negative sizes or more drawn than there are.
double LogHypergeometricPmf(int64_t drawn_marked, int64_t marked, int64_t unmarked,
                            int64_t drawn);

// InverseRegularizedIncompleteBeta returns the x in [0, 1] with
// I_x(a, b) = p, for a > 0, b > 0 and 0 <= p <= 1 (p = 0 gives 0, p = 1
// gives 1). Relative error about 1e-12. NaN outside the domain.
double InverseRegularizedIncompleteBeta(double a, double b, double p);

// NormalQuantile returns z with Phi(z) = p for the standard normal
// distribution, 0 < p < 1 (nearly full double precision); -inf/+inf for p = 0
// and p = 1, NaN outside [0, 1].
double NormalQuantile(double p);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_SPECIAL_FUNCTIONS_H_
