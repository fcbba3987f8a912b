#include "flaky/stats/special_functions.h"

#include <math.h>  // lgamma_r

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace flaky::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction for I_x(a, b) (modified Lentz), which converges fast
// for x < (a + 1) / (a + b + 2); the caller uses the symmetry
// I_x(a, b) = 1 - I_{1-x}(b, a) otherwise. The number of terms grows like
// sqrt(max(a, b)), so the cap leaves room for a + b far beyond 1e7.
double BetaContinuedFraction(double a, double b, double x) {
  constexpr int kMaxTerms = 200000;
  constexpr double kEpsilon = 1e-16;
  constexpr double kTiny = 1e-300;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxTerms; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) return h;
  }
  return kNaN;
}

}  // namespace

double LogGamma(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))

// log(x^a y^b / (a B(a, b))) with y = 1 - x, the prefactor of the continued
// fraction. Written as Loader's saddle-point form (see StirlingError and
// Deviance), every term is of the size of the result: the naive
// a log x + b log y - log B(a, b) subtracts numbers of size a log a and,
// for a = b = 5e5, loses 7e-10 of the result's relative precision.
double LogPrefactor(double a, double b, double x, double y) {
  const double c = a + b;
  return StirlingError(c) - StirlingError(a) - StirlingError(b) -
         Deviance(a, c * x) - Deviance(b, c * y) +
         0.5 * std::log(a * b / c) - kLogSqrt2Pi - std::log(a);
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(x <= 1.0)) return kNaN;
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  const double y = 1.0 - x;
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return std::exp(LogPrefactor(a, b, x, y)) * BetaContinuedFraction(a, b, x);
  }
  return 1.0 - std::exp(LogPrefactor(b, a, y, x)) * BetaContinuedFraction(b, a, y);
}

double StirlingError(double x) {
  if (!(x > 0.0)) return kNaN;
  if (x <= 15.0) {
    // Small enough that every term is small: no cancellation to fear.
    return LogGamma(x + 1.0) - (x + 0.5) * std::log(x) + x - kLogSqrt2Pi;
  }
  // Stirling's series 1/(12x) - 1/(360x^3) + 1/(1260x^5) - ...: beyond 15
  // five terms are below double precision.
  constexpr double kS0 = 1.0 / 12.0;
  constexpr double kS1 = 1.0 / 360.0;
  constexpr double kS2 = 1.0 / 1260.0;
  constexpr double kS3 = 1.0 / 1680.0;
  constexpr double kS4 = 1.0 / 1188.0;
  const double xx = x * x;
  if (x > 500.0) return (kS0 - kS1 / xx) / x;
  if (x > 80.0) return (kS0 - (kS1 - kS2 / xx) / xx) / x;
  if (x > 35.0) return (kS0 - (kS1 - (kS2 - kS3 / xx) / xx) / xx) / x;
  return (kS0 - (kS1 - (kS2 - (kS3 - kS4 / xx) / xx) / xx) / xx) / x;
}

