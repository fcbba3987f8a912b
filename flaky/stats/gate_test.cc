#include "flaky/stats/gate.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <utility>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "flaky/base/status_matchers.h"
#include "flaky/results/summary.h"
#include "flaky/stats/plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

GateOptions Options(double max_rate, double confidence) {
  GateOptions options;
  options.max_rate = max_rate;
  options.confidence = confidence;
  return options;
}

const GateOptions kOptions = Options(0.001, 0.95);

TEST(Judge, CleanWhenTheOneSidedUpperBoundIsBelowTheMaximum) {
  absl::StatusOr<Judgement> j = Judge(0, 3000, kOptions);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ(j->verdict, Verdict::kClean);
  // 1 - 0.05^(1/3000), Python.
  EXPECT_NEAR(j->upper_bound, 0.0009980790119965555, 1e-15);
  EXPECT_EQ(j->reason, "0 of 3000 runs failed: rate below 0.1% at 95%, under the maximum 0.1%");
}

TEST(Judge, CleanExactlyFromThePlannersRunCount) {
  for (int64_t k : {0, 1, 2}) {
    const int64_t n = *RunsToClaimBelow(kOptions.max_rate, kOptions.confidence, k);
    EXPECT_EQ(Judge(k, n, kOptions)->verdict, Verdict::kClean) << k;
    EXPECT_EQ(Judge(k, n - 1, kOptions)->verdict, Verdict::kInconclusive) << k;
  }
}

TEST(Judge, FlakyWhenTheOneSidedLowerBoundExceedsTheMaximum) {
  absl::StatusOr<Judgement> j = Judge(2, 40, kOptions);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ(j->verdict, Verdict::kFlaky);
  // Largest p with P(X >= 2; 40, p) <= 0.05, bisection in Python.
  EXPECT_NEAR(j->lower_bound, 0.008956945592975605, 1e-12);
  EXPECT_EQ(j->reason, "2 of 40 runs failed: rate above 0.89% at 95%, over the maximum 0.1%");
  // A single failure in few runs is already enough at 0.1%.
  EXPECT_EQ(Judge(1, 10, kOptions)->verdict, Verdict::kFlaky);
}

TEST(Judge, InconclusiveSaysHowManyCleanRunsAreMissing) {
  absl::StatusOr<Judgement> j = Judge(0, 200, kOptions);
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ(j->verdict, Verdict::kInconclusive);
  EXPECT_EQ(j->more_clean_runs_for_clean, 2795);
  EXPECT_THAT(j->reason, HasSubstr("2795 more runs without a failure would make it CLEAN"));
  // One failure in 100 at max 0.1%: the lower bound (0.051%) is under the
  // maximum and the upper bound far above it.
  EXPECT_EQ(Judge(1, 100, kOptions)->verdict, Verdict::kInconclusive);
  EXPECT_EQ(Judge(0, 0, kOptions)->verdict, Verdict::kInconclusive);
  EXPECT_THAT(Judge(0, 0, kOptions)->reason, HasSubstr("no trials"));
}

TEST(Judge, SprtOnlyAddsFlakyVerdicts) {
  // With p0 = max rate and alpha = 1 - confidence the SPRT's single-look
  // FLAKY region lies inside the exact bound's (checked in Python for
  // n <= 400), so rule 3 only matters for a more liberal SPRT, such as
  // alpha = 0.2 here (2 of 36..42 runs: Python found 7 such counts).
  GateOptions options = Options(0.01, 0.95);
  options.sprt = SprtOptions{.p0 = 0.01, .p1 = 0.05, .alpha = 0.2, .beta = 0.05};
  GateOptions without_sprt = options;
  without_sprt.sprt.reset();
  int sprt_only = 0;
  for (int64_t n = 1; n <= 200; ++n) {
    for (int64_t k = 0; k <= std::min<int64_t>(n, 6); ++k) {
      const Judgement with = *Judge(k, n, options);
      const Judgement without = *Judge(k, n, without_sprt);
      if (without.verdict == Verdict::kFlaky) {
        EXPECT_EQ(with.verdict, Verdict::kFlaky) << k << "/" << n;
      }
      if (with.verdict == Verdict::kFlaky && without.verdict != Verdict::kFlaky) {
        ++sprt_only;
        EXPECT_EQ(with.sprt->decision, SprtDecision::kAcceptH1);
        EXPECT_THAT(with.reason, HasSubstr("the SPRT accepts rate >= 5%"));
      }
      // The SPRT's H0 never turns into CLEAN by itself.
      EXPECT_EQ(with.verdict == Verdict::kClean, without.verdict == Verdict::kClean)
          << k << "/" << n;
    }
  }
  EXPECT_EQ(sprt_only, 7);
}

