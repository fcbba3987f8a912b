#include "flaky/stats/anytime.h"

#include <cmath>
#include <cstdint>
#include <iostream>
#include <vector>

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

constexpr double kMax = 0.001;
constexpr double kConfidence = 0.95;
const double kThreshold = std::log(20.0);

TEST(Mixtures, WeightsSumToOne) {
  double above = 0.0;
  for (const MixtureComponent& c : AboveMixture()) above += c.weight;
  double below = 0.0;
  for (const MixtureComponent& c : BelowMixture()) below += c.weight;
  EXPECT_NEAR(above, 1.0, 1e-15);
  EXPECT_NEAR(below, 1.0, 1e-15);
}

TEST(Evidence, StartsAtOneAndMatchesTheClosedForm) {
  EXPECT_NEAR(LogEvidenceAbove(0, 0, kMax), 0.0, 1e-15);
  EXPECT_NEAR(LogEvidenceBelow(0, 0, kMax), 0.0, 1e-15);
  // 0 failures in n runs below r: 1/2 (1-r)^-n + 1/6 sum_c (1-r(1-c))^-n.
  const double n = 1000;
  const double expected = 0.5 * std::pow(1 - kMax, -n) +
                          (std::pow(1 - kMax / 2, -n) + std::pow(1 - kMax * 3 / 4, -n) +
                           std::pow(1 - kMax * 7 / 8, -n)) /
                              6;
  EXPECT_NEAR(LogEvidenceBelow(0, 1000, kMax), std::log(expected), 1e-12);
  // 1 failure in 10 runs above r: sum_j w_j 2^j (1 + r (2^j - 1))^-10,
  // w_j = 2520 / (7381 j).
  double above = 0.0;
  for (int j = 1; j <= 10; ++j) {
    const double c = std::pow(2.0, j);
    above += 2520.0 / (7381.0 * j) * c * std::pow(1 + kMax * (c - 1), -10);
  }
  EXPECT_NEAR(LogEvidenceAbove(1, 10, kMax), std::log(above), 1e-12);
}

TEST(Evidence, IsMonotoneInFailuresRunsAndRate) {
  for (int64_t n : {1, 10, 100, 1000, 10000}) {
    for (int64_t k = 0; k < std::min<int64_t>(n, 20); ++k) {
      EXPECT_LT(LogEvidenceAbove(k, n, kMax), LogEvidenceAbove(k + 1, n, kMax));
      EXPECT_GT(LogEvidenceBelow(k, n, kMax), LogEvidenceBelow(k + 1, n, kMax));
      EXPECT_GT(LogEvidenceAbove(k, n, kMax), LogEvidenceAbove(k, n + 1, kMax));
      EXPECT_LT(LogEvidenceBelow(k, n, kMax), LogEvidenceBelow(k, n + 1, kMax));
      EXPECT_GT(LogEvidenceAbove(k, n, kMax), LogEvidenceAbove(k, n, 2 * kMax));
      EXPECT_LT(LogEvidenceBelow(k, n, kMax), LogEvidenceBelow(k, n, 2 * kMax));
    }
  }
}

