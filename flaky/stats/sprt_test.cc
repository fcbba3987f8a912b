#include "flaky/stats/sprt.h"

#include <cmath>
#include <cstdint>
#include <random>

#include "absl/status/status.h"
#include "flaky/base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

constexpr SprtOptions kOptions{.p0 = 0.001, .p1 = 0.01, .alpha = 0.05, .beta = 0.05};

TEST(EvaluateSprt, UsesWaldsThresholds) {
  // Computed in Python (math.log): ln(19), ln(1/19), ln(10), ln(0.99/0.999).
  absl::StatusOr<SprtResult> got = EvaluateSprt(kOptions, 3, 500);
  ASSERT_THAT(got, IsOk());
  EXPECT_NEAR(got->accept_h1_threshold, 2.9444389791664403, 1e-14);
  EXPECT_NEAR(got->accept_h0_threshold, -2.9444389791664403, 1e-14);
  EXPECT_NEAR(got->log_likelihood_ratio,
              3 * 2.302585092994046 + 497 * -0.009049835519917908, 1e-12);
  EXPECT_EQ(got->decision, SprtDecision::kContinue);
}

TEST(EvaluateSprt, TwoEarlyFailuresAcceptH1) {
  // By direct LLR evaluation in Python, 2 failures accept H1 up to n = 185.
  EXPECT_EQ(EvaluateSprt(kOptions, 2, 185)->decision, SprtDecision::kAcceptH1);
  EXPECT_EQ(EvaluateSprt(kOptions, 2, 186)->decision, SprtDecision::kContinue);
  EXPECT_EQ(EvaluateSprt(kOptions, 1, 1)->decision, SprtDecision::kContinue);
}

TEST(EvaluateSprt, CleanRunsAcceptH0After326) {
  EXPECT_EQ(*SprtRunsToAcceptH0(kOptions), 326);
  EXPECT_EQ(EvaluateSprt(kOptions, 0, 326)->decision, SprtDecision::kAcceptH0);
  EXPECT_EQ(EvaluateSprt(kOptions, 0, 325)->decision, SprtDecision::kContinue);
  EXPECT_EQ(EvaluateSprt(kOptions, 0, 0)->decision, SprtDecision::kContinue);
}

TEST(EvaluateSprt, RejectsBadOptionsAndCounts) {
  EXPECT_THAT(EvaluateSprt({.p0 = 0.01, .p1 = 0.001}, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 < p0 < p1 < 1")));
  EXPECT_THAT(EvaluateSprt({.p0 = 0.001, .p1 = 0.01, .alpha = 0.5}, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alpha")));
  EXPECT_THAT(EvaluateSprt(kOptions, 2, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 of 1")));
  EXPECT_THAT(SprtRunsToAcceptH0({.p0 = 0, .p1 = 0.1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ExpectedSprtRuns, MatchesWaldsFormula) {
  // Wald's average sample number, evaluated in Python (math.log).
  absl::StatusOr<SprtExpectedRuns> runs = ExpectedSprtRuns(kOptions);
  ASSERT_THAT(runs, IsOk());
  EXPECT_NEAR(runs->at_p0, 393.27933998142464, 1e-9);
  EXPECT_NEAR(runs->at_p1, 188.39032367790298, 1e-9);
  runs = ExpectedSprtRuns({.p0 = 0.01, .p1 = 0.05, .alpha = 0.05, .beta = 0.1});
  ASSERT_THAT(runs, IsOk());
  EXPECT_NEAR(runs->at_p0, 80.61920043906193, 1e-9);
  EXPECT_NEAR(runs->at_p1, 57.54766195704496, 1e-9);
  EXPECT_THAT(ExpectedSprtRuns({.p0 = 0.5, .p1 = 0.1, .alpha = 0.05, .beta = 0.05}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SprtMonitor, KeepsTheFirstDecision) {
  SprtMonitor monitor(kOptions);
  EXPECT_EQ(monitor.Observe(true), SprtDecision::kContinue);
  EXPECT_EQ(monitor.Observe(true), SprtDecision::kAcceptH1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(monitor.Observe(false), SprtDecision::kAcceptH1);
  EXPECT_EQ(monitor.trials(), 2);
  EXPECT_EQ(monitor.failures(), 2);
  EXPECT_EQ(SprtDecisionName(monitor.decision()), "accept_h1");
}

TEST(SprtMonitor, AgreesWithEvaluateSprtAtEveryStep) {
  std::mt19937_64 rng(4242);  // fixed seed
  std::bernoulli_distribution fail(0.004);
  SprtMonitor monitor(kOptions);
  int64_t failures = 0;
  for (int64_t n = 1; monitor.decision() == SprtDecision::kContinue; ++n) {
    const bool failed = fail(rng);
    failures += failed;
    const SprtDecision got = monitor.Observe(failed);
    EXPECT_EQ(got, EvaluateSprt(kOptions, failures, n)->decision) << n;
    ASSERT_LT(n, 100000) << "the SPRT terminates with probability 1";
  }
}

// Runs `repetitions` simulated SPRTs at the true rate `rate` and returns how
// many ended in `decision`.
int CountDecisions(const SprtOptions& options, double rate, int repetitions,
                   SprtDecision decision, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution fail(rate);
  int count = 0;
  for (int i = 0; i < repetitions; ++i) {
    SprtMonitor monitor(options);
    while (monitor.Observe(fail(rng)) == SprtDecision::kContinue) {
      if (monitor.trials() > 1000000) ADD_FAILURE() << "SPRT did not terminate";
    }
    count += monitor.decision() == decision;
  }
  return count;
}

TEST(SprtMonitor, ErrorRatesStayWithinWaldsBounds) {
  const SprtOptions options{.p0 = 0.01, .p1 = 0.05, .alpha = 0.05, .beta = 0.05};
  // Wald: P(accept H1 | p0) <= alpha / (1 - beta) = 0.0526. If that bound
  // holds, P(more than 180 of 2000 wrong) <= 5.2e-12 (exact binomial tail
  // at q = 0.0526, computed in Python), so the assertions below fail only
  // when the SPRT is broken. The seeds make them deterministic anyway.
  EXPECT_LE(CountDecisions(options, options.p0, 2000, SprtDecision::kAcceptH1, 1), 180);
  EXPECT_LE(CountDecisions(options, options.p1, 2000, SprtDecision::kAcceptH0, 2), 180);
  // And it is not vacuous: with no failures it must accept H0 every time,
  // and at rate 0.2 Wald's operating characteristic gives P(accept H0) =
  // 1.2e-7 per test, so more than 5 of 500 wrong has probability < 1e-26
  // (Python, exact binomial tail even at twice that rate).
  EXPECT_GE(CountDecisions(options, 0.0, 500, SprtDecision::kAcceptH0, 3), 500);
  EXPECT_GE(CountDecisions(options, 0.2, 500, SprtDecision::kAcceptH1, 4), 495);
}

}  // namespace
}  // namespace flaky::stats