// Exact probability (dynamic programming over the failure count, no
// sampling) that a hunt looking after every `batch` runs, `looks` times,
// ever reaches `wrong` when each run fails independently at `rate`.
double ProbabilityOfEverReaching(Verdict wrong, double rate, int64_t batch, int looks,
                                 const GateOptions& options) {
  std::vector<double> prob = {1.0};  // prob[k]: k failures so far, still running
  // Binomial(batch, rate) pmf.
  std::vector<double> step(batch + 1);
  for (int64_t i = 0; i <= batch; ++i) {
    step[i] = std::exp(std::lgamma(batch + 1.0) - std::lgamma(i + 1.0) -
                       std::lgamma(batch - i + 1.0) + i * std::log(rate) +
                       (batch - i) * std::log1p(-rate));
  }
  double reached = 0.0;
  for (int look = 1; look <= looks; ++look) {
    std::vector<double> next(prob.size() + batch, 0.0);
    for (size_t k = 0; k < prob.size(); ++k) {
      if (prob[k] == 0.0) continue;
      for (int64_t i = 0; i <= batch; ++i) next[k + i] += prob[k] * step[i];
    }
    prob = std::move(next);
    const int64_t n = batch * look;
    for (size_t k = 0; k < prob.size(); ++k) {
      const Verdict verdict = Judge(static_cast<int64_t>(k), n, options)->verdict;
      if (verdict == Verdict::kInconclusive) continue;
      // Any verdict stops the hunt; only the wrong one counts.
      if (verdict == wrong) reached += prob[k];
      prob[k] = 0.0;
      if (verdict == Verdict::kFlaky) {
        // FLAKY for k implies FLAKY for every larger k.
        for (size_t j = k + 1; j < prob.size(); ++j) {
          if (wrong == Verdict::kFlaky) reached += prob[j];
          prob[j] = 0.0;
        }
        break;
      }
    }
  }
  return reached;
}

TEST(Judge, LooksKeepTheErrorOfRepeatedChecksWithinTheConfidence) {
  // A hunt of 10 rounds of 300 runs that re-judges after every round, at the
  // boundary rate (the worst case for both errors): with looks = 10 neither
  // a false FLAKY nor a false CLEAN may exceed 1 - confidence = 5%.
  GateOptions options = Options(0.01, 0.95);
  options.looks = 10;
  const double false_flaky =
      ProbabilityOfEverReaching(Verdict::kFlaky, 0.01, 300, 10, options);
  const double false_clean =
      ProbabilityOfEverReaching(Verdict::kClean, 0.01, 300, 10, options);
  EXPECT_LE(false_flaky, 0.05);
  EXPECT_LE(false_clean, 0.05);
  // Judging each look at the full confidence instead overshoots: this is
  // why hunts that stop early must declare their looks.
  GateOptions naive = Options(0.01, 0.95);
  EXPECT_GT(ProbabilityOfEverReaching(Verdict::kFlaky, 0.01, 300, 10, naive), 0.05);
  std::cout << "10 looks: false FLAKY " << false_flaky << ", false CLEAN " << false_clean
            << "; naive false FLAKY "
            << ProbabilityOfEverReaching(Verdict::kFlaky, 0.01, 300, 10, naive)
            << ", naive false CLEAN "
            << ProbabilityOfEverReaching(Verdict::kClean, 0.01, 300, 10, naive) << "\n";
}

TEST(Judge, LooksWidenTheBoundsAndAreValidated) {
  GateOptions options = Options(0.001, 0.95);
  options.looks = 10;
  EXPECT_DOUBLE_EQ(PerLookConfidence(options), 0.995);
  // 2995 clean runs are no longer enough with 10 looks:
  // ceil(ln(0.005) / ln(0.999)) = 5296 (Python).
  EXPECT_EQ(Judge(0, 2995, options)->verdict, Verdict::kInconclusive);
  EXPECT_EQ(Judge(0, 5296, options)->verdict, Verdict::kClean);
  EXPECT_EQ(Judge(0, 5295, options)->verdict, Verdict::kInconclusive);
  EXPECT_THAT(Judge(0, 5296, options)->reason, HasSubstr("at 95% over 10 looks"));
  options.looks = 0;
  EXPECT_THAT(ValidateGateOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("number of looks")));
}

