#!/usr/bin/env python3
"""Independent reference values for flaky/stats tests.

Computed from first principles with Python's standard library only: exact
binomial and hypergeometric tail sums (math.comb, fractions.Fraction) and
bisection in 80-digit decimal arithmetic. Nothing here shares code or
algorithms with the C++ (which uses a continued fraction for the incomplete
beta function). Run `python3 flaky/stats/reference_values.py` to regenerate
the numbers pasted into the *_test.cc files.
"""
import math
from decimal import Decimal, getcontext
from fractions import Fraction
from statistics import NormalDist

getcontext().prec = 80


def binom_cdf(k, n, p):
  """P(X <= k) for X ~ Binomial(n, p), p a Decimal."""
  q = 1 - p
  return sum(Decimal(math.comb(n, i)) * p**i * q**(n - i) for i in range(k + 1))


def bisect(f, target, increasing):
  lo, hi = Decimal(0), Decimal(1)
  for _ in range(300):
    mid = (lo + hi) / 2
    v = f(mid)
    if (v < target) == increasing:
      lo = mid
    else:
      hi = mid
  return (lo + hi) / 2


def cp_upper_one_sided(k, n, conf):
  """Smallest p with P(X <= k; n, p) <= 1 - conf."""
  if k == n:
    return Decimal(1)
  return bisect(lambda p: binom_cdf(k, n, p), Decimal(1) - Decimal(conf), False)


def cp_lower_one_sided(k, n, conf):
  """Largest p with P(X >= k; n, p) <= 1 - conf."""
  if k == 0:
    return Decimal(0)
  return bisect(lambda p: 1 - binom_cdf(k - 1, n, p), Decimal(1) - Decimal(conf), True)


def cp_two_sided(k, n, conf):
  one_sided = (1 + Decimal(conf)) / 2
  return cp_lower_one_sided(k, n, one_sided), cp_upper_one_sided(k, n, one_sided)


def reg_inc_beta_int(a, b, x):
  """I_x(a, b) for integer a, b >= 1: P(Binomial(a+b-1, x) >= a)."""
  return 1 - binom_cdf(a - 1, a + b - 1, Decimal(x))


def fisher_less(k0, n0, k1, n1):
  """One-sided Fisher p: P(candidate failures <= k1 | margins), exact."""
  total = n0 + n1
  fails = k0 + k1
  denom = math.comb(total, fails)
  lo = max(0, fails - n0)
  num = sum(math.comb(n1, x) * math.comb(n0, fails - x) for x in range(lo, k1 + 1))
  return Fraction(num, denom)


def wilson(k, n, conf):
  z = NormalDist().inv_cdf(1 - (1 - conf) / 2)
  p = k / n
  centre = (p + z * z / (2 * n)) / (1 + z * z / n)
  half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
  return centre - half, centre + half


def runs_to_claim(p, conf, k):
  """Smallest n with P(X <= k; n, p) <= 1 - conf (exact, Decimal)."""
  p = Decimal(p)
  target = 1 - Decimal(conf)
  n = k + 1
  while binom_cdf(k, n, p) > target:
    n += 1
  return n


# The anytime mixtures of anytime.h: (weight, odds ratio).
ABOVE = [(Fraction(2520, 7381 * j), 2**j) for j in range(1, 11)]
BELOW = [(Fraction(1, 2), 0), (Fraction(1, 6), Fraction(1, 2)), (Fraction(1, 6), Fraction(1, 4)),
         (Fraction(1, 6), Fraction(1, 8))]


def evidence(mixture, k, n, r):
  """sum_j w_j c_j^k (1 + r (c_j - 1))^-n in 80-digit Decimal, r a Decimal."""
  total = Decimal(0)
  for w, c in mixture:
    if c == 0 and k > 0:
      continue
    c = Decimal(c.numerator) / Decimal(c.denominator) if isinstance(c, Fraction) else Decimal(c)
    ck = Decimal(1) if k == 0 else c**k
    total += Decimal(w.numerator) / Decimal(w.denominator) * ck * (1 + r * (c - 1))**(-n)
  return total