TEST(AnytimeRunsToClean, IsWithinAQuarterOfASingleLook) {
  // Python, the same mixture summed in floating point: 3332, 6983, 9031.
  EXPECT_EQ(*AnytimeRunsToClean(kMax, kConfidence, 0), 3332);
  EXPECT_EQ(*AnytimeRunsToClean(kMax, kConfidence, 1), 6983);
  EXPECT_EQ(*AnytimeRunsToClean(kMax, kConfidence, 2), 9031);
  // The target: within 1.25x of the single look's 2995.
  EXPECT_LE(*AnytimeRunsToClean(kMax, kConfidence, 0), 2995 * 5 / 4);
  EXPECT_LT(LogEvidenceBelow(0, 3331, kMax), kThreshold);
  EXPECT_GE(LogEvidenceBelow(0, 3332, kMax), kThreshold);
  EXPECT_THAT(AnytimeRunsToClean(0.0, kConfidence),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max_rate")));
  EXPECT_THAT(AnytimeRunsToClean(kMax, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--confidence")));
}

TEST(AnytimeBounds, AgreeWithTheEvidenceAndAreWiderThanOneLook) {
  // The upper bound crosses the maximum exactly where CLEAN starts.
  EXPECT_LT(*AnytimeUpperBound(0, 3332, kConfidence), kMax);
  EXPECT_GE(*AnytimeUpperBound(0, 3331, kConfidence), kMax);
  EXPECT_EQ(*AnytimeUpperBound(0, 0, kConfidence), 1.0);
  EXPECT_EQ(*AnytimeUpperBound(5, 5, kConfidence), 1.0);
  EXPECT_EQ(*AnytimeLowerBound(0, 5000, kConfidence), 0.0);
  for (int64_t n : {10, 100, 1000, 10000}) {
    for (int64_t k : {0, 1, 2, 5}) {
      if (k > n) continue;
      const double low = *AnytimeLowerBound(k, n, kConfidence);
      const double high = *AnytimeUpperBound(k, n, kConfidence);
      EXPECT_LE(low, high) << k << "/" << n;
      // Valid at every look costs width: never narrower than the exact
      // bound of a single look.
      EXPECT_LE(low, *ExactLowerBound(k, n, kConfidence) * (1 + 1e-9)) << k << "/" << n;
      EXPECT_GE(high, *ExactUpperBound(k, n, kConfidence) * (1 - 1e-9)) << k << "/" << n;
      // The bound is where the evidence crosses the threshold.
      if (low > 0) {
        EXPECT_GE(LogEvidenceAbove(k, n, low * (1 - 1e-9)), kThreshold);
        EXPECT_LT(LogEvidenceAbove(k, n, low * (1 + 1e-9)), kThreshold);
      }
      if (high < 1) {
        EXPECT_GE(LogEvidenceBelow(k, n, high * (1 + 1e-9)), kThreshold);
        EXPECT_LT(LogEvidenceBelow(k, n, high * (1 - 1e-9)), kThreshold);
      }
    }
  }
  absl::StatusOr<AnytimeInterval> interval = AnytimeRateInterval(10, 100, kConfidence);
  ASSERT_THAT(interval, IsOk());
  EXPECT_NEAR(interval->low, *AnytimeLowerBound(10, 100, 0.975), 1e-15);
  EXPECT_NEAR(interval->high, *AnytimeUpperBound(10, 100, 0.975), 1e-15);
  EXPECT_THAT(AnytimeLowerBound(3, 2, kConfidence),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("between 0 and trials")));
}

TEST(AnytimeBounds, MatchTheIndependentReference) {
  // reference_values.py: the same mixtures summed in 80-digit decimals and
  // bisected; columns two-sided low, high, then one-sided low, high.
  struct Reference {
    int64_t k, n;
    double confidence, low2, high2, low1, high1;
  };
  const Reference references[] = {
      {37, 500, 0.95, 4.26502960256790568e-2, 1.20711609079746551e-1,
       4.40967177519462263e-2, 1.18104661789555792e-1},
      {1, 10, 0.99, 0.0, 6.72237930091461190e-1, 0.0, 6.34994303095647696e-1},
      {0, 3332, 0.95, 0.0, 1.22117425734761205e-3, 0.0, 9.99787352026243926e-4},
      {3, 40, 0.95, 5.47776459966431574e-3, 2.67060198152635954e-1,
       7.41185382107346799e-3, 2.48381442316424342e-1},
      {2, 500, 0.95, 1.08366424083299759e-4, 1.97522004322039682e-2,
       1.68370855939733382e-4, 1.79429994681390867e-2},
  };
  for (const Reference& r : references) {
    const AnytimeInterval two = *AnytimeRateInterval(r.k, r.n, r.confidence);
    EXPECT_NEAR(two.low, r.low2, 1e-11 * r.low2) << r.k << "/" << r.n;
    EXPECT_NEAR(two.high, r.high2, 1e-11 * r.high2) << r.k << "/" << r.n;
    EXPECT_NEAR(*AnytimeLowerBound(r.k, r.n, r.confidence), r.low1, 1e-11 * r.low1);
    EXPECT_NEAR(*AnytimeUpperBound(r.k, r.n, r.confidence), r.high1, 1e-11 * r.high1);
  }
}

TEST(Boundaries, NeverCallTheSameCountsBothFlakyAndClean) {
  absl::StatusOr<std::vector<Boundary>> rows =
      Boundaries({.max_rate = kMax, .confidence = kConfidence}, 100000);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 100000u);
  int64_t last_flaky = 0;
  int64_t last_clean = -1;
  for (const Boundary& row : *rows) {
    if (row.flaky_at_failures >= 0) {
      EXPECT_GT(row.flaky_at_failures, row.clean_at_most_failures) << row.runs;
      EXPECT_GE(row.flaky_at_failures, last_flaky) << row.runs;
      last_flaky = row.flaky_at_failures;
      // The row is exactly the evidence's crossing.
      EXPECT_GE(LogEvidenceAbove(row.flaky_at_failures, row.runs, kMax), kThreshold);
      if (row.flaky_at_failures > 0) {
        EXPECT_LT(LogEvidenceAbove(row.flaky_at_failures - 1, row.runs, kMax), kThreshold);
      }
    }
    EXPECT_GE(row.clean_at_most_failures, last_clean) << row.runs;
    last_clean = row.clean_at_most_failures;
  }
  // One failure is FLAKY at 0.1% within the first 4 runs, two within 85
  // (Python, the same sums).
  EXPECT_EQ((*rows)[0].flaky_at_failures, 1);
  EXPECT_EQ((*rows)[3].flaky_at_failures, 1);
  EXPECT_EQ((*rows)[4].flaky_at_failures, 2);
  EXPECT_EQ((*rows)[84].flaky_at_failures, 2);
  EXPECT_EQ((*rows)[85].flaky_at_failures, 3);
  EXPECT_EQ((*rows)[0].clean_at_most_failures, -1);
  EXPECT_EQ((*rows)[3331].clean_at_most_failures, 0);  // n = 3332
  EXPECT_EQ((*rows)[3330].clean_at_most_failures, -1);
  EXPECT_EQ((*rows)[6982].clean_at_most_failures, 1);  // n = 6983
}

TEST(Boundaries, AFamilyRaisesTheFlakyBoundaryOnly) {
  const std::vector<Boundary> one =
      *Boundaries({.max_rate = kMax, .confidence = kConfidence}, 2000);
  const std::vector<Boundary> ten = *Boundaries(
      {.max_rate = kMax, .confidence = kConfidence, .flaky_family = 10}, 2000);
  // -1 (FLAKY impossible at this run count) is the strictest boundary.
  auto strictness = [](int64_t at) { return at < 0 ? INT64_MAX : at; };
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_GE(strictness(ten[i].flaky_at_failures),
              strictness(one[i].flaky_at_failures));
    EXPECT_EQ(ten[i].clean_at_most_failures, one[i].clean_at_most_failures);
  }
  EXPECT_THAT(Boundaries({.max_rate = kMax, .confidence = kConfidence}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--up_to")));
  EXPECT_THAT(
      Boundaries({.max_rate = kMax, .confidence = kConfidence, .flaky_family = 0}, 10),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("family")));
}

// --- Calibration: the rule judged after EVERY run, exactly and sampled. ---

constexpr int64_t kHorizon = 20000;

TEST(OperatingCharacteristics, BothErrorsStayWithinFivePercentAtEveryRate) {
  const BoundaryOptions options{.max_rate = kMax, .confidence = kConfidence};
  for (double rate : {0.0, kMax / 2, kMax, 2 * kMax, 10 * kMax}) {
    absl::StatusOr<OperatingCharacteristics> oc =
        ComputeOperatingCharacteristics(options, rate, kHorizon);
    ASSERT_THAT(oc, IsOk());
    EXPECT_NEAR(oc->p_flaky + oc->p_clean + oc->p_undecided, 1.0, 1e-9) << rate;
    if (rate <= kMax) {
      EXPECT_LE(oc->p_flaky, 0.05) << rate;  // false FLAKY
    }
    if (rate >= kMax) {
      EXPECT_LE(oc->p_clean, 0.05) << rate;  // false CLEAN
    }
    std::cout << "rate " << rate << ": FLAKY " << oc->p_flaky << " CLEAN "
              << oc->p_clean << " undecided " << oc->p_undecided << " mean runs "
              << oc->mean_runs << "\n";
  }
  // p = 0: CLEAN for sure, at exactly AnytimeRunsToClean.
  const OperatingCharacteristics zero =
      *ComputeOperatingCharacteristics(options, 0.0, kHorizon);
  EXPECT_EQ(zero.p_clean, 1.0);
  EXPECT_EQ(zero.mean_runs_to_clean, 3332.0);
}

TEST(OperatingCharacteristics, DetectsTenTimesTheMaximumFasterThanAFixedDesign) {
  // The fixed design that tells 10M from M with the same errors (5% each)
  // must commit to n runs in advance; the rule stops on its own.
  const int64_t fixed = *FixedLookRunsToDetect(kMax, kConfidence, 10 * kMax, kConfidence);
  const OperatingCharacteristics oc = *ComputeOperatingCharacteristics(
      {.max_rate = kMax, .confidence = kConfidence}, 10 * kMax, kHorizon);
  std::cout << "fixed design: " << fixed << " runs; anytime mean to FLAKY "
            << oc.mean_runs_to_flaky << ", P(FLAKY) " << oc.p_flaky << "\n";
  EXPECT_GE(oc.p_flaky, 0.95);
  EXPECT_LE(oc.mean_runs, 1.5 * static_cast<double>(fixed));
}

TEST(FixedLookRunsToDetect, MatchesTheExactTest) {
  // Python: the smallest n where P(X >= k_c; n, 0.01) >= 0.95, k_c the
  // exact test's critical count at 0.1%, 95%.
  const int64_t n = *FixedLookRunsToDetect(kMax, kConfidence, 10 * kMax, kConfidence);
  EXPECT_GT(n, 500);
  EXPECT_LT(n, 800);
  EXPECT_THAT(FixedLookRunsToDetect(kMax, kConfidence, kMax / 2, 0.95),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("above --max_rate")));
}

}  // namespace
}  // namespace flaky::stats