TEST(ValidateGateOptions, RejectsBadOptionsWithFlagNames) {
  EXPECT_THAT(ValidateGateOptions(Options(0.0, 0.95)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-rate")));
  EXPECT_THAT(ValidateGateOptions(Options(0.01, 95)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--confidence")));
  GateOptions low_p0 = Options(0.01, 0.95);
  low_p0.sprt = SprtOptions{.p0 = 0.001, .p1 = 0.05, .alpha = 0.05, .beta = 0.05};
  EXPECT_THAT(ValidateGateOptions(low_p0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SPRT p0")));
  EXPECT_THAT(Judge(3, 2, kOptions), StatusIs(absl::StatusCode::kInvalidArgument));
}

results::CaseSummary Row(const std::string& target, const std::string& test_case,
                         const std::string& profile, int64_t failures, int64_t trials) {
  results::CaseSummary row;
  row.target = target;
  row.test_case = test_case;
  row.profile = profile;
  row.failures = failures;
  row.trials = trials;
  return row;
}

TEST(JudgeTargets, GroupsCasesAndTakesTheWorstVerdict) {
  const std::vector<results::CaseSummary> rows = {
      Row("//t:a", "A.One", "none", 0, 3000),
      Row("//t:a", "A.Two", "none", 0, 3000),
      Row("//t:a", "A.One", "chaos:7", 0, 3000),
      Row("//t:a", "A.Two", "chaos:7", 10, 3000),
      Row("//t:b", "", "none", 0, 100),
  };
  absl::StatusOr<std::vector<TargetVerdict>> verdicts = JudgeTargets(rows, kOptions);
  ASSERT_THAT(verdicts, IsOk());
  ASSERT_EQ(verdicts->size(), 3u);
  EXPECT_EQ((*verdicts)[0].profile, "none");
  EXPECT_EQ((*verdicts)[0].verdict, Verdict::kClean);
  EXPECT_EQ((*verdicts)[0].cases.size(), 2u);
  EXPECT_EQ((*verdicts)[1].profile, "chaos:7");
  EXPECT_EQ((*verdicts)[1].verdict, Verdict::kFlaky);
  EXPECT_THAT((*verdicts)[1].reason, HasSubstr("A.Two: 10 of 3000 runs failed"));
  EXPECT_EQ((*verdicts)[2].target, "//t:b");
  EXPECT_EQ((*verdicts)[2].verdict, Verdict::kInconclusive);
  EXPECT_EQ(GateExitCode(*verdicts), kGateExitFlaky);
}

TEST(JudgeTargets, CasesThatNeverRanDecideOnlyWhenNothingRan) {
  const std::vector<results::CaseSummary> rows = {
      Row("//t:a", "A.Skipped", "none", 0, 0),
      Row("//t:a", "A.Runs", "none", 0, 3000),
      Row("//t:b", "B.Skipped", "none", 0, 0),
      Row("//t:b", "B.AlsoSkipped", "none", 0, 0),
  };
  absl::StatusOr<std::vector<TargetVerdict>> verdicts = JudgeTargets(rows, kOptions);
  ASSERT_THAT(verdicts, IsOk());
  ASSERT_EQ(verdicts->size(), 2u);
  // A GTEST_SKIP'd case must not keep a clean target from passing.
  EXPECT_EQ((*verdicts)[0].verdict, Verdict::kClean);
  EXPECT_THAT((*verdicts)[0].reason, HasSubstr("A.Runs"));
  EXPECT_EQ((*verdicts)[0].cases.size(), 2u);
  // A target none of whose cases ran is undecided, not clean.
  EXPECT_EQ((*verdicts)[1].verdict, Verdict::kInconclusive);
  EXPECT_THAT((*verdicts)[1].reason, HasSubstr("no trials"));
  EXPECT_EQ(GateExitCode(*verdicts), kGateExitInconclusive);
}

TEST(JudgeTargets, NamesTheBadRow) {
  EXPECT_THAT(JudgeTargets({Row("//t:a", "A.One", "none", 4, 3)}, kOptions),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("//t:a A.One [none]: failures must be")));
}

TEST(GateExitCode, FollowsTheGateContract) {
  auto verdicts = [](std::vector<Verdict> list) {
    std::vector<TargetVerdict> out;
    for (Verdict v : list) out.push_back(TargetVerdict{"//t:x", "none", v, "", {}});
    return out;
  };
  EXPECT_EQ(GateExitCode(verdicts({Verdict::kClean, Verdict::kClean})), 0);
  EXPECT_EQ(GateExitCode(verdicts({Verdict::kClean, Verdict::kInconclusive})), 2);
  EXPECT_EQ(GateExitCode(verdicts({Verdict::kInconclusive, Verdict::kFlaky})), 1);
  EXPECT_EQ(GateExitCode(verdicts({})), 3);
  EXPECT_EQ(VerdictName(Verdict::kInconclusive), "INCONCLUSIVE");
}

}  // namespace
}  // namespace flaky::stats