def anytime_lower(k, n, conf):
  """Largest r whose evidence above reaches 1 / (1 - conf) (0 if none)."""
  t = 1 / (1 - Decimal(conf))
  if evidence(ABOVE, k, n, Decimal("1e-300")) < t:
    return Decimal(0)
  return bisect(lambda r: evidence(ABOVE, k, n, r), t, False)


def anytime_upper(k, n, conf):
  """Smallest r whose evidence below reaches 1 / (1 - conf) (1 if none)."""
  t = 1 / (1 - Decimal(conf))
  if evidence(BELOW, k, n, 1 - Decimal("1e-30")) < t:
    return Decimal(1)
  return bisect(lambda r: evidence(BELOW, k, n, r), t, True)


# Bernoulli numbers B_2k for Stirling's series.
BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
             Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510)]


def log_gamma_dec(z):
  """log Gamma(z) for an integer or half-integer z >= 1 in Decimal: exact
  factorials below 1000, Stirling's series (8 terms, error < 1e-60) above."""
  z = Decimal(z)
  if z < 1000:
    if z == z.to_integral_value():
      return Decimal(math.factorial(int(z) - 1)).ln()
    raise ValueError("small non-integer z")
  pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
  total = (z - Decimal("0.5")) * z.ln() - z + (2 * pi).ln() / 2
  for k, b in enumerate(BERNOULLI, start=1):
    total += Decimal(b.numerator) / Decimal(b.denominator) / (2 * k * (2 * k - 1) * z**(2 * k - 1))
  return total


def binom_upper_tail_big(k, n, x):
  """P(X >= k) for X ~ Binomial(n, x), n up to 1e7: the first term from
  log Gamma in Decimal, the rest by the ratio of consecutive terms."""
  x = Decimal(x)
  log_first = (log_gamma_dec(n + 1) - log_gamma_dec(k + 1) - log_gamma_dec(n - k + 1) +
               k * x.ln() + (n - k) * (1 - x).ln())
  term = log_first.exp()
  total = Decimal(0)
  i = k
  while i <= n:
    total += term
    if term < total * Decimal("1e-40"):
      break
    term = term * (n - i) / (i + 1) * x / (1 - x)
    i += 1
  return total