double Deviance(double x, double m) {
  if (!(x >= 0.0) || !(m > 0.0)) return kNaN;
  if (x == 0.0) return m;
  if (std::fabs(x - m) < 0.1 * (x + m)) {
    // x log(x/m) + m - x = (x - m) v + 2x (v^3/3 + v^5/5 + ...) with
    // v = (x - m) / (x + m): no cancellation when x is close to m.
    double v = (x - m) / (x + m);
    double sum = (x - m) * v;
    double term = 2.0 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) {
      term *= v;
      const double next = sum + term / (2 * j + 1);
      if (next == sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * std::log(x / m) + m - x;
}

double LogBinomialPmf(double k, double n, double p) {
  if (!(n >= 0.0) || !(k >= 0.0) || !(k <= n) || !(p >= 0.0) || !(p <= 1.0)) {
    return kNaN;
  }
  const double q = 1.0 - p;
  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (p == 0.0) return k == 0.0 ? 0.0 : minus_inf;
  if (q == 0.0) return k == n ? 0.0 : minus_inf;
  if (k == 0.0) {
    if (n == 0.0) return 0.0;
    return p < 0.1 ? -Deviance(n, n * q) - n * p : n * std::log(q);
  }
  if (k == n) return q < 0.1 ? -Deviance(n, n * p) - n * q : n * std::log(p);
  const double log_core = StirlingError(n) - StirlingError(k) - StirlingError(n - k) -
                          Deviance(k, n * p) - Deviance(n - k, n * q);
  return log_core - kLogSqrt2Pi - 0.5 * (std::log(k) + std::log1p(-k / n));
}

double LogHypergeometricPmf(int64_t drawn_marked, int64_t marked, int64_t unmarked,
                            int64_t drawn) {
  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (marked < 0 || unmarked < 0 || drawn < 0 || drawn > marked + unmarked) return kNaN;
  if (drawn_marked < 0 || drawn_marked > marked || drawn - drawn_marked > unmarked ||
      drawn_marked > drawn) {
    return minus_inf;
  }
  if (drawn == 0 || drawn == marked + unmarked) return 0.0;
  // Loader's form (as R's dhyper): three binomial probabilities at the
  // drawing fraction p, each computed without cancellation.
  const double total = static_cast<double>(marked + unmarked);
  const double p = static_cast<double>(drawn) / total;
  return LogBinomialPmf(static_cast<double>(drawn_marked), static_cast<double>(marked), p) +
         LogBinomialPmf(static_cast<double>(drawn - drawn_marked),
                        static_cast<double>(unmarked), p) -
         LogBinomialPmf(static_cast<double>(drawn), total, p);
}

double InverseRegularizedIncompleteBeta(double a, double b, double p) {
  if (!(a > 0.0) || !(b > 0.0) || !(p >= 0.0) || !(p <= 1.0)) return kNaN;
  if (p == 0.0) return 0.0;
  if (p == 1.0) return 1.0;
  // Bisection: I_x(a, b) is increasing in x, so it cannot diverge the way
  // Newton's method can near 0 and 1 where the density is extreme. Each
  // halving costs one continued fraction; we stop when the bracket is a few
  // ulps of its upper end, which gives relative precision for tiny
  // quantiles too (a bound of 1e-6 comes out to ~1e-15 relative).
  double lo = 0.0;
  double hi = 1.0;
  for (int i = 0; i < 2000; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    const double value = RegularizedIncompleteBeta(a, b, mid);
    if (std::isnan(value)) return kNaN;
    if (value < p) {
      lo = mid;
    } else {
      hi = mid;
    }
    if (hi - lo <= 4.0 * std::numeric_limits<double>::epsilon() * hi) break;
  }
  return 0.5 * (lo + hi);
}

double NormalQuantile(double p) {
  if (!(p >= 0.0) || !(p <= 1.0)) return kNaN;
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximation (relative error 1.15e-9), then one
  // Halley step on Phi(z) - p with erfc, which brings it to about 1e-15.
  static constexpr double kA[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                  -2.759285104469687e+02, 1.383577518672690e+02,
                                  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double kB[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                  -1.556989798598866e+02, 6.680131188771972e+01,
                                  -1.328068155288572e+01};
  static constexpr double kC[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                  -2.400758277161838e+00, -2.549732539343734e+00,
                                  4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double kD[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                  2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double z;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    z = (((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
        ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1.0);
  } else if (p <= 1.0 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    z = (((((kA[0] * r + kA[1]) * r + kA[2]) * r + kA[3]) * r + kA[4]) * r + kA[5]) * q /
        (((((kB[0] * r + kB[1]) * r + kB[2]) * r + kB[3]) * r + kB[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    z = -(((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
        ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1.0);
  }
  // Halley refinement. In the upper tail compare upper-tail probabilities,
  // which keeps precision when 1 - p is tiny.
  const double kSqrt2Pi = std::sqrt(2.0 * M_PI);
  double e;
  if (p > 0.5) {
    e = (1.0 - p) - 0.5 * std::erfc(z / std::sqrt(2.0));
  } else {
    e = 0.5 * std::erfc(-z / std::sqrt(2.0)) - p;
  }
  const double u = e * kSqrt2Pi * std::exp(z * z / 2.0);
  z = z - u / (1.0 + z * u / 2.0);
  return z;
}

}  // namespace flaky::stats