def main():
  print("== I_x(a, b), integer a, b ==")
  for a, b, x in [(1, 1, "0.3"), (2, 3, "0.4"), (5, 5, "0.5"), (1, 2995, "0.001"),
                  (38, 464, "0.07"), (10, 990, "0.005"), (3, 998, "0.002"),
                  (50, 51, "0.45"), (200, 800, "0.21")]:
    print(a, b, x, f"{reg_inc_beta_int(a, b, x):.17e}")
  print("== Clopper-Pearson two-sided ==")
  for k, n in [(0, 10), (1, 10), (5, 10), (10, 10), (0, 2995), (1, 100), (37, 500),
               (3, 1000), (50, 100), (0, 1), (1, 1)]:
    for conf in (0.95, 0.99):
      lo, hi = cp_two_sided(k, n, conf)
      print(k, n, conf, f"{lo:.17e}", f"{hi:.17e}")
  print("== Clopper-Pearson one-sided upper / lower ==")
  for k, n, conf in [(0, 2995, 0.95), (0, 2994, 0.95), (0, 2996, 0.95), (1, 4742, 0.95),
                     (1, 4741, 0.95), (2, 300, 0.9), (12, 40, 0.99)]:
    print(k, n, conf, f"{cp_lower_one_sided(k, n, conf):.17e}",
          f"{cp_upper_one_sided(k, n, conf):.17e}")
  print("== Wilson ==")
  for k, n in [(0, 10), (1, 10), (37, 500), (50, 100), (0, 2995)]:
    for conf in (0.95, 0.99):
      lo, hi = wilson(k, n, conf)
      print(k, n, conf, f"{lo:.17e}", f"{hi:.17e}")
  print("== normal quantiles ==")
  for q in (0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 0.999, 1e-6, 0.02425, 1 - 1e-10):
    print(q, repr(NormalDist().inv_cdf(q)))
  print("== Fisher one-sided (candidate lower) ==")
  for k0, n0, k1, n1 in [(37, 500, 0, 500), (5, 100, 0, 100), (3, 100, 1, 100),
                         (1, 10, 0, 10), (10, 200, 10, 200), (0, 50, 0, 50),
                         (40, 1000, 12, 1000), (2, 20, 5, 20)]:
    print(k0, n0, k1, n1, f"{float(fisher_less(k0, n0, k1, n1)):.17e}")
  print("== extra passing candidate runs needed (Fisher, alpha) ==")
  for k0, n0, k1, n1, alpha in [(3, 100, 0, 10, 0.05), (5, 100, 1, 100, 0.05),
                                (1, 100, 0, 100, 0.05), (37, 500, 0, 20, 0.01)]:
    m = 0
    while float(fisher_less(k0, n0, k1, n1 + m)) > alpha:
      m += 1
      if m > 100000:
        m = None
        break
    print(k0, n0, k1, n1, alpha, m)
  print("== runs to claim rate < p at conf allowing k failures ==")
  for p, conf, k in [("0.001", "0.95", 0), ("0.001", "0.95", 1), ("0.001", "0.95", 2),
                     ("0.01", "0.99", 0), ("0.01", "0.99", 3), ("0.05", "0.9", 5)]:
    print(p, conf, k, runs_to_claim(p, conf, k))
  print("== anytime bounds: two-sided (each side (1 + conf) / 2), one-sided ==")
  for k, n, conf in [(37, 500, "0.95"), (1, 10, "0.99"), (0, 3332, "0.95"), (3, 40, "0.95"),
                     (2, 500, "0.95"), (0, 2995, "0.95"), (0, 3331, "0.95"), (0, 3400, "0.95")]:
    side = (1 + Decimal(conf)) / 2
    print(k, n, conf, f"{anytime_lower(k, n, side):.17e}", f"{anytime_upper(k, n, side):.17e}",
          f"{anytime_lower(k, n, conf):.17e}", f"{anytime_upper(k, n, conf):.17e}")
  print("== extreme arguments: I_x(a, b) = P(Binomial(a + b - 1, x) >= a) ==")
  for a, b, x in [(500000, 500000, "0.5005"), (500000, 500000, "0.499"),
                  # 2^-20 and 1 - 2^-20: exact in binary, so the C++ gets
                  # the same x (x^1e6 magnifies a rounded x a millionfold).
                  (1, 1000000, "0.00000095367431640625"), (3, 999998, "0.00000095367431640625"),
                  (1000000, 1, "0.99999904632568359375"), (10, 999990, "0.00002")]:
    print(a, b, x, f"{binom_upper_tail_big(a, a + b - 1, x):.17e}")
  print("== Fisher one-sided at a million runs ==")
  for k0, n0, k1, n1 in [(50, 1000000, 10, 1000000), (3, 1000000, 0, 1000000)]:
    print(k0, n0, k1, n1, f"{float(fisher_less(k0, n0, k1, n1)):.17e}")
  print("== Katz log ratio ==")
  for a, n1, b, n0 in [(37, 500, 2, 500), (10, 100, 5, 200), (1, 10, 1, 10)]:
    rr = (a / n1) / (b / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n0)
    z = NormalDist().inv_cdf(0.975)
    print(a, n1, b, n0, repr(rr), repr(rr * math.exp(-z * se)), repr(rr * math.exp(z * se)))
  print("== ratio bounds when one side has no failures (two-sided exact) ==")
  for a, n1, b, n0 in [(5, 100, 0, 500), (0, 400, 6, 300)]:
    lo1, hi1 = cp_two_sided(a, n1, 0.95)
    lo0, hi0 = cp_two_sided(b, n0, 0.95)
    if b == 0:
      print(a, n1, b, n0, "at least", f"{lo1 / hi0:.17e}")
    else:
      print(a, n1, b, n0, "at most", f"{hi1 / lo0:.17e}")


if __name__ == "__main__":
  main()
